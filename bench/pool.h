/*
 * pool: ph_bench's section for instance pools (bench/pool.c). It measures
 * and prints; it never changes what the other sections measure.
 */
#ifndef PH_BENCH_POOL_H
#define PH_BENCH_POOL_H

#include <stdio.h>

/* Calls per second of the CPU-bound method, median of the rounds. */
struct ph_bench_pool_result {
    double one, two; /* instances 1 and 2; 0: not measured */
    int failed;      /* calls that failed in either */
    /* Echo p50 in ns: a warm call to a long-lived instance, and a call
     * under isolate "call" with a spare ready (0: not measured). */
    double warm_p50, iso_p50;
    /* The same warm processes reached through the pool's queue and
     * dispatch (instances 2, no isolate): echo p50 in ns (0: not measured). */
    double pooled_p50;
    /* What one spare costs: its process's CPU time from spawn to ready,
     * its resident memory when ready, and the host's own CPU time per
     * isolated call over a warm one. */
    double spare_cpu_ms, spare_rss_kib, host_cpu_extra_us;
};

/* Runs the pool figures against the pooled plugin (NULL or "": skipped)
 * with the given loader (NULL: the host's default), printing each round. */
/* dat (may be NULL; closed here): "instances calls_per_s" for a pool of
 * 1..4 instances under the same load, for bench/run's instances.png. */
void ph_bench_pool(const char *loader, const char *plugin, struct ph_bench_pool_result *out,
                   FILE *dat);

#endif
