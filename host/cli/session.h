/*
 * session: the JSON-RPC plumbing that `serve` and `serve --mcp` share. It
 * takes the client's bytes, frames them (framing.c), splits batches,
 * answers malformed input, holds input back at the in-flight cap, and
 * writes answers (single or batched) through the caller's callback. What a
 * request means is the dialect's business: serve.c maps PLUGIN.METHOD to
 * plugin calls, mcp.c maps MCP's methods to tools.
 *
 * It must never read or block by itself, answer a request twice, or grow
 * past the in-flight cap plus one message (and, with opt.max_batch, never
 * past the cap at all).
 */
#ifndef PH_CLI_SESSION_H
#define PH_CLI_SESSION_H

#include "serve.h"

/* Answers to one batch, sent together once every element is answered. */
struct ph_sess_batch {
    json_t *responses; /* array, owned */
    size_t outstanding;
    int closed; /* all elements read */
};

struct ph_sess;

/* The dialect: handles one request object (alone, or an element of b). */
typedef void (*ph_sess_handle_fn)(struct ph_sess *s, json_t *req, struct ph_sess_batch *b);

/* A dialect's fast path: handles one whole message from its bytes
 * (borrowed) and returns 1, or returns 0 having done nothing, and the
 * message is parsed and given to ph_sess_handle_fn as usual. */
typedef int (*ph_sess_raw_fn)(struct ph_sess *s, const char *text, size_t len);

/* Embedded as the first member of a dialect's session, which the handler
 * gets back by a cast. The dialect counts inflight up and down. */
struct ph_sess {
    ph_host *host;
    struct ph_serve_opts opt;
    ph_serve_write_fn out;
    void *out_ud;
    int out_dead;
    ph_frame_rx rx;
    json_t *held; /* a batch read and waiting for room (opt.max_batch), owned */
    size_t inflight;
    int input_done; /* eof or stop: nothing more will be fed */
    int stopping;
    int omit_null_id; /* MCP: an unreadable id is left out, not null */
    ph_sess_handle_fn handle_one;
    ph_sess_raw_fn handle_raw; /* NULL: every message is parsed */
};

/* Fills s; opts may be NULL. */
void ph_sess_init(struct ph_sess *s, ph_host *host, const struct ph_serve_opts *opts,
                  ph_serve_write_fn out, void *ud, enum ph_framing framing,
                  ph_sess_handle_fn handle_one);

void ph_sess_say(struct ph_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes one message (borrowed), framed as the client's input is. */
void ph_sess_emit(struct ph_sess *s, json_t *msg);
/* The same for a message already encoded (borrowed): n bytes of compact
 * JSON, no raw newline in them. */
void ph_sess_emit_text(struct ph_sess *s, const char *body, size_t n);
/* Sends a response, or adds it to b; takes msg (NULL: nothing to send). */
void ph_sess_respond(struct ph_sess *s, struct ph_sess_batch *b, json_t *msg);
/* One element of b is answered; the batch goes out with its last answer. */
void ph_sess_batch_done_one(struct ph_sess *s, struct ph_sess_batch *b);
/* Drops one element's claim on b without answering (session teardown). */
void ph_sess_batch_release(struct ph_sess_batch *b);
/* A JSON-RPC error response (new reference); detail (may be NULL) goes to
 * data.detail. */
json_t *ph_sess_error(const struct ph_sess *s, json_t *id, int code, const char *message,
                      const char *detail);

/* The serve.h session calls, shared by both dialects. */
int ph_sess_feed(struct ph_sess *s, const char *bytes, size_t n);
void ph_sess_pump(struct ph_sess *s);
void ph_sess_eof(struct ph_sess *s);
void ph_sess_stop(struct ph_sess *s);
/* The client is being dropped: input read and not handled yet is discarded
 * unanswered, nothing more is taken; calls in flight are the caller's to
 * cancel. Unlike ph_sess_stop, nothing buffered is parsed or started. */
void ph_sess_abort(struct ph_sess *s);
/* Frees what the session holds (not s itself, which is embedded). */
void ph_sess_free(struct ph_sess *s);
int ph_sess_wants_input(const struct ph_sess *s);
int ph_sess_done(const struct ph_sess *s);
/* 1 while client input is read and not handled yet (a partial message,
 * or whole ones the cap holds back). */
int ph_sess_buffered(const struct ph_sess *s);

#endif
