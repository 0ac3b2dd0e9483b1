/*
 * hello: a plugin author's starting point. One method, hello.hello, that
 * reads a string parameter, logs through the host and returns an object.
 * Copy this directory, rename the plugin and replace the method.
 */
#include <plughost/sdk.h>

static json_t *hello(ph_ctx *ctx, json_t *params)
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
    {"hello", hello, "greets someone", "[name: string] or {name: string}"},
    {0},
};

PH_PLUGIN(.name = "hello", .version = "1.0.0", .description = "the plugin template",
          .methods = methods);
