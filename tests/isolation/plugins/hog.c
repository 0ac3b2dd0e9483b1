/*
 * hog: takes memory on request, touching every page so that it is really
 * charged to the process (and its cgroup), not only reserved. Used by
 * test_cgroup to reach the cgroup's memory limit below RLIMIT_AS.
 */
#include <plughost/sdk.h>

#include <stdlib.h>
#include <string.h>

static json_t *alloc(ph_ctx *ctx, json_t *params)
{
    json_int_t mb = json_integer_value(json_object_get(params, "mb"));
    if (mb <= 0 || mb > 4096)
        return ph_error(ctx, -32602, "mb must be 1..4096");
    size_t total = 0;
    /* In 1 MiB blocks, kept: the point is to hold the memory. */
    for (json_int_t i = 0; i < mb; i++) {
        char *b = malloc(1 << 20);
        if (!b)
            return ph_error(ctx, -32000, "malloc failed after %zu bytes", total);
        memset(b, (int)(i & 0xff) | 1, 1 << 20);
        total += 1 << 20;
    }
    return json_integer((json_int_t)total);
}

static json_t *ok(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("ok");
}

static const ph_method methods[] = {
    {"alloc", alloc, "allocates and touches params.mb MiB", NULL},
    {"ok", ok, "returns \"ok\"", NULL},
    {0},
};

PH_PLUGIN(.name = "hog", .version = "1.0.0", .description = "takes memory on request",
          .methods = methods);
