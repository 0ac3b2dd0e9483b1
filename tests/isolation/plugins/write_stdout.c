/* Writes to stdin, stdout and stderr (the host's terminal, if inherited).
 * By design the sandbox answers EBADF for any descriptor but the channel
 * (so a stray printf fails quietly), and the host must not see the bytes. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "PLUGHOST-ATK-ESCAPED\n";
    for (int fd = 0; fd <= 2; fd++) {
        long r = syscall(SYS_write, (long)fd, msg, sizeof msg - 1);
        atk_set(o, r, errno);
        if (r >= 0) {
            snprintf(o->detail, sizeof o->detail, "wrote %ld bytes to fd %d", r, fd);
            return;
        }
    }
    snprintf(o->detail, sizeof o->detail, "writes to fds 0-2 refused");
}
