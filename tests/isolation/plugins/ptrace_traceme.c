/* PTRACE_TRACEME hands this process to its parent as a tracee; under a
 * filter that allowed ptrace it is also how seccomp used to be bypassed. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_ptrace, (long)PTRACE_TRACEME, 0L, 0L, 0L);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "now traced by the parent");
}
