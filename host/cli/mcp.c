/*
 * mcp session: the Model Context Protocol as a translation layer over the
 * host's asynchronous API (see mcp.h). Tools come from ph_host_describe()
 * once, calls go through ph_host_call_async(), and the answers are turned
 * into MCP tool results. Framing is framing.c's (lines only); the stdio
 * loop is serve_stdio.c's.
 *
 * Every byte from the client is hostile, as in serve.c: a bad message gets
 * an error answer and disturbs nothing else. The session must never block,
 * never read by itself, never answer a request twice, and never let a
 * client grow its memory past the in-flight cap plus one message.
 */
#include "mcp.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch {
    json_t *responses; /* array, owned */
    size_t outstanding;
    int closed;
};

/* A tools/call waiting for the host; the host hands it back as ud. */
struct pending {
    struct ph_mcp *m;
    uint64_t call_id;
    json_t *id;      /* owned */
    json_t *token;   /* owned; the client's progressToken, or NULL */
    json_t *title;   /* owned; "PLUGIN.METHOD", for error texts */
    double progress; /* last progress value sent: MCP wants it to grow */
    int cancelled;   /* by the client: its answer is dropped */
    struct batch *batch;
    struct pending *prev, *next;
};

struct ph_mcp {
    ph_host *host;
    struct ph_serve_opts opt;
    ph_serve_write_fn out;
    void *out_ud;
    int out_dead;
    ph_frame_rx rx;
    json_t *tools;       /* array of MCP Tool objects, as tools/list answers */
    json_t *routes;      /* tool name -> {"plugin", "method", "title"} */
    const char *version; /* negotiated; static storage */
    struct pending *pending;
    size_t inflight;
    int input_done;
    int stopping;
    int initialized; /* the client said so: it may now hear list changes */
};

static const char *const versions[] = PH_MCP_VERSIONS;
#define NVERSIONS (sizeof versions / sizeof versions[0])

__attribute__((format(printf, 2, 3))) static void say(struct ph_mcp *m, const char *fmt, ...)
{
    if (!m->opt.log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    m->opt.log(m->opt.log_ud, line);
}

static void emit(struct ph_mcp *m, json_t *msg)
{
    if (m->out_dead)
        return;
    /* jansson escapes every control character inside strings, so the one
     * newline appended here is the only one in the frame. */
    char *body = json_dumps(msg, JSON_COMPACT);
    if (!body)
        return;
    size_t n = strlen(body);
    char *frame = realloc(body, n + 1);
    if (!frame) {
        free(body);
        return;
    }
    frame[n] = '\n';
    if (m->out(m->out_ud, frame, n + 1) < 0) {
        m->out_dead = 1;
        say(m, "client output closed; answers are dropped from now on");
    }
    free(frame);
}

static void batch_done_one(struct ph_mcp *m, struct batch *b)
{
    b->outstanding--;
    if (b->closed && b->outstanding == 0) {
        if (json_array_size(b->responses) > 0)
            emit(m, b->responses);
        json_decref(b->responses);
        free(b);
    }
}

/* Sends (or adds to its batch) a response; takes msg. */
static void respond(struct ph_mcp *m, struct batch *b, json_t *msg)
{
    if (!msg)
        return;
    if (b)
        json_array_append(b->responses, msg);
    else
        emit(m, msg);
    json_decref(msg);
}

static json_t *err_response(json_t *id, int code, const char *message, const char *detail)
{
    json_t *data = detail ? json_pack("{s:s}", "detail", detail) : NULL;
    json_t *r = ph_wire_error_response(id, ph_wire_error_obj(code, message, data));
    /* JSON-RPC says "id": null when the id could not be read; MCP's schema
     * allows no null id and leaves it out instead, and its SDK refuses the
     * null. */
    if (r && !id)
        json_object_del(r, "id");
    return r;
}

static int version_at_least(const struct ph_mcp *m, const char *v)
{
    /* The versions are dates, so they compare as strings. */
    return strcmp(m->version, v) >= 0;
}

/* A tool name MCP clients and model APIs accept. */
static int valid_tool_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static json_t *tool_of(const char *name, const char *title, json_t *method)
{
    const char *desc = json_string_value(json_object_get(method, "description"));
    /* A method may declare a JSON Schema for its params ("params_schema" in
     * its handshake); MCP takes one only with an object at the root, which
     * is also the only way a tool's arguments can arrive. */
    json_t *schema = json_object_get(method, "params_schema");
    const char *root = json_string_value(json_object_get(schema, "type"));
    int own = json_is_object(schema) && root && strcmp(root, "object") == 0;
    /* Without a schema, the method's one-line parameter notes are what
     * tells a model what to pass; with one, they would only repeat it. */
    const char *params = own ? NULL : json_string_value(json_object_get(method, "params"));
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s%s%sCalls %s with the arguments as its params by name.",
             desc ? desc : "", desc ? ". " : "", params ? "Parameters: " : "", params ? params : "",
             params ? ". " : "", title);
    json_t *input = own ? json_incref(schema)
                        : json_pack("{s:s,s:b}", "type", "object", "additionalProperties", 1);
    return json_pack("{s:s,s:s,s:s,s:o}", "name", name, "title", title, "description", text,
                     "inputSchema", input);
}

static int build_tools(struct ph_mcp *m)
{
    json_decref(m->tools);
    json_decref(m->routes);
    m->tools = json_array();
    m->routes = json_object();
    json_t *d = ph_host_describe(m->host);
    if (!m->tools || !m->routes || !d) {
        json_decref(d);
        return -1;
    }
    size_t i, j;
    json_t *p, *me;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        const char *plugin = json_string_value(json_object_get(p, "name"));
        json_array_foreach(json_object_get(p, "methods"), j, me)
        {
            const char *method = json_string_value(json_object_get(me, "name"));
            if (!plugin || !method)
                continue;
            char name[600], title[600];
            snprintf(name, sizeof name, "%s%s%s", plugin, PH_MCP_TOOL_SEP, method);
            snprintf(title, sizeof title, "%s.%s", plugin, method);
            if (!valid_tool_name(name)) {
                say(m, "mcp: %s is not offered: \"%s\" is not a valid MCP tool name", title, name);
                continue;
            }
            if (json_object_get(m->routes, name)) {
                say(m, "mcp: %s is not offered: its tool name %s is taken", title, name);
                continue;
            }
            json_array_append_new(m->tools, tool_of(name, title, me));
            json_object_set_new(
                m->routes, name,
                json_pack("{s:s,s:s,s:s}", "plugin", plugin, "method", method, "title", title));
        }
    }
    json_decref(d);
    return 0;
}

/* MCP wants a tool's output as content blocks; text is what every client
 * shows a model. A string is given as itself, anything else as JSON. */
static json_t *tool_result(const struct ph_mcp *m, json_t *result)
{
    char *text = json_is_string(result) ? strdup(json_string_value(result))
                                        : json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                          text ? text : "", "isError", 0);
    free(text);
    /* Structured output exists from 2025-06-18 on, and only as an object. */
    if (r && json_is_object(result) && version_at_least(m, "2025-06-18"))
        json_object_set(r, "structuredContent", result);
    return r;
}

static json_t *tool_error(const char *title, json_t *error)
{
    char *obj = json_dumps(error, JSON_COMPACT);
    char head[768];
    snprintf(head, sizeof head, "%s failed: %s (code %lld)", title,
             json_string_value(json_object_get(error, "message")),
             (long long)json_integer_value(json_object_get(error, "code")));
    size_t n = strlen(head) + (obj ? strlen(obj) : 0) + 16;
    char *text = malloc(n);
    if (text)
        snprintf(text, n, "%s\nerror: %s", head, obj ? obj : "{}");
    json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
                          text ? text : head, "isError", 1);
    free(text);
    free(obj);
    return r;
}

static void unlink_pending(struct ph_mcp *m, struct pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        m->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
}

static void free_pending(struct pending *p)
{
    json_decref(p->id);
    json_decref(p->token);
    json_decref(p->title);
    free(p);
}

static void on_answer(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    struct pending *p = ud;
    struct ph_mcp *m = p->m;
    (void)call_id;
    unlink_pending(m, p);
    m->inflight--;
    if (!p->cancelled) {
        json_t *r =
            result ? tool_result(m, result) : tool_error(json_string_value(p->title), error);
        respond(m, p->batch, r ? ph_wire_response(p->id, r) : NULL);
    }
    if (p->batch)
        batch_done_one(m, p->batch);
    free_pending(p);
}

static void progress(struct ph_mcp *m, json_t *ev)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(ev, "call_id"));
    json_t *value = json_object_get(ev, "value");
    for (struct pending *p = m->pending; p; p = p->next) {
        if (p->call_id != id || !p->token || p->cancelled)
            continue;
        /* MCP's progress is a number that must increase; a plugin's value
         * is any JSON, so it is used when it fits and described otherwise. */
        double v = json_is_number(value) ? json_number_value(value) : 0;
        int fits = json_is_number(value) && v > p->progress;
        p->progress = fits ? v : p->progress + 1;
        /* Whole steps stay integers on the wire, as a client would count. */
        int whole = p->progress > -9007199254740992.0 && p->progress < 9007199254740992.0 &&
                    p->progress == (double)(json_int_t)p->progress;
        json_t *num = whole ? json_integer((json_int_t)p->progress) : json_real(p->progress);
        json_t *params = json_pack("{s:O,s:o}", "progressToken", p->token, "progress", num);
        if (!params)
            continue;
        if (!fits && value) {
            char *s = json_is_string(value) ? strdup(json_string_value(value))
                                            : json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s)
                json_object_set_new(params, "message", json_string(s));
            free(s);
        }
        json_t *n = ph_wire_request(NULL, "notifications/progress", params);
        emit(m, n);
        json_decref(n);
        json_decref(params);
    }
}

static void on_event(void *ud, json_t *ev)
{
    struct ph_mcp *m = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "progress") == 0) {
        progress(m, ev);
        return;
    }
    if (m->opt.on_event)
        m->opt.on_event(m->opt.event_ud, ev);
}

static void cancel(struct ph_mcp *m, json_t *params)
{
    json_t *id = json_object_get(params, "requestId");
    for (struct pending *p = m->pending; p; p = p->next)
        if (!p->cancelled && json_equal(p->id, id)) {
            p->cancelled = 1;
            ph_host_cancel(m->host, p->call_id);
            return;
        }
}

static json_t *initialize(struct ph_mcp *m, json_t *params)
{
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    if (!asked)
        return NULL;
    m->version = versions[0];
    for (size_t i = 0; i < NVERSIONS; i++)
        if (strcmp(asked, versions[i]) == 0)
            m->version = versions[i];
    return json_pack("{s:s,s:{s:{s:b}},s:{s:s,s:s},s:s}", "protocolVersion", m->version,
                     "capabilities", "tools", "listChanged", 1, "serverInfo", "name", "plughost",
                     "version", PH_VERSION, "instructions",
                     "Each tool is a method of a sandboxed plugin: the tool PLUGIN" PH_MCP_TOOL_SEP
                     "METHOD calls PLUGIN.METHOD with the arguments as its named params. A "
                     "failed call (including a crashed or killed plugin) is a result with "
                     "isError set, whose text says why.");
}

/* Starts a tools/call; answers at once only when it cannot start. */
static void call_tool(struct ph_mcp *m, struct batch *b, json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name || (args && !json_is_object(args) && !json_is_null(args))) {
        respond(m, b,
                err_response(id, PH_RPC_INVALID_PARAMS, "Invalid params",
                             "tools/call needs a string name and an object of arguments"));
        return;
    }
    json_t *route = json_object_get(m->routes, name);
    if (!route) {
        char detail[300];
        snprintf(detail, sizeof detail, "unknown tool \"%.200s\"", name);
        respond(m, b, err_response(id, PH_RPC_INVALID_PARAMS, "Unknown tool", detail));
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        respond(m, b, err_response(id, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return;
    }
    json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
    p->m = m;
    p->id = json_incref(id);
    p->token = (json_is_string(token) || json_is_integer(token)) ? json_incref(token) : NULL;
    p->title = json_incref(json_object_get(route, "title"));
    ph_error err;
    if (ph_host_call_async(m->host, json_string_value(json_object_get(route, "plugin")),
                           json_string_value(json_object_get(route, "method")),
                           json_is_object(args) ? args : NULL, on_answer, p, &p->call_id,
                           &err) < 0) {
        /* The tool exists, so this is the host refusing the call (out of
         * memory, too large): the model should see that, as a result. */
        json_t *e = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, err.text, NULL);
        json_t *r = tool_error(json_string_value(p->title), e);
        respond(m, b, r ? ph_wire_response(id, r) : NULL);
        json_decref(e);
        free_pending(p);
        return;
    }
    p->batch = b;
    if (b)
        b->outstanding++;
    p->next = m->pending;
    if (m->pending)
        m->pending->prev = p;
    m->pending = p;
    m->inflight++;
}

/* Handles one message object (alone or from a batch). */
static void handle_one(struct ph_mcp *m, json_t *req, struct batch *b)
{
    ph_wire_msg w;
    char why[200];
    json_t *id = json_object_get(req, "id");
    if (ph_wire_classify(req, &w, why, sizeof why) < 0) {
        json_t *rid = (json_is_string(id) || json_is_integer(id)) ? id : NULL;
        respond(m, b, err_response(rid, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
        return;
    }
    /* This server never sends a request, so a response answers nothing. */
    if (w.kind != PH_MSG_REQUEST && w.kind != PH_MSG_NOTIFICATION)
        return;
    if (w.kind == PH_MSG_NOTIFICATION) {
        /* Unknown notifications are ignored, as JSON-RPC requires. */
        if (strcmp(w.method, "notifications/cancelled") == 0)
            cancel(m, w.params);
        else if (strcmp(w.method, "notifications/initialized") == 0)
            m->initialized = 1;
        return;
    }
    if (m->stopping) {
        respond(m, b, err_response(w.id, PH_RPC_INTERNAL_ERROR, "Server shutting down", NULL));
        return;
    }
    if (strcmp(w.method, "tools/call") == 0) {
        call_tool(m, b, w.id, w.params);
        return;
    }
    json_t *result = NULL;
    const char *bad = "params";
    if (strcmp(w.method, "initialize") == 0) {
        result = initialize(m, w.params);
        bad = "initialize needs a string protocolVersion";
    } else if (strcmp(w.method, "ping") == 0) {
        result = json_object();
    } else if (strcmp(w.method, "tools/list") == 0) {
        /* Every tool fits in one page, so no cursor was ever handed out. */
        if (json_object_get(w.params, "cursor"))
            bad = "unknown cursor";
        else
            result = json_pack("{s:O}", "tools", m->tools);
    } else {
        respond(m, b, err_response(w.id, PH_RPC_METHOD_NOT_FOUND, "Method not found", w.method));
        return;
    }
    respond(m, b,
            result ? ph_wire_response(w.id, result)
                   : err_response(w.id, PH_RPC_INVALID_PARAMS, "Invalid params", bad));
}

static void handle_message(struct ph_mcp *m, const char *text, size_t len)
{
    char why[300];
    json_t *v = ph_wire_parse(text, len, why, sizeof why);
    if (!v) {
        respond(m, NULL, err_response(NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        return;
    }
    if (!json_is_array(v)) {
        handle_one(m, v, NULL);
    } else if (json_array_size(v) == 0) {
        respond(m, NULL, err_response(NULL, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
    } else {
        /* 2025-03-26 lets clients batch; later versions dropped it, but
         * answering one costs nothing. */
        struct batch *b = calloc(1, sizeof *b);
        if (b)
            b->responses = json_array();
        if (!b || !b->responses) {
            free(b);
            respond(m, NULL,
                    err_response(NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        } else {
            size_t i;
            json_t *el;
            b->outstanding = 1; /* held while the elements are read */
            json_array_foreach(v, i, el) handle_one(m, el, b);
            b->closed = 1;
            batch_done_one(m, b);
        }
    }
    json_decref(v);
}

static int blocked(const struct ph_mcp *m)
{
    return !m->stopping && m->inflight >= m->opt.max_inflight;
}

static void pump(struct ph_mcp *m)
{
    while (!blocked(m)) {
        const char *body;
        size_t len;
        char why[300];
        enum ph_frame_result r = ph_frame_rx_next(&m->rx, &body, &len, why, sizeof why);
        if (r == PH_FRAME_NONE)
            return;
        if (r == PH_FRAME_MSG) {
            handle_message(m, body, len);
        } else {
            say(m, "framing error: %s", why);
            respond(m, NULL, err_response(NULL, PH_RPC_PARSE_ERROR, "Parse error", why));
        }
    }
}

ph_mcp *ph_mcp_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out, void *ud)
{
    struct ph_mcp *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (opts)
        m->opt = *opts;
    if (!m->opt.max_message)
        m->opt.max_message = PH_WIRE_DEFAULT_MAX;
    if (!m->opt.max_inflight)
        m->opt.max_inflight = PH_SERVE_MAX_INFLIGHT;
    m->host = host;
    m->out = out;
    m->out_ud = ud;
    m->version = versions[0];
    if (build_tools(m) < 0) {
        json_decref(m->tools);
        json_decref(m->routes);
        free(m);
        return NULL;
    }
    ph_frame_rx_init(&m->rx, PH_FRAMING_LINE, m->opt.max_message);
    ph_host_set_event_handler(host, on_event, m);
    return m;
}

int ph_mcp_feed(ph_mcp *m, const char *bytes, size_t n)
{
    if (m->input_done)
        return 0;
    if (ph_frame_rx_append(&m->rx, bytes, n) < 0) {
        say(m, "out of memory for client input");
        respond(m, NULL,
                err_response(NULL, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return -1;
    }
    pump(m);
    return 0;
}

void ph_mcp_flush(ph_mcp *m)
{
    pump(m);
}

void ph_mcp_eof(ph_mcp *m)
{
    if (m->input_done)
        return;
    m->input_done = 1;
    ph_frame_rx_eof(&m->rx);
    pump(m);
}

void ph_mcp_stop(ph_mcp *m)
{
    if (m->stopping)
        return;
    m->stopping = 1;
    m->input_done = 1;
    pump(m);
    if (ph_frame_rx_buffered(&m->rx))
        say(m, "stopping: an incomplete message from the client is dropped");
    ph_frame_rx_free(&m->rx);
    ph_frame_rx_init(&m->rx, PH_FRAMING_LINE, m->opt.max_message);
}

void ph_mcp_tools_changed(ph_mcp *m)
{
    json_t *before = json_incref(m->tools);
    if (build_tools(m) < 0) {
        say(m, "mcp: out of memory rebuilding the tool list; it is empty now");
        json_decref(before);
        return;
    }
    int changed = !json_equal(before, m->tools);
    json_decref(before);
    /* Before notifications/initialized the client has not listed anything
     * it could hold stale. */
    if (changed && m->initialized) {
        json_t *n = ph_wire_request(NULL, "notifications/tools/list_changed", NULL);
        emit(m, n);
        json_decref(n);
    }
}

void ph_mcp_cancel_all(ph_mcp *m)
{
    /* Not the client's cancellation: each call still gets its answer, a
     * result with isError saying it was cancelled. */
    for (struct pending *p = m->pending; p; p = p->next)
        ph_host_cancel(m->host, p->call_id);
}

int ph_mcp_wants_input(const ph_mcp *m)
{
    return !m->input_done && !blocked(m);
}

size_t ph_mcp_inflight(const ph_mcp *m)
{
    return m->inflight;
}

int ph_mcp_done(const ph_mcp *m)
{
    return m->input_done && m->inflight == 0 && !ph_frame_rx_buffered(&m->rx);
}

void ph_mcp_free(ph_mcp *m)
{
    if (!m)
        return;
    while (m->pending) {
        struct pending *p = m->pending;
        m->pending = p->next;
        if (p->batch && --p->batch->outstanding == 0) {
            json_decref(p->batch->responses);
            free(p->batch);
        }
        free_pending(p);
    }
    ph_frame_rx_free(&m->rx);
    json_decref(m->tools);
    json_decref(m->routes);
    free(m);
}
