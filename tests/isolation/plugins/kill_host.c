/* SIGKILL to the target (the host itself when the driver names it). */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_kill, (long)pid, (long)SIGKILL);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "SIGKILL delivered to pid %ld", (long)pid);
}
