/* memfd_create(2): anonymous files are the usual first step of fileless
 * execution (write code, then fexecve or mmap it). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_memfd_create, "plughost-atk", (unsigned)MFD_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "got memfd %ld", fd);
        close((int)fd);
    }
}
