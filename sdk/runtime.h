/*
 * runtime: the plugin side of the protocol, run by the trusted loader after
 * the plugin is loaded inside the sandbox. It owns the channel and the message
 * loop so that a plugin is only a table of methods (see docs/design.md).
 *
 * It must never make a syscall the sandbox's post-load policy refuses: only
 * sendmsg/recvmsg/poll on the channel, memory and time, and close and
 * fcntl(F_DUPFD_CLOEXEC) on a descriptor the host sent.
 */
#ifndef PH_RUNTIME_H
#define PH_RUNTIME_H

#include "plughost/sdk.h"

struct ph_rt;

struct ph_ctx {
    const ph_plugin *plugin;
    const char *method; /* borrowed from the request */
    json_t *req_id;     /* borrowed; NULL for init and tests */
    json_t *error;      /* owned; set by ph_error() */
    int cancelled;
    struct ph_rt *rt; /* NULL in ph_test_call() */
    /* Blobs (docs/protocol.md): the request's descriptor (owned, -1: none),
     * its read-only mapping once ph_param_blob() made it, and the memfd
     * for the answer (owned, -1: none): sealed by ph_result_blob(), or
     * mapped writable at blob_out_map by ph_result_blob_buffer() until
     * ph_ctx_release_blobs() unmaps and seals it. */
    int blob_in;
    void *blob_in_map;
    size_t blob_in_len;
    int blob_out;
    void *blob_out_map;
    size_t blob_out_len;
    char blob_out_error[160]; /* why the answer's blob could not be sealed */
};

/* Unmaps and closes the request's blob, and unmaps and seals an answer's
 * blob written in place; the answer's blob stays for sending. Returns 0,
 * or -1 when that blob could not be sealed: it is then closed and
 * blob_out_error says why (the call must fail rather than send it). */
int ph_ctx_release_blobs(ph_ctx *ctx);

/* Sends the handshake, then serves requests on fd until the host asks to
 * stop or closes the channel. Returns 0 on an orderly stop, or -1 with err
 * filled. */
int ph_rt_run(int fd, const ph_plugin *plugin, char *err, size_t errlen);

/* Runs the runtime's own path for a request (parse, check, method lookup,
 * both kinds of answer encoded) on a constant message that names no method
 * of plugin and sends nothing: so a fresh process's first call, a spare's
 * under isolate "call", finds that code bound and its caches warm. No
 * method of the plugin runs and nothing from the host is read. Returns 0,
 * or -1 with err filled. */
int ph_rt_warm_up(const ph_plugin *plugin, char *err, size_t errlen);

/* Sends a "ph.setup_failed" notification so a loading failure reaches the
 * host as data rather than silence. Best effort. */
void ph_rt_report_setup_failure(int fd, const char *stage, const char *message);

/* Tells the host the plugin file is mapped and waits for its go-ahead, so
 * the dynamic linker's window is shut before any plugin code but
 * constructors runs. Returns 0 or -1 with err filled. */
int ph_rt_loaded(int fd, char *err, size_t errlen);

/* Checks a plugin table before it is served; returns 0 or -1 with err. */
int ph_rt_check_plugin(const ph_plugin *plugin, char *err, size_t errlen);

/* Transport hooks used by the public SDK functions when rt is not NULL. */
void ph_rt_log(struct ph_rt *rt, int level, const char *text);
int ph_rt_notify(struct ph_rt *rt, const char *method, json_t *params);
int ph_rt_call_host(struct ph_rt *rt, const char *method, json_t *params, json_t **result,
                    json_t **error);
/* Like ph_rt_call_host(); *fd_out gets the descriptor of a successful
 * answer (owned by the caller, numbered 3 or above) or -1. */
int ph_rt_call_host_fd(struct ph_rt *rt, const char *method, json_t *params, json_t **result,
                       json_t **error, int *fd_out);
int ph_rt_poll_cancel(struct ph_rt *rt, ph_ctx *ctx);

#endif
