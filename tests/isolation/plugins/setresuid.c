/* setresuid(0, 0, 0), the call setuid wrappers use underneath. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_setresuid, 0L, 0L, 0L);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "real, effective and saved uid set to 0");
}
