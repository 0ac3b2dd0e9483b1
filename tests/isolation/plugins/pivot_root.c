/* pivot_root(2) on paths that do not exist (harmless even on escape). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_pivot_root, "/nonexistent-plughost-a", "/nonexistent-plughost-b");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "pivot_root reached the kernel");
}
