/* umount2(2) on a path that does not exist (harmless even on escape). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_umount2, "/nonexistent-plughost-atk", 0L);
    atk_set(o, r, errno);
    o->escaped = r == 0 || o->err == ENOENT;
    snprintf(o->detail, sizeof o->detail, "umount2 reached the kernel");
}
