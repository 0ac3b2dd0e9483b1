/*
 * textstats: real work on its input. textstats.stats counts characters
 * (UTF-8 code points), bytes, words, lines and the most frequent words;
 * textstats.calc evaluates an arithmetic expression (+ - * / and
 * parentheses) without ever calling eval-like machinery.
 */
#include <plughost/sdk.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static json_t *stats(ph_ctx *ctx, json_t *params)
{
    const char *text;
    if (ph_param_string(ctx, params, "text", 0, &text) < 0)
        return NULL;
    size_t bytes = strlen(text), chars = 0, words = 0, lines = 0;
    json_t *freq = json_object();
    const char *p = text;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80)) {
            if (*p == '\n')
                lines++;
            p++;
        }
        const char *start = p;
        while (*p && (isalnum((unsigned char)*p) || ((unsigned char)*p & 0x80)))
            p++;
        if (p > start) {
            words++;
            char word[64];
            size_t n =
                (size_t)(p - start) < sizeof word - 1 ? (size_t)(p - start) : sizeof word - 1;
            for (size_t i = 0; i < n; i++)
                word[i] = (char)tolower((unsigned char)start[i]);
            word[n] = '\0';
            json_t *c = json_object_get(freq, word);
            json_object_set_new(freq, word, json_integer(c ? json_integer_value(c) + 1 : 1));
        }
    }
    for (const unsigned char *q = (const unsigned char *)text; *q; q++)
        if ((*q & 0xC0) != 0x80)
            chars++;
    if (bytes > 0 && text[bytes - 1] != '\n')
        lines++;
    /* The three most frequent words, ties broken alphabetically. */
    json_t *top = json_array();
    for (int k = 0; k < 3; k++) {
        const char *best = NULL, *key;
        json_int_t best_n = 0;
        json_t *v;
        json_object_foreach(freq, key, v)
        {
            json_int_t n = json_integer_value(v);
            if (n > best_n || (n == best_n && best && strcmp(key, best) < 0)) {
                best = key;
                best_n = n;
            }
        }
        if (!best)
            break;
        json_array_append_new(top, json_pack("{s:s,s:I}", "word", best, "count", best_n));
        json_object_del(freq, best);
    }
    json_decref(freq);
    return json_pack("{s:I,s:I,s:I,s:I,s:o}", "bytes", (json_int_t)bytes, "chars",
                     (json_int_t)chars, "words", (json_int_t)words, "lines", (json_int_t)lines,
                     "top", top);
}

/* A recursive-descent parser over a bounded depth, so a hostile expression
 * cannot exhaust the stack. */
struct parser {
    const char *s;
    int depth;
    const char *err;
};

static double expr(struct parser *p);

static void skip(struct parser *p)
{
    while (isspace((unsigned char)*p->s))
        p->s++;
}

static double factor(struct parser *p)
{
    skip(p);
    if (++p->depth > 64) {
        p->err = "expression nested too deeply";
        return 0;
    }
    double v = 0;
    if (*p->s == '(') {
        p->s++;
        v = expr(p);
        skip(p);
        if (*p->s != ')')
            p->err = "missing ')'";
        else
            p->s++;
    } else if (*p->s == '-') {
        p->s++;
        v = -factor(p);
    } else {
        char *end;
        v = strtod(p->s, &end);
        if (end == p->s)
            p->err = "number expected";
        p->s = end;
    }
    p->depth--;
    return v;
}

static double term(struct parser *p)
{
    double v = factor(p);
    for (;;) {
        skip(p);
        if (*p->s == '*') {
            p->s++;
            v *= factor(p);
        } else if (*p->s == '/') {
            p->s++;
            double d = factor(p);
            if (d == 0)
                p->err = "division by zero";
            else
                v /= d;
        } else {
            return v;
        }
    }
}

static double expr(struct parser *p)
{
    double v = term(p);
    for (;;) {
        skip(p);
        if (*p->s == '+') {
            p->s++;
            v += term(p);
        } else if (*p->s == '-') {
            p->s++;
            v -= term(p);
        } else {
            return v;
        }
    }
}

static json_t *calc(ph_ctx *ctx, json_t *params)
{
    const char *e;
    if (ph_param_string(ctx, params, "expr", 0, &e) < 0)
        return NULL;
    struct parser p = {.s = e};
    double v = expr(&p);
    skip(&p);
    if (!p.err && *p.s)
        p.err = "unexpected character";
    if (p.err)
        return ph_error_data(ctx, 1, json_pack("{s:i}", "offset", (int)(p.s - e)), "%s", p.err);
    return json_real(v);
}

static const ph_method methods[] = {
    {"stats", stats, "counts bytes, characters, words and lines; top words", "{text: string}"},
    {"calc", calc, "evaluates + - * / ( ) over numbers", "{expr: string}"},
    {0},
};

static const ph_params_schema schemas[] = {
    {"stats", "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
              "\"description\":\"the text to measure\"}},\"required\":[\"text\"],"
              "\"additionalProperties\":false}"},
    {"calc", "{\"type\":\"object\",\"properties\":{\"expr\":{\"type\":\"string\","
             "\"maxLength\":10000,\"description\":\"e.g. (1 + 2) * 3\"}},\"required\":[\"expr\"],"
             "\"additionalProperties\":false}"},
    {0},
};

PH_PLUGIN(.name = "textstats", .version = "1.0.0",
          .description = "text statistics and a small calculator", .methods = methods,
          .params_schemas = schemas);
