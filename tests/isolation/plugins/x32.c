/* getpid through the x32 ABI (number | 0x40000000): same CPU mode, other
 * table, so a filter must check that bit as well as the architecture. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

void atk_run(struct atk_outcome *o)
{
    long r = syscall(X32_SYSCALL_BIT | SYS_getpid);
    atk_set(o, r, errno);
    if (r >= 0)
        snprintf(o->detail, sizeof o->detail, "x32 getpid returned %ld", r);
}
