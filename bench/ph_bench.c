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
#include <poll.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <plughost/host.h>

#include "lazy.h"
#include "pool.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#ifndef PH_BENCH_POOL_PLUGIN
#define PH_BENCH_POOL_PLUGIN ""
#endif

#ifndef PH_BENCH_SPAWN_CHILD
#define PH_BENCH_SPAWN_CHILD ""
#endif
#ifndef PH_BENCH_PLUGIN_DIR
#define PH_BENCH_PLUGIN_DIR ""
#endif
#ifndef PH_BENCH_LOADER
#define PH_BENCH_LOADER ""
#endif
#ifndef PH_BENCH_MULTI_PLUGIN
#define PH_BENCH_MULTI_PLUGIN ""
#endif
#ifndef PH_BENCH_PLUGHOST
#define PH_BENCH_PLUGHOST ""
#endif
#ifndef PH_BENCH_HAVE_HOST
#define PH_BENCH_HAVE_HOST 1
#endif
#ifndef PH_BENCH_RELAY
#define PH_BENCH_RELAY ""
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

static char *encode_method(const char *method, json_t *params, uint64_t id, size_t *len)
{
    json_t *req = json_pack("{s:s, s:I, s:s, s:O}", "jsonrpc", "2.0", "id", (json_int_t)id,
                            "method", method, "params", params);
    char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!s)
        die("encode request");
    *len = strlen(s);
    return s;
}

static char *encode_request(json_t *params, uint64_t id, size_t *len)
{
    return encode_method("echo", params, id, len);
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
static double json_pipelined(int fd, char *buf, json_t *params, size_t calls, size_t depth,
                             uint64_t *next_id)
{
    uint64_t first = *next_id, sent = 0, got = 0;
    char *pend = NULL; /* encoded but refused by a full socket: sent later */
    size_t plen = 0;
    uint64_t t0 = now_ns();
    while (got < calls) {
        /* Non-blocking: deep windows overflow the socket buffers, and a
         * blocked sender whose peer is blocked sending answers back would
         * deadlock. */
        while (sent < calls && sent - got < depth) {
            if (!pend)
                pend = encode_request(params, first + sent, &plen);
            ssize_t n = send(fd, pend, plen, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && sent > got)
                break;
            if (n != (ssize_t)plen)
                die("pipelined send: %s", strerror(errno));
            free(pend);
            pend = NULL;
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
    free(pend);
    *next_id = first + calls;
    return (double)(t1 - t0) / (double)calls;
}

/* The floor of calls spread over k plugins: the same pattern over k raw
 * JSON echo peers (floor_serve, one process each, each on its own
 * SEQPACKET pair with ph_bench, jansson on both sides). Calls go round
 * robin, at most depth in flight; one epoll wait covers every peer, and a
 * peer is read until it owes nothing, as the host reads a plugin. Returns
 * ns per call. */
static double json_pipelined_k(const struct floor_proc *fp, size_t k, char *buf, json_t *params,
                               size_t calls, size_t depth, uint64_t *next_id)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t *sent_id = calloc(k, sizeof *sent_id), *got_id = calloc(k, sizeof *got_id);
    if (ep < 0 || !sent_id || !got_id)
        die("pipelined k: %s", strerror(errno));
    for (size_t i = 0; i < k; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fp[i].fd, &ev) != 0)
            die("epoll_ctl: %s", strerror(errno));
        sent_id[i] = got_id[i] = *next_id;
    }
    size_t sent = 0, got = 0;
    uint64_t t0 = now_ns();
    while (got < calls) {
        while (sent < calls && sent - got < depth) {
            size_t peer = sent % k;
            size_t len;
            char *req = encode_request(params, sent_id[peer], &len);
            ssize_t n = send(fp[peer].fd, req, len, MSG_DONTWAIT);
            free(req);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n != (ssize_t)len)
                die("pipelined k send: %s", strerror(errno));
            sent_id[peer]++;
            sent++;
        }
        struct epoll_event ev[128];
        int nev = epoll_wait(ep, ev, 128, 5000);
        if (nev <= 0)
            die("pipelined k floor stalled (%zu/%zu)", got, calls);
        for (int e = 0; e < nev; e++) {
            size_t peer = (size_t)ev[e].data.u64;
            while (got_id[peer] < sent_id[peer]) {
                ssize_t n = recv(fp[peer].fd, buf, MSG_MAX, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                if (n <= 0 || check_response(buf, (size_t)n, got_id[peer], params) != 0)
                    die("pipelined k floor: bad response");
                got_id[peer]++;
                got++;
            }
        }
    }
    uint64_t t1 = now_ns();
    uint64_t top = *next_id;
    for (size_t i = 0; i < k; i++)
        if (sent_id[i] > top)
            top = sent_id[i];
    *next_id = top;
    close(ep);
    free(sent_id);
    free(got_id);
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

/* Where each measured start's time went: the host's "started" event carries
 * the stages (host/supervisor.c ph_plug_spawn_stages), in this order. */
#define SPAWN_STAGES 8
static const char *const stage_name[SPAWN_STAGES] = {"clone",   "exec",     "filter", "root",
                                                     "confine", "handover", "dlopen", "hello"};
static const char *const stage_what[SPAWN_STAGES] = {
    "host: clone3 with the namespaces",
    "child: cgroup join, id maps, exec, linking",
    "loader: seccomp program built",
    "loader: private root",
    "loader: caps, rlimits, Landlock, seccomp",
    "listener to the host",
    "dlopen under user notifications",
    "init and handshake",
};

static void on_spawn_event(void *ud, json_t *event)
{
    samples *st = ud;
    json_t *o = json_object_get(event, "spawn_stages_us");
    for (size_t i = 0; o && i < SPAWN_STAGES; i++)
        samples_add(&st[i], (uint64_t)json_integer_value(json_object_get(o, stage_name[i])) * 1000);
    on_event(NULL, event);
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
/* ph_host_cork around each refill: only where calls spread over several
 * plugins (the concurrency table). With one plugin there is nothing to
 * batch, and a cork's two timer syscalls per refill would only cost. */
static bool pipe_cork = false;

static double host_pipelined_n(ph_host *h, const char *const *names, size_t nnames, json_t *params,
                               size_t calls, size_t depth)
{
    struct pipe_state st = {.params = params};
    size_t issued = 0;
    int idle = 0;
    ph_error e = {0};
    uint64_t t0 = now_ns();
    while (st.done + st.failed < calls) {
        /* Corked: each plugin gets its share of the refill in one go
         * (ph_host_cork), as an application starting many calls would. */
        if (pipe_cork)
            ph_host_cork(h);
        while (issued < calls && issued - (st.done + st.failed) < depth) {
            if (ph_host_call_async(h, names[issued % nnames], "echo", params, on_pipe_done, &st,
                                   NULL, &e) != PH_OK) {
                snprintf(host_problem, sizeof host_problem, "ph_host_call_async: %s", e.text);
                if (pipe_cork)
                    ph_host_uncork(h);
                return NAN;
            }
            issued++;
        }
        if (pipe_cork)
            ph_host_uncork(h);
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

static double host_pipelined(ph_host *h, const char *name, json_t *params, size_t calls)
{
    return host_pipelined_n(h, &name, 1, params, calls, PIPE_DEPTH);
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

static FILE *detail; /* per-placement tables and sweeps; stdout unless --details */

static void print_table(const char *placement, const char *note)
{
    FILE *o = detail;
    fprintf(o, "\n== %s ==\n", placement);
    if (note && note[0])
        fprintf(o, "   %s\n", note);
    fprintf(o, "%-34s %11s   %-28s %11s %7s\n", "figure", "value", "floor", "floor value", "ratio");
    for (size_t i = 0; i < nrows; i++) {
        struct row *r = &rows[i];
        if (strcmp(r->placement, placement) != 0)
            continue;
        char v[32], fv[32], ratio[16] = "-";
        fmt_ns(r->value, v, sizeof v);
        fmt_ns(r->floor_value, fv, sizeof fv);
        if (!isnan(r->value) && !isnan(r->floor_value) && r->floor_value > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", r->value / r->floor_value);
        fprintf(o, "%-34s %11s   %-28s %11s %7s\n", r->figure, v, r->floor[0] ? r->floor : "-",
                r->floor[0] ? fv : "", r->floor[0] ? ratio : "");
    }
    fflush(o);
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

/* ------------------------------------------------------ plughost serve */

/* `plughost serve` driven as a client would: one JSON-RPC request per line on
 * its stdin, one answer per line on its stdout. Client -> serve -> plugin
 * and back: two hops, four messages, two encodes and two decodes more than
 * the library call. */
struct serve_proc {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
    char *buf;
    size_t len, cap;
};

static const char *plughost_path;

/* Starts argv (a line-framed two-hop server: `plughost serve` or the
 * relay) with its stdin and stdout piped to ph_bench, on mask. */
static bool line_server_start(struct serve_proc *sp, const cpu_set_t *mask, char *const argv[])
{
    int in[2], out[2];
    *sp = (struct serve_proc){.pid = -1, .to = -1, .from = -1};
    if (!argv[0] || !argv[0][0] || access(argv[0], X_OK) != 0)
        return false;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if (sched_setaffinity(0, sizeof *mask, mask) != 0 || dup2(in[0], 0) < 0 ||
            dup2(out[1], 1) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    sp->pid = pid;
    sp->to = in[1];
    sp->from = out[0];
    sp->cap = 1 << 16;
    sp->buf = malloc(sp->cap);
    if (!sp->buf)
        die("out of memory");
    return true;
}

static bool serve_start(struct serve_proc *sp, const cpu_set_t *mask)
{
    if (!plughost_path)
        return false;
    char *argv[] = {(char *)plughost_path, "serve", "--framing=line", (char *)cfg.plugin_file,
                    NULL};
    return line_server_start(sp, mask, argv);
}

/* The floor of the two-hop figure (bench/relay.c). */
static const char *relay_path = PH_BENCH_RELAY;

static bool relay_start(struct serve_proc *sp, const cpu_set_t *mask)
{
    char *argv[] = {(char *)relay_path, NULL};
    return line_server_start(sp, mask, argv);
}

/* Returns the length of the next line (without '\n') at sp->buf, or -1. */
static ssize_t serve_line(struct serve_proc *sp)
{
    for (;;) {
        char *nl = memchr(sp->buf, '\n', sp->len);
        if (nl)
            return nl - sp->buf;
        if (sp->len == sp->cap) {
            sp->cap *= 2;
            sp->buf = realloc(sp->buf, sp->cap);
            if (!sp->buf)
                die("out of memory");
        }
        ssize_t n = read(sp->from, sp->buf + sp->len, sp->cap - sp->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        sp->len += (size_t)n;
    }
}

static void serve_consume(struct serve_proc *sp, size_t linelen)
{
    sp->len -= linelen + 1;
    memmove(sp->buf, sp->buf + linelen + 1, sp->len);
}

static int serve_rtt(struct serve_proc *sp, json_t *params, uint64_t id, samples *s)
{
    uint64_t t0 = now_ns();
    size_t len;
    char *req = encode_method("echo.echo", params, id, &len);
    struct iovec iov[2] = {{req, len}, {"\n", 1}};
    ssize_t w = writev(sp->to, iov, 2);
    free(req);
    if (w != (ssize_t)len + 1)
        return -1;
    ssize_t n = serve_line(sp);
    if (n < 0 || check_response(sp->buf, (size_t)n, id, params) != 0)
        return -1;
    serve_consume(sp, (size_t)n);
    uint64_t t1 = now_ns();
    if (s)
        samples_add(s, t1 - t0);
    return 0;
}

static pid_t serve_plugin_pid(pid_t serve)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)serve, (int)serve);
    FILE *f = fopen(path, "r");
    int pid = -1;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = -1;
        fclose(f);
    }
    return (pid_t)pid;
}

static void serve_stop(struct serve_proc *sp)
{
    if (sp->pid <= 0)
        return;
    close(sp->to); /* end of input: serve answers what is pending and exits */
    close(sp->from);
    int st;
    while (waitpid(sp->pid, &st, 0) < 0 && errno == EINTR)
        ;
    free(sp->buf);
    sp->pid = -1;
}

/* System calls per call of a line server's own process (not its
 * children), from `strace -c` over two runs of different lengths so that
 * start-up cancels out. NAN without strace. */
static long strace_total(char *const argv[], json_t *params, size_t calls, const cpu_set_t *mask)
{
    char out[64];
    snprintf(out, sizeof out, "/tmp/ph_bench.%d.strace", (int)getpid());
    char *full[12] = {"/usr/bin/strace", "-qq", "-c", "-o", out};
    size_t k = 5;
    for (size_t i = 0; argv[i] && k < 11; i++)
        full[k++] = argv[i];
    full[k] = NULL;
    struct serve_proc sp;
    if (access(full[0], X_OK) != 0 || !line_server_start(&sp, mask, full))
        return -1;
    for (size_t i = 0; i < calls; i++)
        if (serve_rtt(&sp, params, i + 1, NULL) != 0)
            break;
    serve_stop(&sp);
    FILE *f = fopen(out, "r");
    long total = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        double pc, secs;
        long us, n;
        if (strstr(line, " total") && sscanf(line, "%lf %lf %ld %ld", &pc, &secs, &us, &n) == 4)
            total = n;
    }
    if (f)
        fclose(f);
    unlink(out);
    return total;
}

static double syscalls_per_call(char *const argv[], json_t *params, const cpu_set_t *mask)
{
    long a = strace_total(argv, params, 100, mask), b = strace_total(argv, params, 600, mask);
    return a < 0 || b < 0 ? NAN : (double)(b - a) / 500.0;
}

/* CPU time so far of pid, in ns (schedstat), or -1. */
static long long cpu_ns_of(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return atoll(buf);
}

/* CPU per call of a line server and of its one child (the plugin, or the
 * relay's child), one request at a time: where the two-hop call's time
 * goes, side by side for serve and the relay. */
static void cpu_per_call(struct serve_proc *sp, json_t *params, size_t calls, double *server_us,
                         double *child_us)
{
    *server_us = *child_us = NAN;
    for (size_t i = 0; i < 200; i++) /* warm, and the child exists */
        if (serve_rtt(sp, params, i + 1, NULL) != 0)
            return;
    pid_t child = serve_plugin_pid(sp->pid);
    long long s0 = cpu_ns_of(sp->pid), c0 = child > 0 ? cpu_ns_of(child) : -1;
    for (size_t i = 0; i < calls; i++)
        if (serve_rtt(sp, params, i + 1000, NULL) != 0)
            return;
    long long s1 = cpu_ns_of(sp->pid), c1 = child > 0 ? cpu_ns_of(child) : -1;
    if (s0 >= 0 && s1 >= 0)
        *server_us = (double)(s1 - s0) / 1e3 / (double)calls;
    if (c0 >= 0 && c1 >= 0)
        *child_us = (double)(c1 - c0) / 1e3 / (double)calls;
}

/* ------------------------------------------------------------- summary */

/* The one table bench/run prints: each figure with its floor, the ratio and
 * the issue's target. */
struct sum {
    char figure[56], value[24], floor[24], ratio[12], target[20];
    const char *met;
};

static struct sum sums[96];
static size_t nsums;

static void fmt_val(double v, const char *unit, char *out, size_t len)
{
    if (isnan(v))
        snprintf(out, len, "-");
    else if (strcmp(unit, "ns") == 0)
        fmt_ns(v, out, len);
    else if (strcmp(unit, "/s") == 0)
        snprintf(out, len, v >= 1e6 ? "%.2fM/s" : "%.0fk/s", v >= 1e6 ? v / 1e6 : v / 1e3);
    else if (strcmp(unit, "MB/s") == 0)
        snprintf(out, len, "%.0f MB/s", v / 1e6);
    else if (strcmp(unit, "GB/s") == 0)
        snprintf(out, len, "%.2f GB/s", v / 1e9);
    else
        snprintf(out, len, "%.0f %s", v, unit);
}

/* op '<': met when cmp <= target; '>': met when cmp >= target; 0: no target.
 * cmp is the ratio when there is a floor, else the value itself. */
static void add_sum(const char *fig, double v, double fv, const char *unit, char op, double target,
                    const char *tstr)
{
    if (nsums == sizeof sums / sizeof sums[0])
        return;
    struct sum *s = &sums[nsums++];
    snprintf(s->figure, sizeof s->figure, "%s", fig);
    fmt_val(v, unit, s->value, sizeof s->value);
    double ratio = NAN;
    if (!isnan(fv)) {
        fmt_val(fv, unit, s->floor, sizeof s->floor);
        ratio = v / fv;
        /* For rates the ratio is value/floor too: higher is better there. */
        snprintf(s->ratio, sizeof s->ratio, isnan(ratio) ? "-" : "%.2fx", ratio);
    } else {
        snprintf(s->floor, sizeof s->floor, "-");
        snprintf(s->ratio, sizeof s->ratio, "-");
    }
    snprintf(s->target, sizeof s->target, "%s", tstr ? tstr : "-");
    double cmp = isnan(fv) ? v : ratio;
    if (!op)
        s->met = "-";
    else if (isnan(cmp))
        s->met = "MISSING";
    else
        s->met = (op == '<' ? cmp <= target : cmp >= target) ? "yes" : "NO";
}

static void add_sum_text(const char *fig, const char *value, const char *tstr, const char *met)
{
    if (nsums == sizeof sums / sizeof sums[0])
        return;
    struct sum *s = &sums[nsums++];
    snprintf(s->figure, sizeof s->figure, "%s", fig);
    snprintf(s->value, sizeof s->value, "%s", value);
    snprintf(s->floor, sizeof s->floor, "-");
    snprintf(s->ratio, sizeof s->ratio, "-");
    snprintf(s->target, sizeof s->target, "%s", tstr);
    s->met = met;
}

static void print_summary(FILE *o, bool md)
{
    if (md) {
        fprintf(o,
                "| figure | value | floor | ratio | target | met? |\n|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < nsums; i++)
            fprintf(o, "| %s | %s | %s | %s | %s | %s |\n", sums[i].figure, sums[i].value,
                    sums[i].floor, sums[i].ratio, sums[i].target, sums[i].met);
        return;
    }
    fprintf(o, "%-46s %12s %12s %8s %14s %s\n", "figure", "value", "floor", "ratio", "target",
            "met?");
    for (size_t i = 0; i < nsums; i++)
        fprintf(o, "%-46s %12s %12s %8s %14s %s\n", sums[i].figure, sums[i].value, sums[i].floor,
                sums[i].ratio, sums[i].target, sums[i].met);
    fflush(o);
}

/* Below the table: for each miss, the measured cost in the way, and
 * anything that could not be measured. */
static char notes[8192];

static void add_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_note(const char *fmt, ...)
{
    size_t used = strlen(notes);
    if (used + 8 >= sizeof notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(notes + used, sizeof notes - used, "- ");
    if (n > 0)
        used += (size_t)n;
    vsnprintf(notes + used, sizeof notes - used, fmt, ap);
    va_end(ap);
    used = strlen(notes);
    if (used + 1 < sizeof notes) {
        notes[used] = '\n';
        notes[used + 1] = 0;
    }
}

/* Whether the summary row named fig was missed. */
static bool missed(const char *fig)
{
    for (size_t i = 0; i < nsums; i++)
        if (strcmp(sums[i].figure, fig) == 0)
            return strcmp(sums[i].met, "NO") == 0;
    return false;
}

/* ----------------------------------------------------------------- peers */

/* What a user would pick instead of plughost (bench/peers/): each is a
 * program that starts its own child, times the same echo one round trip at
 * a time and prints "p50_ns p99_ns". Given with --peer "NAME=PROGRAM ARG..."
 * by bench/run, which builds them and leaves out those whose toolchain is
 * missing; the params' JSON text, the iterations and the warm-up are
 * appended to the arguments. */
#define MAX_PEERS 4
#define PEER_ARGS 8

struct peer {
    char name[48];
    char *argv[PEER_ARGS + 1]; /* split in place in one strdup'ed copy, kept to the end */
};

static struct peer peers[MAX_PEERS];
static size_t npeers;

static void add_peer(const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof peers[0].name || npeers == MAX_PEERS)
        die("--peer wants NAME=PROGRAM [ARG...] (at most %d peers): %s", MAX_PEERS, spec);
    struct peer *pr = &peers[npeers++];
    memcpy(pr->name, spec, (size_t)(eq - spec));
    char *cmd = strdup(eq + 1);
    if (!cmd)
        die("out of memory");
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(cmd, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (n == PEER_ARGS)
            die("--peer %s: more than %d arguments", pr->name, PEER_ARGS);
        pr->argv[n++] = t;
    }
    if (n == 0)
        die("--peer %s: no program", pr->name);
}

/* Runs a peer where ph_bench's own mask puts it; child_cpu >= 0 asks it to
 * start its child on that CPU. 0 with p50/p99 filled, or -1 with why. */
static int run_peer(const struct peer *pr, const char *params_json, int child_cpu, double *p50,
                    double *p99, char *why, size_t len)
{
    char iters[32], warm[32], cpu[16];
    snprintf(iters, sizeof iters, "%zu", cfg.iters < 5000 ? cfg.iters : 5000);
    snprintf(warm, sizeof warm, "%zu", cfg.warmup < 1000 ? cfg.warmup : 1000);
    snprintf(cpu, sizeof cpu, "%d", child_cpu);
    char *argv[PEER_ARGS + 4];
    size_t n = 0;
    while (pr->argv[n]) {
        argv[n] = pr->argv[n];
        n++;
    }
    argv[n++] = (char *)params_json;
    argv[n++] = iters;
    argv[n++] = warm;
    argv[n] = NULL;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        if (dup2(fds[1], 1) < 0)
            _exit(127);
        if (child_cpu >= 0)
            setenv("PH_PEER_CHILD_CPU", cpu, 1);
        else
            unsetenv("PH_PEER_CHILD_CPU");
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char out[256];
    size_t got = 0;
    /* A peer that hangs must not hang the benchmark. */
    uint64_t end = now_ns() + 180ull * 1000000000ull;
    for (;;) {
        struct pollfd pf = {.fd = fds[0], .events = POLLIN};
        uint64_t now = now_ns();
        int r = now < end ? poll(&pf, 1, (int)((end - now) / 1000000) + 1) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t k = read(fds[0], out + got, sizeof out - 1 - got);
        if (k <= 0 || (got += (size_t)k) == sizeof out - 1)
            break;
    }
    out[got] = 0;
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, len, "%s failed (%s %d)", argv[0], WIFEXITED(st) ? "exit" : "signal",
                 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -1;
    }
    if (sscanf(out, "%lf %lf", p50, p99) != 2 || !(*p50 > 0) || !(*p99 >= *p50)) {
        snprintf(why, len, "%s printed no \"p50_ns p99_ns\"", argv[0]);
        *p50 = *p99 = NAN;
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------- one placement */

static double serve_sys = NAN, relay_sys = NAN; /* system calls per call */
static double serve_cpu = NAN, plugin_cpu = NAN, relay_cpu = NAN,
              relay_child_cpu = NAN; /* us of CPU per call */

static void run_placement(const struct placement *pl, json_t *params)
{
    samples raw = {0}, js = {0}, inp = {0}, hc = {0}, sp_floor = {0}, sp_host = {0}, sv = {0},
            rl = {0};
    samples stages[SPAWN_STAGES] = {{0}};
    char note[1400] = "";
    char *buf = malloc(MSG_MAX);
    if (!buf)
        die("out of memory");
    uint64_t id = 1;

    set_self(&pl->host);
    struct floor_proc fp = floor_start(&pl->child);
    /* serve (and the plugin it starts, which inherits its mask) sits where
     * the floor's server does: the client is the benchmark. */
    struct serve_proc sp, rp;
    bool serving = host_ok && serve_start(&sp, &pl->child);
    bool relaying = relay_start(&rp, &pl->child);
    char serve_problem[200] = "";
    if (!serving)
        snprintf(serve_problem, sizeof serve_problem, "plughost serve not run (%s)",
                 plughost_path ? plughost_path : "no path");
    if (!relaying)
        snprintf(serve_problem + strlen(serve_problem),
                 sizeof serve_problem - strlen(serve_problem), "%srelay floor not run (%s)",
                 serve_problem[0] ? "; " : "", relay_path);

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
        if (serving && serve_rtt(&sp, params, id++, NULL) != 0) {
            snprintf(serve_problem, sizeof serve_problem, "plughost serve: bad or no answer");
            serve_stop(&sp);
            serving = false;
        }
        if (relaying && serve_rtt(&rp, params, id++, NULL) != 0) {
            snprintf(serve_problem, sizeof serve_problem, "relay floor: bad or no answer");
            serve_stop(&rp);
            relaying = false;
        }
    }
    if (serving) {
        pid_t sp_plugin = serve_plugin_pid(sp.pid);
        cpu_set_t got;
        char m[64] = "?";
        if (sp_plugin > 0 && sched_getaffinity(sp_plugin, sizeof got, &got) == 0)
            mask_str(&got, m, sizeof m);
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "%sserve: pid %d, its plugin pid %d cpus {%s}",
                 used ? "\n   " : "", (int)sp.pid, (int)sp_plugin, m);
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
        /* serve and its floor, the relay, in short alternating stretches:
         * the issue's "alternating runs" */
        for (size_t i = 0; i < per; i += 64) {
            for (size_t j = i; relaying && j < i + 64 && j < per; j++)
                if (serve_rtt(&rp, params, id++, &rl) != 0) {
                    snprintf(serve_problem, sizeof serve_problem, "relay floor: bad or no answer");
                    serve_stop(&rp);
                    relaying = false;
                }
            for (size_t j = i; serving && j < i + 64 && j < per; j++)
                if (serve_rtt(&sp, params, id++, &sv) != 0) {
                    snprintf(serve_problem, sizeof serve_problem,
                             "plughost serve: bad or no answer");
                    serve_stop(&sp);
                    serving = false;
                }
        }
    }
    if (serving)
        serve_stop(&sp);
    if (relaying)
        serve_stop(&rp);

    /* (e): median over rounds of time per call, floor and host alternating */
    double fl_pipe[32], ho_pipe[32];
    size_t npipe = cfg.pipe_rounds < 32 ? cfg.pipe_rounds : 32, nho = 0;
    json_pipelined(fp.fd, buf, params, PIPE_DEPTH * 4, PIPE_DEPTH, &id);
    if (h && isnan(host_pipelined(h, name, params, PIPE_DEPTH * 4))) {
        ph_host_free(h);
        h = NULL;
    }
    for (size_t r = 0; r < npipe; r++) {
        fl_pipe[r] = json_pipelined(fp.fd, buf, params, cfg.pipe_calls, PIPE_DEPTH, &id);
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

    /* Peers, placed like the floor: their host on the placement's host
     * CPUs, their child on the second core for "two cores". */
    double peer50[MAX_PEERS], peer99[MAX_PEERS];
    char peer_why[MAX_PEERS][160];
    char *params_json = json_dumps(params, JSON_COMPACT);
    for (size_t i = 0; i < npeers; i++) {
        set_self(&pl->host);
        peer50[i] = peer99[i] = NAN;
        peer_why[i][0] = 0;
        if (!params_json)
            snprintf(peer_why[i], sizeof peer_why[i], "cannot encode the params");
        else
            run_peer(&peers[i], params_json, pl->kind == PL_TWO ? cpu_b : -1, &peer50[i],
                     &peer99[i], peer_why[i], sizeof peer_why[i]);
    }
    free(params_json);

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
        /* the first starts fault in the page cache: their stages are not kept */
        ph_host_set_event_handler(sh, i >= 2 ? on_spawn_event : on_event, stages);
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
    double sv50 = pct(&sv, 50), sv99 = pct(&sv, 99);
    add_row(p, "g serve two-hop p50", sv50, "b JSON RTT p50", js50);
    add_row(p, "g serve two-hop p99", sv99, "b JSON RTT p99", js99);
    double rl50 = pct(&rl, 50), rl99 = pct(&rl, 99);
    add_row(p, "g serve two-hop p50 (vs relay)", sv50, "g two-hop relay p50", rl50);
    add_row(p, "g serve two-hop p99 (vs relay)", sv99, "g two-hop relay p99", rl99);
    add_row(p, "d plughost call p50 (vs raw)", hc50, "a raw RTT p50", raw50);
    add_row(p, "d plughost call p50 (vs in-proc)", hc50, "c in-process echo p50", pct(&inp, 50));
    add_row(p, "e plughost x64 pipelined /call", ho_med, "e JSON x64 pipelined /call", fl_med);
    add_row(p, "f plughost spawn p50", pct(&sp_host, 50), "f fork+exec+ready p50",
            pct(&sp_floor, 50));
    add_row(p, "f plughost spawn p99", pct(&sp_host, 99), "f fork+exec+ready p99",
            pct(&sp_floor, 99));
    for (size_t i = 0; i < npeers; i++) {
        char f[64]; /* a row's figure is 64 bytes; peer names are short */
        snprintf(f, sizeof f, "h %.30s p50", peers[i].name);
        add_row(p, f, peer50[i], NULL, 0);
        snprintf(f, sizeof f, "h %.30s p99", peers[i].name);
        add_row(p, f, peer99[i], NULL, 0);
        snprintf(f, sizeof f, "d plughost call p50 (vs %.30s)", peers[i].name);
        add_row(p, f, hc50, "h peer p50", peer50[i]);
    }
    if (pl->kind == PL_FREE) {
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used,
                 "%sunpinned: each pair lands where the scheduler puts it (same or different "
                 "cores), so these ratios can swing; trust the pinned ones",
                 used ? "\n   " : "");
    }
    if (serve_problem[0]) {
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "%s%s", used ? "\n   " : "", serve_problem);
    }
    if (host_problem[0]) {
        size_t used = strlen(note);
        snprintf(note + used, sizeof note - used, "%sPLUGHOST FIGURES MISSING: %s",
                 used ? "\n   " : "", host_problem);
    }
    for (size_t i = 0; i < npeers; i++) {
        size_t used = strlen(note);
        if (peer_why[i][0])
            snprintf(note + used, sizeof note - used, "%speer %s: %s", used ? "\n   " : "",
                     peers[i].name, peer_why[i]);
    }
    print_table(p, note);
    if (pl->kind == PL_ONE && host_ok && plughost_path) {
        char *sargv[] = {(char *)plughost_path, "serve", "--framing=line", (char *)cfg.plugin_file,
                         NULL};
        char *rargv[] = {(char *)relay_path, NULL};
        double ssc = syscalls_per_call(sargv, params, &pl->child);
        double rsc = syscalls_per_call(rargv, params, &pl->child);
        fprintf(detail,
                "\n== system calls per call, one client request at a time (strace -c of the "
                "server process, not its child) ==\n   plughost serve %.2f   relay %.2f\n",
                ssc, rsc);
        serve_sys = ssc;
        relay_sys = rsc;
        /* CPU per call, serve and the relay alternating in 4 stretches */
        struct serve_proc a = {.pid = -1}, b = {.pid = -1};
        double s_srv[4], s_plug[4], r_srv[4], r_child[4];
        size_t got = 0;
        if (serve_start(&a, &pl->child) && relay_start(&b, &pl->child)) {
            for (; got < 4; got++) {
                cpu_per_call(&a, params, 2000, &s_srv[got], &s_plug[got]);
                cpu_per_call(&b, params, 2000, &r_srv[got], &r_child[got]);
            }
        }
        if (a.pid > 0)
            serve_stop(&a);
        if (b.pid > 0)
            serve_stop(&b);
        serve_cpu = median(s_srv, got);
        plugin_cpu = median(s_plug, got);
        relay_cpu = median(r_srv, got);
        relay_child_cpu = median(r_child, got);
        fprintf(detail,
                "\n== CPU per call, one request at a time (schedstat, median of %zu stretches of "
                "2000) ==\n   plughost serve %.2f us + its plugin %.2f us;   relay %.2f us + its "
                "child %.2f us\n",
                got, serve_cpu, plugin_cpu, relay_cpu, relay_child_cpu);
    }
    if (stages[0].n) {
        fprintf(detail,
                "\n== where a start's time goes (%s, p50 of %zu starts; the stages' p50s need not "
                "add up to the start's) ==\n",
                p, stages[0].n);
        for (size_t i = 0; i < SPAWN_STAGES; i++) {
            char v[32];
            fmt_ns(pct(&stages[i], 50), v, sizeof v);
            fprintf(detail, "   %-9s %12s   %s\n", stage_name[i], v, stage_what[i]);
        }
        char v[32];
        fmt_ns(pct(&sp_host, 50), v, sizeof v);
        fprintf(detail, "   %-9s %12s   (whole start, p50)\n", "total", v);
        fflush(detail);
    }

    static const char *const short_name[] = {"one core", "two cores", "unpinned"};
    const char *k = short_name[pl->kind];
    char fig[64];
    bool one = pl->kind == PL_ONE;
    snprintf(fig, sizeof fig, "library echo call p50, %s", k);
    add_sum(fig, hc50, js50, "ns", one ? '<' : 0, 1.15, one ? "<=1.15x JSON" : "(one core)");
    snprintf(fig, sizeof fig, "library echo call p99, %s", k);
    add_sum(fig, hc99, js99, "ns", 0, 0, "-");
    snprintf(fig, sizeof fig, "serve echo p50 vs relay, %s", k);
    add_sum(fig, sv50, rl50, "ns", one ? '<' : 0, 1.15, one ? "<=1.15x relay" : "(one core)");
    snprintf(fig, sizeof fig, "serve echo p99 vs relay, %s", k);
    add_sum(fig, sv99, rl99, "ns", one ? '<' : 0, 1.4, one ? "<=1.40x relay" : "(one core)");
    if (one && (missed("serve echo p50 vs relay, one core") ||
                missed("serve echo p99 vs relay, one core")))
        add_note("serve vs relay: per call the serve process makes %.2f system calls, the relay "
                 "%.2f (strace -c); CPU per call, serve %.1f us and its plugin %.1f us against "
                 "the relay's %.1f us and its child's %.1f us (schedstat): the difference is "
                 "serve's own work per call (framing, the scanner's check of the request and "
                 "of the answer, the call table) and the plugin's; the library call alone is "
                 "%.2fx the JSON floor",
                 serve_sys, relay_sys, serve_cpu, plugin_cpu, relay_cpu, relay_child_cpu,
                 hc50 / js50);
    if (one && missed("library echo call p50, one core"))
        add_note("library echo: %.0f ns over the JSON floor's %.0f ns per round trip, the host's "
                 "call table and checks, the plugin's cgroup-charged socket buffers and the "
                 "runtime (docs/performance.md, \"The library call\", has a profile)",
                 hc50 - js50, js50);
    snprintf(fig, sizeof fig, "pipelined x64 calls/s, %s", k);
    add_sum(fig, 1e9 / ho_med, 1e9 / fl_med, "/s", '>', 0.8, ">=0.80x JSON");
    snprintf(fig, sizeof fig, "spawn to ready p50, %s", k);
    add_sum(fig, pct(&sp_host, 50), pct(&sp_floor, 50), "ns", '<', 1.5, "<=1.50x fork+exec");
    /* plughost's ratio to each peer: below 1.00x, plughost is faster. */
    for (size_t i = 0; i < npeers; i++) {
        snprintf(fig, sizeof fig, "echo p50 vs %.30s, %s", peers[i].name, k);
        add_sum(fig, hc50, peer50[i], "ns", 0, 0, "(peer)");
        snprintf(fig, sizeof fig, "echo p99 vs %.30s, %s", peers[i].name, k);
        add_sum(fig, hc99, peer99[i], "ns", 0, 0, "(peer)");
    }

    samples_free(&raw);
    samples_free(&js);
    samples_free(&inp);
    samples_free(&hc);
    samples_free(&sp_floor);
    samples_free(&sp_host);
    samples_free(&sv);
    samples_free(&rl);
    for (size_t i = 0; i < SPAWN_STAGES; i++)
        samples_free(&stages[i]);
    free(buf);
}

/* ---------------------------------------------------- proc accounting */

struct proc_use {
    long long ticks;    /* utime + stime */
    long long switches; /* voluntary + involuntary context switches */
    long long pss_kib;  /* from smaps_rollup */
    long long priv_kib; /* Private_Clean + Private_Dirty */
    long long rss_kib;  /* VmRSS */
};

static long long status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? atoll(p + strlen(key)) : 0;
}

static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return 0;
}

static int proc_use(pid_t pid, bool memory, struct proc_use *u)
{
    char path[64], buf[4096];
    *u = (struct proc_use){0};
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_text(path, buf, sizeof buf) < 0)
        return -1;
    const char *rp = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* fields after the command: state ppid pgrp session tty tpgid flags
     * minflt cminflt majflt cmajflt utime stime */
    if (!rp ||
        sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    u->ticks = (long long)(ut + st);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_text(path, buf, sizeof buf) < 0)
        return -1;
    u->switches = status_field(buf, "\nvoluntary_ctxt_switches:") +
                  status_field(buf, "\nnonvoluntary_ctxt_switches:");
    u->rss_kib = status_field(buf, "\nVmRSS:");
    if (!memory)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    if (read_text(path, buf, sizeof buf) < 0)
        return -1;
    u->pss_kib = status_field(buf, "\nPss:");
    u->priv_kib = status_field(buf, "\nPrivate_Clean:") + status_field(buf, "\nPrivate_Dirty:");
    return 0;
}

/* Pids of the host's plugins, in describe() order. */
static size_t plugin_pids(ph_host *h, pid_t *out, size_t max)
{
    json_t *d = ph_host_describe(h);
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        json_t *jp = json_object_get(p, "pid");
        if (n < max && json_is_integer(jp) && json_integer_value(jp) > 0)
            out[n++] = (pid_t)json_integer_value(jp);
    }
    json_decref(d);
    return n;
}

/* ---------------------------------------------------- many plugins */

struct scale_cfg {
    size_t max_plugins; /* 1000 full, 10 quick */
    unsigned idle_s;
    size_t payload_max;
    size_t layer_reps;
};

static struct scale_cfg scfg = {
    .max_plugins = 1000, .idle_s = 10, .payload_max = 16u << 20, .layer_reps = 30};
static const char *multi_plugin = "";
static const char *out_dir;

/* Plugins per ph_host_load_dir(): by default all of them in one directory,
 * as an operator would load them (the host starts them a window at a time,
 * host.c load_window). --load-batch N splits them into directories of N
 * loaded one after another. */
static size_t load_batch = 100000;
#define LOAD_BATCH load_batch

/* A directory of n copies of phbench00000.so, each renamed inside (the
 * 12-byte name) and outside (NAMEnnnnn.so), so n plugins load side by side;
 * in subdirectories of LOAD_BATCH, each one ph_host_load_dir(). */
static char *make_plugin_dir(size_t n)
{
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "/tmp/ph_bench.%d.%zu", (int)getpid(), n);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        die("mkdir %s: %s", dir, strerror(errno));
    FILE *f = fopen(multi_plugin, "rb");
    if (!f)
        die("%s: %s", multi_plugin, strerror(errno));
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *img = malloc((size_t)len);
    if (!img || fread(img, 1, (size_t)len, f) != (size_t)len)
        die("read %s", multi_plugin);
    fclose(f);
    static const char tag[] = "phbench00000";
    char *at = memmem(img, (size_t)len, tag, sizeof tag); /* with its NUL */
    if (!at)
        die("%s: name placeholder not found", multi_plugin);
    for (size_t i = 1; i <= n; i++) {
        char name[32], path[PATH_MAX + 64];
        snprintf(name, sizeof name, "phbench%05zu", i);
        memcpy(at, name, 12);
        snprintf(path, sizeof path, "%s/%03zu", dir, (i - 1) / LOAD_BATCH);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            die("mkdir %s: %s", path, strerror(errno));
        snprintf(path, sizeof path, "%s/%03zu/%s.so", dir, (i - 1) / LOAD_BATCH, name);
        FILE *o = fopen(path, "wb");
        if (!o || fwrite(img, 1, (size_t)len, o) != (size_t)len || fclose(o) != 0)
            die("write %s", path);
    }
    free(img);
    return dir;
}

static void remove_plugin_dir(const char *dir, size_t n)
{
    for (size_t i = 1; i <= n; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%03zu/phbench%05zu.so", dir, (i - 1) / LOAD_BATCH, i);
        unlink(path);
        if (i % LOAD_BATCH == 0 || i == n) {
            snprintf(path, sizeof path, "%s/%03zu", dir, (i - 1) / LOAD_BATCH);
            rmdir(path);
        }
    }
    rmdir(dir);
}

static FILE *dat_open(const char *name)
{
    if (!out_dir)
        return NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    return fopen(path, "w");
}

struct scale_point {
    size_t n;
    double load_ms, pss_kib, priv_kib, host_kib, rss_kib;
};

/* Loads n plugins into a fresh host; fills the point; returns the host. */
static ph_host *scale_load(size_t n, struct scale_point *pt, char **dir_out)
{
    ph_host_options opts = {0};
    opts.loader_path = cfg.loader && cfg.loader[0] ? cfg.loader : NULL;
    ph_host *h = NULL;
    ph_error e = {0};
    *pt = (struct scale_point){
        .n = n, .load_ms = NAN, .pss_kib = NAN, .priv_kib = NAN, .host_kib = NAN};
    char *dir = make_plugin_dir(n);
    *dir_out = dir;
    struct proc_use before, after;
    proc_use(getpid(), false, &before);
    struct mallinfo2 m0 = mallinfo2();
    if (ph_host_new(&opts, &h, &e) != PH_OK) {
        fprintf(stderr, "ph_bench: ph_host_new: %s\n", e.text);
        return NULL;
    }
    ph_host_set_event_handler(h, on_event, NULL);
    uint64_t t0 = now_ns();
    int rc = PH_OK;
    for (size_t b = 0; rc == PH_OK && b * LOAD_BATCH < n; b++) {
        char sub[PATH_MAX + 16];
        snprintf(sub, sizeof sub, "%s/%03zu", dir, b);
        rc = ph_host_load_dir(h, sub, &e);
    }
    uint64_t t1 = now_ns();
    pid_t *pids = calloc(n, sizeof *pids);
    size_t got = pids ? plugin_pids(h, pids, n) : 0;
    if (rc != PH_OK || got != n) {
        fprintf(stderr, "ph_bench: %zu plugins: %zu loaded (%s)\n", n, got,
                rc != PH_OK ? e.text : "see host events above");
        free(pids);
        ph_host_free(h);
        return NULL;
    }
    proc_use(getpid(), false, &after);
    struct mallinfo2 m1 = mallinfo2();
    pt->load_ms = (double)(t1 - t0) / 1e6;
    /* heap in use (what the host keeps), and the RSS it shows up in */
    pt->host_kib = ((double)m1.uordblks - (double)m0.uordblks) / 1024.0 / (double)n;
    pt->rss_kib = (double)(after.rss_kib - before.rss_kib) / (double)n;
    double pss = 0, priv = 0;
    for (size_t i = 0; i < got; i++) {
        struct proc_use u;
        if (proc_use(pids[i], true, &u) == 0) {
            pss += (double)u.pss_kib;
            priv += (double)u.priv_kib;
        }
    }
    pt->pss_kib = pss / (double)got;
    pt->priv_kib = priv / (double)got;
    free(pids);
    return h;
}

/* Idle: nothing asked of the host or its plugins for idle_s seconds; how
 * often does anything wake up? */
static void idle_check(ph_host *h, size_t n)
{
    pid_t *pids = calloc(n, sizeof *pids);
    size_t got = pids ? plugin_pids(h, pids, n) : 0;
    struct proc_use *b = calloc(got ? got : 1, sizeof *b);
    if (!b)
        die("out of memory");
    for (size_t i = 0; i < got; i++)
        proc_use(pids[i], false, &b[i]);
    struct proc_use hb, ha;
    proc_use(getpid(), false, &hb);
    uint64_t end = now_ns() + (uint64_t)scfg.idle_s * 1000000000u;
    long long early = -1; /* returns from ph_host_process before the end */
    ph_error e = {0};
    for (uint64_t now = now_ns(); now < end; now = now_ns()) {
        early++;
        if (ph_host_process(h, (int)((end - now) / 1000000u) + 1, &e) < 0)
            break;
    }
    proc_use(getpid(), false, &ha);
    long long psw = 0, pticks = 0;
    for (size_t i = 0; i < got; i++) {
        struct proc_use a;
        if (proc_use(pids[i], false, &a) == 0) {
            psw += a.switches - b[i].switches;
            pticks += a.ticks - b[i].ticks;
        }
    }
    /* the one sleep itself is one switch for the host */
    long long hsw = ha.switches - hb.switches - 1;
    fprintf(detail,
            "\n== idle: %zu plugins, %u s ==\n   host: %lld early wake-ups, %lld extra context "
            "switches, %lld CPU ticks; plugins: %lld context switches, %lld CPU ticks\n",
            got, scfg.idle_s, early, hsw, ha.ticks - hb.ticks, psw, pticks);
    char fig[64], val[64];
    snprintf(fig, sizeof fig, "idle wake-ups, host + %zu plugins, %u s", got, scfg.idle_s);
    long long wakes = (hsw > 0 ? hsw : 0) + psw;
    snprintf(val, sizeof val, "%lld", wakes);
    add_sum_text(fig, val, "0", wakes == 0 ? "yes" : "NO");
    snprintf(fig, sizeof fig, "idle CPU ticks, host + %zu plugins, %u s", got, scfg.idle_s);
    snprintf(val, sizeof val, "%lld", (ha.ticks - hb.ticks) + pticks);
    add_sum_text(fig, val, "0", (ha.ticks - hb.ticks) + pticks == 0 ? "yes" : "NO");
    free(pids);
    free(b);
}

/* Context switches and CPU time (ns, from schedstat: ticks are too coarse
 * for a hundred processes doing a few calls each) so far of the floor
 * peers or of a host's plugins, and of this process. */
struct use_sum {
    long long switches, cpu_ns;
};

static void add_use(pid_t pid, struct use_sum *sum)
{
    struct proc_use u;
    char path[64], buf[128];
    if (proc_use(pid, false, &u) == 0)
        sum->switches += u.switches;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    if (read_text(path, buf, sizeof buf) == 0)
        sum->cpu_ns += atoll(buf);
}

static struct use_sum use_of(const struct floor_proc *fp, size_t nfp, ph_host *h, size_t nplug)
{
    struct use_sum sum = {0};
    for (size_t i = 0; i < nfp; i++)
        add_use(fp[i].pid, &sum);
    if (h && nplug) {
        pid_t *pids = calloc(nplug, sizeof *pids);
        size_t got = pids ? plugin_pids(h, pids, nplug) : 0;
        for (size_t i = 0; i < got; i++)
            add_use(pids[i], &sum);
        free(pids);
    }
    return sum;
}

static struct use_sum self_use(void)
{
    struct use_sum s = {0};
    add_use(getpid(), &s);
    return s;
}

static struct use_sum use_diff(struct use_sum a, struct use_sum b)
{
    return (struct use_sum){b.switches - a.switches, b.cpu_ns - a.cpu_ns};
}

static void run_scale(json_t *params)
{
    set_self(&orig_mask);
    if (!host_ok || !multi_plugin[0] || access(multi_plugin, R_OK) != 0) {
        add_sum_text("many plugins", "-", "-", "MISSING");
        return;
    }
    size_t steps[] = {1, 10, 100, 1000};
    struct scale_point pts[4];
    size_t npts = 0;
    FILE *dat = dat_open("scale.dat");
    if (dat)
        fprintf(dat, "# plugins load_ms pss_kib_per_plugin private_kib_per_plugin "
                     "host_heap_kib_per_plugin host_rss_kib_per_plugin\n");
    fprintf(
        detail,
        "\n== many plugins (unpinned; loaded %zu per ph_host_load_dir) ==\n%8s %12s %14s %14s %14s "
        "%14s %14s\n",
        LOAD_BATCH, "plugins", "all ready", "per plugin", "Pss/plugin", "private/plugin",
        "host heap/pl.", "host RSS/pl.");
    ph_host *big = NULL;
    char *big_dir = NULL;
    size_t big_n = 0;
    for (size_t s = 0; s < 4 && steps[s] <= scfg.max_plugins; s++) {
        char *dir;
        struct scale_point *pt = &pts[npts];
        ph_host *h = scale_load(steps[s], pt, &dir);
        if (!h) {
            remove_plugin_dir(dir, steps[s]);
            continue;
        }
        npts++;
        fprintf(detail, "%8zu %9.1f ms %11.2f ms %10.0f KiB %10.0f KiB %10.1f KiB %10.1f KiB\n",
                pt->n, pt->load_ms, pt->load_ms / (double)pt->n, pt->pss_kib, pt->priv_kib,
                pt->host_kib, pt->rss_kib);
        if (dat)
            fprintf(dat, "%zu %.3f %.1f %.1f %.2f %.2f\n", pt->n, pt->load_ms, pt->pss_kib,
                    pt->priv_kib, pt->host_kib, pt->rss_kib);
        /* the 100-plugin host stays for the idle and concurrency figures */
        if (steps[s] == 100 || (scfg.max_plugins < 100 && steps[s] == scfg.max_plugins)) {
            big = h;
            big_dir = strdup(dir);
            big_n = steps[s];
        } else {
            ph_host_free(h);
            remove_plugin_dir(dir, steps[s]);
        }
    }
    if (dat)
        fclose(dat);
    fflush(detail);
    struct scale_point *last = npts ? &pts[npts - 1] : NULL;
    char fig[64];
    for (size_t i = 0; i < npts; i++) {
        if (pts[i].n < 100 && pts[i].n != scfg.max_plugins)
            continue;
        snprintf(fig, sizeof fig, "%zu plugins ready, total", pts[i].n);
        /* 1000 in 1 s is 1 ms a plugin; smaller counts get their share */
        char t[24];
        snprintf(t, sizeof t, "<=%zu ms", pts[i].n);
        add_sum(fig, pts[i].load_ms * 1e6, NAN, "ns", '<', (double)pts[i].n * 1e6, t);
    }
    if (last) {
        snprintf(fig, sizeof fig, "Pss per idle plugin (%zu plugins)", last->n);
        add_sum(fig, last->pss_kib, NAN, "KiB", '<', 256, "<=256 KiB");
        snprintf(fig, sizeof fig, "host heap per plugin (%zu plugins)", last->n);
        add_sum(fig, last->host_kib, NAN, "KiB", '<', 16, "<=16 KiB");
    }
    if (!big)
        return;
    idle_check(big, big_n);

    /* Concurrency: the same total work spread over k plugins, 128 in flight. */
    const char **names = calloc(big_n, sizeof *names);
    char(*nbuf)[32] = calloc(big_n, sizeof *nbuf);
    if (!names || !nbuf)
        die("out of memory");
    for (size_t i = 0; i < big_n; i++) {
        snprintf(nbuf[i], sizeof nbuf[i], "phbench%05zu", i + 1);
        names[i] = nbuf[i];
    }
    size_t ks[] = {1, 10, 100};
    double base = NAN;
    size_t calls = cfg.pipe_calls;
    host_pipelined_n(big, names, 1, params, 512, 128); /* warm-up */
    /* The floor's peers: as many raw JSON echo processes as plugins. */
    struct floor_proc *peers_k = calloc(big_n, sizeof *peers_k);
    char *fbuf = malloc(MSG_MAX);
    if (!peers_k || !fbuf)
        die("out of memory");
    for (size_t i = 0; i < big_n; i++)
        peers_k[i] = floor_start(&orig_mask);
    uint64_t fid = 1;
    fprintf(detail, "\n== concurrent calls over k plugins, 128 in flight (unpinned); plughost "
                    "corked (ph_host_cork) and not, against the same pattern over k raw JSON "
                    "echo peers ==\n");
    double base_open = NAN;
    for (size_t j = 0; j < 3 && ks[j] <= big_n; j++) {
        /* floor, corked and open rounds alternate, so a slow spell hits all */
        double v[3], o[3], f[3];
        /* Round 0 also counts context switches per call: the wake-ups
         * that spreading calls costs, in plughost and in the floor. */
        struct use_sum fpeer = {0}, fcli = {0}, pplug = {0}, phost = {0};
        for (int r = 0; r < 3; r++) {
            if (r == 0) {
                struct use_sum a = use_of(peers_k, big_n, NULL, 0), b = self_use();
                f[r] = json_pipelined_k(peers_k, ks[j], fbuf, params, calls, 128, &fid);
                fpeer = use_diff(a, use_of(peers_k, big_n, NULL, 0));
                fcli = use_diff(b, self_use());
                a = use_of(NULL, 0, big, big_n);
                b = self_use();
                pipe_cork = true;
                v[r] = host_pipelined_n(big, names, ks[j], params, calls, 128);
                pipe_cork = false;
                pplug = use_diff(a, use_of(NULL, 0, big, big_n));
                phost = use_diff(b, self_use());
                o[r] = host_pipelined_n(big, names, ks[j], params, calls, 128);
                continue;
            }
            f[r] = json_pipelined_k(peers_k, ks[j], fbuf, params, calls, 128, &fid);
            pipe_cork = false;
            o[r] = host_pipelined_n(big, names, ks[j], params, calls, 128);
            pipe_cork = true;
            v[r] = host_pipelined_n(big, names, ks[j], params, calls, 128);
            pipe_cork = false;
        }
        double per = median(v, 3), per_open = median(o, 3), floor_k = median(f, 3);
        if (j == 0) {
            base = per;
            base_open = per_open;
        }
        fprintf(detail,
                "   k=%-4zu corked %8.2f us per call (%.0f calls/s, %.2fx k=1)   not corked %8.2f "
                "us (%.2fx k=1)   k JSON peers %8.2f us (corked %.2fx, not corked %.2fx of it)\n",
                ks[j], per / 1e3, 1e9 / per, per / base, per_open / 1e3, per_open / base_open,
                floor_k / 1e3, per / floor_k, per_open / floor_k);
        if (j > 0) {
            /* The better of corked and not: an application picks one. */
            double best = per < per_open ? per : per_open;
            snprintf(fig, sizeof fig, "calls over %zu plugins, 128 in flight", ks[j]);
            add_sum(fig, best, floor_k, "ns", '<', 1.25, "<=1.25x k peers");
            if (missed(fig))
                add_note("calls over %zu plugins, per call, one round each: plughost (corked) "
                         "%.0f us of CPU (host %.0f, plugins %.0f) and %.2f context switches "
                         "(host %.2f, plugins %.2f); the %zu peers and their client %.0f us of CPU "
                         "(client %.0f, peers %.0f) and %.2f switches: the CPU each call costs "
                         "the host and its plugins is the cost in the way",
                         ks[j], (double)(phost.cpu_ns + pplug.cpu_ns) / 1e3 / (double)calls,
                         (double)phost.cpu_ns / 1e3 / (double)calls,
                         (double)pplug.cpu_ns / 1e3 / (double)calls,
                         (double)(phost.switches + pplug.switches) / (double)calls,
                         (double)phost.switches / (double)calls,
                         (double)pplug.switches / (double)calls, ks[j],
                         (double)(fcli.cpu_ns + fpeer.cpu_ns) / 1e3 / (double)calls,
                         (double)fcli.cpu_ns / 1e3 / (double)calls,
                         (double)fpeer.cpu_ns / 1e3 / (double)calls,
                         (double)(fcli.switches + fpeer.switches) / (double)calls);
        }
    }
    for (size_t i = 0; i < big_n; i++)
        floor_stop(&peers_k[i]);
    free(peers_k);
    free(fbuf);
    free(names);
    free(nbuf);
    ph_host_free(big);
    remove_plugin_dir(big_dir, big_n);
    free(big_dir);
}

/* --------------------------------------------- start vs bwrap, firejail */

/* Whole-process time of argv: fork, exec, its own set-up, exit, reaped.
 * NAN when it cannot be run or fails (why says so). */
static double whole_process(char *const argv[], char *why, size_t len)
{
    uint64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (dn >= 0) {
            dup2(dn, 0);
            dup2(dn, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    uint64_t t1 = now_ns();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (why[0] == 0)
            snprintf(why, len, "%s: %s %d", argv[0], WIFEXITED(st) ? "exit" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return NAN;
    }
    return (double)(t1 - t0);
}

/* Plugin start in a running host (one ph_host_load_file of a plugin it has
 * not seen, until its handshake is done) against what a user would run to
 * sandbox a process: bubblewrap and firejail, each starting /bin/true in
 * its namespaces, whole process. Alternating, on one core. */
static void run_start(void)
{
    if (!host_ok || !multi_plugin[0] || access(multi_plugin, R_OK) != 0) {
        add_sum_text("plugin start vs bwrap", "-", "<=1.00x bwrap", "MISSING");
        return;
    }
    cpu_set_t one = mask_of(cpu_a, -1);
    set_self(&one);
    char *bwrap[] = {"bwrap",     "--unshare-all", "--die-with-parent",
                     "--ro-bind", "/usr",          "/usr",
                     "--symlink", "usr/lib",       "/lib",
                     "--symlink", "usr/lib64",     "/lib64",
                     "--symlink", "usr/bin",       "/bin",
                     "--proc",    "/proc",         "--dev",
                     "/dev",      "/bin/true",     NULL};
    char *firejail[] = {"firejail", "--quiet", "--noprofile", "/bin/true", NULL};
    char bw_why[200] = "", fj_why[200] = "";
    size_t n = cfg.spawns + 2;
    char *dir = make_plugin_dir(n);
    ph_host_options opts = {0};
    opts.loader_path = cfg.loader && cfg.loader[0] ? cfg.loader : NULL;
    ph_host *h = NULL;
    ph_error e = {0};
    if (ph_host_new(&opts, &h, &e) != PH_OK)
        die("ph_host_new: %s", e.text);
    samples stages[SPAWN_STAGES] = {{0}};
    ph_host_set_event_handler(h, on_spawn_event, stages);
    samples ph = {0}, bw = {0}, fj = {0};
    bool bw_ok = true, fj_ok = true;
    for (size_t i = 1; i <= n; i++) {
        double b = bw_ok ? whole_process(bwrap, bw_why, sizeof bw_why) : NAN;
        double f = fj_ok ? whole_process(firejail, fj_why, sizeof fj_why) : NAN;
        bw_ok = !isnan(b);
        fj_ok = !isnan(f);
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%03zu/phbench%05zu.so", dir, (i - 1) / LOAD_BATCH, i);
        uint64_t t0 = now_ns();
        int rc = ph_host_load_file(h, path, NULL, &e);
        uint64_t t1 = now_ns();
        if (rc != PH_OK)
            die("start: load %s: %s", path, e.text);
        if (i <= 2)
            continue; /* the first starts fault in the page cache */
        samples_add(&ph, t1 - t0);
        if (bw_ok)
            samples_add(&bw, (uint64_t)b);
        if (fj_ok)
            samples_add(&fj, (uint64_t)f);
    }
    ph_host_free(h);
    remove_plugin_dir(dir, n);
    set_self(&orig_mask);
    double p50 = pct(&ph, 50), b50 = pct(&bw, 50), f50 = pct(&fj, 50);
    fprintf(detail,
            "\n== plugin start in a running host vs bubblewrap and firejail (one core, %zu "
            "alternating starts, p50 / p99) ==\n"
            "   plughost load_file   %8.2f ms / %8.2f ms\n"
            "   bwrap /bin/true      %8.2f ms / %8.2f ms %s\n"
            "   firejail /bin/true   %8.2f ms / %8.2f ms %s\n",
            ph.n, p50 / 1e6, pct(&ph, 99) / 1e6, b50 / 1e6, pct(&bw, 99) / 1e6, bw_ok ? "" : bw_why,
            f50 / 1e6, pct(&fj, 99) / 1e6, fj_ok ? "" : fj_why);
    fflush(detail);
    if (bw.n)
        add_sum("plugin start (running host) vs bwrap", p50, b50, "ns", '<', 1.0, "<=1.00x bwrap");
    else
        add_sum_text("plugin start (running host) vs bwrap", "-", "<=1.00x bwrap", "MISSING");
    if (fj.n)
        add_sum("plugin start (running host) vs firejail", p50, f50, "ns", 0, 0, "(beside)");
    else
        add_sum_text("plugin start vs firejail: firejail failed", "-", "(beside)", "-");
    if (missed("plugin start (running host) vs bwrap")) {
        char st[600] = "";
        for (size_t i = 0; i < SPAWN_STAGES; i++) {
            size_t used = strlen(st);
            snprintf(st + used, sizeof st - used, "%s%s %.2f", i ? ", " : "", stage_name[i],
                     pct(&stages[i], 50) / 1e6);
        }
        add_note("plugin start: %.2f ms against bwrap's %.2f ms; where a start goes (ms, p50 of "
                 "each stage, bench/README.md and docs/performance.md say what each is): %s",
                 p50 / 1e6, b50 / 1e6, st);
    }
    for (size_t i = 0; i < SPAWN_STAGES; i++)
        samples_free(&stages[i]);
    if (!fj_ok)
        add_note("firejail could not run here: %s", fj_why);
    if (!bw_ok)
        add_note("bwrap could not run here: %s", bw_why);
    samples_free(&ph);
    samples_free(&bw);
    samples_free(&fj);
}

/* --------------------------------------------------------- payload sweep */

/* In-process floor: what jansson alone spends on one echo round trip:
 * encode the request, decode it, encode the response, decode it, compare. */
static double jansson_echo_once(json_t *params)
{
    uint64_t t0 = now_ns();
    size_t len;
    char *req = encode_request(params, 1, &len);
    json_error_t je;
    json_t *r = json_loadb(req, len, 0, &je);
    free(req);
    json_t *resp = json_pack("{s:s, s:O, s:O}", "jsonrpc", "2.0", "id", json_object_get(r, "id"),
                             "result", json_object_get(r, "params"));
    char *out = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    json_decref(r);
    json_t *back = out ? json_loadb(out, strlen(out), 0, &je) : NULL;
    free(out);
    int ok = json_equal(json_object_get(back, "result"), params);
    json_decref(back);
    uint64_t t1 = now_ns();
    if (!ok)
        die("jansson floor: echo differs");
    return (double)(t1 - t0);
}

static void run_payload(void)
{
    if (!host_ok)
        return;
    set_self(&orig_mask);
    const char *name = "echo";
    ph_error e = {0};
    ph_host *h = host_start(&name, &e);
    if (!h)
        return;
    FILE *dat = dat_open("payload.dat");
    if (dat)
        fprintf(dat, "# bytes host_p50_ns jansson_p50_ns ratio\n");
    fprintf(detail,
            "\n== payload sweep: echo of one JSON string (unpinned) ==\n%10s %12s %12s %8s %12s\n",
            "bytes", "plughost", "jansson", "ratio", "plughost MB/s");
    size_t sizes[] = {100, 1024, 10240, 102400, 1048576, 4194304, 16777216};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        if (n > scfg.payload_max)
            break;
        char *str = malloc(n + 1);
        if (!str)
            die("out of memory");
        memset(str, 'a', n);
        str[n] = 0;
        json_t *params = json_pack("[s]", str);
        free(str);
        size_t iters = (64u << 20) / n;
        if (iters > 2000)
            iters = 2000;
        if (iters < 5)
            iters = 5;
        samples hs = {0}, js = {0};
        host_rtt(h, name, params, NULL);
        jansson_echo_once(params);
        for (size_t k = 0; k < iters; k++) {
            samples_add(&js, (uint64_t)jansson_echo_once(params));
            if (host_rtt(h, name, params, &hs) != 0)
                break;
        }
        double hp = pct(&hs, 50), jp = pct(&js, 50);
        fprintf(detail, "%10zu %12.1f us %9.1f us %7.2fx %12.0f\n", n, hp / 1e3, jp / 1e3, hp / jp,
                (double)n / hp * 1e3);
        if (dat)
            fprintf(dat, "%zu %.0f %.0f %.3f\n", n, hp, jp, hp / jp);
        if (n == 16777216)
            add_sum("16 MiB string echo, throughput", (double)n / hp * 1e9, (double)n / jp * 1e9,
                    "MB/s", '>', 0.8, ">=0.80x jansson");
        json_decref(params);
        samples_free(&hs);
        samples_free(&js);
    }
    fflush(detail);
    if (dat)
        fclose(dat);
    ph_host_free(h);
}

/* ------------------------------------------------------------ blob echo */

#ifndef PH_BENCH_BLOB_PLUGIN
#define PH_BENCH_BLOB_PLUGIN ""
#endif

/* The floor: the two copies any process-isolated echo of bytes must make
 * at least (into the message, and into the answer), done in-process with
 * memcpy between buffers already faulted in. */
static double memcpy2_once(unsigned char *a, unsigned char *b, unsigned char *c, size_t n)
{
    uint64_t t0 = now_ns();
    memcpy(b, a, n);
    memcpy(c, b, n);
    uint64_t t1 = now_ns();
    if (c[n / 2] != a[n / 2] || c[n - 1] != a[n - 1])
        die("memcpy floor: copy differs");
    return (double)(t1 - t0);
}

/* A fresh sealed memfd holding n bytes of src: what a blob costs to make. */
static int sealed_copy(const void *src, size_t n)
{
    int fd = memfd_create("floor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    size_t off = 0;
    while (fd >= 0 && off < n) {
        ssize_t w = write(fd, (const char *)src + off, n - off);
        if (w <= 0)
            die("floor: write: %s", strerror(errno));
        off += (size_t)w;
    }
    if (fd < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        die("floor: memfd: %s", strerror(errno));
    return fd;
}

static void fd_send(int sock, int fd)
{
    char byte = 0;
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &mh, 0) != 1)
        die("floor: sendmsg: %s", strerror(errno));
}

static int fd_recv(int sock)
{
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    int fd = -1;
    if (c && c->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* The second floor: the same mechanism without plughost. A child process
 * receives a sealed memfd, maps it, answers with a sealed copy; the
 * parent maps the answer. Two fresh shared-memory files of n bytes per
 * round, as a blob echo makes, and nothing else. */
static pid_t memfd_echo_start(int *sock, size_t n)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        die("floor: socketpair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("floor: fork: %s", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        for (;;) {
            int fd = fd_recv(sv[1]);
            if (fd < 0)
                _exit(0);
            void *m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                _exit(1);
            int out = sealed_copy(m, n);
            munmap(m, n);
            close(fd);
            fd_send(sv[1], out);
            close(out);
        }
    }
    close(sv[1]);
    *sock = sv[0];
    return pid;
}

static double memfd_echo_once(int sock, const unsigned char *a, size_t n)
{
    uint64_t t0 = now_ns();
    int fd = sealed_copy(a, n);
    fd_send(sock, fd);
    close(fd);
    int back = fd_recv(sock);
    void *m = back >= 0 ? mmap(NULL, n, PROT_READ, MAP_SHARED, back, 0) : MAP_FAILED;
    uint64_t t1 = now_ns();
    if (m == MAP_FAILED || memcmp(m, a, n) != 0)
        die("memfd floor: echo differs");
    munmap(m, n);
    close(back);
    return (double)(t1 - t0);
}

/* Where a blob echo's time goes, step by step, in this process: each
 * step as the host or the SDK takes it (host/blob.c, sdk/wire.c,
 * sdk/sdk.c), on n bytes. */
struct blob_steps {
    samples make, populate, copy_in, unmap_seal, map_read;
};

static void blob_steps_once(struct blob_steps *st, const unsigned char *a, size_t n)
{
    char why[200];
    uint64_t t0 = now_ns();
    int in = sealed_copy(a, n); /* the host's ph_wire_blob_make: memfd, write, seal */
    uint64_t t1 = now_ns();
    /* the plugin: map the request read-only; an answer buffer sized
     * sparse and mapped with MAP_POPULATE (ph_result_blob_buffer) */
    uint64_t t2a = now_ns();
    const unsigned char *src = mmap(NULL, n, PROT_READ, MAP_SHARED | MAP_POPULATE, in, 0);
    int out = memfd_create("steps", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (src == MAP_FAILED || out < 0 || lseek(out, (off_t)n - 1, SEEK_SET) < 0 ||
        write(out, "", 1) != 1)
        die("blob steps: %s", strerror(errno));
    uint64_t t2 = now_ns();
    unsigned char *dst = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, out, 0);
    uint64_t t3 = now_ns();
    if (dst == MAP_FAILED)
        die("blob steps: mmap: %s", strerror(errno));
    memcpy(dst, src, n); /* the method's one copy, reading the request's pages */
    uint64_t t4 = now_ns();
    munmap(dst, n);
    munmap((void *)src, n);
    if (fcntl(out, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        die("blob steps: seal: %s", strerror(errno));
    uint64_t t5 = now_ns();
    /* the host: map the answer read-only (host/blob.c); the caller reads it */
    const unsigned char *back = mmap(NULL, n, PROT_READ, MAP_SHARED, out, 0);
    if (back == MAP_FAILED)
        die("blob steps: map answer: %s", strerror(errno));
    unsigned sum = 0;
    for (size_t i = 0; i < n; i += 4096)
        sum += back[i];
    uint64_t t6 = now_ns();
    (void)why;
    if (sum == 0xffffffffu)
        fputc(' ', stderr);
    munmap((void *)back, n);
    close(in);
    close(out);
    samples_add(&st->make, t1 - t0);
    samples_add(&st->populate, t3 - t2);
    samples_add(&st->copy_in, (t4 - t3) + (t2 - t2a));
    samples_add(&st->unmap_seal, t5 - t4);
    samples_add(&st->map_read, t6 - t5);
}

/* 64 MiB through ph_host_call_blob to the blobs plugin and back: the host
 * writes the bytes into a sealed memfd, the plugin maps it and answers
 * with its own sealed memfd, the host maps that. Two answers: echo_direct
 * writes the answer in place (ph_result_blob_buffer), echo copies it out
 * of the method's hands (ph_result_blob). Timed from the call to the
 * mapping in hand; checked outside the timing. */
static double blob_call(ph_host *h, const char *method, const unsigned char *a, size_t n)
{
    json_t *result = NULL, *rpc = NULL;
    const void *out = NULL;
    size_t out_len = 0;
    ph_error e = {0};
    uint64_t t0 = now_ns();
    int rc = ph_host_call_blob(h, "blobs", method, NULL, a, n, &result, &out, &out_len, &rpc, &e);
    uint64_t t1 = now_ns();
    if (rc != PH_OK || out_len != n || memcmp(out, a, n) != 0)
        die("blob %s failed or differs: %s", method, rc != PH_OK ? e.text : "bytes");
    ph_host_blob_free(out, out_len);
    json_decref(result);
    json_decref(rpc);
    return (double)(t1 - t0);
}

static void run_blob(void)
{
    if (!host_ok)
        return;
    const char *plugin = PH_BENCH_BLOB_PLUGIN;
    if (!plugin[0]) {
        add_sum_text("64 MiB blob echo", "no blobs.so", ">=2.5 GB/s", "MISSING");
        return;
    }
    set_self(&orig_mask);
    ph_host_options opts = {0};
    opts.loader_path = cfg.loader && cfg.loader[0] ? cfg.loader : NULL;
    ph_host *h = NULL;
    ph_error e = {0};
    if (ph_host_new(&opts, &h, &e) != PH_OK || ph_host_load_file(h, plugin, NULL, &e) != PH_OK) {
        fprintf(stderr, "ph_bench: blob: %s\n", e.text);
        if (h)
            ph_host_free(h);
        add_sum_text("64 MiB blob echo", "host failed", ">=2.5 GB/s", "MISSING");
        return;
    }
    size_t n = (size_t)64 << 20;
    unsigned char *a = malloc(n), *b = malloc(n), *c = malloc(n);
    if (!a || !b || !c)
        die("out of memory");
    for (size_t i = 0; i < n; i++)
        a[i] = (unsigned char)(i * 7u + (i >> 20));
    memset(b, 0, n);
    memset(c, 0, n);
    samples hs = {0}, cs = {0}, fs = {0}, ms = {0};
    struct blob_steps st = {0};
    int msock;
    pid_t mpid = memfd_echo_start(&msock, n);
    const int reps = 12;
    for (int k = 0; k < reps + 1; k++) {
        double f = memcpy2_once(a, b, c, n);
        double mf = memfd_echo_once(msock, a, n);
        double hd = blob_call(h, "echo_direct", a, n);
        double hc = blob_call(h, "echo", a, n);
        if (k == 0)
            continue; /* warm-up: first faults of the plugin's heap */
        blob_steps_once(&st, a, n);
        samples_add(&fs, (uint64_t)f);
        samples_add(&ms, (uint64_t)mf);
        samples_add(&hs, (uint64_t)hd);
        samples_add(&cs, (uint64_t)hc);
    }
    close(msock);
    waitpid(mpid, NULL, 0);
    double hp = pct(&hs, 50), cp = pct(&cs, 50), fp = pct(&fs, 50), mp = pct(&ms, 50);
    double s_make = pct(&st.make, 50), s_pop = pct(&st.populate, 50), s_copy = pct(&st.copy_in, 50),
           s_unmap = pct(&st.unmap_seal, 50), s_read = pct(&st.map_read, 50);
    fprintf(detail,
            "\n== blob echo, 64 MiB (unpinned, %d rounds, p50) ==\n"
            "   plughost, answer written in place (echo_direct)  %7.1f ms  %5.2f GB/s (p99 %.1f "
            "ms)\n"
            "   plughost, answer copied (echo, ph_result_blob)   %7.1f ms  %5.2f GB/s\n"
            "   memcpy x2 between faulted buffers (floor)        %7.1f ms  %5.2f GB/s\n"
            "   sealed-memfd echo between two processes          %7.1f ms  %5.2f GB/s\n"
            "   where it goes, step by step in one process:\n"
            "     host: memfd + write 64 MiB + seal             %7.1f ms\n"
            "     plugin: answer buffer MAP_POPULATE            %7.1f ms\n"
            "     plugin: map request (MAP_POPULATE), memcpy     %7.1f ms\n"
            "     plugin: munmap + seal                         %7.1f ms\n"
            "     host: map the answer, caller touches each page %7.1f ms (not in the figure)\n",
            reps, hp / 1e6, (double)n / hp, pct(&hs, 99) / 1e6, cp / 1e6, (double)n / cp, fp / 1e6,
            (double)n / fp, mp / 1e6, (double)n / mp, s_make / 1e6, s_pop / 1e6, s_copy / 1e6,
            s_unmap / 1e6, s_read / 1e6);
    fflush(detail);
    /* The target is the echo's: whichever answer path is faster for a
     * method that already holds its bytes mapped. */
    double best = hp < cp ? hp : cp;
    add_sum("64 MiB blob echo", (double)n / best * 1e9, NAN, "GB/s", '>', 2.5e9, ">=2.5 GB/s");
    add_sum("64 MiB blob echo, answer in place", (double)n / hp * 1e9, NAN, "GB/s", 0, 0, "-");
    add_sum("64 MiB blob echo, answer copied", (double)n / cp * 1e9, NAN, "GB/s", 0, 0, "-");
    add_sum("64 MiB blob echo vs memcpy x2", (double)n / best * 1e9, (double)n / fp * 1e9, "GB/s",
            0, 0, "-");
    add_sum("64 MiB blob echo vs raw sealed-memfd echo", (double)n / best * 1e9,
            (double)n / mp * 1e9, "GB/s", 0, 0, "-");
    if (missed("64 MiB blob echo"))
        add_note("blob echo (%.1f ms in place, %.1f ms copied; memcpy x2 alone %.1f ms): fresh "
                 "shared memory is the cost in the way. Step by step: the host's memfd write "
                 "(page allocation and one copy) %.1f ms, the answer buffer's MAP_POPULATE "
                 "(allocation and the kernel's zeroing) %.1f ms, mapping the request and the "
                 "method's copy %.1f ms, munmap and seal %.1f ms. The same mechanism without "
                 "plughost (raw sealed-memfd echo) takes %.1f ms",
                 hp / 1e6, cp / 1e6, fp / 1e6, s_make / 1e6, s_pop / 1e6, s_copy / 1e6,
                 s_unmap / 1e6, mp / 1e6);
    samples_free(&hs);
    samples_free(&cs);
    samples_free(&fs);
    samples_free(&ms);
    samples_free(&st.make);
    samples_free(&st.populate);
    samples_free(&st.copy_in);
    samples_free(&st.unmap_seal);
    samples_free(&st.map_read);
    free(a);
    free(b);
    free(c);
    ph_host_free(h);
}

/* ---------------------------------------------------------- depth sweep */

static void run_depth(json_t *params)
{
    cpu_set_t one = mask_of(cpu_a, -1);
    set_self(&one);
    struct floor_proc fp = floor_start(&one);
    const char *name = "echo";
    ph_error e = {0};
    ph_host *h = host_ok ? host_start(&name, &e) : NULL;
    char *buf = malloc(MSG_MAX);
    if (!buf)
        die("out of memory");
    uint64_t id = 1;
    FILE *dat = dat_open("depth.dat");
    if (dat)
        fprintf(dat, "# depth host_calls_per_s json_floor_calls_per_s\n");
    fprintf(detail, "\n== in-flight depth, one plugin, one core ==\n%6s %14s %14s %8s\n", "depth",
            "plughost/s", "JSON floor/s", "ratio");
    size_t depths[] = {1, 4, 16, 64, 256};
    size_t calls = cfg.pipe_calls / 2;
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        double fv[3], hv[3];
        for (int r = 0; r < 3; r++) {
            fv[r] = json_pipelined(fp.fd, buf, params, calls, depths[i], &id);
            hv[r] = h ? host_pipelined_n(h, &name, 1, params, calls, depths[i]) : NAN;
        }
        double f = median(fv, 3), hh = median(hv, 3);
        fprintf(detail, "%6zu %14.0f %14.0f %7.2fx\n", depths[i], 1e9 / hh, 1e9 / f, f / hh);
        if (dat)
            fprintf(dat, "%zu %.0f %.0f\n", depths[i], 1e9 / hh, 1e9 / f);
    }
    fflush(detail);
    if (dat)
        fclose(dat);
    free(buf);
    floor_stop(&fp);
    if (h)
        ph_host_free(h);
    set_self(&orig_mask);
}

/* ------------------------------------------------ spawn, layer by layer */

/* What each namespace adds to process creation: clone3 with that flag
 * alone, timed in the parent (the kernel builds the namespaces inside the
 * call). The child exits at once; reaping is not timed. */
static void run_layers(void)
{
    static const struct {
        uint64_t flag;
        const char *name;
    } ns[] = {
        {0, "none (plain fork)"}, {CLONE_NEWUSER, "user"},     {CLONE_NEWPID, "pid"},
        {CLONE_NEWNET, "net"},    {CLONE_NEWIPC, "ipc"},       {CLONE_NEWUTS, "uts"},
        {CLONE_NEWNS, "mnt"},     {CLONE_NEWCGROUP, "cgroup"},
    };
    uint64_t all = 0;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        all |= ns[i].flag;
    cpu_set_t one = mask_of(cpu_a, -1);
    set_self(&one);
    fprintf(detail, "\n== clone3 cost per namespace (one core, p50 of %zu) ==\n", scfg.layer_reps);
    double base = NAN;
    for (size_t i = 0; i <= sizeof ns / sizeof ns[0]; i++) {
        uint64_t flags = i < sizeof ns / sizeof ns[0] ? ns[i].flag : all;
        samples s = {0};
        for (size_t r = 0; r < scfg.layer_reps + 1; r++) {
            struct clone_args ca;
            memset(&ca, 0, sizeof ca);
            int pidfd = -1;
            ca.flags = flags | CLONE_PIDFD;
            ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
            ca.exit_signal = SIGCHLD;
            uint64_t t0 = now_ns();
            pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
            uint64_t t1 = now_ns();
            if (pid == 0)
                _exit(0);
            if (pid < 0)
                break;
            siginfo_t si;
            waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
            close(pidfd);
            if (r > 0)
                samples_add(&s, t1 - t0);
        }
        double p50 = pct(&s, 50);
        if (i == 0)
            base = p50;
        char v[32];
        fmt_ns(p50, v, sizeof v);
        char d[32] = "";
        if (i > 0 && !isnan(p50))
            fmt_ns(p50 - base, d, sizeof d);
        fprintf(detail, "   %-28s %12s   %s%s\n",
                i < sizeof ns / sizeof ns[0] ? ns[i].name : "all seven", v, d[0] ? "+" : "", d);
        samples_free(&s);
    }
    fflush(detail);
    set_self(&orig_mask);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr, "usage: ph_bench [--quick] [--iters N] [--spawns N] [--plugin FILE.so]\n"
                    "                [--plugins DIR] [--loader PATH] [--spawn-child PATH]\n"
                    "                [--placements one,two,free] [--csv FILE] [--out DIR]\n"
                    "                [--details FILE] [--plughost PATH] [--max-plugins N]\n"
                    "                [--idle S] [--load-batch N] [--sections LIST] [--peer "
                    "NAME=PROGRAM ARG...]\n"
                    "sections: latency,layers,depth,payload,blob,start,scale,lazy (default all)\n");
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
    printf("latency = round trip; ratio = value / floor (1.00x: costs what the floor costs;\n"
           "for rates higher is better)\n");
    free(ps);
    free(rq);
    fflush(stdout); /* keep the header above any host event on stderr */
}

int main(int argc, char **argv)
{
    static char plugin_buf[PATH_MAX];
    const char *details_path = NULL, *sections = NULL;
    bool quick = false;
    plughost_path = PH_BENCH_PLUGHOST;
    multi_plugin = PH_BENCH_MULTI_PLUGIN;
    detail = stdout;
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
            scfg.max_plugins = 100;
            scfg.idle_s = 2;
            scfg.layer_reps = 5;
            scfg.payload_max = 1u << 20;
            quick = true;
        } else if (strcmp(a, "--details") == 0 && v) {
            details_path = v;
            i++;
        } else if (strcmp(a, "--out") == 0 && v) {
            out_dir = v;
            i++;
        } else if (strcmp(a, "--plughost") == 0 && v) {
            plughost_path = v;
            i++;
        } else if (strcmp(a, "--load-batch") == 0 && v) {
            load_batch = parse_count(v);
            if (!load_batch)
                load_batch = 1;
            i++;
        } else if (strcmp(a, "--max-plugins") == 0 && v) {
            scfg.max_plugins = parse_count(v);
            i++;
        } else if (strcmp(a, "--idle") == 0 && v) {
            scfg.idle_s = (unsigned)parse_count(v);
            i++;
        } else if (strcmp(a, "--sections") == 0 && v) {
            sections = v;
            i++;
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
        } else if (strcmp(a, "--peer") == 0 && v) {
            add_peer(v);
            i++;
        } else {
            usage();
        }
    }
    if (cfg.iters < cfg.rounds)
        cfg.rounds = 1;
    if (quick && !cfg.only)
        cfg.only = "one"; /* the regression guard: pinned figures only */
    if (details_path && !(detail = fopen(details_path, "w")))
        die("%s: %s", details_path, strerror(errno));
    /* 1000 plugins hold three descriptors each in the host */
    struct rlimit nof;
    if (getrlimit(RLIMIT_NOFILE, &nof) == 0 && nof.rlim_cur < nof.rlim_max) {
        nof.rlim_cur = nof.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nof);
    }
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
#define SECTION(x) (!sections || strstr(sections, x))
    for (int i = 0; i < 3 && SECTION("latency"); i++) {
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
    if (SECTION("layers"))
        run_layers();
    if (SECTION("depth"))
        run_depth(params);
    if (SECTION("payload"))
        run_payload();
    if (SECTION("blob"))
        run_blob();
    if (SECTION("start"))
        run_start();
    if (SECTION("scale"))
        run_scale(params);
    if (SECTION("lazy") && host_ok && multi_plugin[0]) {
        /* bench/lazy.c: lazy activation of many plugins. */
        struct ph_bench_lazy lz = {scfg.max_plugins,  cfg.loader, detail,       make_plugin_dir,
                                   remove_plugin_dir, add_sum,    add_sum_text, dat_open};
        ph_bench_lazy(&lz);
    }
    if (SECTION("pool")) {
        struct ph_bench_pool_result pr;
        ph_bench_pool(cfg.loader && cfg.loader[0] ? cfg.loader : NULL, PH_BENCH_POOL_PLUGIN, &pr,
                      dat_open("instances.dat"));
        if (pr.one > 0 && !pr.failed)
            add_sum("pool: instances 2 vs 1 (5 ms CPU, 64 in flight)", pr.two, pr.one, "calls/s",
                    '>', 1.8, ">= 1.8x");
        else
            add_sum_text("pool: instances 2 vs 1 (5 ms CPU, 64 in flight)", "-", ">= 1.8x",
                         "MISSING");
        if (pr.iso_p50 > 0)
            add_sum("isolate call + spare vs warm call, echo p50", pr.iso_p50, pr.warm_p50, "ns",
                    '<', 1.3, "<= 1.3x");
        else
            add_sum_text("isolate call + spare vs warm call, echo p50", "-", "<= 1.3x", "MISSING");
        if (pr.iso_p50 > 1.3 * pr.warm_p50 && pr.pooled_p50 > 0)
            add_note("isolate call + spare vs warm call: %.1f us against %.1f us; a warm call "
                     "through the pool's queue and dispatch takes %.1f us, so the pool's path "
                     "is %.1f us of the gap and a fresh process per call %.1f us: at the end "
                     "of the turn that delivered the answer, before ph_host_call returns, the "
                     "host kills the served process and prepares its replacement's start "
                     "(settings, file, socket pair), the killed process's exit often runs on "
                     "the host's CPU, and a spare that slept wakes later (the spare's own call "
                     "is warmed by its runtime; docs/performance.md). A spare costs "
                     "%.1f ms of its own CPU to get ready, %.0f KiB resident while it waits, "
                     "and the host %.0f us of CPU per isolated call over a warm call",
                     pr.iso_p50 / 1e3, pr.warm_p50 / 1e3, pr.pooled_p50 / 1e3,
                     (pr.pooled_p50 - pr.warm_p50) / 1e3, (pr.iso_p50 - pr.pooled_p50) / 1e3,
                     pr.spare_cpu_ms, pr.spare_rss_kib, pr.host_cpu_extra_us);
    }
    write_csv();
    if (detail != stdout)
        fclose(detail);
    printf("\n");
    print_summary(stdout, false);
    if (notes[0])
        printf("\nnotes:\n%s", notes);
    FILE *md = dat_open("summary.md");
    if (md) {
        print_summary(md, true);
        if (notes[0])
            fprintf(md, "\n%s", notes);
        fclose(md);
    }
    json_decref(params);
    return 0;
}
