/* memfd_create(2) with MFD_CLOEXEC alone: anonymous files are the usual
 * first step of fileless execution (write code, then fexecve or mmap it).
 * Blobs need memfd_create, so the filter allows it with exactly the blob's
 * flags (CLOEXEC, ALLOW_SEALING, NOEXEC_SEAL) and no others. */
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
