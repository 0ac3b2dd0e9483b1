/*
 * pool: the instances of one plugin. A plugin is a named group of up to
 * ph_pool_size() instances, each a full spawned, confined process of the
 * same file (spawn.c starts, supervisor.c supervises and ending.c reaps
 * each one alike);
 * this module decides which instance serves a call, starts instances
 * while calls wait and the pool has room, and stops those past the first
 * after they sat idle for the operator's idle_stop_ms.
 *
 * It must never send a call to an instance that is not ready, not idle or
 * stopping, never run more instances than the pool's size, and never
 * start one while the plugin's circuit is open or its slot's backoff
 * runs: every bound that holds for one process holds for each of them.
 * It sits above the instance layer and below the API (host.c) and calls
 * only down; it also keeps each instance's timer (ph_pool_timer), since
 * the idle stop is one of its deadlines.
 *
 * A plugin of one instance (the default) does not come here: its calls go
 * straight to its process, pipelined, as they always did (host.c).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int ph_pool_active(const struct ph_plug *head)
{
    return !head->pool_closed &&
           (head->set.instances > 1 || head->set.isolate != PH_ISOLATE_NONE || head->set.spares);
}

/* Spares wanted: never more than the pool holds. */
static unsigned spares(const struct ph_plug *head)
{
    unsigned size = ph_pool_size(head);
    return head->set.spares < size ? head->set.spares : size;
}

static int one_call(const struct ph_plug *head)
{
    return head->set.isolate == PH_ISOLATE_CALL;
}

unsigned ph_pool_size(const struct ph_plug *head)
{
    if (head->singleton || head->set.singleton || head->set.instances <= 1)
        return 1;
    return head->set.instances < PH_MAX_INSTANCES ? head->set.instances : PH_MAX_INSTANCES;
}

int ph_pool_idle(const struct ph_plug *p)
{
    return p->state == PH_P_READY && p->pid > 0 && p->awaited == 0 && !p->stopping &&
           p->cause == PH_END_NONE && !(one_call(p->head) && p->served);
}

/* A slot past the first: a plugin struct of the same file, named as the
 * head, whose first start is not a load (its failures are ends, not load
 * errors). */
static struct ph_plug *slot_new(struct ph_plug *head, unsigned index)
{
    struct ph_host *h = head->host;
    struct ph_plug *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->host = h;
    p->head = head;
    p->index = index;
    p->file = strdup(head->file);
    p->name = head->name ? strdup(head->name) : NULL;
    p->hostfn_calls = calloc(h->nfns ? h->nfns : 1, sizeof *p->hostfn_calls);
    p->pidfd = p->sock = p->notify_fd = p->file_fd = -1;
    if (!p->file || !p->name || !p->hostfn_calls || ph_timers_adopt(&h->plug_timers) < 0) {
        ph_plug_free(p);
        return NULL;
    }
    return p;
}

/* The head's slot array, grown to the pool's size. */
static int slots(struct ph_plug *head, unsigned n)
{
    if (head->cap_inst >= n)
        return 0;
    struct ph_plug **a = realloc(head->inst, n * sizeof *a);
    if (!a)
        return -1;
    for (unsigned i = head->cap_inst; i < n; i++)
        a[i] = i == 0 ? head : NULL;
    head->inst = a;
    head->cap_inst = n;
    return 0;
}

/* The first call of head's queue at or after from, or NULL. Calls are
 * linked in the order made, so this is the queue's order (FIFO). */
static int by_client(const struct ph_plug *head)
{
    return head->set.isolate == PH_ISOLATE_CLIENT;
}

/* The first queued call of a client, or NULL. */
static struct ph_call *next_for_client(struct ph_plug *head, uint64_t client)
{
    struct ph_call *end = &head->host->calls;
    for (struct ph_call *c = head->host->calls.next; c != end; c = c->next)
        if (c->pool == head && !c->plug && c->client == client)
            return c;
    return NULL;
}

static struct ph_call *next_queued(struct ph_plug *head, struct ph_call *from)
{
    struct ph_call *end = &head->host->calls;
    for (struct ph_call *c = from; c != end; c = c->next)
        if (c->pool == head && !c->plug)
            return c;
    return NULL;
}

int ph_pool_enqueue(struct ph_plug *head, struct ph_call *c)
{
    if (slots(head, ph_pool_size(head)) < 0)
        return -1;
    c->plug = NULL;
    head->queued++;
    ph_pool_dispatch(head);
    return 0;
}

static void fail_queued(struct ph_plug *head, const char *why)
{
    struct ph_host *h = head->host;
    for (struct ph_call *c = next_queued(head, h->calls.next); c;) {
        struct ph_call *next = c->next;
        ph_call_finish(h, c, NULL,
                       ph_call_error(head, c->method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR,
                                     NULL, "plugin %s cannot start an instance: %s", head->name,
                                     why));
        c = next_queued(head, next);
    }
}

/* Starts instances for the calls that wait and the spares wanted: one for
 * each not already covered by an instance starting or idle, within the
 * pool's size. A spawn only forks and execs: the handshake comes later,
 * through the loop, so the loop never waits for a start. With with_spares
 * 0 it only lacks a start for the calls waiting; it returns whether spares
 * are lacking. */
static int grow(struct ph_plug *head, int with_spares)
{
    struct ph_host *h = head->host;
    unsigned size = ph_pool_size(head), loading = 0, live = 0;
    uint64_t now = ph_now_ms();
    if (head->circuit_until_ms > now || slots(head, size) < 0)
        return 0;
    for (unsigned i = 0; i < size; i++) {
        struct ph_plug *p = head->inst[i];
        if (p && (p->state == PH_P_LOADING || (ph_pool_idle(p) && !p->bound)))
            loading++;
        if (p && p->state != PH_P_DOWN)
            live++;
    }
    unsigned want = head->queued + (with_spares ? spares(head) : 0);
    int lacking = loading < head->queued + spares(head);
    if (!with_spares && (!head->queued || loading >= head->queued))
        return lacking;
    int waiting_restart = 0;
    const char *why = NULL;
    ph_error e;
    for (unsigned i = 0; i < size && loading < want; i++) {
        struct ph_plug *p = head->inst[i];
        if (!p && !(p = head->inst[i] = slot_new(head, i)))
            break;
        if (p->state != PH_P_DOWN)
            continue;
        if (p->restart_at_ms > now) {
            waiting_restart = 1;
            continue;
        }
        int again = p->failed_last;
        p->served = 0;
        p->bound = 0;
        p->client = 0;
        /* The slow part of the start runs off the loop (spawn.c). */
        if (ph_plug_spawn_background(p, &e) == 0) {
            loading++;
            live++;
            if (again)
                p->restarts++;
        } else {
            why = e.text;
        }
        ph_pool_timer(h, p);
    }
    if (live == 0 && !waiting_restart && why)
        fail_queued(head, why);
    if (by_client(head) && head->queued && loading == 0 && !waiting_restart) {
        /* Every slot holds another client's instance: one idle one gives
         * its slot up (its client gets a fresh one when it calls again). */
        for (unsigned i = 0; i < size; i++) {
            struct ph_plug *p = head->inst[i];
            if (p && p->bound && ph_pool_idle(p)) {
                ph_plug_kill(
                    p, PH_END_KILLED,
                    json_pack("{s:s}", "reason", "isolate client: room for another client"));
                break;
            }
        }
    }
    return lacking;
}

void ph_pool_client_gone(struct ph_plug *head, uint64_t client)
{
    struct ph_host *h = head->host;
    for (struct ph_call *c = next_for_client(head, client); c; c = next_for_client(head, client))
        ph_call_finish(h, c, NULL,
                       ph_call_error(head, c->method, PH_RPC_INTERNAL_ERROR, PH_END_NONE, NULL,
                                     "the client went before its call was sent"));
    for (unsigned i = 0; i < head->cap_inst; i++) {
        struct ph_plug *p = head->inst ? head->inst[i] : NULL;
        if (p && p->bound && p->client == client && p->pid > 0 && p->cause == PH_END_NONE)
            ph_plug_kill(p, PH_END_KILLED,
                         json_pack("{s:s}", "reason", "isolate client: its client went"));
    }
}

/* Whether p, under isolate "call", has had its one call answered and its
 * process is still to be ended. */
static int answered_once(const struct ph_plug *p)
{
    return p && one_call(p->head) && p->served && p->awaited == 0 && p->pid > 0 &&
           p->cause == PH_END_NONE;
}

/* Ends the instances whose one call (isolate "call") is answered. */
static void retire(struct ph_plug *head)
{
    for (unsigned i = 0; one_call(head) && i < head->cap_inst; i++) {
        struct ph_plug *p = head->inst[i];
        if (answered_once(p))
            ph_plug_kill(p, PH_END_KILLED,
                         json_pack("{s:s}", "reason", "isolate call: its one call is answered"));
    }
}

void ph_pool_top_up(struct ph_plug *head)
{
    retire(head);
    if (ph_pool_active(head) && head->inst)
        grow(head, 1);
    ph_arm_timer(head->host);
}

void ph_pool_dispatch(struct ph_plug *head)
{
    struct ph_host *h = head->host;
    if (!head->inst && (!ph_pool_active(head) || slots(head, ph_pool_size(head)) < 0))
        return;
    uint64_t now = ph_now_ms();
    int retiring = 0;
    struct ph_call *cur = head->queued ? next_queued(head, h->calls.next) : NULL;
    for (unsigned i = 0; i < head->cap_inst; i++) {
        struct ph_plug *p = head->inst[i];
        if (answered_once(p)) {
            /* Its one call is answered: the process goes, and its slot
             * takes a fresh one; at the end of the turn (ph_pool_top_up),
             * after the answer is delivered, since a killed process that
             * wakes on the host's core delays whatever the host does next
             * by its exit. It serves nothing meanwhile (not idle). */
            retiring = 1;
            continue;
        }
        if (!p || !ph_pool_idle(p))
            continue;
        /* Under isolate "client" an instance bound to a client takes only
         * that client's calls; a fresh one takes the first call and is
         * bound to its client for good. */
        struct ph_call *c = by_client(head) && p->bound
                                ? (head->queued ? next_for_client(head, p->client) : NULL)
                                : cur;
        if (!c) {
            if (!p->idle_since_ms) {
                p->idle_since_ms = now;
                ph_pool_timer(h, p);
            }
            continue;
        }
        struct ph_call *next = c->next;
        c->plug = p;
        head->queued--;
        p->idle_since_ms = 0;
        if (one_call(head) && p->served) /* ph_pool_idle rules it out; checked all the same */
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, PH_RPC_INTERNAL_ERROR, PH_END_NONE, NULL,
                                         "refused: the instance already served a call "
                                         "(isolate call)"));
        else if (p->pin_blocked)
            ph_call_finish(h, c, NULL, ph_pins_error(p, c->method));
        else if (by_client(head) && p->bound && p->client != c->client)
            ph_call_finish(h, c, NULL, /* ruled out above; checked all the same */
                           ph_call_error(p, c->method, PH_RPC_INTERNAL_ERROR, PH_END_NONE, NULL,
                                         "refused: the instance serves another client "
                                         "(isolate client)"));
        else {
            if (by_client(head) && !p->bound) {
                p->bound = 1;
                p->client = c->client;
            }
            p->served++;
            ph_plug_send_call(p, c);
        }
        ph_pool_timer(h, p);
        if (c == cur)
            cur = head->queued ? next_queued(head, next) : NULL;
    }
    /* Calls waiting get their starts now; spares at the end of the loop's
     * turn, after its answers are delivered, busy or not: a start's slow
     * part (the cgroup, the clone) runs on the worker's thread, and what is
     * left in the loop is its preparation (the settings, the file, the
     * channel), so a busy pool gets its spares back too. */
    if ((grow(head, 0) || retiring) && !head->spare_listed && head->name) {
        head->spare_listed = 1;
        head->spare_next = h->spare_due;
        h->spare_due = head;
    }
    ph_arm_timer(h);
}

uint64_t ph_pool_idle_deadline(const struct ph_plug *p)
{
    if (p->index == 0 || !p->idle_since_ms)
        return UINT64_MAX;
    if (p->stopping) /* asked to stop: killed if it has not after the grace */
        return p->idle_since_ms + PH_SHUTDOWN_GRACE_MS;
    if (!ph_pool_idle(p))
        return UINT64_MAX;
    /* Spares are kept: only idle instances past them stop. */
    unsigned idle = 0;
    for (unsigned i = 0; i < p->head->cap_inst; i++)
        idle += p->head->inst[i] && ph_pool_idle(p->head->inst[i]);
    if (idle <= spares(p->head))
        return UINT64_MAX;
    return p->idle_since_ms + p->head->set.idle_stop_ms;
}

void ph_pool_stop_idle(struct ph_plug *p)
{
    if (p->stopping) {
        ph_plug_kill(p, PH_END_KILLED,
                     json_pack("{s:s}", "reason", "idle instance did not stop when asked"));
        p->idle_since_ms = 0;
        return;
    }
    json_t *bye = ph_wire_request(NULL, "ph.shutdown", NULL);
    if (bye && ph_plug_send(p, bye) == 0) {
        p->stopping = 1;
        p->idle_since_ms = ph_now_ms();
    } else {
        ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", "idle instance stopped"));
        p->idle_since_ms = 0;
    }
    json_decref(bye);
}

json_t *ph_pool_describe(const struct ph_plug *head)
{
    json_t *a = json_array();
    unsigned n = head->inst ? head->cap_inst : 1;
    for (unsigned i = 0; i < n; i++) {
        const struct ph_plug *p = head->inst ? head->inst[i] : head;
        if (!p)
            continue;
        /* "ending": asked to stop or being ended (idle stop, its one call
         * answered), not yet reaped; never given a call again. */
        const char *state = p->state == PH_P_LOADING ? "loading"
                            : p->state != PH_P_READY ? "down"
                            : p->awaited             ? "busy"
                            : ph_pool_idle(p)        ? "idle"
                                                     : "ending";
        json_array_append_new(a, json_pack("{s:i,s:i,s:s,s:i,s:i}", "index", (int)p->index, "pid",
                                           (int)p->pid, "state", state, "restarts",
                                           (int)p->restarts, "in_flight", (int)p->awaited));
        json_t *o = json_array_get(a, json_array_size(a) - 1);
        if (o && p->cg.layer)
            json_object_set(o, "cgroup", p->cg.layer);
        if (o && p->pid > 0)
            json_object_set_new(o, "served", json_integer((json_int_t)p->served));
        if (o && p->bound && p->pid > 0)
            json_object_set_new(o, "client", json_integer((json_int_t)p->client));
    }
    return a;
}

void ph_pool_free(struct ph_plug *head)
{
    struct ph_host *h = head->host;
    /* The host or the plugin is going: the loop that runs while it goes
     * must not start spares or replacements. */
    head->pool_closed = 1;
    for (struct ph_plug **q = &h->spare_due; head->spare_listed && *q; q = &(*q)->spare_next)
        if (*q == head) {
            *q = head->spare_next;
            head->spare_listed = 0;
            break;
        }
    if (head->queued)
        fail_queued(head, "the plugin is stopping");
    for (unsigned i = 1; i < head->cap_inst; i++) {
        struct ph_plug *p = head->inst[i];
        if (!p)
            continue;
        if (p->pidfd >= 0) {
            ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", "plugin stopping"));
            ph_plug_on_exit(p);
        }
        /* Answers still to be delivered name the head, never a freed slot. */
        for (struct ph_call *c = h->done_head; c; c = c->next)
            if (c->plug == p)
                c->plug = head;
        ph_timers_del(&h->plug_timers, &p->timer);
        ph_timers_release(&h->plug_timers);
        ph_plug_free(p);
        head->inst[i] = NULL;
    }
    free(head->inst);
    head->inst = NULL;
    head->cap_inst = 0;
}

/* When the plugin itself needs the loop's attention: its handshake
 * deadline while loading, its restart time while down after a failure. */
uint64_t ph_pool_deadline(const struct ph_plug *p)
{
    if (p->state == PH_P_LOADING)
        return p->handshake_deadline_ms;
    if (p->state == PH_P_DOWN && p->restart_at_ms)
        return p->restart_at_ms;
    if (p->state == PH_P_READY) {
        /* Its answers unread (bounds.h), or its idle time in a pool over. */
        uint64_t stall = ph_plug_stall_deadline(p), idle = ph_pool_idle_deadline(p);
        return stall < idle ? stall : idle;
    }
    return UINT64_MAX;
}

/* Called after anything that may have changed a plugin's state or its
 * deadlines: the supervisor sets them, the host keeps the heap in step. */
void ph_pool_timer(struct ph_host *h, struct ph_plug *p)
{
    ph_timers_set(&h->plug_timers, &p->timer, ph_pool_deadline(p));
}
