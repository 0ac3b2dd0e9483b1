/*
 * The many-plugins benchmark's echo plugin. Plugin names must be unique in a
 * host, so ph_bench copies this file N times and rewrites the 12-byte name
 * below in each copy (phbench00001, phbench00002, ...); the bytes are a
 * fixed-length placeholder for exactly that. Otherwise it is plugins/echo.c.
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

PH_PLUGIN(.name = "phbench00000", .version = "1.0.0", .methods = methods);
