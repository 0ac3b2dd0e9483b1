/* An O_PATH open is read-only by its flags, yet Landlock does not check
 * it: while loading, it could reach any path, e.g. to fstat it. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_PATH | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        struct stat st;
        int r = fstat((int)fd, &st);
        snprintf(o->detail, sizeof o->detail, "O_PATH fd %ld on /etc/passwd; fstat %s, size %lld",
                 fd, r == 0 ? "worked" : "failed", r == 0 ? (long long)st.st_size : -1LL);
        close((int)fd);
    }
}
