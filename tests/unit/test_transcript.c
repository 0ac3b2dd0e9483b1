/*
 * test_transcript: reading transcripts back (errors name the line, other
 * format versions and processes whose lines disagree are refused), taking
 * a transcript apart into its processes, and the comparison `plughost
 * replay` reports per process, on hand-written transcripts.
 */
#include "check.h"
#include "transcript.h"

#include <stdlib.h>
#include <string.h>

#define HEADER "{\"plughost_transcript\":2,\"plughost\":\"0.1.0\",\"protocol\":1,\"plugins\":[]}\n"
#define HELLO(desc)                                                                                \
    "{\"seq\":1,\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"slot\":0,"        \
    "\"proc\":1,\"dir\":"                                                                          \
    "\"from_plugin\",\"msg\":{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{\"name\":"   \
    "\"echo\",\"version\":\"1\",\"methods\":[{\"name\":\"echo\",\"description\":\"" desc           \
    "\"}]}}}\n"
#define TO(seq, body)                                                                              \
    "{\"seq\":" #seq ",\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"slot\":0," \
    "\"proc\":1,\"dir\":"                                                                          \
    "\"to_plugin\",\"msg\":" body "}\n"
#define FROM(seq, body)                                                                            \
    "{\"seq\":" #seq ",\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10,\"slot\":0," \
    "\"proc\":1,\"dir\":"                                                                          \
    "\"from_plugin\",\"msg\":" body "}\n"

static json_t *parse(const char *text)
{
    char why[512];
    json_t *t = ph_tr_parse(text, strlen(text), "t", why, sizeof why);
    CHECKF(t != NULL, "parse failed: %s", why);
    return t;
}

/* The formatted differences of every process of a against b, joined by
 * newlines (caller frees). */
static char *diff_text(const char *a, const char *b, const struct ph_tr_diff_opts *o)
{
    json_t *ta = parse(a), *tb = parse(b);
    json_t *procs = ph_tr_processes(ta);
    size_t cap = 8192, len = 0;
    char *out = calloc(1, cap);
    size_t i, k;
    json_t *e, *p;
    json_array_foreach(procs, k, p)
    {
        json_t *d = ph_tr_diff(ta, p, tb, o);
        json_array_foreach(d, i, e)
        {
            char line[1024];
            len +=
                (size_t)snprintf(out + len, cap - len, "%s\n", ph_tr_format(e, line, sizeof line));
        }
        json_decref(d);
    }
    json_decref(procs);
    json_decref(ta);
    json_decref(tb);
    return out;
}

/* A line of process proc in slot, pid 100 + proc. */
#define LINE(seq, slot, proc, dir, body)                                                           \
    "{\"seq\":" #seq ",\"t_ms\":0,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":10" #proc       \
    ",\"slot\":" #slot ",\"proc\":" #proc ",\"dir\":\"" dir "\",\"msg\":" body "}\n"
#define HELLO_OF(seq, slot, proc)                                                                  \
    LINE(seq, slot, proc, "from_plugin",                                                           \
         "{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{\"name\":\"echo\",\"methods\":" \
         "[{"                                                                                      \
         "\"name\":\"echo\"}]}}")
#define CALL_OF(seq, slot, proc, id, arg)                                                          \
    LINE(seq, slot, proc, "to_plugin",                                                             \
         "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"echo\",\"params\":[\"" arg "\"]}")
#define ANSWER_OF(seq, slot, proc, id, arg)                                                        \
    LINE(seq, slot, proc, "from_plugin",                                                           \
         "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"result\":[\"" arg "\"]}")

/* Two processes of one plugin (a pool of two) whose calls interleave: each
 * is its own stream, compared with the run that replayed it alone. */
static void pool_of_two(void)
{
    const char *rec = HEADER HELLO_OF(1, 0, 1) HELLO_OF(2, 1, 2) CALL_OF(3, 0, 1, 5, "a")
        CALL_OF(4, 1, 2, 6, "b") ANSWER_OF(5, 1, 2, 6, "b") CALL_OF(6, 1, 2, 7, "c")
            ANSWER_OF(7, 0, 1, 5, "a") ANSWER_OF(8, 1, 2, 7, "c");
    char why[512];
    json_t *t = parse(rec);
    json_t *procs = ph_tr_processes(t);
    CHECKF(json_array_size(procs) == 2, "want 2 processes, got %zu", json_array_size(procs));
    json_t *p1 = json_array_get(procs, 0), *p2 = json_array_get(procs, 1);
    CHECK(json_integer_value(json_object_get(p1, "slot")) == 0 &&
          json_integer_value(json_object_get(p1, "proc")) == 1 &&
          json_integer_value(json_object_get(p1, "pid")) == 101);
    CHECK(json_is_true(json_object_get(p1, "handshake")) &&
          json_integer_value(json_object_get(p1, "calls")) == 1 &&
          json_integer_value(json_object_get(p2, "calls")) == 2);
    CHECK(json_integer_value(json_object_get(p2, "slot")) == 1 &&
          json_integer_value(json_object_get(p2, "proc")) == 2 &&
          strcmp(json_string_value(json_object_get(p2, "plugin")), "echo") == 0);

    /* Each process against its own stream: no difference; against the
     * other's, the calls differ. */
    json_t *only1 = ph_tr_only(t, 1), *only2 = ph_tr_only(t, 2);
    CHECK(json_array_size(json_object_get(only1, "lines")) == 3);
    CHECK(json_array_size(json_object_get(only2, "lines")) == 5);
    json_t *d = ph_tr_diff(t, p1, only1, NULL);
    CHECKF(json_array_size(d) == 0, "process 1 against itself: %zu differences",
           json_array_size(d));
    json_decref(d);
    d = ph_tr_diff(t, p2, only2, NULL);
    CHECKF(json_array_size(d) == 0, "process 2 against itself: %zu differences",
           json_array_size(d));
    json_decref(d);
    d = ph_tr_diff(t, p2, only1, NULL);
    CHECK(json_array_size(d) > 0);
    json_decref(d);

    /* A replay where process 2's second call answers otherwise: reported
     * for that process, named by its slot and number, and only there. */
    const char *now2 = HEADER HELLO_OF(1, 0, 1) CALL_OF(2, 0, 1, 1, "b") ANSWER_OF(3, 0, 1, 1, "b")
        CALL_OF(4, 0, 1, 2, "c") ANSWER_OF(5, 0, 1, 2, "C");
    json_t *tn = parse(now2);
    d = ph_tr_diff(t, p2, tn, NULL);
    char line[1024];
    CHECKF(json_array_size(d) == 1 &&
               strcmp(ph_tr_format(json_array_get(d, 0), line, sizeof line),
                      "echo#7 echo.echo (slot 1, process 2) result[0]: recorded \"c\", now "
                      "\"C\"") == 0,
           "got %zu: %s", json_array_size(d),
           json_array_size(d) ? ph_tr_format(json_array_get(d, 0), line, sizeof line) : "");
    json_t *e = json_array_get(d, 0);
    CHECK(json_integer_value(json_object_get(e, "slot")) == 1 &&
          json_integer_value(json_object_get(e, "process")) == 2 &&
          json_integer_value(json_object_get(e, "pid")) == 102);
    json_decref(d);

    /* A process running before recording began (in the header): its
     * handshake is not in the recording and is not compared. */
    const char *late =
        "{\"plughost_transcript\":2,\"plugins\":[{\"plugin\":\"echo\",\"file\":\"echo.so\","
        "\"pid\":103,\"slot\":0,\"proc\":3}]}\n" CALL_OF(1, 0, 3, 5, "a")
            ANSWER_OF(2, 0, 3, 5, "a");
    json_t *tl = parse(late);
    json_t *pl = ph_tr_processes(tl);
    json_t *late0 = json_array_get(pl, 0);
    CHECK(json_array_size(pl) == 1 && json_is_true(json_object_get(late0, "before")) &&
          !json_is_true(json_object_get(late0, "handshake")) &&
          json_integer_value(json_object_get(late0, "calls")) == 1);
    const char *now3 = HEADER HELLO_OF(1, 0, 1) CALL_OF(2, 0, 1, 1, "a") ANSWER_OF(3, 0, 1, 1, "a");
    json_t *tn3 = parse(now3);
    d = ph_tr_diff(tl, json_array_get(pl, 0), tn3, NULL);
    CHECKF(json_array_size(d) == 0, "a process begun before the recording: %zu differences",
           json_array_size(d));
    json_decref(d);

    /* Lines of one process that disagree cannot be taken apart: refused. */
    const char *bad = HEADER HELLO_OF(
        1, 0,
        1) "{\"seq\":2,\"plugin\":\"echo\",\"file\":\"echo.so\",\"pid\":999,\"slot\":0,\"proc\":1,"
           "\"dir\":\"to_plugin\",\"msg\":{}}\n";
    json_t *tb = ph_tr_parse(bad, strlen(bad), "t", why, sizeof why);
    CHECKF(!tb && strcmp(why, "t:3: process 1 has another \"pid\" than on its earlier lines") == 0,
           "got %s", tb ? "success" : why);
    json_decref(tb);
    const char *bad_slot = HEADER HELLO_OF(1, 0, 1) LINE(2, 1, 1, "to_plugin", "{}");
    tb = ph_tr_parse(bad_slot, strlen(bad_slot), "t", why, sizeof why);
    CHECKF(!tb && strstr(why, "t:3: process 1 has another \"slot\""), "got %s",
           tb ? "success" : why);
    json_decref(tb);

    json_decref(tn3);
    json_decref(pl);
    json_decref(tl);
    json_decref(tn);
    json_decref(only1);
    json_decref(only2);
    json_decref(procs);
    json_decref(t);
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
    CHECKF(strcmp(s, "echo#3 echo.echo (slot 0, process 1) result.words: recorded 4, now 5\n") == 0,
           "got:\n%s", s);
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
    CHECKF(strcmp(s, "echo#3 echo.echo (slot 0, process 1) host_call[0].method: recorded "
                     "\"host.version\", now "
                     "\"host.kv_get\"\n") == 0,
           "got:\n%s", s);
    free(s);

    /* An extra notification, and an error instead of a result. */
    const char *noisy = HEADER HELLO("d") CALL1 HOSTCALL("host.version")
        HOSTANSWER FROM(6, "{\"jsonrpc\":\"2.0\",\"method\":\"seen\",\"params\":[1]}")
            FROM(7, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1,\"message\":\"no\"}}");
    s = diff_text(base, noisy, NULL);
    CHECKF(strstr(s, "echo#3 echo.echo (slot 0, process 1) result: recorded {\"words\":4}, now "
                     "(nothing)\n") &&
               strstr(s, "echo#3 echo.echo (slot 0, process 1) error: recorded (nothing), now "
                         "{\"code\":1,\"message\":\"no\"}\n") &&
               strstr(s,
                      "echo#3 echo.echo (slot 0, process 1) notification: recorded (nothing), now "
                      "[{\"method\":\"seen\",\"params\":[1]}]\n"),
           "got:\n%s", s);
    free(s);

    /* Handshake: a changed description, reported unless ignored. */
    const char *rehello =
        HEADER HELLO("e") CALL1 HOSTCALL("host.version") HOSTANSWER ANSWER("{\"words\":4}");
    s = diff_text(base, rehello, NULL);
    CHECKF(strcmp(s, "echo (slot 0, process 1) hello.methods.echo.description: recorded \"d\", now "
                     "\"e\"\n") == 0,
           "got:\n%s", s);
    free(s);
    o = (struct ph_tr_diff_opts){NULL, 0, 1};
    s = diff_text(base, rehello, &o);
    CHECKF(strcmp(s, "") == 0, "--ignore-handshake kept:\n%s", s);
    free(s);

    /* A call never sent now (refused by the new host). */
    const char *unsent = HEADER HELLO("d");
    s = diff_text(base, unsent, NULL);
    CHECKF(strcmp(s, "echo#3 echo.echo (slot 0, process 1) call: recorded "
                     "{\"method\":\"echo\",\"params\":[\"hi\"]}, "
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
        {"{\"plughost_transcript\":1}\n",
         "t:1: transcript format version 1 not supported (this plughost reads version 2; record "
         "the run again with it)"},
        {"{\"plughost_transcript\":3}\n", "t:1: transcript format version 3 not supported"},
        /* Version 2 names each line's process. */
        {HEADER "{\"seq\":1,\"file\":\"x\",\"pid\":1,\"dir\":\"to_plugin\",\"msg\":{}}\n",
         "t:2: no integer \"slot\" from 0 to 63"},
        {HEADER "{\"seq\":1,\"file\":\"x\",\"pid\":1,\"slot\":64,\"proc\":1,\"dir\":\"to_plugin\","
                "\"msg\":{}}\n",
         "t:2: no integer \"slot\" from 0 to 63"},
        {HEADER "{\"seq\":1,\"file\":\"x\",\"pid\":1,\"slot\":0,\"proc\":0,\"dir\":\"to_plugin\","
                "\"msg\":{}}\n",
         "t:2: no positive integer \"proc\""},
        {HEADER "{\"seq\":1,\"type\":\"plugin\",\"plugin\":\"x\",\"file\":\"x.so\",\"pid\":1}\n",
         "t:2: no integer \"slot\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *t = ph_tr_parse(bad[i][0], strlen(bad[i][0]), "t", why, sizeof why);
        CHECKF(!t && strncmp(why, bad[i][1], strlen(bad[i][1])) == 0,
               "case %zu: want \"%s...\", got %s \"%s\"", i, bad[i][1], t ? "success" : "error",
               why);
        json_decref(t);
    }
    pool_of_two();
    return ph_t_summary("test_transcript");
}
