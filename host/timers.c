/*
 * timers: a binary min-heap of deadlines (see timers.h). Each timer knows
 * its index, so moving or removing one is O(log n) with no search.
 * It must never allocate in ph_timers_set: the host arms timers in places
 * where a failure could not be reported.
 */
#include "timers.h"

#include <stdlib.h>

int ph_timers_adopt(struct ph_timers *q)
{
    if (q->owners == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct ph_timer **h = realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -1;
        q->heap = h;
        q->cap = cap;
    }
    q->owners++;
    return 0;
}

void ph_timers_release(struct ph_timers *q)
{
    if (q->owners)
        q->owners--;
}

static void place(struct ph_timers *q, struct ph_timer *t, size_t i)
{
    q->heap[i] = t;
    t->pos = i + 1;
}

static void up(struct ph_timers *q, size_t i)
{
    struct ph_timer *t = q->heap[i];
    while (i > 0 && q->heap[(i - 1) / 2]->at > t->at) {
        place(q, q->heap[(i - 1) / 2], i);
        i = (i - 1) / 2;
    }
    place(q, t, i);
}

static void down(struct ph_timers *q, size_t i)
{
    struct ph_timer *t = q->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->count)
            break;
        if (c + 1 < q->count && q->heap[c + 1]->at < q->heap[c]->at)
            c++;
        if (q->heap[c]->at >= t->at)
            break;
        place(q, q->heap[c], i);
        i = c;
    }
    place(q, t, i);
}

void ph_timers_del(struct ph_timers *q, struct ph_timer *t)
{
    if (!t->pos)
        return;
    size_t i = t->pos - 1;
    t->pos = 0;
    struct ph_timer *last = q->heap[--q->count];
    if (last == t)
        return;
    place(q, last, i);
    /* The moved timer may belong above or below its new place. */
    up(q, i);
    down(q, last->pos - 1);
}

void ph_timers_set(struct ph_timers *q, struct ph_timer *t, uint64_t at)
{
    if (at == UINT64_MAX) {
        ph_timers_del(q, t);
        return;
    }
    if (!t->pos) {
        if (q->count == q->cap)
            return; /* not adopted: a bug in the caller, never an overflow */
        t->at = at;
        place(q, t, q->count++);
        up(q, q->count - 1);
        return;
    }
    uint64_t was = t->at;
    t->at = at;
    if (at < was)
        up(q, t->pos - 1);
    else
        down(q, t->pos - 1);
}

struct ph_timer *ph_timers_first(const struct ph_timers *q)
{
    return q->count ? q->heap[0] : NULL;
}

void ph_timers_free(struct ph_timers *q)
{
    free(q->heap);
    q->heap = NULL;
    q->count = q->cap = q->owners = 0;
}
