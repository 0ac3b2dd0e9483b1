/* connect() on whatever descriptor numbers exist: the channel is a
 * connected socket already, but any other inherited socket would be a way
 * out. Aims at an abstract name nobody listens on. */
#include "attack.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path + 1, "plughost-atk", 12);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 13);
    for (int fd = 0; fd < 16; fd++) {
        long r = syscall(SYS_connect, fd, &sa, len);
        atk_set(o, r, errno);
        if (r == 0) {
            snprintf(o->detail, sizeof o->detail, "fd %d connected", fd);
            return;
        }
    }
    snprintf(o->detail, sizeof o->detail, "connect on fds 0-15 all failed, last errno %d", o->err);
}
