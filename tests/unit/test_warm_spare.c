/*
 * test_warm_spare: under isolate "call", a spare (started, handshaken and
 * warmed by its runtime before the call) meets its one call as a process
 * in which no method of the plugin has run and no params were seen, also
 * when the call names the method the warm-up's synthetic request would
 * name without its "$/". Argument: firstcall.so.
 */
#include "check.h"

#include <plughost/host.h>

#include <string.h>

static int idle_instances(ph_host *h)
{
    json_t *d = ph_host_describe(h), *p, *inst;
    size_t i, j;
    int n = 0;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        json_array_foreach(json_object_get(p, "instances"), j, inst)
        {
            n += !strcmp(json_string_value(json_object_get(inst, "state")), "idle");
        }
    }
    json_decref(d);
    return n;
}

/* Each call goes to a spare that has been up (and warmed) since before the
 * call: it must be the first run of a method there, with no params before. */
static void spares(const char *so)
{
    ph_host_options o = {.isolate = PH_ISOLATE_CALL, .instances = 2, .spares = 1};
    ph_host *h = NULL;
    ph_error err;
    if (ph_host_new(&o, &h, &err) != PH_OK || ph_host_load_file(h, so, NULL, &err) != PH_OK) {
        CHECKF(0, "host with firstcall: %s", err.text);
        ph_host_free(h);
        return;
    }
    int first = 0;
    for (int i = 0; i < 5; i++) {
        for (int t = 0; t < 500 && idle_instances(h) < 1; t++)
            (void)ph_host_process(h, 20, NULL);
        /* The spare waits a while, as one does between calls. */
        for (int t = 0; t < 3; t++)
            (void)ph_host_process(h, 10, NULL);
        json_t *params = json_pack("{s:s,s:i}", "secret", "call-data", "n", i), *r = NULL;
        int rc = ph_host_call(h, "firstcall", i % 2 ? "warm-up" : "probe", params, &r, NULL, &err);
        CHECKF(rc == PH_OK, "call %d: %s", i, rc ? err.text : "");
        first += json_integer_value(json_object_get(r, "runs")) == 1 &&
                 json_is_null(json_object_get(r, "before"));
        json_decref(r);
        json_decref(params);
    }
    CHECKF(first == 5, "every call was the first run of a method in its process (%d of 5)", first);
    ph_host_free(h);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        CHECKF(0, "usage: test_warm_spare firstcall.so");
        return ph_t_summary("test_warm_spare");
    }
    spares(argv[1]);
    return ph_t_summary("test_warm_spare");
}
