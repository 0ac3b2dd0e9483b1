/*
 * firstcall: a plugin for test_warm. firstcall.probe answers how many times
 * a method of this process has run, this call included, and the params of
 * the run before it (null: none), so a test sees whether anything (a
 * warm-up, an earlier call) ran the plugin's code, or left data, in the
 * process before the call. firstcall.warm-up has the name the runtime's
 * synthetic request would have without its "$/": it counts too.
 */
#include <plughost/sdk.h>

static int runs;
static json_t *previous;

static json_t *count_run(json_t *params)
{
    json_t *before = previous ? previous : json_null();
    previous = params ? json_deep_copy(params) : json_null();
    return json_pack("{s:i,s:o}", "runs", ++runs, "before", before);
}

static json_t *probe(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return count_run(params);
}

static const ph_method methods[] = {
    {.name = "probe", .fn = probe, .description = "runs so far and the previous params"},
    {.name = "warm-up", .fn = probe, .description = "the same, under the warm-up's name"},
    {0},
};

PH_PLUGIN(.name = "firstcall", .version = "1.0.0", .methods = methods);
