/*
 * test_sdk: the plugin-author API through ph_test_call(), the in-process
 * path a plugin's own unit tests use, so it must behave like the real
 * runtime on results, errors and table validation.
 */
#include "check.h"

#include <plughost/sdk.h>
#include <stdlib.h>
#include <string.h>

static json_t *m_add(ph_ctx *ctx, json_t *params)
{
    double a, b;
    if (ph_param_number(ctx, params, "a", 0, &a) < 0 ||
        ph_param_number(ctx, params, "b", 1, &b) < 0)
        return NULL;
    return json_real(a + b);
}

static json_t *m_square(ph_ctx *ctx, json_t *params)
{
    json_int_t n;
    if (ph_param_integer(ctx, params, "n", 0, &n) < 0)
        return NULL;
    return json_integer(n * n);
}

static json_t *m_greet(ph_ctx *ctx, json_t *params)
{
    const char *name;
    if (ph_param_string(ctx, params, "name", 0, &name) < 0)
        return NULL;
    return json_sprintf("hello, %s", name);
}

static json_t *m_fail(ph_ctx *ctx, json_t *params)
{
    (void)params;
    return ph_error(ctx, 42, "bad %d", 7);
}

static json_t *m_fail_data(ph_ctx *ctx, json_t *params)
{
    (void)params;
    return ph_error_data(ctx, 43, json_pack("{s:i}", "k", 1), "with %s", "data");
}

static json_t *m_null(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return NULL;
}

/* The last error set is the one reported. */
static json_t *m_fail_twice(ph_ctx *ctx, json_t *params)
{
    (void)params;
    ph_error(ctx, 1, "first");
    return ph_error(ctx, 2, "second");
}

/* A result wins over an error set earlier and then recovered from. */
static json_t *m_recover(ph_ctx *ctx, json_t *params)
{
    (void)params;
    ph_error(ctx, 1, "transient");
    return json_string("recovered");
}

static json_t *m_ctx(ph_ctx *ctx, json_t *params)
{
    (void)params;
    return json_pack("[s,s]", ph_ctx_plugin(ctx), ph_ctx_method(ctx));
}

/* Everything that needs the real runtime fails softly in tests. */
static json_t *m_runtime(ph_ctx *ctx, json_t *params)
{
    (void)params;
    json_t *res = NULL, *err = NULL;
    int hc = ph_call_host(ctx, "ph.kv_get", NULL, &res, &err);
    json_t *out = json_pack("{s:i,s:O?,s:i,s:i,s:i}", "host_call", hc, "host_error", err, "notify",
                            ph_notify(ctx, "n", NULL), "progress", ph_progress(ctx, NULL),
                            "cancelled", ph_cancelled(ctx));
    ph_log(ctx, PH_LOG_INFO, "log from a test: %d", 1);
    json_decref(res);
    json_decref(err);
    return out;
}

static json_t *m_echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static const ph_method methods[] = {
    {"add", m_add, "adds", "[a: number, b: number]"},
    {"greet", m_greet, NULL, NULL},
    {"square", m_square, NULL, NULL},
    {"fail", m_fail, NULL, NULL},
    {"fail_data", m_fail_data, NULL, NULL},
    {"null", m_null, NULL, NULL},
    {"fail_twice", m_fail_twice, NULL, NULL},
    {"recover", m_recover, NULL, NULL},
    {"ctx", m_ctx, NULL, NULL},
    {"runtime", m_runtime, NULL, NULL},
    {"echo", m_echo, NULL, NULL},
    {0},
};

/* Declared through the public macro, as a plugin would. */
PH_PLUGIN(.name = "tplug", .version = "0.0.1", .description = "unit test table",
          .methods = methods);

static int code_of(json_t *error)
{
    return (int)json_integer_value(json_object_get(error, "code"));
}

static const char *message_of(json_t *error)
{
    const char *m = json_string_value(json_object_get(error, "message"));
    return m ? m : "";
}

/* Calls and checks the outcome is exactly one of result and error. */
static int call(const ph_plugin *p, const char *method, json_t *params, json_t **result,
                json_t **error)
{
    *result = *error = NULL;
    int rc = ph_test_call(p, method, params, result, error);
    CHECKF(rc == 0 ? (*result && !*error) : (rc == -1 && !*result && *error),
           "%s: rc %d result %p error %p", method, rc, (void *)*result, (void *)*error);
    return rc;
}

static void test_results(void)
{
    const ph_plugin *p = &ph_plugin_v1;
    json_t *r, *e;
    CHECK(p->abi == PH_SDK_ABI);

    json_t *params = json_pack("[i,f]", 2, 0.5);
    CHECK(call(p, "add", params, &r, &e) == 0);
    CHECK(json_number_value(r) == 2.5);
    json_decref(r);
    json_decref(e);
    json_decref(params);

    params = json_pack("{s:i,s:i}", "b", 10, "a", 1);
    CHECK(call(p, "add", params, &r, &e) == 0);
    CHECK(json_number_value(r) == 11.0);
    json_decref(r);
    json_decref(e);
    json_decref(params);

    params = json_pack("{s:s}", "name", "ann");
    CHECK(call(p, "greet", params, &r, &e) == 0);
    CHECK(json_is_string(r) && strcmp(json_string_value(r), "hello, ann") == 0);
    json_decref(r);
    json_decref(e);
    json_decref(params);

    CHECK(call(p, "echo", NULL, &r, &e) == 0);
    CHECK(json_is_null(r));
    json_decref(r);

    CHECK(call(p, "ctx", NULL, &r, &e) == 0);
    CHECK(json_is_array(r) && strcmp(json_string_value(json_array_get(r, 0)), "tplug") == 0 &&
          strcmp(json_string_value(json_array_get(r, 1)), "ctx") == 0);
    json_decref(r);

    CHECK(call(p, "recover", NULL, &r, &e) == 0);
    CHECK(json_is_string(r) && strcmp(json_string_value(r), "recovered") == 0);
    json_decref(r);

    CHECK(call(p, "runtime", NULL, &r, &e) == 0);
    CHECK(json_integer_value(json_object_get(r, "host_call")) == -1);
    CHECKF(strstr(message_of(json_object_get(r, "host_error")), "not available in tests") != NULL,
           "host call error: %s", message_of(json_object_get(r, "host_error")));
    CHECK(json_integer_value(json_object_get(r, "notify")) == -1);
    CHECK(json_integer_value(json_object_get(r, "progress")) == -1);
    CHECK(json_integer_value(json_object_get(r, "cancelled")) == 0);
    json_decref(r);

    /* With error == NULL a failure is still reported by the return value. */
    r = NULL;
    CHECK(ph_test_call(p, "fail", NULL, &r, NULL) == -1 && r == NULL);
}

static void test_errors(void)
{
    const ph_plugin *p = &ph_plugin_v1;
    json_t *r, *e;

    CHECK(call(p, "fail", NULL, &r, &e) == -1);
    CHECK(code_of(e) == 42 && strcmp(message_of(e), "bad 7") == 0);
    CHECK(json_object_get(e, "data") == NULL);
    json_decref(e);

    CHECK(call(p, "fail_data", NULL, &r, &e) == -1);
    CHECK(code_of(e) == 43 && strcmp(message_of(e), "with data") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(e, "data"), "k")) == 1);
    json_decref(e);

    CHECK(call(p, "fail_twice", NULL, &r, &e) == -1);
    CHECK(code_of(e) == 2 && strcmp(message_of(e), "second") == 0);
    json_decref(e);

    CHECK(call(p, "null", NULL, &r, &e) == -1);
    CHECK(code_of(e) == PH_ERR_INTERNAL);
    json_decref(e);

    CHECK(call(p, "nosuch", NULL, &r, &e) == -1);
    CHECK(code_of(e) == -32601);
    json_decref(e);
    CHECK(call(p, "", NULL, &r, &e) == -1);
    CHECK(code_of(e) == -32601);
    json_decref(e);

    /* Bad or missing parameters are the caller's fault: -32602. */
    const char *bad_params[] = {
        "[\"x\", 1]",        "[1]",         "[]", "{\"a\":1}", "{\"a\":1,\"b\":null}",
        "{\"0\":1,\"1\":2}", "[true,false]"};
    for (size_t i = 0; i < sizeof bad_params / sizeof bad_params[0]; i++) {
        json_t *params = json_loads(bad_params[i], 0, NULL);
        CHECK(call(p, "add", params, &r, &e) == -1);
        CHECKF(code_of(e) == PH_ERR_INVALID_PARAMS, "add %s: code %d", bad_params[i], code_of(e));
        json_decref(e);
        json_decref(params);
    }
    CHECK(call(p, "add", NULL, &r, &e) == -1);
    CHECK(code_of(e) == PH_ERR_INVALID_PARAMS);
    json_decref(e);

    json_t *params = json_pack("[i]", 5);
    CHECK(call(p, "greet", params, &r, &e) == -1);
    CHECK(code_of(e) == PH_ERR_INVALID_PARAMS);
    CHECKF(strstr(message_of(e), "name") != NULL, "message: %s", message_of(e));
    json_decref(e);
    json_decref(params);
}

static void test_param(void)
{
    json_t *obj = json_pack("{s:i,s:s}", "x", 1, "y", "z");
    json_t *arr = json_pack("[i,s]", 1, "z");
    json_t *scalar = json_integer(3);

    CHECK(ph_param(obj, "x", 5) == json_object_get(obj, "x"));
    CHECK(ph_param(obj, "missing", 0) == NULL);
    CHECK(ph_param(obj, NULL, 0) == NULL);
    CHECK(ph_param(arr, "x", 1) == json_array_get(arr, 1));
    CHECK(ph_param(arr, NULL, 0) == json_array_get(arr, 0));
    CHECK(ph_param(arr, "x", 2) == NULL);
    CHECK(ph_param(arr, "x", (size_t)-1) == NULL);
    CHECK(ph_param(NULL, "x", 0) == NULL);
    CHECK(ph_param(scalar, "x", 0) == NULL);

    json_decref(obj);
    json_decref(arr);
    json_decref(scalar);
}

static void expect_invalid(const ph_plugin *p, const char *what)
{
    json_t *r = NULL, *e = NULL;
    int rc = ph_test_call(p, "ok", NULL, &r, &e);
    CHECKF(rc == -1 && r == NULL && e != NULL, "invalid table (%s) accepted", what);
    CHECKF(!e || code_of(e) == PH_ERR_INTERNAL, "%s: code %d", what, code_of(e));
    CHECKF(!e || message_of(e)[0] != '\0', "%s: empty message", what);
    json_decref(r);
    json_decref(e);
}

static void test_validation(void)
{
    static const ph_method ok[] = {{"ok", m_echo, NULL, NULL}, {0}};
    static const ph_method dotted[] = {
        {"ok", m_echo, NULL, NULL}, {"a.b", m_echo, NULL, NULL}, {0}};
    static const ph_method dollar[] = {
        {"ok", m_echo, NULL, NULL}, {"$/x", m_echo, NULL, NULL}, {0}};
    static const ph_method nofn[] = {{"ok", m_echo, NULL, NULL}, {"f", NULL, NULL, NULL}, {0}};
    static const ph_method empty[] = {{"ok", m_echo, NULL, NULL}, {"", m_echo, NULL, NULL}, {0}};
    static const ph_method twice[] = {{"ok", m_echo, NULL, NULL}, {"ok", m_null, NULL, NULL}, {0}};

    ph_plugin good = {.abi = PH_SDK_ABI, .name = "good_1-x", .version = "1", .methods = ok};
    json_t *r = NULL, *e = NULL;
    CHECK(ph_test_call(&good, "ok", NULL, &r, &e) == 0);
    json_decref(r);
    json_decref(e);

    char name63[64], name64[65];
    memset(name63, 'a', 63);
    name63[63] = '\0';
    memset(name64, 'a', 64);
    name64[64] = '\0';
    ph_plugin t = good;
    t.name = name63;
    r = e = NULL;
    CHECK(ph_test_call(&t, "ok", NULL, &r, &e) == 0);
    json_decref(r);
    json_decref(e);

    t = good;
    t.abi = PH_SDK_ABI + 1;
    expect_invalid(&t, "abi+1");
    t.abi = 0;
    expect_invalid(&t, "abi 0");
    t.abi = 1; /* still read, with ABI 1's layout */
    r = e = NULL;
    CHECK(ph_test_call(&t, "ok", NULL, &r, &e) == 0);
    json_decref(r);
    json_decref(e);

    /* params_schemas: each names a method of the table once, with JSON. */
    static const ph_params_schema s_ok[] = {{"ok", "{\"type\": \"array\"}"}, {0}};
    static const ph_params_schema s_nomethod[] = {{"nope", "{}"}, {0}};
    static const ph_params_schema s_twice[] = {{"ok", "{}"}, {"ok", "{}"}, {0}};
    static const ph_params_schema s_notjson[] = {{"ok", "{type: array}"}, {0}};
    static const ph_params_schema s_null[] = {{"ok", NULL}, {0}};
    t = good;
    t.params_schemas = s_ok;
    r = e = NULL;
    CHECK(ph_test_call(&t, "ok", NULL, &r, &e) == 0);
    json_decref(r);
    json_decref(e);
    t.params_schemas = s_nomethod;
    expect_invalid(&t, "schema for no method");
    t.params_schemas = s_twice;
    expect_invalid(&t, "two schemas for one method");
    t.params_schemas = s_notjson;
    expect_invalid(&t, "schema that is not JSON");
    t.params_schemas = s_null;
    expect_invalid(&t, "schema NULL");
    /* An ABI-1 table ends before params_schemas: never read there. */
    t.abi = 1;
    t.params_schemas = s_nomethod;
    r = e = NULL;
    CHECK(ph_test_call(&t, "ok", NULL, &r, &e) == 0);
    json_decref(r);
    json_decref(e);

    const char *bad_names[] = {"", "Echo", "a.b", "a b", "a/b", "é", "$x", name64};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        t = good;
        t.name = bad_names[i];
        expect_invalid(&t, bad_names[i]);
    }
    t = good;
    t.name = NULL;
    expect_invalid(&t, "no name");
    t = good;
    t.version = NULL;
    expect_invalid(&t, "no version");
    t = good;
    t.methods = NULL;
    expect_invalid(&t, "no methods");
    t = good;
    t.methods = dotted;
    expect_invalid(&t, "method with '.'");
    t = good;
    t.methods = dollar;
    expect_invalid(&t, "method with '$/'");
    t = good;
    t.methods = nofn;
    expect_invalid(&t, "method without fn");
    t = good;
    t.methods = empty;
    expect_invalid(&t, "empty method name");
    /* sdk.h: a method name is "unique within the plugin"; a duplicate would
     * be unreachable, so the table is wrong. */
    t = good;
    t.methods = twice;
    expect_invalid(&t, "duplicate method name");
}

/* A method taking a blob and returning one, for ph_test_call_blob(). */
static json_t *m_upper(ph_ctx *ctx, json_t *params)
{
    const char *data;
    size_t len;
    if (ph_param_blob(ctx, params, "blob", 0, (const void **)&data, &len) < 0)
        return NULL;
    char *up = malloc(len ? len : 1);
    if (!up)
        return ph_error(ctx, PH_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < len; i++)
        up[i] = data[i] >= 'a' && data[i] <= 'z' ? (char)(data[i] - 32) : data[i];
    json_t *ref = ph_result_blob(ctx, up, len);
    free(up);
    return ref ? json_pack("{s:o}", "upper", ref) : NULL;
}

static json_t *m_twice(ph_ctx *ctx, json_t *params)
{
    (void)params;
    json_t *a = ph_result_blob(ctx, "a", 1);
    json_t *b = ph_result_blob(ctx, "b", 1);
    json_decref(a);
    return b;
}

static void test_blobs(void)
{
    static const ph_method blob_methods[] = {
        {"upper", m_upper, NULL, NULL}, {"twice", m_twice, NULL, NULL}, {0}};
    static const ph_plugin p = {
        .abi = PH_SDK_ABI, .name = "b", .version = "1", .methods = blob_methods};
    json_t *result = NULL, *error = NULL;
    void *out = NULL;
    size_t out_len = 0;
    CHECK(ph_test_call_blob(&p, "upper", NULL, "Hello, blob\0!", 13, &result, &out, &out_len,
                            &error) == 0);
    CHECK(out_len == 13 && out && memcmp(out, "HELLO, BLOB\0!", 13) == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(result, "upper"), "size")) == 13);
    free(out);
    json_decref(result);
    /* Array params get the reference appended; an empty blob is fine. */
    json_t *arr = json_array();
    CHECK(ph_test_call_blob(&p, "upper", arr, NULL, 0, &result, &out, &out_len, &error) == 0);
    /* An empty blob came back: a pointer, no bytes; the caller's array is
     * not changed. */
    CHECK(out != NULL && out_len == 0 && json_array_size(arr) == 0);
    free(out);
    json_decref(arr);
    json_decref(result);
    /* A reference without a blob, and two blobs for one answer. */
    json_t *params = json_pack("{s:{s:i,s:i}}", "blob", "$blob", 0, "size", 4);
    CHECK(ph_test_call(&p, "upper", params, &result, &error) == -1 &&
          json_integer_value(json_object_get(error, "code")) == PH_ERR_INVALID_PARAMS);
    json_decref(error);
    json_decref(params);
    CHECK(ph_test_call(&p, "twice", NULL, &result, &error) == -1 &&
          strstr(json_string_value(json_object_get(error, "message")), "one blob per answer"));
    json_decref(error);
}

/* ph_param_integer: 19 comes back as 19, never 19.0; 4.0 counts as an
 * integer, 4.5, strings and out-of-range reals do not. */
static void test_integer(void)
{
    const ph_plugin *p = &ph_plugin_v1;
    json_t *r, *e;
    json_t *ok[] = {json_pack("[i]", 19), json_pack("{s:f}", "n", 4.0),
                    json_pack("[I]", (json_int_t)-3000000000LL)};
    json_int_t want[] = {361, 16, (json_int_t)9000000000000000000LL};
    for (size_t i = 0; i < 3; i++) {
        CHECK(call(p, "square", ok[i], &r, &e) == 0);
        CHECKF(json_is_integer(r) && json_integer_value(r) == want[i], "square %zu", i);
        json_decref(r);
        json_decref(e);
        json_decref(ok[i]);
    }
    json_t *bad[] = {json_pack("[f]", 4.5), json_pack("[s]", "4"), json_pack("[f]", 1e19),
                     json_pack("[]"), json_pack("[f]", -1e300)};
    for (size_t i = 0; i < 5; i++) {
        CHECK(call(p, "square", bad[i], &r, &e) == -1);
        CHECKF(code_of(e) == -32602 && strstr(message_of(e), "must be an integer"), "bad %zu: %s",
               i, message_of(e));
        json_decref(e);
        json_decref(bad[i]);
    }
}

int main(void)
{
    test_integer();
    test_results();
    test_errors();
    test_param();
    test_validation();
    test_blobs();
    return ph_t_summary("test_sdk");
}
