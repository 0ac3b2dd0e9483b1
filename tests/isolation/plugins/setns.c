/* setns(2) with a bad descriptor: harmless, but it must not reach the
 * kernel at all. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_setns, -1L, 0L);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "setns reached the kernel");
}
