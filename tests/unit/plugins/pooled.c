/*
 * pooled: a plugin for instance pools (test_pool, bench/pool.c).
 * pooled.spin runs params.ms milliseconds of arithmetic on its own CPU
 * clock (so it measures work done, not time waited for a core) and
 * answers the sum; pooled.remember answers what the previous call to it in
 * this process was given, then keeps this call's params, so a test can see
 * whether two calls shared a process; pooled.echo answers its params.
 * Built with POOLED_SINGLETON it declares itself a singleton; with
 * POOLED_EXTRA it has one more method (a changed build of the same
 * plugin).
 */
#include <plughost/sdk.h>

#include <time.h>

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static json_t *spin(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    double ms = json_number_value(json_object_get(params, "ms"));
    if (ms <= 0 || ms > 10000)
        ms = 5;
    double until = cpu_ms() + ms;
    volatile unsigned long x = 0;
    while (cpu_ms() < until)
        for (int i = 0; i < 1000; i++)
            x = x * 1103515245u + 12345u;
    return json_integer((json_int_t)(x & 0xffff));
}

static json_t *kept;

static json_t *remember(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    json_t *before = kept ? kept : json_null();
    kept = json_deep_copy(params);
    return before;
}

static json_t *echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static int init(ph_ctx *ctx)
{
#ifdef POOLED_SINGLETON
    ph_singleton(ctx);
#else
    (void)ctx;
#endif
    return 0;
}

static const ph_method methods[] = {
    {.name = "spin", .fn = spin, .description = "params.ms of CPU work"},
    {.name = "remember", .fn = remember, .description = "the previous call's params"},
    {.name = "echo", .fn = echo, .description = "its params"},
#ifdef POOLED_EXTRA
    {.name = "extra", .fn = echo, .description = "only in this build"},
#endif
    {0},
};

#ifdef POOLED_SINGLETON
PH_PLUGIN(.name = "single", .version = "1.0.0", .methods = methods, .init = init);
#else
PH_PLUGIN(.name = "pooled", .version = "1.0.0", .methods = methods, .init = init);
#endif
