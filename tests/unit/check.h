/*
 * check: the unit tests' only "framework". A failed check prints where it
 * failed and the test goes on, so one run shows every broken case; the
 * process exit status carries the verdict to ctest.
 */
#ifndef PH_TEST_CHECK_H
#define PH_TEST_CHECK_H

#include <stdio.h>

static int ph_t_passed, ph_t_failed;

#define CHECK(cond) CHECKF(cond, "%s", #cond)

/* A check whose failure message explains itself (values, error texts). */
#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            ph_t_passed++;                                                                         \
        } else {                                                                                   \
            ph_t_failed++;                                                                         \
            fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);                                \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Prints the summary line; returns the process exit status. */
static inline int ph_t_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, ph_t_passed, ph_t_failed);
    fflush(stdout);
    return ph_t_failed ? 1 : 0;
}

#endif
