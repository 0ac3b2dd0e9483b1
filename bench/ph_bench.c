/*
 * ph_bench: what does a plughost call cost compared with the least any
 * process-isolated JSON-RPC call could cost on this machine?
 *
 * Absolute numbers on a shared machine are noise; ratios to a floor measured
 * in the same run, on the same cores, interleaved in time, are not. So every
 * figure is paired with a floor and the floors and plughost figures are run
 * in alternating rounds, so a slow spell of the machine hits both.
 *
 *   (a) raw floor     ~100-byte ping-pong over an AF_UNIX SOCK_SEQPACKET pair
 *   (b) JSON floor    (a) plus jansson encode/decode of JSON-RPC 2.0 on both ends
 *   (c) in-process    the echo method called directly, no isolation at all
 *   (d) plughost      ph_host_call(host, "echo", "echo", ...)
 *   (e) pipelined     64 calls in flight: plughost async vs the JSON floor
 *   (f) spawn         ph_host_load_file vs fork+exec of a trivial program
 *
 * Each is measured for three CPU placements: both processes on one core, on
 * two different cores, and left to the scheduler.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plughost/host.h>

#ifndef PH_BENCH_SPAWN_CHILD
#define PH_BENCH_SPAWN_CHILD ""
#endif
#ifndef PH_BENCH_PLUGIN_DIR
#define PH_BENCH_PLUGIN_DIR ""
#endif
#ifndef PH_BENCH_LOADER
#define PH_BENCH_LOADER ""
#endif
#ifndef PH_BENCH_HAVE_HOST
#define PH_BENCH_HAVE_HOST 1
#endif

#define MSG_MAX (64 * 1024)
#define RAW_SIZE 100
#define PIPE_DEPTH 64

/* ---------------------------------------------------------------- config */

struct config {
    size_t iters;      /* timed round trips per figure and placement */
    size_t warmup;     /* untimed round trips before the first round */
    size_t rounds;     /* interleaving rounds the iterations are split into */
    size_t pipe_calls; /* calls per pipelined round */
    size_t pipe_rounds;
    size_t spawns; /* plugin starts (and floor spawns) per placement */
    const char *plugin_file;
    const char *loader;
    const char *spawn_child;
    const char *csv_path;
    const char *only; /* comma list of placements to run, NULL: all */
};

static struct config cfg = {
    .iters = 20000,
    .warmup = 2000,
    .rounds = 4,
    .pipe_calls = 20000,
    .pipe_rounds = 5,
    .spawns = 50,
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ph_bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --------------------------------------------------------------- samples */

typedef struct samples {
    uint64_t *v;
    size_t n, cap;
} samples;

static void samples_add(samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("out of memory");
    }
    s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile; NaN when nothing was measured so a missing
 * figure shows as "-" instead of a fake zero. */
static double pct(samples *s, double p)
{
    if (s->n == 0)
        return NAN;
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    size_t i = (size_t)(p / 100.0 * (double)s->n);
    if (i >= s->n)
        i = s->n - 1;
    return (double)s->v[i];
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Of a handful of per-round figures: one round hit by a noisy neighbour
 * must not move the result. */
static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void samples_free(samples *s)
{
    free(s->v);
    *s = (samples){0};
}

/* ------------------------------------------------------------- affinity */

static cpu_set_t orig_mask;
static int cpu_a = -1, cpu_b = -1; /* the two cores used, from the allowed set */

static cpu_set_t mask_of(int c1, int c2)
{
    cpu_set_t m;
    CPU_ZERO(&m);
    if (c1 >= 0)
        CPU_SET(c1, &m);
    if (c2 >= 0)
        CPU_SET(c2, &m);
    return m;
}

static void set_self(const cpu_set_t *m)
{
    if (sched_setaffinity(0, sizeof *m, m) != 0)
        die("sched_setaffinity: %s", strerror(errno));
}

static void mask_str(const cpu_set_t *m, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int c = 0; c < CPU_SETSIZE && used + 8 < len; c++)
        if (CPU_ISSET(c, m))
            used += (size_t)snprintf(out + used, len - used, "%s%d", used ? "," : "", c);
}

/* Pins every thread of pid: sched_setaffinity(pid) alone moves only the
 * main thread, and a loader might have helper threads. */
static int pin_process(pid_t pid, const cpu_set_t *m)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return sched_setaffinity(pid, sizeof *m, m);
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (sched_setaffinity((pid_t)atoi(de->d_name), sizeof *m, m) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

enum placement_kind { PL_ONE, PL_TWO, PL_FREE };

struct placement {
    enum placement_kind kind;
    const char *name;
    cpu_set_t host, child;
};

/* -------------------------------------------------------- echo and JSON */

/* (c)'s method. A deep copy, not the plugin's json_incref(): an in-process
 * caller could not share a value it keeps mutating with the callee. */
static json_t *echo_method(json_t *params)
{
    return json_deep_copy(params);
}

/* ~100 bytes of params once compactly encoded, mixing the JSON types a real
 * call carries so the parser is not flattered by one long string. */
static json_t *make_params(void)
{
    json_t *p = json_pack("[s, I, f, b, n, {s:s, s:[i,i,i]}]", "the quick brown fox jumps over",
                          (json_int_t)1234567890, 3.25, 1, "key", "value", "list", 1, 2, 3);
    if (!p)
        die("json_pack params");
    return p;
}

static char *encode_request(json_t *params, uint64_t id, size_t *len)
{
    json_t *req = json_pack("{s:s, s:I, s:s, s:O}", "jsonrpc", "2.0", "id", (json_int_t)id,
                            "method", "echo", "params", params);
    char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!s)
        die("encode request");
    *len = strlen(s);
    return s;
}

/* Decodes a response and checks it answers id with params; the check is part
 * of the timed work because a real client must do it too. */
static int check_response(const char *buf, size_t n, uint64_t id, json_t *params)
{
    json_error_t je;
    json_t *resp = json_loadb(buf, n, 0, &je);
    if (!resp)
        return -1;
    json_t *jid = json_object_get(resp, "id");
    json_t *res = json_object_get(resp, "result");
    json_t *ver = json_object_get(resp, "jsonrpc");
    int ok = json_is_integer(jid) && (uint64_t)json_integer_value(jid) == id && res &&
             json_equal(res, params) && json_is_string(ver) &&
             strcmp(json_string_value(ver), "2.0") == 0;
    json_decref(resp);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------- floor server */

/* One server process per placement answers both floors: a message starting
 * with '{' is a JSON-RPC request, "Q" ends it, anything else is echoed raw.
 * It is forked before the host exists so a host reaping children with
 * waitpid(-1) cannot confuse the two. */
static void floor_serve(int fd)
{
    char *buf = malloc(MSG_MAX);
    if (!buf)
        _exit(3);
    for (;;) {
        ssize_t n = recv(fd, buf, MSG_MAX, 0);
        if (n <= 0)
            _exit(n < 0 ? 1 : 0);
        if (n == 1 && buf[0] == 'Q')
            _exit(0);
        if (buf[0] != '{') {
            if (send(fd, buf, (size_t)n, 0) != n)
                _exit(1);
            continue;
        }
        json_error_t je;
        json_t *req = json_loadb(buf, (size_t)n, 0, &je);
        json_t *id = json_object_get(req, "id");
        json_t *method = json_object_get(req, "method");
        json_t *ver = json_object_get(req, "jsonrpc");
        json_t *resp;
        /* Validate like a real server would, so the floor is not cheaper
         * for skipping work the loader cannot skip. */
        if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0 ||
            !json_is_string(method) || strcmp(json_string_value(method), "echo") != 0 ||
            !json_is_integer(id))
            resp = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                             "code", -32600, "message", "invalid request");
        else
            /* a reference, not a copy: that is what the echo plugin returns */
            resp = json_pack("{s:s, s:O, s:O}", "jsonrpc", "2.0", "id", id, "result",
                             json_object_get(req, "params"));
        char *out = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
        json_decref(resp);
        json_decref(req);
        if (!out)
            _exit(4);
        size_t len = strlen(out);
        ssize_t sent = send(fd, out, len, 0);
        free(out);
        if (sent != (ssize_t)len)
            _exit(1);
    }
}

struct floor_proc {
    pid_t pid;
    int fd;
};

static struct floor_proc floor_start(const cpu_set_t *child_mask)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        if (sched_setaffinity(0, sizeof *child_mask, child_mask) != 0)
            _exit(5);
        floor_serve(sv[1]);
    }
    close(sv[1]);
    return (struct floor_proc){.pid = pid, .fd = sv[0]};
}

static void floor_stop(struct floor_proc *fp)
{
    (void)send(fp->fd, "Q", 1, 0);
    close(fp->fd);
    int st;
    /* ECHILD is fine: a host that reaps with waitpid(-1) may have got it. */
    while (waitpid(fp->pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* (a) one raw round trip */
static void raw_rtt(int fd, char *buf, samples *s)
{
    static char msg[RAW_SIZE];
    if (!msg[0])
        memset(msg, 'x', sizeof msg);
    uint64_t t0 = now_ns();
    if (send(fd, msg, sizeof msg, 0) != (ssize_t)sizeof msg)
        die("raw send: %s", strerror(errno));
    ssize_t n = recv(fd, buf, MSG_MAX, 0);
    uint64_t t1 = now_ns();
    if (n != (ssize_t)sizeof msg)
        die("raw recv: %zd", n);
    if (s)
        samples_add(s, t1 - t0);
}

/* (b) one JSON-RPC round trip, encode and decode included */
static void json_rtt(int fd, char *buf, json_t *params, uint64_t id, samples *s)
{
    uint64_t t0 = now_ns();
    size_t len;
    char *req = encode_request(params, id, &len);
    if (send(fd, req, len, 0) != (ssize_t)len)
        die("json send: %s", strerror(errno));
    free(req);
    ssize_t n = recv(fd, buf, MSG_MAX, 0);
    if (n <= 0 || check_response(buf, (size_t)n, id, params) != 0)
        die("json floor: bad response");
    uint64_t t1 = now_ns();
    if (s)
        samples_add(s, t1 - t0);
}

/* (c) */
static void inproc_call(json_t *params, samples *s)
{
    uint64_t t0 = now_ns();
    json_t *r = echo_method(params);
    int ok = json_equal(r, params);
    json_decref(r);
    uint64_t t1 = now_ns();
    if (!ok)
        die("in-process echo differs");
    if (s)
        samples_add(s, t1 - t0);
}

/* (e) floor: PIPE_DEPTH requests in flight; returns ns per call. After each
 * blocking receive it takes every answer already queued before topping the
 * window up, as an event loop like the host's would; receiving one and
 * sending one would make the floor pay more syscalls than plughost. */
static double json_pipelined(int fd, char *buf, json_t *params, size_t calls, uint64_t *next_id)
{
    uint64_t first = *next_id, sent = 0, got = 0;
    uint64_t t0 = now_ns();
    while (got < calls) {
        while (sent < calls && sent - got < PIPE_DEPTH) {
            size_t len;
            char *req = encode_request(params, first + sent, &len);
            if (send(fd, req, len, 0) != (ssize_t)len)
                die("pipelined send: %s", strerror(errno));
            free(req);
            sent++;
        }
        int flags = 0;
        for (;;) {
            ssize_t n = recv(fd, buf, MSG_MAX, flags);
            if (n < 0 && flags && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n <= 0 || check_response(buf, (size_t)n, first + got, params) != 0)
                die("pipelined floor: bad response");
            got++;
            flags = MSG_DONTWAIT;
        }
    }
    uint64_t t1 = now_ns();
    *next_id = first + calls;
    return (double)(t1 - t0) / (double)calls;
}

/* (f) floor: fork, exec a trivial dynamically linked program, wait for its
 * one-byte "ready". Reaping is outside the timed part, as for the host. */
static uint64_t spawn_floor_once(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        die("socketpair: %s", strerror(errno));
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", sv[1]);
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* the child's end must survive exec; the parent's must not leak */
        fcntl(sv[1], F_SETFD, 0);
        execl(cfg.spawn_child, cfg.spawn_child, fdarg, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    char c;
    ssize_t n = read(sv[0], &c, 1);
    uint64_t t1 = now_ns();
    close(sv[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (n != 1)
        die("spawn floor child %s did not signal ready", cfg.spawn_child);
    return t1 - t0;
}

/* -------------------------------------------------------------- plughost */

static bool host_ok = PH_BENCH_HAVE_HOST;
static char host_problem[600];

static void on_event(void *ud, json_t *event)
{
    (void)ud;
    const char *type = json_string_value(json_object_get(event, "type"));
    const char *status = json_string_value(json_object_get(event, "status"));
    /* Only what explains a failure; logs would perturb the timing, and every
     * ph_host_free() ends its plugin as "killed" or "ok". */
    bool ended_badly = type && strcmp(type, "ended") == 0 && status &&
                       strcmp(status, "killed") != 0 && strcmp(status, "ok") != 0;
    if (type && (strcmp(type, "load_error") == 0 || ended_badly)) {
        char *s = json_dumps(event, JSON_COMPACT);
        fprintf(stderr, "ph_bench: host event: %s\n", s ? s : type);
        free(s);
    }
}

static ph_host *host_start(const char **name, ph_error *e)
{
    ph_host_options opts = {0};
    opts.loader_path = cfg.loader && cfg.loader[0] ? cfg.loader : NULL;
    ph_host *h = NULL;
    if (ph_host_new(&opts, &h, e) != PH_OK)
        return NULL;
    ph_host_set_event_handler(h, on_event, NULL);
    if (ph_host_load_file(h, cfg.plugin_file, name, e) != PH_OK) {
        ph_host_free(h);
        return NULL;
    }
    return h;
}

static pid_t plugin_pid(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h);
    /* host.h promises an array; the host returns {"plugins": [...], ...}.
     * Accept both so the benchmark outlives either being fixed. */
    json_t *list = json_is_object(d) ? json_object_get(d, "plugins") : d;
    pid_t pid = -1;
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        json_t *jp = json_object_get(p, "pid");
        if (n && strcmp(n, name) == 0 && json_is_integer(jp))
            pid = (pid_t)json_integer_value(jp);
    }
    json_decref(d);
    return pid;
}

static int host_rtt(ph_host *h, const char *name, json_t *params, samples *s)
{
    json_t *res = NULL, *rerr = NULL;
    ph_error e = {0};
    uint64_t t0 = now_ns();
    int rc = ph_host_call(h, name, "echo", params, &res, &rerr, &e);
    int ok = rc == PH_OK && json_equal(res, params);
    json_decref(res);
    uint64_t t1 = now_ns();
    if (!ok) {
        char *es = rerr ? json_dumps(rerr, JSON_COMPACT) : NULL;
        snprintf(host_problem, sizeof host_problem, "ph_host_call: %s %s",
                 rc == PH_OK ? "result differs from params" : e.text, es ? es : "");
        free(es);
        json_decref(rerr);
        return -1;
    }
    if (s)
        samples_add(s, t1 - t0);
    return 0;
}

struct pipe_state {
    json_t *params;
    size_t done, failed;
};

static void on_pipe_done(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    (void)call_id;
    struct pipe_state *st = ud;
    if (!error && json_equal(result, st->params))
        st->done++;
    else
        st->failed++;
}

/* (e) plughost: PIPE_DEPTH ph_host_call_async in flight, topped up between
 * ph_host_process() runs rather than from the callback, so the figure does
 * not depend on whether the host tolerates re-entrant calls. */
static double host_pipelined(ph_host *h, const char *name, json_t *params, size_t calls)
{
    struct pipe_state st = {.params = params};
    size_t issued = 0;
    int idle = 0;
    ph_error e = {0};
    uint64_t t0 = now_ns();
    while (st.done + st.failed < calls) {
        while (issued < calls && issued - (st.done + st.failed) < PIPE_DEPTH) {
            if (ph_host_call_async(h, name, "echo", params, on_pipe_done, &st, NULL, &e) != PH_OK) {
                snprintf(host_problem, sizeof host_problem, "ph_host_call_async: %s", e.text);
                return NAN;
            }
            issued++;
        }
        int rc = ph_host_process(h, 5000, &e);
        if (rc < 0) {
            snprintf(host_problem, sizeof host_problem, "ph_host_process: %s", e.text);
            return NAN;
        }
        if (rc == 0 && ++idle > 2) {
            snprintf(host_problem, sizeof host_problem, "pipelined calls stalled (%zu/%zu)",
                     st.done + st.failed, calls);
            return NAN;
        }
        if (rc > 0)
            idle = 0;
    }
    uint64_t t1 = now_ns();
    if (st.failed) {
        snprintf(host_problem, sizeof host_problem, "%zu pipelined calls failed", st.failed);
        return NAN;
    }
    return (double)(t1 - t0) / (double)calls;
}

/* ---------------------------------------------------------------- report */

struct row {
    const char *placement;
    char figure[64];
    double value;
    char floor[64];
    double floor_value;
    const char *unit; /* "ns": latency or time per call */
};

static struct row rows[128];
static size_t nrows;

static void add_row(const char *pl, const char *fig, double v, const char *floor, double fv)
{
    if (nrows == sizeof rows / sizeof rows[0])
        return;
    struct row *r = &rows[nrows++];
    r->placement = pl;
    snprintf(r->figure, sizeof r->figure, "%s", fig);
    r->value = v;
    snprintf(r->floor, sizeof r->floor, "%s", floor ? floor : "");
    r->floor_value = floor ? fv : NAN;
}

static void fmt_ns(double ns, char *out, size_t len)
{
    if (isnan(ns))
        snprintf(out, len, "-");
    else if (ns >= 1e6)
        snprintf(out, len, "%.2f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(out, len, "%.2f us", ns / 1e3);
    else
        snprintf(out, len, "%.0f ns", ns);
}

static void print_table(const char *placement, const char *note)
{
    printf("\n== %s ==\n", placement);
    if (note && note[0])
        printf("   %s\n", note);
    printf("%-34s %11s   %-28s %11s %7s\n", "figure", "value", "floor", "floor value", "ratio");
    for (size_t i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        if (strcmp(r->placement, placement) != 0)
            continue;
        char v[32], fv[32], ratio[16] = "-";
        fmt_ns(r->value, v, sizeof v);
        fmt_ns(r->floor_value, fv, sizeof fv);
        if (!isnan(r->value) && !isnan(r->floor_value) && r->floor_value > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", r->value / r->floor_value);
        printf("%-34s %11s   %-28s %11s %7s\n", r->figure, v, r->floor[0] ? r->floor : "-",
               r->floor[0] ? fv : "", r->floor[0] ? ratio : "");
    }
    fflush(stdout);
}

static void write_csv(void)
{
    if (!cfg.csv_path)
        return;
    FILE *f = fopen(cfg.csv_path, "w");
    if (!f) {
        fprintf(stderr, "ph_bench: %s: %s\n", cfg.csv_path, strerror(errno));
        return;
    }
    fprintf(f, "placement,figure,value_ns,floor,floor_ns,ratio\n");
    for (size_t i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        double ratio = r->floor_value > 0 ? r->value / r->floor_value : NAN;
        fprintf(f, "%s,%s,%.1f,%s,%.1f,%.3f\n", r->placement, r->figure, r->value, r->floor,
                r->floor_value, ratio);
    }
    fclose(f);
}

/* --------------------------------------------------------- one placement */

static void run_placement(const struct placement *pl, json_t *params)
{
    samples raw = {0}, js = {0}, inp = {0}, hc = {0}, sp_floor = {0}, sp_host = {0};
    char note[600] = "";
    char *buf = malloc(MSG_MAX);
    if (!buf)
        die("out of memory");
    uint64_t id = 1;

    set_self(&pl->host);
    struct floor_proc fp = floor_start(&pl->child);

    /* The plugin inherits the host's mask when it is started. For two cores
     * it starts on both and is then moved to its own core by pid; if that is
     * not possible it keeps {a,b} while the host sits on a, which the note
     * says. */
    ph_host *h = NULL;
    const char *name = "echo";
    ph_error e = {0};
    if (host_ok) {
        cpu_set_t start = pl->kind == PL_TWO ? mask_of(cpu_a, cpu_b) : pl->host;
        set_self(&start);
        h = host_start(&name, &e);
        set_self(&pl->host);
        if (!h) {
            snprintf(host_problem, sizeof host_problem, "load %s: %s", cfg.plugin_file, e.text);
        } else {
            pid_t pid = plugin_pid(h, name);
            char m[64] = "?";
            if (pid > 0) {
                if (pl->kind == PL_TWO && pin_process(pid, &pl->child) != 0)
                    snprintf(note, sizeof note, "could not pin plugin pid %d: %s; ", (int)pid,
                             strerror(errno));
                cpu_set_t got;
                if (sched_getaffinity(pid, sizeof got, &got) == 0)
                    mask_str(&got, m, sizeof m);
            } else if (pl->kind == PL_TWO) {
                snprintf(note, sizeof note,
                         "no plugin pid in ph_host_describe(): plugin kept "
                         "the start mask; ");
            }
            char hm[64];
            mask_str(&pl->host, hm, sizeof hm);
            size_t used = strlen(note);
            snprintf(note + used, sizeof note - used,
                     "plughost: host cpus {%s}, plugin pid %d cpus {%s}", hm, (int)pid, m);
        }
    }

    for (size_t i = 0; i < cfg.warmup; i++) {
        raw_rtt(fp.fd, buf, NULL);
        json_rtt(fp.fd, buf, params, id++, NULL);
        inproc_call(params, NULL);
        if (h && host_rtt(h, name, params, NULL) != 0) {
            ph_host_free(h);
            h = NULL;
        }
    }

    /* Interleaved rounds: a slow spell of the machine lands on floor and
     * plughost alike, which keeps the ratios honest. */
    size_t per = cfg.iters / cfg.rounds;
    for (size_t r = 0; r < cfg.rounds; r++) {
        for (size_t i = 0; i < per; i++)
            raw_rtt(fp.fd, buf, &raw);
        for (size_t i = 0; i < per; i++)
            json_rtt(fp.fd, buf, params, id++, &js);
        for (size_t i = 0; i < per; i++)
            inproc_call(params, &inp);
        for (size_t i = 0; h && i < per; i++)
            if (host_rtt(h, name, params, &hc) != 0) {
                ph_host_free(h);
                h = NULL;
            }
    }

    /* (e): median over rounds of time per call, floor and host alternating */
    double fl_pipe[32], ho_pipe[32];
    size_t npipe = cfg.pipe_rounds < 32 ? cfg.pipe_rounds : 32, nho = 0;
    json_pipelined(fp.fd, buf, params, PIPE_DEPTH * 4, &id);
    if (h && isnan(host_pipelined(h, name, params, PIPE_DEPTH * 4))) {
        ph_host_free(h);
        h = NULL;
    }
    for (size_t r = 0; r < npipe; r++) {
        fl_pipe[r] = json_pipelined(fp.fd, buf, params, cfg.pipe_calls, &id);
        if (h) {
            double v = host_pipelined(h, name, params, cfg.pipe_calls);
            if (isnan(v)) {
                ph_host_free(h);
                h = NULL;
            } else {
                ho_pipe[nho++] = v;
            }
        }
    }
    floor_stop(&fp);
    if (h)
        ph_host_free(h);

    /* (f): one plugin start per iteration, alternating with the floor.
     * Both inherit the placement's host mask; a child cannot be put on the
     * other core before it exists, so "two cores" means both may use {a,b}. */
    cpu_set_t spawn_mask = pl->kind == PL_TWO ? mask_of(cpu_a, cpu_b) : pl->host;
    set_self(&spawn_mask);
    bool spawn_host = host_ok && host_problem[0] == 0;
    for (size_t i = 0; i < cfg.spawns + 2; i++) {
        uint64_t f = spawn_floor_once();
        if (i >= 2) /* the first starts fault in the page cache */
            samples_add(&sp_floor, f);
        if (!spawn_host)
            continue;
        ph_host_options opts = {0};
        opts.loader_path = cfg.loader && cfg.loader[0] ? cfg.loader : NULL;
        ph_host *sh = NULL;
        if (ph_host_new(&opts, &sh, &e) != PH_OK) {
            snprintf(host_problem, sizeof host_problem, "ph_host_new: %s", e.text);
            spawn_host = false;
            continue;
        }
        ph_host_set_event_handler(sh, on_event, NULL);
        uint64_t t0 = now_ns();
        int rc = ph_host_load_file(sh, cfg.plugin_file, NULL, &e);
        uint64_t t1 = now_ns();
        ph_host_free(sh);
        if (rc != PH_OK) {
            snprintf(host_problem, sizeof host_problem, "load %s: %s", cfg.plugin_file, e.text);
            spawn_host = false;
            continue;
        }
        if (i >= 2)
            samples_add(&sp_host, t1 - t0);
    }
    set_self(&orig_mask);

    double fl_med = median(fl_pipe, npipe), ho_med = median(ho_pipe, nho);

    double raw50 = pct(&raw, 50), raw99 = pct(&raw, 99);
    double js50 = pct(&js, 50), js99 = pct(&js, 99);
    double hc50 = pct(&hc, 50), hc99 = pct(&hc, 99);
    const char *p = pl->name;
    add_row(p, "a raw RTT p50", raw50, NULL, 0);
    add_row(p, "a raw RTT p99", raw99, NULL, 0);
    add_row(p, "b JSON RTT p50", js50, "a raw RTT p50", raw50);
    add_row(p, "b JSON RTT p99", js99, "a raw RTT p99", raw99);
    add_row(p, "c in-process echo p50", pct(&inp, 50), NULL, 0);
    add_row(p, "c in-process echo p99", pct(&inp, 99), NULL, 0);
    add_row(p, "d plughost call p50", hc50, "b JSON RTT p50", js50);
    add_row(p, "d plughost call p99", hc99, "b JSON RTT p99", js99);
    add_row(p, "d plughost call p50 (vs raw)", hc50, "a raw RTT p50", raw50);
    add_row(p, "d plughost call p50 (vs in-proc)", hc50, "c in-process echo p50", pct(&inp, 50));
    add_row(p, "e plughost x64 pipelined /call", ho_med, "e JSON x64 pipelined /call", fl_med);
    add_row(p, "f plughost spawn p50", pct(&sp_host, 50), "f fork+exec+ready p50",
            pct(&sp_floor, 50));
    add_row(p, "f plughost spawn p99", pct(&sp_host, 99), "f fork+exec+ready p99",
            pct(&sp_floor, 99));
    if (pl->kind == PL_FREE) {
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used,
                 "%sunpinned: each pair lands where the scheduler puts it (same or different "
                 "cores), so these ratios can swing; trust the pinned ones",
                 used ? "\n   " : "");
    }
    if (host_problem[0]) {
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "%sPLUGHOST FIGURES MISSING: %s",
                 used ? "\n   " : "", host_problem);
    }
    print_table(p, note);

    samples_free(&raw);
    samples_free(&js);
    samples_free(&inp);
    samples_free(&hc);
    samples_free(&sp_floor);
    samples_free(&sp_host);
    free(buf);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr, "usage: ph_bench [--quick] [--iters N] [--spawns N] [--plugin FILE.so]\n"
                    "                [--plugins DIR] [--loader PATH] [--spawn-child PATH]\n"
                    "                [--placements one,two,free] [--csv FILE]\n");
    exit(2);
}

static size_t parse_count(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0 || v > 10000000)
        usage();
    return (size_t)v;
}

static void print_header(json_t *params)
{
    struct utsname u;
    uname(&u);
    char model[128] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                if (c) {
                    snprintf(model, sizeof model, "%s", c + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    char m[128];
    mask_str(&orig_mask, m, sizeof m);
    char *ps = json_dumps(params, JSON_COMPACT);
    size_t rlen;
    char *rq = encode_request(params, 1, &rlen);
    printf("ph_bench: %s, kernel %s, %s, allowed cpus {%s}\n", model, u.release, u.machine, m);
    printf("iterations %zu (+%zu warm-up) in %zu interleaved rounds; pipelined %zu calls x %zu "
           "rounds, depth %d; spawns %zu\n",
           cfg.iters, cfg.warmup, cfg.rounds, cfg.pipe_calls, cfg.pipe_rounds, PIPE_DEPTH,
           cfg.spawns);
    printf("raw message %d bytes; params %zu bytes, request %zu bytes; plugin %s\n", RAW_SIZE,
           ps ? strlen(ps) : 0, rlen, host_ok ? cfg.plugin_file : "(host library not built)");
    printf("latency = round trip; ratio = value / floor (1.00x: costs what the floor costs)\n");
    free(ps);
    free(rq);
    fflush(stdout); /* keep the header above any host event on stderr */
}

int main(int argc, char **argv)
{
    static char plugin_buf[PATH_MAX];
    const char *plugin_dir = PH_BENCH_PLUGIN_DIR;
    cfg.loader = getenv("PLUGHOST_LOADER") ? NULL : PH_BENCH_LOADER;
    cfg.spawn_child = PH_BENCH_SPAWN_CHILD;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            cfg.iters = 4000;
            cfg.warmup = 500;
            cfg.pipe_calls = 4000;
            cfg.pipe_rounds = 3;
            cfg.spawns = 10;
        } else if (strcmp(a, "--iters") == 0 && v) {
            cfg.iters = parse_count(v);
            cfg.pipe_calls = cfg.iters;
            i++;
        } else if (strcmp(a, "--spawns") == 0 && v) {
            cfg.spawns = parse_count(v);
            i++;
        } else if (strcmp(a, "--plugin") == 0 && v) {
            cfg.plugin_file = v;
            i++;
        } else if (strcmp(a, "--plugins") == 0 && v) {
            plugin_dir = v;
            i++;
        } else if (strcmp(a, "--loader") == 0 && v) {
            cfg.loader = v;
            i++;
        } else if (strcmp(a, "--spawn-child") == 0 && v) {
            cfg.spawn_child = v;
            i++;
        } else if (strcmp(a, "--placements") == 0 && v) {
            cfg.only = v;
            i++;
        } else if (strcmp(a, "--csv") == 0 && v) {
            cfg.csv_path = v;
            i++;
        } else {
            usage();
        }
    }
    if (cfg.iters < cfg.rounds)
        cfg.rounds = 1;
    if (!cfg.plugin_file) {
        snprintf(plugin_buf, sizeof plugin_buf, "%s/echo.so", plugin_dir);
        cfg.plugin_file = plugin_buf;
    }
    if (!cfg.spawn_child[0] || access(cfg.spawn_child, X_OK) != 0)
        die("spawn floor child '%s' not executable (use --spawn-child)", cfg.spawn_child);
    if (host_ok && access(cfg.plugin_file, R_OK) != 0) {
        snprintf(host_problem, sizeof host_problem, "%s: %s", cfg.plugin_file, strerror(errno));
        host_ok = false;
    }
    if (!PH_BENCH_HAVE_HOST)
        snprintf(host_problem, sizeof host_problem, "built without the host library (stub)");

    /* a dying floor server must not kill the benchmark with SIGPIPE */
    signal(SIGPIPE, SIG_IGN);

    if (sched_getaffinity(0, sizeof orig_mask, &orig_mask) != 0)
        die("sched_getaffinity: %s", strerror(errno));
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &orig_mask)) {
            if (cpu_a < 0)
                cpu_a = c;
            else if (cpu_b < 0)
                cpu_b = c;
        }

    json_t *params = make_params();
    print_header(params);

    char na[64], nb[64];
    snprintf(na, sizeof na, "one core (both on cpu %d)", cpu_a);
    snprintf(nb, sizeof nb, "two cores (cpu %d and cpu %d)", cpu_a, cpu_b);
    struct placement pls[3] = {
        {PL_ONE, na, mask_of(cpu_a, -1), mask_of(cpu_a, -1)},
        {PL_TWO, nb, mask_of(cpu_a, -1), mask_of(cpu_b, -1)},
        {PL_FREE, "unpinned", orig_mask, orig_mask},
    };
    static const char *keys[3] = {"one", "two", "free"};
    for (int i = 0; i < 3; i++) {
        if (cfg.only && !strstr(cfg.only, keys[i]))
            continue;
        if (pls[i].kind == PL_TWO && cpu_b < 0) {
            printf("\n== two cores: skipped, only one cpu allowed ==\n");
            continue;
        }
        /* each placement reports its own host failure, but a missing file or
         * stub build stays missing */
        if (host_ok)
            host_problem[0] = 0;
        run_placement(&pls[i], params);
    }
    write_csv();
    json_decref(params);
    return 0;
}
