/*
 * test_host: the host library through its public API only, against the real
 * echo plugin in its real sandbox, as an embedding application uses it.
 *
 * usage: test_host ECHO_SO [CRASHY_SO]
 * The loader comes from $PLUGHOST_LOADER. CRASHY_SO (optional, skipped when
 * absent) adds the checks that need a plugin that never answers.
 */
#include "check.h"

#include <plughost/host.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCALLS 64

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct slot {
    uint64_t id;    /* from ph_host_call_async */
    uint64_t cb_id; /* as passed to the callback */
    int answers;
    json_t *result, *error; /* owned copies */
};

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    struct slot *s = ud;
    s->answers++;
    s->cb_id = call_id;
    CHECKF((result != NULL) != (error != NULL), "call %llu: result %p error %p",
           (unsigned long long)call_id, (void *)result, (void *)error);
    json_decref(s->result);
    json_decref(s->error);
    s->result = json_incref(result);
    s->error = json_incref(error);
}

static void slot_clear(struct slot *s)
{
    json_decref(s->result);
    json_decref(s->error);
    memset(s, 0, sizeof *s);
}

struct events {
    int started, ended, load_error, other;
    char last_end_status[32];
};

static void on_event(void *ud, json_t *ev)
{
    struct events *e = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    CHECKF(type != NULL, "event without a type");
    CHECKF(json_object_get(ev, "plugin") || json_object_get(ev, "file"), "event %s without plugin",
           type ? type : "?");
    if (!type)
        return;
    if (strcmp(type, "started") == 0) {
        e->started++;
    } else if (strcmp(type, "ended") == 0) {
        e->ended++;
        const char *st = json_string_value(json_object_get(ev, "status"));
        snprintf(e->last_end_status, sizeof e->last_end_status, "%s", st ? st : "");
    } else if (strcmp(type, "load_error") == 0) {
        e->load_error++;
    } else {
        e->other++;
    }
}

/* Runs the loop the way an application would: poll the host's descriptor,
 * then process what is ready, until done() or the deadline. */
static int drive(ph_host *h, int (*done)(void *), void *arg, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    while (!done(arg)) {
        long long left = end - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pf = {.fd = ph_host_fd(h), .events = POLLIN};
        if (poll(&pf, 1, (int)(left > 200 ? 200 : left)) < 0)
            return -1;
        ph_error err;
        if (ph_host_process(h, 0, &err) < 0) {
            fprintf(stderr, "ph_host_process: %s\n", err.text);
            return -1;
        }
    }
    return 0;
}

static int no_pending(void *arg)
{
    return ph_host_pending(arg) == 0;
}

struct all_answered {
    struct slot *slots;
    size_t n;
};

static int all_answered(void *arg)
{
    struct all_answered *a = arg;
    for (size_t i = 0; i < a->n; i++)
        if (a->slots[i].answers == 0)
            return 0;
    return 1;
}

static int code_of(json_t *error)
{
    return (int)json_integer_value(json_object_get(error, "code"));
}

static const char *str_at(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

static void test_new_errors(void)
{
    ph_host_options o = {.loader_path = "/nonexistent/plughost-loader"};
    ph_host *h = (ph_host *)1;
    ph_error err = {0};
    int rc = ph_host_new(&o, &h, &err);
    CHECKF(rc < 0 && h == NULL, "ph_host_new with a missing loader: rc %d", rc);
    CHECKF(strstr(err.text, "loader") != NULL, "err: %s", err.text);
    CHECK(err.status == rc);
}

static void test_load(ph_host *h, const char *echo_so, struct events *ev)
{
    ph_error err = {0};
    const char *name = NULL;
    int rc = ph_host_load_file(h, echo_so, &name, &err);
    CHECKF(rc == PH_OK, "load %s: %d %s", echo_so, rc, err.text);
    CHECK(name && strcmp(name, "echo") == 0);
    CHECK(ev->started == 1);

    /* Failures: a missing file, and a second plugin with the same name.
     * Neither disturbs the one loaded. */
    err.text[0] = '\0';
    rc = ph_host_load_file(h, "/nonexistent/dir/nothing.so", NULL, &err);
    CHECKF(rc < 0 && err.text[0], "missing file: rc %d", rc);
    err.text[0] = '\0';
    rc = ph_host_load_file(h, echo_so, NULL, &err);
    CHECKF(rc < 0 && strstr(err.text, "duplicate") != NULL, "duplicate: rc %d %s", rc, err.text);
    CHECK(ev->load_error == 2);

    rc = ph_host_load_dir(h, "/nonexistent/dir", &err);
    CHECKF(rc < 0, "load_dir of a missing directory: rc %d", rc);

    json_t *d = ph_host_describe(h);
    CHECK(json_is_object(d));
    json_t *plugins = json_object_get(d, "plugins");
    CHECK(json_array_size(plugins) == 1);
    json_t *p = json_array_get(plugins, 0);
    CHECK(strcmp(str_at(p, "name"), "echo") == 0);
    CHECK(strcmp(str_at(p, "version"), "1.0.0") == 0);
    CHECK(strcmp(str_at(p, "state"), "ready") == 0);
    CHECK(json_integer_value(json_object_get(p, "pid")) > 0);
    CHECK(str_at(p, "file")[0] == '/');
    json_t *methods = json_object_get(p, "methods");
    CHECK(json_array_size(methods) >= 1 &&
          strcmp(str_at(json_array_get(methods, 0), "name"), "echo") == 0);
    json_t *errors = json_object_get(d, "errors");
    CHECK(json_array_size(errors) == 2);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        CHECK(json_is_string(json_object_get(e, "file")));
        CHECK(code_of(json_object_get(e, "error")) == PH_RPC_PLUGIN_NOT_LOADED);
    }
    json_decref(d);
}

static void test_sync(ph_host *h)
{
    ph_error err;
    json_t *res = NULL, *rpc = NULL;
    json_t *params = json_pack("[i,s,{s:n},[],f]", 1, "a\"b\\c\n\xc3\xa9", "x", 2.5);
    int rc = ph_host_call(h, "echo", "echo", params, &res, &rpc, &err);
    CHECKF(rc == PH_OK, "echo.echo: %d %s", rc, err.text);
    CHECK(res && json_equal(res, params));
    json_decref(res);
    json_decref(params);

    params = json_pack("{s:s,s:{s:b}}", "k", "v", "o", "t", 1);
    res = NULL;
    CHECK(ph_host_call(h, "echo", "echo", params, &res, &rpc, &err) == PH_OK);
    CHECK(res && json_equal(res, params));
    json_decref(res);
    json_decref(params);

    res = NULL;
    CHECK(ph_host_call(h, "echo", "echo", NULL, &res, &rpc, &err) == PH_OK);
    CHECK(json_is_null(res));
    json_decref(res);

    /* A large message, several records each way. */
    size_t n = 3 << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    params = json_pack("[s]", big);
    res = NULL;
    CHECK(ph_host_call(h, "echo", "echo", params, &res, &rpc, &err) == PH_OK);
    CHECK(res && json_equal(res, params));
    json_decref(res);
    json_decref(params);
    free(big);

    /* Unknown plugin or method: refused at once, nothing pending. */
    res = rpc = NULL;
    rc = ph_host_call(h, "nosuch", "echo", NULL, &res, &rpc, &err);
    CHECKF(rc == PH_E_NOTFOUND && err.status == PH_E_NOTFOUND, "unknown plugin: %d", rc);
    CHECK(res == NULL);
    rc = ph_host_call(h, "echo", "nosuch", NULL, &res, &rpc, &err);
    CHECKF(rc == PH_E_NOTFOUND, "unknown method: %d", rc);
    CHECK(strstr(err.text, "nosuch") != NULL);
    json_t *scalar = json_integer(1);
    rc = ph_host_call(h, "echo", "echo", scalar, &res, &rpc, &err);
    CHECKF(rc == PH_E_INVALID, "scalar params: %d", rc);
    json_decref(scalar);
    rc = ph_host_call(h, NULL, "echo", NULL, &res, &rpc, &err);
    CHECK(rc == PH_E_INVALID);
    uint64_t id = 0;
    rc = ph_host_call_async(h, "echo", "nosuch", NULL, on_answer, NULL, &id, &err);
    CHECK(rc == PH_E_NOTFOUND);
    CHECK(ph_host_pending(h) == 0);
}

/* n async calls of echo with params [tag, i], answers into slots[i]. */
static void issue(ph_host *h, struct slot *slots, int n, int tag)
{
    ph_error err;
    for (int i = 0; i < n; i++) {
        json_t *params = json_pack("[i,i]", tag, i);
        CHECK(ph_host_call_async(h, "echo", "echo", params, on_answer, &slots[i], &slots[i].id,
                                 &err) == PH_OK);
        json_decref(params);
    }
}

static void test_async(ph_host *h)
{
    struct slot slots[NCALLS];
    memset(slots, 0, sizeof slots);
    ph_error err;
    for (int i = 0; i < NCALLS; i++) {
        json_t *params = json_pack("[i,s]", i, "x");
        int rc =
            ph_host_call_async(h, "echo", "echo", params, on_answer, &slots[i], &slots[i].id, &err);
        CHECKF(rc == PH_OK, "call_async %d: %d %s", i, rc, err.text);
        json_decref(params);
    }
    /* Never answered from inside the call that started it. */
    int early = 0;
    for (int i = 0; i < NCALLS; i++)
        early += slots[i].answers;
    CHECK(early == 0);
    CHECK(ph_host_pending(h) == NCALLS);
    for (int i = 0; i < NCALLS; i++)
        for (int j = 0; j < i; j++)
            CHECKF(slots[i].id != slots[j].id, "duplicate call id %llu",
                   (unsigned long long)slots[i].id);

    struct all_answered aa = {slots, NCALLS};
    CHECK(drive(h, all_answered, &aa, 20000) == 0);
    /* A little more loop time: a second answer would show up now. */
    ph_host_process(h, 50, &err);
    for (int i = 0; i < NCALLS; i++) {
        struct slot *s = &slots[i];
        CHECKF(s->answers == 1, "call %d answered %d times", i, s->answers);
        CHECK(s->cb_id == s->id);
        CHECKF(json_integer_value(json_array_get(s->result, 0)) == i,
               "call %d got the answer of another", i);
        slot_clear(s);
    }
    CHECK(ph_host_pending(h) == 0);
}

/* ph_host_call reads its answer before a turn of the loop when it is
 * there already; answers to async calls sent before it may come first in
 * that read, and must each reach their own callback once, from this call
 * (the loop's work) and not later a second time. */
static void test_sync_amid_async(ph_host *h)
{
    struct slot slots[4];
    memset(slots, 0, sizeof slots);
    ph_error err;
    for (int round = 0; round < 50; round++) {
        issue(h, slots, 4, round);
        json_t *params = json_pack("[s,i]", "sync", round);
        json_t *res = NULL, *rpc = NULL;
        CHECKF(ph_host_call(h, "echo", "echo", params, &res, &rpc, &err) == PH_OK, "round %d: %s",
               round, err.text);
        CHECK(res && json_equal(res, params));
        json_decref(res);
        json_decref(params);
        /* Served in order: every earlier call was answered before it. */
        for (int i = 0; i < 4; i++) {
            CHECKF(slots[i].answers == 1, "round %d call %d answered %d times", round, i,
                   slots[i].answers);
            CHECK(json_integer_value(json_array_get(slots[i].result, 1)) == i);
            slot_clear(&slots[i]);
        }
        CHECK(ph_host_pending(h) == 0);
    }
    /* Nothing left over for the loop to deliver again. */
    ph_host_process(h, 20, &err);
    for (int i = 0; i < 4; i++)
        CHECK(slots[i].answers == 0);
}

static void test_fd_pollable(ph_host *h)
{
    ph_error err;
    struct slot s = {0};
    CHECK(ph_host_call_async(h, "echo", "echo", NULL, on_answer, &s, &s.id, &err) == PH_OK);
    /* The answer must make the descriptor readable by itself: no
     * ph_host_process() before the poll. */
    struct pollfd pf = {.fd = ph_host_fd(h), .events = POLLIN};
    int n = poll(&pf, 1, 5000);
    CHECKF(n == 1 && (pf.revents & POLLIN), "ph_host_fd not readable: poll %d", n);
    CHECK(drive(h, no_pending, h, 5000) == 0);
    CHECK(s.answers == 1 && json_is_null(s.result));
    slot_clear(&s);

    /* Idle: nothing to do, not readable. */
    pf.revents = 0;
    CHECK(poll(&pf, 1, 50) == 0);
}

/* How often the process has gone to sleep: it only grows when it was
 * woken, so an unchanged count says nothing reached it. */
static long sleeps_of(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static pid_t pid_of(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h);
    pid_t pid = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(str_at(p, "name"), name) == 0)
            pid = (pid_t)json_integer_value(json_object_get(p, "pid"));
    }
    json_decref(d);
    return pid;
}

/* ph_host_watch_fd: an application descriptor in the host's epoll set is
 * reported in its ready word by ph_host_process(), which returns instead
 * of waiting on; unwatched, it is not; a descriptor epoll cannot watch is
 * refused with EPERM; the slots are bounded. */
static void test_watch_fd(ph_host *h)
{
    int p[2];
    CHECK(pipe(p) == 0);
    unsigned ready = 0;
    ph_error err;
    CHECK(ph_host_watch_fd(h, p[0], PH_FD_IN, &ready, &err) == PH_OK);
    CHECK(ph_host_process(h, 50, &err) >= 0 && ready == 0); /* nothing to read yet */
    CHECK(write(p[1], "x", 1) == 1);
    long long t0 = now_ms();
    int n = ph_host_process(h, 5000, &err);
    CHECKF(n > 0 && (ready & PH_FD_IN) && now_ms() - t0 < 2000,
           "a readable pipe wakes ph_host_process: %d, ready %#x, %lld ms", n, ready,
           now_ms() - t0);
    ready = 0;
    CHECK(ph_host_watch_fd(h, p[0], 0, NULL, &err) == PH_OK);
    CHECK(ph_host_process(h, 50, &err) >= 0 && ready == 0); /* still readable, not watched */
    CHECK(ph_host_watch_fd(h, p[1], PH_FD_OUT, &ready, &err) == PH_OK);
    CHECK(ph_host_process(h, 5000, &err) > 0 && (ready & PH_FD_OUT));
    CHECK(ph_host_watch_fd(h, p[1], 0, NULL, &err) == PH_OK);
    close(p[0]);
    close(p[1]);

    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        errno = 0;
        int rc = ph_host_watch_fd(h, fileno(f), PH_FD_IN, &ready, &err);
        CHECKF(rc == PH_E_SYSTEM && errno == EPERM, "a regular file: rc %d, errno %d", rc, errno);
        fclose(f);
    }
    CHECK(ph_host_watch_fd(h, 0, 0x80, &ready, &err) == PH_E_INVALID);
    CHECK(ph_host_watch_fd(h, 0, PH_FD_IN, NULL, &err) == PH_E_INVALID);

    int fds[PH_HOST_MAX_APP_FDS + 1][2];
    int rc = PH_OK, made = 0;
    for (int i = 0; i <= PH_HOST_MAX_APP_FDS && rc == PH_OK; i++) {
        if (pipe(fds[i]) != 0)
            break;
        made++;
        rc = ph_host_watch_fd(h, fds[i][0], PH_FD_IN, &ready, &err);
        CHECKF(i < PH_HOST_MAX_APP_FDS ? rc == PH_OK : rc == PH_E_BUSY, "watch %d: rc %d", i, rc);
    }
    for (int i = 0; i < made; i++) {
        ph_host_watch_fd(h, fds[i][0], 0, NULL, &err);
        close(fds[i][0]);
        close(fds[i][1]);
    }
}

static void expect_answers(ph_host *h, struct slot *slots, int n, int tag)
{
    struct all_answered aa = {slots, (size_t)n};
    CHECK(drive(h, all_answered, &aa, 10000) == 0);
    for (int i = 0; i < n; i++) {
        CHECKF(slots[i].answers == 1, "tag %d call %d answered %d times", tag, i, slots[i].answers);
        CHECK(json_integer_value(json_array_get(slots[i].result, 0)) == tag);
        CHECK(json_integer_value(json_array_get(slots[i].result, 1)) == i);
        slot_clear(&slots[i]);
    }
}

/* ph_host_cork holds writes back until the outermost uncork, and no
 * longer than the next turn of the loop or a synchronous call; the plugin
 * is not woken while they are held. */
static void test_cork(ph_host *h)
{
    ph_error err;
    struct slot slots[8];
    memset(slots, 0, sizeof slots);
    pid_t pid = pid_of(h, "echo");
    CHECKF(pid > 0 && sleeps_of(pid) >= 0, "no pid or no /proc status for echo (%d)", (int)pid);
    struct pollfd pf = {.fd = ph_host_fd(h), .events = POLLIN};

    /* Settled: echo back asleep from the tests before (its count steady). */
    long before = sleeps_of(pid);
    for (int i = 0; i < 100; i++) {
        usleep(20 * 1000);
        long now = sleeps_of(pid);
        if (now == before)
            break;
        before = now;
    }
    /* Nested: held through the inner uncork, sent at the outer one. */
    ph_host_cork(h);
    ph_host_cork(h);
    issue(h, slots, 8, 1);
    ph_host_uncork(h);
    usleep(100 * 1000);
    CHECKF(sleeps_of(pid) == before, "echo woken while corked (%ld -> %ld sleeps)", before,
           sleeps_of(pid));
    /* Held writes make the descriptor readable: a poll-driven application
     * comes back to send them even if it never uncorks. */
    CHECKF(poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN), "ph_host_fd not readable while held");
    ph_host_uncork(h);
    expect_answers(h, slots, 8, 1);
    /* It answered; the count grows once it is back asleep. */
    for (int i = 0; i < 100 && sleeps_of(pid) == before; i++)
        usleep(10 * 1000);
    CHECKF(sleeps_of(pid) > before, "echo never woken after the uncork");

    /* A forgotten uncork: the next turn of the loop sends them. */
    ph_host_cork(h);
    issue(h, slots, 8, 2);
    expect_answers(h, slots, 8, 2);

    /* A synchronous call made while corked is answered, and what was held
     * before it is written too. */
    issue(h, slots, 4, 3);
    json_t *params = json_pack("[s]", "sync"), *res = NULL;
    CHECKF(ph_host_call(h, "echo", "echo", params, &res, NULL, &err) == PH_OK, "%s", err.text);
    CHECK(res && json_equal(res, params));
    json_decref(res);
    json_decref(params);
    expect_answers(h, slots, 4, 3);
    ph_host_uncork(h);
    ph_host_uncork(h); /* unbalanced: ignored */

    /* Uncorked again: a call goes as it is made. */
    before = sleeps_of(pid);
    issue(h, slots, 1, 4);
    usleep(100 * 1000);
    CHECKF(sleeps_of(pid) > before, "echo not woken by an uncorked call");
    expect_answers(h, slots, 1, 4);
    CHECK(ph_host_pending(h) == 0);
}

static void test_cancel(ph_host *h)
{
    ph_error err;
    struct slot s = {0};
    CHECK(ph_host_call_async(h, "echo", "echo", NULL, on_answer, &s, &s.id, &err) == PH_OK);
    CHECK(ph_host_cancel(h, s.id) == PH_OK);
    CHECK(s.answers == 0);
    CHECK(ph_host_cancel(h, s.id) == PH_E_NOTFOUND);
    CHECK(drive(h, no_pending, h, 5000) == 0);
    ph_host_process(h, 100, &err);
    CHECKF(s.answers == 1, "cancelled call answered %d times", s.answers);
    CHECKF(code_of(s.error) == PH_RPC_CANCELLED, "cancelled call: code %d", code_of(s.error));
    CHECK(strcmp(str_at(json_object_get(s.error, "data"), "method"), "echo") == 0);
    slot_clear(&s);
    CHECK(ph_host_cancel(h, 999999) == PH_E_NOTFOUND);

    /* Cancel one of many: the others still get their own answers. */
    struct slot many[8];
    memset(many, 0, sizeof many);
    for (int i = 0; i < 8; i++) {
        json_t *params = json_pack("[i]", i);
        CHECK(ph_host_call_async(h, "echo", "echo", params, on_answer, &many[i], &many[i].id,
                                 &err) == PH_OK);
        json_decref(params);
    }
    CHECK(ph_host_cancel(h, many[3].id) == PH_OK);
    CHECK(drive(h, no_pending, h, 5000) == 0);
    ph_host_process(h, 100, &err);
    for (int i = 0; i < 8; i++) {
        CHECKF(many[i].answers == 1, "call %d answered %d times", i, many[i].answers);
        if (i == 3)
            CHECK(code_of(many[i].error) == PH_RPC_CANCELLED);
        else
            CHECK(json_integer_value(json_array_get(many[i].result, 0)) == i);
        slot_clear(&many[i]);
    }
    CHECK(ph_host_pending(h) == 0);
}

/* A raw call's answer, kept as text. */
struct raw_slot {
    int answers;
    char text[4096];
    int code; /* of the error; 0 with a result */
};

static void on_raw(void *ud, uint64_t call_id, const char *result, size_t len, json_t *error)
{
    struct raw_slot *r = ud;
    (void)call_id;
    r->answers++;
    CHECKF((result != NULL) != (error != NULL), "raw answer: result %p error %p", (void *)result,
           (void *)error);
    r->code = error ? code_of(error) : 0;
    r->text[0] = '\0';
    if (result) {
        CHECKF(len < sizeof r->text, "raw result of %zu bytes", len);
        snprintf(r->text, sizeof r->text, "%.*s", (int)len, result);
        /* Compact, as the header promises: a line-framed server relies on
         * there being no raw newline. */
        CHECKF(!memchr(result, '\n', len), "raw result with a newline: %s", r->text);
    }
}

static int raw_answered(void *arg)
{
    return ((struct raw_slot *)arg)->answers > 0;
}

/* One raw call to echo.echo, driven to its answer. Returns its status. */
static int raw_call(ph_host *h, const char *params, struct raw_slot *r, ph_error *err)
{
    memset(r, 0, sizeof *r);
    uint64_t id;
    int rc = ph_host_call_raw_async(h, "echo", "echo", params, params ? strlen(params) : 0, on_raw,
                                    r, &id, err);
    if (rc == PH_OK)
        CHECK(drive(h, raw_answered, r, 5000) == 0 && r->answers == 1);
    return rc;
}

/* ph_host_call_raw_async: bytes forwarded both ways, the same answers as
 * the tree API, and what the scanner will not vouch for decided by
 * jansson. */
static void test_raw(ph_host *h)
{
    ph_error err;
    struct raw_slot r;
    static const struct {
        const char *params, *want;
    } same[] = {
        {"[1, \"a\", {\"k\": [true, null]}]", "[1,\"a\",{\"k\":[true,null]}]"},
        {"{\"x\":1}", "{\"x\":1}"},
        {"[123456789012345678,-0.5,\"\\u00e9\\ud83d\\ude00\"]",
         "[123456789012345678,-0.5,\"\xc3\xa9\xf0\x9f\x98\x80\"]"},
        {"[]", "[]"},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        CHECKF(raw_call(h, same[i].params, &r, &err) == PH_OK, "raw %s: %s",
               same[i].params ? same[i].params : "(none)", err.text);
        /* The tree API's answer to the same params, encoded compactly. */
        json_t *tree = same[i].params ? json_loads(same[i].params, 0, NULL) : NULL;
        json_t *res = NULL;
        CHECK(ph_host_call(h, "echo", "echo", tree, &res, NULL, &err) == PH_OK);
        char *enc = res ? json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        CHECKF(enc && strcmp(r.text, enc) == 0, "raw %s: %s, tree API %s",
               same[i].params ? same[i].params : "(none)", r.text, enc ? enc : "?");
        if (same[i].want)
            CHECKF(strcmp(r.text, same[i].want) == 0, "raw %s: %s", same[i].params, r.text);
        free(enc);
        json_decref(res);
        json_decref(tree);
    }
    /* Refused before anything is sent: not JSON, not a container, or past
     * what jansson holds (the scanner leaves those to it). */
    const char *bad[] = {
        "[1,",   "\"str\"",          "42", "[1e400]", "[12345678901234567890]", "[\"\\u0000\"]",
        "[1] x", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(raw_call(h, bad[i], &r, &err) == PH_E_INVALID, "raw %s accepted", bad[i]);
    CHECK(ph_host_call_raw_async(h, "echo", "nosuch", "[]", 2, on_raw, &r, NULL, &err) ==
          PH_E_NOTFOUND);
    CHECK(ph_host_call_raw_async(h, "echo", "echo", "[]", 2, NULL, &r, NULL, &err) == PH_E_INVALID);
    CHECK(ph_host_pending(h) == 0);

    /* Cancelled: the raw callback gets the -32800 error, once. */
    memset(&r, 0, sizeof r);
    uint64_t id;
    CHECK(ph_host_call_raw_async(h, "echo", "echo", "[1]", 3, on_raw, &r, &id, &err) == PH_OK);
    CHECK(ph_host_cancel(h, id) == PH_OK);
    CHECK(drive(h, no_pending, h, 5000) == 0);
    ph_host_process(h, 100, &err);
    CHECKF(r.answers == 1 && r.code == PH_RPC_CANCELLED, "cancelled raw call: %d answers, code %d",
           r.answers, r.code);

    /* With a record running the host reads the bytes (the slow path): the
     * answer is the same and the transcript has both messages. */
    FILE *rec = tmpfile();
    CHECK(rec && ph_host_record(h, fileno(rec), &err) == PH_OK);
    CHECK(raw_call(h, "[\"recorded\", 7]", &r, &err) == PH_OK);
    CHECKF(strcmp(r.text, "[\"recorded\",7]") == 0, "recorded raw call: %s", r.text);
    if (rec) {
        char line[4096];
        int to = 0, from = 0;
        rewind(rec);
        while (fgets(line, sizeof line, rec))
            if (strstr(line, "recorded")) {
                to += strstr(line, "to_plugin") != NULL;
                from += strstr(line, "from_plugin") != NULL;
            }
        CHECKF(to == 1 && from == 1, "transcript: %d to, %d from", to, from);
        fclose(rec);
    }
}

/* The request's size limit does not depend on the caller's spacing: raw
 * params reach the plugin compacted, as the tree API encodes them. */
static void test_raw_spacing(const char *echo_so)
{
    ph_host_options o = {.max_message = 1300};
    ph_host *h = NULL;
    ph_error err;
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    if (!h)
        return;
    CHECK(ph_host_load_file(h, echo_so, NULL, &err) == PH_OK);
    char params[2048];
    size_t n = 0;
    params[n++] = '[';
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(params + n, sizeof params - n, "%s%d", i ? ", " : "", i);
    params[n++] = ']';
    params[n] = '\0';
    CHECKF(n > 1300, "spaced params of %zu bytes", n);
    struct raw_slot r;
    CHECKF(raw_call(h, params, &r, &err) == PH_OK, "raw: %s", err.text);
    CHECKF(r.code == 0 && strlen(r.text) > 1000 && !strchr(r.text, ' '),
           "spaced params over the limit, compact under it: code %d", r.code);
    ph_host_free(h);
}

/* A plugin that never answers: cancellation must reach the application
 * through its own event loop, promptly, and the plugin must then be
 * stopped and restarted on its next call. */
static void test_cancel_hung(const char *echo_so, const char *crashy_so)
{
    if (!crashy_so || access(crashy_so, R_OK) != 0) {
        printf("note: %s not built, skipping the hung-plugin checks\n",
               crashy_so ? crashy_so : "crashy");
        return;
    }
    ph_host_options o = {.cancel_grace_ms = 300, .call_timeout_ms = 20000};
    ph_host *h;
    ph_error err;
    struct events ev = {0};
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    ph_host_set_event_handler(h, on_event, &ev);
    CHECK(ph_host_load_file(h, echo_so, NULL, &err) == PH_OK);
    CHECK(ph_host_load_file(h, crashy_so, NULL, &err) == PH_OK);

    struct slot s = {0};
    CHECK(ph_host_call_async(h, "crashy", "hang", NULL, on_answer, &s, &s.id, &err) == PH_OK);
    ph_host_process(h, 100, &err);
    CHECK(s.answers == 0);
    CHECK(ph_host_cancel(h, s.id) == PH_OK);
    /* The answer is ready now: the descriptor has to say so, or an
     * application sleeping in poll() never hears of it. */
    struct pollfd pf = {.fd = ph_host_fd(h), .events = POLLIN};
    long long t0 = now_ms();
    int n = poll(&pf, 1, 2000);
    CHECKF(n == 1, "cancel answer pending but ph_host_fd not readable after %lld ms",
           now_ms() - t0);
    ph_host_process(h, 0, &err);
    CHECKF(s.answers == 1 && code_of(s.error) == PH_RPC_CANCELLED,
           "hung call after cancel: %d answers, code %d", s.answers, code_of(s.error));
    CHECK(ph_host_pending(h) == 0);

    /* The method ignores cancellation: after the grace period it is killed. */
    long long end = now_ms() + 5000;
    while (ev.ended == 0 && now_ms() < end)
        ph_host_process(h, 100, &err);
    CHECKF(ev.ended == 1 && strcmp(ev.last_end_status, "killed") == 0,
           "hung plugin not stopped after the cancel grace: ended %d status %s", ev.ended,
           ev.last_end_status);
    CHECK(s.answers == 1);
    slot_clear(&s);

    json_t *res = NULL, *rpc = NULL;
    int rc = ph_host_call(h, "crashy", "ok", NULL, &res, &rpc, &err);
    CHECKF(rc == PH_OK && json_is_string(res), "crashy.ok after restart: %d %s", rc, err.text);
    json_decref(res);
    json_decref(rpc);
    res = NULL;
    CHECK(ph_host_call(h, "echo", "echo", NULL, &res, NULL, &err) == PH_OK);
    json_decref(res);

    /* A call timeout is an answer too, with its status. */
    ph_host_free(h);
    ph_host_options o2 = {.call_timeout_ms = 300};
    CHECK(ph_host_new(&o2, &h, &err) == PH_OK);
    CHECK(ph_host_load_file(h, crashy_so, NULL, &err) == PH_OK);
    res = rpc = NULL;
    t0 = now_ms();
    rc = ph_host_call(h, "crashy", "hang", NULL, &res, &rpc, &err);
    CHECKF(rc == PH_E_PLUGIN && code_of(rpc) == PH_RPC_PLUGIN_TIMEOUT, "hang: rc %d code %d", rc,
           code_of(rpc));
    CHECK(strcmp(str_at(json_object_get(rpc, "data"), "status"), "timeout") == 0);
    CHECKF(now_ms() - t0 < 5000, "timeout took %lld ms", now_ms() - t0);
    json_decref(rpc);
    ph_host_free(h);
}

/* An application that only makes sync calls, each answered at once, still
 * hears of everything else: here another plugin killed from outside while
 * idle, whose end only its pidfd reports. */
static void test_sync_loop_sees_ends(const char *echo_so, const char *crashy_so)
{
    if (!crashy_so || access(crashy_so, R_OK) != 0)
        return;
    ph_host *h;
    ph_error err;
    struct events ev = {0};
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    ph_host_set_event_handler(h, on_event, &ev);
    CHECK(ph_host_load_file(h, echo_so, NULL, &err) == PH_OK);
    CHECK(ph_host_load_file(h, crashy_so, NULL, &err) == PH_OK);
    pid_t pid = pid_of(h, "crashy");
    CHECKF(pid > 0 && kill(pid, SIGKILL) == 0, "cannot kill crashy (pid %d)", (int)pid);
    long long t0 = now_ms();
    int calls = 0;
    while (ev.ended == 0 && now_ms() - t0 < 3000) {
        json_t *res = NULL;
        CHECK(ph_host_call(h, "echo", "echo", NULL, &res, NULL, &err) == PH_OK);
        json_decref(res);
        calls++;
    }
    CHECKF(ev.ended == 1, "crashy's end not reported after %d sync calls to echo", calls);
    ph_host_free(h);
}

static void test_free_in_flight(const char *echo_so)
{
    ph_host *h;
    ph_error err;
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    CHECK(ph_host_load_file(h, echo_so, NULL, &err) == PH_OK);
    struct slot slots[16];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < 16; i++)
        CHECK(ph_host_call_async(h, "echo", "echo", NULL, on_answer, &slots[i], &slots[i].id,
                                 &err) == PH_OK);
    CHECK(ph_host_cancel(h, slots[0].id) == PH_OK);
    ph_host_free(h);
    /* Whatever happened, nobody is answered twice; every caller that gets
     * an answer gets a well-formed one (checked in on_answer). */
    for (int i = 0; i < 16; i++) {
        CHECKF(slots[i].answers <= 1, "call %d answered %d times during free", i, slots[i].answers);
        /* The header promises exactly one answer per call. */
        CHECKF(slots[i].answers == 1, "call %d never answered by ph_host_free", i);
        slot_clear(&slots[i]);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ECHO_SO [CRASHY_SO]\n", argv[0]);
        return 2;
    }
    const char *echo_so = argv[1];
    const char *crashy_so = argc > 2 ? argv[2] : NULL;

    CHECK(strcmp(ph_end_name(PH_END_SIGNALED), "signaled") == 0);
    CHECK(strcmp(ph_end_name(PH_END_TIMEOUT), "timeout") == 0);
    CHECK(strcmp(ph_end_name((enum ph_end)999), "unknown") == 0);

    test_new_errors();

    ph_host *h = NULL;
    ph_error err = {0};
    int rc = ph_host_new(NULL, &h, &err);
    CHECKF(rc == PH_OK && h, "ph_host_new: %d %s (is PLUGHOST_LOADER set?)", rc, err.text);
    if (!h)
        return ph_t_summary("test_host");
    struct events ev = {0};
    ph_host_set_event_handler(h, on_event, &ev);
    CHECK(ph_host_pending(h) == 0);
    CHECK(ph_host_fd(h) >= 0);

    test_load(h, echo_so, &ev);
    /* The refused duplicate was started and stopped; what counts from here
     * is that echo itself never ends. */
    int ended_after_load = ev.ended;
    test_sync(h);
    test_async(h);
    test_sync_amid_async(h);
    test_fd_pollable(h);
    test_watch_fd(h);
    test_cork(h);
    test_cancel(h);
    test_raw(h); /* last: it leaves a record running */
    CHECK(ph_host_pending(h) == 0);
    CHECKF(ev.ended == ended_after_load, "echo ended %d times", ev.ended - ended_after_load);
    ph_host_free(h);

    test_raw_spacing(echo_so);
    test_free_in_flight(echo_so);
    test_cancel_hung(echo_so, crashy_so);
    test_sync_loop_sees_ends(echo_so, crashy_so);
    return ph_t_summary("test_host");
}
