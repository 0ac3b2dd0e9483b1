#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int plain(unsigned char c, unsigned flags)
{
    return c >= 0x20 && c < 0x7f && !(c == '\\' && (flags & PH_TEXT_EXACT));
}

size_t ph_text_escape(const char *bytes, size_t n, char *out, size_t outlen, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    /* Room for one escape and the truncation note. */
    const size_t reserve = 32;
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (o + reserve >= outlen) {
            int k = snprintf(out + o, outlen - o, "...(%zu bytes)", n);
            if (k > 0)
                o += (size_t)k < outlen - o ? (size_t)k : outlen - o - 1;
            return o;
        }
        if (plain(c, flags)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

int ph_text_is_plain(const char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)bytes[i] < 0x20 || (unsigned char)bytes[i] >= 0x7f)
            return 0;
    return 1;
}

char *ph_text_escape_dup(const char *bytes, size_t n, unsigned flags)
{
    /* Four bytes out for each byte in at most, the reserve, the NUL. */
    if (n > (SIZE_MAX - 64) / 4)
        return NULL;
    size_t len = 4 * n + 64;
    char *out = malloc(len);
    if (out)
        ph_text_escape(bytes, n, out, len, flags);
    return out;
}

char *ph_text_json(const json_t *v, size_t flags)
{
    char *s = json_dumps(v, flags | JSON_ENSURE_ASCII);
    if (!s)
        return NULL;
    size_t dels = 0, n = 0;
    for (; s[n]; n++)
        dels += s[n] == 0x7f;
    if (dels == 0)
        return s;
    char *t = malloc(n + 5 * dels + 1);
    if (!t) {
        free(s);
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0x7f) {
            memcpy(t + o, "\\u007f", 6);
            o += 6;
        } else {
            t[o++] = s[i];
        }
    }
    t[o] = '\0';
    free(s);
    return t;
}

void ph_text_print(FILE *f, const char *fmt, ...)
{
    char small[512], *line = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        line = malloc((size_t)n + 1);
        if (!line)
            return;
        va_start(ap, fmt);
        vsnprintf(line, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    char *view = ph_text_escape_dup(line, (size_t)n, 0);
    if (view) {
        size_t len = strlen(view);
        view[len] = '\n'; /* escape_dup leaves room: 4n + 64 */
        fwrite(view, 1, len + 1, f);
    } else {
        /* Out of memory: say so rather than print the bytes unseen. */
        fputs("(line not shown: out of memory)\n", f);
    }
    free(view);
    if (line != small)
        free(line);
}

void ph_text_print_json(FILE *f, const json_t *v, size_t flags)
{
    char *s = v ? ph_text_json(v, flags) : NULL;
    fprintf(f, "%s\n", s ? s : "null");
    free(s);
}
