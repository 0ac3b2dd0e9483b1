/* clock_settime(2) with a NULL time: harmless (EFAULT) even as root. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_clock_settime, (long)CLOCK_REALTIME, NULL);
    atk_set(o, r, errno);
    o->escaped = r == 0 || o->err == EFAULT; /* EFAULT: past the capability check */
    snprintf(o->detail, sizeof o->detail, "clock_settime reached the kernel");
}
