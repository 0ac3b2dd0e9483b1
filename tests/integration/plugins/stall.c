/*
 * stall: a plugin whose init never returns (it sleeps), so its handshake
 * never comes; the tests rewrite its name in each copy (the placeholder
 * is exactly 12 bytes) to load many. It shows that plugins stuck in their
 * start do not hold up the others loaded with them.
 */
#include <plughost/sdk.h>
#include <time.h>

static int init(ph_ctx *ctx)
{
    (void)ctx;
    for (;;) {
        struct timespec t = {3600, 0};
        nanosleep(&t, NULL);
    }
    return 0;
}

static json_t *echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static const ph_method methods[] = {{"echo", echo, "never reached", NULL}, {0}};

PH_PLUGIN(.name = "stall0000000", .version = "1", .methods = methods, .init = init);
