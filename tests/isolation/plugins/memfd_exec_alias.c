/* A writable alias of executable memory: the same memfd mapped executable
 * and shared-writable, so new code written through one view runs through
 * the other. Refused at the executable mapping, whatever the phase. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long fd =
        syscall(SYS_memfd_create, "plughost-atk", (unsigned)(MFD_CLOEXEC | MFD_ALLOW_SEALING));
    /* Descriptors 0-2 are closed, so the memfd may land there, where
     * writes fail by design: move it up first. */
    if (fd >= 0 && fd <= 2) {
        long up = fcntl((int)fd, F_DUPFD_CLOEXEC, 10);
        close((int)fd);
        fd = up;
    }
    static unsigned char page[4096];
    if (fd < 0 || write((int)fd, page, sizeof page) != (ssize_t)sizeof page) {
        atk_set(o, -1, errno);
        o->escaped = 0;
        return;
    }
    long w =
        syscall(SYS_mmap, NULL, 4096UL, (long)(PROT_READ | PROT_WRITE), (long)MAP_SHARED, fd, 0L);
    long x =
        syscall(SYS_mmap, NULL, 4096UL, (long)(PROT_READ | PROT_EXEC), (long)MAP_SHARED, fd, 0L);
    atk_set(o, x, errno);
    if ((void *)w == MAP_FAILED || (void *)x == MAP_FAILED) {
        o->escaped = 0;
    } else {
        unsigned char *code = (unsigned char *)w;
        code[0] = 0xb8, code[1] = 7, code[2] = code[3] = code[4] = 0, code[5] = 0xc3;
        int (*fn)(void) = (int (*)(void))x;
        snprintf(o->detail, sizeof o->detail, "wrote and ran code through an alias: %d", fn());
        o->escaped = 1;
    }
    close((int)fd);
}
