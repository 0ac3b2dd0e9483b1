/* modify_ldt(2): x86 segment tables, a historic source of kernel bugs.
 * Only reads the table. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    static unsigned char buf[64];
    long r = syscall(SYS_modify_ldt, 0L, buf, sizeof buf);
    atk_set(o, r, errno);
    if (r >= 0)
        snprintf(o->detail, sizeof o->detail, "read %ld bytes of LDT", r);
}
