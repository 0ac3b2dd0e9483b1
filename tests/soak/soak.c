/*
 * soak: many calls, many in flight, to twenty plugins that misbehave at
 * random (crash, exit, hang, forbidden syscall) between well-behaved calls,
 * through the public host API only. It checks what a long-lived host must
 * keep true: every call is answered exactly once, every answer is the right
 * one (a failure is blamed on the call that caused it), and the host's
 * descriptors, threads and memory are where they were after warm-up, with no
 * child process left once the host is freed.
 *
 * Each call's behaviour and params derive from (seed, sequence number) alone,
 * so the expected answer is rebuilt when the answer arrives instead of being
 * stored, and a failing run is replayed exactly with the same seed.
 *
 * Usage: soak --plugins DIR [--calls N] [--seed S] [--fault-rate F]
 *             [--inflight K] [--warmup W] [--timeout MS] [--log-lines L]
 *             [--rss-slack KIB] [--loader PATH] [--instances N] [--spares K]
 *             [--isolate-call 1]
 */
#include <plughost/host.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PLUGINS 64
#define KV_KEYS 8
/* RSS may move a little without a leak: malloc keeps freed blocks in its
 * bins and jansson's hash tables keep the size they grew to. A leak of one
 * small object per call over 20000 calls is already larger than this. */
#define RSS_SLACK_KIB 2048
/* With no answer for this long the loop gives up and reports the calls that
 * are still missing rather than hanging ctest. */
#define STALL_MS 30000
#define MAX_REPORTED 25

enum kind {
    K_ECHO,
    K_SLEEP,
    K_FAIL,
    K_BIG,
    K_LOGSPAM,
    K_KV,
    K_CRASH,
    K_EXIT,
    K_HANG,
    K_SOCKET,
    K_COUNT
};

static const struct {
    const char *method;
    unsigned weight;   /* share among the injected (non-echo) calls */
    const char *death; /* status of the plugin's ending it causes, or NULL */
    int code;          /* JSON-RPC code of that ending */
} kinds[K_COUNT] = {
    [K_ECHO] = {"echo", 0, NULL, 0},
    [K_SLEEP] = {"sleep", 2, NULL, 0},
    [K_FAIL] = {"fail", 2, NULL, 0},
    [K_BIG] = {"big", 2, NULL, 0},
    [K_LOGSPAM] = {"logspam", 1, NULL, 0},
    [K_KV] = {"kv", 2, NULL, 0},
    [K_CRASH] = {"crash", 1, "signaled", PH_RPC_PLUGIN_CRASHED},
    [K_EXIT] = {"exit", 1, "exited", PH_RPC_PLUGIN_CRASHED},
    [K_HANG] = {"hang", 1, "timeout", PH_RPC_PLUGIN_TIMEOUT},
    [K_SOCKET] = {"socket", 1, "violation", PH_RPC_PLUGIN_VIOLATION},
};

/* One call, indexed by sequence number. Small, because the long run keeps a
 * million of them, and touched up front so that RSS does not grow as the
 * table fills. */
struct rec {
    uint64_t call_id;
    uint32_t round; /* loop round in which the call was issued */
    uint32_t arg;
    uint8_t kind, plugin, answers, issued;
};

struct plugin_state {
    char name[64];
    unsigned inflight[K_COUNT];
    uint32_t last_answer_round[K_COUNT];
};

struct usage {
    long fds, threads, rss_kib, children;
    long heap_kib; /* malloc's bytes in use: growth here is held memory, not fragmentation */
};

static struct {
    ph_host *host;
    struct rec *recs;
    size_t nrecs, next_seq;
    uint64_t seed;
    double fault_rate;
    unsigned log_lines; /* logspam logs 1..log_lines lines */
    struct plugin_state plugins[MAX_PLUGINS];
    unsigned nplugins;
    uint32_t round;
    size_t outstanding;
    /* outcomes */
    unsigned long issued, answered, duplicates, stray, wrong, issue_errors;
    unsigned long injected[K_COUNT];
    unsigned long as_expected[K_COUNT], collateral[K_COUNT];
    unsigned long ok_results, plugin_errors, by_status[16];
    unsigned long logs, logs_expected, started, ended, circuit_open, load_errors;
    unsigned long ended_by_status[16];
    unsigned reported;
    /* checks */
    unsigned passed, failed;
} S;

static const char *const statuses[] = {"signaled",    "exited",   "timeout", "violation",
                                       "killed",      "protocol", "limit",   "ok",
                                       "setup_error", "running",  "other",   "cancelled"};
#define NSTATUS (sizeof statuses / sizeof statuses[0])

static unsigned status_index(const char *s)
{
    for (unsigned i = 0; s && i < NSTATUS; i++)
        if (strcmp(s, statuses[i]) == 0)
            return i;
    return 10; /* "other" */
}

__attribute__((format(printf, 2, 3))) static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap); /* fmt is always one of check()'s literal callers' */
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (ok)
        S.passed++;
    else
        S.failed++;
}

/* ---- deterministic plan ---- */

static uint64_t mix(uint64_t x)
{
    /* splitmix64's finaliser: every input bit reaches every output bit, so
     * consecutive sequence numbers give unrelated plans. */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t rnd(size_t seq, unsigned stream)
{
    return mix(S.seed ^ mix((uint64_t)seq * 16 + stream));
}

static void plan(size_t seq, struct rec *r)
{
    *r = (struct rec){0};
    r->plugin = (uint8_t)(rnd(seq, 0) % S.nplugins);
    r->arg = (uint32_t)rnd(seq, 1);
    r->kind = K_ECHO;
    double u = (double)(rnd(seq, 2) >> 11) / (double)(1ull << 53);
    if (u < S.fault_rate) {
        unsigned total = 0;
        for (int k = 0; k < K_COUNT; k++)
            total += kinds[k].weight;
        unsigned pick = (unsigned)(rnd(seq, 3) % total);
        for (int k = 0; k < K_COUNT; k++) {
            if (pick < kinds[k].weight) {
                r->kind = (uint8_t)k;
                break;
            }
            pick -= kinds[k].weight;
        }
    }
}

/* Quotes, backslashes, control characters and multi-byte UTF-8 go through
 * both codecs on every echo. */
static const char *const alphabet[] = {"a",
                                       "b",
                                       "z",
                                       "0",
                                       "9",
                                       " ",
                                       "\"",
                                       "\\",
                                       "/",
                                       "\n",
                                       "\t",
                                       "\x01",
                                       "\xc3\xa9",
                                       "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80",
                                       "{",
                                       "}",
                                       "[",
                                       "]",
                                       ":"};

static json_t *params_for(size_t seq, const struct rec *r)
{
    switch ((enum kind)r->kind) {
    case K_ECHO: {
        char buf[1024];
        size_t len = 0, want = r->arg % 257;
        uint64_t x = rnd(seq, 4);
        for (size_t i = 0; i < want; i++) {
            x = mix(x);
            const char *c = alphabet[x % (sizeof alphabet / sizeof alphabet[0])];
            size_t cl = strlen(c);
            memcpy(buf + len, c, cl);
            len += cl;
        }
        return json_pack("{s:I,s:s%,s:I,s:b}", "seq", (json_int_t)seq, "payload", buf, len, "n",
                         (json_int_t)(rnd(seq, 5) >> 12) - ((json_int_t)1 << 50), "flag",
                         (int)(r->arg & 1));
    }
    case K_SLEEP:
        return json_pack("{s:I,s:i}", "seq", (json_int_t)seq, "ms", 1 + (int)(r->arg % 5));
    case K_BIG:
        return json_pack("{s:I,s:i}", "seq", (json_int_t)seq, "size",
                         100 * 1024 + (int)(r->arg % 64));
    case K_LOGSPAM:
        return json_pack("{s:I,s:i}", "seq", (json_int_t)seq, "n", 1 + (int)(r->arg % S.log_lines));
    case K_KV: {
        char key[16];
        snprintf(key, sizeof key, "k%u", r->arg % KV_KEYS);
        return json_pack("{s:I,s:s,s:I}", "seq", (json_int_t)seq, "key", key, "value",
                         (json_int_t)seq);
    }
    default:
        return json_pack("{s:I}", "seq", (json_int_t)seq);
    }
}

/* ---- checking answers ---- */

static void wrong(size_t seq, const struct rec *r, const char *why, json_t *result, json_t *error)
{
    S.wrong++;
    if (S.reported++ >= MAX_REPORTED)
        return;
    char *rs = result ? json_dumps(result, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    char *es = error ? json_dumps(error, JSON_COMPACT) : NULL;
    printf("  wrong answer: call %zu (%s.%s, id %llu): %s\n    result: %.300s\n    error: "
           "%.600s\n",
           seq, S.plugins[r->plugin].name, kinds[r->kind].method, (unsigned long long)r->call_id,
           why, rs ? rs : "-", es ? es : "-");
    free(rs);
    free(es);
}

static enum kind kind_of_method(const char *m)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strcmp(kinds[k].method, m) == 0)
            return (enum kind)k;
    return K_COUNT;
}

/* A call may fail because another call on the same plugin killed it. The
 * host's message then names the call that was running ("while running X;
 * this call (Y) was waiting behind it"); it must be a deadly call of the
 * matching kind that was really in flight on that plugin. Returns 1 when the
 * failure is explained that way. */
static int is_collateral(const struct rec *r, const char *status, const char *msg)
{
    /* In a pool a call waits in the host's queue, not behind a call in the
     * plugin: it times out there only while every instance is taken or
     * restarting (with backoff) after a death. A deadly or sleeping call on
     * that plugin, in flight now or answered while this one waited,
     * explains it; nothing else does. */
    if (msg && strstr(msg, "waiting for an idle instance") && strcmp(status, "timeout") == 0) {
        const struct plugin_state *ps = &S.plugins[r->plugin];
        for (int k = 0; k < K_COUNT; k++) {
            if (!kinds[k].death && k != K_SLEEP)
                continue;
            if (ps->inflight[k] - (r->kind == (enum kind)k) > 0 ||
                ps->last_answer_round[k] >= r->round)
                return 1;
        }
        return 0;
    }
    const char *run = msg ? strstr(msg, "while running ") : NULL;
    const char *behind = msg ? strstr(msg, "; this call (") : NULL;
    if (!run || !behind || behind < run)
        return 0;
    run += strlen("while running ");
    char method[64];
    size_t n = (size_t)(behind - run);
    if (n == 0 || n >= sizeof method)
        return 0;
    memcpy(method, run, n);
    method[n] = '\0';
    enum kind k = kind_of_method(method);
    if (k == K_COUNT || !kinds[k].death || strcmp(kinds[k].death, status) != 0)
        return 0;
    const struct plugin_state *ps = &S.plugins[r->plugin];
    unsigned others = ps->inflight[k] - (r->kind == k);
    return others > 0 || ps->last_answer_round[k] == S.round;
}

/* The ending a deadly call itself must be reported with. */
static int deadly_as_expected(const struct rec *r, json_t *error, const char *msg)
{
    json_t *data = json_object_get(error, "data");
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    if (code != kinds[r->kind].code || !msg || !strstr(msg, "while running ") ||
        strstr(msg, "; this call ("))
        return 0;
    char want[64];
    snprintf(want, sizeof want, "while running %s", kinds[r->kind].method);
    if (!strstr(msg, want))
        return 0;
    switch ((enum kind)r->kind) {
    case K_CRASH:
        return json_is_string(json_object_get(data, "signal")) &&
               strcmp(json_string_value(json_object_get(data, "signal")), "SIGSEGV") == 0;
    case K_EXIT:
        return json_integer_value(json_object_get(data, "exit_code")) == 7;
    case K_HANG:
        return json_is_string(json_object_get(data, "limit")) &&
               strcmp(json_string_value(json_object_get(data, "limit")), "call_timeout_ms") == 0;
    case K_SOCKET:
        return json_is_string(json_object_get(data, "syscall")) &&
               strcmp(json_string_value(json_object_get(data, "syscall")), "socket") == 0;
    default:
        return 0;
    }
}

static int check_result(size_t seq, const struct rec *r, json_t *result)
{
    switch ((enum kind)r->kind) {
    case K_ECHO: {
        json_t *want = params_for(seq, r);
        int ok = json_equal(want, result);
        json_decref(want);
        return ok;
    }
    case K_SLEEP:
        return json_integer_value(result) == (json_int_t)seq && json_is_integer(result);
    case K_KV:
        return json_is_integer(result) && json_integer_value(result) == (json_int_t)seq;
    case K_LOGSPAM: {
        json_int_t n = 1 + (json_int_t)(r->arg % S.log_lines);
        if (!json_is_integer(result) || json_integer_value(result) != n)
            return 0;
        S.logs_expected += (unsigned long)n;
        return 1;
    }
    case K_BIG: {
        size_t want = 100 * 1024 + r->arg % 64;
        const char *s = json_string_value(result);
        if (!s || json_string_length(result) != want)
            return 0;
        char c = (char)('a' + (int)(seq % 26));
        for (size_t i = 0; i < want; i++)
            if (s[i] != c)
                return 0;
        return 1;
    }
    default:
        return 0; /* fail and the deadly ones never succeed */
    }
}

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    size_t seq = (size_t)(uintptr_t)ud;
    if (seq >= S.nrecs || !S.recs[seq].issued || S.recs[seq].call_id != call_id) {
        S.stray++;
        return;
    }
    struct rec *r = &S.recs[seq];
    if (r->answers++ > 0) {
        S.duplicates++;
        return;
    }
    S.answered++;
    S.outstanding--;
    struct plugin_state *ps = &S.plugins[r->plugin];
    if (kinds[r->kind].death) {
        ps->inflight[r->kind]--;
        ps->last_answer_round[r->kind] = S.round;
    }
    if ((result == NULL) == (error == NULL)) {
        wrong(seq, r, "not exactly one of result and error", result, error);
        return;
    }
    if (result) {
        S.ok_results++;
        if (check_result(seq, r, result))
            S.as_expected[r->kind]++;
        else
            wrong(seq, r, "unexpected result", result, NULL);
        return;
    }
    /* Only a reserved code makes data the host's report, which names the
     * plugin and the method; a method's own error carries its data as it
     * gave it (the soak plugin's fail gives none). */
    json_t *data = json_object_get(error, "data");
    int report = ph_rpc_code_reserved(json_integer_value(json_object_get(error, "code")));
    const char *status = report ? json_string_value(json_object_get(data, "status")) : NULL;
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *plugin = json_string_value(json_object_get(data, "plugin"));
    const char *method = json_string_value(json_object_get(data, "method"));
    if (!status)
        S.plugin_errors++;
    else
        S.by_status[status_index(status)]++;
    if (report && (!plugin || strcmp(plugin, ps->name) != 0 || !method ||
                   strcmp(method, kinds[r->kind].method) != 0)) {
        wrong(seq, r, "error data does not name the plugin and method", NULL, error);
        return;
    }
    if (!status && r->kind == K_FAIL) {
        char want[64];
        snprintf(want, sizeof want, "soak failure %zu", seq);
        if (json_integer_value(json_object_get(error, "code")) == 42 && msg &&
            strcmp(msg, want) == 0 && !data)
            S.as_expected[r->kind]++;
        else
            wrong(seq, r, "plugin error altered", NULL, error);
        return;
    }
    if (status && kinds[r->kind].death && deadly_as_expected(r, error, msg)) {
        S.as_expected[r->kind]++;
        return;
    }
    if (status && is_collateral(r, status, msg)) {
        S.collateral[r->kind]++;
        return;
    }
    wrong(seq, r,
          kinds[r->kind].death ? "deadly call reported with the wrong ending"
                               : "failure not explained by a deadly call in flight",
          NULL, error);
}

static void on_event(void *ud, json_t *ev)
{
    (void)ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type)
        return;
    if (strcmp(type, "log") == 0)
        S.logs++;
    else if (strcmp(type, "started") == 0)
        S.started++;
    else if (strcmp(type, "ended") == 0) {
        S.ended++;
        S.ended_by_status[status_index(json_string_value(json_object_get(ev, "status")))]++;
    } else if (strcmp(type, "circuit_open") == 0)
        S.circuit_open++;
    else if (strcmp(type, "load_error") == 0)
        S.load_errors++;
}

/* ---- driving ---- */

static int issue(size_t seq, const struct rec *planned)
{
    struct rec *r = &S.recs[seq];
    *r = *planned;
    r->answers = r->issued = 0;
    r->round = S.round;
    json_t *params = params_for(seq, r);
    ph_error err;
    int rc = ph_host_call_async(S.host, S.plugins[r->plugin].name, kinds[r->kind].method, params,
                                on_answer, (void *)(uintptr_t)seq, &r->call_id, &err);
    json_decref(params);
    if (rc < 0) {
        S.issue_errors++;
        if (S.reported++ < MAX_REPORTED)
            printf("  call %zu not started: %s\n", seq, err.text);
        return -1;
    }
    r->issued = 1;
    S.issued++;
    S.outstanding++;
    S.injected[r->kind]++;
    if (kinds[r->kind].death)
        S.plugins[r->plugin].inflight[r->kind]++;
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits on the host's descriptor as an application's own loop would, then
 * lets the host handle what is ready. Returns -1 after a stall. */
static int turn(uint64_t *last_progress)
{
    struct pollfd pfd = {.fd = ph_host_fd(S.host), .events = POLLIN};
    int n = poll(&pfd, 1, 1000);
    if (n < 0 && errno != EINTR) {
        perror("soak: poll");
        return -1;
    }
    unsigned long before = S.answered;
    S.round++;
    ph_error err;
    if (ph_host_process(S.host, 0, &err) < 0) {
        printf("  ph_host_process: %s\n", err.text);
        return -1;
    }
    uint64_t now = now_ms();
    if (S.answered != before || S.outstanding == 0)
        *last_progress = now;
    else if (now - *last_progress > STALL_MS) {
        printf("  no answer for %d ms with %zu calls outstanding: giving up\n", STALL_MS,
               S.outstanding);
        return -1;
    }
    return 0;
}

/* Runs count random calls keeping up to inflight of them outstanding, then
 * waits for every answer. */
static int run_random(size_t count, unsigned inflight, int progress)
{
    uint64_t last = now_ms(), start = last;
    size_t end = S.next_seq + count, step = count / 10 ? count / 10 : 1, next_report = step;
    while (S.next_seq < end || S.outstanding > 0) {
        while (S.next_seq < end && S.outstanding < inflight) {
            struct rec r;
            plan(S.next_seq, &r);
            issue(S.next_seq++, &r);
        }
        if (S.outstanding > 0 && turn(&last) < 0)
            return -1;
        size_t done = S.next_seq - (end - count);
        if (progress && done >= next_report) {
            double s = (double)(now_ms() - start) / 1000.0;
            fprintf(stderr, "soak: %zu/%zu calls issued, %.0f s, %.0f calls/s\n", done, count, s,
                    s > 0 ? (double)done / s : 0.0);
            next_report += step;
        }
    }
    return 0;
}

/* Whether a plugin's instances are all at rest (idle or down: none
 * loading, busy or ending), and how many are idle. */
static int at_rest(json_t *plugin, long *idle)
{
    json_t *inst;
    size_t i;
    int rest = 1;
    json_array_foreach(json_object_get(plugin, "instances"), i, inst)
    {
        const char *st = json_string_value(json_object_get(inst, "state"));
        rest &= strcmp(st, "idle") == 0 || strcmp(st, "down") == 0;
        *idle += strcmp(st, "idle") == 0;
    }
    return rest;
}

/* A pool keeps starting and ending processes after the last answer (a
 * spare coming up, an isolated call's process going): waits until every
 * pool is at rest, so both measurements see the same processes. */
static int quiesce(void)
{
    uint64_t until = now_ms() + 20000;
    while (now_ms() < until) {
        json_t *desc = ph_host_describe(S.host), *p;
        size_t i;
        int rest = 1;
        long idle = 0;
        json_array_foreach(json_object_get(desc, "plugins"), i, p) rest &= at_rest(p, &idle);
        json_decref(desc);
        if (rest)
            return 0;
        if (ph_host_process(S.host, 10, NULL) < 0)
            return -1;
    }
    printf("  the pools did not come to rest in 20 s\n");
    return -1;
}

/* Brings every plugin to the same state before a measurement: running
 * (restarted if its last call killed it) with every kv key written, so that
 * the host holds the same things both times. */
static int settle(void)
{
    uint64_t last = now_ms();
    for (unsigned p = 0; p < S.nplugins; p++) {
        struct rec r = {.kind = K_ECHO, .plugin = (uint8_t)p, .arg = (uint32_t)p};
        issue(S.next_seq++, &r);
        for (uint32_t k = 0; k < KV_KEYS; k++) {
            r = (struct rec){.kind = K_KV, .plugin = (uint8_t)p, .arg = k};
            issue(S.next_seq++, &r);
        }
    }
    while (S.outstanding > 0)
        if (turn(&last) < 0)
            return -1;
    return quiesce();
}

/* ---- measuring the host process ---- */

static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static long status_field(const char *path, const char *field)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
            v = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Processes whose parent is this one, zombies included: a plugin the host
 * failed to reap shows here even after its pidfd is closed. */
static long count_children(int print)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    long n = 0, self = (long)getpid();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
        if (status_field(path, "PPid") == self) {
            n++;
            if (print)
                printf("  child left: pid %s\n", de->d_name);
        }
    }
    closedir(d);
    return n;
}

static struct usage measure(void)
{
    /* Freed memory returned first, so RSS counts what is still in use. */
    malloc_trim(0);
    struct mallinfo2 mi = mallinfo2();
    return (struct usage){count_fds(), status_field("/proc/self/status", "Threads"),
                          status_field("/proc/self/status", "VmRSS"), count_children(0),
                          (long)((mi.uordblks + mi.hblkhd) / 1024)};
}

/* ---- set-up ---- */

static char *copy_plugins(const char *from, unsigned max)
{
    unsigned copied = 0;
    static char dir[] = "/tmp/plughost-soak-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("soak: mkdtemp");
        return NULL;
    }
    DIR *d = opendir(from);
    if (!d) {
        fprintf(stderr, "soak: cannot read %s: %s\n", from, strerror(errno));
        return NULL;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0 || copied >= max)
            continue;
        copied++;
        char src[4096], dst[4096];
        snprintf(src, sizeof src, "%s/%s", from, de->d_name);
        snprintf(dst, sizeof dst, "%s/%s", dir, de->d_name);
        int in = open(src, O_RDONLY | O_CLOEXEC);
        int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        char buf[65536];
        ssize_t got;
        while (in >= 0 && out >= 0 && (got = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)got) != got) {
                got = -1;
                break;
            }
        if (in < 0 || out < 0)
            fprintf(stderr, "soak: cannot copy %s: %s\n", src, strerror(errno));
        if (in >= 0)
            close(in);
        if (out >= 0)
            close(out);
    }
    closedir(d);
    return dir;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soak --plugins DIR [--calls N] [--seed S] [--fault-rate F]\n"
            "            [--inflight K] [--warmup W] [--timeout MS] [--log-lines L]\n"
            "            [--instances N] [--spares K] [--isolate-call 1]\n"
            "            [--rss-slack KIB (-1: not checked)] [--count PLUGINS] [--loader PATH]\n");
}

int main(int argc, char **argv)
{
    size_t calls = 20000, warmup = 2000;
    unsigned inflight = 64, timeout_ms = 200;
    long rss_slack = RSS_SLACK_KIB;
    unsigned max_plugins = MAX_PLUGINS;
    S.log_lines = 100;
    const char *plugdir = NULL, *loader = NULL;
    unsigned pool_instances = 0, pool_spares = 0, pool_isolate = PH_ISOLATE_NONE;
    S.seed = 1;
    S.fault_rate = 0.02;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--calls") == 0)
            calls = strtoull(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            S.seed = strtoull(v, NULL, 0);
        else if (strcmp(a, "--fault-rate") == 0)
            S.fault_rate = strtod(v, NULL);
        else if (strcmp(a, "--inflight") == 0)
            inflight = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--warmup") == 0)
            warmup = strtoull(v, NULL, 10);
        else if (strcmp(a, "--timeout") == 0)
            timeout_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--log-lines") == 0)
            S.log_lines = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--count") == 0)
            max_plugins = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--rss-slack") == 0)
            rss_slack = strtol(v, NULL, 10);
        else if (strcmp(a, "--plugins") == 0)
            plugdir = v;
        else if (strcmp(a, "--loader") == 0)
            loader = v;
        else if (strcmp(a, "--instances") == 0)
            pool_instances = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--spares") == 0)
            pool_spares = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--isolate-call") == 0)
            pool_isolate = strcmp(v, "1") == 0 ? PH_ISOLATE_CALL : PH_ISOLATE_NONE;
        else {
            usage();
            return 2;
        }
    }
    if (!plugdir || inflight == 0 || S.log_lines == 0 || S.fault_rate < 0 || S.fault_rate > 1) {
        usage();
        return 2;
    }
    S.nrecs = warmup + calls + 2 * (size_t)MAX_PLUGINS * (1 + KV_KEYS);
    S.recs = calloc(S.nrecs, sizeof *S.recs);
    if (!S.recs) {
        fprintf(stderr, "soak: cannot allocate %zu call records\n", S.nrecs);
        return 1;
    }
    /* Fault every page in now, so that filling the table does not read as
     * host memory growth. A plain memset would not do: the compiler may turn
     * malloc+memset into calloc, whose fresh pages stay unbacked until the
     * first write. */
    for (size_t off = 0; off < S.nrecs * sizeof *S.recs; off += 4096)
        ((volatile char *)S.recs)[off] = 0;

    char *dir = copy_plugins(plugdir, max_plugins);
    if (!dir)
        return 1;
    uint64_t t0 = now_ms();
    struct usage before_host = measure();
    ph_host_options opts = {
        .loader_path = loader,
        .call_timeout_ms = timeout_ms,
        /* The soak injects far more failures than the circuit breaker is
         * meant to tolerate; it tests that the host survives them, so the
         * breaker is kept shut and restarts come at once. */
        .max_failures = ~0u,
        .restart_backoff_ms = 1,
        .restart_backoff_max_ms = 1,
        /* A pool of each plugin (soak_pool): the same checks hold for
         * every instance. */
        .instances = pool_instances,
        .spares = pool_spares,
        .isolate = pool_isolate,
    };
    ph_error err;
    if (ph_host_new(&opts, &S.host, &err) < 0) {
        fprintf(stderr, "soak: %s\n", err.text);
        remove_dir(dir);
        return 1;
    }
    ph_host_set_event_handler(S.host, on_event, NULL);
    if (ph_host_load_dir(S.host, dir, &err) < 0) {
        fprintf(stderr, "soak: %s\n", err.text);
        ph_host_free(S.host);
        remove_dir(dir);
        return 1;
    }
    json_t *desc = ph_host_describe(S.host);
    json_t *pl = json_object_get(desc, "plugins");
    for (size_t i = 0; i < json_array_size(pl) && S.nplugins < MAX_PLUGINS; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(pl, i), "name"));
        if (name)
            snprintf(S.plugins[S.nplugins++].name, sizeof S.plugins[0].name, "%s", name);
    }
    json_decref(desc);
    check(S.nplugins >= 2 && S.load_errors == 0, "%u plugins loaded from %s, %lu load errors",
          S.nplugins, dir, S.load_errors);
    if (S.nplugins < 2) {
        ph_host_free(S.host);
        remove_dir(dir);
        printf("soak: %u passed, %u failed\n", S.passed, S.failed);
        return 1;
    }

    int broken = run_random(warmup, inflight, 0) < 0 || settle() < 0;
    struct usage base = measure();
    uint64_t t1 = now_ms();
    broken = broken || run_random(calls, inflight, 1) < 0;
    uint64_t t2 = now_ms();
    broken = broken || settle() < 0;
    struct usage end = measure();

    desc = ph_host_describe(S.host);
    long restarts = 0, ready = 0;
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(desc, "plugins"), i, p)
    {
        restarts += (long)json_integer_value(json_object_get(p, "restarts"));
        /* Running: its first instance, or under isolate "call" (whose
         * processes end after each call) an idle spare. */
        long idle = 0;
        at_rest(p, &idle);
        ready += strcmp(json_string_value(json_object_get(p, "state")), "ready") == 0 ||
                 (pool_isolate == PH_ISOLATE_CALL && idle > 0);
    }
    json_decref(desc);

    ph_host_free(S.host);
    struct usage after_free = measure();
    remove_dir(dir);

    unsigned long missing = 0;
    for (size_t s = 0; s < S.next_seq; s++)
        missing += S.recs[s].issued && S.recs[s].answers == 0;

    printf("\ncalls: %lu issued (%lu warm-up and settling, %zu measured) to %u plugins, seed "
           "%llu, fault rate %.4f, %u in flight, call timeout %u ms, up to %u log lines\n",
           S.issued, S.issued - calls, calls, S.nplugins, (unsigned long long)S.seed, S.fault_rate,
           inflight, timeout_ms, S.log_lines);
    printf("injected:");
    for (int k = 1; k < K_COUNT; k++)
        printf(" %s %lu", kinds[k].method, S.injected[k]);
    printf(" (echo %lu)\n", S.injected[K_ECHO]);
    printf("as expected:");
    for (int k = 0; k < K_COUNT; k++)
        printf(" %s %lu", kinds[k].method, S.as_expected[k]);
    printf("\nfailed by another call's fault (collateral):");
    for (int k = 0; k < K_COUNT; k++)
        if (S.collateral[k])
            printf(" %s %lu", kinds[k].method, S.collateral[k]);
    printf("\nanswers: %lu (ok %lu, plugin error %lu", S.answered, S.ok_results, S.plugin_errors);
    for (unsigned s = 0; s < NSTATUS; s++)
        if (S.by_status[s])
            printf(", %s %lu", statuses[s], S.by_status[s]);
    printf("), wrong %lu, duplicates %lu, missing %lu, stray %lu, not started %lu\n", S.wrong,
           S.duplicates, missing, S.stray, S.issue_errors);
    printf("plugin endings: %lu (", S.ended);
    for (unsigned s = 0, first = 1; s < NSTATUS; s++)
        if (S.ended_by_status[s]) {
            printf("%s%s %lu", first ? "" : ", ", statuses[s], S.ended_by_status[s]);
            first = 0;
        }
    printf("), starts %lu, restarts %ld, circuit opened %lu, logs %lu\n", S.started, restarts,
           S.circuit_open, S.logs);
    printf("fds: %ld before the host, %ld after warm-up, %ld at the end, %ld after ph_host_free\n",
           before_host.fds, base.fds, end.fds, after_free.fds);
    printf("threads: %ld after warm-up, %ld at the end\n", base.threads, end.threads);
    printf("RSS: %ld KiB after warm-up, %ld KiB at the end (%+ld KiB, slack %ld KiB)\n",
           base.rss_kib, end.rss_kib, end.rss_kib - base.rss_kib, rss_slack);
    printf("heap in use: %ld KiB after warm-up, %ld KiB at the end (%+ld KiB)\n", base.heap_kib,
           end.heap_kib, end.heap_kib - base.heap_kib);
    printf("children: %ld while running, %ld after ph_host_free\n", base.children,
           after_free.children);
    double secs = (double)(t2 - t1) / 1000.0;
    printf("time: %.1f s measured (%.0f calls/s), %.1f s in all\n\n", secs,
           secs > 0 ? (double)calls / secs : 0.0, (double)(now_ms() - t0) / 1000.0);

    check(!broken, "the loop ran to the end without stalling");
    check(missing == 0 && S.answered == S.issued, "every call answered (%lu of %lu, %lu missing)",
          S.answered, S.issued, missing);
    check(S.duplicates == 0 && S.stray == 0, "no call answered twice (%lu) or unknown (%lu)",
          S.duplicates, S.stray);
    check(S.issue_errors == 0, "every call started (%lu refused)", S.issue_errors);
    check(S.wrong == 0, "every answer is the expected one (%lu wrong)", S.wrong);
    unsigned long deadly = 0, deadly_ok = 0;
    for (int k = 0; k < K_COUNT; k++)
        if (kinds[k].death) {
            deadly += S.injected[k];
            deadly_ok += S.as_expected[k] + S.collateral[k];
        }
    check(deadly == deadly_ok, "every deadly call ended its plugin as injected (%lu of %lu)",
          deadly_ok, deadly);
    check(S.logs >= S.logs_expected,
          "log lines delivered: %lu, at least the %lu of answered "
          "logspam calls",
          S.logs, S.logs_expected);
    check(S.circuit_open == 0 && S.load_errors == 0, "no circuit opened (%lu), no load error (%lu)",
          S.circuit_open, S.load_errors);
    check(ready == (long)S.nplugins, "all %u plugins running after settling (%ld)", S.nplugins,
          ready);
    check(end.fds == base.fds, "open descriptors unchanged: %ld -> %ld", base.fds, end.fds);
    check(end.threads == base.threads, "threads unchanged: %ld -> %ld", base.threads, end.threads);
    /* Under valgrind RSS is mostly valgrind's own; its leak check stands in. */
    if (rss_slack >= 0)
        check(end.rss_kib - base.rss_kib <= rss_slack, "RSS within %ld KiB: %ld -> %ld KiB",
              rss_slack, base.rss_kib, end.rss_kib);
    check(after_free.fds == before_host.fds, "ph_host_free closed everything: %ld -> %ld fds",
          before_host.fds, after_free.fds);
    long left = count_children(1);
    check(left == 0, "no child process left after ph_host_free (%ld)", left);
    free(S.recs);
    printf("soak: %u passed, %u failed\n", S.passed, S.failed);
    return S.failed ? 1 : 0;
}
