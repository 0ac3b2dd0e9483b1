/*
 * session: see session.h.
 */
#include "session.h"
#include "text.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ph_sess_init(struct ph_sess *s, ph_host *host, const struct ph_serve_opts *opts,
                  ph_serve_write_fn out, void *ud, enum ph_framing framing,
                  ph_sess_handle_fn handle_one)
{
    if (opts)
        s->opt = *opts;
    if (!s->opt.max_message)
        s->opt.max_message = PH_WIRE_DEFAULT_MAX;
    if (!s->opt.max_inflight)
        s->opt.max_inflight = PH_SERVE_MAX_INFLIGHT;
    s->host = host;
    s->out = out;
    s->out_ud = ud;
    s->handle_one = handle_one;
    s->handle_raw = NULL; /* a dialect with a fast path sets it */
    ph_frame_rx_init(&s->rx, framing, s->opt.max_message);
}

void ph_sess_say(struct ph_sess *s, const char *fmt, ...)
{
    if (!s->opt.log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->opt.log(s->opt.log_ud, line);
}

void ph_sess_emit(struct ph_sess *s, json_t *msg)
{
    if (s->out_dead)
        return;
    /* Printable ASCII only (text.h): jansson escapes every control
     * character inside strings, so in line framing the one newline appended
     * here is the only one in the frame, and neither DEL, C1 controls nor
     * bidi code points a plugin put in a string reach a terminal that shows
     * this stream. */
    char *body = ph_text_json(msg, JSON_COMPACT);
    if (!body)
        return;
    ph_sess_emit_text(s, body, strlen(body));
    free(body);
}

void ph_sess_emit_text(struct ph_sess *s, const char *body, size_t n)
{
    if (s->out_dead)
        return;
    char head[64];
    int hn = 0;
    if (ph_frame_rx_mode(&s->rx) == PH_FRAMING_LSP)
        hn = snprintf(head, sizeof head, "Content-Length: %zu\r\n\r\n", n);
    /* One buffer, one write: a message is never interleaved with another. */
    char *frame = malloc((size_t)hn + n + 1);
    if (frame) {
        memcpy(frame, head, (size_t)hn);
        memcpy(frame + hn, body, n);
        if (hn == 0)
            frame[n++] = '\n';
        if (s->out(s->out_ud, frame, (size_t)hn + n) < 0) {
            s->out_dead = 1;
            ph_sess_say(s, "client output closed; answers are dropped from now on");
        }
        free(frame);
    }
}

void ph_sess_batch_done_one(struct ph_sess *s, struct ph_sess_batch *b)
{
    b->outstanding--;
    if (b->closed && b->outstanding == 0) {
        if (json_array_size(b->responses) > 0)
            ph_sess_emit(s, b->responses);
        json_decref(b->responses);
        free(b);
    }
}

void ph_sess_batch_release(struct ph_sess_batch *b)
{
    if (b && --b->outstanding == 0) {
        json_decref(b->responses);
        free(b);
    }
}

void ph_sess_respond(struct ph_sess *s, struct ph_sess_batch *b, json_t *msg)
{
    if (!msg)
        return;
    if (b)
        json_array_append(b->responses, msg);
    else
        ph_sess_emit(s, msg);
    json_decref(msg);
}

json_t *ph_sess_error(const struct ph_sess *s, json_t *id, int code, const char *message,
                      const char *detail)
{
    json_t *data = detail ? json_pack("{s:s}", "detail", detail) : NULL;
    json_t *r = ph_wire_error_response(id, ph_wire_error_obj(code, message, data));
    /* JSON-RPC says "id": null when the id could not be read; MCP's schema
     * allows no null id and leaves it out instead, and its SDK refuses the
     * null. */
    if (r && !id && s->omit_null_id)
        json_object_del(r, "id");
    return r;
}

/* With nothing in flight a batch always fits, so a held one cannot wait
 * for ever whatever max_batch is. */
static int batch_fits(const struct ph_sess *s, const json_t *v)
{
    return s->stopping || s->inflight == 0 ||
           s->inflight + json_array_size(v) <= s->opt.max_inflight;
}

static void handle_value(struct ph_sess *s, json_t *v)
{
    if (!json_is_array(v)) {
        s->handle_one(s, v, NULL);
    } else if (json_array_size(v) == 0) {
        ph_sess_respond(s, NULL,
                        ph_sess_error(s, NULL, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
    } else if (s->opt.max_batch && json_array_size(v) > s->opt.max_batch) {
        char d[160];
        snprintf(d, sizeof d,
                 "a batch of %zu is longer than this server takes (%zu, the client's in-flight "
                 "cap)",
                 json_array_size(v), s->opt.max_batch);
        ph_sess_respond(s, NULL,
                        ph_sess_error(s, NULL, PH_RPC_INVALID_REQUEST, "Invalid Request", d));
    } else if (s->opt.max_batch && !batch_fits(s, v)) {
        /* Held, not refused: it runs whole once earlier calls make room. */
        s->held = json_incref(v);
    } else {
        struct ph_sess_batch *b = calloc(1, sizeof *b);
        if (b)
            b->responses = json_array();
        if (!b || !b->responses) {
            free(b);
            ph_sess_respond(
                s, NULL,
                ph_sess_error(s, NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        } else {
            size_t i;
            json_t *el;
            /* Without opt.max_batch a batch is admitted whole even past
             * the cap: it is already in memory, and splitting it would
             * delay its single answer. */
            b->outstanding = 1; /* held while the elements are read */
            /* Each plugin gets its share of the batch in one go. */
            ph_host_cork(s->host);
            json_array_foreach(v, i, el) s->handle_one(s, el, b);
            ph_host_uncork(s->host);
            b->closed = 1;
            ph_sess_batch_done_one(s, b);
        }
    }
}

static void handle_message(struct ph_sess *s, const char *text, size_t len)
{
    if (s->handle_raw && s->handle_raw(s, text, len))
        return;
    char why[300];
    json_t *v = ph_wire_parse(text, len, why, sizeof why);
    if (!v) {
        ph_sess_respond(s, NULL, ph_sess_error(s, NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        return;
    }
    handle_value(s, v);
    json_decref(v);
}

static int blocked(const struct ph_sess *s)
{
    if (s->stopping)
        return 0;
    return s->inflight >= s->opt.max_inflight || (s->held && !batch_fits(s, s->held));
}

/* Handles buffered messages until none is complete or the cap is reached. */
void ph_sess_pump(struct ph_sess *s)
{
    while (!blocked(s)) {
        if (s->held) {
            json_t *v = s->held;
            s->held = NULL;
            handle_value(s, v);
            json_decref(v);
            continue;
        }
        const char *body;
        size_t len;
        char why[300];
        enum ph_frame_result r = ph_frame_rx_next(&s->rx, &body, &len, why, sizeof why);
        if (r == PH_FRAME_NONE)
            return;
        if (r == PH_FRAME_MSG) {
            handle_message(s, body, len);
        } else {
            ph_sess_say(s, "framing error: %s", why);
            ph_sess_respond(s, NULL,
                            ph_sess_error(s, NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        }
    }
}

int ph_sess_feed(struct ph_sess *s, const char *bytes, size_t n)
{
    if (s->input_done)
        return 0;
    if (ph_frame_rx_append(&s->rx, bytes, n) < 0) {
        ph_sess_say(s, "out of memory for client input");
        ph_sess_respond(
            s, NULL,
            ph_sess_error(s, NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return -1;
    }
    ph_sess_pump(s);
    return 0;
}

void ph_sess_eof(struct ph_sess *s)
{
    if (s->input_done)
        return;
    s->input_done = 1;
    ph_frame_rx_eof(&s->rx);
    ph_sess_pump(s);
}

void ph_sess_stop(struct ph_sess *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->input_done = 1;
    /* Complete messages already read are answered; only a partial one is
     * lost, which no client could have expected an answer to yet. */
    ph_sess_pump(s);
    if (ph_frame_rx_buffered(&s->rx))
        ph_sess_say(s, "stopping: an incomplete message from the client is dropped");
    enum ph_framing mode = s->rx.mode;
    ph_frame_rx_free(&s->rx);
    ph_frame_rx_init(&s->rx, mode, s->opt.max_message);
}

int ph_sess_wants_input(const struct ph_sess *s)
{
    return !s->input_done && !blocked(s);
}

int ph_sess_done(const struct ph_sess *s)
{
    return s->input_done && s->inflight == 0 && !s->held && !ph_frame_rx_buffered(&s->rx);
}

void ph_sess_abort(struct ph_sess *s)
{
    s->stopping = 1;
    s->input_done = 1;
    /* Pumping would parse and answer every buffered request of a client
     * nobody will read; a held batch would even be started. */
    if (s->held || ph_frame_rx_buffered(&s->rx))
        ph_sess_say(s, "its unread input is discarded");
    json_decref(s->held);
    s->held = NULL;
    enum ph_framing mode = s->rx.mode;
    ph_frame_rx_free(&s->rx);
    ph_frame_rx_init(&s->rx, mode, s->opt.max_message);
}

void ph_sess_free(struct ph_sess *s)
{
    json_decref(s->held);
    s->held = NULL;
    ph_frame_rx_free(&s->rx);
}

int ph_sess_buffered(const struct ph_sess *s)
{
    return s->held || ph_frame_rx_buffered(&s->rx);
}
