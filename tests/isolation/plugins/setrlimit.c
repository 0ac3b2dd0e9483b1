/* Raises RLIMIT_NOFILE through the old setrlimit(2) entry point; the
 * limits are part of the confinement. Reading them is allowed (glibc's
 * getrlimit is prlimit64 with no new value), so the raise is exact. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        atk_set(o, -1, errno);
        o->escaped = 0;
        snprintf(o->detail, sizeof o->detail, "getrlimit failed");
        return;
    }
    /* Soft up to hard needs no privilege; past hard needs CAP_SYS_RESOURCE. */
    if (rl.rlim_cur < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    else
        rl.rlim_cur = rl.rlim_max = rl.rlim_max + 16;
    long r = syscall(SYS_setrlimit, (long)RLIMIT_NOFILE, &rl);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "RLIMIT_NOFILE raised to %llu/%llu",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
}
