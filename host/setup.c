/*
 * setup: making a host (the loader, the kernel's namespaces and Landlock,
 * the uid plugins run as, the cgroup layer, the operator's requirements)
 * and freeing it with every plugin it ran; the hooks the instance layer
 * calls up through are set here (struct ph_hooks).
 *
 * It must never leave a host half made: a failure frees what was made and
 * says why. The self-test of "self_test": true is the layer above
 * (selftest.c), handed in as a function, so this calls only down.
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

#ifndef PH_LOADER_INSTALLED
#define PH_LOADER_INSTALLED "/usr/local/libexec/plughost/plughost-loader"
#endif

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

/* The ready hook (struct ph_hooks): the "started" event of an instance
 * that finished its handshake, with where its start's time went
 * (spawn.c), which the instance layer below cannot ask for. */
static void on_ready(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    json_t *ev = json_pack("{s:s,s:s,s:i,s:i,s:I}", "type", "started", "plugin", p->name,
                           "instance", (int)p->index, "pid", (int)p->pid, "spawn_us",
                           (json_int_t)((p->ready_ns - p->spawn_ns) / 1000));
    json_t *stages = ph_plug_spawn_stages(p);
    if (ev && stages)
        json_object_set_new(ev, "spawn_stages_us", stages);
    else
        json_decref(stages);
    ph_host_event(h, ev);
}

int ph_host_make(const ph_host_options *opts, ph_host **out, ph_check_fn self_test, ph_error *err)
{
    *out = NULL;
    struct ph_host *h = calloc(1, sizeof *h);
    if (!h)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    ph_status_host_init(&h->status);
    h->hooks.hello = ph_lazy_on_hello;
    h->hooks.ready = on_ready;
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
    if (!h->opt.instances)
        h->opt.instances = 1;
    if (!h->opt.idle_stop_ms)
        h->opt.idle_stop_ms = 30000;
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
    if (h->opt.instances > PH_MAX_INSTANCES) {
        unsigned n = h->opt.instances;
        ph_host_free(h);
        return ph_set_error(err, PH_E_INVALID, "instances is %u, at most %d", n, PH_MAX_INSTANCES);
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
    if (check_required(h, err) < 0 || (self_test && self_test(h, err) < 0)) {
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
    /* No start is begun once the host goes on to end them all. The
     * worker itself stays until every process is reaped: its children's
     * death signal is tied to it, and they get ph.shutdown first. */
    ph_worker_drop(h->worker);
    /* Ask every plugin to stop, give them a moment, then make sure:
     * nothing outlives the host. */
    /* Instances past a pool's first are ended at once: a pool is for
     * calls, and no call is coming. */
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        ph_pool_free(p);
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
    /* Now the worker goes: the start it was making finishes (and is ended
     * with its plugin below), and every cgroup removal queued is made. */
    ph_worker_stop(h->worker);
    h->worker = NULL;
    ph_calls_run_done(h);
    while (h->calls.next != &h->calls) {
        struct ph_call *c = h->calls.next;
        ph_calls_unlink(h, c);
        ph_calls_free(c);
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

void ph_host_intercept_functions(ph_host *h, ph_hostcall_fn fn, void *ud)
{
    h->intercept = fn;
    h->intercept_ud = ud;
}
