/* Reads the neighbouring plugin's memory (the driver names echo's pid as
 * the host sees it; from inside its own pid namespace the plugin could not
 * even name it). Address 0: EFAULT would mean the permission check passed. */
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
    snprintf(o->detail, sizeof o->detail, "peer pid %ld: %s", (long)pid,
             o->escaped ? "reached" : "not reached");
}
