/* chroot(2) to "/": harmless for the host, but a chroot plus a kept
 * directory descriptor is the classic way out of a chroot. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_chroot, "/");
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "chroot(\"/\") succeeded");
}
