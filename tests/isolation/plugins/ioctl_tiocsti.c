/* TIOCSTI pushes input into a terminal: if any inherited descriptor is
 * the user's tty, that is command injection into their shell. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char c = ' ';
    for (int fd = 0; fd <= 3; fd++) {
        long r = syscall(SYS_ioctl, (long)fd, (unsigned long)TIOCSTI, &c);
        atk_set(o, r, errno);
        if (r == 0) {
            snprintf(o->detail, sizeof o->detail, "injected a byte into fd %d", fd);
            return;
        }
    }
    snprintf(o->detail, sizeof o->detail, "ioctl reached the kernel on fds 0-3");
}
