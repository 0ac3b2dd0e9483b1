/* finit_module(2) with a bad descriptor (EBADF at worst). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_finit_module, -1L, "", 0L);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "finit_module reached the kernel");
}
