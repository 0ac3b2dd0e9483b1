/* getpid through `int $0x80`, the i386 ABI: a filter that checks only
 * syscall numbers would read 20 as x86_64's writev. */
#include "attack.h"

#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long ret;
    /* The 64-bit kernel clears r8-r11 on the compat path. */
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "r8", "r9", "r10", "r11", "memory");
    atk_set(o, ret, ret < 0 ? (int)-ret : 0);
    if (ret >= 0)
        snprintf(o->detail, sizeof o->detail, "i386 getpid returned %ld", ret);
}
