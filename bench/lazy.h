/*
 * lazy: the "lazy" section of ph_bench (bench/lazy.c): lazy activation of
 * many plugins against eager loading, and a cold plugin's first call
 * against a start. It must never report a figure it did not measure: a
 * step that fails is reported MISSING.
 */
#ifndef PH_BENCH_LAZY_H
#define PH_BENCH_LAZY_H

#include <plughost/host.h>
#include <stdio.h>

/* What ph_bench.c lends the section (all borrowed). */
struct ph_bench_lazy {
    size_t plugins;     /* copies in the directory */
    const char *loader; /* NULL: the host finds it */
    FILE *detail;
    /* A directory of n plugins in DIR/000 (ph_bench.c make_plugin_dir),
     * and its removal. */
    char *(*make_dir)(size_t n);
    void (*remove_dir)(const char *dir, size_t n);
    /* A summary row, as ph_bench.c's add_sum and add_sum_text. */
    void (*sum)(const char *fig, double v, double fv, const char *unit, char op, double target,
                const char *tstr);
    void (*sum_text)(const char *fig, const char *value, const char *tstr, const char *met);
};

void ph_bench_lazy(const struct ph_bench_lazy *b);

#endif
