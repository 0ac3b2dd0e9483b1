/* Makes heap memory executable: injected code must have nowhere to run
 * once the plugin is loaded. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    void *p = aligned_alloc(4096, 4096);
    if (!p) {
        atk_set(o, -1, errno);
        snprintf(o->detail, sizeof o->detail, "no heap memory to try with");
        return;
    }
    long r = syscall(SYS_mprotect, p, 4096UL, (long)(PROT_READ | PROT_WRITE | PROT_EXEC));
    atk_set(o, r, errno);
    if (r == 0) {
        snprintf(o->detail, sizeof o->detail, "heap page %p is now RWX", p);
        syscall(SYS_mprotect, p, 4096UL, (long)(PROT_READ | PROT_WRITE));
    }
    free(p);
}
