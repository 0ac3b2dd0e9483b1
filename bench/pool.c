/*
 * bench/pool.c: what an instance pool buys. A CPU-bound method (5 ms of
 * arithmetic on the plugin's own CPU clock, tests/unit/plugins/pooled.c),
 * 64 calls kept in flight, `instances: 2` against `instances: 1`, in
 * alternating rounds of the same run, so a busy spell of the machine hits
 * both. The floor is the one-instance host itself: the target is a ratio
 * of calls per second (issue 13: at least 1.8x on two cores).
 */
#include "pool.h"

#include <plughost/host.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define POOL_DEPTH 64
#define POOL_CALLS 320
#define POOL_ROUNDS 3

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct flight {
    ph_host *h;
    json_t *params;
    int sent, answered, failed, total;
};

static void send_one(struct flight *f);

static void answered(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct flight *f = ud;
    (void)id;
    (void)result;
    f->answered++;
    f->failed += error != NULL;
    if (f->sent < f->total)
        send_one(f);
}

static void send_one(struct flight *f)
{
    ph_error err;
    if (ph_host_call_async(f->h, "pooled", "spin", f->params, answered, f, NULL, &err) != PH_OK) {
        f->failed++;
        f->answered++;
    }
    f->sent++;
}

/* Calls per second with POOL_DEPTH in flight, over total calls. */
static double run_calls(ph_host *h, json_t *params, int total, int *failed)
{
    struct flight f = {h, params, 0, 0, 0, total};
    double t0 = mono_s();
    for (int i = 0; i < POOL_DEPTH && f.sent < total; i++)
        send_one(&f);
    while (f.answered < total)
        if (ph_host_process(h, 100, NULL) < 0)
            break;
    *failed += f.failed;
    return total / (mono_s() - t0);
}

static ph_host *pool_host_opts(ph_host_options o, const char *plugin);

static ph_host *pool_host(const char *loader, const char *plugin, unsigned instances)
{
    ph_host_options o = {.loader_path = loader, .instances = instances, .idle_stop_ms = 600000};
    return pool_host_opts(o, plugin);
}

static ph_host *pool_host_opts(ph_host_options o, const char *plugin)
{
    ph_host *h = NULL;
    ph_error err;
    if (ph_host_new(&o, &h, &err) != PH_OK || ph_host_load_file(h, plugin, NULL, &err) != PH_OK) {
        fprintf(stderr, "pool bench: %s\n", err.text);
        ph_host_free(h);
        return NULL;
    }
    return h;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define ISO_CALLS 200

/* The pid of an idle instance of pooled, or 0; also 0 while any instance
 * is starting or ending, so a timed call meets a loop with nothing else
 * to do (the reaping of the last call's process is counted in the host's
 * CPU per call, not in this call's latency). */
static int idle_pid(ph_host *h)
{
    json_t *d = ph_host_describe(h), *p, *inst;
    size_t i, j;
    int pid = 0, busy = 0;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        json_array_foreach(json_object_get(p, "instances"), j, inst)
        {
            const char *st = json_string_value(json_object_get(inst, "state"));
            if (st && strcmp(st, "idle") == 0)
                pid = (int)json_integer_value(json_object_get(inst, "pid"));
            busy |= st && (strcmp(st, "loading") == 0 || strcmp(st, "ending") == 0);
        }
    }
    json_decref(d);
    return busy ? 0 : pid;
}

/* CPU time of a process in ms, and its VmRSS in KiB (-1: unknown). */
static void proc_cost(int pid, double *cpu_ms, double *rss_kib)
{
    char path[64], buf[1024];
    *cpu_ms = *rss_kib = -1;
    /* schedstat: time on a CPU in ns (stat's ticks are too coarse). */
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (f) {
        unsigned long long ns;
        if (fscanf(f, "%llu", &ns) == 1)
            *cpu_ms = (double)ns / 1e6;
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f) {
        while (fgets(buf, sizeof buf, f))
            if (strncmp(buf, "VmRSS:", 6) == 0)
                *rss_kib = atof(buf + 6);
        fclose(f);
    }
}

struct echo_wait {
    int done, failed;
    double at; /* when the callback ran */
};

static void echo_done(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct echo_wait *w = ud;
    (void)id;
    (void)result;
    w->at = mono_s();
    w->done = 1;
    w->failed = error != NULL;
}

static double self_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

/* Echo round trips one at a time; with wait_spare, each is made only once
 * an instance is idle (the spare), and the wait is not timed. Fills the
 * sorted latencies (ns) and the host's CPU time (us) spent in the calls
 * and in starting the spares they used up. */
static int echo_calls(ph_host *h, int wait_spare, double *lat, double *host_cpu_us,
                      double *spare_cpu, double *spare_rss)
{
    json_t *params = json_pack("[s,i]", "ping", 1);
    int failed = 0;
    double cpu = 0, scpu = 0, srss = 0;
    int nspare = 0;
    for (int i = 0; i < ISO_CALLS; i++) {
        double c0 = self_cpu_us();
        int pid = 0;
        for (int t = 0; wait_spare && t < 500 && !(pid = idle_pid(h)); t++)
            (void)ph_host_process(h, 10, NULL);
        if (wait_spare && pid > 0 && i % 20 == 0) {
            double c, r;
            proc_cost(pid, &c, &r);
            if (c >= 0 && r >= 0) {
                scpu += c;
                srss += r;
                nspare++;
            }
        }
        /* Timed from the call to its callback, through the loop as a server
         * drives it: what the host does after delivering the answer (the
         * spare's replacement) is the next turn's cost, not this call's. */
        struct echo_wait w = {0};
        ph_error err;
        double t0 = mono_s();
        if (ph_host_call_async(h, "pooled", "echo", params, echo_done, &w, NULL, &err) != PH_OK)
            w.done = w.failed = 1;
        while (!w.done)
            if (ph_host_process(h, 100, NULL) < 0)
                break;
        lat[i] = (w.at - t0) * 1e9;
        failed += w.failed;
        cpu += self_cpu_us() - c0;
    }
    json_decref(params);
    qsort(lat, ISO_CALLS, sizeof lat[0], cmp_double);
    *host_cpu_us = cpu / ISO_CALLS;
    if (spare_cpu && nspare) {
        *spare_cpu = scpu / nspare;
        *spare_rss = srss / nspare;
    }
    return failed;
}

static void run_isolate(const char *loader, const char *plugin, struct ph_bench_pool_result *out)
{
    printf("\n== isolate \"call\" echo with a spare ready vs a warm call, %d calls ==\n",
           ISO_CALLS);
    ph_host_options warm_o = {.loader_path = loader};
    ph_host_options iso_o = {
        .loader_path = loader, .isolate = PH_ISOLATE_CALL, .instances = 2, .spares = 1};
    /* Where the gap goes: the same warm processes reached through the
     * pool's queue and dispatch (instances 2, no isolate) split it into
     * the pool's path and what a fresh process per call adds. */
    ph_host_options pooled_o = {.loader_path = loader, .instances = 2, .idle_stop_ms = 600000};
    ph_host *warm = pool_host_opts(warm_o, plugin), *iso = pool_host_opts(iso_o, plugin);
    ph_host *pooled = pool_host_opts(pooled_o, plugin);
    static double lw[ISO_CALLS], li[ISO_CALLS], lp[ISO_CALLS];
    double cw = 0, ci = 0, cp = 0, scpu = -1, srss = -1;
    int failed = 0;
    if (warm && iso && pooled) {
        failed += echo_calls(warm, 0, lw, &cw, NULL, NULL);
        failed += echo_calls(pooled, 0, lp, &cp, NULL, NULL);
        failed += echo_calls(iso, 1, li, &ci, &scpu, &srss);
    }
    if (!warm || !iso || !pooled || failed) {
        printf("  not measured: %s\n", failed ? "calls failed" : "cannot start the hosts");
    } else {
        out->warm_p50 = lw[ISO_CALLS / 2];
        out->iso_p50 = li[ISO_CALLS / 2];
        out->spare_cpu_ms = scpu;
        out->spare_rss_kib = srss;
        out->host_cpu_extra_us = ci - cw;
        double ratio = out->iso_p50 / out->warm_p50;
        printf("  p50: isolated %.1f us vs warm %.1f us: %.2fx (target <= 1.3x): %s\n",
               out->iso_p50 / 1e3, out->warm_p50 / 1e3, ratio, ratio <= 1.3 ? "meets" : "misses");
        printf("  p99: isolated %.1f us vs warm %.1f us\n", li[ISO_CALLS * 99 / 100] / 1e3,
               lw[ISO_CALLS * 99 / 100] / 1e3);
        double lp50 = lp[ISO_CALLS / 2];
        out->pooled_p50 = lp50;
        printf(
            "  p50 of a warm call through the pool (instances 2, no isolate): %.1f us: the "
            "pool's queue and dispatch are %.1f us of the gap, a fresh process per call "
            "(its end and its replacement's start after the answer, a spare's wake-up) %.1f us\n",
            lp50 / 1e3, (lp50 - out->warm_p50) / 1e3, (out->iso_p50 - lp50) / 1e3);
        printf("  a spare costs: %.1f ms of its own CPU to get ready, %.0f KiB resident while "
               "it waits; the host spends %.0f us more CPU per isolated call (spawn, handshake, "
               "reaping) than per warm call\n",
               scpu, srss, out->host_cpu_extra_us);
    }
    ph_host_free(warm);
    ph_host_free(iso);
    ph_host_free(pooled);
}

/* How throughput grows with the pool: one host per size, warmed (its
 * instances started on demand), then one timed run each. */
static void sweep(const char *loader, const char *plugin, json_t *params, FILE *dat)
{
    fprintf(dat, "# instances calls_per_s\n");
    for (unsigned n = 1; n <= 4; n++) {
        ph_host *h = pool_host(loader, plugin, n);
        int failed = 0;
        if (!h)
            break;
        run_calls(h, params, POOL_DEPTH, &failed);
        double c = run_calls(h, params, POOL_CALLS, &failed);
        if (!failed)
            fprintf(dat, "%u %.1f\n", n, c);
        printf("  instances %u: %.0f calls/s%s\n", n, c, failed ? " (calls failed)" : "");
        ph_host_free(h);
    }
}

void ph_bench_pool(const char *loader, const char *plugin, struct ph_bench_pool_result *out,
                   FILE *dat)
{
    memset(out, 0, sizeof *out);
    printf("\n== pool: CPU-bound method (5 ms), %d in flight, instances 2 vs 1 ==\n", POOL_DEPTH);
    if (!plugin || !*plugin) {
        printf("  skipped: the pooled plugin was not built\n");
        if (dat)
            fclose(dat);
        return;
    }
    json_t *params = json_pack("{s:i}", "ms", 5);
    ph_host *one = pool_host(loader, plugin, 1), *two = pool_host(loader, plugin, 2);
    if (!one || !two || !params) {
        printf("  skipped: cannot start the hosts\n");
        if (dat)
            fclose(dat);
        ph_host_free(one);
        ph_host_free(two);
        json_decref(params);
        return;
    }
    int failed = 0;
    /* Warm both: the second host's second instance starts on demand. */
    run_calls(one, params, POOL_DEPTH, &failed);
    run_calls(two, params, POOL_DEPTH, &failed);
    double c1[POOL_ROUNDS], c2[POOL_ROUNDS];
    for (int r = 0; r < POOL_ROUNDS; r++) {
        c1[r] = run_calls(one, params, POOL_CALLS, &failed);
        c2[r] = run_calls(two, params, POOL_CALLS, &failed);
        printf("  round %d: instances 1 %.0f calls/s, instances 2 %.0f calls/s\n", r + 1, c1[r],
               c2[r]);
    }
    qsort(c1, POOL_ROUNDS, sizeof c1[0], cmp_double);
    qsort(c2, POOL_ROUNDS, sizeof c2[0], cmp_double);
    double m1 = c1[POOL_ROUNDS / 2], m2 = c2[POOL_ROUNDS / 2], ratio = m2 / m1;
    const char *verdict = failed ? "FAILED CALLS" : ratio >= 1.8 ? "meets" : "misses";
    printf("  median: %.0f vs %.0f calls/s: %.2fx (target >= 1.8x): %s\n", m2, m1, ratio, verdict);
    if (failed)
        printf("  %d calls failed\n", failed);
    out->one = m1;
    out->two = m2;
    out->failed = failed;
    ph_host_free(one);
    ph_host_free(two);
    one = two = NULL;
    if (dat) {
        sweep(loader, plugin, params, dat);
        fclose(dat);
    }
    run_isolate(loader, plugin, out);
    ph_host_free(one);
    ph_host_free(two);
    json_decref(params);
}
