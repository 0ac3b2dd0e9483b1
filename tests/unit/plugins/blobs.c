/*
 * blobs: methods that take and return bytes beside the JSON (ph_param_blob,
 * ph_result_blob, ph_result_blob_buffer), for test_blob and the benchmark's
 * blob figures.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <plughost/sdk.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* echo {blob}: returns the same bytes as a blob. */
static json_t *echo(ph_ctx *ctx, json_t *params)
{
    const void *data;
    size_t len;
    if (ph_param_blob(ctx, params, "blob", 0, &data, &len) < 0)
        return NULL;
    return ph_result_blob(ctx, data, len);
}

/* echo_direct {blob}: the same bytes, copied straight into the answer's
 * memory (ph_result_blob_buffer), one copy in all. */
static json_t *echo_direct(ph_ctx *ctx, json_t *params)
{
    const void *data;
    size_t len;
    void *out;
    if (ph_param_blob(ctx, params, "blob", 0, &data, &len) < 0)
        return NULL;
    json_t *ref = ph_result_blob_buffer(ctx, len, &out);
    if (ref)
        memcpy(out, data, len);
    return ref;
}

/* keep_mapping {size}: writes its answer in place, then maps the answer's
 * memfd writable a second time and keeps that mapping, as a plugin wanting
 * to change the bytes after sending them would. The SDK cannot seal it, so
 * the call must fail rather than send it. */
static json_t *keep_mapping(ph_ctx *ctx, json_t *params)
{
    double size;
    void *out;
    if (ph_param_number(ctx, params, "size", 0, &size) < 0)
        return NULL;
    json_t *ref = ph_result_blob_buffer(ctx, (size_t)size, &out);
    if (!ref)
        return NULL;
    memset(out, 'k', (size_t)size);
    /* The answer's memfd is the one descriptor that is sealable and not
     * sealed yet. */
    for (int fd = 3; fd < 64; fd++) {
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals >= 0 && !(seals & F_SEAL_WRITE)) {
            void *again = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (again != MAP_FAILED)
                return ref; /* kept on purpose */
        }
    }
    json_decref(ref);
    return ph_error(ctx, PH_ERR_INTERNAL, "keep_mapping: found no unsealed memfd to map");
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
    {"echo_direct", echo_direct, "returns its blob, written in place", "{blob}"},
    {"keep_mapping", keep_mapping, "keeps a writable mapping of its answer's blob", "{size}"},
    {"reverse", reverse, "returns its blob reversed", "{blob}"},
    {"sum", sum, "sums the bytes of its blob", "{blob}"},
    {0},
};

PH_PLUGIN(.name = "blobs", .version = "1", .methods = methods);
