/*
 * hello: a plugin author's starting point. One method, hello.greet, that
 * reads a string parameter, logs through the host and returns an object.
 * Replace the method with yours (and its test in test_hello.c).
 */
#include <plughost/sdk.h>

static json_t *greet(ph_ctx *ctx, json_t *params)
{
    const char *name;
    /* Accepting both ["x"] and {"name": "x"} costs nothing and lets callers
     * pick whichever reads better; on a bad call this has already set a
     * -32602 error that names the parameter. */
    if (ph_param_string(ctx, params, "name", 0, &name) < 0)
        return NULL;
    if (!*name)
        return ph_error(ctx, 1, "name must not be empty");
    /* stdout goes nowhere inside the sandbox: the host shows log records. */
    ph_log(ctx, PH_LOG_INFO, "greeting %s", name);
    return json_pack("{s:s+}", "greeting", "Hello, ", name);
}

static const ph_method methods[] = {
    {"greet", greet, "greets someone", "[name: string] or {name: string}"},
    {0},
};

/* Optional: a JSON Schema for a method's params, which the host checks
 * before the method runs (-32602 for params that do not match) and MCP
 * clients see as the tool's input schema. */
static const ph_params_schema schemas[] = {
    {"greet", "{\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}, "
              "\"required\": [\"name\"]}"},
    {0},
};

PH_PLUGIN(.name = "hello", .version = "1.0.0", .description = "the plugin template",
          .methods = methods, .params_schemas = schemas);
