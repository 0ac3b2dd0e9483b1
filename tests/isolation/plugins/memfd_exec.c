/* Fileless code: a memfd made with the blob's own flags, filled with
 * machine code, then mapped executable (no write, so it looks like the
 * dynamic linker's mappings while loading). Executable memory may only come
 * from the plugin file and root's library files (host/load_window.c). */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* memfd_exec_noexec.c includes this file with MFD_NOEXEC_SEAL added. */
#ifndef ATK_MEMFD_FLAGS
#define ATK_MEMFD_FLAGS (MFD_CLOEXEC | MFD_ALLOW_SEALING)
#endif

void atk_run(struct atk_outcome *o)
{
    long fd = syscall(SYS_memfd_create, "plughost-atk", (unsigned)ATK_MEMFD_FLAGS);
    /* Descriptors 0-2 are closed, so the memfd may land there, where
     * writes fail by design: move it up first. */
    if (fd >= 0 && fd <= 2) {
        long up = fcntl((int)fd, F_DUPFD_CLOEXEC, 10);
        close((int)fd);
        fd = up;
    }
    if (fd < 0) {
        atk_set(o, fd, errno);
        o->escaped = 0;
        return;
    }
    static const unsigned char ret42[] = {0xb8, 0x2a, 0, 0, 0, 0xc3}; /* mov eax,42; ret */
    if (write((int)fd, ret42, sizeof ret42) != (ssize_t)sizeof ret42) {
        atk_set(o, -1, errno);
        o->escaped = 0;
        close((int)fd);
        return;
    }
    long r =
        syscall(SYS_mmap, NULL, 4096UL, (long)(PROT_READ | PROT_EXEC), (long)MAP_SHARED, fd, 0L);
    atk_set(o, r, errno);
    if ((void *)r == MAP_FAILED) {
        o->escaped = 0;
    } else {
        int (*fn)(void) = (int (*)(void))r;
        snprintf(o->detail, sizeof o->detail, "ran new code from a memfd: %d", fn());
        o->escaped = 1;
    }
    close((int)fd);
}
