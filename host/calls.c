/*
 * calls: the call table. Every call the host has been asked to make lives
 * here from the moment it is made until its callback has run: its entry in
 * the list of live calls and in the index by id, its deadline, its answer
 * (a result, checked result text, or an error, with the blobs on either
 * side), and the list of answers waiting for ph_host_process() to deliver
 * them, and the operator's counts of the answers it delivers (status.h,
 * read by status.c). It sits below everything that makes or answers calls
 * (host.c, pool.c, supervisor.c, ending.c, hostfn.c, pins.c, violation.c)
 * and calls none of them: only the index, the timers, base.c and the
 * wire's error objects.
 *
 * It must never deliver an answer from inside the function that made the
 * call, deliver two answers for one call, or free a call while a plugin
 * may still answer it (a cancelled call stays until its plugin lets go).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

json_t *ph_call_error(struct ph_plug *p, const char *method, int code, enum ph_end status,
                      json_t *detail, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ph_cut_whole(msg, sizeof msg, n);
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

/* Only calls made by ph_host_call_async are linked: a cancelled call's
 * early answer never is, and is never indexed or timed either. */
void ph_calls_unlink(struct ph_host *h, struct ph_call *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    c->next = c->prev = NULL;
    if (c->sent)
        c->plug->awaited--;
    else if (!c->plug && c->pool)
        c->pool->queued--;
    ph_htab_del(&h->calls_by_id, &c->by_id);
    ph_timers_del(&h->call_timers, &c->timer);
    ph_timers_release(&h->call_timers);
}

void ph_calls_set_deadline(struct ph_host *h, struct ph_call *c, uint64_t at)
{
    c->deadline_ms = at;
    ph_timers_set(&h->call_timers, &c->timer, at);
}

void ph_calls_free(struct ph_call *c)
{
    if (c->pool)
        c->pool->ncalls--;
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
void ph_calls_done(struct ph_host *h, struct ph_call *c)
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
    ph_calls_unlink(h, c);
    if (c->cancelled) {
        json_decref(result);
        json_decref(error);
        ph_calls_free(c);
        return;
    }
    c->result = result;
    c->error = result
                   ? NULL
                   : (error ? error : ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "no answer", NULL));
    if (result)
        json_decref(error);
    ph_calls_done(h, c);
}

void ph_call_finish_text(struct ph_host *h, struct ph_call *c, char *text, size_t len)
{
    ph_calls_unlink(h, c);
    if (c->cancelled) {
        free(text);
        ph_calls_free(c);
        return;
    }
    c->result_text = text;
    c->result_len = len;
    ph_calls_done(h, c);
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
static const char *const cause_names[PH_CAUSE_N] = {
    [PH_CAUSE_TIMEOUT] = "timeout",
    [PH_CAUSE_SIGNALED] = "signaled",
    [PH_CAUSE_EXITED] = "exited",
    [PH_CAUSE_VIOLATION] = "violation",
    [PH_CAUSE_LIMIT] = "limit",
    [PH_CAUSE_PROTOCOL] = "protocol",
    [PH_CAUSE_KILLED] = "killed",
    [PH_CAUSE_SETUP_ERROR] = "setup_error",
    [PH_CAUSE_CANCELLED] = "cancelled",
    [PH_CAUSE_PLUGIN_ERROR] = "plugin_error",
    [PH_CAUSE_INVALID_PARAMS] = "invalid_params",
    [PH_CAUSE_BUSY] = "busy",
    [PH_CAUSE_CIRCUIT_OPEN] = "circuit_open",
    [PH_CAUSE_NOT_LOADED] = "not_loaded",
    [PH_CAUSE_OTHER] = "other",
};

/* The cause of a failed call, read from the error the caller gets: the
 * host's own errors carry data.status (an ending), data.circuit, or one of
 * its codes; whatever else is the plugin's own error. data is read only
 * under a code the host reserves: a method's error data reaches the caller
 * unchanged, and its "status" must not count as a violation. */
static enum ph_status_cause cause_of(const json_t *error)
{
    json_t *data = ph_rpc_code_reserved(json_integer_value(json_object_get(error, "code")))
                       ? json_object_get(error, "data")
                       : NULL;
    const char *st = json_string_value(json_object_get(data, "status"));
    if (st) {
        for (int i = 0; i <= PH_CAUSE_SETUP_ERROR; i++)
            if (strcmp(st, cause_names[i]) == 0)
                return (enum ph_status_cause)i;
        return PH_CAUSE_OTHER;
    }
    if (json_object_get(data, "circuit"))
        return PH_CAUSE_CIRCUIT_OPEN;
    switch (json_integer_value(json_object_get(error, "code"))) {
    case PH_RPC_PLUGIN_NOT_LOADED:
        return PH_CAUSE_NOT_LOADED;
    case PH_RPC_INVALID_PARAMS:
        return PH_CAUSE_INVALID_PARAMS;
    case PH_RPC_CANCELLED:
        return PH_CAUSE_CANCELLED;
    default:
        return PH_CAUSE_PLUGIN_ERROR;
    }
}

/* The operator's counters (status.h) of a call answered through the loop:
 * status.c reads them, this bumps them, so the table never calls up. */
static void count_call(struct ph_host *h, struct ph_plug *p, int result, const json_t *error)
{
    h->status.calls_total++;
    if (!p)
        return;
    if (result)
        p->status.served++;
    else
        p->status.failed[cause_of(error)]++;
}

const char *ph_call_cause_name(enum ph_status_cause cause)
{
    return (unsigned)cause < PH_CAUSE_N ? cause_names[cause] : "other";
}

int ph_calls_run_done(struct ph_host *h)
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
        /* Counted for the plugin, whichever of its instances served it. */
        count_call(h, c->pool, c->result || c->result_text, c->error);
        if (c->raw_cb)
            answer_raw(c);
        else if (c->cb)
            c->cb(c->ud, c->id, c->result, c->error);
        h->running_call = NULL;
        ph_calls_free(c);
        n++;
    }
    return n;
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
