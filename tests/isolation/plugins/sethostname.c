/* sethostname(2) with an oversized length, which the kernel rejects
 * (EINVAL) after its capability check and before changing anything. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_sethostname, "x", 4096UL);
    atk_set(o, r, errno);
    o->escaped = r == 0 || o->err == EINVAL; /* EINVAL: past the capability check */
    snprintf(o->detail, sizeof o->detail, "sethostname reached the kernel");
}
