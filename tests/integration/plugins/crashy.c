/*
 * crashy: a plugin that fails in each way the host must survive, plus one
 * method that works, to show the plugin is usable again afterwards.
 */
#include <plughost/sdk.h>
#include <unistd.h>

static json_t *crash(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* Both volatile: the pointer so the compiler cannot see it is NULL, the
     * target so it cannot drop the store as dead. */
    volatile int *volatile p = NULL;
    *p = 1;
    return json_null();
}

static json_t *do_exit(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    _exit(3);
}

static json_t *hang(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* Deliberately deaf to ph_cancelled(): only a kill stops it. */
    for (volatile unsigned long i = 0;; i++)
        ;
    return json_null();
}

static json_t *ok(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("ok");
}

static const ph_method methods[] = {
    {"crash", crash, "dereferences NULL", NULL},
    {"exit", do_exit, "exits with status 3", NULL},
    {"hang", hang, "loops forever", NULL},
    {"ok", ok, "returns \"ok\"", NULL},
    {0},
};

PH_PLUGIN(.name = "crashy", .version = "1.0.0", .description = "fails on purpose",
          .methods = methods);
