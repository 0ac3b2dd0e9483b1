/* settimeofday(NULL, NULL) changes nothing, yet succeeds only with
 * CAP_SYS_TIME: a success shows the power without using it. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_settimeofday, NULL, NULL);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "allowed to set the time");
}
