/*
 * echo: the hello-world plugin. echo.echo returns its params unchanged; it is
 * also what the benchmarks call, so it does nothing else.
 */
#include <plughost/sdk.h>

static json_t *echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static const ph_method methods[] = {
    {"echo", echo, "returns its params unchanged", "[any...] or {any}"},
    {0},
};

PH_PLUGIN(.name = "echo", .version = "1.0.0", .description = "returns what it is given",
          .methods = methods);
