/* A raw socket forges packets (and works as root). */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <netinet/in.h>

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_socket, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "got socket fd %ld", fd);
        close((int)fd);
    }
}
