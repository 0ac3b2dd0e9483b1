/* syslog(2) reads the kernel log, which leaks kernel addresses. Only the
 * buffer size is asked for. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SYSLOG_ACTION_SIZE_BUFFER 10

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_syslog, (long)SYSLOG_ACTION_SIZE_BUFFER, NULL, 0L);
    atk_set(o, r, errno);
    if (r >= 0)
        snprintf(o->detail, sizeof o->detail, "kernel log buffer is %ld bytes", r);
}
