/* The fork(2) entry point itself (glibc's fork() uses clone instead). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long pid = syscall(SYS_fork);
    if (pid == 0)
        syscall(SYS_exit_group, 0);
    atk_set(o, pid, errno);
    if (pid > 0)
        snprintf(o->detail, sizeof o->detail, "forked child %ld", pid);
}
