/* Reads another process's memory. The remote address 0 is never mapped,
 * so EFAULT means the permission check passed: that is the escape. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char buf[8];
    struct iovec local = {.iov_base = buf, .iov_len = sizeof buf};
    struct iovec remote = {.iov_base = NULL, .iov_len = sizeof buf};
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_process_vm_readv, (long)pid, &local, 1UL, &remote, 1UL, 0UL);
    atk_set(o, r, errno);
    o->escaped = r >= 0 || o->err == EFAULT;
    snprintf(o->detail, sizeof o->detail, "pid %ld: permission %s", (long)pid,
             o->escaped ? "granted" : "refused");
}
