/* stat of a path (glibc's stat is newfstatat): metadata leaks past
 * Landlock, which only guards opening. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct stat st;
    long r = syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd", &st, 0);
    atk_set(o, r, errno);
    o->escaped = r == 0 || o->err == ENOENT;
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "/etc/passwd: %lld bytes, uid %u",
                 (long long)st.st_size, (unsigned)st.st_uid);
}
