/* Opens its own /proc/self/mem for writing, which writes through page
 * protections: code could be patched into read-only text. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "opened /proc/self/mem as fd %ld", fd);
        close((int)fd);
    }
}
