/*
 * bounds: every quantity a plugin controls, bounded by the host. The SDK
 * has limits of its own, but they hold only for plugins that use it: a
 * hostile plugin writes its own records on the channel, so each figure
 * here is enforced where the host reads or keeps what the plugin sent.
 *
 * docs/security.md ("Bounds on what a plugin controls") has one row per
 * constant; tests/integration/test_bounds.py checks that the table and
 * this file agree, so a change here must change the table too.
 *
 * Quantities an operator may need to move are host options instead
 * (max_message, max_queue, call_timeout_ms, memory_limit, ...); they are
 * in the same table.
 */
#ifndef PH_HOST_BOUNDS_H
#define PH_HOST_BOUNDS_H

/* ---- the handshake (ph.hello) ----
 * Any message before the handshake is done (ph.sandbox, ph.loaded,
 * ph.setup_failed, ph.hello itself) is read with this as its maximum size,
 * so that a hello is refused before it is parsed, not after. */
#define PH_BOUND_HELLO_BYTES (1024 * 1024)
#define PH_BOUND_HELLO_METHODS 1024
/* The plugin's own "version" and "description", in bytes. */
#define PH_BOUND_HELLO_VERSION 255
#define PH_BOUND_HELLO_DESCRIPTION 4096
/* Per method, in bytes: its name, its "description", its "params" notes
 * and its "params_schema" as compact JSON. */
#define PH_BOUND_METHOD_NAME 255
#define PH_BOUND_METHOD_DESCRIPTION 4096
#define PH_BOUND_METHOD_PARAMS_DOC 4096
#define PH_BOUND_METHOD_SCHEMA (64 * 1024)

/* ---- host.kv_set: one store per plugin, kept across its restarts ----
 * TOTAL counts each key's bytes plus its value's compact JSON. */
#define PH_BOUND_KV_KEY 1024
#define PH_BOUND_KV_KEYS 256
#define PH_BOUND_KV_VALUE (64 * 1024)
#define PH_BOUND_KV_TOTAL (1024 * 1024)

/* ---- notifications and logs, per plugin process ----
 * Over the rate, each further one is dropped and counted until the next
 * second; the count is reported as a "rate_limited" event. $/progress
 * counts as a notification. A second starts at the first message after
 * the last one ended. */
#define PH_BOUND_LOGS_PER_S 1000
#define PH_BOUND_NOTIFICATIONS_PER_S 1000
/* Their bytes together (whole messages as received), per second. */
#define PH_BOUND_EVENT_BYTES_PER_S (4 * 1024 * 1024)

/* ---- answers to host-function calls not yet read by the plugin ----
 * At either mark the host stops reading the plugin (no more requests are
 * taken from it) until its queue drains below the resume marks; a queue
 * still at a mark STALL_MS later ends the plugin as a breach. */
#define PH_BOUND_HOSTFN_INFLIGHT 64
#define PH_BOUND_ANSWER_BYTES (1024 * 1024)
#define PH_BOUND_HOSTFN_RESUME 16
#define PH_BOUND_ANSWER_RESUME_BYTES (256 * 1024)
#define PH_BOUND_STALL_MS 2000

/* ---- the hello cache (lazy.c): files the host wrote, read back as
 * hostile ----
 * One entry is a hello and its envelope; past ENTRIES or BYTES in the
 * directory, the least recently used entries are removed. */
#define PH_BOUND_CACHE_ENTRY_BYTES (1024 * 1024 + 4096)
#define PH_BOUND_CACHE_ENTRIES 4096
#define PH_BOUND_CACHE_BYTES (256 * 1024 * 1024)

/* ---- descriptors ----
 * At most one per message, on its first record, and only where the
 * protocol expects one (ph.sandbox's listener, a blob with an answer). */
#define PH_BOUND_FDS_PER_MESSAGE 1

#endif
