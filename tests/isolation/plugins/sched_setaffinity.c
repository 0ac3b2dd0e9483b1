/* Changes the target's CPU affinity. The mask allows every CPU, so an
 * escape changes nothing visible but proves the power. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    unsigned long mask[16];
    memset(mask, 0xff, sizeof mask);
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_sched_setaffinity, (long)pid, sizeof mask, mask);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "set affinity of pid %ld", (long)pid);
}
