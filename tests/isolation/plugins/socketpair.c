/* socketpair() creates descriptors the plugin could pass around. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    int sv[2] = {-1, -1};
    long r = syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    atk_set(o, r, errno);
    if (r == 0) {
        snprintf(o->detail, sizeof o->detail, "got fds %d and %d", sv[0], sv[1]);
        close(sv[0]);
        close(sv[1]);
    }
}
