/*
 * worker: the host's helper thread and its two lists (worker.h). The loop
 * queues a job and goes on; the thread runs it, puts it on the done list
 * and wakes the loop through an eventfd; the loop runs its completion.
 *
 * It must never run a job's completion on the thread, nor let the thread
 * see a signal meant for the application.
 */
#include "worker.h"
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ph_worker {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* work queued, a job done, or stop */
    pthread_t thread;
    struct ph_work *queue, **tail, *running;
    struct ph_work *done, **done_tail; /* in the order they finished */
    int stop;
    int efd;
};

static void finished(struct ph_worker *w, struct ph_work *job)
{
    job->next = NULL;
    *w->done_tail = job;
    w->done_tail = &job->next;
    uint64_t one = 1;
    /* Fails only with the counter at its maximum, which this never nears;
     * ph_worker_stop() and settle collect without it anyway. */
    (void)!write(w->efd, &one, sizeof one);
    pthread_cond_broadcast(&w->cond);
}

static void *worker_main(void *arg)
{
    struct ph_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queue && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->queue)
            break;
        struct ph_work *job = w->queue;
        w->queue = job->next;
        if (!w->queue)
            w->tail = &w->queue;
        w->running = job;
        pthread_mutex_unlock(&w->lock);
        job->run(job);
        pthread_mutex_lock(&w->lock);
        w->running = NULL;
        finished(w, job);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int ph_worker_start(struct ph_worker **out, ph_error *err)
{
    struct ph_worker *w = calloc(1, sizeof *w);
    if (!w)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    w->tail = &w->queue;
    w->done_tail = &w->done;
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->efd < 0) {
        int e = errno;
        free(w);
        return ph_set_error(err, PH_E_SYSTEM, "the worker's eventfd: %s", strerror(e));
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(w->efd);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return ph_set_error(err, PH_E_SYSTEM, "cannot start the worker thread: %s", strerror(rc));
    }
    *out = w;
    return PH_OK;
}

int ph_worker_fd(const struct ph_worker *w)
{
    return w->efd;
}

void ph_worker_queue(struct ph_worker *w, struct ph_work *job)
{
    job->dropped = 0;
    job->next = NULL;
    pthread_mutex_lock(&w->lock);
    *w->tail = job;
    w->tail = &job->next;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* The oldest finished job for key (any, with any set), off the list. */
static struct ph_work *take_done(struct ph_worker *w, const void *key, int any)
{
    pthread_mutex_lock(&w->lock);
    struct ph_work **q = &w->done;
    while (*q && !any && (*q)->key != key)
        q = &(*q)->next;
    struct ph_work *job = *q;
    if (job) {
        *q = job->next;
        if (w->done_tail == &job->next)
            w->done_tail = q;
    }
    pthread_mutex_unlock(&w->lock);
    return job;
}

size_t ph_worker_collect(struct ph_worker *w)
{
    uint64_t n;
    (void)!read(w->efd, &n, sizeof n);
    /* One at a time: a completion may free another job's key (through an
     * application's event handler), and that key's settle must still find
     * its job on the list. */
    size_t count = 0;
    for (struct ph_work *job; (job = take_done(w, NULL, 1)) != NULL; count++)
        job->done(job);
    return count;
}

/* Moves the queued jobs that match off the queue, as dropped. */
static void drop(struct ph_worker *w, const void *key, int on_stop)
{
    for (struct ph_work **q = &w->queue; *q;) {
        struct ph_work *job = *q;
        if (on_stop ? !job->droppable : job->key != key) {
            q = &job->next;
            continue;
        }
        *q = job->next;
        job->dropped = 1;
        finished(w, job);
    }
    w->tail = &w->queue;
    while (*w->tail)
        w->tail = &(*w->tail)->next;
}

void ph_worker_settle(struct ph_worker *w, const void *key)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    drop(w, key, 0);
    while (w->running && w->running->key == key)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    /* Only key's: the others' completions are the loop's to run. */
    for (struct ph_work *job; (job = take_done(w, key, 0)) != NULL;)
        job->done(job);
}

void ph_worker_drop(struct ph_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    drop(w, NULL, 1);
    pthread_mutex_unlock(&w->lock);
    ph_worker_collect(w);
}

void ph_worker_stop(struct ph_worker *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    drop(w, NULL, 1);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    ph_worker_collect(w);
    close(w->efd);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
