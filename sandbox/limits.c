/*
 * limits: see limits.h.
 */
#include "limits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int set(int res, const char *name, rlim_t soft, rlim_t hard, char *err, size_t errlen)
{
    struct rlimit rl = {soft, hard};
    if (setrlimit(res, &rl) == 0)
        return 0;
    snprintf(err, errlen, "setrlimit(%s): %s", name, strerror(errno));
    return -1;
}

int ph_sb_limits_apply(const struct ph_sb_limits *lim, char *err, size_t errlen)
{
    /* A new session: no controlling terminal, so no TIOCSTI into the
     * operator's shell, and no signals from its job control. */
    if (setsid() < 0 && errno != EPERM) {
        snprintf(err, errlen, "setsid: %s", strerror(errno));
        return -1;
    }
    umask(077);
    if (chdir("/") < 0) {
        snprintf(err, errlen, "chdir(/): %s", strerror(errno));
        return -1;
    }
    /* CPU: the soft limit sends SIGXCPU, which the host names as a limit;
     * the hard limit one second later is the backstop. */
    if (set(RLIMIT_CORE, "CORE", 0, 0, err, errlen) < 0 ||
        /* Files are only those the host opened for it under a write
         * grant (host.open); each may grow as large as its memory. */
        set(RLIMIT_FSIZE, "FSIZE", lim->memory, lim->memory, err, errlen) < 0 ||
        set(RLIMIT_AS, "AS", lim->memory, lim->memory, err, errlen) < 0 ||
        set(RLIMIT_CPU, "CPU", lim->cpu_s, lim->cpu_s + 1, err, errlen) < 0 ||
        (!lim->nproc_room && set(RLIMIT_NPROC, "NPROC", 0, 0, err, errlen) < 0) ||
        set(RLIMIT_NOFILE, "NOFILE", 64, 64, err, errlen) < 0 ||
        set(RLIMIT_MEMLOCK, "MEMLOCK", 0, 0, err, errlen) < 0 ||
        set(RLIMIT_MSGQUEUE, "MSGQUEUE", 0, 0, err, errlen) < 0)
        return -1;
    return 0;
}
