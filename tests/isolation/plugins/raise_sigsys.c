/* Raises SIGSYS on itself, by raise() and by tgkill and kill on its own
 * pid, all allowed: a plugin must not be able to pass its own death off as
 * a sandbox kill. As pid 1 of its pid namespace, the kernel drops a signal
 * it sends itself whose action is the default, so it may well live on. */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    signal(SIGSYS, SIG_DFL);
    long r = raise(SIGSYS);
    if (r == 0)
        r = syscall(SYS_tgkill, (long)getpid(), (long)syscall(SYS_gettid), (long)SIGSYS);
    if (r == 0)
        r = syscall(SYS_kill, (long)getpid(), (long)SIGSYS);
    atk_set(o, r, errno);
    o->escaped = 0; /* surviving is no escape; a "violation" report would be */
    snprintf(o->detail, sizeof o->detail, "pid %ld raised SIGSYS three ways and lives",
             (long)getpid());
}
