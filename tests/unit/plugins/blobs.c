/*
 * blobs: methods that take and return bytes beside the JSON (ph_param_blob,
 * ph_result_blob), for test_blob and the benchmark's blob figure.
 */
#include <plughost/sdk.h>

#include <stdlib.h>
#include <string.h>

/* echo {blob}: returns the same bytes as a blob. */
static json_t *echo(ph_ctx *ctx, json_t *params)
{
    const void *data;
    size_t len;
    if (ph_param_blob(ctx, params, "blob", 0, &data, &len) < 0)
        return NULL;
    return ph_result_blob(ctx, data, len);
}

/* reverse {blob}: the bytes backwards, inside an object, with the count. */
static json_t *reverse(ph_ctx *ctx, json_t *params)
{
    const void *data;
    size_t len;
    if (ph_param_blob(ctx, params, "blob", 0, &data, &len) < 0)
        return NULL;
    unsigned char *out = malloc(len ? len : 1);
    if (!out)
        return ph_error(ctx, PH_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < len; i++)
        out[i] = ((const unsigned char *)data)[len - 1 - i];
    json_t *ref = ph_result_blob(ctx, out, len);
    free(out);
    return ref ? json_pack("{s:o,s:I}", "reversed", ref, "bytes", (json_int_t)len) : NULL;
}

/* sum {blob}: the byte sum as JSON, no blob back. */
static json_t *sum(ph_ctx *ctx, json_t *params)
{
    const unsigned char *data;
    size_t len;
    if (ph_param_blob(ctx, params, "blob", 0, (const void **)&data, &len) < 0)
        return NULL;
    unsigned long long s = 0;
    for (size_t i = 0; i < len; i++)
        s += data[i];
    return json_pack("{s:I,s:I}", "sum", (json_int_t)s, "bytes", (json_int_t)len);
}

static const ph_method methods[] = {
    {"echo", echo, "returns its blob", "{blob}"},
    {"reverse", reverse, "returns its blob reversed", "{blob}"},
    {"sum", sum, "sums the bytes of its blob", "{blob}"},
    {0},
};

PH_PLUGIN(.name = "blobs", .version = "1", .methods = methods);
