/* SIGKILL to the neighbouring plugin (echo's pid, named by the driver):
 * the driver's echo.echo afterwards shows whether it survived. */
#include "attack.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_kill, (long)pid, (long)SIGKILL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "kill(%ld, SIGKILL) returned %ld", (long)pid, r);
}
