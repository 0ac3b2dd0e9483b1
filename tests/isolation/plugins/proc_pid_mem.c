/* Opens the target's /proc/PID/mem, i.e. the host's whole address space. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/mem", (long)atk_target_pid());
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "opened %s", path);
        close((int)fd);
    }
}
