/* Answers its call with a blob whose memfd is not sealed: the plugin could
 * write to it, or shrink it under the host's mapping (SIGBUS in the host),
 * after the host checked it. The host must refuse it before mapping. */
#include "attack.h"
#include "forge.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct ph_ctx *ctx = atk_ctx();
    char *id = ctx ? json_dumps(ctx->req_id, JSON_ENCODE_ANY) : NULL;
    char msg[200];
    long r = -1;
    errno = EINVAL;
    /* The flags the filter allows for a blob (CLOEXEC, ALLOW_SEALING,
     * NOEXEC_SEAL), then no seal at all. */
    long fd = syscall(SYS_memfd_create, "atk", 0x0001U | 0x0002U | 0x0008U);
    /* Above 0-2, where the filter lets writes through. */
    if (fd >= 0 && fd <= 2)
        fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
    if (id && fd >= 0 && write((int)fd, "0123456789", 10) == 10) {
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"$blob\":0,\"size\":10}}", id);
        r = forge_record(FORGE_LAST, msg, strlen(msg), (int)fd);
    }
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "an unsealed blob was taken");
    free(id);
}
