/*
 * status: the operator's view of a running host (ph_host_status and
 * ph_host_status_exposition in host.h). What happens is counted into the
 * small records below: calls answered and failed by cause by the call
 * table itself (calls.c, which sits below this module and so only bumps
 * the counters), endings and violations by ending.c and refused calls by
 * host.c with one call each; this module turns them,
 * and what the kernel says about each plugin process now (memory, CPU),
 * into the status object and the Prometheus text exposition.
 *
 * It reads the host's structures in one function per level (host, plugin,
 * instance) and nowhere else, so that a change to how plugins or their
 * processes are kept touches those three functions only. It must never
 * change the host's state, block on anything but /proc and cgroup files,
 * or let a string a plugin controls into the exposition unescaped.
 */
#ifndef PH_HOST_STATUS_H
#define PH_HOST_STATUS_H

#include <jansson.h>
#include <stdint.h>

struct ph_plug;
struct ph_host;

/* Why a call failed: the host's ending names (ph_end_name) for failures of
 * the process, then the failures that leave it running. */
enum ph_status_cause {
    PH_CAUSE_TIMEOUT = 0,
    PH_CAUSE_SIGNALED,
    PH_CAUSE_EXITED,
    PH_CAUSE_VIOLATION,
    PH_CAUSE_LIMIT,
    PH_CAUSE_PROTOCOL,
    PH_CAUSE_KILLED,
    PH_CAUSE_SETUP_ERROR,
    PH_CAUSE_CANCELLED,
    PH_CAUSE_PLUGIN_ERROR,
    PH_CAUSE_INVALID_PARAMS,
    PH_CAUSE_BUSY,
    PH_CAUSE_CIRCUIT_OPEN,
    PH_CAUSE_NOT_LOADED,
    PH_CAUSE_OTHER,
    PH_CAUSE_N
};

/* Longest syscall name kept for the last violation (libseccomp's names are
 * far shorter; "unknown" when it has none). */
#define PH_STATUS_SYSCALL_MAX 48

/* What the host counted for one plugin, over every process it had. */
struct ph_status_plug {
    uint64_t served;
    uint64_t failed[PH_CAUSE_N];
    uint64_t violations;
    char last_syscall[PH_STATUS_SYSCALL_MAX];
    int64_t last_violation_unix_ms; /* 0: none yet */
};

/* What the host counted for itself. */
struct ph_status_host {
    uint64_t started_ns;     /* CLOCK_MONOTONIC at ph_host_new */
    int64_t started_unix_ms; /* the same moment, wall clock */
    uint64_t calls_total;    /* calls answered through the loop, whichever way */
};

void ph_status_host_init(struct ph_status_host *s);

/* The name of a cause in status and metrics (calls.c, which counts the
 * causes of calls answered through the loop in the records above). */
const char *ph_call_cause_name(enum ph_status_cause cause);

/* A call of p refused before it was taken (busy), or answered at once by
 * the host (cancelled): counted for p only, as the host's calls_total
 * counts what went through the loop (calls.c). */
void ph_status_count_cause(struct ph_plug *p, enum ph_status_cause cause);

/* p's process ended with end (enum ph_end); detail (borrowed) is the
 * ending's data, naming the syscall of a violation. */
void ph_status_count_end(struct ph_plug *p, int end, const json_t *detail);

#endif
