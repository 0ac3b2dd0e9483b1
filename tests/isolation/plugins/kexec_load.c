/* kexec_load(2) with flags the kernel rejects (EINVAL): zero segments and
 * valid flags would unload a loaded kexec image. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0xff00UL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "kexec_load reached the kernel");
}
