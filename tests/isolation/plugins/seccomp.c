/* Installs a second seccomp filter. It cannot loosen the first, but it
 * could claim a listener or reorder what the host sees; the plugin has
 * no business touching its own confinement. */
#include "attack.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = 1, .filter = &allow};
    long r = syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER, 0L, &prog);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "installed an extra filter");
}
