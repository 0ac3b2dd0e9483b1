/* 100000 notifications, each forwarded by the host to its client: the
 * host must keep serving the other plugins whatever becomes of this one. */
#include "attack.h"

#include <plughost/sdk.h>

#include <stdio.h>

#define FLOOD 100000

void atk_run(struct atk_outcome *o)
{
    ph_ctx *ctx = atk_ctx();
    json_t *params = json_array();
    int sent = 0;
    for (int i = 0; i < FLOOD; i++)
        if (ph_notify(ctx, "flood", params) == 0)
            sent++;
    json_decref(params);
    atk_set(o, sent, 0);
    o->escaped = 0; /* notifying is allowed; surviving it is the point */
    snprintf(o->detail, sizeof o->detail, "sent %d notifications", sent);
}
