/* vfork(2): glibc's wrapper is the raw call on x86_64; a raw syscall()
 * would return into a stack frame the parent still uses. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = vfork();
    if (pid == 0)
        _exit(0);
    atk_set(o, pid, errno);
    if (pid > 0)
        snprintf(o->detail, sizeof o->detail, "vforked child %ld", (long)pid);
}
