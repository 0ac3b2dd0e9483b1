/* execveat(2): the exec a filter on execve alone forgets. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char *const argv[] = {"true", NULL};
    char *const envp[] = {NULL};
    long r = syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, envp, 0);
    atk_set(o, r, errno);
    o->escaped = 0; /* a returning execveat failed */
    snprintf(o->detail, sizeof o->detail, "execveat returned");
}
