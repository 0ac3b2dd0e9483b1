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
#include "session.h"
#include "wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tools/call waiting for the host; the host hands it back as ud. */
struct pending {
    struct ph_mcp *m;
    uint64_t call_id;
    json_t *id;      /* owned */
    json_t *token;   /* owned; the client's progressToken, or NULL */
    json_t *title;   /* owned; "PLUGIN.METHOD", for error texts */
    double progress; /* last progress value sent: MCP wants it to grow */
    int cancelled;   /* by the client: its answer is dropped */
    struct ph_sess_batch *batch;
    struct pending *prev, *next;
};

struct ph_mcp {
    struct ph_sess sess; /* first: the handler casts back */
    json_t *tools;       /* array of MCP Tool objects, as tools/list answers */
    json_t *routes;      /* tool name -> {"plugin", "method", "title"} */
    const char *version; /* negotiated; static storage */
    struct pending *pending;
    int initialized; /* the client said so: it may now hear list changes */
};

static const char *const versions[] = PH_MCP_VERSIONS;
#define NVERSIONS (sizeof versions / sizeof versions[0])

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

/* The tool list and its routes, built once per host and shared, by
 * reference, by every MCP session on it: a listening server with many
 * clients holds one copy, not one per client. Sessions hold references;
 * the last one to go frees it. Rebuilt after a reload (ph_mcp_tools_stale),
 * by the first session told of it. The CLI is one thread. */
static struct {
    ph_host *host;
    json_t *tools, *routes;
    unsigned users;
    int stale;
} catalog;

void ph_mcp_tools_stale(ph_host *host)
{
    if (catalog.host == host)
        catalog.stale = 1;
}

static int build_catalog(struct ph_mcp *m)
{
    json_decref(catalog.tools);
    json_decref(catalog.routes);
    catalog.host = m->sess.host;
    catalog.stale = 0;
    catalog.tools = json_array();
    catalog.routes = json_object();
    json_t *d = ph_host_describe(m->sess.host);
    if (!catalog.tools || !catalog.routes || !d) {
        json_decref(d);
        json_decref(catalog.tools);
        json_decref(catalog.routes);
        catalog.tools = catalog.routes = NULL;
        catalog.host = NULL;
        return -1;
    }
    /* A lazy host's listing may change without a reload (a cold plugin's
     * file changed, a real hello differed from the cached one): built
     * afresh for every tools/list, never served stale. */
    catalog.stale = json_is_true(json_object_get(d, "lazy"));
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
                ph_sess_say(&m->sess, "mcp: %s is not offered: \"%s\" is not a valid MCP tool name",
                            title, name);
                continue;
            }
            if (json_object_get(catalog.routes, name)) {
                ph_sess_say(&m->sess, "mcp: %s is not offered: its tool name %s is taken", title,
                            name);
                continue;
            }
            /* A plugin whose pin no longer matches is not listed; its
             * route stays so that a call is told why (host/pins.c). */
            if (!json_object_get(p, "pin_changes"))
                json_array_append_new(catalog.tools, tool_of(name, title, me));
            json_object_set_new(
                catalog.routes, name,
                json_pack("{s:s,s:s,s:s}", "plugin", plugin, "method", method, "title", title));
        }
    }
    json_decref(d);
    return 0;
}

/* Points the session at the host's catalog, built if there is none (or
 * none current). */
static int build_tools(struct ph_mcp *m)
{
    if ((!catalog.tools || catalog.host != m->sess.host || catalog.stale) && build_catalog(m) < 0) {
        json_decref(m->tools);
        json_decref(m->routes);
        m->tools = m->routes = NULL;
        return -1;
    }
    json_decref(m->tools);
    json_decref(m->routes);
    m->tools = json_incref(catalog.tools);
    m->routes = json_incref(catalog.routes);
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
    m->sess.inflight--;
    if (!p->cancelled) {
        json_t *r =
            result ? tool_result(m, result) : tool_error(json_string_value(p->title), error);
        ph_sess_respond(&m->sess, p->batch, r ? ph_wire_response(p->id, r) : NULL);
    }
    if (p->batch)
        ph_sess_batch_done_one(&m->sess, p->batch);
    free_pending(p);
}

/* Returns 1 when the progress was of one of this session's calls. */
static int progress(struct ph_mcp *m, json_t *ev)
{
    uint64_t id = (uint64_t)json_integer_value(json_object_get(ev, "call_id"));
    json_t *value = json_object_get(ev, "value");
    int mine = 0;
    for (struct pending *p = m->pending; p; p = p->next) {
        if (p->call_id != id)
            continue;
        mine = 1;
        if (!p->token || p->cancelled)
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
        ph_sess_emit(&m->sess, n);
        json_decref(n);
        json_decref(params);
    }
    return mine;
}

static void on_event(void *ud, json_t *ev)
{
    struct ph_mcp *m = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "progress") == 0) {
        progress(m, ev);
        return;
    }
    if (m->sess.opt.on_event)
        m->sess.opt.on_event(m->sess.opt.event_ud, ev);
}

int ph_mcp_event(ph_mcp *m, json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    return type && strcmp(type, "progress") == 0 && progress(m, ev);
}

static void cancel(struct ph_mcp *m, json_t *params)
{
    json_t *id = json_object_get(params, "requestId");
    for (struct pending *p = m->pending; p; p = p->next)
        if (!p->cancelled && json_equal(p->id, id)) {
            p->cancelled = 1;
            ph_host_cancel(m->sess.host, p->call_id);
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
static void call_tool(struct ph_mcp *m, struct ph_sess_batch *b, json_t *id, json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name || (args && !json_is_object(args) && !json_is_null(args))) {
        ph_sess_respond(&m->sess, b,
                        ph_sess_error(&m->sess, id, PH_RPC_INVALID_PARAMS, "Invalid params",
                                      "tools/call needs a string name and an object of arguments"));
        return;
    }
    json_t *route = json_object_get(m->routes, name);
    if (!route) {
        char detail[300];
        snprintf(detail, sizeof detail, "unknown tool \"%.200s\"", name);
        ph_sess_respond(&m->sess, b,
                        ph_sess_error(&m->sess, id, PH_RPC_INVALID_PARAMS, "Unknown tool", detail));
        return;
    }
    struct pending *p = calloc(1, sizeof *p);
    if (!p) {
        ph_sess_respond(
            &m->sess, b,
            ph_sess_error(&m->sess, id, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory"));
        return;
    }
    json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
    p->m = m;
    p->id = json_incref(id);
    p->token = (json_is_string(token) || json_is_integer(token)) ? json_incref(token) : NULL;
    p->title = json_incref(json_object_get(route, "title"));
    ph_error err;
    if (ph_host_call_async(m->sess.host, json_string_value(json_object_get(route, "plugin")),
                           json_string_value(json_object_get(route, "method")),
                           json_is_object(args) ? args : NULL, on_answer, p, &p->call_id,
                           &err) < 0) {
        /* The tool exists, so this is the host refusing the call (out of
         * memory, too large): the model should see that, as a result. */
        json_t *e = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, err.text, NULL);
        json_t *r = tool_error(json_string_value(p->title), e);
        ph_sess_respond(&m->sess, b, r ? ph_wire_response(id, r) : NULL);
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
    m->sess.inflight++;
}

/* Handles one message object (alone or from a batch). */
static void handle_one(struct ph_sess *sess, json_t *req, struct ph_sess_batch *b)
{
    struct ph_mcp *m = (struct ph_mcp *)sess;
    ph_wire_msg w;
    char why[200];
    json_t *id = json_object_get(req, "id");
    if (ph_wire_classify(req, &w, why, sizeof why) < 0) {
        json_t *rid = (json_is_string(id) || json_is_integer(id)) ? id : NULL;
        ph_sess_respond(
            &m->sess, b,
            ph_sess_error(&m->sess, rid, PH_RPC_INVALID_REQUEST, "Invalid Request", NULL));
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
    if (m->sess.stopping) {
        ph_sess_respond(
            &m->sess, b,
            ph_sess_error(&m->sess, w.id, PH_RPC_INTERNAL_ERROR, "Server shutting down", NULL));
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
        else if (catalog.stale && build_tools(m) < 0)
            bad = "out of memory building the tool list";
        else
            result = json_pack("{s:O}", "tools", m->tools);
    } else {
        ph_sess_respond(
            &m->sess, b,
            ph_sess_error(&m->sess, w.id, PH_RPC_METHOD_NOT_FOUND, "Method not found", w.method));
        return;
    }
    ph_sess_respond(
        &m->sess, b,
        result ? ph_wire_response(w.id, result)
               : ph_sess_error(&m->sess, w.id, PH_RPC_INVALID_PARAMS, "Invalid params", bad));
}

ph_mcp *ph_mcp_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out, void *ud)
{
    struct ph_mcp *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    /* The MCP stdio transport is one message a line. */
    ph_sess_init(&m->sess, host, opts, out, ud, PH_FRAMING_LINE, handle_one);
    m->sess.omit_null_id = 1;
    m->version = versions[0];
    if (build_tools(m) < 0) {
        ph_frame_rx_free(&m->sess.rx);
        free(m);
        return NULL;
    }
    catalog.users++;
    if (!m->sess.opt.routed_events)
        ph_host_set_event_handler(host, on_event, m);
    return m;
}

int ph_mcp_feed(ph_mcp *m, const char *bytes, size_t n)
{
    return ph_sess_feed(&m->sess, bytes, n);
}

void ph_mcp_flush(ph_mcp *m)
{
    ph_sess_pump(&m->sess);
}

void ph_mcp_eof(ph_mcp *m)
{
    ph_sess_eof(&m->sess);
}

void ph_mcp_stop(ph_mcp *m)
{
    ph_sess_stop(&m->sess);
}

void ph_mcp_tools_changed(ph_mcp *m)
{
    json_t *before = json_incref(m->tools);
    if (build_tools(m) < 0) {
        ph_sess_say(&m->sess, "mcp: out of memory rebuilding the tool list; it is empty now");
        json_decref(before);
        return;
    }
    int changed = !json_equal(before, m->tools);
    json_decref(before);
    /* Before notifications/initialized the client has not listed anything
     * it could hold stale. */
    if (changed && m->initialized) {
        json_t *n = ph_wire_request(NULL, "notifications/tools/list_changed", NULL);
        ph_sess_emit(&m->sess, n);
        json_decref(n);
    }
}

void ph_mcp_cancel_all(ph_mcp *m)
{
    /* Not the client's cancellation: each call still gets its answer, a
     * result with isError saying it was cancelled. */
    for (struct pending *p = m->pending; p; p = p->next)
        ph_host_cancel(m->sess.host, p->call_id);
}

int ph_mcp_wants_input(const ph_mcp *m)
{
    return ph_sess_wants_input(&m->sess);
}

size_t ph_mcp_inflight(const ph_mcp *m)
{
    return m->sess.inflight;
}

int ph_mcp_done(const ph_mcp *m)
{
    return ph_sess_done(&m->sess);
}

void ph_mcp_free(ph_mcp *m)
{
    if (!m)
        return;
    while (m->pending) {
        struct pending *p = m->pending;
        m->pending = p->next;
        ph_sess_batch_release(p->batch);
        free_pending(p);
    }
    ph_sess_free(&m->sess);
    json_decref(m->tools);
    json_decref(m->routes);
    if (--catalog.users == 0) {
        json_decref(catalog.tools);
        json_decref(catalog.routes);
        catalog.tools = catalog.routes = NULL;
        catalog.host = NULL;
    }
    free(m);
}
