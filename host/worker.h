/*
 * worker: the host's one helper thread, for the slow system calls of
 * starting and ending plugin processes (a v1 cgroup's mkdir or rmdir, a
 * clone of a large host), so that the loop never waits for them.
 *
 * A job runs on the thread; its completion runs on the loop, when the
 * worker's eventfd (in the host's epoll set) is readable. The thread must
 * never touch anything but its job: whatever a job needs is copied into it
 * or left alone by the loop until the job is done. The thread blocks every
 * signal (an application's signalfd keeps them all) and lives until
 * ph_worker_stop(): a child's PR_SET_PDEATHSIG fires when the thread that
 * cloned it ends, not the process.
 */
#ifndef PH_HOST_WORKER_H
#define PH_HOST_WORKER_H

#include "plughost/host.h"

#include <stddef.h>

struct ph_worker;

struct ph_work {
    /* On the thread; not called for a job dropped before it began. */
    void (*run)(struct ph_work *job);
    /* On the loop, once, after run or instead of it (dropped set): owns
     * the job from then on. */
    void (*done)(struct ph_work *job);
    const void *key; /* what ph_worker_settle() waits for; may be NULL */
    int droppable;   /* ph_worker_stop() may drop it before it begins */
    int dropped;     /* set when dropped: run was never called */
    struct ph_work *next;
};

/* Starts the thread. *out: new, freed by ph_worker_stop(). */
int ph_worker_start(struct ph_worker **out, ph_error *err);

/* The eventfd to watch for EPOLLIN (owned by the worker). */
int ph_worker_fd(const struct ph_worker *w);

/* Queues job (borrowed until its done callback runs). Never fails. */
void ph_worker_queue(struct ph_worker *w, struct ph_work *job);

/* In the loop: runs the done callback of every finished job. Returns how
 * many ran. */
size_t ph_worker_collect(struct ph_worker *w);

/* Drops the jobs for key not yet begun, waits for the one running, and
 * runs the completions of key's finished jobs (only key's): afterwards no
 * job for key is left anywhere. w may be NULL. */
void ph_worker_settle(struct ph_worker *w, const void *key);

/* Drops the droppable jobs not yet begun and collects; the thread goes
 * on (its children's PR_SET_PDEATHSIG is tied to it). w may be NULL. */
void ph_worker_drop(struct ph_worker *w);

/* Drops the droppable jobs not begun, runs the others, joins the thread,
 * collects and frees w. w may be NULL. */
void ph_worker_stop(struct ph_worker *w);

#endif
