/*
 * Internal structures of the host library, shared by its modules. The
 * modules are layered, bottom to top, and each calls only down
 * (docs/design.md, "Layers"; tests/unit/check_layers.py holds the table
 * and fails the build's tests on a call up or across):
 *   base.c htab.c timers.c  clocks and errors; the indexes; deadline heaps
 *   events.c modes.c        the application's events; accepted weaker modes
 *   files.c cgroup.c app_fd.c  granted files; a cgroup per process; the
 *                application's descriptors in the loop
 *   config.c wake.c load_window.c record.c  the configuration; the loop's
 *                timerfd; the dynamic linker's window; the transcript
 *   calls.c      the call table: calls, deadlines, answers, their counts
 *   status.c pins.c  the operator's view (status.h); pins of method surfaces
 *   -- one instance (a spawned, confined, supervised process) --
 *   channel.c    sending to it, holding writes, its stall, killing it
 *   hostfn.c     the host functions it may call
 *   supervisor.c its messages: the handshake, answers, notifications
 *   ending.c     its end: reaping, naming the end, failing its calls,
 *                backoff and circuit breaker
 *   violation.c  its seccomp notifications: naming every refused call, and
 *                what `plughost profile` may let through
 *   spawn.c      starting it: namespaces, cgroup, clone, exec
 *   -- one plugin (a named group of instances with one policy) --
 *   pool.c       dispatch, queue, start on demand, idle stop, spares, and
 *                each instance's timer
 *   lazy.c       lazy activation and the hello cache (lazy.h)
 *   -- the API --
 *   host.c       making calls, cancelling, clients, the event loop
 *   load.c blob.c  loading, reloading and listing plugins; calls with blobs
 *   setup.c      making and freeing a host; the hooks (struct ph_hooks)
 *   doctor.c     proving the sandbox with the probe
 *   selftest.c   ph_host_new(): setup.c with the doctor's self-test
 * What a lower layer must tell a higher one (a hello arrived, an instance
 * is ready) goes through struct ph_hooks, set by setup.c; counters a lower
 * layer bumps (status.h) are read by status.c. Nothing here is visible to
 * applications.
 */
#ifndef PH_HOST_INTERNAL_H
#define PH_HOST_INTERNAL_H

#include "cgroup.h"
#include "config.h"
#include "htab.h"
#include "plughost/host.h"
#include "status.h"
#include "timers.h"
#include "worker.h"
#include "wire.h"

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Where the loader binds the plugin file inside its own root
 * (sandbox/namespaces.h says the same). */
#define PH_PLUGIN_IN_ROOT "/plugin.so"
/* The plugin file's descriptor in the child, beside the channel on 3. */
#define PH_PLUGIN_FD 4

/* Why no plugin starts on a machine without filesystem containment. */
#define PH_NO_CONTAINMENT_TEXT                                                                     \
    "no filesystem containment for plugins: this machine gives neither a private mount "           \
    "namespace (run as root, or allow unprivileged user namespaces: sysctl "                       \
    "kernel.unprivileged_userns_clone=1 and user.max_user_namespaces > 0) nor Landlock (a "        \
    "kernel built with CONFIG_SECURITY_LANDLOCK and booted with landlock in lsm=); see "           \
    "`plughost doctor`. To run plugins anyway, accept the weaker mode by name: "                   \
    "--accept-weaker=no-fs-containment (docs/security.md, \"Reduced modes\")"

/* How long plugins get to exit after ph.shutdown before they are killed. */
#define PH_SHUTDOWN_GRACE_MS 200

enum ph_watch_kind { PH_W_SOCK = 1, PH_W_NOTIFY, PH_W_PIDFD, PH_W_TIMER, PH_W_APP, PH_W_WORKER };

struct ph_plug;

/* What an epoll entry points at. */
struct ph_watch {
    enum ph_watch_kind kind;
    struct ph_plug *plug;
};

/* An application descriptor in the host's epoll set (ph_host_watch_fd,
 * app_fd.c); w first, so the epoll entry's pointer is this. */
struct ph_app_fd {
    struct ph_watch w;
    int fd; /* -1: slot free */
    unsigned *ready;
};

/* What ph_host_process() does with an application descriptor's events. */
void ph_app_fd_event(struct ph_watch *w, uint32_t events);

/* One outgoing message, sent record by record. */
struct ph_out {
    char *buf; /* owned */
    size_t len, off;
    int fd;     /* owned; goes with the first record (SCM_RIGHTS), -1: none */
    int answer; /* to the plugin's own request: counted in answers (bounds.h) */
    struct ph_out *next;
};

enum ph_plug_state {
    PH_P_DOWN = 0, /* not running; starts on the next call */
    PH_P_LOADING,  /* spawned, handshake not yet received */
    PH_P_READY,
};

struct ph_call {
    uint64_t id; /* also the JSON-RPC id sent to the plugin */
    /* The instance serving it; NULL while it waits in its pool's queue
     * for an idle instance (pool.c). */
    struct ph_plug *plug;
    struct ph_plug *pool; /* the plugin called: its pool's head */
    uint64_t client;      /* the ph_client in use when it was made, 0: none */
    char *method;         /* owned */
    json_t *params;       /* owned until sent */
    char *params_text;    /* owned until sent; instead of params (a raw call) */
    size_t params_len;
    ph_call_fn cb;
    ph_call_raw_fn raw_cb; /* instead of cb: the answer as text */
    void *ud;
    uint64_t deadline_ms;
    struct ph_timer timer; /* in host->call_timers, at deadline_ms */
    struct ph_hnode by_id; /* in host->calls_by_id while linked */
    uint64_t sent_ns;      /* for receipts */
    int sent;
    int cancelled;          /* answered already; waiting for the plugin to let go */
    int drained;            /* past its deadline, the plugin's socket was read once */
    json_t *result, *error; /* owned; set when done */
    char *result_text;      /* owned; a raw call's result forwarded as checked bytes */
    size_t result_len;
    int in_fd;  /* owned; the request's blob (sealed memfd), -1: none */
    int out_fd; /* owned; the answer's blob, checked, -1: none */
    /* Waited for its plugin's first start (lazy.c): its receipt says how long. */
    int cold_start;
    struct ph_call *next, *prev;
};

/* One instance: a spawned, confined, supervised process of a plugin file.
 * A plugin is a pool of them (pool.c) headed by its first instance, which
 * also holds the plugin's policy: its name as callers know it, the hello
 * calls are checked against, pins, the circuit breaker, the count of calls
 * queued or in flight. The others are owned by the head and reached only
 * through it. */
struct ph_plug {
    struct ph_host *host;
    struct ph_plug *head;   /* the pool's head; itself for the head */
    struct ph_plug **inst;  /* head: owned array of cap_inst slots, [0] = itself */
    unsigned cap_inst;      /* head: slots allocated (<= PH_MAX_INSTANCES) */
    unsigned index;         /* in the pool: 0 for the head */
    unsigned queued;        /* head: calls waiting for an idle instance */
    uint64_t idle_since_ms; /* an instance past the first: idle since, 0: busy */
    int singleton;          /* the hello said "singleton": true */
    int failed_last;        /* its last end was abnormal: a start is a restart */
    unsigned served;        /* calls sent to this process since it was spawned */
    /* isolate "client": bound at its first call to that call's client
     * (client 0: calls made with none in use), for good. */
    int bound;
    uint64_t client;
    int pool_closed; /* head: ph_pool_free ran; no instance starts again */
    /* head: on the host's spare_due list: it lacks spares, started at the
     * end of the loop's turn, once the turn's answers are delivered. */
    int spare_listed;
    int spawning;    /* a background start of it is on the worker (spawn.c) */
    int start_ended; /* that start's finish ended it already (spawn.c) */
    struct ph_plug *spare_next;
    char *file;                  /* owned */
    int file_fd;                 /* owned; the plugin file as the last spawn opened it, or -1 */
    char *name;                  /* owned; NULL until the first handshake */
    json_t *hello;               /* owned; the handshake params */
    json_t *layers;              /* owned; from the loader's ph.sandbox message */
    struct ph_plug_settings set; /* resolved at each spawn */
    json_t *audit;               /* owned; audit mode: calls the filter would refuse */
    char sha256[65];             /* of the file as loaded at the last spawn */
    json_t *pin_changes;         /* owned; how it differs from its pin (may be NULL on OOM) */
    int pin_blocked;             /* not offered: pins are set and the surface is not proven equal */
    uint64_t cpu_mark_ns;        /* receipts: plugin CPU time at its last answer */
    /* This process's cgroup; its layer record outlives the process. */
    struct ph_cg_plug cg;
    /* The file as it was when first started, to tell a changed file on
     * reload. */
    dev_t file_dev;
    ino_t file_ino;
    off_t file_size;
    struct timespec file_mtime;
    struct timespec file_ctime; /* lazy.c: a cached hello is listed only while both hold */
    enum ph_plug_state state;
    pid_t pid;
    int pidfd, sock, notify_fd;
    struct ph_watch w_sock, w_notify, w_pidfd;
    ph_wire_rx rx;
    struct ph_out *out_head, *out_tail;
    int watching_out; /* EPOLLOUT registered: only changed when needed */
    /* Calls sent and not yet finished: while 0 the host awaits nothing
     * from this plugin, so a read may stop after one message. */
    unsigned awaited;
    /* On the host's held list: written to while corked (ph_host_cork). */
    int held;
    struct ph_plug *held_next;
    uint64_t handshake_deadline_ms;
    /* Where a start's time goes (ph_plug_spawn_stages): the host's own
     * moments, and the loader's (main, filter built, root made, confined),
     * all CLOCK_MONOTONIC, which no namespace here shifts. */
    uint64_t spawn_ns, cloned_ns, sandbox_ns, loaded_ns, ready_ns;
    uint64_t loader_ns[4];
    /* Why the host ended it, or what the sandbox saw; decides the status
     * reported when the process is reaped. */
    enum ph_end cause;
    json_t *cause_data;    /* owned */
    json_t *setup_failure; /* owned; from ph.setup_failed */
    unsigned restarts;
    unsigned ncalls;          /* calls queued or in flight; bounded by max_queue */
    unsigned recent_failures; /* abnormal ends since window_start_ms */
    uint64_t window_start_ms;
    uint64_t restart_at_ms;    /* backoff: no respawn before this */
    uint64_t circuit_until_ms; /* circuit open: calls fail until this */
    unsigned *hostfn_calls;    /* per host function, this process's count */
    int initial;               /* first start: a failure is a load error */
    int loaded;                /* ph.loaded seen: the dynamic linker's window is shut */
    /* From the loader's ph.sandbox, sent before any plugin code ran: the
     * filesystem is contained (private root or Landlock), and the file the
     * dynamic linker maps as the plugin (load_window.c). */
    int lw_contained;
    int lw_pivoted; /* of those, the private root */
    char lw_plugin_path[64];
    dev_t lw_plugin_dev;
    ino_t lw_plugin_ino;
    int stopping; /* sent ph.shutdown: exit 0 is the expected end */
    /* The handshake deadline or the restart time, whichever applies, in
     * host->plug_timers; ph_pool_timer() re-arms it after every call into
     * the instance layer that may change the plugin's state. */
    struct ph_timer timer;
    struct ph_hnode by_name; /* in host->plugs_by_name once loaded */
    int named;               /* by_name is linked */
    int files_dropped;       /* ph.drop_grant "files": host.open refused until restart */
    /* Answers to its host-function requests it has not read yet, and
     * whether the host stopped reading it for them, since when (bounds.h). */
    unsigned answers;
    size_t answer_bytes;
    int reading_paused;
    uint64_t paused_since_ms;
    /* Logs and notifications this second (count, bytes, which kinds had a
     * drop reported), and those dropped past the rate; the size of the
     * message being handled. */
    uint64_t rate_window_ms;
    unsigned rate_logs, rate_notes, rate_reported;
    size_t rate_bytes, msg_len;
    unsigned long dropped_logs, dropped_notes;
    /* Lazy activation (lazy.c): hello came from the hello cache and no
     * process has answered since; the file changed since it was hashed
     * (listings leave the hello out); the hash whose entry holds hello. */
    int hello_cached, hello_stale;
    char cache_sha256[65];
    struct ph_status_plug status; /* the operator's counters (status.c) */
    /* record.c: this process's number in the transcript (`proc`), valid
     * while rec_epoch is the host's and rec_spawn_ns this spawn's. */
    unsigned rec_proc, rec_epoch;
    uint64_t rec_spawn_ns;
    struct ph_plug *next;
};

/* What the instance layer (supervisor.c) tells the layers above it, which
 * set these when the host is made (setup.c): the instance layer never calls
 * up by name, so each layer calls only down (docs/design.md, "Layers").
 * NULL: nobody listens. */
struct ph_hooks {
    /* p's hello passed the wire's checks, before p keeps it (lazy.c
     * compares it with a cached one). hello is borrowed. */
    void (*hello)(struct ph_plug *p, json_t *hello);
    /* p finished its handshake and is ready, before the calls waiting for
     * it are sent. */
    void (*ready)(struct ph_plug *p);
};

struct ph_hostfn {
    char *name;
    ph_hostfn_fn fn;
    void *ud;
    unsigned max_calls;
};

struct ph_host {
    ph_host_options opt;
    char *loader;
    int epfd, timerfd;
    struct ph_worker *worker; /* owned (worker.h); NULL until a background start */
    struct ph_watch w_worker; /* its eventfd in the epoll set */
    unsigned start_failures;  /* bumped by ph_plug_start_failed(): the loop looks again */
    uint64_t armed_ms;        /* deadline the timerfd is set to; UINT64_MAX: none */
    int armed_for_call;       /* armed_ms is a call's deadline, not a plugin's */
    uint64_t turn_ms;         /* when ph_host_process last looked at every descriptor */
    struct ph_watch w_timer;
    struct ph_app_fd app_fds[PH_HOST_MAX_APP_FDS];
    struct ph_plug *plugs, **plugs_tail; /* appended at the tail: listings keep load order */
    unsigned cork;                       /* ph_host_cork depth: while > 0, writes wait */
    /* Plugins with writes waiting for the uncork, in the order of their
     * first held write. */
    struct ph_plug *held, **held_tail;
    /* Indexes over plugs and calls, so that nothing on a call's path
     * scans every plugin or call (docs/performance.md, "One process per plugin"). */
    struct ph_htab plugs_by_name, calls_by_id;
    struct ph_timers call_timers, plug_timers;
    json_t *load_errors;                   /* array of {file, error} */
    struct ph_call calls;                  /* sentinel of the list of live calls */
    struct ph_call *done_head, *done_tail; /* answered, callback not yet run */
    size_t pending;
    uint64_t next_call_id;
    ph_event_fn event_fn;
    void *event_ud;
    struct ph_hostfn *fns;
    size_t nfns;
    /* While a host function runs: the plugin calling it, and a descriptor
     * the function wants sent with its answer (host.open), owned, or -1. */
    struct ph_plug *hostfn_caller;
    int hostfn_fd;
    struct ph_call *running_call; /* whose callback run_done is running */
    struct ph_plug *spare_due;    /* pool heads lacking spares (spare_next) */
    uint64_t client_in_use;       /* ph_host_use_client: its id, 0: none */
    uint64_t next_client_id;
    json_t *kv;               /* per-plugin stores of the built-in host.kv_* functions */
    ph_hostcall_fn intercept; /* takes every host-function request when set */
    void *intercept_ud;
    int rec_fd;   /* transcript (record.c), or -1 */
    json_t *pins; /* owned; the operator's pins (pins.c), or NULL */
    int pins_allow_unpinned;
    uint64_t rec_seq, rec_start_ns;
    /* record.c: processes numbered in this transcript; bumped by each
     * ph_host_record, so a new transcript numbers from 1 again. */
    unsigned rec_procs, rec_epoch;
    json_t *config;    /* owned; the operator's configuration, or NULL */
    uint64_t ns_flags; /* CLONE_NEW* that work here (probed once) */
    int landlock_abi;  /* the kernel's Landlock ABI, 0: none (probed once) */
    /* Devices of the library directories: executable code may come only
     * from root's files there (load_window.c). */
    dev_t lib_dev[8];
    size_t nlib_dev;
    /* The uid and gid plugins run as, outside any user namespace: never
     * root (ph_plug_run_as). */
    uid_t run_uid;
    gid_t run_gid;
    char ns_names[64]; /* the same, as the loader's argument */

    /* The hello cache (lazy.c; owned), or NULL; lazy: plugins with an
     * entry there start on their first call. */
    struct ph_lazy_cache *cache;
    int lazy;

    /* The cgroup layer, arranged once (cgroup.c). */
    struct ph_cg_host cg;
    struct ph_status_host status; /* the operator's counters (status.c) */
    struct ph_hooks hooks;
};

/* base.c: clocks and errors; calls nothing. */
uint64_t ph_now_ms(void);
uint64_t ph_now_ns(void);
int ph_set_error(ph_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Cuts a vsnprintf result of n bytes at the last whole UTF-8 character
 * that fits in cap, so a message never ends in half a character. */
void ph_cut_whole(char *buf, size_t cap, int n);

/* events.c: hands an event to the application's handler. */
void ph_host_event(struct ph_host *h, json_t *event /* stolen */);

/* modes.c: whether the operator accepted this weaker mode (PH_WEAKER_*):
 * never under `plughost profile`, which lets calls past the filter and so
 * needs every layer it leans on. */
int ph_weaker_accepted(const struct ph_host *h, unsigned mode);

/* wake.c: sets the loop's timerfd to the nearest deadline, or to now while
 * answers, held writes or spares wait. */
void ph_arm_timer(struct ph_host *h);

/* host.c: the calls' API and the loop. */
/* Writes what ph_host_cork held back, plugin by plugin. */
void ph_host_release(struct ph_host *h);
/* Starts a plugin again after it ended; a failure to even spawn fails the
 * calls waiting for it. */
void ph_host_restart(struct ph_host *h, struct ph_plug *p);
/* The loaded plugin (a pool's head) of this name (borrowed), or NULL. */
struct ph_plug *ph_host_find_plug(struct ph_host *h, const char *name);
/* ph_host_call_async() with a blob for the request: in_fd (a sealed memfd;
 * -1: none) goes with its first record. The call owns in_fd once this
 * returns PH_OK; on an error the caller still does. */
int ph_call_start(struct ph_host *h, const char *plugin, const char *method, json_t *params,
                  int in_fd, ph_call_fn cb, void *ud, uint64_t *call_id, ph_error *err);

/* setup.c: ph_host_new() without what sits above it: self_test (may be
 * NULL) runs where the operator's requirements are checked, and a failure
 * of it fails the host (selftest.c passes the doctor's; the doctor's own
 * probe host passes none). */
typedef int (*ph_check_fn)(struct ph_host *h, ph_error *err);
int ph_host_make(const ph_host_options *opts, ph_host **out, ph_check_fn self_test, ph_error *err);

/* calls.c: the call table (calls, deadlines, answers); calls nothing
 * above it. */
/* Moves a call to the answers waiting for delivery (its callback runs from
 * ph_host_process()); a cancelled call's late answer is dropped. Takes
 * result and error. */
void ph_call_finish(struct ph_host *h, struct ph_call *c, json_t *result, json_t *error);
/* ph_call_finish() of a raw call with its result's checked text (taken). */
void ph_call_finish_text(struct ph_host *h, struct ph_call *c, char *text, size_t len);
/* The live call with this id (borrowed), or NULL. */
struct ph_call *ph_call_find(struct ph_host *h, uint64_t id);
/* The JSON-RPC error answering a call of plugin p (may be NULL): data
 * gets detail's members and the plugin, method and status. New reference. */
json_t *ph_call_error(struct ph_plug *p, const char *method, int code, enum ph_end status,
                      json_t *detail /* stolen */, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Takes a live call out of the list, the index and the deadlines. */
void ph_calls_unlink(struct ph_host *h, struct ph_call *c);
void ph_calls_set_deadline(struct ph_host *h, struct ph_call *c, uint64_t at);
/* Frees a call that is in no list (its pool's count goes down). */
void ph_calls_free(struct ph_call *c);
/* Appends an answered call to the delivery list. */
void ph_calls_done(struct ph_host *h, struct ph_call *c);
/* Runs the callbacks of every answered call, in the order answered, and
 * frees them; returns how many. */
int ph_calls_run_done(struct ph_host *h);
/* pool.c: the instances of one plugin (docs/design.md, "Instances"). */
/* The most instances the plugin may run now: its settings, capped at 1 for
 * a singleton. */
unsigned ph_pool_size(const struct ph_plug *head);
/* Whether the plugin's calls go through its pool (more than one instance,
 * isolation or spares) rather than straight to its one process. */
int ph_pool_active(const struct ph_plug *head);
/* Queues call c (c->plug NULL) on its pool, then dispatches. -1: out of
 * memory, nothing done. */
int ph_pool_enqueue(struct ph_plug *head, struct ph_call *c);
/* Sends queued calls to idle instances, starts instances while calls wait
 * and the pool has room. Called after anything that may free an instance. */
void ph_pool_dispatch(struct ph_plug *head);
/* Ends the instances bound to a client that is going, and answers its
 * queued calls with an error. */
void ph_pool_client_gone(struct ph_plug *head, uint64_t client);
/* Starts the spares the pool lacks (ph_host_process, from spare_due). */
void ph_pool_top_up(struct ph_plug *head);
/* When an idle instance past the first is due to stop (UINT64_MAX: never),
 * and stopping it then. */
uint64_t ph_pool_idle_deadline(const struct ph_plug *p);
void ph_pool_stop_idle(struct ph_plug *p);
/* Whether the instance has nothing sent to it and is ready for a call. */
int ph_pool_idle(const struct ph_plug *p);
/* Each instance of the pool, as `list --json` shows it (new reference). */
json_t *ph_pool_describe(const struct ph_plug *head);
/* Ends every instance past the first and frees them (the head is the
 * caller's). */
void ph_pool_free(struct ph_plug *head);
/* When the instance needs the loop's attention (handshake, restart, stall,
 * idle stop; UINT64_MAX: never), and setting its timer to that after
 * anything that may have changed one. */
uint64_t ph_pool_deadline(const struct ph_plug *p);
void ph_pool_timer(struct ph_host *h, struct ph_plug *p);

/* spawn.c */
void ph_ns_probe(struct ph_host *h);
/* The start of a ready plugin, stage by stage in microseconds, or NULL if
 * the moments are not all known or out of order. New reference. */
json_t *ph_plug_spawn_stages(const struct ph_plug *p);
int ph_plug_spawn(struct ph_plug *p, ph_error *err);
/* Like ph_plug_spawn(), with the slow part (the cgroup's creation, the
 * clone) on the host's worker thread: p is LOADING when it returns and
 * gets its process when the worker is collected (ph_worker_collect). A
 * failure after the return ends p as ph_plug_start_failed() says. */
int ph_plug_spawn_background(struct ph_plug *p, ph_error *err);

/* channel.c: the host's side of an instance's socket and process handle. */
/* Adds fd to the host's epoll set, pointing at w (kind, p). */
int ph_plug_watch(struct ph_plug *p, int fd, struct ph_watch *w, enum ph_watch_kind kind);
void ph_plug_kill(struct ph_plug *p, enum ph_end cause, json_t *data /* stolen */);
/* Puts a plugin with writes waiting on the host's held list (corked). */
void ph_plug_hold(struct ph_plug *p);
int ph_plug_send(struct ph_plug *p, json_t *msg /* borrowed */);
/* Like ph_plug_send(), with fd (stolen, closed once sent or on failure)
 * on the message's first record. */
int ph_plug_send_fd(struct ph_plug *p, json_t *msg /* borrowed */, int fd);
/* ph_plug_send_fd() of an answer to the plugin's own request: counted
 * against its bounds (bounds.h), which may stop reading it. */
int ph_plug_send_answer(struct ph_plug *p, json_t *msg /* borrowed */, int fd);
/* When the plugin's unread answers end it if it still has not read them
 * (UINT64_MAX: not paused), and ending it then. */
uint64_t ph_plug_stall_deadline(const struct ph_plug *p);
void ph_plug_on_stall(struct ph_plug *p);
void ph_plug_flush(struct ph_plug *p);
void ph_plug_send_call(struct ph_plug *p, struct ph_call *c);
/* The "trace" event of bytes crossing the channel (dir "to" or "from"),
 * when tracing is on. */
void ph_plug_trace(struct ph_plug *p, const char *dir, const char *bytes, size_t n);
/* The "receipt" event of call c answered by p, when receipts are on. */
void ph_plug_receipt(struct ph_plug *p, struct ph_call *c);

/* supervisor.c: the message side of an instance. */
void ph_plug_on_sock(struct ph_plug *p, uint32_t events);
/* Reads every record the plugin has sent so far, even if it is ending. */
void ph_plug_drain(struct ph_plug *p);
int ph_plug_has_method(const struct ph_plug *p, const char *method);
/* Checks a hello (the handshake's params, borrowed) for p: the one check
 * both the wire and the hello cache (lazy.c) use. 0, or -1 with why. */
int ph_plug_valid_hello(struct ph_plug *p, json_t *params, char *why, size_t whylen);
/* The params schema a method declared in its handshake (borrowed), or NULL. */
json_t *ph_plug_schema(const struct ph_plug *p, const char *method);

/* ending.c: an instance's end. */
void ph_plug_on_exit(struct ph_plug *p);
/* A start that failed after p became LOADING (on the worker): p ends as a
 * process that failed its set-up would, down and counted against the
 * plugin, with why as the reason. */
void ph_plug_start_failed(struct ph_plug *p, const char *why);
void ph_plug_free(struct ph_plug *p);
const char *ph_signal_name(int sig);

/* violation.c */
void ph_plug_on_notify(struct ph_plug *p);

/* record.c: a message crossing the channel (msg borrowed; or raw bytes that
 * did not parse), and a plugin that finished its handshake. */
void ph_record_msg(struct ph_plug *p, int to_plugin, json_t *msg, const char *raw, size_t len);
void ph_record_started(struct ph_plug *p);

/* pins.c: compares a plugin that finished its handshake with its pin and
 * sets p->pin_blocked (and p->pin_changes, saying why); the error answering
 * calls while it is blocked (new reference). */
void ph_pins_check(struct ph_plug *p);
json_t *ph_pins_error(struct ph_plug *p, const char *method);

/* hostfn.c */
int ph_hostfn_builtin(struct ph_host *h, ph_error *err);
void ph_hostfn_dispatch(struct ph_plug *p, ph_wire_msg *m);

#endif
