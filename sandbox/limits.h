/*
 * limits: process hygiene and rlimits for the plugin child. After this the
 * process has no session, no terminal, an empty umask, "/" as its working
 * directory, and limits it cannot raise (seccomp refuses setrlimit).
 *
 * It must run before anything from the plugin file is mapped.
 */
#ifndef PH_SB_LIMITS_H
#define PH_SB_LIMITS_H

#include <stddef.h>

struct ph_sb_limits {
    unsigned long long memory; /* RLIMIT_AS, bytes */
    unsigned long long cpu_s;  /* RLIMIT_CPU, seconds */
    int threads;               /* the "threads" grant */
    int nproc_room;            /* threads or profile: RLIMIT_NPROC cannot be 0 */
};

/* Returns 0 or -1 with err filled. */
int ph_sb_limits_apply(const struct ph_sb_limits *lim, char *err, size_t errlen);

#endif
