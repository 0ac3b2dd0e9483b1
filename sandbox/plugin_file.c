/*
 * plugin_file: see plugin_file.h.
 */
#include "plugin_file.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_PLUGIN ((off_t)256 << 20)

int ph_sb_copy_checked(int src, int dst, const char *pin, char *err, size_t errlen)
{
    struct ph_sha256 s;
    static unsigned char buf[65536];
    off_t off = 0;
    /* The hash is only ever compared with a pin: without one, a start
     * does not pay for it (a few percent of a start's CPU). */
    int pinned = pin && strcmp(pin, "-") != 0;
    ph_sha256_init(&s);
    for (;;) {
        ssize_t r = pread(src, buf, sizeof buf, off);
        if (r < 0) {
            snprintf(err, errlen, "reading the plugin file: %s", strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        off += r;
        if (off > MAX_PLUGIN) {
            snprintf(err, errlen, "plugin file larger than 256 MiB");
            return -1;
        }
        if (pinned)
            ph_sha256_update(&s, buf, (size_t)r);
        for (ssize_t w = 0; w < r;) {
            ssize_t n = write(dst, buf + w, (size_t)(r - w));
            if (n < 0) {
                snprintf(err, errlen, "copying the plugin file: %s", strerror(errno));
                return -1;
            }
            w += n;
        }
    }
    if (!pinned)
        return 0;
    char hex[65];
    ph_sha256_hex(&s, hex);
    if (strcmp(pin, hex) != 0) {
        snprintf(err, errlen, "plugin file changed after the host checked its pin (now %.12s...)",
                 hex);
        return -1;
    }
    return 0;
}

int ph_sb_copy_to_memfd(int src, const char *pin, char *err, size_t errlen)
{
    int m = memfd_create("plugin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (m < 0) {
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ph_sb_copy_checked(src, m, pin, err, errlen) < 0) {
        close(m);
        return -1;
    }
    if (fcntl(m, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        snprintf(err, errlen, "sealing the plugin copy: %s", strerror(errno));
        close(m);
        return -1;
    }
    return m;
}
