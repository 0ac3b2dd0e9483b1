/*
 * base: what every module of the host library leans on and nothing else
 * provides: the monotonic and wall clocks, and filling a ph_error.
 *
 * It is the bottom layer: it must never call another module of the host
 * library, nor hold any state.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t ph_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ph_now_ms(void)
{
    return ph_now_ns() / 1000000ull;
}

int ph_set_error(ph_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        int n = vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        ph_cut_whole(err->text, sizeof err->text, n);
    }
    return status;
}

/* After a vsnprintf() that returned n into buf of cap bytes: a cut made
 * inside a UTF-8 sequence (a long file name, say) is moved to before it,
 * so the text stays UTF-8 and a JSON report of it can be built. */
void ph_cut_whole(char *buf, size_t cap, int n)
{
    if (n < 0 || (size_t)n < cap)
        return;
    size_t len = strlen(buf), i = len;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (len - (i - 1) < need)
        buf[i - 1] = '\0';
}
