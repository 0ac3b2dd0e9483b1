/*
 * test_bad_inputs: the wire parser against a public corpus of JSON edge
 * cases, and the JSON-RPC checks against hand-written bad messages.
 *
 * usage: test_bad_inputs SUITE_DIR|- CASES_DIR
 * SUITE_DIR is JSONTestSuite's test_parsing ("-" when absent: skipped).
 * CASES_DIR holds NAME.json files, each with NAME.expect: a substring the
 * error must contain (the parse error if the text is not JSON, else the
 * classify error). Every case must be refused.
 */
#include "check.h"
#include "wire.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir that start with prefix and end with suffix. */
static char **list_dir(const char *dir, const char *prefix, const char *suffix, size_t *count)
{
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t n = 0;
    *count = 0;
    if (!d)
        return NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), pl = strlen(prefix), sl = strlen(suffix);
        if (l < pl + sl || strncmp(de->d_name, prefix, pl) != 0 ||
            strcmp(de->d_name + l - sl, suffix) != 0)
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

static void free_list(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Valid JSON that ph_wire_parse refuses on purpose, as wire.h documents:
 * duplicate keys (two readers could disagree on the value) and NUL in
 * strings (a C reader would see a shorter string). */
static const char *const deliberate[] = {
    "y_object_duplicated_key.json",
    "y_object_duplicated_key_and_value.json",
    "y_object_escaped_null_in_key.json",
    "y_string_null_escape.json",
};

static int is_deliberate(const char *name)
{
    for (size_t i = 0; i < sizeof deliberate / sizeof deliberate[0]; i++)
        if (strcmp(name, deliberate[i]) == 0)
            return 1;
    return 0;
}

static void run_suite(const char *dir)
{
    size_t n;
    char **names;
    char err[400];
    int n_total = 0, y_total = 0, i_accept = 0, i_reject = 0, y_deliberate = 0;

    names = list_dir(dir, "n_", ".json", &n);
    CHECKF(n > 0, "no n_*.json in %s", dir);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *text = slurp(dir, names[i], &len);
        CHECKF(text != NULL, "cannot read %s", names[i]);
        if (!text)
            continue;
        err[0] = '\0';
        json_t *v = ph_wire_parse(text, len, err, sizeof err);
        CHECKF(v == NULL, "%s: invalid JSON accepted", names[i]);
        CHECKF(v != NULL || err[0] != '\0', "%s: refused without an error text", names[i]);
        /* The reason may quote the input: only escaped, so that a report
         * built from it (JSON, a terminal line) never fails or acts. */
        int printable = 1;
        for (const char *c = err; *c; c++)
            printable &= *c >= 0x20 && *c < 0x7f;
        CHECKF(printable, "%s: error text with raw bytes of the input: %s", names[i], err);
        json_decref(v);
        free(text);
        n_total++;
    }
    free_list(names, n);

    names = list_dir(dir, "y_", ".json", &n);
    CHECKF(n > 0, "no y_*.json in %s", dir);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *text = slurp(dir, names[i], &len);
        if (!text)
            continue;
        err[0] = '\0';
        json_t *v = ph_wire_parse(text, len, err, sizeof err);
        if (!v && is_deliberate(names[i])) {
            printf("y (refused by design) %s: %s\n", names[i], err);
            y_deliberate++;
        } else {
            CHECKF(v != NULL, "%s: valid JSON refused: %s", names[i], err);
        }
        if (v) {
            /* What the host re-encodes must read back the same. */
            size_t elen = 0;
            char *enc = ph_wire_encode(v, &elen);
            json_t *back = enc ? ph_wire_parse(enc, elen, err, sizeof err) : NULL;
            CHECKF(back && json_equal(back, v), "%s: does not round-trip (%s)", names[i],
                   enc ? enc : "encode failed");
            json_decref(back);
            free(enc);
        }
        json_decref(v);
        free(text);
        y_total++;
    }
    free_list(names, n);

    /* Implementation-defined: either answer is fine; only report. */
    names = list_dir(dir, "i_", ".json", &n);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *text = slurp(dir, names[i], &len);
        if (!text)
            continue;
        err[0] = '\0';
        json_t *v = ph_wire_parse(text, len, err, sizeof err);
        printf("i %-8s %s%s%s\n", v ? "accepted" : "refused", names[i], v ? "" : ": ",
               v ? "" : err);
        if (v)
            i_accept++;
        else
            i_reject++;
        json_decref(v);
        free(text);
    }
    free_list(names, n);
    printf("suite: %d n_ files, %d y_ files (%d refused by design), i_: %d accepted, %d "
           "refused\n",
           n_total, y_total, y_deliberate, i_accept, i_reject);
}

static void run_cases(const char *dir)
{
    size_t n;
    char **names = list_dir(dir, "", ".json", &n);
    CHECKF(n > 0, "no *.json cases in %s", dir);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0, elen = 0;
        char *text = slurp(dir, names[i], &len);
        char ename[512];
        snprintf(ename, sizeof ename, "%.*s.expect", (int)(strlen(names[i]) - 5), names[i]);
        char *expect = slurp(dir, ename, &elen);
        CHECKF(text && expect, "%s: cannot read it or its .expect", names[i]);
        if (!text || !expect) {
            free(text);
            free(expect);
            continue;
        }
        while (elen > 0 && (expect[elen - 1] == '\n' || expect[elen - 1] == '\r'))
            expect[--elen] = '\0';
        /* A case file holds one line: the message as a client would send it. */
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            len--;
        char err[400] = "";
        const char *stage = "parse";
        json_t *v = ph_wire_parse(text, len, err, sizeof err);
        int refused = v == NULL;
        if (v) {
            ph_wire_msg m;
            stage = "classify";
            refused = ph_wire_classify(v, &m, err, sizeof err) < 0;
        }
        CHECKF(refused, "%s: accepted", names[i]);
        CHECKF(!refused || strstr(err, expect) != NULL, "%s: %s error \"%s\" lacks \"%s\"",
               names[i], stage, err, expect);
        printf("case %s: %s: %s\n", names[i], stage, err);
        json_decref(v);
        free(text);
        free(expect);
    }
    free_list(names, n);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SUITE_DIR|- CASES_DIR\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "-") == 0)
        printf("note: JSONTestSuite not found, corpus checks skipped\n");
    else
        run_suite(argv[1]);
    run_cases(argv[2]);
    return ph_t_summary("test_bad_inputs");
}
