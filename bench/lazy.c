/*
 * lazy: the bench section for lazy activation (issue 13, item 3), run from
 * ph_bench.c as section "lazy". It measures, over a directory of n copies
 * of the many-plugins plugin:
 *   - from ph_host_new to a ph_host_describe() (what list and tools/list
 *     answer from) with every plugin cold, lazy with a warm hello cache,
 *     against the same for an eager host (which starts them all);
 *   - the first call to a cold plugin against a start of the same plugin
 *     in a running eager host (ph_host_load_file), alternately.
 * It uses only the public host API and the callbacks ph_bench.c hands it.
 */
#include "lazy.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this process (the host is a library in it), in ns. */
static uint64_t cpu_self_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static uint64_t lz_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void quiet(void *ud, json_t *ev)
{
    (void)ud;
    (void)ev;
}

/* ph_host_new .. ph_host_describe: ns, or NAN; *h_out keeps the host when
 * asked (the caller frees it). */
static double to_listing(const struct ph_bench_lazy *b, const char *dir, const char *cache,
                         int activation, size_t want, ph_host **h_out, double *cpu_ns)
{
    uint64_t c0 = cpu_self_ns();
    ph_host_options o = {0};
    o.loader_path = b->loader;
    o.hello_cache = cache;
    o.activation = activation;
    ph_host *h = NULL;
    ph_error e = {0};
    uint64_t t0 = lz_now_ns();
    if (ph_host_new(&o, &h, &e) != PH_OK) {
        fprintf(stderr, "ph_bench lazy: ph_host_new: %s\n", e.text);
        return NAN;
    }
    ph_host_set_event_handler(h, quiet, NULL);
    uint64_t tn = lz_now_ns();
    int rc = ph_host_load_dir(h, dir, &e);
    uint64_t tl = lz_now_ns();
    json_t *d = rc == PH_OK ? ph_host_describe(h) : NULL;
    uint64_t t1 = lz_now_ns();
    if (cpu_ns)
        *cpu_ns = (double)(cpu_self_ns() - c0);
    fprintf(b->detail, "   %s: ph_host_new %.1f ms, ph_host_load_dir %.1f ms, describe %.1f ms\n",
            activation == PH_ACTIVATION_LAZY ? "lazy" : "eager", (double)(tn - t0) / 1e6,
            (double)(tl - tn) / 1e6, (double)(t1 - tl) / 1e6);
    size_t got = json_array_size(json_object_get(d, "plugins"));
    size_t cold = 0, i;
    json_t *p;
    json_array_foreach(json_object_get(d, "plugins"), i, p) cold +=
        json_is_true(json_object_get(p, "cold"));
    json_decref(d);
    if (rc != PH_OK || got != want || (activation == PH_ACTIVATION_LAZY && cold != want)) {
        fprintf(stderr, "ph_bench lazy: %zu of %zu plugins listed, %zu cold (%s)\n", got, want,
                cold, rc != PH_OK ? e.text : "a start failed or the cache missed");
        ph_host_free(h);
        return NAN;
    }
    if (h_out)
        *h_out = h;
    else
        ph_host_free(h);
    return (double)(t1 - t0);
}

void ph_bench_lazy(const struct ph_bench_lazy *b)
{
    size_t n = b->plugins;
    char cache[64];
    snprintf(cache, sizeof cache, "/tmp/ph_bench_cache.%d", (int)getpid());
    if (mkdir(cache, 0700) != 0) {
        b->sum_text("lazy activation", "-", "-", "MISSING");
        return;
    }
    char *dir = b->make_dir(n);
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/000", dir);
    fprintf(b->detail, "\n== lazy activation: %zu plugins, hello cache %s ==\n", n, cache);

    /* Eager first: it starts every plugin, and so fills the cache. */
    double eager = to_listing(b, sub, cache, PH_ACTIVATION_EAGER, n, NULL, NULL);
    enum { RUNS = 5 };
    double lz[RUNS], lzc[RUNS];
    size_t nl = 0;
    for (int r = 0; r < RUNS; r++) {
        double cpu = NAN;
        double v = to_listing(b, sub, cache, PH_ACTIVATION_LAZY, n, NULL, &cpu);
        if (!isnan(v)) {
            lzc[nl] = cpu;
            lz[nl++] = v;
        }
    }
    double lazy_ns = median(lz, nl), lazy_cpu = median(lzc, nl);
    fprintf(b->detail,
            "   ph_host_new to ph_host_describe: eager %.1f ms (starts all), lazy %.1f ms "
            "(median of %zu, every plugin cold; the host's CPU time %.1f ms)\n",
            eager / 1e6, lazy_ns / 1e6, nl, lazy_cpu / 1e6);
    char fig[96], t[32];
    snprintf(fig, sizeof fig, "%zu plugins lazy: new to list/tools-list", n);
    snprintf(t, sizeof t, "<=100 ms");
    b->sum(fig, lazy_ns, NAN, "ns", '<', 100e6, t);
    /* On a shared machine the wall time is mostly waiting for a CPU. */
    snprintf(fig, sizeof fig, "%zu plugins lazy: its CPU time", n);
    b->sum(fig, lazy_cpu, NAN, "ns", '<', 100e6, t);
    snprintf(fig, sizeof fig, "%zu plugins eager: new to list (cache filled)", n);
    b->sum(fig, eager, NAN, "ns", 0, 0, NULL);

    /* First call to a cold plugin vs a start in a running host, alternately,
     * each on plugins not started before in that host. */
    ph_host *lazy = NULL, *eager_h = NULL;
    ph_host_options o = {0};
    o.loader_path = b->loader;
    ph_error e = {0};
    to_listing(b, sub, cache, PH_ACTIVATION_LAZY, n, &lazy, NULL);
    if (lazy && ph_host_new(&o, &eager_h, &e) == PH_OK) {
        ph_host_set_event_handler(eager_h, quiet, NULL);
        size_t k = n < 200 ? n / 2 : 100;
        double *cold = calloc(k, sizeof *cold), *start = calloc(k, sizeof *start);
        size_t nc = 0, ns = 0;
        json_t *params = json_pack("[i]", 1);
        for (size_t i = 0; cold && start && i < k; i++) {
            char name[32], path[4300];
            snprintf(name, sizeof name, "phbench%05zu", i + 1);
            json_t *res = NULL, *err = NULL;
            uint64_t t0 = lz_now_ns();
            int rc = ph_host_call(lazy, name, "echo", params, &res, &err, &e);
            uint64_t t1 = lz_now_ns();
            if (rc == PH_OK)
                cold[nc++] = (double)(t1 - t0);
            json_decref(res);
            json_decref(err);
            /* The other half of the directory: never started in either. */
            snprintf(path, sizeof path, "%s/phbench%05zu.so", sub, n - i);
            t0 = lz_now_ns();
            rc = ph_host_load_file(eager_h, path, NULL, &e);
            t1 = lz_now_ns();
            if (rc == PH_OK)
                start[ns++] = (double)(t1 - t0);
        }
        json_decref(params);
        double c50 = median(cold, nc), s50 = median(start, ns);
        fprintf(b->detail,
                "   first call to a cold plugin p50 %.2f ms (%zu); a start in a running host "
                "(ph_host_load_file) p50 %.2f ms (%zu); ratio %.2fx\n",
                c50 / 1e6, nc, s50 / 1e6, ns, c50 / s50);
        b->sum("first call to a cold plugin vs its start", c50, s50, "ns", '<', 1.10, "<=1.10x");
        free(cold);
        free(start);
    } else {
        b->sum_text("first call to a cold plugin vs its start", "-", "-", "MISSING");
    }
    ph_host_free(eager_h);
    ph_host_free(lazy);
    fflush(b->detail);
    b->remove_dir(dir, n);
    /* The entries this run wrote, then the directory. */
    DIR *cd = opendir(cache);
    struct dirent *de;
    while (cd && (de = readdir(cd)))
        if (strstr(de->d_name, ".hello"))
            unlinkat(dirfd(cd), de->d_name, 0);
    if (cd)
        closedir(cd);
    if (rmdir(cache) != 0)
        fprintf(stderr, "ph_bench lazy: could not remove %s\n", cache);
}
