/* tgkill on the target's main thread: the policy allows tgkill on the
 * plugin itself only, so this checks the argument condition. */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_tgkill, (long)pid, (long)pid, (long)SIGKILL);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "SIGKILL delivered to thread %ld", (long)pid);
}
