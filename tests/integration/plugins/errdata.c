/*
 * errdata: a method that fails with the error data it is asked for, to
 * show that a plugin's data reaches the caller unchanged (tests
 * test_error_data.py and test_error_data.c). Its object data uses the keys
 * of the host's own reports; only the code may tell the two apart.
 * With ERRDATA_BAD_SCHEMA it declares a params schema the host must refuse,
 * so the plugin fails to load.
 */
#include <plughost/sdk.h>

#include <string.h>

static json_t *fail(ph_ctx *ctx, json_t *params)
{
    const char *kind;
    if (ph_param_string(ctx, params, "kind", 0, &kind) < 0)
        return NULL;
    if (strcmp(kind, "object") == 0)
        return ph_error_data(ctx, 42,
                             json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i}", "status", "violation",
                                       "limit", "max_message", "syscall", "reboot", "signal",
                                       "SIGKILL", "arch", "x86_64", "plugin", "other", "method",
                                       "other_method", "n", 1),
                             "object data");
    if (strcmp(kind, "array") == 0)
        return ph_error_data(ctx, 42, json_pack("[i,s,{s:i},n]", 1, "two", "three", 3),
                             "array data");
    if (strcmp(kind, "string") == 0)
        return ph_error_data(ctx, 42, json_string("just text"), "string data");
    if (strcmp(kind, "number") == 0)
        return ph_error_data(ctx, 42, json_integer(19), "number data");
    if (strcmp(kind, "real") == 0)
        return ph_error_data(ctx, 42, json_real(2.5), "real data");
    if (strcmp(kind, "null") == 0)
        return ph_error_data(ctx, 42, json_null(), "null data");
    if (strcmp(kind, "none") == 0)
        return ph_error(ctx, 42, "no data");
    if (strcmp(kind, "reserved") == 0)
        return ph_error_data(
            ctx, -32001, json_pack("{s:s,s:s}", "status", "timeout", "limit", "call_timeout_ms"),
            "poses as a timeout");
    return ph_error(ctx, PH_ERR_INVALID_PARAMS, "unknown kind");
}

/* Its params as a hint only: text that happens to parse as a JSON object
 * whose "items" is no schema keyword's value. */
static json_t *hinted(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

#ifdef ERRDATA_BAD_SCHEMA
#define CHECKED_SCHEMA "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": 7}}}"
#else
#define CHECKED_SCHEMA                                                                             \
    "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\"}}, "                    \
    "\"required\": [\"n\"]}"
#endif

#if !defined(ERRDATA_ABI1)
static const ph_method methods[] = {
    {"fail", fail, "fails with data of the kind asked for", "[kind: string]"},
    {"hinted", hinted, "returns its params", "{\"items\": \"array of anything\"}"},
    {"checked", hinted, "returns its params, which a schema checks", "{n: integer}"},
    {0},
};

static const ph_params_schema schemas[] = {{"checked", CHECKED_SCHEMA}, {0}};
#endif

#if defined(ERRDATA_ABI1)
/* As a plugin built against ABI 1 declared itself: no params_schemas (an
 * ABI-1 table ends before it), and a params_doc that is JSON. */
static const ph_method abi1_methods[] = {
    {"checked", hinted, "returns its params, which a schema checks",
     "{\"type\": \"object\", \"properties\": {\"n\": {\"type\": \"integer\"}}}"},
    {"fail", fail, "fails with data of the kind asked for", "[kind: string]"},
    {0},
};
__attribute__((visibility("default"))) const ph_plugin ph_plugin_v1 = {
    .abi = 1, .name = "abione", .version = "1.0.0", .methods = abi1_methods};
#elif defined(ERRDATA_BAD_SCHEMA)
PH_PLUGIN(.name = "badschema", .version = "1.0.0", .methods = methods, .params_schemas = schemas);
#else
PH_PLUGIN(.name = "errdata", .version = "1.0.0", .methods = methods, .params_schemas = schemas);
#endif
