/*
 * serve: JSON-RPC 2.0 over stdin/stdout, one message per line, methods named
 * PLUGIN.METHOD. Requests, notifications and batches as the specification
 * defines them; cancellation with $/cancelRequest and progress with
 * $/progress as in the Language Server Protocol.
 *
 * It drives the host through its external-loop API (ph_host_fd and
 * ph_host_process), as an embedding application would. Every byte from the
 * client is hostile: a bad line gets an error and disturbs nothing else.
 */
#include "cli.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct batch {
    json_t *responses; /* array, owned */
    size_t outstanding;
    int closed; /* all elements read */
};

/* A client request waiting for the host. */
struct pending {
    uint64_t call_id;
    json_t *id; /* owned; NULL for notifications */
    struct batch *batch;
    struct pending *next;
};

struct server {
    ph_host *host;
    struct pending *pending;
    size_t max_line;
};

static void emit(json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    if (s) {
        /* One line per message; a closed stdout ends the session at EOF. */
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(s);
    }
}

static void batch_done_one(struct batch *b)
{
    b->outstanding--;
    if (b->closed && b->outstanding == 0) {
        if (json_array_size(b->responses) > 0)
            emit(b->responses);
        json_decref(b->responses);
        free(b);
    }
}

/* Sends (or adds to its batch) a response; takes msg. */
static void respond(struct batch *b, json_t *msg)
{
    if (!msg)
        return;
    if (b)
        json_array_append(b->responses, msg);
    else
        emit(msg);
    json_decref(msg);
}

static json_t *err_response(json_t *id, int code, const char *message)
{
    return ph_wire_error_response(id, ph_wire_error_obj(code, message, NULL));
}

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    struct server *s = ud;
    struct pending **pp = &s->pending;
    while (*pp && (*pp)->call_id != call_id)
        pp = &(*pp)->next;
    struct pending *p = *pp;
    if (!p)
        return;
    *pp = p->next;
    if (p->id) {
        json_t *msg = result ? ph_wire_response(p->id, json_incref(result))
                             : ph_wire_error_response(p->id, json_incref(error));
        respond(p->batch, msg);
    }
    if (p->batch)
        batch_done_one(p->batch);
    json_decref(p->id);
    free(p);
}

static void on_event(void *ud, json_t *ev)
{
    struct server *s = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "notification") == 0) {
        char method[600];
        snprintf(method, sizeof method, "%s.%s", json_string_value(json_object_get(ev, "plugin")),
                 json_string_value(json_object_get(ev, "method")));
        json_t *n = ph_wire_request(NULL, method, json_object_get(ev, "params"));
        emit(n);
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
            emit(n);
            json_decref(n);
            json_decref(params);
        }
        return;
    }
    ph_cli_print_event(NULL, ev);
}

static void cancel(struct server *s, json_t *params)
{
    json_t *id = json_object_get(params, "id");
    for (struct pending *p = s->pending; p; p = p->next)
        if (p->id && json_equal(p->id, id)) {
            ph_host_cancel(s->host, p->call_id);
            return;
        }
}

/* Handles one request object (alone or from a batch). */
static void handle_one(struct server *s, json_t *req, struct batch *b)
{
    ph_wire_msg m;
    char why[200];
    json_t *id = json_object_get(req, "id");
    if (ph_wire_classify(req, &m, why, sizeof why) < 0 ||
        (m.kind != PH_MSG_REQUEST && m.kind != PH_MSG_NOTIFICATION)) {
        /* The id is echoed only when it is itself valid. */
        json_t *rid = (json_is_string(id) || json_is_integer(id)) ? id : NULL;
        respond(b, err_response(rid, PH_RPC_INVALID_REQUEST, "Invalid Request"));
        return;
    }
    if (strcmp(m.method, "$/cancelRequest") == 0) {
        cancel(s, m.params);
        return;
    }
    const char *dot = strchr(m.method, '.');
    if (!dot || dot == m.method || strncmp(m.method, "rpc.", 4) == 0) {
        if (m.kind == PH_MSG_REQUEST)
            respond(b, err_response(m.id, PH_RPC_METHOD_NOT_FOUND, "Method not found"));
        return;
    }
    char plugin[256];
    size_t plen = (size_t)(dot - m.method);
    if (plen >= sizeof plugin) {
        if (m.kind == PH_MSG_REQUEST)
            respond(b, err_response(m.id, PH_RPC_METHOD_NOT_FOUND, "Method not found"));
        return;
    }
    memcpy(plugin, m.method, plen);
    plugin[plen] = '\0';
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        if (m.kind == PH_MSG_REQUEST)
            respond(b, err_response(m.id, PH_RPC_INTERNAL_ERROR, "out of memory"));
        return;
    }
    ph_error err;
    if (ph_host_call_async(s->host, plugin, dot + 1, m.params, on_answer, s, &p->call_id, &err) <
        0) {
        free(p);
        if (m.kind == PH_MSG_REQUEST) {
            int code =
                err.status == PH_E_NOTFOUND ? PH_RPC_METHOD_NOT_FOUND : PH_RPC_INTERNAL_ERROR;
            json_t *e = ph_wire_error_obj(
                code, code == PH_RPC_METHOD_NOT_FOUND ? "Method not found" : "Internal error",
                json_pack("{s:s}", "detail", err.text));
            respond(b, ph_wire_error_response(m.id, e));
        }
        return;
    }
    p->id = m.kind == PH_MSG_REQUEST ? json_incref(m.id) : NULL;
    p->batch = b;
    if (b)
        b->outstanding++;
    p->next = s->pending;
    s->pending = p;
}

static void handle_line(struct server *s, const char *line, size_t len)
{
    char why[300];
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return;
    json_t *v = ph_wire_parse(line, len, why, sizeof why);
    if (!v) {
        json_t *e =
            ph_wire_error_obj(PH_RPC_PARSE_ERROR, "Parse error", json_pack("{s:s}", "detail", why));
        respond(NULL, ph_wire_error_response(NULL, e));
        return;
    }
    if (!json_is_array(v)) {
        handle_one(s, v, NULL);
    } else if (json_array_size(v) == 0) {
        respond(NULL, err_response(NULL, PH_RPC_INVALID_REQUEST, "Invalid Request"));
    } else {
        struct batch *b = calloc(1, sizeof *b);
        if (b)
            b->responses = json_array();
        if (!b || !b->responses) {
            free(b);
            respond(NULL, err_response(NULL, PH_RPC_INTERNAL_ERROR, "out of memory"));
        } else {
            size_t i;
            json_t *el;
            b->outstanding = 1; /* held while the elements are read */
            json_array_foreach(v, i, el) handle_one(s, el, b);
            b->closed = 1;
            batch_done_one(b);
        }
    }
    json_decref(v);
}

int ph_cli_serve(const struct ph_cli_opts *o, const char *path)
{
    struct server s = {0};
    ph_error err;
    if (ph_host_new(&o->host, &s.host, &err) < 0) {
        fprintf(stderr, "plughost: %s\n", err.text);
        return PH_EXIT_HOST;
    }
    ph_host_set_event_handler(s.host, on_event, &s);
    if (ph_cli_load(s.host, path, &err) < 0 && err.status != PH_E_PLUGIN) {
        fprintf(stderr, "plughost: %s\n", err.text);
        ph_host_free(s.host);
        return PH_EXIT_HOST;
    }
    json_t *d = ph_host_describe(s.host);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(d, "errors"), i, e)
    {
        fprintf(stderr, "plughost: not loaded: %s: %s\n",
                json_string_value(json_object_get(e, "file")),
                json_string_value(json_object_get(json_object_get(e, "error"), "message")));
    }
    json_decref(d);
    s.max_line = o->host.max_message ? o->host.max_message : PH_WIRE_DEFAULT_MAX;
    int fl = fcntl(0, F_GETFL);
    if (fl >= 0)
        fcntl(0, F_SETFL, fl | O_NONBLOCK);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int eof = 0, discarding = 0;
    while (!eof || s.pending || ph_host_pending(s.host)) {
        struct pollfd pf[2] = {{.fd = eof ? -1 : 0, .events = POLLIN},
                               {.fd = ph_host_fd(s.host), .events = POLLIN}};
        if (poll(pf, 2, ph_host_pending(s.host) ? 100 : -1) < 0 && errno != EINTR)
            break;
        if (ph_host_process(s.host, 0, &err) < 0) {
            fprintf(stderr, "plughost: %s\n", err.text);
            break;
        }
        if (eof || !(pf[0].revents & (POLLIN | POLLHUP)))
            continue;
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, ncap);
            if (!nb)
                break;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(0, buf + len, cap - len);
        if (r == 0)
            eof = 1;
        if (r <= 0)
            continue;
        size_t start = 0, scan = len;
        len += (size_t)r;
        for (size_t k = scan; k < len; k++) {
            if (buf[k] != '\n')
                continue;
            if (!discarding)
                handle_line(&s, buf + start, k - start);
            discarding = 0;
            start = k + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len > s.max_line) {
            /* A line over the limit is answered once and skipped to its end. */
            if (!discarding) {
                json_t *perr = ph_wire_error_obj(
                    PH_RPC_PARSE_ERROR, "Parse error",
                    json_pack("{s:s}", "detail", "message larger than --max-message"));
                respond(NULL, ph_wire_error_response(NULL, perr));
            }
            discarding = 1;
            len = 0;
        }
        if (eof && len > 0 && !discarding) {
            handle_line(&s, buf, len);
            len = 0;
        }
    }
    if (len > 0 && !discarding)
        handle_line(&s, buf, len);
    free(buf);
    ph_host_free(s.host);
    while (s.pending) {
        struct pending *p = s.pending;
        s.pending = p->next;
        json_decref(p->id);
        free(p);
    }
    return PH_EXIT_OK;
}
