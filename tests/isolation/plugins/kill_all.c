/* kill(-1, SIGKILL): every process the caller may signal. The suite runs
 * in its own pid namespace, which bounds the damage of an escape. */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_kill, -1L, (long)SIGKILL);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "SIGKILL sent to every process");
}
