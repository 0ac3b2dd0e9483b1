/*
 * jscan: see jscan.h. RFC 8259's grammar, written out once, one function
 * per production. Each function either consumes exactly its production
 * and returns PH_JSCAN_OK, or returns why not; nothing is read past end.
 */
#include "jscan.h"

#include <string.h>

struct scan {
    const unsigned char *p, *end;
    int ws; /* whitespace seen inside the value */
};

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && is_ws(*s->p))
        s->p++;
    if (s->p != start)
        s->ws = 1;
}

static int hex4(const unsigned char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

/* One \uXXXX escape (and its low half when it is a high surrogate). p is
 * at the 'u'. */
static enum ph_jscan_result unicode_escape(struct scan *s)
{
    unsigned v, lo;
    if (s->end - s->p < 5 || hex4(s->p + 1, &v) < 0)
        return PH_JSCAN_INVALID;
    s->p += 5;
    if (v == 0)
        return PH_JSCAN_UNSURE; /* jansson refuses it unless told otherwise */
    if (v >= 0xDC00 && v <= 0xDFFF)
        return PH_JSCAN_INVALID; /* a low half alone */
    if (v < 0xD800 || v > 0xDBFF)
        return PH_JSCAN_OK;
    if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) < 0 ||
        lo < 0xDC00 || lo > 0xDFFF)
        return PH_JSCAN_INVALID; /* a high half without its low half */
    s->p += 6;
    return PH_JSCAN_OK;
}

/* One UTF-8 sequence of two to four bytes, RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF. p is at the lead byte. */
static enum ph_jscan_result utf8_seq(struct scan *s)
{
    unsigned char c = s->p[0];
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return PH_JSCAN_INVALID;
    if ((size_t)(s->end - s->p) < n || s->p[1] < lo || s->p[1] > hi)
        return PH_JSCAN_INVALID;
    for (size_t i = 2; i < n; i++)
        if (s->p[i] < 0x80 || s->p[i] > 0xBF)
            return PH_JSCAN_INVALID;
    s->p += n;
    return PH_JSCAN_OK;
}

/* A string; p is at the opening quote. *escaped says whether it holds an
 * escape (its bytes then differ from its value). */
static enum ph_jscan_result string(struct scan *s, int *escaped)
{
    *escaped = 0;
    s->p++;
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return PH_JSCAN_OK;
        }
        if (c < 0x20)
            return PH_JSCAN_INVALID;
        if (c < 0x80 && c != '\\') {
            s->p++;
            continue;
        }
        enum ph_jscan_result r;
        if (c == '\\') {
            *escaped = 1;
            if (s->end - s->p < 2)
                return PH_JSCAN_INVALID;
            s->p++;
            if (*s->p == 'u') {
                r = unicode_escape(s);
            } else if (*s->p && strchr("\"\\/bfnrt", *s->p)) {
                s->p++;
                r = PH_JSCAN_OK;
            } else {
                r = PH_JSCAN_INVALID;
            }
        } else {
            r = utf8_seq(s);
        }
        if (r != PH_JSCAN_OK)
            return r;
    }
    return PH_JSCAN_INVALID; /* unterminated */
}

static size_t digits(struct scan *s)
{
    const unsigned char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return (size_t)(s->p - start);
}

/* A number. jansson holds an integer in a long long and a real in a
 * double and refuses what overflows them; up to 18 integer digits and a
 * two-digit exponent can overflow neither, anything longer is left to it. */
static enum ph_jscan_result number(struct scan *s, enum ph_jscan_kind *kind)
{
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return PH_JSCAN_INVALID;
    size_t int_digits;
    if (*s->p == '0') {
        s->p++;
        int_digits = 1;
    } else {
        int_digits = digits(s);
    }
    *kind = PH_JS_INTEGER;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) == 0)
            return PH_JSCAN_INVALID;
        *kind = PH_JS_REAL;
    }
    size_t exp_digits = 0;
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if ((exp_digits = digits(s)) == 0)
            return PH_JSCAN_INVALID;
        *kind = PH_JS_REAL;
    }
    if (int_digits > 18 || exp_digits > 2)
        return PH_JSCAN_UNSURE;
    return PH_JSCAN_OK;
}

static enum ph_jscan_result literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return PH_JSCAN_INVALID;
    s->p += n;
    return PH_JSCAN_OK;
}

static enum ph_jscan_result value(struct scan *s, int depth, struct ph_jscan_span *out,
                                  struct ph_jscan_member *members, size_t max, size_t *count);

/* Steps over a container's opening byte and the whitespace after it;
 * 1 when the container closes at once (and is consumed). */
static int opened_empty(struct scan *s, unsigned char close)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    return 0;
}

/* After a member or an element: 1 when the container closes (consumed),
 * 0 past a comma and its whitespace (another item follows), -1 for
 * anything else. */
static int after_item(struct scan *s, unsigned char close)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    if (*s->p == close) {
        s->p++;
        return 1;
    }
    if (*s->p != ',')
        return -1;
    s->p++;
    skip_ws(s);
    return 0;
}

/* Members seen so far in one object, to refuse a key given twice. */
struct keys {
    const unsigned char *key[PH_JSCAN_MAX_KEYS];
    size_t len[PH_JSCAN_MAX_KEYS];
    size_t n;
};

static enum ph_jscan_result object(struct scan *s, int depth, struct ph_jscan_member *members,
                                   size_t max, size_t *count)
{
    struct keys k;
    k.n = 0;
    if (opened_empty(s, '}'))
        return PH_JSCAN_OK;
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return PH_JSCAN_INVALID;
        const unsigned char *key = s->p + 1;
        int escaped;
        enum ph_jscan_result r = string(s, &escaped);
        if (r != PH_JSCAN_OK)
            return r;
        size_t key_len = (size_t)(s->p - 1 - key);
        /* An escaped key could equal another written differently; and a
         * big object would make the pairwise check costly. */
        if (escaped || k.n == PH_JSCAN_MAX_KEYS)
            return PH_JSCAN_UNSURE;
        for (size_t i = 0; i < k.n; i++)
            if (k.len[i] == key_len && memcmp(k.key[i], key, key_len) == 0)
                return PH_JSCAN_INVALID;
        k.key[k.n] = key;
        k.len[k.n++] = key_len;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return PH_JSCAN_INVALID;
        s->p++;
        skip_ws(s);
        struct ph_jscan_span v;
        r = value(s, depth + 1, &v, NULL, 0, NULL);
        if (r != PH_JSCAN_OK)
            return r;
        if (members) {
            if (*count == max)
                return PH_JSCAN_UNSURE;
            members[*count] = (struct ph_jscan_member){(const char *)key, key_len, v};
            (*count)++;
        }
        int next = after_item(s, '}');
        if (next != 0)
            return next > 0 ? PH_JSCAN_OK : PH_JSCAN_INVALID;
    }
}

static enum ph_jscan_result array(struct scan *s, int depth)
{
    if (opened_empty(s, ']'))
        return PH_JSCAN_OK;
    for (;;) {
        enum ph_jscan_result r = value(s, depth + 1, NULL, NULL, 0, NULL);
        if (r != PH_JSCAN_OK)
            return r;
        int next = after_item(s, ']');
        if (next != 0)
            return next > 0 ? PH_JSCAN_OK : PH_JSCAN_INVALID;
    }
}

/* One value starting at p (no whitespace before it). members, when not
 * NULL, collects the members of this value, which must be an object. */
static enum ph_jscan_result value(struct scan *s, int depth, struct ph_jscan_span *out,
                                  struct ph_jscan_member *members, size_t max, size_t *count)
{
    if (depth > PH_JSCAN_MAX_DEPTH)
        return PH_JSCAN_UNSURE;
    if (s->p >= s->end)
        return PH_JSCAN_INVALID;
    const unsigned char *start = s->p;
    enum ph_jscan_kind kind;
    enum ph_jscan_result r;
    int escaped;
    if (members && *s->p != '{')
        return PH_JSCAN_UNSURE; /* maybe JSON, but not the object asked for */
    switch (*s->p) {
    case '{':
        kind = PH_JS_OBJECT;
        r = object(s, depth, members, max, count);
        break;
    case '[':
        kind = PH_JS_ARRAY;
        r = array(s, depth);
        break;
    case '"':
        kind = PH_JS_STRING;
        r = string(s, &escaped);
        break;
    case 't':
        kind = PH_JS_TRUE;
        r = literal(s, "true");
        break;
    case 'f':
        kind = PH_JS_FALSE;
        r = literal(s, "false");
        break;
    case 'n':
        kind = PH_JS_NULL;
        r = literal(s, "null");
        break;
    default:
        r = number(s, &kind);
        break;
    }
    if (r == PH_JSCAN_OK && out)
        *out = (struct ph_jscan_span){(const char *)start, (size_t)(s->p - start), kind};
    return r;
}

/* The whole text is one value: whitespace may surround it, nothing else. */
static enum ph_jscan_result whole(const char *text, size_t len, struct ph_jscan_span *out,
                                  struct ph_jscan_member *members, size_t max, size_t *n, int *ws)
{
    struct scan s = {(const unsigned char *)text, (const unsigned char *)text + len, 0};
    struct ph_jscan_span v;
    if (n)
        *n = 0;
    while (s.p < s.end && is_ws(*s.p))
        s.p++;
    enum ph_jscan_result r = value(&s, 1, &v, members, max, n);
    if (r != PH_JSCAN_OK)
        return r;
    while (s.p < s.end && is_ws(*s.p))
        s.p++;
    if (s.p != s.end)
        return PH_JSCAN_INVALID;
    if (out)
        *out = v;
    if (ws)
        *ws = s.ws;
    return PH_JSCAN_OK;
}

enum ph_jscan_result ph_jscan_value(const char *text, size_t len, struct ph_jscan_span *out,
                                    int *ws)
{
    return whole(text, len, out, NULL, 0, NULL, ws);
}

enum ph_jscan_result ph_jscan_object(const char *text, size_t len, struct ph_jscan_member *members,
                                     size_t max, size_t *n, int *ws)
{
    size_t count = 0;
    enum ph_jscan_result r = whole(text, len, NULL, members, max, &count, ws);
    *n = r == PH_JSCAN_OK ? count : 0;
    return r;
}

size_t ph_jscan_compact(const char *text, size_t len, char *out)
{
    size_t o = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
        } else if (is_ws(c)) {
            continue;
        } else if (c == '"') {
            in_string = 1;
        }
        out[o++] = (char)c;
    }
    return o;
}

const struct ph_jscan_span *ph_jscan_get(const struct ph_jscan_member *members, size_t n,
                                         const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (members[i].key_len == kl && memcmp(members[i].key, key, kl) == 0)
            return &members[i].value;
    return NULL;
}

int ph_jscan_is_string(const struct ph_jscan_span *span, const char *s)
{
    size_t n = strlen(s);
    return span && span->kind == PH_JS_STRING && span->len == n + 2 &&
           memcmp(span->text + 1, s, n) == 0;
}
