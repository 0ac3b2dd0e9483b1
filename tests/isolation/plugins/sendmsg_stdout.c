/* sendmsg, which the filter allows on any descriptor, aimed at fds 0-2:
 * they are closed in the child, so the kernel has nothing to write to. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

void atk_run(struct atk_outcome *o)
{
    static char msg[] = "PLUGHOST-ATK-ESCAPED\n";
    struct iovec iov = {msg, sizeof msg - 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    for (int fd = 0; fd <= 2; fd++) {
        long r = (long)sendmsg(fd, &mh, MSG_NOSIGNAL);
        atk_set(o, r, errno);
        if (r >= 0) {
            snprintf(o->detail, sizeof o->detail, "sent %ld bytes on fd %d", r, fd);
            return;
        }
    }
    snprintf(o->detail, sizeof o->detail, "sendmsg on fds 0-2 refused");
}
