/* Changes the filesystem without opening a file (the driver removes any
 * leftover directory). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/plughost-atk-dir-%ld", (long)getpid());
    long r = syscall(SYS_mkdir, path, 0700);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "created %s", path);
}
