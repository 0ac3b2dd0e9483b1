/* Raises RLIMIT_NOFILE through prlimit64(2), which the policy allows only
 * for reading (new limit NULL): this checks that argument condition. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct rlimit rl;
    if (syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, NULL, &rl) < 0) {
        atk_set(o, -1, errno);
        o->escaped = 0;
        snprintf(o->detail, sizeof o->detail, "reading the limit failed");
        return;
    }
    /* Soft up to hard needs no privilege; past hard needs CAP_SYS_RESOURCE. */
    if (rl.rlim_cur < rl.rlim_max)
        rl.rlim_cur = rl.rlim_max;
    else
        rl.rlim_cur = rl.rlim_max = rl.rlim_max + 16;
    long r = syscall(SYS_prlimit64, 0L, (long)RLIMIT_NOFILE, &rl, NULL);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "RLIMIT_NOFILE raised to %llu/%llu",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
}
