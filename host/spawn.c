/*
 * spawn: starting one plugin process. It probes which namespaces this
 * machine lets the host create, opens and checks the plugin file, makes the
 * process's cgroup, clones the child into its namespaces and, in the child,
 * joins the cgroup (v1), maps its ids and execs the trusted loader with only
 * the channel and the plugin file open.
 *
 * It must never start a child with less than the host was asked for: a
 * layer the configuration requires and cannot be had stops the start, and a
 * child that cannot set itself up says why as a message (ph.setup_failed)
 * before it exits, never by silence.
 */
#include "bounds.h"
#include "internal.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const struct {
    uint64_t flag;
    const char *name;
} ns_table[] = {
    {CLONE_NEWUSER, "user"},     {CLONE_NEWPID, "pid"}, {CLONE_NEWNET, "net"},
    {CLONE_NEWIPC, "ipc"},       {CLONE_NEWUTS, "uts"}, {CLONE_NEWNS, "mnt"},
    {CLONE_NEWCGROUP, "cgroup"},
};

/* cgroup_fd >= 0: the child is born in that cgroup (v2), never counted
 * anywhere else, not even for an instant. */
static pid_t clone3_(uint64_t flags, int *pidfd, int cgroup_fd)
{
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)pidfd;
    ca.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)cgroup_fd;
    }
    return (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
}

/* Finds the namespaces this machine lets us create, most first: all of
 * them, then all but the user namespace, then none. A root host starts at
 * the second: it needs no user namespace to make the others, and one would
 * map the plugin to root outside; its loader becomes an unprivileged user
 * instead. A layer that is not available is reported, never faked. */
void ph_ns_probe(struct ph_host *h)
{
    uint64_t all = 0;
    for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++)
        all |= ns_table[i].flag;
    const uint64_t tries[] = {all, all & ~(uint64_t)CLONE_NEWUSER, 0};
    h->ns_flags = 0;
    for (size_t t = geteuid() == 0 ? 1 : 0; t < sizeof tries / sizeof tries[0]; t++) {
        int pidfd = -1;
        pid_t pid = clone3_(tries[t], &pidfd, -1);
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            continue;
        siginfo_t si;
        waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED);
        close(pidfd);
        h->ns_flags = tries[t];
        break;
    }
    h->ns_names[0] = '\0';
    for (size_t i = 0; i < sizeof ns_table / sizeof ns_table[0]; i++) {
        if (!(h->ns_flags & ns_table[i].flag))
            continue;
        size_t n = strlen(h->ns_names);
        snprintf(h->ns_names + n, sizeof h->ns_names - n, "%s%s", n ? "," : "", ns_table[i].name);
    }
    if (!h->ns_names[0])
        snprintf(h->ns_names, sizeof h->ns_names, "none");
}

/* Maps the host's uid and gid (never root: a root host makes no user
 * namespace, ph_ns_probe) to 0 in the child's new user namespace, so the
 * loader keeps, across exec, the capabilities it needs to build its root,
 * which it then drops. */
static int map_ids(uid_t uid, gid_t gid)
{
    char line[64];
    int fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "deny", 4) != 4)
        return -1;
    close(fd);
    int n = snprintf(line, sizeof line, "0 %u 1\n", (unsigned)uid);
    fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        return -1;
    close(fd);
    n = snprintf(line, sizeof line, "0 %u 1\n", (unsigned)gid);
    fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, line, (size_t)n) != n)
        return -1;
    close(fd);
    return 0;
}

/* The errno's name ("EACCES"), for the child between clone and exec: a
 * table lookup, where strerror() may take a locale lock that another of
 * the host's threads held at the clone, and keep the child waiting for
 * ever. */
static const char *child_errno_name(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "an unknown errno";
}

/* In the child between clone and exec. Any failure goes back to the host as
 * a message, never as silence. */
static void child_exec(int chan, int plugin_fd, pid_t parent, const char *loader,
                       char *const argv[], uint64_t ns_flags, uid_t uid, gid_t gid,
                       const struct ph_cg_plug *cg)
{
    static char *const empty_env[] = {NULL};
    /* cgroup v1 has no CLONE_INTO_CGROUP: this process, still host code,
     * moves itself into its cgroups first, so nothing it execs ever runs
     * outside them (and the host's loop does not wait for the move); then
     * its cgroup namespace is made again, rooted at its own cgroup. */
    if (cg && ph_cg_plug_join(cg, (ns_flags & CLONE_NEWCGROUP) != 0) < 0) {
        char m[600];
        int n = snprintf(m, sizeof m,
                         "{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":"
                         "{\"stage\":\"cgroup\",\"message\":\"cannot join the plugin's cgroup: "
                         "%s\"}}",
                         child_errno_name(errno));
        if (n > 0 && (size_t)n < sizeof m)
            (void)ph_wire_send(chan, m, (size_t)n, -1);
        _exit(127);
    }
    /* In a new pid namespace getppid() is 0: the parent cannot be checked by
     * pid there, so the death signal is armed first and the socket's end of
     * file is the backstop. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (!(ns_flags & CLONE_NEWPID) && getppid() != parent))
        _exit(127);
    if ((ns_flags & CLONE_NEWUSER) && map_ids(uid, gid) < 0)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Moved out of the way first, so that neither lands on the other's
     * number; dup2 then clears close-on-exec on the two that stay. */
    int c = fcntl(chan, F_DUPFD_CLOEXEC, 10);
    int f = plugin_fd >= 0 ? fcntl(plugin_fd, F_DUPFD_CLOEXEC, 10) : -1;
    if (c < 0 || dup2(c, PH_WIRE_CHANNEL_FD) < 0 ||
        (plugin_fd >= 0 && (f < 0 || dup2(f, PH_PLUGIN_FD) < 0)))
        _exit(127);
    /* The channel (and, until the loader has mapped it, the plugin file) is
     * all the child keeps: stdio included, nothing leaks. */
    close(0);
    close(1);
    close(2);
    if (syscall(SYS_close_range, plugin_fd >= 0 ? PH_PLUGIN_FD + 1 : PH_WIRE_CHANNEL_FD + 1, ~0U,
                0) < 0)
        _exit(127);
    execve(loader, argv, empty_env);
    char msg[PATH_MAX + 200];
    int n = snprintf(msg, sizeof msg,
                     "{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":"
                     "{\"stage\":\"exec\",\"message\":\"cannot execute the loader: %s\"}}",
                     child_errno_name(errno));
    if (n > 0 && (size_t)n < sizeof msg)
        (void)ph_wire_send(PH_WIRE_CHANNEL_FD, msg, (size_t)n, -1);
    _exit(127);
}

/* One start, from the loop's preparation to the child: everything the
 * clone and the child need, copied, so the worker's thread reads nothing
 * the loop may change meanwhile. */
struct ph_spawn_job {
    struct ph_work work;  /* first: the worker's job is this */
    struct ph_plug *p;    /* borrowed; the thread reads only p->file and p->host */
    struct ph_cg_plug cg; /* made by the launch, p's at the finish: the loop reads
                             p->cg (status, list) while the thread works */
    int chan;             /* the child's end of the channel, owned until the clone */
    int pfd;              /* the plugin file (p->file_fd, borrowed), -1 for a probe */
    uint64_t ns_flags;
    uid_t uid;
    gid_t gid;
    pid_t parent;
    size_t memory_max;
    unsigned pids;
    int cg_required;
    char arg[7][80];
    char *argv[9];
    char loader[PATH_MAX];
    /* The outcome. */
    pid_t pid;
    int pidfd;
    int cg_dropped; /* v2: the clone into the cgroup failed; it runs without */
    char why[700];
};

/* What the loop does before a start: checks, the settings, the file, the
 * channel, the cgroup's name, the loader's arguments. Fills j. */
static int prepare(struct ph_plug *p, struct ph_spawn_job *j, ph_error *err)
{
    struct ph_host *h = p->host;
    /* Fail closed: without a layer that contains the filesystem, the
     * loading window stays shut and no plugin starts, unless the operator
     * accepted that (each child proves its own containment again in
     * ph.sandbox). */
    if (!(h->ns_flags & CLONE_NEWNS) && h->landlock_abi < 1 &&
        !ph_weaker_accepted(h, PH_WEAKER_NO_FS_CONTAINMENT))
        return ph_set_error(err, PH_E_SYSTEM, "%s", PH_NO_CONTAINMENT_TEXT);
    int probe = strcmp(p->file, "--probe") == 0;
    int rc = probe ? PH_OK : ph_plug_settings(h, p->file, &p->set, err);
    if (rc < 0)
        return rc;
    if (probe) {
        p->set = (struct ph_plug_settings){
            .call_timeout_ms = h->opt.call_timeout_ms,
            .handshake_timeout_ms = h->opt.handshake_timeout_ms,
            .cpu_limit_s = h->opt.cpu_limit_s,
            .memory_limit = h->opt.memory_limit,
            .address_space_limit = h->opt.address_space_limit,
            .instances = 1,
            .idle_stop_ms = h->opt.idle_stop_ms,
            .isolate = PH_ISOLATE_NONE,
        };
    }
    /* The file is opened (and its pin checked) here, and the child loads
     * this very descriptor: swapping the file afterwards changes nothing. */
    /* Hashed at spawn when a transcript or pins need it, so they name the
     * exact file that ran (~90 us for a 20 KiB plugin: not paid otherwise). */
    char hash[65] = "";
    struct stat fst;
    int pfd = probe ? -1
                    : ph_plug_open_checked(p->file, p->set.sha256,
                                           h->rec_fd >= 0 || h->pins || h->cache, hash, &fst, err);
    if (pfd < 0 && !probe)
        return pfd;
    snprintf(p->sha256, sizeof p->sha256, "%s", pfd >= 0 ? hash : "");
    if (pfd >= 0 && p->file_ino == 0) {
        p->file_dev = fst.st_dev;
        p->file_ino = fst.st_ino;
        p->file_size = fst.st_size;
        p->file_mtime = fst.st_mtim;
    }
    int sv[2] = {-1, -1}, one = 1;
    /* SO_PASSCRED on the host's end, before anything is sent: every record
     * then arrives with credentials and end of file without, so a
     * zero-length record is told from end of file (read_records). */
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
        setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
        fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
        int e = errno;
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        if (pfd >= 0)
            close(pfd);
        return ph_set_error(err, PH_E_SYSTEM, "socketpair: %s", strerror(e));
    }
    memset(j, 0, sizeof *j);
    j->p = p;
    j->chan = sv[1];
    j->pfd = pfd;
    j->pid = -1;
    j->pidfd = -1;
    snprintf(j->arg[0], sizeof j->arg[0], "%s", probe ? "--probe" : "/proc/self/fd/4");
    snprintf(j->arg[1], sizeof j->arg[1], "%zu",
             p->set.address_space_limit ? p->set.address_space_limit : p->set.memory_limit);
    snprintf(j->arg[2], sizeof j->arg[2], "%u", p->set.cpu_limit_s);
    snprintf(j->arg[3], sizeof j->arg[3], "%s", h->ns_names);
    snprintf(j->arg[4], sizeof j->arg[4], "%s",
             p->set.threads ? "threads"
             : h->opt.audit ? "profile"
                            : "none");
    /* With a hello cache, the loader checks its copy against the hash the
     * entry is keyed by (lazy.c): the bytes that run are the bytes hashed. */
    snprintf(j->arg[5], sizeof j->arg[5], "%s",
             p->set.sha256[0]           ? p->set.sha256
             : h->cache && p->sha256[0] ? p->sha256
                                        : "-");
    /* A root host has the loader become an unprivileged user itself, after
     * it has built its root (ph_host_options.run_uid). */
    snprintf(j->arg[6], sizeof j->arg[6], "-");
    if (geteuid() == 0)
        snprintf(j->arg[6], sizeof j->arg[6], "%u:%u", (unsigned)h->run_uid, (unsigned)h->run_gid);
    j->argv[0] = "plughost-loader";
    for (int i = 0; i < 7; i++)
        j->argv[i + 1] = j->arg[i];
    j->argv[8] = NULL;
    snprintf(j->loader, sizeof j->loader, "%s", h->loader);
    j->ns_flags = h->ns_flags;
    j->parent = getpid();
    j->uid = geteuid();
    j->gid = getegid();
    j->memory_max = p->set.memory_limit;
    /* Audit mode learns whether a plugin needs threads: it gets the room a
     * "threads" grant would give, as it gets the calls the filter refuses. */
    j->pids = p->set.threads || h->opt.audit ? PH_CG_THREADS_PIDS : 1;
    j->cg_required = h->cg.required;
    /* The cgroup exists before the child does: a v2 child is born in it, a
     * v1 child moves itself in before it execs. Its name is the loop's to
     * give; making it is the launch's. */
    memset(&j->cg, 0, sizeof j->cg);
    ph_cg_plug_name(&h->cg, &j->cg, p->file);
    p->spawn_ns = ph_now_ns();
    p->sock = sv[0];
    p->pid = 0;
    p->pidfd = -1;
    /* Kept: the symbolizer reads this very file, never the name again.
     * The job borrows it until the clone. */
    if (p->file_fd >= 0)
        close(p->file_fd);
    p->file_fd = pfd;
    /* Until the handshake is done, no message needs more than a hello may
     * have: a larger one is refused before it is parsed. */
    ph_wire_rx_init(&p->rx, h->opt.max_message < PH_BOUND_HELLO_BYTES ? h->opt.max_message
                                                                      : PH_BOUND_HELLO_BYTES);
    p->answers = 0;
    p->answer_bytes = 0;
    p->reading_paused = 0;
    p->paused_since_ms = 0;
    p->rate_window_ms = 0;
    p->rate_logs = p->rate_notes = 0;
    p->rate_bytes = 0;
    p->rate_reported = 0;
    p->dropped_logs = p->dropped_notes = 0;
    p->state = PH_P_LOADING;
    p->cpu_mark_ns = 0;
    p->watching_out = 0;
    p->loaded = 0;
    p->lw_contained = 0;
    p->lw_pivoted = 0;
    p->lw_plugin_path[0] = '\0';
    p->lw_plugin_dev = 0;
    p->lw_plugin_ino = 0;
    p->stopping = 0;
    p->files_dropped = 0;
    p->cause = PH_END_NONE;
    json_decref(p->cause_data);
    json_decref(p->setup_failure);
    p->cause_data = p->setup_failure = NULL;
    memset(p->hostfn_calls, 0, (h->nfns ? h->nfns : 1) * sizeof *p->hostfn_calls);
    p->cloned_ns = p->sandbox_ns = p->loaded_ns = p->ready_ns = 0;
    memset(p->loader_ns, 0, sizeof p->loader_ns);
    p->handshake_deadline_ms = ph_now_ms() + p->set.handshake_timeout_ms;
    return PH_OK;
}

/* Makes the cgroup and clones the child: the slow part of a start (a v1
 * cgroup's mkdir has taken 20 ms here, a clone of a large host a
 * millisecond). Touches only j, its own cgroup record included, and reads
 * the host's cgroup record, which does not change while the host runs; so
 * it runs on the worker's thread as well as on the loop. */
static void launch(struct ph_host *h, struct ph_spawn_job *j)
{
    struct ph_cg_plug *cg = &j->cg;
    char cgwhy[600];
    int cgok = ph_cg_plug_make(&h->cg, cg, j->memory_max, j->pids, cgwhy, sizeof cgwhy) == 0;
    if (!cgok && j->cg_required) {
        snprintf(j->why, sizeof j->why, "%s: no cgroup, which the configuration requires: %s",
                 j->p->file, cgwhy);
        return;
    }
    /* clone3 hands back a pidfd atomically: the child is never known by a
     * bare pid that could be reused. */
    int pidfd = -1;
    pid_t pid = clone3_(j->ns_flags, &pidfd, cg->version == 2 ? cg->dirfd : -1);
    if (pid < 0 && cg->version == 2 && !j->cg_required) {
        snprintf(j->why, sizeof j->why, "clone3 into %s: %s", cg->path, strerror(errno));
        j->cg_dropped = 1;
        pid = clone3_(j->ns_flags, &pidfd, -1);
    }
    if (pid < 0) {
        snprintf(j->why, sizeof j->why, "clone3: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        child_exec(j->chan, j->pfd, j->parent, j->loader, j->argv, j->ns_flags, j->uid, j->gid,
                   cg->version && !j->cg_dropped ? cg : NULL);
    j->pid = pid;
    j->pidfd = pidfd;
    if (!j->cg_dropped) /* else it says why the cgroup was dropped */
        j->why[0] = '\0';
}

/* What the loop does after the launch: the child's descriptors go to p and
 * into the epoll set. Frees j. */
static int finish(struct ph_plug *p, struct ph_spawn_job *j, ph_error *err)
{
    struct ph_host *h = p->host;
    close(j->chan);
    /* The new cgroup record replaces the last process's (removed at its
     * end; only its description is left). */
    json_decref(p->cg.layer);
    p->cg = j->cg;
    if (j->cg_dropped) {
        char why[sizeof j->why];
        snprintf(why, sizeof why, "%s", j->why);
        ph_cg_plug_remove(&h->cg, &p->cg);
        ph_cg_plug_skip(&p->cg, why);
    }
    if (j->pid < 0) {
        int rc = ph_set_error(err, PH_E_SYSTEM, "%s", j->why);
        ph_cg_plug_remove(&h->cg, &p->cg);
        if (p->sock >= 0)
            close(p->sock);
        p->sock = -1;
        ph_wire_rx_free(&p->rx);
        p->state = PH_P_DOWN;
        free(j);
        return rc;
    }
    p->cloned_ns = ph_now_ns();
    ph_cg_plug_spawned(&p->cg);
    p->pid = j->pid;
    p->pidfd = j->pidfd;
    free(j);
    if (ph_plug_watch(p, p->sock, &p->w_sock, PH_W_SOCK) < 0 ||
        ph_plug_watch(p, p->pidfd, &p->w_pidfd, PH_W_PIDFD) < 0) {
        int e = errno;
        ph_plug_kill(p, PH_END_KILLED, NULL);
        ph_plug_on_exit(p); /* ended, counted and reported there */
        p->start_ended = 1;
        return ph_set_error(err, PH_E_SYSTEM, "cannot watch the plugin: %s", strerror(e));
    }
    /* Asked to end while it was being started (its handshake's deadline,
     * a stop): it ends now, for the reason first given. */
    if (p->cause != PH_END_NONE)
        ph_plug_kill(p, p->cause, NULL);
    return PH_OK;
}

/* *out: a job prepared for p (new, freed by finish). */
static int new_job(struct ph_plug *p, struct ph_spawn_job **out, ph_error *err)
{
    struct ph_spawn_job *j = malloc(sizeof *j);
    if (!j)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    int rc = prepare(p, j, err);
    if (rc < 0) {
        free(j);
        return rc;
    }
    *out = j;
    return PH_OK;
}

int ph_plug_spawn(struct ph_plug *p, ph_error *err)
{
    struct ph_spawn_job *j = NULL;
    int rc = new_job(p, &j, err);
    if (rc < 0)
        return rc;
    launch(p->host, j);
    return finish(p, j, err);
}

static void launch_job(struct ph_work *w)
{
    struct ph_spawn_job *j = (struct ph_spawn_job *)w;
    launch(j->p->host, j);
}

/* In the loop: the process goes to its instance; a start that failed (or
 * was dropped) ends the instance as a failed set-up would. */
static void finish_job(struct ph_work *w)
{
    struct ph_spawn_job *j = (struct ph_spawn_job *)w;
    struct ph_plug *p = j->p;
    int dropped = w->dropped;
    p->spawning = 0;
    p->start_ended = 0;
    if (dropped)
        snprintf(j->why, sizeof j->why, "its start was dropped (the plugin or the host is going)");
    ph_error e;
    /* A dropped start is no failure of the plugin's: it is only down. */
    if (finish(p, j, &e) < 0 && !dropped && !p->start_ended)
        ph_plug_start_failed(p, e.text);
}

int ph_plug_spawn_background(struct ph_plug *p, ph_error *err)
{
    struct ph_host *h = p->host;
    if (!h->worker) {
        int rc = ph_worker_start(&h->worker, err);
        if (rc < 0)
            return rc;
        h->w_worker.kind = PH_W_WORKER;
        h->w_worker.plug = NULL;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &h->w_worker};
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, ph_worker_fd(h->worker), &ev) < 0) {
            int e = errno;
            ph_worker_stop(h->worker);
            h->worker = NULL;
            return ph_set_error(err, PH_E_SYSTEM, "cannot watch the worker: %s", strerror(e));
        }
    }
    struct ph_spawn_job *j = NULL;
    int rc = new_job(p, &j, err);
    if (rc < 0)
        return rc;
    j->work.run = launch_job;
    j->work.done = finish_job;
    j->work.key = p;
    j->work.droppable = 1;
    p->spawning = 1;
    ph_worker_queue(h->worker, &j->work);
    return PH_OK;
}

json_t *ph_plug_spawn_stages(const struct ph_plug *p)
{
    static const char *const name[] = {"clone",   "exec",     "filter", "root",
                                       "confine", "handover", "dlopen", "hello"};
    /* The host's clone3 (namespaces included); the child's set-up, exec and
     * dynamic linking up to the loader's main; its seccomp program; its
     * private root; capabilities, limits, Landlock and the filter; the
     * listener's way to the host; the plugin's mapping under the
     * notifications; init and the handshake. */
    /* A child scheduled before its parent can reach main before the host
     * notes that clone3 returned: the clone then ended by main. */
    uint64_t cloned =
        p->loader_ns[0] && p->cloned_ns > p->loader_ns[0] ? p->loader_ns[0] : p->cloned_ns;
    const uint64_t at[] = {p->spawn_ns,     cloned,          p->loader_ns[0],
                           p->loader_ns[1], p->loader_ns[2], p->loader_ns[3],
                           p->sandbox_ns,   p->loaded_ns,    p->ready_ns};
    for (size_t i = 1; i < sizeof at / sizeof at[0]; i++)
        if (!at[i - 1] || at[i] < at[i - 1])
            return NULL;
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof name / sizeof name[0]; i++)
        json_object_set_new(o, name[i], json_integer((json_int_t)((at[i + 1] - at[i]) / 1000)));
    return o;
}
