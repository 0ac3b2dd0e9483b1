/* openat2(2): newer than many filters, same power as openat. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
    long fd = syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", &how, sizeof how);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        char buf[40] = {0};
        ssize_t n = read((int)fd, buf, sizeof buf - 1);
        snprintf(o->detail, sizeof o->detail, "read %zd bytes: %s", n, buf);
        close((int)fd);
    }
}
