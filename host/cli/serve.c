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
#include "session.h"
#include "jscan.h"
#include "text.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A client call waiting for the host; the host hands it back as ud. */
struct pending {
    struct ph_serve *s;
    uint64_t call_id;
    json_t *id;    /* owned; NULL for notifications */
    char *id_text; /* owned; a forwarded call's id as the client wrote it */
    size_t id_len;
    struct ph_sess_batch *batch;
    struct pending *prev, *next;
};

struct ph_serve {
    struct ph_sess sess; /* first: the handler casts back */
    struct pending *pending;
};

static void pending_link(struct ph_serve *s, struct pending *p)
{
    p->next = s->pending;
    if (s->pending)
        s->pending->prev = p;
    s->pending = p;
    s->sess.inflight++;
}

static void pending_unlink(struct pending *p)
{
    struct ph_serve *s = p->s;
    if (p->prev)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    s->sess.inflight--;
}

static void pending_free(struct pending *p)
{
    json_decref(p->id);
    free(p->id_text);
    free(p);
}

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    struct pending *p = ud;
    struct ph_serve *s = p->s;
    (void)call_id;
    pending_unlink(p);
    if (p->id) {
        json_t *msg = result ? ph_wire_response(p->id, json_incref(result))
                             : ph_wire_error_response(p->id, json_incref(error));
        ph_sess_respond(&s->sess, p->batch, msg);
    }
    if (p->batch)
        ph_sess_batch_done_one(&s->sess, p->batch);
    pending_free(p);
}

/* A forwarded call's answer: the client's id and the plugin's result,
 * both checked bytes, written around without a jansson tree. */
static void on_raw_answer(void *ud, uint64_t call_id, const char *result, size_t len, json_t *error)
{
    struct pending *p = ud;
    struct ph_serve *s = p->s;
    (void)call_id;
    pending_unlink(p);
    if (result && !ph_text_is_plain(result, len)) {
        /* Raw UTF-8 or DEL in the plugin's strings: written through
         * jansson instead, as printable ASCII (text.h), like every other
         * message to the client. */
        json_error_t je;
        json_t *r = json_loadb(result, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        ph_sess_respond(&s->sess, NULL,
                        r ? ph_wire_response(p->id, r)
                          : ph_sess_error(&s->sess, p->id, PH_RPC_INTERNAL_ERROR, "Internal error",
                                          "the result could not be re-encoded"));
    } else if (result) {
        static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
        static const char mid[] = ",\"result\":";
        size_t n = sizeof head - 1 + p->id_len + sizeof mid - 1 + len + 1;
        char *b = malloc(n);
        if (b) {
            char *o = b;
            memcpy(o, head, sizeof head - 1);
            o += sizeof head - 1;
            memcpy(o, p->id_text, p->id_len);
            o += p->id_len;
            memcpy(o, mid, sizeof mid - 1);
            o += sizeof mid - 1;
            memcpy(o, result, len);
            o += len;
            *o = '}';
            ph_sess_emit_text(&s->sess, b, n);
            free(b);
        } else {
            ph_sess_respond(&s->sess, NULL,
                            ph_sess_error(&s->sess, p->id, PH_RPC_INTERNAL_ERROR, "Internal error",
                                          "out of memory"));
        }
    } else {
        ph_sess_respond(&s->sess, NULL, ph_wire_error_response(p->id, json_incref(error)));
    }
    pending_free(p);
}

/* Sends a host event to the client if it is the client's: progress of one
 * of its requests, or a plugin notification (every one when the session has
 * the host to itself, only those of its own calls when it shares it).
 * Returns 1 when it was. */
static int deliver(struct ph_serve *s, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type)
        return 0;
    int progress = strcmp(type, "progress") == 0;
    if (!progress && strcmp(type, "notification") != 0)
        return 0;
    json_t *cid = json_object_get(ev, "call_id");
    struct pending *mine = NULL;
    for (struct pending *p = s->pending; p && cid && !mine; p = p->next)
        if (p->call_id == (uint64_t)json_integer_value(cid))
            mine = p;
    if (progress) {
        if (!mine || !mine->id)
            return mine != NULL;
        json_t *params =
            json_pack("{s:O,s:O?}", "token", mine->id, "value", json_object_get(ev, "value"));
        json_t *n = ph_wire_request(NULL, "$/progress", params);
        ph_sess_emit(&s->sess, n);
        json_decref(n);
        json_decref(params);
        return 1;
    }
    if (s->sess.opt.routed_events && !mine)
        return 0;
    const char *plugin = json_string_value(json_object_get(ev, "plugin"));
    const char *method = json_string_value(json_object_get(ev, "method"));
    char name[600];
    snprintf(name, sizeof name, "%s.%s", plugin ? plugin : "?", method ? method : "?");
    json_t *n = ph_wire_request(NULL, name, json_object_get(ev, "params"));
    ph_sess_emit(&s->sess, n);
    json_decref(n);
    return 1;
}

static void on_event(void *ud, json_t *ev)
{
    struct ph_serve *s = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (deliver(s, ev) || (type && !strcmp(type, "progress")))
        return;
    if (s->sess.opt.on_event)
        s->sess.opt.on_event(s->sess.opt.event_ud, ev);
}

int ph_serve_event(ph_serve *s, json_t *ev)
{
    return deliver(s, ev);
}

static void cancel(struct ph_serve *s, json_t *params)
{
    json_t *id = json_object_get(params, "id");
    for (struct pending *p = s->pending; p; p = p->next)
        if (p->id && json_equal(p->id, id)) {
            ph_host_cancel(s->sess.host, p->call_id);
            return;
        }
}

#define PLUGIN_MAX 256

/* PLUGIN.METHOD, the one rule both paths read a method name by: the
 * plugin's name (before the first dot, copied into plugin) and where the
 * method starts. 0 for anything else: no dot, an empty or too long plugin
 * name, or JSON-RPC's reserved "rpc." prefix. */
static int split_method(const char *name, size_t len, char plugin[PLUGIN_MAX], const char **method)
{
    const char *dot = memchr(name, '.', len);
    size_t plen = dot ? (size_t)(dot - name) : 0;
    if (!dot || plen == 0 || plen >= PLUGIN_MAX || (len >= 4 && memcmp(name, "rpc.", 4) == 0))
        return 0;
    memcpy(plugin, name, plen);
    plugin[plen] = '\0';
    *method = dot + 1;
    return 1;
}

/* The host's own methods (serve.h, host_method): never a plugin's. */
#define HOST_PREFIX "plughost/"

static void host_method(struct ph_serve *s, const ph_wire_msg *m, struct ph_sess_batch *b,
                        int is_req)
{
    const struct ph_serve_opts *o = &s->sess.opt;
    if (!o->host_method) {
        if (is_req)
            ph_sess_respond(
                &s->sess, b,
                ph_sess_error(&s->sess, m->id, PH_RPC_METHOD_NOT_FOUND, "Method not found", NULL));
        return;
    }
    json_t *result = NULL, *error = NULL;
    int rc = o->host_method(o->host_method_ud, m->method, m->params, &result, &error);
    if (!is_req) {
        json_decref(result);
        json_decref(error);
        return;
    }
    if (rc == 0 && result)
        ph_sess_respond(&s->sess, b, ph_wire_response(m->id, result));
    else if (error)
        ph_sess_respond(&s->sess, b, ph_wire_error_response(m->id, error));
    else
        ph_sess_respond(&s->sess, b,
                        ph_sess_error(&s->sess, m->id, PH_RPC_INTERNAL_ERROR, "Internal error",
                                      "out of memory"));
}

/* Handles one request object (alone or from a batch). */
static void handle_one(struct ph_sess *sess, json_t *req, struct ph_sess_batch *b)
{
    struct ph_serve *s = (struct ph_serve *)sess;
    ph_wire_msg m;
    char why[200];
    json_t *id = json_object_get(req, "id");
    if (ph_wire_classify(req, &m, why, sizeof why) < 0 ||
        (m.kind != PH_MSG_REQUEST && m.kind != PH_MSG_NOTIFICATION)) {
        /* The id is echoed only when it is itself valid. */
        json_t *rid = (json_is_string(id) || json_is_integer(id)) ? id : NULL;
        ph_sess_respond(
            &s->sess, b,
            ph_sess_error(&s->sess, rid, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
        return;
    }
    int is_req = m.kind == PH_MSG_REQUEST;
    if (strcmp(m.method, "$/cancelRequest") == 0) {
        cancel(s, m.params);
        return;
    }
    if (s->sess.stopping) {
        if (is_req)
            ph_sess_respond(
                &s->sess, b,
                ph_sess_error(&s->sess, m.id, PH_RPC_INTERNAL_ERROR, "Server shutting down", NULL));
        return;
    }
    if (strncmp(m.method, HOST_PREFIX, sizeof HOST_PREFIX - 1) == 0) {
        host_method(s, &m, b, is_req);
        return;
    }
    char plugin[PLUGIN_MAX];
    const char *method;
    if (!split_method(m.method, strlen(m.method), plugin, &method)) {
        if (is_req)
            ph_sess_respond(
                &s->sess, b,
                ph_sess_error(&s->sess, m.id, PH_RPC_METHOD_NOT_FOUND, "Method not found", NULL));
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        if (is_req)
            ph_sess_respond(&s->sess, b,
                            ph_sess_error(&s->sess, m.id, PH_RPC_INTERNAL_ERROR, "Internal error",
                                          "out of memory"));
        return;
    }
    ph_error err;
    if (ph_host_call_async(s->sess.host, plugin, method, m.params, on_answer, p, &p->call_id,
                           &err) < 0) {
        free(p);
        if (is_req) {
            int nf = err.status == PH_E_NOTFOUND;
            ph_sess_respond(&s->sess, b,
                            ph_sess_error(&s->sess, m.id,
                                          nf ? PH_RPC_METHOD_NOT_FOUND : PH_RPC_INTERNAL_ERROR,
                                          nf ? "Method not found" : "Internal error", err.text));
        }
        return;
    }
    p->s = s;
    p->id = is_req ? json_incref(m.id) : NULL;
    p->batch = b;
    if (b)
        b->outstanding++;
    pending_link(s, p);
}

/* The fast path for the common request, one object with exactly
 * "jsonrpc": "2.0", an integer or plain string "id", a "method" naming
 * PLUGIN.METHOD without escapes and optional array or object "params":
 * its bytes, checked by the scanner, go to the plugin as they are, and the
 * plugin's result comes back the same way. Anything else (batches,
 * notifications, cancellations, errors to report, what the scanner will not
 * vouch for) returns 0 and takes handle_one's path, so both paths answer
 * alike. */
static int handle_raw(struct ph_sess *sess, const char *text, size_t len)
{
    struct ph_serve *s = (struct ph_serve *)sess;
    struct ph_jscan_member m[4];
    size_t n;
    if (s->sess.stopping || ph_jscan_object(text, len, m, 4, &n, NULL) != PH_JSCAN_OK)
        return 0;
    const struct ph_jscan_span *id = ph_jscan_get(m, n, "id");
    const struct ph_jscan_span *method = ph_jscan_get(m, n, "method");
    const struct ph_jscan_span *params = ph_jscan_get(m, n, "params");
    if (!ph_jscan_is_string(ph_jscan_get(m, n, "jsonrpc"), "2.0") || !id || !method ||
        n != 3 + (params != NULL) || method->kind != PH_JS_STRING ||
        (id->kind != PH_JS_INTEGER && id->kind != PH_JS_STRING) ||
        (params && params->kind != PH_JS_ARRAY && params->kind != PH_JS_OBJECT))
        return 0;
    const char *name = method->text + 1;
    size_t name_len = method->len - 2;
    if (name_len >= sizeof HOST_PREFIX - 1 &&
        memcmp(name, HOST_PREFIX, sizeof HOST_PREFIX - 1) == 0)
        return 0;
    char plugin[PLUGIN_MAX], meth[256];
    const char *mstart;
    size_t mlen = 0;
    if (split_method(name, name_len, plugin, &mstart))
        mlen = name_len - (size_t)(mstart - name);
    if (!mlen || mlen >= sizeof meth || memchr(name, '\\', name_len) ||
        (id->kind == PH_JS_STRING && memchr(id->text, '\\', id->len)) ||
        (id->len >= 2 && id->text[0] == '-' && id->text[1] == '0'))
        return 0; /* -0: the parsing path answers with 0 */
    memcpy(meth, mstart, mlen);
    meth[mlen] = '\0';
    struct pending *p = calloc(1, sizeof *p);
    if (p) {
        p->s = s;
        p->id = id->kind == PH_JS_STRING ? json_stringn(id->text + 1, id->len - 2)
                                         : json_integer(strtoll(id->text, NULL, 10));
        p->id_text = malloc(id->len);
        p->id_len = id->len;
        if (p->id_text)
            memcpy(p->id_text, id->text, id->len);
    }
    if (!p || !p->id || !p->id_text) {
        if (p)
            pending_free(p);
        return 0; /* the parsing path reports running out of memory */
    }
    ph_error err;
    if (ph_host_call_raw_async(s->sess.host, plugin, meth, params ? params->text : NULL,
                               params ? params->len : 0, on_raw_answer, p, &p->call_id, &err) < 0) {
        int nf = err.status == PH_E_NOTFOUND;
        ph_sess_respond(&s->sess, NULL,
                        ph_sess_error(&s->sess, p->id,
                                      nf ? PH_RPC_METHOD_NOT_FOUND : PH_RPC_INTERNAL_ERROR,
                                      nf ? "Method not found" : "Internal error", err.text));
        pending_free(p);
        return 1;
    }
    pending_link(s, p);
    return 1;
}

ph_serve *ph_serve_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out,
                       void *ud)
{
    struct ph_serve *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    ph_sess_init(&s->sess, host, opts, out, ud, opts ? opts->framing : PH_FRAMING_AUTO, handle_one);
    s->sess.handle_raw = handle_raw;
    if (!s->sess.opt.routed_events)
        ph_host_set_event_handler(host, on_event, s);
    return s;
}

int ph_serve_feed(ph_serve *s, const char *bytes, size_t n)
{
    return ph_sess_feed(&s->sess, bytes, n);
}

void ph_serve_flush(ph_serve *s)
{
    ph_sess_pump(&s->sess);
}

void ph_serve_eof(ph_serve *s)
{
    ph_sess_eof(&s->sess);
}

void ph_serve_stop(ph_serve *s)
{
    ph_sess_stop(&s->sess);
}

void ph_serve_cancel_all(ph_serve *s)
{
    for (struct pending *p = s->pending; p; p = p->next)
        ph_host_cancel(s->sess.host, p->call_id);
}

int ph_serve_wants_input(const ph_serve *s)
{
    return ph_sess_wants_input(&s->sess);
}

size_t ph_serve_inflight(const ph_serve *s)
{
    return s->sess.inflight;
}

int ph_serve_done(const ph_serve *s)
{
    return ph_sess_done(&s->sess);
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
        ph_sess_batch_release(p->batch);
        pending_free(p);
    }
    ph_sess_free(&s->sess);
    free(s);
}
