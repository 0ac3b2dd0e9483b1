/* userfaultfd(2) lets an exploit freeze the kernel mid-copy, widening
 * race windows. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_userfaultfd, (long)O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "userfaultfd %ld", fd);
        close((int)fd);
    }
}
