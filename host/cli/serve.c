/*
 * serve session: JSON-RPC 2.0 for one client on top of the host's
 * asynchronous API (see serve.h). Framing is framing.c's; the stdin/stdout
 * loop around it is serve_stdio.c's.
 *
 * Every byte from the client is hostile: a bad message gets an error answer
 * and disturbs nothing else. The session must never block, never read by
 * itself, never answer a request twice or not at all, and never let a client
 * grow its memory past the in-flight cap plus one message.
 */
#include "serve.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch {
    json_t *responses; /* array, owned */
    size_t outstanding;
    int closed; /* all elements read */
};

/* A client call waiting for the host; the host hands it back as ud. */
struct pending {
    struct ph_serve *s;
    uint64_t call_id;
    json_t *id; /* owned; NULL for notifications */
    struct batch *batch;
    struct pending *prev, *next;
};

struct ph_serve {
    ph_host *host;
    struct ph_serve_opts opt;
    ph_serve_write_fn out;
    void *out_ud;
    int out_dead;
    ph_frame_rx rx;
    struct pending *pending;
    size_t inflight;
    int input_done; /* eof or stop: nothing more will be fed */
    int stopping;
};

__attribute__((format(printf, 2, 3))) static void say(struct ph_serve *s, const char *fmt, ...)
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

static void emit(struct ph_serve *s, json_t *msg)
{
    if (s->out_dead)
        return;
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body)
        return;
    size_t n = strlen(body);
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
            say(s, "client output closed; answers are dropped from now on");
        }
        free(frame);
    }
    free(body);
}

static void batch_done_one(struct ph_serve *s, struct batch *b)
{
    b->outstanding--;
    if (b->closed && b->outstanding == 0) {
        if (json_array_size(b->responses) > 0)
            emit(s, b->responses);
        json_decref(b->responses);
        free(b);
    }
}

/* Sends (or adds to its batch) a response; takes msg. */
static void respond(struct ph_serve *s, struct batch *b, json_t *msg)
{
    if (!msg)
        return;
    if (b)
        json_array_append(b->responses, msg);
    else
        emit(s, msg);
    json_decref(msg);
}

static json_t *err_response(json_t *id, int code, const char *message, const char *detail)
{
    json_t *data = detail ? json_pack("{s:s}", "detail", detail) : NULL;
    return ph_wire_error_response(id, ph_wire_error_obj(code, message, data));
}

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    struct pending *p = ud;
    struct ph_serve *s = p->s;
    (void)call_id;
    if (p->prev)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    s->inflight--;
    if (p->id) {
        json_t *msg = result ? ph_wire_response(p->id, json_incref(result))
                             : ph_wire_error_response(p->id, json_incref(error));
        respond(s, p->batch, msg);
    }
    if (p->batch)
        batch_done_one(s, p->batch);
    json_decref(p->id);
    free(p);
}

static void on_event(void *ud, json_t *ev)
{
    struct ph_serve *s = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "notification") == 0) {
        const char *plugin = json_string_value(json_object_get(ev, "plugin"));
        const char *method = json_string_value(json_object_get(ev, "method"));
        char name[600];
        snprintf(name, sizeof name, "%s.%s", plugin ? plugin : "?", method ? method : "?");
        json_t *n = ph_wire_request(NULL, name, json_object_get(ev, "params"));
        emit(s, n);
        json_decref(n);
        return;
    }
    if (type && strcmp(type, "progress") == 0) {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(ev, "call_id"));
        for (struct pending *p = s->pending; p; p = p->next) {
            if (p->call_id != id || !p->id)
                continue;
            json_t *params =
                json_pack("{s:O,s:O?}", "token", p->id, "value", json_object_get(ev, "value"));
            json_t *n = ph_wire_request(NULL, "$/progress", params);
            emit(s, n);
            json_decref(n);
            json_decref(params);
        }
        return;
    }
    if (s->opt.on_event)
        s->opt.on_event(s->opt.event_ud, ev);
}

static void cancel(struct ph_serve *s, json_t *params)
{
    json_t *id = json_object_get(params, "id");
    for (struct pending *p = s->pending; p; p = p->next)
        if (p->id && json_equal(p->id, id)) {
            ph_host_cancel(s->host, p->call_id);
            return;
        }
}

/* Handles one request object (alone or from a batch). */
static void handle_one(struct ph_serve *s, json_t *req, struct batch *b)
{
    ph_wire_msg m;
    char why[200];
    json_t *id = json_object_get(req, "id");
    if (ph_wire_classify(req, &m, why, sizeof why) < 0 ||
        (m.kind != PH_MSG_REQUEST && m.kind != PH_MSG_NOTIFICATION)) {
        /* The id is echoed only when it is itself valid. */
        json_t *rid = (json_is_string(id) || json_is_integer(id)) ? id : NULL;
        respond(s, b, err_response(rid, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
        return;
    }
    int is_req = m.kind == PH_MSG_REQUEST;
    if (strcmp(m.method, "$/cancelRequest") == 0) {
        cancel(s, m.params);
        return;
    }
    if (s->stopping) {
        if (is_req)
            respond(s, b, err_response(m.id, PH_RPC_INTERNAL_ERROR, "Server shutting down", NULL));
        return;
    }
    const char *dot = strchr(m.method, '.');
    char plugin[256];
    size_t plen = dot ? (size_t)(dot - m.method) : 0;
    if (!dot || plen == 0 || plen >= sizeof plugin || strncmp(m.method, "rpc.", 4) == 0) {
        if (is_req)
            respond(s, b, err_response(m.id, PH_RPC_METHOD_NOT_FOUND, "Method not found", NULL));
        return;
    }
    memcpy(plugin, m.method, plen);
    plugin[plen] = '\0';
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        if (is_req)
            respond(s, b,
                    err_response(m.id, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return;
    }
    ph_error err;
    if (ph_host_call_async(s->host, plugin, dot + 1, m.params, on_answer, p, &p->call_id, &err) <
        0) {
        free(p);
        if (is_req) {
            int nf = err.status == PH_E_NOTFOUND;
            respond(s, b,
                    err_response(m.id, nf ? PH_RPC_METHOD_NOT_FOUND : PH_RPC_INTERNAL_ERROR,
                                 nf ? "Method not found" : "Internal error", err.text));
        }
        return;
    }
    p->s = s;
    p->id = is_req ? json_incref(m.id) : NULL;
    p->batch = b;
    if (b)
        b->outstanding++;
    p->next = s->pending;
    if (s->pending)
        s->pending->prev = p;
    s->pending = p;
    s->inflight++;
}

static void handle_message(struct ph_serve *s, const char *text, size_t len)
{
    char why[300];
    json_t *v = ph_wire_parse(text, len, why, sizeof why);
    if (!v) {
        respond(s, NULL, err_response(NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        return;
    }
    if (!json_is_array(v)) {
        handle_one(s, v, NULL);
    } else if (json_array_size(v) == 0) {
        respond(s, NULL, err_response(NULL, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
    } else {
        struct batch *b = calloc(1, sizeof *b);
        if (b)
            b->responses = json_array();
        if (!b || !b->responses) {
            free(b);
            respond(s, NULL,
                    err_response(NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        } else {
            size_t i;
            json_t *el;
            /* A batch is admitted whole even past the cap: it is already in
             * memory, and splitting it would delay its single answer. */
            b->outstanding = 1; /* held while the elements are read */
            json_array_foreach(v, i, el) handle_one(s, el, b);
            b->closed = 1;
            batch_done_one(s, b);
        }
    }
    json_decref(v);
}

static int blocked(const struct ph_serve *s)
{
    return !s->stopping && s->inflight >= s->opt.max_inflight;
}

/* Handles buffered messages until none is complete or the cap is reached. */
static void pump(struct ph_serve *s)
{
    while (!blocked(s)) {
        const char *body;
        size_t len;
        char why[300];
        enum ph_frame_result r = ph_frame_rx_next(&s->rx, &body, &len, why, sizeof why);
        if (r == PH_FRAME_NONE)
            return;
        if (r == PH_FRAME_MSG) {
            handle_message(s, body, len);
        } else {
            say(s, "framing error: %s", why);
            respond(s, NULL, err_response(NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        }
    }
}

ph_serve *ph_serve_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out,
                       void *ud)
{
    struct ph_serve *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (opts)
        s->opt = *opts;
    if (!s->opt.max_message)
        s->opt.max_message = PH_WIRE_DEFAULT_MAX;
    if (!s->opt.max_inflight)
        s->opt.max_inflight = PH_SERVE_MAX_INFLIGHT;
    s->host = host;
    s->out = out;
    s->out_ud = ud;
    ph_frame_rx_init(&s->rx, s->opt.framing, s->opt.max_message);
    ph_host_set_event_handler(host, on_event, s);
    return s;
}

int ph_serve_feed(ph_serve *s, const char *bytes, size_t n)
{
    if (s->input_done)
        return 0;
    if (ph_frame_rx_append(&s->rx, bytes, n) < 0) {
        say(s, "out of memory for client input");
        respond(s, NULL,
                err_response(NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return -1;
    }
    pump(s);
    return 0;
}

void ph_serve_flush(ph_serve *s)
{
    pump(s);
}

void ph_serve_eof(ph_serve *s)
{
    if (s->input_done)
        return;
    s->input_done = 1;
    ph_frame_rx_eof(&s->rx);
    pump(s);
}

void ph_serve_stop(ph_serve *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->input_done = 1;
    /* Complete messages already read are answered; only a partial one is
     * lost, which no client could have expected an answer to yet. */
    pump(s);
    if (ph_frame_rx_buffered(&s->rx))
        say(s, "stopping: an incomplete message from the client is dropped");
    enum ph_framing mode = s->rx.mode;
    ph_frame_rx_free(&s->rx);
    ph_frame_rx_init(&s->rx, mode, s->opt.max_message);
}

void ph_serve_cancel_all(ph_serve *s)
{
    for (struct pending *p = s->pending; p; p = p->next)
        ph_host_cancel(s->host, p->call_id);
}

int ph_serve_wants_input(const ph_serve *s)
{
    return !s->input_done && !blocked(s);
}

size_t ph_serve_inflight(const ph_serve *s)
{
    return s->inflight;
}

int ph_serve_done(const ph_serve *s)
{
    return s->input_done && s->inflight == 0 && !ph_frame_rx_buffered(&s->rx);
}

void ph_serve_free(ph_serve *s)
{
    if (!s)
        return;
    /* Only reachable with calls in flight if the host is still alive, which
     * serve.h forbids; the entries are released so nothing leaks. */
    while (s->pending) {
        struct pending *p = s->pending;
        s->pending = p->next;
        if (p->batch && --p->batch->outstanding == 0) {
            json_decref(p->batch->responses);
            free(p->batch);
        }
        json_decref(p->id);
        free(p);
    }
    ph_frame_rx_free(&s->rx);
    free(s);
}
