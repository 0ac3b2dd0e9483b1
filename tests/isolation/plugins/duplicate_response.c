/* Answers the call in progress twice, from raw records, before the
 * runtime's own answer: the first answer counts, the second is a response
 * to nothing in flight. The id is read from the runtime's context, as any
 * plugin could, since the context lives in its own memory. */
#include "attack.h"
#include "forge.h"
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

void atk_run(struct atk_outcome *o)
{
    struct ph_ctx *ctx = atk_ctx();
    char *id = ctx ? json_dumps(ctx->req_id, JSON_ENCODE_ANY) : NULL;
    char msg[200];
    long r = -1;
    errno = EINVAL;
    if (id) {
        snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"forged\":1}}", id);
        r = forge_message(msg);
        if (r >= 0)
            r = forge_message(msg);
    }
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "answered id %s twice and lived", id ? id : "?");
    free(id);
}
