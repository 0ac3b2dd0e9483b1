/*
 * supervisor: the message side of one instance, from its start (spawn.c)
 * to its end (ending.c): it reads and checks every message the plugin
 * sends, the handshake first, and answers calls with what comes back.
 *
 * It must never let a plugin's bytes reach the rest of the host unchecked:
 * anything the protocol does not allow at that moment is a breach, and a
 * breach ends the plugin. It calls only down (channel.c, hostfn.c, pins.c,
 * record.c, calls.c); what the layers above need to hear (a hello arrived,
 * an instance is ready) goes through the host's hooks (struct ph_hooks).
 */
#include "bounds.h"
#include "internal.h"
#include "jscan.h"
#include "schema.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void breach(struct ph_plug *p, const char *why)
{
    /* The reason may quote what the plugin sent: if it is not valid UTF-8
     * (json_string() refuses it), it is escaped, so that the breach is
     * named whatever the bytes were. */
    json_t *reason = json_string(why ? why : "unnamed breach");
    if (!reason) {
        char esc[600];
        ph_wire_escape(why, strlen(why), esc, sizeof esc);
        reason = json_string(esc);
    }
    json_t *data = json_object();
    if (data && reason)
        json_object_set(data, "breach", reason);
    json_decref(reason);
    ph_plug_kill(p, PH_END_PROTOCOL, data);
}

int ph_plug_has_method(const struct ph_plug *p, const char *method)
{
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(p->hello, "methods"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "name")), method) == 0)
            return 1;
    }
    return 0;
}

json_t *ph_plug_schema(const struct ph_plug *p, const char *method)
{
    json_t *m;
    size_t i;
    json_array_foreach(json_object_get(p->hello, "methods"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "name")), method) == 0)
            return json_object_get(m, "params_schema");
    }
    return NULL;
}

/* ---- receiving ---- */

static struct ph_call *find_call(struct ph_plug *p, json_t *id)
{
    if (!json_is_integer(id))
        return NULL;
    struct ph_call *c = ph_call_find(p->host, (uint64_t)json_integer_value(id));
    return c && c->plug == p && c->sent ? c : NULL;
}

/* A plugin's own error reaches the caller with the code, message and data
 * the method gave, data unchanged and of any type (absent if it gave none):
 * the host adds nothing to it and removes nothing from it. What tells the
 * caller a report of the host's from a plugin's error is the code alone,
 * which the host checks here: a code the host reserves (ph_rpc_code_reserved)
 * becomes -32603, the plugin's code kept beside it as original_code, a
 * member of the error object the plugin cannot set (anything else in its
 * error object is dropped). So data.status and the details beside it are
 * the host's whenever the code is one of its reports, and the plugin's
 * bytes never pass for one. */
static json_t *plugin_error(json_t *error)
{
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    json_t *e = json_pack("{s:I,s:s}", "code", code, "message", message ? message : "");
    if (!e)
        return NULL;
    if (ph_rpc_code_reserved(code)) {
        json_object_set_new(e, "code", json_integer(PH_RPC_INTERNAL_ERROR));
        json_object_set_new(e, "original_code", json_integer(code));
    }
    json_t *data = json_object_get(error, "data");
    if (data)
        json_object_set(e, "data", data);
    return e;
}

static int valid_hello(struct ph_plug *p, json_t *params, char *why, size_t whylen)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *methods = json_object_get(params, "methods");
    if (json_integer_value(json_object_get(params, "protocol")) != PH_PROTOCOL_VERSION) {
        snprintf(why, whylen, "handshake: protocol version is not %d", PH_PROTOCOL_VERSION);
        return -1;
    }
    if (!name || !*name || strlen(name) > 63 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(name) ||
        !json_is_string(json_object_get(params, "version")) || !json_is_array(methods)) {
        snprintf(why, whylen, "handshake: bad name, version or methods");
        return -1;
    }
    json_t *pdesc = json_object_get(params, "description");
    if (json_string_length(json_object_get(params, "version")) > PH_BOUND_HELLO_VERSION ||
        (pdesc &&
         (!json_is_string(pdesc) || json_string_length(pdesc) > PH_BOUND_HELLO_DESCRIPTION))) {
        snprintf(why, whylen,
                 "handshake: version (at most %d bytes) or description (at most %d bytes) too "
                 "long or not a string",
                 PH_BOUND_HELLO_VERSION, PH_BOUND_HELLO_DESCRIPTION);
        return -1;
    }
    if (json_array_size(methods) > PH_BOUND_HELLO_METHODS) {
        snprintf(why, whylen, "handshake: %zu methods, more than %d", json_array_size(methods),
                 PH_BOUND_HELLO_METHODS);
        return -1;
    }
    size_t i;
    json_t *m;
    json_array_foreach(methods, i, m)
    {
        const char *mn = json_string_value(json_object_get(m, "name"));
        if (!mn || !*mn || strchr(mn, '.') || strlen(mn) > PH_BOUND_METHOD_NAME) {
            snprintf(why, whylen, "handshake: method %zu has a bad name", i);
            return -1;
        }
        /* Each text is kept for as long as the plugin is, and copied into
         * every listing and tool list: bounded one by one, not only by the
         * size of the hello. */
        json_t *desc = json_object_get(m, "description");
        json_t *doc = json_object_get(m, "params");
        if ((desc &&
             (!json_is_string(desc) || json_string_length(desc) > PH_BOUND_METHOD_DESCRIPTION)) ||
            (doc &&
             (!json_is_string(doc) || json_string_length(doc) > PH_BOUND_METHOD_PARAMS_DOC))) {
            snprintf(why, whylen,
                     "handshake: method %zu: description (at most %d bytes) or params (at most "
                     "%d bytes) too long or not a string",
                     i, PH_BOUND_METHOD_DESCRIPTION, PH_BOUND_METHOD_PARAMS_DOC);
            return -1;
        }
        json_t *schema = json_object_get(m, "params_schema");
        char serr[160];
        if (schema) {
            char *enc = json_dumps(schema, JSON_COMPACT | JSON_ENCODE_ANY);
            size_t n = enc ? strlen(enc) : SIZE_MAX;
            free(enc);
            if (n > PH_BOUND_METHOD_SCHEMA) {
                snprintf(why, whylen, "handshake: method %zu: params_schema over %d bytes", i,
                         PH_BOUND_METHOD_SCHEMA);
                return -1;
            }
        }
        if (schema && ph_schema_check(schema, serr, sizeof serr) < 0) {
            snprintf(why, whylen, "handshake: method %s: %s", mn, serr);
            return -1;
        }
    }
    if (p->name && strcmp(p->name, name) != 0) {
        snprintf(why, whylen, "handshake: restarted as \"%s\", was \"%s\"", name, p->name);
        return -1;
    }
    json_t *single = json_object_get(params, "singleton");
    if (single && !json_is_boolean(single)) {
        snprintf(why, whylen, "handshake: singleton must be true or false");
        return -1;
    }
    /* Callers are checked against the head's hello: every instance of a
     * plugin must offer exactly that. */
    /* A head still cold (lazy.c) holds the cached hello, not its own: a
     * slot that is up first is judged by lazy.c (the hello hook) as the head's
     * own would be, not as a breach. */
    if (p->head != p && p->head->hello && !p->head->hello_cached &&
        !json_equal(p->head->hello, params)) {
        snprintf(why, whylen, "handshake: differs from the first instance's");
        return -1;
    }
    return 0;
}

int ph_plug_valid_hello(struct ph_plug *p, json_t *params, char *why, size_t whylen)
{
    return valid_hello(p, params, why, whylen);
}

/* The kernel's name for the descriptor is the only thing that tells a
 * seccomp listener from any other anonymous inode; F_GETFL first, so that a
 * number that is not an open descriptor at all is refused without a path
 * lookup. */
static int is_seccomp_listener(int fd)
{
    char path[64], target[64];
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
        return 0;
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0)
        return 0;
    target[n] = '\0';
    return strcmp(target, "anon_inode:seccomp notify") == 0;
}

/* The call a notification belongs to: the one the plugin was serving when it
 * sent it, so that a server with many clients can hand it to that call's
 * client alone. A plugin without the threads grant serves its calls one at
 * a time in the order sent, so that is the earliest one sent and not yet
 * answered; with threads it is known only when a single call is out. NULL
 * when no call can be named. */
static struct ph_call *serving_call(struct ph_plug *p)
{
    struct ph_call *first = NULL;
    size_t out = 0;
    for (struct ph_call *c = p->host->calls.next; c != &p->host->calls; c = c->next)
        if (c->plug == p && c->sent) {
            if (!first)
                first = c;
            out++;
        }
    return (out == 1 || (first && !p->set.threads)) ? first : NULL;
}

/* Whether one more log (log != 0) or notification fits in this second's
 * budget (bounds.h): a count per kind, and bytes for both, since each is
 * forwarded to an operator or a client whose buffers the plugin would
 * otherwise fill. Past it, each is dropped and counted: the plugin goes on,
 * its flood reaches no one, and the first drop of each kind in each second
 * is reported with the count so far. */
static int within_rate(struct ph_plug *p, int log)
{
    uint64_t now = ph_now_ms();
    if (now - p->rate_window_ms >= 1000) {
        p->rate_window_ms = now;
        p->rate_logs = p->rate_notes = 0;
        p->rate_bytes = 0;
        p->rate_reported = 0;
    }
    unsigned *n = log ? &p->rate_logs : &p->rate_notes;
    unsigned max = log ? PH_BOUND_LOGS_PER_S : PH_BOUND_NOTIFICATIONS_PER_S;
    if (*n < max && p->msg_len <= PH_BOUND_EVENT_BYTES_PER_S - p->rate_bytes) {
        (*n)++;
        p->rate_bytes += p->msg_len;
        return 1;
    }
    unsigned long *dropped = log ? &p->dropped_logs : &p->dropped_notes;
    (*dropped)++;
    unsigned kind = log ? 1u : 2u;
    if (!(p->rate_reported & kind)) {
        p->rate_reported |= kind;
        ph_host_event(p->host, json_pack("{s:s,s:s,s:s,s:I,s:i,s:i}", "type", "rate_limited",
                                         "plugin", p->name, "kind", log ? "log" : "notification",
                                         "dropped", (json_int_t)*dropped, "limit_per_s", (int)max,
                                         "bytes_per_s", PH_BOUND_EVENT_BYTES_PER_S));
    }
    return 0;
}

/* The length of s cut to at most max bytes without splitting a character
 * (s is valid UTF-8: jansson checked it). */
static size_t utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

static void on_notification(struct ph_plug *p, ph_wire_msg *m, int *fd)
{
    struct ph_host *h = p->host;
    if (strcmp(m->method, "ph.sandbox") == 0) {
        if (p->state != PH_P_LOADING || p->notify_fd >= 0)
            return breach(p, "ph.sandbox out of place");
        if (*fd < 0 || !is_seccomp_listener(*fd))
            return breach(p, "ph.sandbox without a seccomp listener");
        p->notify_fd = *fd;
        *fd = -1;
        if (ph_plug_watch(p, p->notify_fd, &p->w_notify, PH_W_NOTIFY) < 0)
            return ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", "epoll failed"));
        json_decref(p->layers);
        p->layers = json_incref(json_object_get(m->params, "layers"));
        p->sandbox_ns = ph_now_ns();
        /* Sent by the loader before any plugin code ran: what it proved in
         * this child decides whether the loading window may open. */
        const char *root = json_string_value(json_object_get(p->layers, "root"));
        json_int_t abi = json_integer_value(json_object_get(p->layers, "landlock_abi"));
        p->lw_pivoted = root && strcmp(root, "libraries only") == 0 && (h->ns_flags & CLONE_NEWNS);
        p->lw_contained = p->lw_pivoted || abi >= 1;
        json_t *pl = json_object_get(m->params, "plugin");
        const char *ppath = json_string_value(json_object_get(pl, "path"));
        p->lw_plugin_path[0] = '\0';
        p->lw_plugin_dev = 0;
        p->lw_plugin_ino = 0;
        if (ppath && strlen(ppath) < sizeof p->lw_plugin_path) {
            snprintf(p->lw_plugin_path, sizeof p->lw_plugin_path, "%s", ppath);
            p->lw_plugin_dev = (dev_t)json_integer_value(json_object_get(pl, "dev"));
            p->lw_plugin_ino = (ino_t)json_integer_value(json_object_get(pl, "ino"));
        }
        if (!p->lw_contained && !ph_weaker_accepted(h, PH_WEAKER_NO_FS_CONTAINMENT)) {
            json_decref(p->setup_failure);
            p->setup_failure =
                json_pack("{s:s,s:s}", "stage", "containment", "message", PH_NO_CONTAINMENT_TEXT);
            return ph_plug_kill(p, PH_END_SETUP_ERROR, NULL);
        }
        /* Only for reporting: anything odd here just leaves the stages out. */
        json_t *t = json_object_get(m->params, "startup_ns");
        for (size_t i = 0; i < 4 && json_array_size(t) == 4; i++) {
            json_int_t v = json_integer_value(json_array_get(t, i));
            p->loader_ns[i] = v > 0 ? (uint64_t)v : 0;
        }
        return;
    }
    if (strcmp(m->method, "ph.loaded") == 0) {
        /* The plugin file is mapped: from now on no open or executable
         * mapping is let through. The loader waits for this answer before it
         * runs the plugin's init, so init never sees the window open. */
        if (p->state != PH_P_LOADING || p->notify_fd < 0 || p->loaded)
            return breach(p, "ph.loaded out of place");
        p->loaded = 1;
        p->loaded_ns = ph_now_ns();
        json_t *go = ph_wire_request(NULL, "ph.proceed", NULL);
        if (!go || ph_plug_send(p, go) < 0)
            ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", "cannot answer ph.loaded"));
        json_decref(go);
        return;
    }
    if (strcmp(m->method, "ph.setup_failed") == 0) {
        if (p->state != PH_P_LOADING)
            return breach(p, "ph.setup_failed after the handshake");
        /* Believed only if the process then ends while still loading: the
         * handshake forgets it (below), and what the kernel saw (a limit)
         * outranks it (classify_end). Only the two strings are kept, each
         * bounded, so the message cannot bring anything else into a report. */
        const char *stage = json_string_value(json_object_get(m->params, "stage"));
        const char *why = json_string_value(json_object_get(m->params, "message"));
        json_decref(p->setup_failure);
        p->setup_failure = json_pack("{s:s%,s:s%}", "stage", stage ? stage : "?",
                                     stage ? utf8_prefix(stage, 64) : 1, "message", why ? why : "",
                                     why ? utf8_prefix(why, 400) : 0);
        return;
    }
    if (strcmp(m->method, "ph.hello") == 0) {
        char why[200];
        if (p->state != PH_P_LOADING || !p->loaded)
            return breach(p, "handshake out of place");
        if (valid_hello(p, m->params, why, sizeof why) < 0)
            return breach(p, why);
        /* A cached hello is compared, the cache kept (lazy.c); a slot up
         * before its cold head settles the pool's hello for it. */
        if (p->head != p && p->head->hello_cached) {
            if (h->hooks.hello)
                h->hooks.hello(p->head, m->params);
            json_decref(p->head->hello);
            p->head->hello = json_incref(m->params);
        }
        if (h->hooks.hello)
            h->hooks.hello(p, m->params);
        json_decref(p->hello);
        p->hello = json_incref(m->params);
        /* Serving: the configuration's maximum from now on. */
        p->rx.max = h->opt.max_message;
        /* Loaded after all: a setup failure it claimed before is void, and
         * never names a later end. */
        json_decref(p->setup_failure);
        p->setup_failure = NULL;
        if (!p->name)
            p->name = strdup(json_string_value(json_object_get(m->params, "name")));
        if (json_is_true(json_object_get(m->params, "singleton")) && !p->singleton &&
            p->head == p && p->set.instances > 1)
            ph_host_event(h, json_pack("{s:s,s:s,s:s,s:s}", "type", "log", "plugin", p->name,
                                       "level", "info", "message",
                                       "a singleton (its hello says so): one instance, not the "
                                       "configured pool"));
        p->singleton = json_is_true(json_object_get(m->params, "singleton"));
        p->state = PH_P_READY;
        p->ready_ns = ph_now_ns();
        ph_record_started(p);
        ph_pins_check(p);
        if (h->hooks.ready)
            h->hooks.ready(p);
        for (struct ph_call *c = h->calls.next; c != &h->calls;) {
            struct ph_call *next = c->next;
            if (c->plug == p && !c->sent && p->pin_blocked)
                ph_call_finish(h, c, NULL, ph_pins_error(p, c->method));
            else if (c->plug == p && !c->sent)
                ph_plug_send_call(p, c);
            c = next;
        }
        return;
    }
    if (p->state != PH_P_READY)
        return breach(p, "notification before the handshake");
    if (strcmp(m->method, "$/log") == 0) {
        json_t *level = json_object_get(m->params, "level");
        json_t *msg = json_object_get(m->params, "message");
        if (!json_is_string(level) || !json_is_string(msg))
            return breach(p, "$/log needs a string level and message");
        if (!within_rate(p, 1))
            return;
        ph_host_event(h, json_pack("{s:s,s:s,s:O,s:O}", "type", "log", "plugin", p->name, "level",
                                   level, "message", msg));
        return;
    }
    if (strcmp(m->method, "$/progress") == 0) {
        struct ph_call *c = find_call(p, json_object_get(m->params, "id"));
        if (!c)
            return breach(p, "$/progress for a call not in flight");
        if (!c->cancelled && within_rate(p, 0))
            ph_host_event(h, json_pack("{s:s,s:s,s:s,s:I,s:O?}", "type", "progress", "plugin",
                                       p->name, "method", c->method, "call_id", (json_int_t)c->id,
                                       "value", json_object_get(m->params, "value")));
        return;
    }
    if (strcmp(m->method, "ph.drop_grant") == 0) {
        /* Grants only narrow: there is no message that sets this back;
         * only a new process (a restart) starts with the configuration's
         * grants again. */
        const char *g = json_string_value(json_object_get(m->params, "grant"));
        if (!g || strcmp(g, "files") != 0)
            return breach(p, "ph.drop_grant of an unknown grant");
        p->files_dropped = 1;
        return;
    }
    if (strncmp(m->method, "$/", 2) == 0 || strncmp(m->method, "ph.", 3) == 0)
        return breach(p, "unknown reserved notification");
    if (!within_rate(p, 0))
        return;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:O?}", "type", "notification", "plugin", p->name,
                           "method", m->method, "params", m->params);
    struct ph_call *serving = serving_call(p);
    if (ev && serving)
        json_object_set_new(ev, "call_id", json_integer((json_int_t)serving->id));
    ph_host_event(h, ev);
}

/* A blob with an answer: the one descriptor an answer may carry, taken only
 * as a sealed memfd of exactly the size its one reference says (and no
 * larger than a message may be), so that mapping it can neither change
 * under the host nor fault. Moves *fd into the call, or ends the plugin. */
static int take_blob(struct ph_plug *p, struct ph_call *c, json_t *result, int *fd)
{
    size_t size = 0;
    char why[200], b[260];
    int refs = ph_wire_blob_find(result, &size, why, sizeof why);
    if (refs == 0)
        snprintf(why, sizeof why, "a descriptor without a blob reference");
    else if (refs == 1 && size > p->host->opt.max_message)
        snprintf(why, sizeof why, "blob of %zu bytes, over the maximum message size", size);
    if (refs != 1 || size > p->host->opt.max_message ||
        ph_wire_blob_check(*fd, size, why, sizeof why) < 0) {
        snprintf(b, sizeof b, "blob: %s", why);
        breach(p, b);
        return -1;
    }
    c->out_fd = *fd;
    *fd = -1;
    return 0;
}

/* The common answer, {"jsonrpc":"2.0","id":N,"result":R}, to a raw call,
 * taken without jansson: R is checked by the scanner and handed on as
 * bytes. Returns 1 if taken; 0 leaves the message to on_message(), which
 * decides everything else (breaches included). */
static int take_raw_answer(struct ph_plug *p, char *text, size_t len, int fd)
{
    struct ph_host *h = p->host;
    if (fd >= 0 || h->opt.trace || h->rec_fd >= 0)
        return 0;
    struct ph_jscan_member m[3];
    size_t n;
    int ws;
    if (ph_jscan_object(text, len, m, 3, &n, &ws) != PH_JSCAN_OK || n != 3 || ws)
        return 0;
    const struct ph_jscan_span *id = ph_jscan_get(m, n, "id");
    const struct ph_jscan_span *res = ph_jscan_get(m, n, "result");
    if (!ph_jscan_is_string(ph_jscan_get(m, n, "jsonrpc"), "2.0") || !id ||
        id->kind != PH_JS_INTEGER || !res || id->text[0] == '-')
        return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < id->len; i++)
        v = v * 10 + (uint64_t)(id->text[i] - '0'); /* at most 18 digits: no overflow */
    struct ph_call *c = ph_call_find(h, v);
    if (!c || c->plug != p || !c->sent || !c->raw_cb)
        return 0;
    char *copy = malloc(res->len ? res->len : 1);
    if (!copy)
        return 0;
    memcpy(copy, res->text, res->len);
    if (h->opt.receipts)
        ph_plug_receipt(p, c);
    ph_call_finish_text(h, c, copy, res->len);
    return 1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads one JSON string at text[*i] (at its opening quote), decoding
 * escapes far enough to compare with ASCII: up to max bytes go to out
 * (*outlen of them), any escape of a non-ASCII character as 0xff.
 * Returns 0, or -1 if it is not a well-formed string. */
static int peek_string(const char *text, size_t len, size_t *i, char *out, size_t max,
                       size_t *outlen)
{
    size_t j = *i + 1, n = 0;
    while (j < len && text[j] != '"') {
        unsigned char c = (unsigned char)text[j++];
        if (c == '\\') {
            if (j >= len)
                return -1;
            char e = text[j++];
            if (e == 'u') {
                unsigned v = 0;
                for (int k = 0; k < 4; k++, j++) {
                    char h = j < len ? text[j] : 0;
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0)
                        return -1;
                    v = v * 16 + (unsigned)d;
                }
                c = v < 0x80 ? (unsigned char)v : 0xff;
            } else {
                const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
                const char *at = e ? strchr(from, e) : NULL;
                if (!at)
                    return -1;
                c = (unsigned char)to[at - from];
            }
        }
        if (n < max)
            out[n] = (char)c;
        n++;
    }
    if (j >= len)
        return -1;
    *i = j + 1;
    *outlen = n < max ? n : max;
    return 0;
}

/* Skips one JSON value at text[*i], strings and nesting only: what is
 * not well formed is left for the parser to refuse. */
static int peek_skip(const char *text, size_t len, size_t *i)
{
    size_t depth = 0;
    char tmp[1];
    size_t tl;
    while (*i < len) {
        char c = text[*i];
        if (c == '"') {
            if (peek_string(text, len, i, tmp, 0, &tl) < 0)
                return -1;
        } else if (c == '{' || c == '[') {
            depth++;
            (*i)++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return 0; /* the end of the enclosing object */
            depth--;
            (*i)++;
        } else if (c == ',' && depth == 0) {
            return 0;
        } else {
            (*i)++;
        }
        if (depth == 0 && (c == '}' || c == ']' || c == '"'))
            return 0;
    }
    return -1;
}

/* What a message is, from its top-level members alone, without building
 * it: 1 if it is an object with a string "method" (the first bytes of the
 * name, decoded, in method[0..*mlen)) and *has_id says whether it has an
 * "id"; 0 if it cannot be told this way. Linear in len; allocates nothing. */
static int peek_message(const char *text, size_t len, char *method, size_t mmax, size_t *mlen,
                        int *has_id)
{
    size_t i = 0;
    int found = 0;
    *has_id = 0;
    while (i < len && is_ws(text[i]))
        i++;
    if (i >= len || text[i++] != '{')
        return 0;
    for (;;) {
        while (i < len && is_ws(text[i]))
            i++;
        if (i >= len || text[i] != '"')
            return 0;
        char key[8];
        size_t klen;
        if (peek_string(text, len, &i, key, sizeof key, &klen) < 0)
            return 0;
        while (i < len && is_ws(text[i]))
            i++;
        if (i >= len || text[i++] != ':')
            return 0;
        while (i < len && is_ws(text[i]))
            i++;
        if (klen == 6 && memcmp(key, "method", 6) == 0 && i < len && text[i] == '"') {
            if (peek_string(text, len, &i, method, mmax, mlen) < 0)
                return 0;
            found = 1;
        } else {
            if (klen == 2 && memcmp(key, "id", 2) == 0)
                *has_id = 1;
            if (peek_skip(text, len, &i) < 0)
                return 0;
        }
        while (i < len && is_ws(text[i]))
            i++;
        if (i < len && text[i] == ',') {
            i++;
            continue;
        }
        return found && i < len && text[i] == '}';
    }
}

/* A notification too large to be worth parsing: a ph.* message, which is
 * never large, is a breach; any other could never fit in a second's
 * budget of events (bounds.h), so it is dropped and counted unparsed,
 * before it costs the host many times its size in parsed values.
 * Returns 1 if the message was dealt with. */
static int large_notification(struct ph_plug *p, const char *text, size_t len, int fd)
{
    char method[3];
    size_t mlen = 0;
    int has_id;
    if (len <= PH_BOUND_HELLO_BYTES || p->state != PH_P_READY || fd >= 0 ||
        peek_message(text, len, method, sizeof method, &mlen, &has_id) != 1 || has_id)
        return 0;
    if (mlen == 3 && memcmp(method, "ph.", 3) == 0) {
        char why[200];
        snprintf(why, sizeof why, "a ph.* message of %zu bytes, over %d", len,
                 PH_BOUND_HELLO_BYTES);
        breach(p, why);
        return 1;
    }
    if (len <= PH_BOUND_EVENT_BYTES_PER_S)
        return 0;
    p->msg_len = len;
    (void)within_rate(p, 0);
    return 1;
}

static void on_message(struct ph_plug *p, char *text, size_t len, int *fd)
{
    char why[300];
    if (take_raw_answer(p, text, len, *fd))
        return;
    ph_plug_trace(p, "from", text, len);
    if (large_notification(p, text, len, *fd))
        return;
    p->msg_len = len;
    json_t *v = ph_wire_parse(text, len, why, sizeof why);
    ph_wire_msg m;
    ph_record_msg(p, 0, v, text, len);
    if (!v || ph_wire_classify(v, &m, why, sizeof why) < 0) {
        breach(p, why);
        json_decref(v);
        return;
    }
    switch (m.kind) {
    case PH_MSG_NOTIFICATION:
        on_notification(p, &m, fd);
        break;
    case PH_MSG_REQUEST:
        if (p->state != PH_P_READY)
            breach(p, "host call before the handshake");
        else
            ph_hostfn_dispatch(p, &m);
        break;
    case PH_MSG_RESULT:
    case PH_MSG_ERROR: {
        struct ph_call *c = find_call(p, m.id);
        if (!c) {
            breach(p, "response to a request never sent");
            break;
        }
        if (p->host->opt.receipts)
            ph_plug_receipt(p, c);
        if (m.kind == PH_MSG_RESULT && *fd >= 0 && take_blob(p, c, m.result, fd) < 0)
            break;
        if (m.kind == PH_MSG_RESULT)
            ph_call_finish(p->host, c, json_incref(m.result), NULL);
        else
            ph_call_finish(p->host, c, NULL, plugin_error(m.error));
        break;
    }
    }
    if (*fd >= 0 && p->cause == PH_END_NONE)
        breach(p, "descriptor sent where none is expected");
    json_decref(v);
}

static void read_records(struct ph_plug *p, int budget, int drain);

void ph_plug_on_sock(struct ph_plug *p, uint32_t events)
{
    if (events & EPOLLOUT)
        ph_plug_flush(p);
    /* Not read while paused, a hung-up socket would wake the loop again
     * and again until the pidfd reports the end. */
    if (p->reading_paused && (events & (EPOLLHUP | EPOLLERR)) && p->sock >= 0)
        (void)epoll_ctl(p->host->epfd, EPOLL_CTL_DEL, p->sock, NULL);
    /* Bounded so one chatty plugin cannot starve the others. */
    read_records(p, 64, 0);
}

void ph_plug_drain(struct ph_plug *p)
{
    /* Everything already sent, up to anything that ends it: an answer it
     * finished before dying (or before a refused call) is its answer, and
     * which call it was running is only known once those are read. The
     * socket buffer bounds how much there is. */
    read_records(p, INT_MAX, 1);
}

/* Whether the kernel is ending pid (PF_EXITING in /proc/PID/stat): set
 * before an exiting process's descriptors are closed, so an end of file
 * from a process without it is a channel closed by a live plugin. A pid
 * not yet reaped is still this plugin's. Unknown counts as exiting. */
static int exiting(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    /* The name may hold anything, ')' included: the fields follow the last. */
    const char *c = strrchr(buf, ')');
    unsigned long flags;
    if (!c || sscanf(c + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
        return 1;
    return (flags & 0x4 /* PF_EXITING */) != 0;
}

static void read_records(struct ph_plug *p, int budget, int drain)
{
    static unsigned char rec[PH_WIRE_RECORD + 1];
    /* Nothing after a breach, a kill or a refused call counts: the plugin's
     * later bytes are those of a plugin already condemned. */
    /* Nor while its unread answers are over their bounds: each request read
     * would add one more (bounds.h). */
    for (; budget > 0 && p->sock >= 0 && p->cause == PH_END_NONE && !p->reading_paused; budget--) {
        /* The credentials (SO_PASSCRED), then room for a few descriptors
         * more than the one a message may carry, so that "too many" is
         * told apart from truncated control data. */
        union {
            char buf[CMSG_SPACE(sizeof(struct ucred)) +
                     CMSG_SPACE(PH_WIRE_MAX_FDS_ROOM * sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {rec, sizeof rec};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof ctl.buf};
        /* MSG_CMSG_CLOEXEC: a descriptor from a plugin is never inheritable,
         * not even before the checks below decide its fate. */
        ssize_t r = recvmsg(p->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or the peer is gone and its pidfd will say */
        }
        /* Every descriptor but the first is closed here; the first is
         * closed below unless the message it came with expects one. */
        int fd, record;
        int nfds = ph_wire_take_fds_cred(&mh, &fd, &record);
        if (r == 0) {
            if (fd >= 0)
                close(fd);
            if (record) {
                /* A record of zero bytes, not end of file: the kernel
                 * attached the sender's credentials, as to every record. */
                breach(p, "empty record (0 bytes; a record holds at least its flag byte)");
                return;
            }
            /* End of file: stop watching the socket so the loop does not
             * spin until the pidfd fires. A process that is not exiting
             * closed its channel and can never answer: it is ended now,
             * not found out at each call's deadline. */
            epoll_ctl(p->host->epfd, EPOLL_CTL_DEL, p->sock, NULL);
            if (!exiting(p->pid))
                breach(p, "closed its channel while still running");
            return;
        }
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds < 0 || nfds > 1) {
            if (fd >= 0)
                close(fd);
            if (mh.msg_flags & MSG_TRUNC)
                ph_plug_kill(
                    p, PH_END_LIMIT,
                    json_pack("{s:s,s:i}", "limit", "record_size", "limit_value", PH_WIRE_RECORD));
            else if (mh.msg_flags & MSG_CTRUNC)
                breach(p, "truncated control data");
            else if (nfds < 0)
                breach(p, "control data other than SCM_RIGHTS");
            else
                breach(p, "more than one descriptor on a record");
            return;
        }
        char *text;
        size_t len;
        char why[200];
        int msg_fd;
        int got =
            ph_wire_rx_feed_fd(&p->rx, rec, (size_t)r, fd, &text, &len, &msg_fd, why, sizeof why);
        if (got < 0) {
            /* Named by the bound that was hit: the handshake's, unless the
             * configuration's maximum is the smaller. */
            if (strstr(why, "larger than") && p->state == PH_P_LOADING &&
                p->rx.max < p->host->opt.max_message) {
                char b[260];
                snprintf(b, sizeof b, "handshake: %s (a message before the handshake is done)",
                         why);
                breach(p, b);
            } else if (strstr(why, "larger than"))
                ph_plug_kill(p, PH_END_LIMIT,
                             json_pack("{s:s,s:I,s:s}", "limit", "max_message", "limit_value",
                                       (json_int_t)p->host->opt.max_message, "detail", why));
            else
                breach(p, why);
            return;
        }
        if (got == 0)
            continue;
        on_message(p, text, len, &msg_fd);
        free(text);
        if (msg_fd >= 0)
            close(msg_fd);
        /* Nothing more awaited: anything else it sent wakes the loop again
         * (level-triggered), so the recvmsg that would mostly say EAGAIN
         * is saved on every one-at-a-time call. */
        if (!drain && p->awaited == 0)
            return;
    }
}
