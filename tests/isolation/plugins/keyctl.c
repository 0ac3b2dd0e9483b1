/* keyctl(2) on the user keyring, which other processes of the same user
 * share (and may keep secrets in). */
#include "attack.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long id = syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID, (long)KEY_SPEC_USER_KEYRING, 0L);
    atk_set(o, id, errno);
    if (id >= 0)
        snprintf(o->detail, sizeof o->detail, "user keyring id %ld", id);
}
