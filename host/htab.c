/*
 * htab: the host's hash tables (see htab.h). Chained buckets, doubled when
 * there are as many entries as buckets; never shrunk, since a host's
 * tables only ever get as big as its plugins and calls in flight once were.
 * It must never touch a node's containing object: it knows only the links.
 */
#include "htab.h"

#include <stdlib.h>

/* FNV-1a: names are short, and collisions only cost a strcmp. */
uint64_t ph_hash_str(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* splitmix64's finaliser: consecutive call ids land in different buckets. */
uint64_t ph_hash_u64(uint64_t v)
{
    v ^= v >> 30;
    v *= 0xbf58476d1ce4e5b9ull;
    v ^= v >> 27;
    v *= 0x94d049bb133111ebull;
    return v ^ (v >> 31);
}

static int grow(struct ph_htab *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    struct ph_hnode **b = calloc(n, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->nbuckets; i++) {
        while (t->buckets[i]) {
            struct ph_hnode *node = t->buckets[i];
            t->buckets[i] = node->next;
            node->next = b[node->hash & (n - 1)];
            b[node->hash & (n - 1)] = node;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

int ph_htab_add(struct ph_htab *t, struct ph_hnode *node, uint64_t hash)
{
    if (t->count >= t->nbuckets && grow(t) < 0)
        return -1;
    node->hash = hash;
    struct ph_hnode **head = &t->buckets[hash & (t->nbuckets - 1)];
    node->next = *head;
    *head = node;
    t->count++;
    return 0;
}

void ph_htab_del(struct ph_htab *t, struct ph_hnode *node)
{
    if (!t->nbuckets)
        return;
    struct ph_hnode **pp = &t->buckets[node->hash & (t->nbuckets - 1)];
    while (*pp && *pp != node)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = node->next;
        node->next = NULL;
        t->count--;
    }
}

static struct ph_hnode *from(struct ph_hnode *node, uint64_t hash)
{
    while (node && node->hash != hash)
        node = node->next;
    return node;
}

struct ph_hnode *ph_htab_find(const struct ph_htab *t, uint64_t hash)
{
    return t->nbuckets ? from(t->buckets[hash & (t->nbuckets - 1)], hash) : NULL;
}

struct ph_hnode *ph_htab_next(const struct ph_hnode *node)
{
    return from(node->next, node->hash);
}

void ph_htab_free(struct ph_htab *t)
{
    free(t->buckets);
    t->buckets = NULL;
    t->nbuckets = t->count = 0;
}
