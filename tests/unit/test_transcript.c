/*
 * test_transcript: reading transcripts back (errors name the line) and the
 * comparison `plughost replay` reports, on hand-written transcripts.
 */
#include "check.h"
#include "transcript.h"

#include <stdlib.h>
#include <string.h>

#define HEADER "{\"plughost_transcript\":1,\"plughost\":\"0.1.0\",\"protocol\":1,\"plugins\":[]}\n"
#define HELLO(desc)                                                                                \
    "{\"seq\":1,\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"dir\":"           \
    "\"from_plugin\",\"msg\":{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{\"name\":"   \
    "\"echo\",\"version\":\"1\",\"methods\":[{\"name\":\"echo\",\"description\":\"" desc           \
    "\"}]}}}\n"
#define TO(seq, body)                                                                              \
    "{\"seq\":" #seq ",\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"dir\":"    \
    "\"to_plugin\",\"msg\":" body "}\n"
#define FROM(seq, body)                                                                            \
    "{\"seq\":" #seq ",\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"dir\":"    \
    "\"from_plugin\",\"msg\":" body "}\n"

static json_t *parse(const char *text)
{
    char why[512];
    json_t *t = ph_tr_parse(text, strlen(text), "t", why, sizeof why);
    CHECKF(t != NULL, "parse failed: %s", why);
    return t;
}

/* The formatted differences, joined by newlines (caller frees). */
static char *diff_text(const char *a, const char *b, const struct ph_tr_diff_opts *o)
{
    json_t *ta = parse(a), *tb = parse(b);
    json_t *d = ph_tr_diff(ta, tb, NULL, o);
    size_t cap = 8192, len = 0;
    char *out = calloc(1, cap);
    size_t i;
    json_t *e;
    json_array_foreach(d, i, e)
    {
        char line[1024];
        len += (size_t)snprintf(out + len, cap - len, "%s\n", ph_tr_format(e, line, sizeof line));
    }
    json_decref(d);
    json_decref(ta);
    json_decref(tb);
    return out;
}

#define CALL1 TO(2, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":[\"hi\"]}")
#define HOSTCALL(m) FROM(3, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" m "\"}")
#define HOSTANSWER TO(4, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":7}")
#define ANSWER(v) FROM(5, "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":" v "}")

int main(void)
{
    /* The same traffic: no difference. */
    const char *base =
        HEADER HELLO("d") CALL1 HOSTCALL("host.version") HOSTANSWER ANSWER("{\"words\":4}");
    char *s = diff_text(base, base, NULL);
    CHECKF(strcmp(s, "") == 0, "identical transcripts differ:\n%s", s);
    free(s);

    /* A changed result: one difference, with its path and both values. */
    const char *changed =
        HEADER HELLO("d") CALL1 HOSTCALL("host.version") HOSTANSWER ANSWER("{\"words\":5}");
    s = diff_text(base, changed, NULL);
    CHECKF(strcmp(s, "echo#3 echo.echo result.words: recorded 4, now 5\n") == 0, "got:\n%s", s);
    free(s);

    /* Ignored by path, by method scope, by call id; not by another method. */
    const char *ig1[] = {"result.words"};
    struct ph_tr_diff_opts o = {ig1, 1, 0};
    s = diff_text(base, changed, &o);
    CHECKF(strcmp(s, "") == 0, "--ignore result.words kept:\n%s", s);
    free(s);
    const char *ig2[] = {"echo.echo:result.*"};
    o = (struct ph_tr_diff_opts){ig2, 1, 0};
    s = diff_text(base, changed, &o);
    CHECKF(strcmp(s, "") == 0, "--ignore echo.echo:result.* kept:\n%s", s);
    free(s);
    const char *ig3[] = {"echo#3:result"};
    o = (struct ph_tr_diff_opts){ig3, 1, 0};
    s = diff_text(base, changed, &o);
    CHECKF(strcmp(s, "") == 0, "--ignore echo#3:result kept:\n%s", s);
    free(s);
    const char *ig4[] = {"other.echo:result"};
    o = (struct ph_tr_diff_opts){ig4, 1, 0};
    s = diff_text(base, changed, &o);
    CHECKF(strstr(s, "result.words") != NULL, "another method's ignore hid it:\n%s", s);
    free(s);

    /* A different host function: named at its place in the call. */
    const char *other_fn =
        HEADER HELLO("d") CALL1 HOSTCALL("host.kv_get") HOSTANSWER ANSWER("{\"words\":4}");
    s = diff_text(base, other_fn, NULL);
    CHECKF(strcmp(s, "echo#3 echo.echo host_call[0].method: recorded \"host.version\", now "
                     "\"host.kv_get\"\n") == 0,
           "got:\n%s", s);
    free(s);

    /* An extra notification, and an error instead of a result. */
    const char *noisy = HEADER HELLO("d") CALL1 HOSTCALL("host.version")
        HOSTANSWER FROM(6, "{\"jsonrpc\":\"2.0\",\"method\":\"seen\",\"params\":[1]}")
            FROM(7, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"no\"}}");
    s = diff_text(base, noisy, NULL);
    CHECKF(strstr(s, "echo#3 echo.echo result: recorded {\"words\":4}, now (nothing)\n") &&
               strstr(s, "echo#3 echo.echo error: recorded (nothing), now "
                         "{\"code\":1,\"message\":\"no\"}\n") &&
               strstr(s, "echo#3 echo.echo notification: recorded (nothing), now "
                         "[{\"method\":\"seen\",\"params\":[1]}]\n"),
           "got:\n%s", s);
    free(s);

    /* Handshake: a changed description, reported unless ignored. */
    const char *rehello =
        HEADER HELLO("e") CALL1 HOSTCALL("host.version") HOSTANSWER ANSWER("{\"words\":4}");
    s = diff_text(base, rehello, NULL);
    CHECKF(strcmp(s, "echo hello.methods.echo.description: recorded \"d\", now \"e\"\n") == 0,
           "got:\n%s", s);
    free(s);
    o = (struct ph_tr_diff_opts){NULL, 0, 1};
    s = diff_text(base, rehello, &o);
    CHECKF(strcmp(s, "") == 0, "--ignore-handshake kept:\n%s", s);
    free(s);

    /* A call never sent now (refused by the new host). */
    const char *unsent = HEADER HELLO("d");
    s = diff_text(base, unsent, NULL);
    CHECKF(strcmp(s, "echo#3 echo.echo call: recorded {\"method\":\"echo\",\"params\":[\"hi\"]}, "
                     "now (nothing)\n") == 0,
           "got:\n%s", s);
    free(s);

    /* Corrupt transcripts: the line is named. */
    char why[512];
    const char *bad[][2] = {
        {HEADER HELLO("d") "{not json\n", "t:3: not JSON"},
        {HELLO("d"), "t:1: not a plughost transcript"},
        {HEADER "{\"seq\":1,\"dir\":\"sideways\",\"file\":\"x\",\"pid\":1,\"msg\":{}}\n",
         "t:2: \"dir\" must be"},
        {HEADER TO(2, "[1]"), "t:2: no \"msg\" object"},
        {"", "t:1: empty"},
        {"{\"plughost_transcript\":2}\n", "t:1: transcript format version not supported"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *t = ph_tr_parse(bad[i][0], strlen(bad[i][0]), "t", why, sizeof why);
        CHECKF(!t && strncmp(why, bad[i][1], strlen(bad[i][1])) == 0,
               "case %zu: want \"%s...\", got %s \"%s\"", i, bad[i][1], t ? "success" : "error",
               why);
        json_decref(t);
    }
    return ph_t_summary("test_transcript");
}
