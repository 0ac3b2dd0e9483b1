/*
 * sha256: hashes plugin files for the operator's pins, in the host (host/config.c)
 * and again in the loader over the copy it loads (sandbox/plugin_file.c).
 */
#ifndef PH_HOST_SHA256_H
#define PH_HOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct ph_sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t used;
};

void ph_sha256_init(struct ph_sha256 *s);
void ph_sha256_update(struct ph_sha256 *s, const void *data, size_t n);
/* Finishes and writes 64 lower-case hex digits and a NUL. */
void ph_sha256_hex(struct ph_sha256 *s, char out[65]);
/* Set to 1, only the portable code runs, whatever the CPU offers (the SHA
 * extensions otherwise, where present): for tests comparing the two. */
extern int ph_sha256_portable_only;
/* Hashes a whole file by descriptor (pread, so the offset is untouched).
 * Returns 0 or -1 with errno. */
int ph_sha256_fd(int fd, char out[65]);

#endif
