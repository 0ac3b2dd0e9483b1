/* READ_IMPLIES_EXEC makes every later readable mapping executable: a way
 * around a filter that refuses PROT_EXEC. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_personality, (unsigned long)READ_IMPLIES_EXEC);
    atk_set(o, r, errno);
    if (r >= 0)
        snprintf(o->detail, sizeof o->detail, "persona was %#lx, now READ_IMPLIES_EXEC", r);
}
