/* Reads the target's /proc/PID/maps: its layout defeats ASLR. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)atk_target_pid());
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        char buf[60] = {0};
        ssize_t n = read((int)fd, buf, sizeof buf - 1);
        snprintf(o->detail, sizeof o->detail, "%s: %zd bytes: %s", path, n, buf);
        close((int)fd);
    }
}
