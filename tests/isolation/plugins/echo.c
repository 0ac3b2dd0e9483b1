/*
 * Benign neighbour of every hostile plugin: after an attack, a successful
 * `echo.echo` shows the host still serves the other plugins.
 */
#include <plughost/sdk.h>

static json_t *m_echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static const ph_method methods[] = {
    {.name = "echo", .fn = m_echo, .description = "returns its params unchanged"},
    {0},
};

PH_PLUGIN(.name = "echo", .version = "1.0.0", .description = "isolation suite control",
          .methods = methods);
