/* Not an attack: fstat() of a descriptor the plugin holds (its channel)
 * must keep working, answered by the host now that the filter cannot allow
 * newfstatat (host/load_window.c). Reported as an escape if it does not
 * work, so that a broken answer fails the suite. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    struct stat st;
    int r = fstat(3, &st);
    atk_set(o, r, errno);
    o->escaped = !(r == 0 && S_ISSOCK(st.st_mode));
    snprintf(o->detail, sizeof o->detail, "fstat(3): %s",
             o->escaped ? "did not report the channel socket" : "a socket, as expected");
}
