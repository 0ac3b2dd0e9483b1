/* init_module(2) with an empty image: kernel code loading must be out of
 * reach whatever the arguments. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_init_module, NULL, 0UL, "");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "init_module reached the kernel");
}
