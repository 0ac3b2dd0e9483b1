/*
 * test_error_data: through the library API, a method's error data is the
 * error's "data" exactly as the method gave it (object with the keys of the
 * host's reports, array, string, numbers, null, none), for ph_host_call and
 * for ph_host_call_async's callback; a reserved code becomes -32603 with
 * original_code, and ph_rpc_code_reserved() says which codes the host's
 * reports own. argv[1]: errdata.so (tests/integration/plugins/errdata.c).
 */
#include "check.h"

#include <plughost/host.h>

#include <stdlib.h>
#include <string.h>

struct kind {
    const char *name;
    int code;
    const char *data; /* JSON text, or NULL: no "data" at all */
    int original_code;
};

static const struct kind kinds[] = {
    {"object", 42,
     "{\"status\": \"violation\", \"limit\": \"max_message\", \"syscall\": \"reboot\", "
     "\"signal\": \"SIGKILL\", \"arch\": \"x86_64\", \"plugin\": \"other\", "
     "\"method\": \"other_method\", \"n\": 1}",
     0},
    {"array", 42, "[1, \"two\", {\"three\": 3}, null]", 0},
    {"string", 42, "\"just text\"", 0},
    {"number", 42, "19", 0},
    {"real", 42, "2.5", 0},
    {"null", 42, "null", 0},
    {"none", 42, NULL, 0},
    {"reserved", -32603, "{\"status\": \"timeout\", \"limit\": \"call_timeout_ms\"}", -32001},
};

/* Whether error is what the method gave for k. */
static int same(const json_t *error, const struct kind *k)
{
    json_t *want = k->data ? json_loads(k->data, JSON_DECODE_ANY, NULL) : NULL;
    json_t *got = json_object_get(error, "data");
    json_t *orig = json_object_get(error, "original_code");
    int ok = json_integer_value(json_object_get(error, "code")) == k->code &&
             (k->original_code ? json_integer_value(orig) == k->original_code : orig == NULL) &&
             (want ? got && json_equal(got, want) && json_typeof(got) == json_typeof(want)
                   : got == NULL);
    json_decref(want);
    return ok;
}

struct answer {
    int done;
    json_t *error;
};

static void on_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    (void)id;
    (void)result;
    struct answer *a = ud;
    a->done = 1;
    a->error = error ? json_incref(error) : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_error_data ERRDATA.so\n");
        return 2;
    }
    ph_host *h;
    ph_error err;
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    if (ph_t_failed)
        return ph_t_summary("test_error_data");
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "load: %s", err.text);

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const struct kind *k = &kinds[i];
        json_t *params = json_pack("[s]", k->name), *res = NULL, *rpc = NULL;
        int rc = ph_host_call(h, "errdata", "fail", params, &res, &rpc, &err);
        char *s = rpc ? json_dumps(rpc, JSON_COMPACT) : NULL;
        CHECKF(rc == PH_E_PLUGIN && same(rpc, k), "ph_host_call %s: %s", k->name, s ? s : "-");
        free(s);
        json_decref(res);
        json_decref(rpc);

        struct answer a = {0};
        CHECK(ph_host_call_async(h, "errdata", "fail", params, on_answer, &a, NULL, &err) == PH_OK);
        while (!a.done && ph_host_process(h, 5000, &err) >= 0)
            ;
        CHECKF(a.done && same(a.error, k), "ph_host_call_async %s", k->name);
        json_decref(a.error);
        json_decref(params);
    }

    /* The operator's figures count every one of those as the method's own
     * error, whatever "status" its data names (status.c reads data.status
     * only under a code the host's reports own). */
    json_t *st = NULL, *pl, *errdata = NULL;
    size_t j;
    CHECK(ph_host_status(h, &st, &err) == PH_OK);
    json_array_foreach(json_object_get(st, "plugins"), j,
                       pl) if (json_is_string(json_object_get(pl, "name")) &&
                               !strcmp(json_string_value(json_object_get(pl, "name")), "errdata"))
        errdata = pl;
    json_t *failed = json_object_get(errdata, "calls_failed");
    size_t want = 2 * (sizeof kinds / sizeof kinds[0]);
    CHECKF(json_integer_value(json_object_get(failed, "plugin_error")) == (json_int_t)want,
           "status: %zu method errors counted as plugin_error (%lld)", want,
           (long long)json_integer_value(json_object_get(failed, "plugin_error")));
    CHECKF(json_integer_value(json_object_get(failed, "violation")) == 0 &&
               json_integer_value(json_object_get(failed, "timeout")) == 0,
           "status: no violation or timeout from a method's data");
    json_decref(st);

    /* The codes the host's reports own, and the two a method shares. */
    CHECK(ph_rpc_code_reserved(PH_RPC_PLUGIN_VIOLATION));
    CHECK(ph_rpc_code_reserved(-32099) && ph_rpc_code_reserved(-32768));
    CHECK(ph_rpc_code_reserved(PH_RPC_CANCELLED) && ph_rpc_code_reserved(PH_RPC_METHOD_NOT_FOUND));
    CHECK(!ph_rpc_code_reserved(PH_RPC_INVALID_PARAMS) && !ph_rpc_code_reserved(-32603));
    CHECK(!ph_rpc_code_reserved(42) && !ph_rpc_code_reserved(-31999) &&
          !ph_rpc_code_reserved(-32769));
    ph_host_free(h);
    return ph_t_summary("test_error_data");
}
