/* creat(2): a file-creating call with no openat in its name. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/plughost-atk-creat-%ld", (long)getpid());
    long fd = syscall(SYS_creat, path, 0600);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "created %s", path);
        close((int)fd);
    }
}
