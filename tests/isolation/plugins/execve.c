/* execve(2) of /bin/true: on success this process becomes /bin/true and
 * exits 0, which the host would report as "exited", not a violation. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char *const argv[] = {"true", NULL};
    char *const envp[] = {NULL};
    long r = syscall(SYS_execve, "/bin/true", argv, envp);
    atk_set(o, r, errno);
    o->escaped = 0; /* a returning execve failed */
    snprintf(o->detail, sizeof o->detail, "execve returned");
}
