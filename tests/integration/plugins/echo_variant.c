/*
 * echo_variant: "a new build of echo" for the replay and pin tests, built
 * twice from this file. ECHO_V2 changes the description and the behaviour
 * for two inputs: ["changed"] is answered ["CHANGED"], and ["ask"] makes a
 * host function call the real echo never makes. ECHO_V3 only adds a
 * params schema beside echo's note, and otherwise is echo.
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

#if defined(ECHO_V2)
#define DESCRIPTION "returns its params, mostly unchanged"
static const ph_params_schema schemas[] = {{0}};
#else
#define DESCRIPTION "returns its params unchanged"
static const ph_params_schema schemas[] = {{"echo", "{\"type\":\"array\"}"}, {0}};
#endif

static const ph_method methods[] = {{"echo", echo, DESCRIPTION, "[any...] or {any}"}, {0}};

PH_PLUGIN(.name = "echo", .version = "1.0.0", .description = "returns what it is given",
          .methods = methods, .params_schemas = schemas);
