/*
 * test_jscan: the byte scanner's one promise, that whatever it accepts
 * jansson (through ph_wire_parse) accepts too and reads the same way, and
 * whatever it calls invalid jansson refuses. Checked on a table of edge
 * cases with the answer each must get, then differentially on every file
 * of JSONTestSuite's test_parsing.
 *
 * usage: test_jscan SUITE_DIR|-
 * Every input is copied to an allocation of exactly its length, with no
 * NUL after it, so a sanitizer build sees any read past the end.
 */
#include "check.h"
#include "jscan.h"
#include "wire.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define OK PH_JSCAN_OK
#define BAD PH_JSCAN_INVALID
#define UNSURE PH_JSCAN_UNSURE

static const struct {
    const char *text;
    int want;
    char kind; /* when OK; 0: not checked */
    int ws;    /* when OK */
} cases[] = {
    {"{}", OK, '{', 0},
    {"[]", OK, '[', 0},
    {" \t\r\n[1] \n", OK, '[', 0}, /* whitespace around the value is not inside it */
    {"[1, 2]", OK, '[', 1},
    {"[1,\n2]", OK, '[', 1},
    {"\"abc\"", OK, '"', 0},
    {"0", OK, 'i', 0},
    {"-0", OK, 'i', 0},
    {"123456789012345678", OK, 'i', 0},     /* 18 digits */
    {"1234567890123456789", UNSURE, 0, 0},  /* 19: jansson may not hold it */
    {"-1234567890123456789", UNSURE, 0, 0}, /* likewise */
    {"1.5", OK, 'r', 0},
    {"-0.25e-10", OK, 'r', 0},
    {"1E+99", OK, 'r', 0},
    {"1e100", UNSURE, 0, 0},
    {"1e400", UNSURE, 0, 0}, /* jansson: real number overflow */
    {"true", OK, 't', 0},
    {"false", OK, 'f', 0},
    {"null", OK, 'n', 0},
    {"", BAD, 0, 0},
    {"   ", BAD, 0, 0},
    {"01", BAD, 0, 0},
    {"1.", BAD, 0, 0},
    {".5", BAD, 0, 0},
    {"-", BAD, 0, 0},
    {"+1", BAD, 0, 0},
    {"1e", BAD, 0, 0},
    {"1e+", BAD, 0, 0},
    {"tru", BAD, 0, 0},
    {"truex", BAD, 0, 0},
    {"nul", BAD, 0, 0},
    {"[1,]", BAD, 0, 0},
    {"[,1]", BAD, 0, 0},
    {"[1 2]", BAD, 0, 0},
    {"{\"a\":1,}", BAD, 0, 0},
    {"{\"a\" 1}", BAD, 0, 0},
    {"{a:1}", BAD, 0, 0},
    {"{\"a\":}", BAD, 0, 0},
    {"[1]]", BAD, 0, 0},
    {"[1] x", BAD, 0, 0},
    {"[", BAD, 0, 0},
    {"{\"a\":[1,{\"b\":2}]", BAD, 0, 0},
    {"\"abc", BAD, 0, 0},
    {"\"a\tb\"", BAD, 0, 0},     /* raw control character */
    {"\"\\x\"", BAD, 0, 0},      /* unknown escape */
    {"\"\\u12\"", BAD, 0, 0},    /* short escape */
    {"\"\\u00e9\"", OK, '"', 0}, /* escapes in values are fine */
    {"\"\\n\\\\\\\"\\/\"", OK, '"', 0},
    {"\"\\u0000\"", UNSURE, 0, 0},                      /* jansson refuses it by default */
    {"\"\\ud83d\\ude00\"", OK, '"', 0},                 /* a surrogate pair */
    {"\"\\ud83d\"", BAD, 0, 0},                         /* high half alone */
    {"\"\\ud83dx\"", BAD, 0, 0},                        /* high half, then not an escape */
    {"\"\\ude00\"", BAD, 0, 0},                         /* low half alone */
    {"\"\\ud83d\\u0041\"", BAD, 0, 0},                  /* high half, then not a low half */
    {"\"\xc3\xa9\"", OK, '"', 0},                       /* U+00E9 */
    {"\"\xe2\x82\xac\"", OK, '"', 0},                   /* U+20AC */
    {"\"\xf0\x9f\x98\x80\"", OK, '"', 0},               /* U+1F600 */
    {"\"\xf4\x8f\xbf\xbf\"", OK, '"', 0},               /* U+10FFFF */
    {"\"\xc0\x80\"", BAD, 0, 0},                        /* overlong NUL */
    {"\"\xc1\xbf\"", BAD, 0, 0},                        /* overlong */
    {"\"\xe0\x80\xaf\"", BAD, 0, 0},                    /* overlong */
    {"\"\xf0\x80\x80\xaf\"", BAD, 0, 0},                /* overlong */
    {"\"\xed\xa0\x80\"", BAD, 0, 0},                    /* a surrogate in UTF-8 */
    {"\"\xf4\x90\x80\x80\"", BAD, 0, 0},                /* above U+10FFFF */
    {"\"\xf5\x80\x80\x80\"", BAD, 0, 0},                /* no such lead byte */
    {"\"\x80\"", BAD, 0, 0},                            /* a continuation alone */
    {"\"\xc3\"", BAD, 0, 0},                            /* truncated before the quote */
    {"\"\xe2\x82\"", BAD, 0, 0},                        /* truncated */
    {"\xef\xbb\xbf[]", BAD, 0, 0},                      /* a BOM is not JSON */
    {"{\"a\":1,\"a\":2}", BAD, 0, 0},                   /* duplicate key */
    {"[{\"x\":{\"a\":1,\"b\":2,\"a\":3}}]", BAD, 0, 0}, /* duplicate, nested */
    {"{\"a\":1,\"b\":{\"a\":2}}", OK, '{', 0},          /* same key, other objects */
    {"{\"\\u0061\":1}", UNSURE, 0, 0},                  /* escaped key: left to jansson */
    {"{\"a\":1,\"\\u0061\":2}", UNSURE, 0, 0},          /* which is how it catches this one */
    {"{\"\":1}", OK, '{', 0},
};

/* A copy of exactly len bytes, nothing after it. */
static char *exact(const char *text, size_t len)
{
    char *c = malloc(len ? len : 1);
    if (c && len)
        memcpy(c, text, len);
    return c;
}

static char kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return '{';
    case JSON_ARRAY:
        return '[';
    case JSON_STRING:
        return '"';
    case JSON_INTEGER:
        return 'i';
    case JSON_REAL:
        return 'r';
    case JSON_TRUE:
        return 't';
    case JSON_FALSE:
        return 'f';
    case JSON_NULL:
        return 'n';
    }
    return '?';
}

static int unsure_seen, ok_seen, bad_seen;

/* The promise itself, for any input. Returns the scanner's answer. */
static int differential(const char *name, const char *text, size_t len)
{
    char *c = exact(text, len);
    struct ph_jscan_span sp;
    int ws;
    int r = ph_jscan_value(c, len, &sp, &ws);
    char err[300];
    json_t *v = ph_wire_parse(c, len, err, sizeof err);
    if (r == OK) {
        ok_seen++;
        CHECKF(v != NULL, "%s: scanner accepts, jansson refuses: %s", name, err);
        if (v) {
            CHECKF(kind_of(v) == (char)sp.kind, "%s: kind %c, jansson %c", name, (char)sp.kind,
                   kind_of(v));
            /* The span alone is the same value. */
            json_t *w = ph_wire_parse(sp.text, sp.len, err, sizeof err);
            CHECKF(w && json_equal(v, w), "%s: the span reads differently", name);
            json_decref(w);
        }
        CHECKF(sp.text >= c && sp.text + sp.len <= c + len, "%s: span outside the text", name);
        /* Compacted, it is the same value with no whitespace left. */
        char *comp = malloc(sp.len ? sp.len : 1);
        if (comp && v) {
            size_t cl = ph_jscan_compact(sp.text, sp.len, comp);
            int cws = 1;
            json_t *w = ph_wire_parse(comp, cl, err, sizeof err);
            CHECKF(cl <= sp.len && ph_jscan_value(comp, cl, NULL, &cws) == OK && cws == 0 && w &&
                       json_equal(v, w),
                   "%s: compact copy differs", name);
            json_decref(w);
        }
        free(comp);
    } else if (r == BAD) {
        bad_seen++;
        CHECKF(v == NULL, "%s: scanner refuses, jansson accepts", name);
    } else {
        unsure_seen++;
        CHECKF(r == UNSURE, "%s: unknown answer %d", name, r);
    }
    json_decref(v);
    free(c);
    return r;
}

static void table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);
        char *c = exact(t, len);
        struct ph_jscan_span sp = {0};
        int ws = -1;
        int r = ph_jscan_value(c, len, &sp, &ws);
        CHECKF(r == cases[i].want, "case %zu %s: got %d, want %d", i, t, r, cases[i].want);
        if (r == OK && cases[i].want == OK) {
            if (cases[i].kind)
                CHECKF((char)sp.kind == cases[i].kind, "case %zu %s: kind %c", i, t, sp.kind);
            CHECKF(ws == cases[i].ws, "case %zu %s: ws %d", i, t, ws);
        }
        free(c);
        differential(t, t, len);
    }
}

static void nesting(void)
{
    char buf[2 * PH_JSCAN_MAX_DEPTH + 4];
    size_t n;
    for (n = 0; n < PH_JSCAN_MAX_DEPTH; n++)
        buf[n] = '[';
    for (size_t i = 0; i < PH_JSCAN_MAX_DEPTH; i++)
        buf[n++] = ']';
    CHECK(differential("max depth", buf, n) == OK);
    memmove(buf + 1, buf, n);
    buf[0] = '[';
    buf[++n] = ']';
    n++;
    CHECK(differential("max depth + 1", buf, n) == UNSURE);
}

static void keys(void)
{
    char buf[1024];
    size_t n = 0;
    buf[n++] = '{';
    for (int i = 0; i < PH_JSCAN_MAX_KEYS; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    buf[n++] = '}';
    CHECK(differential("max keys", buf, n) == OK);
    n--;
    n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"more\":1}");
    CHECK(differential("max keys + 1", buf, n) == UNSURE);
}

static void members(void)
{
    const char *t =
        "{ \"jsonrpc\": \"2.0\", \"id\": 7, \"method\": \"a.b\", \"params\": [1, {\"x\": "
        "\"\\u00e9\"}] }";
    struct ph_jscan_member m[8];
    size_t n = 99;
    int ws = 0;
    CHECK(ph_jscan_object(t, strlen(t), m, 8, &n, &ws) == OK);
    CHECK(n == 4 && ws == 1);
    CHECK(ph_jscan_is_string(ph_jscan_get(m, n, "jsonrpc"), "2.0"));
    CHECK(!ph_jscan_is_string(ph_jscan_get(m, n, "jsonrpc"), "2"));
    const struct ph_jscan_span *id = ph_jscan_get(m, n, "id");
    CHECK(id && id->kind == PH_JS_INTEGER && id->len == 1 && id->text[0] == '7');
    const struct ph_jscan_span *p = ph_jscan_get(m, n, "params");
    CHECK(p && p->kind == PH_JS_ARRAY && p->len == strlen("[1, {\"x\": \"\\u00e9\"}]"));
    CHECK(ph_jscan_get(m, n, "result") == NULL);
    CHECK(ph_jscan_object(t, strlen(t), m, 3, &n, NULL) == UNSURE && n == 0); /* no room */
    CHECK(ph_jscan_object("[1]", 3, m, 8, &n, NULL) == UNSURE && n == 0);     /* not an object */
    CHECK(ph_jscan_object("{\"a\":1,\"a\":1}", 13, m, 8, &n, NULL) == BAD && n == 0);
    CHECK(ph_jscan_object("{\"a\":1} x", 9, m, 8, &n, NULL) == BAD);
}

static void suite(const char *dir)
{
    DIR *d = opendir(dir);
    CHECKF(d != NULL, "cannot open %s", dir);
    if (!d)
        return;
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(d))) {
        size_t nl = strlen(e->d_name);
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        char *buf = malloc(1 << 20);
        size_t len = buf ? fread(buf, 1, 1 << 20, f) : 0;
        fclose(f);
        if (!buf)
            continue;
        files++;
        int r = differential(e->d_name, buf, len);
        /* JSONTestSuite's y_ files are valid JSON: never "invalid", but for
         * duplicate keys, which plughost refuses on purpose (wire.h). */
        if (e->d_name[0] == 'y' && !strstr(e->d_name, "duplicated_key"))
            CHECKF(r != BAD, "%s: valid JSON called invalid", e->d_name);
        free(buf);
    }
    closedir(d);
    CHECKF(files > 300, "only %zu suite files", files);
    printf("suite: %zu files\n", files);
}

int main(int argc, char **argv)
{
    table();
    nesting();
    keys();
    members();
    if (argc > 1 && strcmp(argv[1], "-") != 0)
        suite(argv[1]);
    printf("scanner answers: %d ok, %d invalid, %d unsure (left to jansson)\n", ok_seen, bad_seen,
           unsure_seen);
    return ph_t_summary("test_jscan");
}
