/*
 * lazy: lazy activation and the hello cache (docs/design.md, "Activation").
 *
 * The host keeps each plugin's handshake (the hello as valid_hello() in
 * supervisor.c accepted it) in a directory the operator names, one file
 * per SHA-256 of the plugin file's bytes. A lazy host loads a plugin whose
 * entry is there without starting it: list, tools/list and method lookups
 * answer from the cached hello, and the plugin starts on its first call,
 * from bytes whose hash the loader checks again, so its real hello is
 * compared with the cached one before any queued call reaches it.
 *
 * What it must never do: trust a byte of the cache it did not check as it
 * checks a hello from the wire (the directory is a new thing a hostile
 * party could write: entries are read bounded, O_NOFOLLOW, only when owned
 * by the host's uid and not group/other-writable, and validated through
 * the wire path's own function); serve a cached hello under a hash other
 * than the one of the bytes it hashed; send a queued call to a plugin whose
 * real hello no longer has that method as it was when the call was
 * checked; grow the directory past its bounds (host/bounds.h).
 */
#ifndef PH_HOST_LAZY_H
#define PH_HOST_LAZY_H

#include "plughost/host.h"

struct ph_host;
struct ph_plug;

/* Opens the operator's cache directory for h (h->cache, owned by h).
 * Fails closed: a directory that is not a directory, is a symbolic link,
 * is not owned by the host's euid or is writable by group or others is
 * refused with err saying which, and the host does not start. */
int ph_lazy_open(struct ph_host *h, const char *dir, ph_error *err);

/* Closes and frees h->cache (NULL: nothing to do). */
void ph_lazy_free(struct ph_host *h);

/* At load in a lazy host: hashes p's file through the descriptor the
 * host opens it with and looks its hello up. Returns 1 when the entry is
 * valid: p then has its name, hello and sha256, stays down and is cold
 * (p->hello_cached). Returns 0 when p must be started to learn its hello
 * (no entry, an entry that failed validation: event "hello_cache" says
 * why, or the file could not be opened: the start reports that). */
int ph_lazy_load_cold(struct ph_plug *p);

/* From the ph.hello handler, after valid_hello() accepted hello (borrowed)
 * and before it replaces p->hello. If p's hello came from the cache and
 * differs, the event "hello_changed" says so and every call queued for p
 * whose method is gone or differs fails (status "hello_changed"); the
 * others are sent by the handler. Then the entry for p->sha256 is written
 * when the cache does not already hold this hello for it. */
void ph_lazy_on_hello(struct ph_plug *p, json_t *hello);

/* For listings: whether a cold plugin's cached hello has just been found
 * not to describe the file at its path any more (lstat: a device, inode,
 * size or mtime other than when it was hashed). Returns 1 once, when that
 * is first seen: p->hello_stale is then set (listings leave the hello
 * out) and the caller starts p to learn its real hello. 0 otherwise. */
int ph_lazy_check(struct ph_plug *p);

#endif
