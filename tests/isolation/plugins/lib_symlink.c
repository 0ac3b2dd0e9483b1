/* A symbolic link under a library directory that leads out of it (systemd's
 * /usr/lib/environment.d/99-environment.conf -> /etc/environment): the path
 * passes a prefix check, the file it names does not. Contained, the private
 * root or Landlock refuses it; without them the host opens library files
 * itself, beneath their directory, never through a link out of it. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_openat, AT_FDCWD, "/usr/lib/environment.d/99-environment.conf",
                      O_RDONLY | O_CLOEXEC);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        char buf[60] = {0};
        ssize_t n = read((int)fd, buf, sizeof buf - 1);
        snprintf(o->detail, sizeof o->detail, "read %zd bytes of /etc/environment", n);
        close((int)fd);
    }
}
