/* abort(): a plugin's own crash, reported as a crash. As pid 1 of its pid
 * namespace the plugin ignores its own SIGABRT, and glibc's abort() ends
 * in a privileged instruction, so the host sees SIGSEGV there. */
#include "attack.h"

#include <stdio.h>
#include <stdlib.h>

void atk_run(struct atk_outcome *o)
{
    abort();
    o->escaped = 0;
    snprintf(o->detail, sizeof o->detail, "abort() returned");
}
