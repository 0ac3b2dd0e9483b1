/*
 * timers: the host's deadlines (calls' timeouts, handshakes, restart
 * backoffs) in a binary min-heap, so the loop finds the nearest one and
 * the ones that are due without looking at every call and plugin.
 * A ph_timer is embedded in what it times; the heap only points at it.
 * Room is reserved per owner (ph_timers_adopt) when the owner is created,
 * so that arming a timer later can never fail.
 */
#ifndef PH_HOST_TIMERS_H
#define PH_HOST_TIMERS_H

#include <stddef.h>
#include <stdint.h>

struct ph_timer {
    uint64_t at; /* ms on the monotonic clock; meaningful while queued */
    size_t pos;  /* 1 + index in the heap; 0: not queued */
};

struct ph_timers {
    struct ph_timer **heap; /* owned; heap[0] is the nearest */
    size_t count, cap, owners;
};

/* Reserves room for one more timer that may be queued. -1: out of memory. */
int ph_timers_adopt(struct ph_timers *q);
/* Gives that room back; the owner's timer must not be queued. */
void ph_timers_release(struct ph_timers *q);
/* Queues t for at, or moves it there if queued; UINT64_MAX unqueues it. */
void ph_timers_set(struct ph_timers *q, struct ph_timer *t, uint64_t at);
void ph_timers_del(struct ph_timers *q, struct ph_timer *t);
/* The nearest queued timer (borrowed), or NULL. */
struct ph_timer *ph_timers_first(const struct ph_timers *q);
void ph_timers_free(struct ph_timers *q);

#endif
