/*
 * test_lazy: lazy activation through the library API (host/lazy.c): a
 * cold plugin is listed from the cache with "cold" and no process, its
 * first call's receipt carries start_us and later ones do not, its first
 * start is not counted as a restart; one whose first start fails is no
 * longer listed cold and its next start counts as a restart.
 */
#include "check.h"

#include <plughost/host.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *plugin(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h), *p, *out = NULL;
    size_t i;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            out = json_incref(p);
    }
    json_decref(d);
    return out;
}

static int receipts, with_start;

static void on_event(void *ud, json_t *ev)
{
    (void)ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "receipt") == 0) {
        receipts++;
        with_start += json_integer_value(json_object_get(ev, "start_us")) > 0;
    }
}

static int call_echo(ph_host *h)
{
    json_t *params = json_pack("[i]", 7), *res = NULL, *rpc = NULL;
    ph_error err;
    int rc = ph_host_call(h, "echo", "echo", params, &res, &rpc, &err);
    json_decref(params);
    json_decref(res);
    json_decref(rpc);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_lazy_api ECHO_SO\n");
        return 2;
    }
    char cache[] = "/tmp/ph-lazy-XXXXXX";
    CHECK(mkdtemp(cache) != NULL);
    ph_error err;
    ph_host *h;
    ph_host_options o = {.hello_cache = cache};

    /* Eager with a cache: the handshake is stored. */
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "load: %s", err.text);
    json_t *p = plugin(h, "echo");
    CHECKF(p && json_is_false(json_object_get(p, "cold")) &&
               json_integer_value(json_object_get(p, "pid")) > 0,
           "eager: started");
    json_decref(p);
    ph_host_free(h);

    /* Lazy: cold until the first call, whose receipt says how long the
     * start took. */
    o.activation = PH_ACTIVATION_LAZY;
    o.receipts = 1;
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    ph_host_set_event_handler(h, on_event, NULL);
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "lazy load: %s", err.text);
    json_t *d = ph_host_describe(h);
    CHECK(json_is_true(json_object_get(d, "lazy")));
    json_decref(d);
    p = plugin(h, "echo");
    CHECKF(p && json_is_true(json_object_get(p, "cold")) &&
               json_integer_value(json_object_get(p, "pid")) == 0 &&
               json_array_size(json_object_get(p, "methods")) == 1,
           "lazy: cold, no process, methods from the cache");
    json_decref(p);
    CHECK(call_echo(h) == PH_OK);
    CHECK(call_echo(h) == PH_OK);
    CHECKF(receipts == 2 && with_start == 1, "receipts %d, with start_us %d", receipts, with_start);
    p = plugin(h, "echo");
    CHECKF(p && json_is_false(json_object_get(p, "cold")) &&
               json_integer_value(json_object_get(p, "restarts")) == 0,
           "started, and the first start is no restart");
    json_decref(p);
    ph_host_free(h);

    /* A first start that fails (no room for the loader in 1 MiB): not
     * cold any more, and the next start is a restart. */
    o.memory_limit = 1 << 20;
    o.receipts = 0;
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "lazy load: %s", err.text);
    CHECK(call_echo(h) == PH_E_PLUGIN);
    p = plugin(h, "echo");
    CHECKF(p && json_is_false(json_object_get(p, "cold")) &&
               json_integer_value(json_object_get(p, "restarts")) == 0,
           "after a failed first start: not cold, no restart yet");
    json_decref(p);
    CHECK(call_echo(h) == PH_E_PLUGIN);
    p = plugin(h, "echo");
    CHECKF(p && json_integer_value(json_object_get(p, "restarts")) == 1,
           "the next start counts as a restart (%lld)",
           p ? (long long)json_integer_value(json_object_get(p, "restarts")) : -1LL);
    json_decref(p);
    ph_host_free(h);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
    CHECK(system(cmd) == 0);
    return ph_t_summary("test_lazy_api");
}
