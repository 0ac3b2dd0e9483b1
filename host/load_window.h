/*
 * load_window: the calls past the seccomp filter that the host answers
 * itself instead of killing the plugin (see load_window.c): the dynamic
 * linker's opens and executable mappings while a plugin loads, fstat() of
 * a descriptor the plugin holds, and thread creation under the threads
 * grant.
 */
#ifndef PH_HOST_LOAD_WINDOW_H
#define PH_HOST_LOAD_WINDOW_H

#include "internal.h"

#include <linux/seccomp.h>

/* Threads of one plugin process under the threads grant, the main one
 * included: the cgroup's pids.max where that layer is active, and the
 * host's own count everywhere (load_window.c). */
#define PH_LW_MAX_THREADS PH_CG_THREADS_PIDS

enum ph_lw_verdict {
    PH_LW_REFUSE = 0, /* not a call this module allows: a violation */
    PH_LW_CONTINUE,   /* let the kernel run it as made */
    PH_LW_ANSWERED,   /* the host did it; resp holds the result */
    PH_LW_SENT,       /* already answered (or gone): send nothing more */
};

/* Notes the devices the library directories live on (once per host). */
void ph_lw_host_init(struct ph_host *h);
/* Whether the loading window is open for p: loading, not yet loaded, and
 * its filesystem contained (or the operator accepted that it is not). */
int ph_lw_window_open(const struct ph_plug *p);
/* Decides one notification; fills resp's error and val for ANSWERED. Reads
 * the frozen process's memory and /proc: the caller re-checks the
 * notification id before it answers. */
enum ph_lw_verdict ph_lw_decide(struct ph_plug *p, const struct seccomp_notif *req,
                                struct seccomp_notif_resp *resp);
/* The number of threads of pid's process (pid may name any of them), or
 * -1. */
int ph_lw_thread_count(pid_t pid);
/* Whether a clone with these flags (a register: nothing can change them)
 * may make one more thread of tid's process: it must be a thread sharing
 * memory, handlers and descriptors, never a process or a namespace (-1),
 * and the process must have fewer than PH_LW_MAX_THREADS (else EAGAIN);
 * 0 if it may. Clones frozen at the same moment all see the same count, so
 * the bound can be passed by at most the number of threads cloning at
 * once. Used under the threads grant and by `plughost profile`. */
int ph_lw_thread_clone(pid_t tid, unsigned long long flags);
/* newfstatat(fd, "", buf, AT_EMPTY_PATH), answered by the host. */
enum ph_lw_verdict ph_lw_fstat(struct ph_plug *p, const struct seccomp_notif *req,
                               struct seccomp_notif_resp *resp);

#endif
