/* Writes another process's memory, at address 0 so that even an escape
 * cannot corrupt anything: EFAULT means the permission check passed. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    char buf[8] = "escaped";
    struct iovec local = {.iov_base = buf, .iov_len = sizeof buf};
    struct iovec remote = {.iov_base = NULL, .iov_len = sizeof buf};
    pid_t pid = atk_target_pid();
    long r = syscall(SYS_process_vm_writev, (long)pid, &local, 1UL, &remote, 1UL, 0UL);
    atk_set(o, r, errno);
    o->escaped = r >= 0 || o->err == EFAULT;
    snprintf(o->detail, sizeof o->detail, "pid %ld: permission %s", (long)pid,
             o->escaped ? "granted" : "refused");
}
