/* Answers its call with a blob reference whose descriptor is its channel
 * (a socket), not a memfd: the wrong kind of descriptor where the protocol
 * does expect one. Mapping a socket fails, but a host that kept it would
 * hold a live end of the plugin's channel. */
#include "attack.h"
#include "forge.h"
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    struct ph_ctx *ctx = atk_ctx();
    char *id = ctx ? json_dumps(ctx->req_id, JSON_ENCODE_ANY) : NULL;
    char msg[200];
    long r = -1;
    errno = EINVAL;
    if (id) {
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"$blob\":0,\"size\":0}}", id);
        r = forge_record(FORGE_LAST, msg, strlen(msg), FORGE_CHANNEL);
    }
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a socket was taken as a blob");
    free(id);
}
