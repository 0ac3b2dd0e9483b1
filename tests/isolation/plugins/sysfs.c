/* Reads sysfs (/sys/kernel/notes), kernel build details that help aim an
 * exploit. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_openat, AT_FDCWD, "/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "opened /sys/kernel/notes as fd %ld", fd);
        close((int)fd);
    }
}
