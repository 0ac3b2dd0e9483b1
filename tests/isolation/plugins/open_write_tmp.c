/* Creates and writes a file in /tmp (the driver removes any leftover). */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/plughost-atk-write-%ld", (long)getpid());
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        ssize_t n = write((int)fd, "escaped\n", 8);
        snprintf(o->detail, sizeof o->detail, "created %s, wrote %zd bytes", path, n);
        close((int)fd);
    }
}
