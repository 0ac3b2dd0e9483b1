/*
 * named: an echo plugin whose name the tests rewrite in each copy of the
 * file (the placeholder below is exactly 12 bytes), so that many distinct
 * plugins can be loaded side by side.
 */
#include <plughost/sdk.h>

static json_t *echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static const ph_method methods[] = {{"echo", echo, "returns its params", NULL}, {0}};

PH_PLUGIN(.name = "named0000000", .version = "1", .methods = methods);
