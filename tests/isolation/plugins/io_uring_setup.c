/* io_uring performs I/O without further syscalls a filter could see, and
 * has been a rich source of kernel bugs. */
#include "attack.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct io_uring_params p = {0};
    long fd = syscall(SYS_io_uring_setup, 1U, &p);
    atk_set(o, fd, errno);
    if (fd >= 0) {
        snprintf(o->detail, sizeof o->detail, "ring fd %ld", fd);
        close((int)fd);
    }
}
