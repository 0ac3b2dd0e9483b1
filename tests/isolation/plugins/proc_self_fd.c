/* Reopens its own channel through /proc/self/fd/3, a new open file
 * description the host never handed out. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/fd/3", O_RDONLY | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "opened /proc/self/fd/3 as fd %ld", fd);
        close((int)fd);
    }
}
