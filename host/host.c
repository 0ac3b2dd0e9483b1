/*
 * host: the public API of calls (include/plughost/host.h) and the event
 * loop. Calls are made here and kept in the call table (calls.c): every
 * call gets exactly one answer, delivered from ph_host_process() and never
 * from inside the function that started it. Making and freeing a host is
 * setup.c, loading plugins load.c.
 *
 * It must never block outside ph_host_process()/ph_host_call() and never
 * parse a plugin's bytes itself (supervisor.c hands it checked messages);
 * it calls only down (pool.c, the instance layer, calls.c).
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

/* ---- restarts; making calls (the table is calls.c) ---- */

/* Starts a plugin again after it ended; a failure to even spawn fails the
 * calls waiting for it. */
void ph_host_restart(struct ph_host *h, struct ph_plug *p)
{
    ph_error e;
    /* A cold plugin's first start is no restart (lazy.c): no process of
     * it has ended (cause_data, which the spawn clears). */
    int first = p->hello_cached && !p->cause_data;
    int rc = ph_plug_spawn(p, &e);
    ph_pool_timer(h, p);
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
struct ph_plug *ph_host_find_plug(struct ph_host *h, const char *name)
{
    uint64_t hash = ph_hash_str(name);
    for (struct ph_hnode *n = ph_htab_find(&h->plugs_by_name, hash); n; n = ph_htab_next(n)) {
        struct ph_plug *p = ph_container_of(n, struct ph_plug, by_name);
        if (strcmp(p->name, name) == 0)
            return p;
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
    struct ph_plug *p = ph_host_find_plug(h, plugin);
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
    c->pool = p;
    c->client = h->client_in_use;
    c->params = params ? json_incref(params) : NULL;
    json_decref(tree); /* the call holds it now */
    c->cb = a->cb;
    c->raw_cb = a->raw_cb;
    c->cold_start = p->hello_cached;
    c->ud = a->ud;
    ph_calls_set_deadline(h, c, ph_now_ms() + p->set.call_timeout_ms);
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
    if (ph_pool_active(p)) {
        if (ph_pool_enqueue(p, c) < 0)
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, method, PH_RPC_INTERNAL_ERROR, PH_END_NONE, NULL,
                                         "out of memory"));
        ph_arm_timer(h);
        return PH_OK;
    }
    if (p->state == PH_P_DOWN && p->restart_at_ms <= now)
        ph_host_restart(h, p);
    else if (p->state == PH_P_READY)
        ph_plug_send_call(p, c);
    /* Otherwise it waits: for the handshake, or for the backoff to pass
     * (check_deadlines starts the plugin then). */
    return PH_OK;
}

/* A client is its id: what the host keeps of it is on its instances. */
struct ph_client {
    uint64_t id;
};

int ph_host_client_new(ph_host *h, ph_client **out, ph_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    (*out)->id = ++h->next_client_id;
    return PH_OK;
}

void ph_host_use_client(ph_host *h, ph_client *c)
{
    h->client_in_use = c ? c->id : 0;
}

void ph_host_client_free(ph_host *h, ph_client *c)
{
    if (!c)
        return;
    if (h->client_in_use == c->id)
        h->client_in_use = 0;
    /* Rare (a client leaving): the scan over plugins is fine here. */
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        if (ph_pool_active(p))
            ph_pool_client_gone(p, c->id);
    ph_arm_timer(h);
    free(c);
}

int ph_host_reset(ph_host *h, const char *plugin, ph_error *err)
{
    struct ph_plug *p = ph_host_find_plug(h, plugin);
    if (!p)
        return ph_set_error(err, PH_E_NOTFOUND, "no plugin named \"%s\" is loaded", plugin);
    p->circuit_until_ms = 0;
    p->recent_failures = 0;
    for (unsigned i = 0; i < (p->inst ? p->cap_inst : 1); i++) {
        struct ph_plug *q = p->inst ? p->inst[i] : p;
        if (q) {
            q->restart_at_ms = 0;
            ph_pool_timer(h, q);
        }
    }
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
    ph_pool_timer(h, c->plug);
    if (ph_pool_active(c->pool))
        ph_pool_dispatch(c->pool);
    if (ph_call_find(h, id))
        return;
    ph_calls_run_done(h);
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
        answer->error = ph_call_error(c->plug ? c->plug : c->pool, c->method, PH_RPC_CANCELLED,
                                      PH_END_NONE, NULL, "call cancelled by the client");
        ph_calls_done(h, answer);
        ph_status_count_cause(c->pool, PH_CAUSE_CANCELLED);
        c->cancelled = 1;
        c->cb = NULL;
        c->raw_cb = NULL;
        /* The answer now carries the call's place in the pending count. */
        if (!c->sent) {
            ph_calls_unlink(h, c);
            ph_calls_free(c);
            ph_arm_timer(h);
            return PH_OK;
        }
        json_t *params = json_pack("{s:I}", "id", (json_int_t)c->id);
        json_t *note = ph_wire_request(NULL, "$/cancelRequest", params);
        json_decref(params);
        ph_plug_send(c->plug, note);
        json_decref(note);
        ph_calls_set_deadline(h, c, ph_now_ms() + h->opt.cancel_grace_ms);
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

/* Acts on every deadline that has passed, nearest first. A deadline is
 * taken off its heap once acted on; whatever happens next (a plugin's end,
 * a restart) arms the next one. */
static void check_deadlines(struct ph_host *h)
{
    uint64_t now = ph_now_ms();
    struct ph_timer *t;
    while ((t = ph_timers_first(&h->plug_timers)) && t->at <= now) {
        struct ph_plug *p = ph_container_of(t, struct ph_plug, timer);
        uint64_t at = ph_pool_deadline(p);
        if (at > now) {
            /* Moved since it was armed (a safety net; plug_timer keeps up). */
            ph_timers_set(&h->plug_timers, t, at);
            continue;
        }
        ph_timers_del(&h->plug_timers, t);
        if (p->state == PH_P_LOADING) {
            /* A start still on the worker records the cause; its process
             * is killed the moment it exists (spawn.c, finish). */
            if ((p->pid > 0 || p->spawning) && p->cause == PH_END_NONE)
                ph_plug_kill(p, PH_END_TIMEOUT,
                             json_pack("{s:s,s:I}", "limit", "handshake_timeout_ms", "limit_value",
                                       (json_int_t)p->set.handshake_timeout_ms));
            continue;
        }
        if (p->state == PH_P_READY) {
            if (ph_plug_stall_deadline(p) <= now)
                ph_plug_on_stall(p);
            else
                ph_pool_stop_idle(p);
            ph_pool_timer(h, p);
            continue;
        }
        /* Down, and its backoff is over: start it if a call waits for it
         * (rare; the scan over calls is fine here). */
        p->restart_at_ms = 0;
        if (ph_pool_active(p->head)) {
            ph_pool_dispatch(p->head);
            continue;
        }
        for (struct ph_call *c = h->calls.next; c != &h->calls; c = c->next)
            if (c->plug == p) {
                ph_host_restart(h, p);
                break;
            }
    }
    while ((t = ph_timers_first(&h->call_timers)) && t->at <= now) {
        struct ph_call *c = ph_container_of(t, struct ph_call, timer);
        struct ph_plug *p = c->plug;
        if (!p) {
            /* Queued in its pool, no instance free in time. */
            ph_call_finish(
                h, c, NULL,
                ph_call_error(c->pool, c->method, PH_RPC_PLUGIN_TIMEOUT, PH_END_TIMEOUT,
                              json_pack("{s:s,s:I}", "limit", "call_timeout_ms", "limit_value",
                                        (json_int_t)c->pool->set.call_timeout_ms),
                              "call timed out waiting for an idle instance of plugin %s",
                              c->pool->name));
            continue;
        }
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
            ph_pool_timer(h, p);
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
    int handled = ph_calls_run_done(h);
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
            ph_pool_timer(h, w->plug);
            break;
        case PH_W_NOTIFY:
            if (w->plug->notify_fd >= 0)
                ph_plug_on_notify(w->plug);
            ph_pool_timer(h, w->plug);
            break;
        case PH_W_PIDFD:
            if (w->plug->pidfd >= 0)
                ph_plug_on_exit(w->plug);
            ph_pool_timer(h, w->plug);
            break;
        case PH_W_APP:
            ph_app_fd_event(w, ev[i].events);
            break;
        case PH_W_WORKER: {
            /* Starts done in the background; one that failed leaves its
             * instance down with a restart time: its pool looks again. */
            unsigned failures = h->start_failures;
            ph_worker_collect(h->worker);
            for (struct ph_plug *p = h->plugs; failures != h->start_failures && p; p = p->next) {
                for (unsigned k = 0; p->inst && k < p->cap_inst; k++)
                    if (p->inst[k])
                        ph_pool_timer(h, p->inst[k]);
                if (ph_pool_active(p))
                    ph_pool_dispatch(p);
            }
            break;
        }
        case PH_W_TIMER: {
            uint64_t ticks;
            ssize_t r = read(h->timerfd, &ticks, sizeof ticks);
            (void)r;
            break;
        }
        }
        /* An instance of a pool may have finished a call, become ready or
         * ended: its pool hands it (or a new one) the next queued call. */
        if ((w->kind == PH_W_SOCK || w->kind == PH_W_NOTIFY || w->kind == PH_W_PIDFD) &&
            ph_pool_active(w->plug->head))
            ph_pool_dispatch(w->plug->head);
    }
    check_deadlines(h);
    handled += n + ph_calls_run_done(h);
    /* Spares last, after this turn's answers are delivered: a call served
     * by a spare does not wait for its replacement's spawn. */
    while (h->spare_due) {
        struct ph_plug *p = h->spare_due;
        h->spare_due = p->spare_next;
        p->spare_next = NULL;
        p->spare_listed = 0;
        ph_pool_top_up(p);
    }
    ph_host_release(h); /* what callbacks wrote while corked */
    /* Re-armed for the state just reached, so a deadline that no longer
     * exists (a handshake done, a call answered) cannot wake an idle host. */
    ph_arm_timer(h);
    return handled;
}
