/*
 * ending: one instance's end: reaping its process, naming how it ended
 * (enum ph_end) from what the host asked, what the sandbox said and what
 * the kernel saw, failing every call still waiting on it, and counting the
 * failure toward its backoff and its plugin's circuit breaker.
 *
 * It reads what the plugin sent before dying (supervisor.c) and must never
 * call a module above it: the pool and the loop see the end through the
 * instance's state, after this returns.
 */
#include "bounds.h"
#include "internal.h"
#include "jscan.h"

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

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int rpc_code(enum ph_end end)
{
    switch (end) {
    case PH_END_VIOLATION:
        return PH_RPC_PLUGIN_VIOLATION;
    case PH_END_TIMEOUT:
        return PH_RPC_PLUGIN_TIMEOUT;
    case PH_END_PROTOCOL:
        return PH_RPC_PLUGIN_PROTOCOL;
    case PH_END_LIMIT:
        return PH_RPC_PLUGIN_LIMIT;
    case PH_END_SETUP_ERROR:
        return PH_RPC_PLUGIN_NOT_LOADED;
    default:
        return PH_RPC_PLUGIN_CRASHED;
    }
}

/* Names the ending from what the host saw and what the kernel reported:
 * wait's status, the CPU time the process used (cpu_us, from the reap's
 * rusage) and its cgroup's out-of-memory kills. The plugin's own word (a
 * ph.setup_failed) counts only after all of these, and only while loading. */
static enum ph_end classify_end(struct ph_plug *p, const siginfo_t *si, long oom_kills,
                                uint64_t cpu_us, json_t *detail, char *msg, size_t msglen)
{
    /* Until a first load succeeds, only the file is trusted to name it. */
    const char *who = p->name && !p->initial ? p->name : p->file;
    if (si->si_code == CLD_EXITED)
        json_object_set_new(detail, "exit_code", json_integer(si->si_status));
    else
        json_object_set_new(detail, "signal", json_string(ph_signal_name(si->si_status)));
    switch (p->cause) {
    case PH_END_VIOLATION: {
        const char *sc = json_string_value(json_object_get(p->cause_data, "syscall"));
        const char *path = json_string_value(json_object_get(p->cause_data, "path"));
        const char *fam = json_string_value(json_object_get(p->cause_data, "family"));
        const char *fn = json_string_value(json_object_get(p->cause_data, "function"));
        const char *arch = json_string_value(json_object_get(p->cause_data, "arch"));
        snprintf(msg, msglen,
                 "plugin %s was killed by the sandbox: forbidden syscall %s%s%s%s%s%s%s%s", who,
                 sc ? sc : "?",
                 path  ? "(\""
                 : fam ? "("
                       : "",
                 path  ? path
                 : fam ? fam
                       : "",
                 path  ? "\")"
                 : fam ? ")"
                       : "",
                 arch && strcmp(arch, "x86_64") ? " via the " : "",
                 arch && strcmp(arch, "x86_64") ? arch : "", fn ? " from " : "", fn ? fn : "");
        return PH_END_VIOLATION;
    }
    case PH_END_TIMEOUT: {
        const char *lim = json_string_value(json_object_get(p->cause_data, "limit"));
        snprintf(msg, msglen, "plugin %s timed out (%s) and was killed", who, lim ? lim : "?");
        return PH_END_TIMEOUT;
    }
    case PH_END_PROTOCOL: {
        const char *why = json_string_value(json_object_get(p->cause_data, "breach"));
        snprintf(msg, msglen, "plugin %s broke the protocol: %s", who,
                 why ? why : "unnamed breach");
        return PH_END_PROTOCOL;
    }
    case PH_END_LIMIT: {
        const char *lim = json_string_value(json_object_get(p->cause_data, "limit"));
        snprintf(msg, msglen, "plugin %s hit a limit (%s)", who, lim ? lim : "?");
        return PH_END_LIMIT;
    }
    case PH_END_KILLED:
        snprintf(msg, msglen, "plugin %s was stopped by the host", who);
        return PH_END_KILLED;
    default:
        break;
    }
    int killed = si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED;
    /* The kernel's out-of-memory killer struck in the plugin's own cgroup,
     * whose only process it was: the kernel's count, not the plugin's word. */
    if (killed && oom_kills > 0 && si->si_status == SIGKILL) {
        json_object_set_new(detail, "limit", json_string("memory_limit"));
        json_object_set_new(detail, "limit_value", json_integer((json_int_t)p->cg.memory_max));
        json_object_set_new(detail, "enforced_by",
                            json_string(p->cg.version == 2 ? "cgroup v2" : "cgroup v1"));
        snprintf(msg, msglen,
                 "plugin %s used up its memory limit (%zu bytes): killed by the kernel's "
                 "out-of-memory killer in its cgroup",
                 who, p->cg.memory_max);
        return PH_END_LIMIT;
    }
    /* RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL at the hard one a
     * second later. A plugin that is its pid namespace's init never gets
     * the SIGXCPU (the kernel drops it), one may ignore it, and one may
     * raise it itself, so the signal alone does not tell; the CPU time the
     * kernel counted does. Nothing else sends SIGKILL to it without the
     * host knowing (a host kill sets p->cause; the cgroup's OOM kills were
     * counted above). */
    uint64_t cpu_limit_us = (uint64_t)p->set.cpu_limit_s * 1000000u;
    if (killed && (si->si_status == SIGXCPU || si->si_status == SIGKILL) && cpu_limit_us &&
        cpu_us >= cpu_limit_us) {
        json_object_set_new(detail, "limit", json_string("cpu_limit_s"));
        json_object_set_new(detail, "limit_value", json_integer((json_int_t)p->set.cpu_limit_s));
        json_object_set_new(detail, "cpu_ms", json_integer((json_int_t)(cpu_us / 1000)));
        json_object_set_new(detail, "enforced_by", json_string("RLIMIT_CPU"));
        snprintf(msg, msglen, "plugin %s used up its CPU time limit (%u s): killed by the kernel",
                 who, p->set.cpu_limit_s);
        return PH_END_LIMIT;
    }
    if (p->setup_failure) {
        /* Said while loading, and it ended without finishing its handshake.
         * Only these two bounded strings are taken from the message: it
         * comes from the plugin's process and must not overwrite what wait
         * reported. */
        const char *stage = json_string_value(json_object_get(p->setup_failure, "stage"));
        const char *why = json_string_value(json_object_get(p->setup_failure, "message"));
        snprintf(msg, msglen, "plugin %s failed to start (%s): %s", who, stage ? stage : "?",
                 why && *why ? why : "no reason given");
        json_object_set_new(detail, "stage", json_string(stage ? stage : "?"));
        json_object_set_new(detail, "reason", json_string(why ? why : ""));
        return PH_END_SETUP_ERROR;
    }
    if (si->si_code == CLD_EXITED && si->si_status == 0 && p->stopping) {
        snprintf(msg, msglen, "plugin %s stopped", who);
        return PH_END_OK;
    }
    if (si->si_code == CLD_EXITED) {
        snprintf(msg, msglen, "plugin %s exited with status %d", who, si->si_status);
        return PH_END_EXITED;
    }
    if (si->si_status == SIGSYS)
        json_object_set_new(detail, "note",
                            json_string("SIGSYS without a seccomp notification: raised by the "
                                        "plugin itself, not a refused syscall"));
    snprintf(msg, msglen, "plugin %s crashed with %s", who, ph_signal_name(si->si_status));
    return PH_END_SIGNALED;
}

static void close_fd(struct ph_plug *p, int *fd)
{
    if (*fd >= 0) {
        epoll_ctl(p->host->epfd, EPOLL_CTL_DEL, *fd, NULL);
        close(*fd);
        *fd = -1;
    }
}

/* Counts an abnormal end toward the backoff and the circuit breaker. The
 * breaker is the plugin's (its pool head's): every instance runs the same
 * file, so a fault in one is a fault of all. The backoff is the
 * instance's: it delays that process's next start. */
static void note_failure(struct ph_plug *inst, const char *why)
{
    struct ph_plug *p = inst->head;
    const ph_host_options *o = &p->host->opt;
    uint64_t now = ph_now_ms();
    if (now - p->window_start_ms > o->failure_window_ms) {
        p->window_start_ms = now;
        p->recent_failures = 0;
    }
    p->recent_failures++;
    uint64_t backoff = 0;
    if (p->recent_failures > 1) {
        unsigned shift = p->recent_failures - 2 < 16 ? p->recent_failures - 2 : 16;
        backoff = (uint64_t)o->restart_backoff_ms << shift;
        if (backoff > o->restart_backoff_max_ms)
            backoff = o->restart_backoff_max_ms;
    }
    inst->restart_at_ms = backoff ? now + backoff : 0;
    if (p->recent_failures >= o->max_failures) {
        p->circuit_until_ms = now + o->cooldown_ms;
        inst->restart_at_ms = 0;
        ph_host_event(p->host, json_pack("{s:s,s:s,s:I,s:s}", "type", "circuit_open", "plugin",
                                         p->name ? p->name : p->file, "cooldown_ms",
                                         (json_int_t)o->cooldown_ms, "last_failure", why));
    }
}

/* The last of an end: ended (stolen) is kept, for load errors and `list`,
 * as why it last ended, and the "ended" event says it. */
static void ended_with(struct ph_plug *p, enum ph_end end, json_t *ended)
{
    json_decref(p->cause_data);
    p->cause_data = ended;
    p->cause = PH_END_NONE;
    ph_host_event(p->host, json_pack("{s:s,s:s,s:i,s:s,s:O}", "type", "ended", "plugin",
                                     p->name ? p->name : p->file, "instance", (int)p->index,
                                     "status", ph_end_name(end), "error", ended));
}

void ph_plug_start_failed(struct ph_plug *p, const char *why)
{
    struct ph_host *h = p->host;
    h->start_failures++;
    p->state = PH_P_DOWN;
    p->pid = 0;
    p->failed_last = 1;
    p->idle_since_ms = 0;
    note_failure(p, why);
    json_t *detail = p->cause_data ? json_deep_copy(p->cause_data) : json_object();
    for (struct ph_call *c = h->calls.next; c != &h->calls;) {
        struct ph_call *next = c->next;
        if (c->plug == p)
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR,
                                         json_deep_copy(detail), "%s while starting", why));
        c = next;
    }
    json_t *ended =
        ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, detail, "%s", why);
    ph_status_count_end(p->head, PH_END_SETUP_ERROR, ended);
    ended_with(p, PH_END_SETUP_ERROR, ended);
}

void ph_plug_on_exit(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (p->pidfd < 0)
        return;
    /* Read what it said before dying: a setup failure, a last answer. */
    if (p->sock >= 0)
        ph_plug_drain(p);
    siginfo_t si;
    struct rusage ru;
    memset(&si, 0, sizeof si);
    memset(&ru, 0, sizeof ru);
    /* The system call, not glibc's waitid(): only it also gives the
     * child's resource usage, the kernel's count of its CPU time. */
    if (syscall(SYS_waitid, P_PIDFD, p->pidfd, &si, WEXITED, &ru) < 0)
        return;
    uint64_t cpu_us = (uint64_t)ru.ru_utime.tv_sec * 1000000u + (uint64_t)ru.ru_utime.tv_usec +
                      (uint64_t)ru.ru_stime.tv_sec * 1000000u + (uint64_t)ru.ru_stime.tv_usec;
    json_t *detail = p->cause_data ? json_deep_copy(p->cause_data) : json_object();
    char msg[600];
    enum ph_end end =
        classify_end(p, &si, ph_cg_plug_oom_kills(&p->cg), cpu_us, detail, msg, sizeof msg);
    ph_status_count_end(p->head, end, detail); /* per plugin, over its instances */
    /* A v1 memory cgroup's rmdir has taken 10 ms here: on the worker when
     * there is one. */
    ph_cg_plug_remove_on(&h->cg, &p->cg, h->worker);
    close_fd(p, &p->sock);
    close_fd(p, &p->notify_fd);
    close_fd(p, &p->pidfd);
    ph_wire_rx_free(&p->rx);
    while (p->out_head) {
        struct ph_out *o = p->out_head;
        p->out_head = o->next;
        if (o->fd >= 0)
            close(o->fd);
        free(o->buf);
        free(o);
    }
    p->out_tail = NULL;
    int was_loading = p->state == PH_P_LOADING;
    p->state = PH_P_DOWN;
    p->pid = 0;
    p->failed_last = end != PH_END_OK && end != PH_END_KILLED;
    p->idle_since_ms = 0;
    if (p->failed_last)
        note_failure(p, msg);
    /* The plugin serves calls in the order sent: the earliest sent call is
     * the one it was running; the others were only waiting behind it. */
    struct ph_call *running = NULL;
    for (struct ph_call *c = h->calls.next; c != &h->calls && !running; c = c->next)
        if (c->plug == p && c->sent && !c->cancelled)
            running = c;
    for (struct ph_call *c = h->calls.next; c != &h->calls;) {
        struct ph_call *next = c->next;
        if (c->plug == p) {
            char cmsg[800];
            if (was_loading)
                snprintf(cmsg, sizeof cmsg, "%s while starting", msg);
            else if (c == running || !running)
                snprintf(cmsg, sizeof cmsg, "%s while running %s", msg, c->method);
            else
                snprintf(cmsg, sizeof cmsg,
                         "%s while running %s; this call (%s) was waiting "
                         "behind it",
                         msg, running->method, c->method);
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, rpc_code(end), end, json_deep_copy(detail),
                                         "%s", cmsg));
        }
        c = next;
    }
    ended_with(p, end,
               ph_call_error(p, NULL, rpc_code(end), end, json_deep_copy(detail), "%s", msg));
    json_decref(detail);
}

void ph_plug_free(struct ph_plug *p)
{
    if (!p)
        return;
    /* No start of it left on the worker, which borrows p. */
    ph_worker_settle(p->host->worker, p);
    for (struct ph_plug **q = &p->host->held; p->held && *q; q = &(*q)->held_next)
        if (*q == p) {
            *q = p->held_next;
            if (p->host->held_tail == &p->held_next)
                p->host->held_tail = q;
            p->held = 0;
            break;
        }
    if (p->pidfd >= 0) {
        ph_plug_kill(p, PH_END_KILLED, NULL);
        ph_plug_on_exit(p);
    }
    if (p->file_fd >= 0)
        close(p->file_fd);
    free(p->file);
    free(p->name);
    json_decref(p->hello);
    json_decref(p->layers);
    json_decref(p->cg.layer);
    json_decref(p->audit);
    json_decref(p->pin_changes);
    json_decref(p->cause_data);
    json_decref(p->setup_failure);
    free(p->hostfn_calls);
    free(p);
}

const char *ph_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
        {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
        {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGXCPU, "SIGXCPU"},
        {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    return "signal";
}
