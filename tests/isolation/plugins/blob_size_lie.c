/* Answers its call with a sealed blob of 10 bytes that its reference says
 * is 1 MiB: a host trusting the number would map past the end of the file
 * and fault (SIGBUS) when reading it. */
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
    /* Sealed properly (shrink, grow, write, seal), only the size is a lie. */
    long fd = syscall(SYS_memfd_create, "atk", 0x0001U | 0x0002U | 0x0008U);
    /* Above 0-2, where the filter lets writes through. */
    if (fd >= 0 && fd <= 2)
        fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
    if (id && fd >= 0 && write((int)fd, "0123456789", 10) == 10 &&
        fcntl((int)fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) ==
            0) {
        snprintf(msg, sizeof msg,
                 "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"$blob\":0,\"size\":1048576}}", id);
        r = forge_record(FORGE_LAST, msg, strlen(msg), (int)fd);
    }
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a blob whose size lies was taken");
    free(id);
}
