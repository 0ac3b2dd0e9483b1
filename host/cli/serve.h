/*
 * serve session: a JSON-RPC 2.0 server for one client, fed with the
 * client's bytes and writing its answers through a callback, so that it can
 * sit on stdin/stdout (`plughost serve`), a socket, or a fuzzer.
 *
 * Methods are PLUGIN.METHOD and go to a ph_host through its asynchronous
 * API; requests, notifications and batches as the specification defines
 * them; $/cancelRequest and $/progress as in the Language Server Protocol;
 * a plugin's own notifications reach the client as PLUGIN.NAME.
 *
 * The session never reads or blocks by itself and never drops or reorders
 * an answer: when PH_SERVE_MAX_INFLIGHT calls are in flight it stops taking
 * messages from what it was fed, and the caller should stop reading until
 * ph_serve_wants_input() says so again.
 */
#ifndef PH_CLI_SERVE_H
#define PH_CLI_SERVE_H

#include "framing.h"
#include "plughost/host.h"

#include <stddef.h>

/* Default cap on client calls in flight (requests and notifications that
 * reached a plugin and are not answered yet). */
#define PH_SERVE_MAX_INFLIGHT 1024

/* Writes one whole framed message. Returns 0, or -1 if the client is gone
 * (the session then stops writing but keeps serving its calls to the end). */
typedef int (*ph_serve_write_fn)(void *ud, const char *bytes, size_t n);

/* Called with a line for the operator (framing errors, shutdown). */
typedef void (*ph_serve_log_fn)(void *ud, const char *line);

struct ph_serve_opts {
    enum ph_framing framing;
    size_t max_message;  /* largest client message in bytes; 0: PH_WIRE_DEFAULT_MAX */
    size_t max_inflight; /* 0: PH_SERVE_MAX_INFLIGHT */
    /* 0: a batch is admitted whole, even past the cap. Else a batch longer
     * than this is refused with one -32600, and a shorter one waits until
     * it fits under max_inflight with the calls already in flight. */
    size_t max_batch;
    /* Host events the session does not turn into client messages (logs,
     * traces, endings) go here; NULL drops them. */
    ph_event_fn on_event;
    void *event_ud;
    ph_serve_log_fn log; /* NULL: silent */
    void *log_ud;
    /* Several sessions share the host (`serve --listen`): the session does
     * not install itself as the host's event handler; the caller offers it
     * each event with ph_serve_event(), and plugin notifications reach it
     * only when they carry the call_id of one of its own calls. */
    int routed_events;
    /* Methods named "plughost/..." (the host's own, which no plugin can
     * take: a plugin name has no '/'): answered by this function with
     * host_method_ud, which returns 0 with *result, or -1 with *error (both
     * new references). NULL: such methods are not found. */
    int (*host_method)(void *ud, const char *method, json_t *params, json_t **result,
                       json_t **error);
    void *host_method_ud;
};

typedef struct ph_serve ph_serve;

/* Creates a session on host and, unless opts->routed_events, installs
 * itself as the host's event handler. opts may be NULL. Returns NULL when out of memory. */
ph_serve *ph_serve_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out,
                       void *ud);

/* Takes n bytes from the client and handles every complete message in them
 * while under the in-flight cap; the rest stays buffered for
 * ph_serve_flush(). Returns 0, or -1 when out of memory (the bytes are
 * refused and the client is told once with -32603). */
int ph_serve_feed(ph_serve *s, const char *bytes, size_t n);

/* With routed_events: offers the session a host event (borrowed). Returns 1
 * when it was this session's and went to its client (progress or a
 * notification of one of its calls), 0 otherwise. */
int ph_serve_event(ph_serve *s, json_t *ev);

/* Handles buffered messages the cap held back; call after ph_host_process()
 * has delivered answers. */
void ph_serve_flush(ph_serve *s);

/* The client's input has ended: a last unterminated message is handled. */
void ph_serve_eof(ph_serve *s);

/* Graceful stop: no more input is taken; complete messages already
 * buffered are answered with -32603 "server shutting down" (an incomplete
 * one is dropped); calls in flight keep running to their answer. */
void ph_serve_stop(ph_serve *s);

/* Cancels every call in flight: each is answered -32800 now. */
void ph_serve_cancel_all(ph_serve *s);

/* 1 when the caller may read and feed more input: under the in-flight cap,
 * with nothing buffered that the cap holds back, and not stopped. */
int ph_serve_wants_input(const ph_serve *s);

/* Client calls in flight. */
size_t ph_serve_inflight(const ph_serve *s);

/* 1 once input has ended (eof or stop), everything buffered is handled and
 * no client call is in flight. */
int ph_serve_done(const ph_serve *s);

/* Frees the session. Free the host first (or wait for ph_serve_done): the
 * host answers outstanding calls into the session while it shuts down. */
void ph_serve_free(ph_serve *s);

#endif
