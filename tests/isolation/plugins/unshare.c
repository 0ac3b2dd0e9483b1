/* unshare(CLONE_NEWUSER): a user namespace grants capabilities over new
 * namespaces, the usual door to kernel attack surface. */
#include "attack.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_unshare, (long)CLONE_NEWUSER);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "in a new user namespace");
}
