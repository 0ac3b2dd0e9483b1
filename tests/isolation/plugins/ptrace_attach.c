/* Attaches to the target process (the host when the driver names it).
 * PTRACE_SEIZE rather than ATTACH so that an escape does not leave the
 * host stopped; the kernel detaches when this process dies. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_ptrace, (long)PTRACE_SEIZE, (long)pid, 0L, 0L);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "seized pid %ld", (long)pid);
}
