/*
 * plughost host library: start sandboxed plugins and call their methods.
 *
 * An application creates a ph_host, loads plugins from a directory or from
 * single files, then calls methods synchronously (ph_host_call) or
 * asynchronously (ph_host_call_async + its own event loop, driven through
 * ph_host_fd() and ph_host_process()). The library never starts threads and
 * never blocks except inside ph_host_call() and ph_host_process() with a
 * timeout the caller chose.
 *
 * It must never trust a byte a plugin sends: every message is parsed and
 * checked by the wire module before it reaches the bookkeeping here.
 *
 * Errors: every function that can fail returns a negative status (or NULL)
 * and, when given a ph_error, fills it with a code and a readable message.
 * Ownership follows jansson's vocabulary: "borrowed" values stay owned by the
 * caller (or the library) and must not be kept past the call; a "new
 * reference" belongs to the receiver, who must json_decref() it.
 */
#ifndef PLUGHOST_HOST_H
#define PLUGHOST_HOST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PH_VERSION "0.1.0"

/* JSON-RPC error codes the host itself produces. -32700..-32600 are the
 * specification's; -32000..-32099 are ours, documented in docs/protocol.md. */
enum ph_rpc_code {
    PH_RPC_PARSE_ERROR = -32700,
    PH_RPC_INVALID_REQUEST = -32600,
    PH_RPC_METHOD_NOT_FOUND = -32601,
    PH_RPC_INVALID_PARAMS = -32602,
    PH_RPC_INTERNAL_ERROR = -32603,
    PH_RPC_PLUGIN_CRASHED = -32000,    /* died by a signal or exited */
    PH_RPC_PLUGIN_TIMEOUT = -32001,    /* call timeout hit; plugin killed */
    PH_RPC_PLUGIN_VIOLATION = -32002,  /* killed by the sandbox */
    PH_RPC_PLUGIN_NOT_LOADED = -32003, /* unknown plugin, or it failed to start */
    PH_RPC_PLUGIN_PROTOCOL = -32004,   /* plugin broke the wire protocol */
    PH_RPC_PLUGIN_LIMIT = -32005,      /* a resource limit (memory, CPU, size) */
    PH_RPC_NOT_GRANTED = -32006,       /* host.open: no grant covers the file */
    PH_RPC_OPEN_FAILED = -32007,       /* host.open: granted, but refused by the checks */
    PH_RPC_CANCELLED = -32800,         /* LSP's RequestCancelled */
};

/* Whether code is reserved to the host: 1 for JSON-RPC's -32768..-32000
 * (the host's reports, -32099..-32000, among them) except -32602 and
 * -32603, and for -32800 (cancelled); else 0. An error with a reserved code
 * is the host's own, and so is its data (status and details); a plugin's
 * error never carries one (the host turns it into -32603 with
 * original_code). With any other code, data is whatever the method gave. */
int ph_rpc_code_reserved(long long code);

/* How a plugin process ended, after minijail's and Sandbox2's named results.
 * Carried as "status" in error data and events. */
enum ph_end {
    PH_END_NONE = 0,    /* still running */
    PH_END_OK,          /* exited 0 when asked to stop */
    PH_END_SETUP_ERROR, /* confinement or loading failed before handshake */
    PH_END_VIOLATION,   /* made a syscall the sandbox refuses */
    PH_END_SIGNALED,    /* crashed with a signal */
    PH_END_EXITED,      /* exited on its own */
    PH_END_TIMEOUT,     /* a call or the handshake took too long */
    PH_END_KILLED,      /* killed by the host (shutdown, cancellation) */
    PH_END_PROTOCOL,    /* sent something the protocol forbids */
    PH_END_LIMIT,       /* hit a resource limit (CPU, memory, cgroup memory, message size) */
};

/* Returns the stable lower-case name of an end status ("violation", ...). */
const char *ph_end_name(enum ph_end end);

/* Library error, filled by every call that can fail. */
enum ph_status {
    PH_OK = 0,
    PH_E_INVALID = -1, /* bad argument from the caller */
    PH_E_SYSTEM = -2,  /* a syscall failed; text says which */
    PH_E_NOMEM = -3,
    PH_E_NOTFOUND = -4, /* unknown plugin or method */
    PH_E_PLUGIN = -5,   /* the plugin failed the call; see rpc_error */
    PH_E_TIMEOUT = -6,
    PH_E_BUSY = -7, /* a bound was reached (max_queue); try again later */
};

typedef struct ph_error {
    int status;     /* enum ph_status */
    char text[512]; /* readable, ends with NUL */
} ph_error;

/* Reads and checks an operator configuration file (docs/configuration.md).
 * On success *config is a new reference; on failure err says where (file,
 * line, column, key) and what is wrong. */
int ph_config_load(const char *path, json_t **config, ph_error *err);

typedef struct ph_host ph_host;

typedef struct ph_host_options {
    /* Path of the trusted loader executable. NULL: $PLUGHOST_LOADER, then
     * plughost-loader beside the running executable, then the installed one. */
    const char *loader_path;
    unsigned call_timeout_ms;      /* 0: default 30000 */
    unsigned handshake_timeout_ms; /* 0: default 5000 */
    unsigned cancel_grace_ms;      /* after a cancel, before a kill; 0: 2000 */
    unsigned max_queue;            /* calls queued or in flight per plugin; 0: 1024 */
    size_t max_message;            /* bytes; 0: default 64 MiB */
    size_t memory_limit;           /* per plugin: RLIMIT_AS and cgroup memory.max; 0: 1 GiB */
    unsigned cpu_limit_s;          /* RLIMIT_CPU per plugin; 0: default 60 s */
    int trace;                     /* log every message exchanged */
    /* Audit mode (`plughost profile`): a call the seccomp filter refuses is
     * recorded (event "audit", and "audit" in ph_host_describe) and let
     * through instead of killing the plugin. The other layers still hold.
     * For learning what a plugin needs, never for running it in earnest. */
    int audit;
    /* Resource receipts: after each answer from a plugin, an event "receipt"
     * {call_id, plugin, method, wall_us, cpu_us, peak_rss_kib}: what the call
     * cost (CPU time of the plugin process since its previous answer, which
     * is this call's since a plugin serves calls one at a time), and for a
     * call that waited for a cold plugin to start (lazy activation),
     * start_us: how long the start took. */
    int receipts;
    /* The operator's configuration (from ph_config_load), borrowed for the
     * call to ph_host_new (the host keeps its own reference). Options set
     * here win over its "defaults". */
    json_t *config;
    /* Supervision (docs/reliability.md): after an abnormal end a plugin is
     * restarted on demand, at once the first time, then after a backoff
     * doubling from restart_backoff_ms up to restart_backoff_max_ms. After
     * max_failures ends within failure_window_ms its circuit opens: calls
     * fail at once for cooldown_ms, or until ph_host_reset(). */
    unsigned max_failures;           /* 0: 5 */
    unsigned failure_window_ms;      /* 0: 60000 */
    unsigned cooldown_ms;            /* 0: 30000 */
    unsigned restart_backoff_ms;     /* 0: 100 */
    unsigned restart_backoff_max_ms; /* 0: 5000 */
    /* RLIMIT_AS per plugin; 0: memory_limit. memory_limit also bounds the
     * plugin's cgroup (resident memory, no swap) where that layer is
     * active; a larger address space lets the cgroup be the bound that
     * bites (docs/security.md, "cgroups"). */
    size_t address_space_limit;
    /* Weaker confinement the operator accepts, PH_WEAKER_* bits (config
     * "accept_weaker", CLI --accept-weaker). Without a bit, a machine that
     * cannot give the layer makes the host refuse to start plugins. */
    unsigned accept_weaker;
    /* The uid and gid plugins run as when the host is root (outside their
     * user namespace); 0: the kernel's overflow ids (usually 65534). Root
     * (0) itself is never used. A host that is not root runs them as its
     * own user. */
    unsigned run_uid, run_gid;
    /* Lazy activation (docs/design.md, "Activation"): hello_cache names a
     * directory (borrowed for ph_host_new; owned by the host's user, not
     * group/other-writable, else ph_host_new fails) where the host keeps
     * each plugin's handshake keyed by the SHA-256 of its file; with it,
     * every handshake is stored. activation PH_ACTIVATION_LAZY: a plugin
     * whose file has a valid entry is loaded without starting it
     * (ph_host_describe lists it "cold") and starts on its first call;
     * the others start at once, which fills the cache. 0: the
     * configuration's "activation", else eager. Config keys
     * "hello_cache" and "activation". */
    const char *hello_cache;
    int activation;
    /* Instance pools (docs/design.md, "Instances"): up to `instances`
     * confined processes of each plugin (1..PH_MAX_INSTANCES; 0: 1), each
     * call sent to an idle one or queued in order; instances past the first
     * start when calls wait and stop after idle_stop_ms without a call
     * (0: 30000). A plugin's hello with "singleton": true caps it at 1.
     * Per plugin in the configuration too. */
    unsigned instances;
    unsigned idle_stop_ms;
    /* PH_ISOLATE_*: whether a plugin's processes are shared between calls
     * (docs/configuration.md, "isolate"). In the configuration's defaults
     * and per plugin too; NONE (0) reads as not set, so the defaults'
     * value applies. */
    unsigned isolate;
    /* Instances kept started and handshaken ahead of calls, within
     * `instances` (a larger figure is capped at it); 0: none. */
    unsigned spares;
} ph_host_options;

#define PH_ACTIVATION_EAGER 1
#define PH_ACTIVATION_LAZY 2

/* ph_host_options.isolate. CALL: every call runs in a process that never
 * served another call and is ended after it. CLIENT: the calls of each
 * client (ph_host_client_new) run in processes of that client's alone,
 * never shared with another client; calls made with no client in use are
 * one more client of their own. */
enum { PH_ISOLATE_NONE = 0, PH_ISOLATE_CALL = 1, PH_ISOLATE_CLIENT = 2 };

/* The most instances of one plugin (ph_host_options.instances). */
#define PH_MAX_INSTANCES 64

/* Neither a private mount namespace nor Landlock: while a plugin loads, the
 * dynamic linker's opens are checked by the host alone, so a loading plugin
 * (its ELF constructors) can read any library-directory file the host user
 * can, and an escape from seccomp meets no filesystem layer. Name:
 * "no-fs-containment". */
#define PH_WEAKER_NO_FS_CONTAINMENT 1u

/* The PH_WEAKER_* bit of a weaker mode's name ("no-fs-containment"), or 0
 * for a name that is not one. */
unsigned ph_config_weaker_bit(const char *name);

/* Event delivered to the application: plugin logs, notifications, state
 * changes. event is borrowed: an object with at least "type" ("log",
 * "notification", "progress", "started", "ended", "load_error", "trace") and
 * "plugin". A "notification" carries "call_id" when the host knows which call
 * the plugin was serving as it sent it (always for a plugin without the
 * threads grant that has a call out), so an application with several
 * clients can give it to that call's client alone. A "started" event
 * carries "pid", "spawn_us" and, when every moment of the start is known,
 * "spawn_stages_us": where that time went, stage by stage (docs/performance.md,
 * "Where a start's time goes"); `plughost list --json` shows the same.
 * Strings in events, errors and ph_host_describe() are the plugin's own
 * (log messages and levels, names, descriptions, setup failures): any
 * Unicode, controls included. Escape them before showing them to a person,
 * as the plughost command does (docs/protocol.md section 7). */
typedef void (*ph_event_fn)(void *ud, json_t *event);

/* Completion of an asynchronous call. Exactly one of result and error is
 * non-NULL; both are borrowed. error is a JSON-RPC error object. A report
 * of the host's (a reserved code, ph_rpc_code_reserved()) has data naming
 * the plugin, the method and, for failures of the plugin process, the
 * "status" (ph_end_name) and its details (signal, exit_code, syscall,
 * limit). A plugin's own error carries exactly the data its method gave
 * (none, or any JSON value), no names added: the caller knows what it
 * called. */
typedef void (*ph_call_fn)(void *ud, uint64_t call_id, json_t *result, json_t *error);

/* A host function plugins may call. params is borrowed. Return 0 with
 * *result a new reference, or -1 with *error a new reference to an error
 * object. plugin is the caller's name (borrowed). */
typedef int (*ph_hostfn_fn)(void *ud, const char *plugin, json_t *params, json_t **result,
                            json_t **error);

/* Answers a plugin's host-function request by name (method and params
 * borrowed), same contract as ph_hostfn_fn. */
typedef int (*ph_hostcall_fn)(void *ud, const char *plugin, const char *method, json_t *params,
                              json_t **result, json_t **error);

/* Creates a host. opts may be NULL for defaults (copied). On success returns
 * PH_OK and *out is owned by the caller (free with ph_host_free). */
int ph_host_new(const ph_host_options *opts, ph_host **out, ph_error *err);

/* Stops every plugin (asking first, then killing), reaps them, frees all. */
void ph_host_free(ph_host *host);

void ph_host_set_event_handler(ph_host *host, ph_event_fn fn, void *ud);

/* Offers a host function under name ("app.lookup"). max_calls bounds the
 * calls each plugin process may make (0: unlimited). Must be called before
 * plugins are loaded. */
int ph_host_add_function(ph_host *host, const char *name, ph_hostfn_fn fn, void *ud,
                         unsigned max_calls, ph_error *err);

/* Sends every host-function request of every plugin to fn instead of the
 * table (ph_host_add_function and the built-ins), whatever its name; NULL
 * restores the table. For answering from a recording (`plughost replay`)
 * and for test doubles; call limits do not apply. */
void ph_host_intercept_functions(ph_host *host, ph_hostcall_fn fn, void *ud);

/* Records a transcript of the run on fd (dup'ed; the caller keeps fd):
 * JSON Lines, a header {"plughost_transcript": 2, "plughost", "protocol",
 * "plugins": [...]}, then a line per message crossing any plugin's channel,
 * either way, {"seq", "t_ms", "plugin", "file", "pid", "slot", "proc",
 * "dir": "to_plugin" | "from_plugin", "msg"}, and a line {"type": "plugin",
 * "plugin", "file", "path", "sha256", "pid", "slot", "proc"} each time a
 * process finishes its handshake (docs/clients.md). "slot" is the
 * process's place in its plugin's pool, "proc" its number in this
 * transcript (from 1, one per process, never reused). Messages are written whole, however large. Start it
 * before loading plugins to have their handshakes. Writes are blocking, so
 * fd should be a file. A write error never fails a call: recording stops
 * and an event "record_error" says why. fd -1 stops recording. */
int ph_host_record(ph_host *host, int fd, ph_error *err);

/* Pins each plugin's method surface (pins.c, docs/clients.md): pins is the
 * document ph_host_pins() makes, {"plughost_pins": 1, "plugins": {FILE:
 * {"plugin", "sha256", "methods": {NAME: {"description", "params",
 * "params_schema"}}}}} (borrowed; copied), keyed by file name. A plugin
 * whose surface differs from its pin, or that has none (unless
 * allow_unpinned), is not offered: its calls fail with
 * PH_RPC_PLUGIN_NOT_LOADED, data.pin_changes saying what changed, and an
 * event "pin_mismatch" {plugin, file, changes} says so once. Checked at
 * every handshake and at once for running plugins. NULL removes the pins. */
int ph_host_set_pins(ph_host *host, json_t *pins, int allow_unpinned, ph_error *err);

/* The pins of every plugin that finished its handshake, from their real
 * handshakes and files (new reference), for ph_host_set_pins(). */
json_t *ph_host_pins(ph_host *host);

/* Starts every regular file ending in ".so" in dir, and waits until each has
 * finished its handshake or failed. A file that fails is reported as a
 * "load_error" event and skipped; the call fails only if dir cannot be read. */
int ph_host_load_dir(ph_host *host, const char *dir, ph_error *err);

/* Brings the plugins loaded from dir in line with it (what SIGHUP does in
 * `plughost serve`): new files start, plugins whose file is gone stop,
 * plugins whose file changed stop and start again from the new file, and
 * untouched ones keep running undisturbed. Calls to a plugin that stops are
 * answered with an error. Events: "unloaded", "started", "load_error". */
int ph_host_reload_dir(ph_host *host, const char *dir, ph_error *err);

/* Starts one plugin file and waits for its handshake. On failure the plugin
 * is not registered and err says why. If name_out is not NULL it receives the
 * plugin's name (borrowed, valid while the host lives). */
int ph_host_load_file(ph_host *host, const char *path, const char **name_out, ph_error *err);

/* Returns a new reference: an object {"plugins": [...], "errors": [...],
 * "host_functions": [...]} describing every plugin (name, version, file,
 * methods, state, pid, restarts, layers in force, spawn_us), every file that
 * failed to load ({file, error}), and the host functions offered. Each
 * plugin has, while recording or with pins set, "sha256" of its file as
 * loaded at its last start, and with pins set, "pin" ("ok" or "changed")
 * and "pin_changes". A plugin's "layers" include "cgroup": {active,
 * version, path, memory_max, pids_max, swap_max} for its current process,
 * or {active: false, reason}. "lazy" says whether the host activates
 * lazily; with a hello cache, each plugin has "cold" (true: listed from its
 * cached hello, no process yet), and a cold plugin whose file changed since
 * it was hashed is listed without its methods and started to learn them. */
json_t *ph_host_describe(ph_host *host);

/* Starts a call of PLUGIN.METHOD. params is borrowed (array, object or NULL).
 * cb runs exactly once, from ph_host_process() (or ph_host_call()), never
 * from inside this function. *call_id (if not NULL) identifies the call for
 * ph_host_cancel(). */
int ph_host_call_async(ph_host *host, const char *plugin, const char *method, json_t *params,
                       ph_call_fn cb, void *ud, uint64_t *call_id, ph_error *err);

/* The answer to ph_host_call_raw_async(): either result (borrowed, valid
 * only during the callback) is the result's JSON text, result_len bytes,
 * not NUL-terminated and compact (no whitespace outside strings, so never
 * a raw newline), and error is NULL; or result is NULL and error is the
 * JSON-RPC error object (borrowed). */
typedef void (*ph_call_raw_fn)(void *ud, uint64_t call_id, const char *result, size_t result_len,
                               json_t *error);

/* ph_host_call_async() for a caller that holds JSON text and wants text
 * back, as a server forwarding a client's bytes does: params is the JSON
 * text of an array or an object (borrowed; params_len 0: none). The host
 * checks the bytes each way with its scanner (sdk/jscan.h) and forwards
 * them without building a jansson tree, except where it must read them (a
 * params schema, a record, a trace) or the scanner cannot vouch for them:
 * then it parses them as ph_host_call_async() does. Params that are not
 * JSON fail with PH_E_INVALID. Everything else as ph_host_call_async(). */
int ph_host_call_raw_async(ph_host *host, const char *plugin, const char *method,
                           const char *params, size_t params_len, ph_call_raw_fn cb, void *ud,
                           uint64_t *call_id, ph_error *err);

/* Synchronous call: runs the host's loop until the answer arrives. An
 * answer already there once the request is sent (usual for a plugin on
 * the caller's core) is read at once; the loop then turns without
 * sleeping only when other calls are pending or a millisecond has passed
 * since its last turn, so other plugins' events are never held longer. On
 * success *result is a new reference. On a failure of the call, returns
 * PH_E_PLUGIN and *rpc_error (if not NULL) is a new reference to the
 * JSON-RPC error object. */
int ph_host_call(ph_host *host, const char *plugin, const char *method, json_t *params,
                 json_t **result, json_t **rpc_error, ph_error *err);

/* Synchronous call with bytes beside the JSON (a blob, docs/protocol.md):
 * no escaping, no base64. The host copies len bytes of data (data may be
 * NULL when len is 0) into a sealed memfd sent with the request, and puts
 * the reference {"$blob": 0, "size": len} into the params: as member
 * "blob" of an object (a copy of params; NULL params become {}), or
 * appended to an array. The plugin maps it with ph_param_blob().
 * On success *result is a new reference and, if the answer carried a blob
 * (ph_result_blob()), *out is a read-only mapping of its bytes, owned by
 * the caller and released with ph_host_blob_free(*out, *out_len); without
 * one, or for an empty one, *out is NULL and *out_len 0 (the result's
 * reference tells the two apart). A blob is at most max_message bytes
 * each way. Failures as ph_host_call(). */
int ph_host_call_blob(ph_host *host, const char *plugin, const char *method, json_t *params,
                      const void *data, size_t len, json_t **result, const void **out,
                      size_t *out_len, json_t **rpc_error, ph_error *err);

/* Releases a blob mapping from ph_host_call_blob(); NULL is a no-op. */
void ph_host_blob_free(const void *out, size_t len);

/* Asks for cancellation of an in-flight call: the plugin sees
 * ph_cancelled(); the caller is answered with PH_RPC_CANCELLED at once. */
int ph_host_cancel(ph_host *host, uint64_t call_id);

/* For the application's own event loop: a descriptor that becomes readable
 * when ph_host_process() has work. Borrowed; valid while the host lives. */
int ph_host_fd(const ph_host *host);

/* The application's own descriptors in the host's epoll set, so that an
 * application's loop is ph_host_process() alone: one wait for plugins,
 * deadlines and the application's input and output together, with no
 * second poll around it and no empty wait after a wake-up.
 *
 * events is PH_FD_IN and/or PH_FD_OUT; 0 stops watching fd. While fd is
 * watched, ph_host_process() ORs what the kernel reported (PH_FD_IN,
 * PH_FD_OUT, PH_FD_ERR, PH_FD_HUP) into *ready and returns instead of
 * waiting on; the application handles fd after ph_host_process() returns
 * and clears *ready itself (nothing of the application runs inside the
 * loop). Watching a fd already watched changes its events and ready word.
 * *ready is the application's, borrowed until fd is unwatched or the host
 * freed; fd stays the application's to close (unwatch it first). At most
 * PH_HOST_MAX_APP_FDS descriptors. A descriptor epoll cannot watch (a
 * regular file, /dev/null) fails with PH_E_SYSTEM and errno EPERM: such a
 * descriptor is always ready, so the application reads it without waiting. */
#define PH_FD_IN 0x001u
#define PH_FD_OUT 0x004u
#define PH_FD_ERR 0x008u
#define PH_FD_HUP 0x010u
#define PH_HOST_MAX_APP_FDS 8
int ph_host_watch_fd(ph_host *host, int fd, unsigned events, unsigned *ready, ph_error *err);

/* Holds back what the host writes to its plugins until the outermost
 * ph_host_uncork(), then writes it plugin by plugin, each plugin's messages
 * in their order. For an application that starts many calls at once over
 * several plugins: each plugin then wakes once for its share of the batch
 * instead of once per call (docs/performance.md, "One process per plugin"). Pairs nest;
 * an uncork without a cork does nothing. Anything that runs the loop
 * (ph_host_process, ph_host_call and the other synchronous calls, loading,
 * reloading, ph_host_free) writes what is held first, corked or not, so
 * cork only the stretch where calls are started. ph_host_fd() turns
 * readable while anything is held: a forgotten uncork delays, never loses. */
void ph_host_cork(ph_host *host);
void ph_host_uncork(ph_host *host);

/* Handles everything that is ready, waiting at most timeout_ms for something
 * to be (0: do not wait, -1: wait until something happens). Returns the
 * number of events handled, or a negative status. */
int ph_host_process(ph_host *host, int timeout_ms, ph_error *err);

/* Checks the sandbox on this machine: which layers the kernel offers, and,
 * through the loader's built-in probe, that forbidden calls really are
 * refused and named. *report is a new reference:
 * {"layers":[{layer,active,detail}], "checks":[{check,ok,...}], "ok":bool}.
 * Returns PH_OK when every check passed. */
int ph_host_doctor(const ph_host_options *opts, json_t **report, ph_error *err);

/* A caller that gets processes of its own from plugins under isolate
 * "client" (a `serve --listen` connection, say). Owned by the caller, freed
 * with ph_host_client_free() before the host. */
typedef struct ph_client ph_client;

int ph_host_client_new(ph_host *host, ph_client **out, ph_error *err);

/* Calls made from now on (until the next ph_host_use_client) are the
 * client's (NULL: no client). Under isolate "client" they run only in
 * instances bound to it; otherwise this changes nothing. */
void ph_host_use_client(ph_host *host, ph_client *client);

/* Ends the client's instances (their calls in flight are answered with the
 * ending's error), answers its queued calls with an error, and frees it.
 * The client in use is reset if it was this one. */
void ph_host_client_free(ph_host *host, ph_client *client);

/* Closes a plugin's open circuit and forgets its recent failures, so the
 * next call starts it at once. Returns PH_OK or PH_E_NOTFOUND. */
int ph_host_reset(ph_host *host, const char *plugin, ph_error *err);

/* Number of calls not yet answered. */
size_t ph_host_pending(const ph_host *host);

/* The operator's view of the host now (docs/operating.md): *out is a new
 * reference to {"plughost_status": 1, "host": {pid, version,
 * started_unix_ms, now_unix_ms, uptime_s, plugins, calls_total,
 * calls_pending, memory_bytes, cpu_seconds}, "plugins": [{name, file,
 * version, state, restarts, circuit: {state, recent_failures,
 * retry_after_ms}, calls_served, calls_failed: {CAUSE: n}, violations:
 * {count, last_syscall, last_unix_ms}, queue_depth, in_flight, instances:
 * [{index, pid, state, started_unix_ms, uptime_s, memory_bytes,
 * memory_source, cpu_seconds, cpu_source}]}]}. Names, files and versions
 * are the plugin's own strings: escape them before showing them. Reads
 * /proc and cgroup files; changes nothing. */
int ph_host_status(ph_host *host, json_t **out, ph_error *err);

/* Exposition formats of ph_host_status_exposition(). */
enum ph_exposition {
    /* Prometheus text format 0.0.4: what Prometheus and node_exporter's
     * textfile collector read; served as PH_STATUS_CONTENT_TYPE. */
    PH_EXPOSITION_PROMETHEUS = 0,
    /* OpenMetrics 1.0.0 text: the same samples, counters' families named
     * without _total, info families, UNIT lines and a final "# EOF";
     * served as PH_STATUS_CONTENT_TYPE_OPENMETRICS. */
    PH_EXPOSITION_OPENMETRICS = 1,
};

/* The exposition (enum ph_exposition) of a status object from
 * ph_host_status() (borrowed; an application may add "clients" to its
 * "host"). *text is new memory, free() it; *len (if not NULL) its length.
 * Every label value is shown as plughost shows text it does not control:
 * printable ASCII, any other byte and the backslash as \xNN. */
int ph_host_status_exposition(const json_t *status, unsigned format, char **text, size_t *len,
                              ph_error *err);
#define PH_STATUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PH_STATUS_CONTENT_TYPE_OPENMETRICS                                                         \
    "application/openmetrics-text; version=1.0.0; charset=utf-8"

#ifdef __cplusplus
}
#endif
#endif
