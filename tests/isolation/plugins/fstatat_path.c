/* newfstatat with AT_EMPTY_PATH and a path: the flag permits an empty path
 * without requiring one, so a filter that checks the flag alone lets this
 * probe the filesystem. Only fstat of a held descriptor is answered. */
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
    long r = syscall(SYS_newfstatat, AT_FDCWD, "/usr/lib", &st, AT_EMPTY_PATH);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "stat of /usr/lib: inode %lu",
                 (unsigned long)st.st_ino);
}
