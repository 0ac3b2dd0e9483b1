/* add_key(2): the kernel keyring is shared state outside the sandbox. */
#include "attack.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long id =
        syscall(SYS_add_key, "user", "plughost-atk", "x", 1UL, (long)KEY_SPEC_PROCESS_KEYRING);
    atk_set(o, id, errno);
    if (id >= 0)
        snprintf(o->detail, sizeof o->detail, "key %ld added", id);
}
