/*
 * host: the public API (include/plughost/host.h), the event loop, and the
 * bookkeeping of calls: every call gets exactly one answer, delivered from
 * ph_host_process() and never from inside the function that started it.
 *
 * It must never block outside ph_host_process()/ph_host_call() and never
 * parse a plugin's bytes itself (supervisor.c hands it checked messages).
 */
#include "internal.h"
#include "lazy.h"
#include "load_window.h"
#include "jscan.h"
#include "schema.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* How long plugins get to exit after ph.shutdown before they are killed. */
#define PH_SHUTDOWN_GRACE_MS 200

#ifndef PH_LOADER_INSTALLED
#define PH_LOADER_INSTALLED "/usr/local/libexec/plughost/plughost-loader"
#endif

static const char *const end_names[] = {
    [PH_END_NONE] = "running",
    [PH_END_OK] = "ok",
    [PH_END_SETUP_ERROR] = "setup_error",
    [PH_END_VIOLATION] = "violation",
    [PH_END_SIGNALED] = "signaled",
    [PH_END_EXITED] = "exited",
    [PH_END_TIMEOUT] = "timeout",
    [PH_END_KILLED] = "killed",
    [PH_END_PROTOCOL] = "protocol",
    [PH_END_LIMIT] = "limit",
};

int ph_rpc_code_reserved(long long code)
{
    return (code >= -32768 && code <= -32000 && code != PH_RPC_INVALID_PARAMS &&
            code != PH_RPC_INTERNAL_ERROR) ||
           code == PH_RPC_CANCELLED;
}

const char *ph_end_name(enum ph_end end)
{
    if ((unsigned)end < sizeof end_names / sizeof end_names[0] && end_names[end])
        return end_names[end];
    return "unknown";
}

uint64_t ph_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t ph_now_ms(void)
{
    return ph_now_ns() / 1000000ull;
}

/* After a vsnprintf() that returned n into buf of cap bytes: a cut made
 * inside a UTF-8 sequence (a long file name, say) is moved to before it,
 * so the text stays UTF-8 and a JSON report of it can be built. */
static void cut_whole(char *buf, size_t cap, int n)
{
    if (n < 0 || (size_t)n < cap)
        return;
    size_t len = strlen(buf), i = len;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (len - (i - 1) < need)
        buf[i - 1] = '\0';
}

int ph_set_error(ph_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = status;
        int n = vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        cut_whole(err->text, sizeof err->text, n);
    }
    return status;
}

void ph_host_event(struct ph_host *h, json_t *event)
{
    if (event && h->event_fn)
        h->event_fn(h->event_ud, event);
    json_decref(event);
}

json_t *ph_call_error(struct ph_plug *p, const char *method, int code, enum ph_end status,
                      json_t *detail, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cut_whole(msg, sizeof msg, n);
    json_t *data = json_is_object(detail) ? detail : json_object();
    if (!json_is_object(detail))
        json_decref(detail);
    const char *pname = p ? (p->name && !p->initial ? p->name : p->file) : NULL;
    if (pname)
        json_object_set_new(data, "plugin", json_string(pname));
    if (method)
        json_object_set_new(data, "method", json_string(method));
    if (status != PH_END_NONE)
        json_object_set_new(data, "status", json_string(ph_end_name(status)));
    return ph_wire_error_obj(code, msg, data);
}

/* ---- calls ---- */

/* Only calls made by ph_host_call_async are linked: a cancelled call's
 * early answer never is, and is never indexed or timed either. */
static void call_unlink(struct ph_host *h, struct ph_call *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = NULL;
    if (c->sent)
        c->plug->awaited--;
    ph_htab_del(&h->calls_by_id, &c->by_id);
    ph_timers_del(&h->call_timers, &c->timer);
    ph_timers_release(&h->call_timers);
}

static void call_set_deadline(struct ph_host *h, struct ph_call *c, uint64_t at)
{
    c->deadline_ms = at;
    ph_timers_set(&h->call_timers, &c->timer, at);
}

/* When the plugin itself needs the loop's attention: its handshake
 * deadline while loading, its restart time while down after a failure. */
static uint64_t plug_deadline(const struct ph_plug *p)
{
    if (p->state == PH_P_LOADING)
        return p->handshake_deadline_ms;
    if (p->state == PH_P_DOWN && p->restart_at_ms)
        return p->restart_at_ms;
    if (p->state == PH_P_READY)
        return ph_plug_stall_deadline(p); /* its answers unread (bounds.h) */
    return UINT64_MAX;
}

/* Called after anything that may have changed a plugin's state or its
 * deadlines: the supervisor sets them, the host keeps the heap in step. */
static void plug_timer(struct ph_host *h, struct ph_plug *p)
{
    ph_timers_set(&h->plug_timers, &p->timer, plug_deadline(p));
}

static void call_free(struct ph_call *c)
{
    if (c->plug)
        c->plug->ncalls--;
    free(c->method);
    json_decref(c->params);
    free(c->params_text);
    free(c->result_text);
    json_decref(c->result);
    json_decref(c->error);
    if (c->in_fd >= 0)
        close(c->in_fd);
    if (c->out_fd >= 0)
        close(c->out_fd);
    free(c);
}

/* Its callback runs from ph_host_process(), in the order calls finished. */
static void call_done(struct ph_host *h, struct ph_call *c)
{
    c->next = NULL;
    if (h->done_tail)
        h->done_tail->next = c;
    else
        h->done_head = c;
    h->done_tail = c;
}

/* Moves a call to the done list; its callback runs from ph_host_process().
 * A cancelled call was answered already, so its late answer is dropped. */
void ph_call_finish(struct ph_host *h, struct ph_call *c, json_t *result, json_t *error)
{
    call_unlink(h, c);
    if (c->cancelled) {
        json_decref(result);
        json_decref(error);
        call_free(c);
        return;
    }
    c->result = result;
    c->error = result
                   ? NULL
                   : (error ? error : ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "no answer", NULL));
    if (result)
        json_decref(error);
    call_done(h, c);
}

void ph_call_finish_text(struct ph_host *h, struct ph_call *c, char *text, size_t len)
{
    call_unlink(h, c);
    if (c->cancelled) {
        free(text);
        call_free(c);
        return;
    }
    c->result_text = text;
    c->result_len = len;
    call_done(h, c);
}

/* A raw call's callback gets text whichever way the answer came: a result
 * the host had to parse (a trace, a record, bytes the scanner would not
 * vouch for) is encoded compactly here. */
static void answer_raw(struct ph_call *c)
{
    if (c->result_text) {
        c->raw_cb(c->ud, c->id, c->result_text, c->result_len, NULL);
        return;
    }
    char *text = c->result ? json_dumps(c->result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (text) {
        c->raw_cb(c->ud, c->id, text, strlen(text), NULL);
        free(text);
        return;
    }
    json_t *oom = NULL;
    if (c->result)
        oom = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "cannot encode the result", NULL);
    c->raw_cb(c->ud, c->id, NULL, 0, oom ? oom : c->error);
    json_decref(oom);
}

static int run_done(struct ph_host *h)
{
    int n = 0;
    while (h->done_head) {
        struct ph_call *c = h->done_head;
        h->done_head = c->next;
        if (!h->done_head)
            h->done_tail = NULL;
        h->pending--;
        /* A blob caller's callback takes the answer's blob from here. */
        h->running_call = c;
        ph_status_count_call(h, c->plug, c->result || c->result_text, c->error);
        if (c->raw_cb)
            answer_raw(c);
        else if (c->cb)
            c->cb(c->ud, c->id, c->result, c->error);
        h->running_call = NULL;
        call_free(c);
        n++;
    }
    return n;
}

/* Starts a plugin again after it ended; a failure to even spawn fails the
 * calls waiting for it. */
static void restart(struct ph_host *h, struct ph_plug *p)
{
    ph_error e;
    /* A cold plugin's first start is no restart (lazy.c): no process of
     * it has ended (cause_data, which the spawn clears). */
    int first = p->hello_cached && !p->cause_data;
    int rc = ph_plug_spawn(p, &e);
    plug_timer(h, p);
    if (rc == 0) {
        if (!first)
            p->restarts++;
        return;
    }
    for (struct ph_call *c = h->calls.next; c != &h->calls;) {
        struct ph_call *next = c->next;
        if (c->plug == p)
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR,
                                         NULL, "plugin %s cannot be restarted: %s", p->name,
                                         e.text));
        c = next;
    }
    ph_arm_timer(h);
}

/* Only loaded plugins are indexed: one still loading may yet be refused. */
static struct ph_plug *find_plug(struct ph_host *h, const char *name)
{
    uint64_t hash = ph_hash_str(name);
    for (struct ph_hnode *n = ph_htab_find(&h->plugs_by_name, hash); n; n = ph_htab_next(n)) {
        struct ph_plug *p = ph_container_of(n, struct ph_plug, by_name);
        if (strcmp(p->name, name) == 0)
            return p;
    }
    return NULL;
}

struct ph_call *ph_call_find(struct ph_host *h, uint64_t id)
{
    for (struct ph_hnode *n = ph_htab_find(&h->calls_by_id, ph_hash_u64(id)); n;
         n = ph_htab_next(n)) {
        struct ph_call *c = ph_container_of(n, struct ph_call, by_id);
        if (c->id == id)
            return c;
    }
    return NULL;
}

/* What a call starts from: its params as a tree, or as checked text. */
struct call_args {
    json_t *params;   /* borrowed */
    const char *text; /* borrowed; a raw call's params (copied) */
    size_t text_len;
    int in_fd;
    ph_call_fn cb;
    ph_call_raw_fn raw_cb;
    void *ud;
};

static int call_begin(struct ph_host *h, const char *plugin, const char *method,
                      const struct call_args *a, uint64_t *call_id, ph_error *err);

int ph_host_call_async(ph_host *h, const char *plugin, const char *method, json_t *params,
                       ph_call_fn cb, void *ud, uint64_t *call_id, ph_error *err)
{
    return ph_call_start(h, plugin, method, params, -1, cb, ud, call_id, err);
}

int ph_call_start(struct ph_host *h, const char *plugin, const char *method, json_t *params,
                  int in_fd, ph_call_fn cb, void *ud, uint64_t *call_id, ph_error *err)
{
    struct call_args a = {.params = params, .in_fd = in_fd, .cb = cb, .ud = ud};
    return call_begin(h, plugin, method, &a, call_id, err);
}

int ph_host_call_raw_async(ph_host *h, const char *plugin, const char *method, const char *params,
                           size_t params_len, ph_call_raw_fn cb, void *ud, uint64_t *call_id,
                           ph_error *err)
{
    if (!h || !plugin || !method || !cb || (params_len && !params))
        return ph_set_error(err, PH_E_INVALID, "plugin, method and a callback are required");
    struct call_args a = {.in_fd = -1, .raw_cb = cb, .ud = ud};
    json_t *tree = NULL;
    if (params_len) {
        struct ph_jscan_span sp;
        enum ph_jscan_result r = ph_jscan_value(params, params_len, &sp, NULL);
        if (r == PH_JSCAN_OK && sp.kind != PH_JS_ARRAY && sp.kind != PH_JS_OBJECT)
            return ph_set_error(err, PH_E_INVALID, "params must be an array or an object");
        if (r == PH_JSCAN_OK) {
            a.text = sp.text;
            a.text_len = sp.len;
        } else {
            /* jansson decides what the scanner would not vouch for. */
            char why[300];
            if (!(tree = ph_wire_parse(params, params_len, why, sizeof why)))
                return ph_set_error(err, PH_E_INVALID, "params: %s", why);
            a.params = tree;
        }
    }
    int rc = call_begin(h, plugin, method, &a, call_id, err);
    json_decref(tree);
    return rc;
}

static int call_begin(struct ph_host *h, const char *plugin, const char *method,
                      const struct call_args *a, uint64_t *call_id, ph_error *err)
{
    json_t *params = a->params;
    if (!h || !plugin || !method)
        return ph_set_error(err, PH_E_INVALID, "plugin and method are required");
    if (params && !json_is_array(params) && !json_is_object(params))
        return ph_set_error(err, PH_E_INVALID, "params must be an array or an object");
    struct ph_plug *p = find_plug(h, plugin);
    if (!p)
        return ph_set_error(err, PH_E_NOTFOUND, "no plugin named \"%s\" is loaded", plugin);
    if (!ph_plug_has_method(p, method))
        return ph_set_error(err, PH_E_NOTFOUND, "plugin \"%s\" has no method \"%s\"", plugin,
                            method);
    json_t *schema = ph_plug_schema(p, method);
    /* A raw call's bytes are read only where the host must read them: a
     * schema to check them against, a trace or a record to write. */
    const char *text = a->text;
    json_t *tree = NULL;
    if (text && (schema || h->opt.trace || h->rec_fd >= 0)) {
        char why[300];
        if (!(tree = ph_wire_parse(text, a->text_len, why, sizeof why)))
            return ph_set_error(err, PH_E_INVALID, "params: %s", why);
        params = tree;
        text = NULL;
    }
    char bad_params[300];
    int invalid = schema && ph_schema_validate(schema, params, bad_params, sizeof bad_params) < 0;
    if (p->ncalls >= h->opt.max_queue) {
        ph_status_count_cause(p, PH_CAUSE_BUSY);
        json_decref(tree);
        return ph_set_error(err, PH_E_BUSY,
                            "plugin \"%s\" has %u calls queued or in flight (max_queue); "
                            "try again when some are answered",
                            plugin, p->ncalls);
    }
    struct ph_call *c = calloc(1, sizeof *c);
    if (c && text) {
        /* A raw call waiting for its plugin keeps its own copy, compact as
         * the parsing path would encode it: the request's size
         * (max_message) must not depend on the client's spacing. */
        c->params_text = malloc(a->text_len ? a->text_len : 1);
        if (c->params_text)
            c->params_len = ph_jscan_compact(text, a->text_len, c->params_text);
    }
    if (!c || (text && !c->params_text) || !(c->method = strdup(method)) ||
        ph_timers_adopt(&h->call_timers) < 0) {
        if (c) {
            free(c->method);
            free(c->params_text);
        }
        free(c);
        json_decref(tree);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    c->id = ++h->next_call_id;
    if (ph_htab_add(&h->calls_by_id, &c->by_id, ph_hash_u64(c->id)) < 0) {
        ph_timers_release(&h->call_timers);
        free(c->method);
        free(c->params_text);
        free(c);
        json_decref(tree);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    p->ncalls++;
    c->in_fd = a->in_fd;
    c->out_fd = -1;
    c->plug = p;
    c->params = params ? json_incref(params) : NULL;
    json_decref(tree); /* the call holds it now */
    c->cb = a->cb;
    c->raw_cb = a->raw_cb;
    c->cold_start = p->hello_cached;
    c->ud = a->ud;
    call_set_deadline(h, c, ph_now_ms() + p->set.call_timeout_ms);
    c->prev = h->calls.prev;
    c->next = &h->calls;
    h->calls.prev->next = c;
    h->calls.prev = c;
    h->pending++;
    if (call_id)
        *call_id = c->id;
    if (invalid) {
        /* Refused before the plugin is bothered, as the spec's -32602. */
        ph_call_finish(h, c, NULL,
                       ph_call_error(p, method, PH_RPC_INVALID_PARAMS, PH_END_NONE, NULL,
                                     "Invalid params: %s", bad_params));
        ph_arm_timer(h);
        return PH_OK;
    }
    if (p->pin_blocked) {
        /* Not offered: the operator's pin no longer matches. */
        ph_call_finish(h, c, NULL, ph_pins_error(p, method));
        ph_arm_timer(h);
        return PH_OK;
    }
    uint64_t now = ph_now_ms();
    if (p->circuit_until_ms && p->circuit_until_ms <= now) {
        /* Cool-down over: a fresh start with a clean record. */
        p->circuit_until_ms = 0;
        p->recent_failures = 0;
    }
    if (p->circuit_until_ms > now) {
        ph_call_finish(h, c, NULL,
                       ph_call_error(p, method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_NONE,
                                     json_pack("{s:s,s:i,s:I}", "circuit", "open", "failures",
                                               (int)p->recent_failures, "retry_after_ms",
                                               (json_int_t)(p->circuit_until_ms - now)),
                                     "plugin %s failed %u times recently; its circuit is open "
                                     "for another %llu ms (or reset it)",
                                     plugin, p->recent_failures,
                                     (unsigned long long)(p->circuit_until_ms - now)));
        ph_arm_timer(h);
        return PH_OK;
    }
    if (p->state == PH_P_DOWN && p->restart_at_ms <= now)
        restart(h, p);
    else if (p->state == PH_P_READY)
        ph_plug_send_call(p, c);
    /* Otherwise it waits: for the handshake, or for the backoff to pass
     * (check_deadlines starts the plugin then). */
    return PH_OK;
}

int ph_host_reset(ph_host *h, const char *plugin, ph_error *err)
{
    struct ph_plug *p = find_plug(h, plugin);
    if (!p)
        return ph_set_error(err, PH_E_NOTFOUND, "no plugin named \"%s\" is loaded", plugin);
    p->circuit_until_ms = 0;
    p->restart_at_ms = 0;
    p->recent_failures = 0;
    plug_timer(h, p);
    return PH_OK;
}

struct sync_answer {
    int done;
    json_t *result, *error;
};

static void sync_cb(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct sync_answer *a = ud;
    (void)id;
    a->done = 1;
    a->result = json_incref(result);
    a->error = json_incref(error);
}

/* A plugin sharing the caller's core runs as soon as the request wakes it
 * and has usually answered by the time sendmsg returns here: reading the
 * answer now saves a turn of the loop (epoll_wait, the timer's arming).
 * When it is not there yet (another core, a busy one), this recvmsg's
 * EAGAIN replaces the one that used to end every read. The loop's other
 * work (other calls' answers and deadlines, another plugin's end or
 * seccomp notification) is not left waiting on an application that only
 * makes sync calls: a turn that does not sleep follows whenever another
 * call is pending, or a millisecond has passed since the last turn. */
static void read_early(struct ph_host *h, uint64_t id)
{
    struct ph_call *c = ph_call_find(h, id);
    if (!c || !c->sent || c->plug->out_head || c->plug->sock < 0)
        return;
    ph_plug_on_sock(c->plug, 0);
    plug_timer(h, c->plug);
    if (ph_call_find(h, id))
        return;
    run_done(h);
    if (h->pending > 0 || ph_now_ms() != h->turn_ms)
        (void)ph_host_process(h, 0, NULL); /* an error shows again on the next call */
    else
        ph_arm_timer(h);
}

int ph_host_call(ph_host *h, const char *plugin, const char *method, json_t *params,
                 json_t **result, json_t **rpc_error, ph_error *err)
{
    struct sync_answer a = {0};
    uint64_t id = 0;
    int rc = ph_host_call_async(h, plugin, method, params, sync_cb, &a, &id, err);
    if (rc < 0)
        return rc;
    ph_host_release(h); /* a call waited for is written at once, corked or not */
    read_early(h, id);
    while (!a.done) {
        rc = ph_host_process(h, -1, err);
        if (rc < 0)
            return rc;
    }
    if (a.result) {
        *result = a.result;
        return PH_OK;
    }
    const char *m = json_string_value(json_object_get(a.error, "message"));
    ph_set_error(err, PH_E_PLUGIN, "%s", m ? m : "call failed");
    if (rpc_error)
        *rpc_error = a.error;
    else
        json_decref(a.error);
    return PH_E_PLUGIN;
}

int ph_host_cancel(ph_host *h, uint64_t call_id)
{
    struct ph_call *c = ph_call_find(h, call_id);
    if (c && !c->cancelled) {
        /* Answer the caller now; keep the entry until the plugin lets go, or
         * kill the plugin if it does not within the grace period. */
        struct ph_call *answer = calloc(1, sizeof *answer);
        if (!answer)
            return PH_E_NOMEM;
        *answer = (struct ph_call){
            .id = c->id, .cb = c->cb, .raw_cb = c->raw_cb, .ud = c->ud, .in_fd = -1, .out_fd = -1};
        answer->error = ph_call_error(c->plug, c->method, PH_RPC_CANCELLED, PH_END_NONE, NULL,
                                      "call cancelled by the client");
        call_done(h, answer);
        ph_status_count_cause(c->plug, PH_CAUSE_CANCELLED);
        c->cancelled = 1;
        c->cb = NULL;
        c->raw_cb = NULL;
        /* The answer now carries the call's place in the pending count. */
        if (!c->sent) {
            call_unlink(h, c);
            call_free(c);
            ph_arm_timer(h);
            return PH_OK;
        }
        json_t *params = json_pack("{s:I}", "id", (json_int_t)c->id);
        json_t *note = ph_wire_request(NULL, "$/cancelRequest", params);
        json_decref(params);
        ph_plug_send(c->plug, note);
        json_decref(note);
        call_set_deadline(h, c, ph_now_ms() + h->opt.cancel_grace_ms);
        ph_arm_timer(h);
        return PH_OK;
    }
    return PH_E_NOTFOUND;
}

size_t ph_host_pending(const ph_host *h)
{
    return h->pending;
}

/* ---- loop ---- */

void ph_host_cork(ph_host *h)
{
    h->cork++;
}

void ph_host_uncork(ph_host *h)
{
    if (h->cork && --h->cork == 0)
        ph_host_release(h);
}

void ph_host_release(struct ph_host *h)
{
    if (!h->held)
        return;
    while (h->held) {
        struct ph_plug *p = h->held;
        h->held = p->held_next;
        p->held = 0;
        p->held_next = NULL;
        ph_plug_flush(p);
    }
    ph_arm_timer(h);
}

void ph_arm_timer(struct ph_host *h)
{
    uint64_t next = UINT64_MAX;
    if (h->done_head || h->held) {
        /* Answers are waiting, or writes held back by a cork: make
         * ph_host_fd() readable now, so an application sleeping in poll()
         * comes back to deliver or send them. */
        struct itimerspec now = {.it_value = {0, 1}};
        timerfd_settime(h->timerfd, 0, &now, NULL);
        h->armed_ms = 0;
        return;
    }
    const struct ph_timer *tc = ph_timers_first(&h->call_timers);
    const struct ph_timer *tp = ph_timers_first(&h->plug_timers);
    if (tc)
        next = tc->at;
    int for_call = tc != NULL;
    if (tp && tp->at < next) {
        next = tp->at;
        for_call = 0;
    }
    /* A timer already set to fire no later than needed stays as it is: it
     * may wake the loop early once, which is cheaper than a syscall on
     * every call (each new call moves the nearest deadline). That holds
     * when the last call was just answered too (next == UINT64_MAX):
     * disarming would cost a syscall per call in a one-at-a-time exchange,
     * leaving it costs one wake-up that finds nothing, call_timeout after
     * the last call. A plugin deadline (handshake, restart) is disarmed at
     * once, so a host that only loaded plugins never wakes. */
    if (h->armed_ms != UINT64_MAX && h->armed_ms > ph_now_ms() && h->armed_ms <= next &&
        (next != UINT64_MAX || h->armed_for_call))
        return;
    if (next == h->armed_ms)
        return;
    h->armed_ms = next;
    h->armed_for_call = for_call;
    struct itimerspec its = {0};
    if (next != UINT64_MAX) {
        /* Absolute on the monotonic clock; at least 1 ns so it arms. */
        its.it_value.tv_sec = (time_t)(next / 1000);
        its.it_value.tv_nsec = (long)(next % 1000) * 1000000L + 1;
    }
    (void)timerfd_settime(h->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Acts on every deadline that has passed, nearest first. A deadline is
 * taken off its heap once acted on; whatever happens next (a plugin's end,
 * a restart) arms the next one. */
static void check_deadlines(struct ph_host *h)
{
    uint64_t now = ph_now_ms();
    struct ph_timer *t;
    while ((t = ph_timers_first(&h->plug_timers)) && t->at <= now) {
        struct ph_plug *p = ph_container_of(t, struct ph_plug, timer);
        uint64_t at = plug_deadline(p);
        if (at > now) {
            /* Moved since it was armed (a safety net; plug_timer keeps up). */
            ph_timers_set(&h->plug_timers, t, at);
            continue;
        }
        ph_timers_del(&h->plug_timers, t);
        if (p->state == PH_P_LOADING) {
            if (p->pid > 0 && p->cause == PH_END_NONE)
                ph_plug_kill(p, PH_END_TIMEOUT,
                             json_pack("{s:s,s:I}", "limit", "handshake_timeout_ms", "limit_value",
                                       (json_int_t)p->set.handshake_timeout_ms));
            continue;
        }
        if (p->state == PH_P_READY) {
            ph_plug_on_stall(p);
            continue;
        }
        /* Down, and its backoff is over: start it if a call waits for it
         * (rare; the scan over calls is fine here). */
        p->restart_at_ms = 0;
        for (struct ph_call *c = h->calls.next; c != &h->calls; c = c->next)
            if (c->plug == p) {
                restart(h, p);
                break;
            }
    }
    while ((t = ph_timers_first(&h->call_timers)) && t->at <= now) {
        struct ph_call *c = ph_container_of(t, struct ph_call, timer);
        struct ph_plug *p = c->plug;
        if (p->state == PH_P_DOWN) {
            /* Still waiting for a restart: nothing to kill, just answer. */
            ph_call_finish(
                h, c, NULL,
                ph_call_error(p, c->method, PH_RPC_PLUGIN_TIMEOUT, PH_END_TIMEOUT,
                              json_pack("{s:s,s:I}", "limit", "call_timeout_ms", "limit_value",
                                        (json_int_t)h->opt.call_timeout_ms),
                              "call timed out waiting for plugin %s to restart", p->name));
            continue;
        }
        if (p->cause != PH_END_NONE || p->pid <= 0) {
            /* Its plugin is ending already; that end answers the call. */
            ph_timers_del(&h->call_timers, t);
            continue;
        }
        if (!c->drained) {
            /* An answer already on its way is not a timeout: read what the
             * plugin sent (which may finish this call), then look again. */
            c->drained = 1;
            ph_plug_drain(p);
            plug_timer(h, p);
            continue;
        }
        ph_timers_del(&h->call_timers, t);
        if (c->cancelled)
            ph_plug_kill(p, PH_END_KILLED,
                         json_pack("{s:s,s:s}", "reason", "cancelled call did not stop", "limit",
                                   "cancel_grace_ms"));
        else
            ph_plug_kill(p, PH_END_TIMEOUT,
                         json_pack("{s:s,s:I,s:s}", "limit", "call_timeout_ms", "limit_value",
                                   (json_int_t)p->set.call_timeout_ms, "timed_out_method",
                                   c->method));
    }
}

int ph_host_fd(const ph_host *h)
{
    return h->epfd;
}

int ph_host_process(ph_host *h, int timeout_ms, ph_error *err)
{
    /* Nothing held back waits while the loop sleeps, corked or not. */
    ph_host_release(h);
    int handled = run_done(h);
    if (handled > 0)
        timeout_ms = 0;
    ph_arm_timer(h);
    struct epoll_event ev[64];
    int n = epoll_wait(h->epfd, ev, 64, timeout_ms);
    h->turn_ms = ph_now_ms();
    if (n < 0) {
        if (errno == EINTR)
            return handled;
        return ph_set_error(err, PH_E_SYSTEM, "epoll_wait: %s", strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        struct ph_watch *w = ev[i].data.ptr;
        switch (w->kind) {
        case PH_W_SOCK:
            if (w->plug->sock >= 0)
                ph_plug_on_sock(w->plug, ev[i].events);
            plug_timer(h, w->plug);
            break;
        case PH_W_NOTIFY:
            if (w->plug->notify_fd >= 0)
                ph_plug_on_notify(w->plug);
            plug_timer(h, w->plug);
            break;
        case PH_W_PIDFD:
            if (w->plug->pidfd >= 0)
                ph_plug_on_exit(w->plug);
            plug_timer(h, w->plug);
            break;
        case PH_W_APP:
            ph_app_fd_event(w, ev[i].events);
            break;
        case PH_W_TIMER: {
            uint64_t ticks;
            ssize_t r = read(h->timerfd, &ticks, sizeof ticks);
            (void)r;
            break;
        }
        }
    }
    check_deadlines(h);
    handled += n + run_done(h);
    ph_host_release(h); /* what callbacks wrote while corked */
    /* Re-armed for the state just reached, so a deadline that no longer
     * exists (a handshake done, a call answered) cannot wake an idle host. */
    ph_arm_timer(h);
    return handled;
}

/* ---- setup ---- */

static char *find_loader(const char *opt)
{
    if (opt)
        return strdup(opt);
    const char *env = getenv("PLUGHOST_LOADER");
    if (env && *env)
        return strdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 64);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            strcpy(slash + 1, "plughost-loader");
            if (access(self, X_OK) == 0)
                return strdup(self);
            /* An installed tree moved as a whole: PREFIX/bin/plughost finds
             * PREFIX/libexec/plughost/plughost-loader. */
            strcpy(slash + 1, "../libexec/plughost/plughost-loader");
            if (access(self, X_OK) == 0)
                return strdup(self);
        }
    }
    return strdup(PH_LOADER_INSTALLED);
}

/* Refuses to run under weaker confinement than the configuration's
 * "require" list demands, with one message naming what is missing. */
static int check_required(struct ph_host *h, ph_error *err)
{
    size_t i;
    json_t *l;
    char missing[256] = "";
    json_array_foreach(json_object_get(h->config, "require"), i, l)
    {
        const char *name = json_string_value(l);
        int ok = 1;
        if (strcmp(name, "seccomp") == 0) {
            FILE *f = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
            char buf[256] = "";
            if (f) {
                if (!fgets(buf, sizeof buf, f))
                    buf[0] = '\0';
                fclose(f);
            }
            ok = strstr(buf, "user_notif") != NULL;
        } else if (strcmp(name, "landlock") == 0) {
            ok = h->landlock_abi >= 1;
        } else if (strcmp(name, "namespaces") == 0) {
            ok = strcmp(h->ns_names, "user,pid,net,ipc,uts,mnt,cgroup") == 0 ||
                 strcmp(h->ns_names, "pid,net,ipc,uts,mnt,cgroup") == 0;
        } else if (strncmp(name, "namespace:", 10) == 0) {
            ok = strstr(h->ns_names, name + 10) != NULL;
        } else if (strcmp(name, "cgroup") == 0) {
            ok = h->cg.version != 0;
        }
        if (!ok) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "", name);
        }
    }
    if (missing[0])
        return ph_set_error(err, PH_E_SYSTEM,
                            "confinement weaker than the configuration requires: %s unavailable "
                            "on this machine (run `plughost doctor` for why; remove it from "
                            "\"require\" only if you accept the weaker sandbox)",
                            missing);
    return 0;
}

/* With "self_test": true, the sandbox must prove itself before any plugin
 * runs: the doctor's probe makes forbidden calls that must come back as
 * named violations. */
static int self_test(struct ph_host *h, ph_error *err)
{
    if (!json_is_true(json_object_get(h->config, "self_test")))
        return 0;
    json_t *report = NULL;
    ph_error e;
    int rc = ph_host_doctor(&h->opt, &report, &e);
    json_t *c;
    size_t i;
    char failed[512] = "";
    json_array_foreach(json_object_get(report, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "ok")))
            continue;
        size_t n = strlen(failed);
        const char *st = json_string_value(json_object_get(c, "status"));
        snprintf(failed + n, sizeof failed - n, "%s%s: %s", n ? ", " : "",
                 json_string_value(json_object_get(c, "check")), st ? st : "failed");
    }
    json_decref(report);
    if (rc == PH_OK)
        return 0;
    return ph_set_error(err, PH_E_SYSTEM,
                        "sandbox self-test failed (%s): refusing to run plugins; run `plughost "
                        "doctor` for details",
                        failed[0] ? failed : e.text);
}

int ph_weaker_accepted(const struct ph_host *h, unsigned mode)
{
    return (h->opt.accept_weaker & mode) && !h->opt.audit;
}

/* Reads one of the kernel's overflow ids, the "nobody" of namespaces. */
static long overflow_id(const char *path)
{
    char buf[32] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    long v = buf[0] ? strtol(buf, NULL, 10) : 65534;
    return v > 0 ? v : 65534;
}

/* The ids plugins run as outside their namespaces: a root host never lends
 * them root (so RLIMIT_NPROC holds and an escaped plugin is nobody); any
 * other host can only lend its own. */
static int run_ids(struct ph_host *h, ph_error *err)
{
    if (geteuid() != 0) {
        h->run_uid = geteuid();
        h->run_gid = getegid();
        return 0;
    }
    h->run_uid =
        h->opt.run_uid ? (uid_t)h->opt.run_uid : (uid_t)overflow_id("/proc/sys/kernel/overflowuid");
    h->run_gid =
        h->opt.run_gid ? (gid_t)h->opt.run_gid : (gid_t)overflow_id("/proc/sys/kernel/overflowgid");
    if (h->run_uid == 0 || h->run_gid == 0 || h->run_uid > 0x7fffffff || h->run_gid > 0x7fffffff)
        return ph_set_error(err, PH_E_INVALID,
                            "plugins must run as a uid and gid between 1 and 2147483647");
    return 0;
}

int ph_host_new(const ph_host_options *opts, ph_host **out, ph_error *err)
{
    *out = NULL;
    struct ph_host *h = calloc(1, sizeof *h);
    if (!h)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    ph_status_host_init(&h->status);
    if (opts)
        h->opt = *opts;
    h->opt.loader_path = NULL; /* not kept: the caller owns that string */
    h->config = h->opt.config ? json_incref(h->opt.config) : NULL;
    h->opt.config = NULL;
    if (h->config)
        ph_config_defaults(&h->opt, h->config);
    if (!h->opt.call_timeout_ms)
        h->opt.call_timeout_ms = 30000;
    if (!h->opt.handshake_timeout_ms)
        h->opt.handshake_timeout_ms = 5000;
    if (!h->opt.cancel_grace_ms)
        h->opt.cancel_grace_ms = 2000;
    if (!h->opt.max_queue)
        h->opt.max_queue = 1024;
    if (!h->opt.max_failures)
        h->opt.max_failures = 5;
    if (!h->opt.failure_window_ms)
        h->opt.failure_window_ms = 60000;
    if (!h->opt.cooldown_ms)
        h->opt.cooldown_ms = 30000;
    if (!h->opt.restart_backoff_ms)
        h->opt.restart_backoff_ms = 100;
    if (!h->opt.restart_backoff_max_ms)
        h->opt.restart_backoff_max_ms = 5000;
    if (!h->opt.max_message)
        h->opt.max_message = PH_WIRE_DEFAULT_MAX;
    if (!h->opt.memory_limit)
        h->opt.memory_limit = (size_t)1 << 30;
    if (!h->opt.cpu_limit_s)
        h->opt.cpu_limit_s = 60;
    h->calls.next = h->calls.prev = &h->calls;
    h->plugs_tail = &h->plugs;
    h->armed_ms = UINT64_MAX;
    h->rec_fd = -1;
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    h->loader = find_loader(opts ? opts->loader_path : NULL);
    h->load_errors = json_array();
    h->kv = json_object();
    h->w_timer.kind = PH_W_TIMER;
    for (size_t i = 0; i < PH_HOST_MAX_APP_FDS; i++)
        h->app_fds[i] = (struct ph_app_fd){.w.kind = PH_W_APP, .fd = -1};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &h->w_timer};
    if (h->epfd < 0 || h->timerfd < 0 || !h->loader || !h->load_errors || !h->kv ||
        epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->timerfd, &ev) < 0) {
        ph_set_error(err, PH_E_SYSTEM, "cannot set up the event loop: %s", strerror(errno));
        ph_host_free(h);
        return PH_E_SYSTEM;
    }
    if (access(h->loader, X_OK) < 0) {
        ph_set_error(err, PH_E_SYSTEM,
                     "the sandbox loader %s is not executable (%s); set PLUGHOST_LOADER", h->loader,
                     strerror(errno));
        ph_host_free(h);
        return PH_E_SYSTEM;
    }
    /* A plugin that dies mid-write must not kill the host with SIGPIPE;
     * sends use MSG_NOSIGNAL, this covers writes to clients. */
    signal(SIGPIPE, SIG_IGN);
    ph_ns_probe(h);
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL /* VERSION */);
    h->landlock_abi = abi > 0 ? (int)abi : 0;
    ph_lw_host_init(h);
    if (run_ids(h, err) < 0) {
        ph_host_free(h);
        return PH_E_SYSTEM;
    }
    int want_cg = 0;
    size_t ri;
    json_t *rl;
    json_array_foreach(json_object_get(h->config, "require"), ri, rl)
    {
        const char *rn = json_string_value(rl);
        want_cg |= rn && strcmp(rn, "cgroup") == 0;
    }
    ph_cg_host_setup(&h->cg, want_cg);
    if (check_required(h, err) < 0 || self_test(h, err) < 0) {
        ph_host_free(h);
        return PH_E_SYSTEM;
    }
    if (ph_hostfn_builtin(h, err) < 0) {
        ph_host_free(h);
        return PH_E_NOMEM;
    }
    /* Lazy activation needs the cache it activates from (lazy.c). */
    h->lazy = h->opt.activation == PH_ACTIVATION_LAZY;
    if ((h->opt.hello_cache && ph_lazy_open(h, h->opt.hello_cache, err) < 0) ||
        (h->lazy && !h->cache &&
         ph_set_error(err, PH_E_INVALID,
                      "lazy activation needs a hello cache directory (--hello-cache DIR, "
                      "or \"hello_cache\" in the configuration)") < 0)) {
        ph_host_free(h);
        return err ? err->status : PH_E_INVALID;
    }
    h->opt.hello_cache = NULL; /* not kept: the caller owns that string */
    *out = h;
    return PH_OK;
}

void ph_host_free(ph_host *h)
{
    if (!h)
        return;
    h->cork = 0;
    ph_host_release(h);
    /* Ask every plugin to stop, give them a moment, then make sure:
     * nothing outlives the host. */
    json_t *bye = ph_wire_request(NULL, "ph.shutdown", NULL);
    int asked = 0;
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        if (p->pid > 0 && p->state == PH_P_READY && bye && ph_plug_send(p, bye) == 0) {
            p->stopping = 1;
            asked++;
        }
    json_decref(bye);
    uint64_t until = ph_now_ms() + PH_SHUTDOWN_GRACE_MS;
    while (asked > 0 && ph_now_ms() < until) {
        asked = 0;
        for (struct ph_plug *p = h->plugs; p; p = p->next)
            asked += p->pid > 0 && p->state == PH_P_READY;
        if (asked && ph_host_process(h, 10, NULL) < 0)
            break;
    }
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        if (p->pid > 0)
            ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", "host stopping"));
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        if (p->pidfd >= 0)
            ph_plug_on_exit(p);
    run_done(h);
    while (h->calls.next != &h->calls) {
        struct ph_call *c = h->calls.next;
        call_unlink(h, c);
        call_free(c);
    }
    while (h->plugs) {
        struct ph_plug *p = h->plugs;
        h->plugs = p->next;
        ph_plug_free(p);
    }
    ph_cg_host_free(&h->cg); /* after every plugin cgroup is gone */
    ph_htab_free(&h->plugs_by_name);
    ph_htab_free(&h->calls_by_id);
    ph_timers_free(&h->plug_timers);
    ph_timers_free(&h->call_timers);
    for (size_t i = 0; i < h->nfns; i++)
        free(h->fns[i].name);
    free(h->fns);
    json_decref(h->load_errors);
    json_decref(h->kv);
    json_decref(h->config);
    json_decref(h->pins);
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->timerfd >= 0)
        close(h->timerfd);
    if (h->rec_fd >= 0)
        close(h->rec_fd);
    ph_lazy_free(h);
    free(h->loader);
    free(h);
}

void ph_host_set_event_handler(ph_host *h, ph_event_fn fn, void *ud)
{
    h->event_fn = fn;
    h->event_ud = ud;
}

int ph_host_add_function(ph_host *h, const char *name, ph_hostfn_fn fn, void *ud,
                         unsigned max_calls, ph_error *err)
{
    if (!name || !fn || !*name || strncmp(name, "ph.", 3) == 0 || strncmp(name, "$/", 2) == 0)
        return ph_set_error(err, PH_E_INVALID,
                            "a host function needs a name outside ph.* "
                            "and $/*, and a function");
    if (h->plugs)
        return ph_set_error(err, PH_E_INVALID, "add host functions before loading plugins");
    for (size_t i = 0; i < h->nfns; i++)
        if (strcmp(h->fns[i].name, name) == 0)
            return ph_set_error(err, PH_E_INVALID, "host function %s exists already", name);
    struct ph_hostfn *nf = realloc(h->fns, (h->nfns + 1) * sizeof *nf);
    if (!nf)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    h->fns = nf;
    nf[h->nfns] =
        (struct ph_hostfn){.name = strdup(name), .fn = fn, .ud = ud, .max_calls = max_calls};
    if (!nf[h->nfns].name)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    h->nfns++;
    return PH_OK;
}

void ph_host_intercept_functions(ph_host *h, ph_hostcall_fn fn, void *ud)
{
    h->intercept = fn;
    h->intercept_ud = ud;
}

/* file made absolute (the loader works from "/") with its directory
 * resolved but not its last component: a symbolic link in the plugin
 * directory stays a link, which the host refuses to load, instead of
 * becoming whatever file it names. Malloc'ed, or NULL. */
static char *abs_path(const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return realpath(file, NULL);
    char *dir = slash ? strndup(file, slash == file ? 1 : (size_t)(slash - file)) : strdup(".");
    char *rdir = dir ? realpath(dir, NULL) : NULL;
    char *out = NULL;
    if (rdir && asprintf(&out, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base) < 0)
        out = NULL;
    free(dir);
    free(rdir);
    return out;
}

static struct ph_plug *plug_new(struct ph_host *h, const char *file)
{
    struct ph_plug *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->host = h;
    p->file = strcmp(file, "--probe") == 0 ? NULL : abs_path(file);
    if (!p->file)
        p->file = strdup(file);
    p->hostfn_calls = calloc(h->nfns ? h->nfns : 1, sizeof *p->hostfn_calls);
    p->pidfd = p->sock = p->notify_fd = p->file_fd = -1;
    p->initial = 1;
    if (!p->file || !p->hostfn_calls || ph_timers_adopt(&h->plug_timers) < 0) {
        ph_plug_free(p);
        return NULL;
    }
    return p;
}

/* Takes p out of h->plugs (rare: a refused or dropped plugin). */
static void plug_unlink(struct ph_host *h, struct ph_plug *p)
{
    struct ph_plug **pp = &h->plugs;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = p->next;
    if (h->plugs_tail == &p->next)
        h->plugs_tail = pp;
    p->next = NULL;
}

/* Ends (if running) and frees a plugin already unlinked from h->plugs. */
static void plug_destroy(struct ph_host *h, struct ph_plug *p)
{
    if (p->pidfd >= 0) {
        ph_plug_kill(p, PH_END_KILLED, NULL);
        ph_plug_on_exit(p);
    }
    /* Answers to its calls are delivered after it is gone: they must not
     * point at it then. */
    for (struct ph_call *c = h->done_head; c; c = c->next)
        if (c->plug == p) {
            p->ncalls--;
            c->plug = NULL;
        }
    if (p->named)
        ph_htab_del(&h->plugs_by_name, &p->by_name);
    ph_timers_del(&h->plug_timers, &p->timer);
    ph_timers_release(&h->plug_timers);
    ph_plug_free(p);
}

static void record_load_error(struct ph_host *h, const char *file, json_t *error /* stolen */)
{
    json_array_append_new(h->load_errors, json_pack("{s:s,s:O}", "file", file, "error", error));
    ph_host_event(h,
                  json_pack("{s:s,s:s,s:o}", "type", "load_error", "file", file, "error", error));
}

/* Waits until every plugin in [first, end) finished loading, then keeps the
 * ones that succeeded and records the others as load errors. */
/* Whether a plugin lives in the file its name implies (NAME.so). */
static int own_file(const struct ph_plug *p)
{
    const char *base = strrchr(p->file, '/');
    base = base ? base + 1 : p->file;
    size_t n = strlen(p->name);
    return strncmp(base, p->name, n) == 0 && strcmp(base + n, ".so") == 0;
}

/* Waits until every plugin in list has finished loading (or died and been
 * reaped: one that broke the protocol right after its handshake is not
 * ready), then keeps the ones that succeeded and records the others as load
 * errors. A name is never taken over: a plugin whose name is already loaded
 * is refused; of new plugins claiming one name, the one in NAME.so wins and
 * the others are refused (all of them, when none is in NAME.so). */
static size_t starting(struct ph_plug **list, size_t n);

static int finish_loading(struct ph_host *h, struct ph_plug **list, size_t n, ph_error *err)
{
    for (;;) {
        if (starting(list, n) == 0)
            break;
        if (ph_host_process(h, -1, err) < 0)
            return -1;
    }
    const char **dup = calloc(n ? n : 1, sizeof *dup);
    /* Refused plugins are freed last: a later one's message may name the
     * file of an earlier one (dup[i] borrows it). */
    struct ph_plug **gone = calloc(n ? n : 1, sizeof *gone);
    if (!dup || !gone) {
        free(dup);
        free(gone);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        /* A cold plugin (lazy.c) is loaded: its hello is the cache's. */
        if (!p || (p->state != PH_P_READY && !p->hello_cached))
            continue;
        struct ph_plug *q = find_plug(h, p->name);
        if (q)
            dup[i] = q->file; /* the name is taken already */
        for (size_t j = 0; j < n && !dup[i]; j++) {
            q = list[j];
            if (!q || q == p || !q->name || strcmp(q->name, p->name) != 0)
                continue;
            if ((q->state == PH_P_READY || q->hello_cached) && !(own_file(p) && !own_file(q)))
                dup[i] = q->file; /* only NAME.so may beat another claim */
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        if (!p)
            continue;
        if ((p->state == PH_P_READY || p->hello_cached) && !dup[i] &&
            ph_htab_add(&h->plugs_by_name, &p->by_name, ph_hash_str(p->name)) == 0) {
            p->named = 1;
            p->initial = 0;
            continue;
        }
        /* Unlink and record why. */
        plug_unlink(h, p);
        json_t *e;
        if (dup[i]) {
            e = ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                              "duplicate plugin name \"%s\" (also claimed by %s); refused", p->name,
                              dup[i]);
            ph_plug_kill(p, PH_END_KILLED, NULL);
            ph_plug_on_exit(p);
        } else if (p->state == PH_P_READY || p->hello_cached) {
            e = ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                              "out of memory");
        } else {
            e = json_incref(p->cause_data);
        }
        record_load_error(h, p->file, e);
        /* A refused plugin is not known by the name it claimed. */
        free(p->name);
        p->name = NULL;
        gone[i] = p;
        list[i] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (gone[i])
            plug_destroy(h, gone[i]);
    free(gone);
    free(dup);
    return 0;
}

static int spawn_new(struct ph_host *h, const char *file, struct ph_plug **out)
{
    struct ph_plug *p = plug_new(h, file);
    *out = NULL;
    if (!p)
        return -1;
    ph_error e;
    /* Lazy: a plugin whose hello is cached stays down (lazy.c). */
    int rc = h->lazy && ph_lazy_load_cold(p) ? PH_OK : ph_plug_spawn(p, &e);
    plug_timer(h, p);
    if (rc < 0) {
        record_load_error(h, file,
                          ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                                        "%s", e.text));
        plug_destroy(h, p);
        return 0;
    }
    /* Appended, so listings follow the directory's sorted order. */
    *h->plugs_tail = p;
    h->plugs_tail = &p->next;
    *out = p;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name every report can carry as it is: UTF-8 (which JSON needs) and no
 * control character (which a terminal would act on), C1 ones included
 * (U+0080..U+009F, encoded C2 80..C2 9F; U+009B is a CSI). */
static int printable_name(const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
            return 0;
    json_t *s = json_string(name);
    json_decref(s);
    return s != NULL;
}

/* An entry whose name cannot be reported is not loaded: its load error
 * names it escaped, once however often the directory is read. */
static void refuse_name(struct ph_host *h, const char *rdir, const char *name)
{
    char esc[4 * NAME_MAX + 40], *file = NULL;
    ph_wire_escape(name, strlen(name), esc, sizeof esc);
    if (asprintf(&file, "%s/%s", rdir, esc) < 0)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(h->load_errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "file"));
        if (f && strcmp(f, file) == 0) {
            free(file);
            return;
        }
    }
    record_load_error(h, file,
                      ph_call_error(NULL, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                                    "%s: the file name is not printable UTF-8 (shown escaped "
                                    "here): rename it",
                                    file));
    free(file);
}

/* The plugin files in dir (names ending in ".so", not hidden), sorted so
 * that output and duplicate handling do not depend on the directory's
 * order. What each entry is, is not looked at here: a FIFO, a socket, a
 * device, a symbolic link or a huge file is refused, by name, when it is
 * opened (ph_files_open_regular), and is a load error like any other. */
static int scan_dir(struct ph_host *h, const char *dir, char ***out, size_t *count, ph_error *err)
{
    /* O_DIRECTORY refuses anything but a directory before opening it. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    *out = NULL;
    *count = 0;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return ph_set_error(err, PH_E_SYSTEM, "cannot read plugin directory %s: %s", dir,
                            strerror(e));
    }
    char *rdir = realpath(dir, NULL);
    if (!rdir) {
        int e = errno;
        closedir(d);
        return ph_set_error(err, PH_E_SYSTEM, "cannot resolve %s: %s", dir, strerror(e));
    }
    char **files = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = PH_OK;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        /* A subdirectory named like a plugin is not an entry to load. */
        if (de->d_type == DT_DIR)
            continue;
        if (!printable_name(de->d_name)) {
            refuse_name(h, rdir, de->d_name);
            continue;
        }
        char *path;
        if (asprintf(&path, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", de->d_name) < 0) {
            rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            break;
        }
        char **nf = realloc(files, (n + 1) * sizeof *nf);
        if (!nf) {
            free(path);
            rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            break;
        }
        files = nf;
        files[n++] = path;
    }
    closedir(d);
    free(rdir);
    if (rc == PH_OK && n > 0) /* an empty directory has no array to sort */
        qsort(files, n, sizeof *files, by_name);
    *out = files;
    *count = n;
    return rc;
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* Starts files[i] for every i with want[i] (all when want is NULL), all at
 * once so that loading overlaps, and waits for them. */
/* How many plugins start at once. Starting a whole directory at once
 * makes every start slower (a thousand children contend for two cores,
 * each one's handshake clock running) and finishes later than a window
 * that keeps every core busy: each start is mostly CPU (exec, linking,
 * namespaces, confinement). Measured in docs/performance.md. */
static size_t load_window(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    size_t w = (size_t)cpus * 4;
    return w < 4 ? 4 : w > 64 ? 64 : w;
}

/* Plugins of list[0..n) still starting (or ending, not yet reaped). */
static size_t starting(struct ph_plug **list, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i] &&
            (list[i]->state == PH_P_LOADING || (list[i]->cause != PH_END_NONE && list[i]->pid > 0)))
            k++;
    return k;
}

/* A start taking longer than this no longer holds its place in the
 * window: a plugin that stalls its handshake (until handshake_timeout_ms)
 * must not hold up the others. A normal start takes a few ms. */
#define PH_LOAD_STRAGGLER_NS (250ull * 1000000)

/* Plugins of list[0..n) still starting and younger than a straggler; *wake_ms
 * is when the oldest of them becomes one (-1: none). */
static size_t young_starting(struct ph_plug **list, size_t n, int *wake_ms)
{
    uint64_t now = ph_now_ns(), oldest = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        if (!p || p->state != PH_P_LOADING || now - p->spawn_ns >= PH_LOAD_STRAGGLER_NS)
            continue;
        k++;
        if (!oldest || p->spawn_ns < oldest)
            oldest = p->spawn_ns;
    }
    *wake_ms = oldest ? (int)((oldest + PH_LOAD_STRAGGLER_NS - now) / 1000000) + 1 : -1;
    return k;
}

static int load_files(struct ph_host *h, char **files, size_t n, const int *want, ph_error *err)
{
    int rc = PH_OK;
    struct ph_plug **list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    size_t window = load_window(), next = 0;
    while (rc == PH_OK && next < n) {
        /* A scan of every start so far: microseconds for a thousand, next
         * to a millisecond per start. */
        int wait_ms = -1;
        size_t live = young_starting(list, next, &wait_ms);
        while (rc == PH_OK && next < n && live < window) {
            if ((!want || want[next]) && spawn_new(h, files[next], &list[next]) < 0)
                rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            else if (list[next] && list[next]->state == PH_P_LOADING)
                live++; /* a cold plugin (lazy.c) takes no place in the window */
            next++;
        }
        if (rc == PH_OK && next < n && live >= window &&
            ph_host_process(h, wait_ms < 0 ? (int)(PH_LOAD_STRAGGLER_NS / 1000000) : wait_ms, err) <
                0)
            rc = err ? err->status : PH_E_SYSTEM;
    }
    if (finish_loading(h, list, n, err) < 0)
        rc = err ? err->status : PH_E_SYSTEM;
    free(list);
    return rc;
}

int ph_host_load_dir(ph_host *h, const char *dir, ph_error *err)
{
    char **files;
    size_t n;
    int rc = scan_dir(h, dir, &files, &n, err);
    if (rc == PH_OK)
        rc = load_files(h, files, n, NULL, err);
    free_files(files, n);
    return rc;
}

/* Whether a plugin's file is still the one it was started from (lstat: a
 * link put in its place is a change). */
static int same_file(const struct ph_plug *p, const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == p->file_dev &&
           st.st_ino == p->file_ino && st.st_size == p->file_size &&
           st.st_mtim.tv_sec == p->file_mtime.tv_sec && st.st_mtim.tv_nsec == p->file_mtime.tv_nsec;
}

static void drop_plugin(struct ph_host *h, struct ph_plug *p, const char *why)
{
    if (p->pid > 0) {
        ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", why));
        ph_plug_on_exit(p);
    }
    /* Calls queued for a plugin that was down are answered too. */
    for (struct ph_call *c = h->calls.next; c != &h->calls;) {
        struct ph_call *next = c->next;
        if (c->plug == p)
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_KILLED,
                                         NULL, "plugin %s was %s", p->name, why));
        c = next;
    }
    plug_unlink(h, p);
    ph_host_event(h,
                  json_pack("{s:s,s:s,s:s}", "type", "unloaded", "plugin", p->name, "reason", why));
    plug_destroy(h, p);
    ph_arm_timer(h);
}

int ph_host_reload_dir(ph_host *h, const char *dir, ph_error *err)
{
    char **files;
    size_t n;
    int rc = scan_dir(h, dir, &files, &n, err);
    char *rdir = rc == PH_OK ? realpath(dir, NULL) : NULL;
    int *want = rc == PH_OK ? calloc(n ? n : 1, sizeof *want) : NULL;
    char **real = rc == PH_OK ? calloc(n ? n : 1, sizeof *real) : NULL;
    if (rc == PH_OK && (!rdir || !want || !real))
        rc = ph_set_error(err, PH_E_SYSTEM, "cannot resolve %s: %s", dir, strerror(errno));
    for (size_t i = 0; rc == PH_OK && i < n; i++) {
        real[i] = abs_path(files[i]);
        want[i] = 1;
    }
    /* Removed or changed files: their plugins stop; changed ones start
     * again below as new (their name may have changed too). Untouched
     * plugins keep running. */
    size_t rlen = rdir ? strlen(rdir) : 0;
    for (struct ph_plug *p = h->plugs; rc == PH_OK && p;) {
        struct ph_plug *next = p->next;
        if (strncmp(p->file, rdir, rlen) != 0 || p->file[rlen] != '/' ||
            strchr(p->file + rlen + 1, '/')) {
            p = next;
            continue;
        }
        size_t i = 0;
        while (i < n && (!real[i] || strcmp(real[i], p->file) != 0))
            i++;
        if (i == n)
            drop_plugin(h, p, "removed from the directory");
        else if (!same_file(p, real[i]))
            drop_plugin(h, p, "reloaded: its file changed");
        else
            want[i] = 0;
        p = next;
    }
    if (rc == PH_OK) {
        /* Earlier load errors of these files are replaced by this attempt. */
        for (size_t i = json_array_size(h->load_errors); i-- > 0;) {
            const char *f =
                json_string_value(json_object_get(json_array_get(h->load_errors, i), "file"));
            for (size_t k = 0; f && k < n; k++)
                if (want[k] && real[k] && strcmp(real[k], f) == 0) {
                    json_array_remove(h->load_errors, i);
                    break;
                }
        }
        rc = load_files(h, files, n, want, err);
    }
    for (size_t i = 0; real && i < n; i++)
        free(real[i]);
    free(real);
    free(want);
    free(rdir);
    free_files(files, n);
    return rc;
}

int ph_host_load_file(ph_host *h, const char *path, const char **name_out, ph_error *err)
{
    struct ph_plug *p;
    size_t before = json_array_size(h->load_errors);
    if (spawn_new(h, path, &p) < 0)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    if (p && finish_loading(h, &p, 1, err) < 0)
        return err ? err->status : PH_E_SYSTEM;
    if (!p) {
        json_t *e = json_object_get(json_array_get(h->load_errors, before), "error");
        const char *m = json_string_value(json_object_get(e, "message"));
        return ph_set_error(err, PH_E_PLUGIN, "%s: %s", path, m ? m : "failed to load");
    }
    if (name_out)
        *name_out = p->name;
    return PH_OK;
}

json_t *ph_host_describe(ph_host *h)
{
    json_t *plugins = json_array();
    for (struct ph_plug *p = h->plugs; p; p = p->next) {
        /* Lazy: a cold plugin whose file changed is started to learn its
         * hello, which is left out until then (lazy.c). */
        if (ph_lazy_check(p))
            restart(h, p);
        json_t *o = json_pack("{s:s?,s:s,s:s,s:i,s:i}", "name", p->name, "file", p->file, "state",
                              p->state == PH_P_READY     ? "ready"
                              : p->state == PH_P_LOADING ? "loading"
                                                         : "down",
                              "pid", (int)p->pid, "restarts", (int)p->restarts);
        if (!o)
            continue;
        json_t *hello = p->hello_stale ? NULL : p->hello;
        if (h->cache)
            json_object_set_new(
                o, "cold",
                json_boolean(p->hello_cached && p->state == PH_P_DOWN && !p->cause_data));
        const char *keys[] = {"version", "description", "methods", "protocol"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (json_object_get(hello, keys[i]))
                json_object_set(o, keys[i], json_object_get(hello, keys[i]));
        if (p->sha256[0])
            json_object_set_new(o, "sha256", json_string(p->sha256));
        if (h->pins && p->hello)
            json_object_set_new(o, "pin", json_string(p->pin_blocked ? "changed" : "ok"));
        if (p->pin_blocked)
            json_object_set_new(o, "pin_changes",
                                p->pin_changes ? json_incref(p->pin_changes)
                                               : json_pack("[s]", "could not be compared"));
        if (p->layers) {
            /* The loader's record, and the cgroup the host made. */
            json_t *layers = json_copy(p->layers);
            if (layers && p->cg.layer)
                json_object_set(layers, "cgroup", p->cg.layer);
            json_object_set_new(o, "layers", layers);
        }
        if (p->audit)
            json_object_set(o, "audit", p->audit);
        if (p->ready_ns > p->spawn_ns)
            json_object_set_new(o, "spawn_us",
                                json_integer((json_int_t)((p->ready_ns - p->spawn_ns) / 1000)));
        json_t *stages = p->state == PH_P_READY ? ph_plug_spawn_stages(p) : NULL;
        if (stages)
            json_object_set_new(o, "spawn_stages_us", stages);
        json_array_append_new(plugins, o);
    }
    json_t *fns = json_array();
    for (size_t i = 0; i < h->nfns; i++)
        json_array_append_new(fns, json_string(h->fns[i].name));
    return json_pack("{s:o,s:O,s:o,s:b}", "plugins", plugins, "errors", h->load_errors,
                     "host_functions", fns, "lazy", h->lazy);
}
