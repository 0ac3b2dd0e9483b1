/*
 * runtime: the loader-side message loop (see runtime.h).
 */
#include "runtime.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Requests that arrive while a method runs (or waits on a host call) wait
 * here. Bounded so a flooding host cannot exhaust the plugin's memory. */
#define PH_RT_QUEUE_MAX 4096

struct ph_rt {
    int fd;
    ph_wire_rx rx;
    const ph_plugin *plugin;
    json_t *queue; /* array of parsed messages, owned */
    json_int_t next_id;
    ph_ctx *current;
    int stop;
    char err[256];
};

static int send_json(struct ph_rt *rt, json_t *msg /* stolen */)
{
    if (!msg)
        return -1;
    size_t len;
    char *s = ph_wire_encode(msg, &len);
    json_decref(msg);
    if (!s)
        return -1;
    int rc = ph_wire_send(rt->fd, s, len, -1);
    free(s);
    return rc;
}

static json_t *notification(const char *method, json_t *params /* stolen */)
{
    json_t *n = ph_wire_request(NULL, method, params);
    json_decref(params);
    return n;
}

void ph_rt_report_setup_failure(int fd, const char *stage, const char *message)
{
    json_t *n =
        notification("ph.setup_failed", json_pack("{s:s,s:s}", "stage", stage, "message", message));
    size_t len;
    char *s = n ? ph_wire_encode(n, &len) : NULL;
    if (s)
        (void)ph_wire_send(fd, s, len, -1);
    free(s);
    json_decref(n);
}

/* The params_schemas of p (ABI 2 on), or NULL: an ABI-1 table ends before
 * the field, so it is not read there. */
static const ph_params_schema *schemas_of(const ph_plugin *p)
{
    return p->abi >= 2 ? p->params_schemas : NULL;
}

static int has_method(const ph_plugin *p, const char *name)
{
    for (size_t i = 0; p->methods[i].name; i++)
        if (strcmp(p->methods[i].name, name) == 0)
            return 1;
    return 0;
}

/* An entry for no method, a second entry for one, or text that is not JSON
 * is the author's slip, named here before the plugin is served; whether
 * the JSON is a schema the host can use is the host's to say. */
static int check_schemas(const ph_plugin *p, char *err, size_t errlen)
{
    const ph_params_schema *s = schemas_of(p);
    for (size_t i = 0; s && s[i].method; i++) {
        if (i > 4096) {
            snprintf(err, errlen, "too many params_schemas");
            return -1;
        }
        if (!has_method(p, s[i].method) || !s[i].schema) {
            snprintf(err, errlen,
                     "params_schemas %zu: names no method of the table, or has no schema", i);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s[j].method, s[i].method) == 0) {
                snprintf(err, errlen, "method \"%s\" has two params_schemas", s[i].method);
                return -1;
            }
        json_error_t je;
        json_t *v = json_loads(s[i].schema, JSON_DECODE_ANY, &je);
        if (!v) {
            snprintf(err, errlen, "method \"%s\": params schema is not JSON: %s", s[i].method,
                     je.text);
            return -1;
        }
        json_decref(v);
    }
    return 0;
}

int ph_rt_check_plugin(const ph_plugin *p, char *err, size_t errlen)
{
    if (p->abi != PH_SDK_ABI && p->abi != 1) {
        snprintf(err, errlen, "plugin built for SDK ABI %u, runtime reads 1 to %u", p->abi,
                 PH_SDK_ABI);
        return -1;
    }
    if (!p->name || !p->version || !p->methods) {
        snprintf(err, errlen, "plugin table lacks a name, a version or methods");
        return -1;
    }
    size_t nl = strlen(p->name);
    if (nl == 0 || nl > 63 || strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != nl) {
        snprintf(err, errlen, "plugin name must match [a-z0-9_-]{1,63}");
        return -1;
    }
    for (size_t i = 0; p->methods[i].name; i++) {
        if (!p->methods[i].fn || !p->methods[i].name[0] || strchr(p->methods[i].name, '.') ||
            strncmp(p->methods[i].name, "$/", 2) == 0) {
            snprintf(err, errlen, "method %zu: needs a function and a name without '.' or '$/'", i);
            return -1;
        }
        if (i > 4096) {
            snprintf(err, errlen, "too many methods");
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->methods[j].name, p->methods[i].name) == 0) {
                snprintf(err, errlen, "method \"%s\" is declared twice", p->methods[i].name);
                return -1;
            }
        }
    }
    return check_schemas(p, err, errlen);
}

/* Set by ph_singleton() from init, before the hello is sent. */
static int singleton;

void ph_singleton(ph_ctx *ctx)
{
    (void)ctx;
    singleton = 1;
}

static json_t *hello(const ph_plugin *p)
{
    json_t *methods = json_array();
    for (size_t i = 0; p->methods[i].name; i++) {
        const ph_method *m = &p->methods[i];
        json_t *o = json_pack("{s:s}", "name", m->name);
        if (m->description)
            json_object_set_new(o, "description", json_string(m->description));
        if (m->params_doc)
            json_object_set_new(o, "params", json_string(m->params_doc));
        json_t *schema = NULL;
        const ph_params_schema *s = schemas_of(p);
        for (size_t k = 0; s && s[k].method; k++)
            if (strcmp(s[k].method, m->name) == 0) {
                /* Whatever it is: the host judges it, and refuses a
                 * non-object. */
                schema = json_loads(s[k].schema, JSON_DECODE_ANY, NULL);
            }
        if (p->abi == 1 && m->params_doc) {
            /* ABI 1's rule, for plugins built against it: a params_doc
             * that parses as a JSON object is the schema. */
            schema = json_loads(m->params_doc, 0, NULL);
            if (!json_is_object(schema)) {
                json_decref(schema);
                schema = NULL;
            }
        }
        if (schema)
            json_object_set_new(o, "params_schema", schema);
        json_array_append_new(methods, o);
    }
    json_t *params =
        json_pack("{s:i,s:i,s:s,s:s,s:o}", "protocol", PH_PROTOCOL_VERSION, "sdk_abi", (int)p->abi,
                  "name", p->name, "version", p->version, "methods", methods);
    if (params && p->description)
        json_object_set_new(params, "description", json_string(p->description));
    if (params && singleton)
        json_object_set_new(params, "singleton", json_true());
    return notification("ph.hello", params);
}

/* Receives one message, parsed. With fd NULL a descriptor that came with it
 * is closed; otherwise *fd gets it (owned by the caller) or -1. Returns 1,
 * 0 on EOF, -1. */
static int recv_msg_fd(struct ph_rt *rt, json_t **out, int *fd)
{
    char *text;
    size_t len;
    int rc = ph_wire_recv(rt->fd, &rt->rx, &text, &len, fd, rt->err, sizeof rt->err);
    if (rc <= 0)
        return rc;
    json_t *v = ph_wire_parse(text, len, rt->err, sizeof rt->err);
    free(text);
    if (!v) {
        if (fd && *fd >= 0) {
            close(*fd);
            *fd = -1;
        }
        return -1;
    }
    *out = v;
    return 1;
}

static int recv_msg(struct ph_rt *rt, json_t **out)
{
    return recv_msg_fd(rt, out, NULL);
}

int ph_rt_loaded(int fd, char *err, size_t errlen)
{
    struct ph_rt rt = {.fd = fd};
    ph_wire_rx_init(&rt.rx, 4096);
    int rc = send_json(&rt, notification("ph.loaded", NULL));
    json_t *msg = NULL;
    const char *method = NULL;
    if (rc == 0 && recv_msg(&rt, &msg) == 1)
        method = json_string_value(json_object_get(msg, "method"));
    rc = method && strcmp(method, "ph.proceed") == 0 ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "the host did not answer ph.loaded");
    json_decref(msg);
    ph_wire_rx_free(&rt.rx);
    return rc;
}

static int is_cancel_of(json_t *msg, json_t *id)
{
    const char *m = json_string_value(json_object_get(msg, "method"));
    if (!m || strcmp(m, "$/cancelRequest") != 0 || !id)
        return 0;
    return json_equal(json_object_get(json_object_get(msg, "params"), "id"), id);
}

/* Handles a message that arrived while a method was running: cancellation of
 * the current call is noted, everything else waits in the queue, with the
 * blob descriptor that came with it (fd, stolen; -1: none). An entry is
 * [message, fd]. */
static int defer(struct ph_rt *rt, json_t *msg /* stolen */, int fd)
{
    if (rt->current && is_cancel_of(msg, rt->current->req_id)) {
        rt->current->cancelled = 1;
        json_decref(msg);
        if (fd >= 0)
            close(fd);
        return 0;
    }
    json_t *entry = json_array_size(rt->queue) < PH_RT_QUEUE_MAX ? json_array() : NULL;
    if (!entry || json_array_append_new(entry, msg) < 0 ||
        json_array_append_new(entry, json_integer(fd)) < 0 ||
        json_array_append_new(rt->queue, entry) < 0) {
        if (!entry)
            json_decref(msg);
        json_decref(entry);
        if (fd >= 0)
            close(fd);
        snprintf(rt->err, sizeof rt->err, "host sent more than %d queued messages",
                 PH_RT_QUEUE_MAX);
        return -1;
    }
    return 0;
}

void ph_rt_log(struct ph_rt *rt, int level, const char *text)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    const char *ln = (level >= 0 && level <= 3) ? names[level] : "info";
    (void)send_json(rt,
                    notification("$/log", json_pack("{s:s,s:s}", "level", ln, "message", text)));
}

int ph_rt_notify(struct ph_rt *rt, const char *method, json_t *params)
{
    return send_json(rt, ph_wire_request(NULL, method, params));
}

int ph_rt_call_host(struct ph_rt *rt, const char *method, json_t *params, json_t **result,
                    json_t **error)
{
    return ph_rt_call_host_fd(rt, method, params, result, error, NULL);
}

/* A descriptor from the host lands on the lowest free number, which may be
 * 0, 1 or 2 (closed in the sandbox): a stray printf would then write into
 * the file. It is moved above them (F_DUPFD_CLOEXEC from 3 is the one
 * fcntl the sandbox allows). Returns the new number or -1 (fd closed). */
static int above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

int ph_rt_call_host_fd(struct ph_rt *rt, const char *method, json_t *params, json_t **result,
                       json_t **error, int *fd_out)
{
    if (fd_out)
        *fd_out = -1;
    json_t *id = json_integer(++rt->next_id);
    int rc = send_json(rt, ph_wire_request(id, method, params));
    if (rc < 0) {
        json_decref(id);
        return -1;
    }
    for (;;) {
        json_t *msg;
        int fd = -1;
        /* A descriptor is kept only when this call asked for one and it
         * came with this call's own successful answer; any other is
         * closed at once. */
        if (recv_msg_fd(rt, &msg, &fd) <= 0) {
            json_decref(id);
            return -1;
        }
        ph_wire_msg m;
        char err[128];
        if (ph_wire_classify(msg, &m, err, sizeof err) == 0 &&
            (m.kind == PH_MSG_RESULT || m.kind == PH_MSG_ERROR) && json_equal(m.id, id)) {
            json_decref(id);
            if (m.kind == PH_MSG_RESULT) {
                *result = json_incref(m.result);
                json_decref(msg);
                if (fd_out)
                    *fd_out = above_stdio(fd);
                else if (fd >= 0)
                    close(fd);
                return 0;
            }
            if (fd >= 0)
                close(fd);
            if (error)
                *error = json_incref(m.error);
            json_decref(msg);
            return -1;
        }
        if (defer(rt, msg, fd) < 0) {
            json_decref(id);
            return -1;
        }
    }
}

int ph_rt_poll_cancel(struct ph_rt *rt, ph_ctx *ctx)
{
    for (;;) {
        struct pollfd p = {.fd = rt->fd, .events = POLLIN};
        int n = poll(&p, 1, 0);
        if (n <= 0 || !(p.revents & POLLIN))
            break;
        json_t *msg;
        int fd;
        if (recv_msg_fd(rt, &msg, &fd) <= 0)
            break;
        if (defer(rt, msg, fd) < 0)
            break;
    }
    return ctx->cancelled;
}

static const ph_method *find_method(const ph_plugin *p, const char *name)
{
    for (size_t i = 0; p->methods[i].name; i++)
        if (strcmp(p->methods[i].name, name) == 0)
            return &p->methods[i];
    return NULL;
}

/* Sends msg with fd (stolen; -1: none) on its first record. */
static int send_json_fd(struct ph_rt *rt, json_t *msg /* stolen */, int fd)
{
    size_t len;
    char *s = msg ? ph_wire_encode(msg, &len) : NULL;
    json_decref(msg);
    int rc = s ? ph_wire_send(rt->fd, s, len, fd) : -1;
    free(s);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int serve_request(struct ph_rt *rt, ph_wire_msg *m, int blob_fd)
{
    const ph_method *meth = find_method(rt->plugin, m->method);
    if (!meth) {
        if (blob_fd >= 0)
            close(blob_fd);
        json_t *e = ph_wire_error_obj(-32601, "method not found", NULL);
        return send_json(rt, ph_wire_error_response(m->id, e));
    }
    ph_ctx ctx = {.plugin = rt->plugin,
                  .method = meth->name,
                  .req_id = m->id,
                  .rt = rt,
                  .blob_in = blob_fd,
                  .blob_out = -1};
    rt->current = &ctx;
    json_t *result = meth->fn(&ctx, m->params);
    rt->current = NULL;
    if (ph_ctx_release_blobs(&ctx) < 0 && result) {
        /* Never an unsealed blob: the host would end the plugin for it. */
        json_decref(result);
        result = NULL;
        json_decref(ctx.error);
        ctx.error = ph_wire_error_obj(PH_ERR_INTERNAL, ctx.blob_out_error, NULL);
    }
    json_t *reply;
    int out = -1;
    if (result) {
        json_decref(ctx.error);
        reply = ph_wire_response(m->id, result);
        /* The blob goes only with the result that references it. */
        size_t size;
        char why[160];
        if (ctx.blob_out >= 0 && ph_wire_blob_find(result, &size, why, sizeof why) == 1) {
            out = ctx.blob_out;
            ctx.blob_out = -1;
        }
    } else {
        json_t *e = ctx.error ? ctx.error
                              : ph_wire_error_obj(PH_ERR_INTERNAL,
                                                  "method returned no result and no error", NULL);
        reply = ph_wire_error_response(m->id, e);
    }
    if (ctx.blob_out >= 0)
        close(ctx.blob_out);
    return send_json_fd(rt, reply, out);
}

static int dispatch(struct ph_rt *rt, json_t *msg, int fd)
{
    ph_wire_msg m;
    if (ph_wire_classify(msg, &m, rt->err, sizeof rt->err) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (m.kind == PH_MSG_REQUEST)
        return serve_request(rt, &m, fd);
    if (fd >= 0)
        close(fd);
    switch (m.kind) {
    case PH_MSG_NOTIFICATION:
        if (strcmp(m.method, "ph.shutdown") == 0)
            rt->stop = 1;
        /* A cancel for a call that already finished, or any other
         * notification this runtime does not know, is harmless. */
        return 0;
    default:
        /* Responses only make sense inside ph_call_host(). */
        snprintf(rt->err, sizeof rt->err, "unexpected response from the host");
        return -1;
    }
}

/* Drops queued requests that a queued cancel names, answering them at once so
 * the host can clear its bookkeeping. */
static int next_message(struct ph_rt *rt, json_t **out, int *fd)
{
    if (json_array_size(rt->queue) > 0) {
        json_t *entry = json_array_get(rt->queue, 0);
        *out = json_incref(json_array_get(entry, 0));
        *fd = (int)json_integer_value(json_array_get(entry, 1));
        json_array_remove(rt->queue, 0);
        return 1;
    }
    return recv_msg_fd(rt, out, fd);
}

/* One constant message of 80 bytes: the warm-up's time and memory are
 * bounded by it (measured: ~65 us in a fresh process, ~17 us warm; a few
 * small allocations, all freed).
 * No heap is faulted in ahead: a spare's first call took no page fault
 * before the warm-up existed (perf, exceptions:page_fault_user). */
int ph_rt_warm_up(const ph_plugin *plugin, char *err, size_t errlen)
{
    /* Constant text, so the warm-up holds nothing of any call: a "$/"
     * method no plugin table may declare (ph_rt_check_plugin), so no
     * method of the plugin runs; params shaped like a call's (a string,
     * a number, an object) so the decoder and encoder take their usual
     * branches. */
    static const char text[] = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"$/warm-up\","
                               "\"params\":[\"warm\",1,{\"k\":true}]}";
    json_t *msg = ph_wire_parse(text, sizeof text - 1, err, errlen);
    ph_wire_msg m;
    if (!msg || ph_wire_classify(msg, &m, err, errlen) < 0) {
        json_decref(msg);
        return -1;
    }
    if (m.kind != PH_MSG_REQUEST || find_method(plugin, m.method)) {
        json_decref(msg);
        snprintf(err, errlen, "warm-up: the synthetic request names a method of the plugin");
        return -1;
    }
    /* Both answers a call can get, encoded and dropped: nothing is sent. */
    json_t *replies[2] = {
        ph_wire_response(m.id, json_deep_copy(m.params)),
        ph_wire_error_response(m.id, ph_wire_error_obj(-32601, "method not found", NULL))};
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *s = replies[i] ? ph_wire_encode(replies[i], &len) : NULL;
        rc |= s ? 0 : -1;
        free(s);
        json_decref(replies[i]);
    }
    json_decref(msg);
    if (rc < 0)
        snprintf(err, errlen, "warm-up: cannot encode an answer");
    return rc;
}

int ph_rt_run(int fd, const ph_plugin *plugin, char *err, size_t errlen)
{
    struct ph_rt rt = {.fd = fd, .plugin = plugin, .queue = json_array()};
    ph_wire_rx_init(&rt.rx, PH_WIRE_DEFAULT_MAX);
    int rc = 0;
    /* Before the hello: the host sends calls only to a ready process, so
     * none waits behind the warm-up. A failure costs only speed: the first
     * call then pays what the warm-up would have. */
    char werr[128];
    (void)ph_rt_warm_up(plugin, werr, sizeof werr);
    if (!rt.queue || send_json(&rt, hello(plugin)) < 0) {
        snprintf(err, errlen, "cannot send the handshake: %s", strerror(errno));
        rc = -1;
    }
    while (rc == 0 && !rt.stop) {
        json_t *msg;
        int blob = -1;
        int got = next_message(&rt, &msg, &blob);
        if (got == 0)
            break;
        if (got < 0) {
            snprintf(err, errlen, "%s", rt.err);
            rc = -1;
            break;
        }
        if (dispatch(&rt, msg, blob) < 0) {
            snprintf(err, errlen, "%s", rt.err[0] ? rt.err : "cannot send a reply");
            rc = -1;
        }
        json_decref(msg);
    }
    size_t i;
    json_t *entry;
    json_array_foreach(rt.queue, i, entry)
    {
        int queued = (int)json_integer_value(json_array_get(entry, 1));
        if (queued >= 0)
            close(queued);
    }
    json_decref(rt.queue);
    ph_wire_rx_free(&rt.rx);
    return rc;
}
