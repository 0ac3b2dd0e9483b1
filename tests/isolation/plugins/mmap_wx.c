/* A writable and executable anonymous mapping: the JIT-spray primitive. */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = syscall(SYS_mmap, NULL, 4096UL, (long)(PROT_READ | PROT_WRITE | PROT_EXEC),
                     (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
    atk_set(o, r, errno);
    if ((void *)r == MAP_FAILED) {
        o->escaped = 0;
        return;
    }
    o->escaped = 1;
    snprintf(o->detail, sizeof o->detail, "RWX mapping at %#lx", (unsigned long)r);
    syscall(SYS_munmap, (void *)r, 4096UL);
}
