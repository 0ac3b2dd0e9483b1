/* 100000 log records as fast as the channel takes them: the host must
 * keep serving the other plugins, and stay bounded, whatever becomes of
 * the flooding one. */
#include "attack.h"

#include <plughost/sdk.h>

#include <stdio.h>

#define FLOOD 100000

void atk_run(struct atk_outcome *o)
{
    ph_ctx *ctx = atk_ctx();
    for (int i = 0; i < FLOOD; i++)
        ph_log(ctx, PH_LOG_INFO, "flood %d", i);
    atk_set(o, FLOOD, 0);
    o->escaped = 0; /* logging is allowed; surviving it is the point */
    snprintf(o->detail, sizeof o->detail, "sent %d log records", FLOOD);
}
