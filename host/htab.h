/*
 * htab: an intrusive hash table, so that the host finds a plugin by name
 * and a call by id in constant time however many there are. Entries embed
 * a struct ph_hnode; the table never allocates or frees them, it only
 * links them, and it never compares keys (callers check the candidates
 * ph_htab_find/ph_htab_next hand back, which share the hash).
 */
#ifndef PH_HOST_HTAB_H
#define PH_HOST_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct ph_hnode {
    struct ph_hnode *next; /* in its bucket */
    uint64_t hash;
};

struct ph_htab {
    struct ph_hnode **buckets; /* owned; nbuckets is a power of two */
    size_t nbuckets, count;
};

uint64_t ph_hash_str(const char *s);
uint64_t ph_hash_u64(uint64_t v);

/* Links node under hash; grows the table as needed. Returns 0, or -1 when
 * out of memory (node is then not linked). */
int ph_htab_add(struct ph_htab *t, struct ph_hnode *node, uint64_t hash);
/* Unlinks node, which must be linked in t. */
void ph_htab_del(struct ph_htab *t, struct ph_hnode *node);
/* The first linked node with this hash, then the next one, or NULL. */
struct ph_hnode *ph_htab_find(const struct ph_htab *t, uint64_t hash);
struct ph_hnode *ph_htab_next(const struct ph_hnode *node);
/* Frees the buckets (not the nodes); t is empty and usable afterwards. */
void ph_htab_free(struct ph_htab *t);

#define ph_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
