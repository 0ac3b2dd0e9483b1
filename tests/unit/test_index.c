/*
 * The host's indexes (host/htab.c, host/timers.c) on their own: lookups
 * through growth and removal, and a heap that always yields the nearest
 * deadline while timers are added, moved and removed in any order. Each
 * result is checked against a plain array kept alongside.
 */
#include "check.h"
#include "htab.h"
#include "timers.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    char name[16];
    uint64_t id;
    struct ph_hnode by_name, by_id;
    int in; /* linked in both tables */
    struct ph_timer timer;
};

static struct item *by_name(struct ph_htab *t, const char *name)
{
    for (struct ph_hnode *n = ph_htab_find(t, ph_hash_str(name)); n; n = ph_htab_next(n)) {
        struct item *it = ph_container_of(n, struct item, by_name);
        if (strcmp(it->name, name) == 0)
            return it;
    }
    return NULL;
}

static struct item *by_id(struct ph_htab *t, uint64_t id)
{
    for (struct ph_hnode *n = ph_htab_find(t, ph_hash_u64(id)); n; n = ph_htab_next(n)) {
        struct item *it = ph_container_of(n, struct item, by_id);
        if (it->id == id)
            return it;
    }
    return NULL;
}

#define N 5000

static void test_htab(void)
{
    static struct item items[N];
    struct ph_htab names = {0}, ids = {0};
    CHECK(by_name(&names, "nothing") == NULL); /* empty, never grown */
    for (size_t i = 0; i < N; i++) {
        snprintf(items[i].name, sizeof items[i].name, "plugin%zu", i);
        items[i].id = (uint64_t)i * 7 + 1;
        CHECK(ph_htab_add(&names, &items[i].by_name, ph_hash_str(items[i].name)) == 0);
        CHECK(ph_htab_add(&ids, &items[i].by_id, ph_hash_u64(items[i].id)) == 0);
        items[i].in = 1;
    }
    CHECKF(names.count == N && ids.count == N, "counts %zu %zu", names.count, ids.count);
    CHECKF(names.nbuckets >= N, "grew to %zu buckets", names.nbuckets);
    /* Remove every third, then every one is found exactly when linked. */
    for (size_t i = 0; i < N; i += 3) {
        ph_htab_del(&names, &items[i].by_name);
        ph_htab_del(&ids, &items[i].by_id);
        items[i].in = 0;
    }
    size_t wrong = 0;
    for (size_t i = 0; i < N; i++) {
        struct item *a = by_name(&names, items[i].name), *b = by_id(&ids, items[i].id);
        if (items[i].in ? (a != &items[i] || b != &items[i]) : (a || b))
            wrong++;
    }
    CHECKF(wrong == 0, "%zu lookups wrong after removals", wrong);
    CHECK(by_id(&ids, 2) == NULL); /* an id never added */
    CHECK(by_name(&names, "plugin") == NULL);
    /* Put them back: growth after removals keeps everything reachable. */
    for (size_t i = 0; i < N; i += 3)
        CHECK(ph_htab_add(&ids, &items[i].by_id, ph_hash_u64(items[i].id)) == 0);
    wrong = 0;
    for (size_t i = 0; i < N; i++)
        wrong += by_id(&ids, items[i].id) != &items[i];
    CHECKF(wrong == 0, "%zu ids lost after re-adding", wrong);
    /* Equal hashes chain: find and next give every one of them. */
    struct ph_htab same = {0};
    struct item twins[40];
    for (size_t i = 0; i < 40; i++)
        CHECK(ph_htab_add(&same, &twins[i].by_id, 42) == 0);
    size_t seen = 0;
    for (struct ph_hnode *n = ph_htab_find(&same, 42); n; n = ph_htab_next(n))
        seen++;
    CHECKF(seen == 40, "%zu of 40 nodes with one hash", seen);
    ph_htab_del(&same, &twins[0].by_id);
    ph_htab_del(&same, &twins[39].by_id);
    seen = 0;
    for (struct ph_hnode *n = ph_htab_find(&same, 42); n; n = ph_htab_next(n))
        seen++;
    CHECKF(seen == 38, "%zu of 38 after two removals", seen);
    ph_htab_free(&same);
    ph_htab_free(&names);
    ph_htab_free(&ids);
    CHECK(ph_htab_find(&names, ph_hash_str("plugin1")) == NULL);
}

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* The nearest deadline among the queued items, by looking at all. */
static uint64_t brute_min(struct item *items, size_t n)
{
    uint64_t m = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (items[i].timer.pos && items[i].timer.at < m)
            m = items[i].timer.at;
    return m;
}

static void test_timers(void)
{
    enum { M = 2000 };
    static struct item items[M];
    struct ph_timers q = {0};
    CHECK(ph_timers_first(&q) == NULL);
    for (size_t i = 0; i < M; i++)
        CHECK(ph_timers_adopt(&q) == 0);
    CHECKF(q.cap >= M, "room for %zu of %d", q.cap, M);
    size_t wrong = 0;
    for (int step = 0; step < 20000; step++) {
        struct item *it = &items[rnd() % M];
        switch (rnd() % 4) {
        case 0:
        case 1: /* arm or move, earlier or later */
            ph_timers_set(&q, &it->timer, 1000 + rnd() % 100000);
            break;
        case 2:
            ph_timers_del(&q, &it->timer);
            break;
        default:
            ph_timers_set(&q, &it->timer, UINT64_MAX); /* disarm */
            break;
        }
        const struct ph_timer *f = ph_timers_first(&q);
        if ((f ? f->at : UINT64_MAX) != brute_min(items, M))
            wrong++;
    }
    CHECKF(wrong == 0, "%zu of 20000 steps gave a wrong nearest deadline", wrong);
    /* Draining yields deadlines in order and empties the heap. */
    uint64_t last = 0;
    size_t out_of_order = 0, drained = 0, queued = q.count;
    struct ph_timer *t;
    while ((t = ph_timers_first(&q))) {
        out_of_order += t->at < last;
        last = t->at;
        ph_timers_del(&q, t);
        CHECK(t->pos == 0);
        drained++;
    }
    CHECKF(out_of_order == 0 && drained == queued, "%zu out of order, %zu of %zu drained",
           out_of_order, drained, queued);
    /* Released owners give their room back; adopting again reuses it. */
    for (size_t i = 0; i < M; i++)
        ph_timers_release(&q);
    CHECK(q.owners == 0);
    size_t cap = q.cap;
    CHECK(ph_timers_adopt(&q) == 0 && q.cap == cap);
    ph_timers_set(&q, &items[0].timer, 5);
    CHECK(ph_timers_first(&q) == &items[0].timer && items[0].timer.at == 5);
    ph_timers_free(&q);
}

int main(void)
{
    test_htab();
    test_timers();
    return ph_t_summary("test_index");
}
