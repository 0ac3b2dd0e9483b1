/*
 * echo_variant: "a new build of echo" for the replay and pin tests, built
 * twice from this file. ECHO_V2 changes the description and the behaviour
 * for two inputs: ["changed"] is answered ["CHANGED"], and ["ask"] makes a
 * host function call the real echo never makes. ECHO_V3 only adds a
 * params schema beside echo's note, and otherwise is echo. ECHO_V4 is
 * echo with one more method, "shout" (test_lazy: a file replaced by a
 * plugin of the same name with other methods).
 */
#include <plughost/sdk.h>

#include <string.h>

static json_t *echo(ph_ctx *ctx, json_t *params)
{
#ifdef ECHO_V2
    const char *first = json_string_value(json_array_get(params, 0));
    if (first && strcmp(first, "changed") == 0)
        return json_pack("[s]", "CHANGED");
    if (first && strcmp(first, "ask") == 0) {
        json_t *result = NULL, *error = NULL;
        if (ph_call_host(ctx, "host.version", NULL, &result, &error) < 0)
            return ph_error_data(ctx, 2, error, "host.version failed");
        return result;
    }
#endif
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

#define PARAMS "[any...] or {any}"
#if defined(ECHO_V2)
#define DESCRIPTION "returns its params, mostly unchanged"
static const ph_params_schema schemas[] = {{0}};
#elif defined(ECHO_V4)
#define DESCRIPTION "returns its params unchanged"
static const ph_params_schema schemas[] = {{0}};
#else
#define DESCRIPTION "returns its params unchanged"
static const ph_params_schema schemas[] = {{"echo", "{\"type\":\"array\"}"}, {0}};
#endif

#ifdef ECHO_V4
static json_t *shout(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("ECHO");
}
static const ph_method methods[] = {
    {"echo", echo, DESCRIPTION, PARAMS}, {"shout", shout, "answers \"ECHO\"", "[]"}, {0}};
#else
static const ph_method methods[] = {{"echo", echo, DESCRIPTION, PARAMS}, {0}};
#endif

PH_PLUGIN(.name = "echo", .version = "1.0.0", .description = "returns what it is given",
          .methods = methods, .params_schemas = schemas);
