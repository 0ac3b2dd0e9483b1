/*
 * proc_start: a process's start time as /proc/PID/stat gives it, which a
 * host's cgroup tree is named after. The tests read it themselves rather
 * than through host/cgroup.c, so what they expect does not come from the
 * code they check.
 */
#ifndef PH_TEST_PROC_START_H
#define PH_TEST_PROC_START_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* 0 when it cannot be read. */
static inline unsigned long long ph_t_start_time(pid_t pid)
{
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold anything, ")" included: after the last. */
    char *s = strrchr(buf, ')');
    for (int i = 2; s && i < 22; i++)
        s = strchr(s + 1, ' ');
    return s ? strtoull(s + 1, NULL, 10) : 0;
}

#endif
