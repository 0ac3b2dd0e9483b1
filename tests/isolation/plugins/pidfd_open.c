/* A pidfd on the target leads to pidfd_getfd, i.e. stealing its
 * descriptors, and to pidfd_send_signal. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    pid_t pid = atk_target_pid();
    long fd = syscall(SYS_pidfd_open, (long)pid, 0U);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "pidfd %ld on pid %ld", fd, (long)pid);
        close((int)fd);
    }
}
