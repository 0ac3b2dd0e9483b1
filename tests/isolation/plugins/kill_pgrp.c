/* kill(0, SIGTERM): the caller's process group, which holds the host
 * unless the host gave the plugin a group of its own. */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_kill, 0L, (long)SIGTERM);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "SIGTERM sent to the process group");
}
