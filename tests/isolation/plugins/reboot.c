/* reboot(2) with wrong magic numbers: the kernel refuses (EINVAL) before
 * doing anything, so an escape stays harmless. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_reboot, 0L, 0L, 0L, NULL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "reboot reached the kernel");
}
