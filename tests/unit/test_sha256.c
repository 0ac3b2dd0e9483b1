/*
 * test_sha256: sdk/sha256.c gives the FIPS 180-4 digests with the SHA
 * extensions (where the CPU has them) and with the portable code, for
 * messages of every length around the block and padding boundaries, fed
 * whole and in uneven pieces.
 */
#include "check.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

static void digest(const void *data, size_t n, size_t piece, char out[65])
{
    struct ph_sha256 s;
    ph_sha256_init(&s);
    const unsigned char *p = data;
    for (size_t off = 0; off < n;) {
        size_t take = piece && n - off > piece ? piece : n - off;
        ph_sha256_update(&s, p + off, take);
        off += take;
    }
    ph_sha256_hex(&s, out);
}

int main(void)
{
    static const struct {
        const char *msg, *hex;
    } known[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
         "lmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char out[65];
    for (int portable = 0; portable < 2; portable++) {
        ph_sha256_portable_only = portable;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            digest(known[i].msg, strlen(known[i].msg), 0, out);
            CHECKF(strcmp(out, known[i].hex) == 0, "%s \"%.20s\": %s",
                   portable ? "portable" : "fast", known[i].msg, out);
        }
        size_t mn = 1000000;
        char *a = malloc(mn);
        CHECK(a != NULL);
        if (!a)
            continue;
        memset(a, 'a', mn);
        for (size_t piece = 0; piece < 200; piece += 67) {
            digest(a, mn, piece, out);
            CHECKF(strcmp(out,
                          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0,
                   "%s: a million 'a' in pieces of %zu: %s", portable ? "portable" : "fast", piece,
                   out);
        }
        free(a);
    }
    /* Every length to 300 bytes, and uneven pieces: both ways agree. */
    unsigned char buf[300];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
    for (size_t n = 0; n <= sizeof buf; n++) {
        char fast[65], slow[65];
        ph_sha256_portable_only = 0;
        digest(buf, n, n % 7 + 1, fast);
        ph_sha256_portable_only = 1;
        digest(buf, n, 0, slow);
        CHECKF(strcmp(fast, slow) == 0, "length %zu: %s vs %s", n, fast, slow);
    }
    return ph_t_summary("test_sha256");
}
