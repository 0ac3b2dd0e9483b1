/*
 * framing: splits a client's byte stream into message bodies, one per line
 * or LSP base-protocol frames (see framing.h).
 *
 * It must never trust a length or a header it was sent: lengths are checked
 * against max before anything is buffered for them, a header block is
 * bounded by PH_FRAME_MAX_HEADER, and every error consumes at least one byte
 * so a hostile stream cannot make it loop.
 */
#include "framing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lsp_state {
    LSP_HEADER = 0,
    LSP_BODY,   /* need = body bytes to deliver */
    LSP_SKIP,   /* need = bytes of a refused body still to throw away */
    LSP_RESYNC, /* framing lost: drop bytes until the next "Content-Length" */
};

static const char content_length[] = "Content-Length";
#define CONTENT_LENGTH_LEN (sizeof content_length - 1)

void ph_frame_rx_init(ph_frame_rx *rx, enum ph_framing mode, size_t max)
{
    memset(rx, 0, sizeof *rx);
    rx->mode = mode;
    rx->max = max;
}

void ph_frame_rx_free(ph_frame_rx *rx)
{
    free(rx->buf);
    rx->buf = NULL;
    rx->start = rx->len = rx->cap = 0;
}

int ph_frame_rx_append(ph_frame_rx *rx, const char *bytes, size_t n)
{
    if (n == 0)
        return 0;
    /* Consumed bytes are reclaimed here, never in next(), so that a body
     * handed out by next() stays where it is until the caller comes back. */
    if (rx->start > 0 && (rx->start == rx->len || rx->start >= rx->cap / 2)) {
        memmove(rx->buf, rx->buf + rx->start, rx->len - rx->start);
        rx->len -= rx->start;
        rx->start = 0;
    }
    if (rx->cap - rx->len < n) {
        size_t want = rx->len + n;
        if (want < rx->len)
            return -1;
        size_t ncap = rx->cap ? rx->cap : 4096;
        while (ncap < want) {
            if (ncap > SIZE_MAX / 2)
                return -1;
            ncap *= 2;
        }
        char *nb = realloc(rx->buf, ncap);
        if (!nb)
            return -1;
        rx->buf = nb;
        rx->cap = ncap;
    }
    memcpy(rx->buf + rx->len, bytes, n);
    rx->len += n;
    return 0;
}

void ph_frame_rx_eof(ph_frame_rx *rx)
{
    rx->eof = 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* RFC 9110 token characters, which is what a header field name may use. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* The only charset LSP defines is utf-8 ("utf8" for old clients); a body in
 * any other would be misread, so it is refused rather than guessed. */
static int charset_ok(const char *v, size_t n)
{
    while (n > 0) {
        const char *semi = memchr(v, ';', n);
        size_t plen = semi ? (size_t)(semi - v) : n;
        const char *p = v;
        size_t pl = plen;
        trim(&p, &pl);
        const char *eq = memchr(p, '=', pl);
        if (eq) {
            const char *name = p, *val = eq + 1;
            size_t nl = (size_t)(eq - p), vl = pl - nl - 1;
            trim(&name, &nl);
            trim(&val, &vl);
            if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
                val++;
                vl -= 2;
            }
            if (ieq(name, nl, "charset") && !ieq(val, vl, "utf-8") && !ieq(val, vl, "utf8"))
                return 0;
        }
        if (!semi)
            break;
        n -= plen + 1;
        v = semi + 1;
    }
    return 1;
}

/* Parses a complete header block (without its final blank line). Returns 0
 * with *clen set, 1 for an error after which *clen bytes of body are to be
 * skipped, -1 for an error that leaves the body's length unknown. */
static int parse_header(const ph_frame_rx *rx, const char *h, size_t n, uint64_t *clen, char *err,
                        size_t errlen)
{
    int have_len = 0, bad_charset = 0;
    while (n > 0) {
        const char *eol = NULL;
        for (size_t i = 0; i + 1 < n; i++)
            if (h[i] == '\r' && h[i + 1] == '\n') {
                eol = h + i;
                break;
            }
        size_t ll = eol ? (size_t)(eol - h) : n;
        const char *colon = memchr(h, ':', ll);
        size_t nl = colon ? (size_t)(colon - h) : 0;
        for (size_t i = 0; i < nl; i++)
            if (!is_tchar((unsigned char)h[i]))
                nl = 0;
        if (!colon || nl == 0) {
            snprintf(err, errlen, "malformed header line (expected \"Name: value\")");
            return -1;
        }
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        trim(&v, &vl);
        for (size_t i = 0; i < vl; i++) {
            unsigned char c = (unsigned char)v[i];
            if ((c < 0x20 && c != '\t') || c >= 0x7f) {
                snprintf(err, errlen, "header value with a control or non-ASCII byte");
                return -1;
            }
        }
        if (ieq(h, nl, "content-length")) {
            if (have_len) {
                snprintf(err, errlen, "more than one Content-Length header");
                return -1;
            }
            if (vl == 0 || vl > 19) {
                snprintf(err, errlen, "Content-Length is not a decimal byte count");
                return -1;
            }
            uint64_t x = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9') {
                    snprintf(err, errlen, "Content-Length is not a decimal byte count");
                    return -1;
                }
                x = x * 10 + (uint64_t)(v[i] - '0');
            }
            *clen = x;
            have_len = 1;
        } else if (ieq(h, nl, "content-type")) {
            if (!charset_ok(v, vl))
                bad_charset = 1;
        }
        /* Any other well-formed field is ignored, as HTTP-style headers
         * allow: a client may add fields this server does not know. */
        if (!eol)
            break;
        n -= ll + 2;
        h = eol + 2;
    }
    if (!have_len) {
        snprintf(err, errlen, "header without Content-Length");
        return -1;
    }
    if (bad_charset) {
        snprintf(err, errlen, "unsupported charset in Content-Type (only utf-8)");
        return 1;
    }
    if (*clen > rx->max) {
        snprintf(err, errlen, "message of %llu bytes is larger than --max-message (%zu)",
                 (unsigned long long)*clen, rx->max);
        return 1;
    }
    return 0;
}

/* Drops bytes up to the next "Content-Length" (any case). Returns 1 when
 * one was found (start now points at it). */
static int resync(ph_frame_rx *rx)
{
    for (size_t i = rx->start; i + CONTENT_LENGTH_LEN <= rx->len; i++)
        if (lower((unsigned char)rx->buf[i]) == 'c' &&
            ieq(rx->buf + i, CONTENT_LENGTH_LEN, content_length)) {
            rx->start = i;
            return 1;
        }
    /* Keep a tail that may be the beginning of a split "Content-Length". */
    size_t keep = CONTENT_LENGTH_LEN - 1;
    if (rx->len - rx->start > keep)
        rx->start = rx->len - keep;
    if (rx->eof)
        rx->start = rx->len;
    return 0;
}

static enum ph_frame_result lsp_error(ph_frame_rx *rx, size_t next, char *err, size_t errlen,
                                      const char *fmt)
{
    if (fmt)
        snprintf(err, errlen, "%s", fmt);
    rx->start = next;
    rx->scan = 0;
    rx->state = LSP_RESYNC;
    return PH_FRAME_ERROR;
}

static enum ph_frame_result lsp_next(ph_frame_rx *rx, const char **body, size_t *len, char *err,
                                     size_t errlen)
{
    for (;;) {
        size_t avail = rx->len - rx->start;
        switch (rx->state) {
        case LSP_RESYNC:
            if (!resync(rx))
                return PH_FRAME_NONE;
            rx->state = LSP_HEADER;
            continue;
        case LSP_SKIP: {
            uint64_t drop = avail < rx->need ? avail : rx->need;
            rx->start += (size_t)drop;
            rx->need -= drop;
            if (rx->need > 0) {
                if (rx->eof)
                    rx->start = rx->len;
                return PH_FRAME_NONE;
            }
            rx->state = LSP_HEADER;
            continue;
        }
        case LSP_BODY:
            if (avail < rx->need) {
                if (!rx->eof)
                    return PH_FRAME_NONE;
                snprintf(err, errlen, "input ended %llu bytes into a %llu-byte message",
                         (unsigned long long)avail, (unsigned long long)rx->need);
                rx->start = rx->len;
                rx->state = LSP_HEADER;
                return PH_FRAME_ERROR;
            }
            *body = rx->buf + rx->start;
            *len = (size_t)rx->need;
            rx->start += (size_t)rx->need;
            rx->state = LSP_HEADER;
            return PH_FRAME_MSG;
        default:
            break;
        }
        /* LSP_HEADER. Blank bytes between frames are tolerated: some clients
         * end a body with a newline. */
        if (rx->scan == 0)
            while (rx->start < rx->len && is_blank(rx->buf[rx->start]))
                rx->start++;
        avail = rx->len - rx->start;
        const char *h = rx->buf + rx->start;
        size_t limit = avail < PH_FRAME_MAX_HEADER ? avail : PH_FRAME_MAX_HEADER;
        size_t end = 0;
        for (size_t i = rx->scan; i < limit; i++) {
            unsigned char c = (unsigned char)h[i];
            if (c == '\n') {
                if (i == 0 || h[i - 1] != '\r')
                    return lsp_error(rx, rx->start + i + 1, err, errlen,
                                     "header line not ended by \\r\\n");
                if (i >= 3 && h[i - 2] == '\n' && h[i - 3] == '\r') {
                    end = i + 1;
                    break;
                }
            } else if (i > 0 && h[i - 1] == '\r') {
                return lsp_error(rx, rx->start + i, err, errlen, "stray \\r in header");
            } else if (c != '\r' && c != '\t' && (c < 0x20 || c >= 0x7f)) {
                return lsp_error(rx, rx->start + i + 1, err, errlen,
                                 "control or non-ASCII byte in header");
            }
            rx->scan = i + 1;
        }
        if (end == 0) {
            if (avail >= PH_FRAME_MAX_HEADER) {
                snprintf(err, errlen, "header block larger than %d bytes", PH_FRAME_MAX_HEADER);
                return lsp_error(rx, rx->start + 1, err, errlen, NULL);
            }
            if (rx->eof && avail > 0) {
                snprintf(err, errlen, "input ended inside a header");
                rx->start = rx->len;
                rx->scan = 0;
                return PH_FRAME_ERROR;
            }
            return PH_FRAME_NONE;
        }
        uint64_t clen = 0;
        int rc = parse_header(rx, h, end - 4, &clen, err, errlen);
        rx->start += end;
        rx->scan = 0;
        if (rc < 0)
            return lsp_error(rx, rx->start, err, errlen, NULL);
        rx->need = clen;
        rx->state = rc == 0 ? LSP_BODY : LSP_SKIP;
        if (rc > 0)
            return PH_FRAME_ERROR;
    }
}

static enum ph_frame_result line_next(ph_frame_rx *rx, const char **body, size_t *len, char *err,
                                      size_t errlen)
{
    for (;;) {
        char *from = rx->buf + rx->start + rx->scan;
        char *nl = memchr(from, '\n', rx->len - rx->start - rx->scan);
        if (!nl) {
            size_t avail = rx->len - rx->start;
            if (rx->discarding) {
                rx->start = rx->len;
                rx->scan = 0;
                return PH_FRAME_NONE;
            }
            if (avail > rx->max) {
                /* Reported once; the rest of the line is skipped unseen. */
                snprintf(err, errlen, "message larger than --max-message (%zu)", rx->max);
                rx->discarding = 1;
                rx->start = rx->len;
                rx->scan = 0;
                return PH_FRAME_ERROR;
            }
            if (!rx->eof || avail == 0) {
                rx->scan = avail;
                return PH_FRAME_NONE;
            }
            nl = rx->buf + rx->len; /* the unterminated last line */
        }
        const char *b = rx->buf + rx->start;
        size_t n = (size_t)(nl - b);
        int skip = rx->discarding;
        rx->discarding = 0;
        rx->start += n + (nl < rx->buf + rx->len);
        rx->scan = 0;
        if (!skip && n > rx->max) {
            snprintf(err, errlen, "message larger than --max-message (%zu)", rx->max);
            return PH_FRAME_ERROR;
        }
        while (n > 0 && (b[n - 1] == '\r' || b[n - 1] == ' ' || b[n - 1] == '\t'))
            n--;
        if (skip || n == 0)
            continue;
        *body = b;
        *len = n;
        return PH_FRAME_MSG;
    }
}

/* Decides AUTO from the first non-blank bytes. Returns 0 while undecided. */
static int detect(ph_frame_rx *rx)
{
    /* Leading blanks mean nothing in either framing; dropping them keeps a
     * stream of blanks from piling up while undecided. */
    while (rx->start < rx->len && is_blank(rx->buf[rx->start]))
        rx->start++;
    static const char prefix[] = "content-";
    size_t avail = rx->len - rx->start, want = sizeof prefix - 1;
    size_t n = avail < want ? avail : want;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)rx->buf[rx->start + i]) != prefix[i]) {
            rx->mode = PH_FRAMING_LINE;
            return 1;
        }
    if (n == want) {
        rx->mode = PH_FRAMING_LSP;
        return 1;
    }
    if (rx->eof) {
        rx->mode = PH_FRAMING_LINE;
        return 1;
    }
    return 0;
}

enum ph_frame_result ph_frame_rx_next(ph_frame_rx *rx, const char **body, size_t *len, char *err,
                                      size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (rx->mode == PH_FRAMING_AUTO && !detect(rx))
        return PH_FRAME_NONE;
    if (!rx->buf)
        return PH_FRAME_NONE;
    if (rx->mode == PH_FRAMING_LSP)
        return lsp_next(rx, body, len, err, errlen);
    return line_next(rx, body, len, err, errlen);
}

int ph_frame_rx_buffered(const ph_frame_rx *rx)
{
    return rx->start < rx->len;
}

enum ph_framing ph_frame_rx_mode(const ph_frame_rx *rx)
{
    return rx->mode == PH_FRAMING_LSP ? PH_FRAMING_LSP : PH_FRAMING_LINE;
}
