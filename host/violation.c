/*
 * violation: the host end of the seccomp listener. Every syscall the filter
 * does not allow stops here, in the kernel, until the host decides. The few
 * calls load_window.c answers (the dynamic linker's while a plugin loads,
 * fstat of a held descriptor) are decided there; anything else is a
 * violation: the plugin is killed before the call returns, and the call is
 * named from the kernel's own record, which the plugin cannot forge. Under
 * `plughost profile` it is recorded instead, and only calls the other layers
 * bound may continue.
 *
 * It must never let a call continue that load_window.c or the profile table
 * did not allow.
 */
#include "internal.h"
#include "load_window.h"
#include "symbolize.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <errno.h>
#include <sched.h>

#define X32_BIT 0x40000000u

static json_t *describe(const struct seccomp_data *d)
{
    const char *arch = "x86_64";
    uint32_t token = SCMP_ARCH_X86_64;
    int nr = (int)d->nr;
    if (d->arch == AUDIT_ARCH_I386) {
        arch = "x86";
        token = SCMP_ARCH_X86;
    } else if (d->arch != AUDIT_ARCH_X86_64) {
        arch = "unknown";
        token = 0;
    } else if ((unsigned)d->nr & X32_BIT) {
        arch = "x32";
        token = SCMP_ARCH_X32;
    }
    char *name = token ? seccomp_syscall_resolve_num_arch(token, nr) : NULL;
    if (!name && token == SCMP_ARCH_X32)
        name = seccomp_syscall_resolve_num_arch(token, nr & ~(int)X32_BIT);
    json_t *args = json_array();
    for (int i = 0; i < 6; i++) {
        char hex[24];
        snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)d->args[i]);
        json_array_append_new(args, json_string(hex));
    }
    json_t *o = json_pack("{s:s,s:i,s:s,s:o}", "syscall", name ? name : "unknown", "syscall_nr", nr,
                          "arch", arch, "args", args);
    char ip[24];
    snprintf(ip, sizeof ip, "0x%llx", (unsigned long long)d->instruction_pointer);
    json_object_set_new(o, "instruction_pointer", json_string(ip));
    free(name);
    return o;
}

struct flag_name {
    unsigned long long bit;
    const char *name;
};

static json_t *flag_list(unsigned long long v, const struct flag_name *t, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (v & t[i].bit)
            json_array_append_new(a, json_string(t[i].name));
    return a;
}

#define FLAGS(v, t) flag_list((v), (t), sizeof(t) / sizeof((t)[0]))

/* Decodes the arguments that say most about an attempt: the path an open
 * or exec named, a socket's family, a clone's flags, a signal's target, a
 * mapping's protection. Only for native calls; strings are read out of the
 * frozen process and are the plugin's own bytes (escaped in the report). */
static void decode(struct ph_plug *p, pid_t pid, const struct seccomp_data *d, json_t *o)
{
    static const struct flag_name prot[] = {
        {PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"}, {PROT_EXEC, "PROT_EXEC"}};
    static const struct flag_name clone_flags[] = {{CLONE_VM, "CLONE_VM"},
                                                   {CLONE_THREAD, "CLONE_THREAD"},
                                                   {CLONE_NEWUSER, "CLONE_NEWUSER"},
                                                   {CLONE_NEWPID, "CLONE_NEWPID"},
                                                   {CLONE_NEWNET, "CLONE_NEWNET"},
                                                   {CLONE_NEWNS, "CLONE_NEWNS"},
                                                   {CLONE_UNTRACED, "CLONE_UNTRACED"},
                                                   {CLONE_VFORK, "CLONE_VFORK"}};
    static const struct {
        int nr;
        int arg;
    } path_args[] = {{SYS_openat, 1},     {SYS_open, 0},   {SYS_execve, 0}, {SYS_execveat, 1},
                     {SYS_newfstatat, 1}, {SYS_stat, 0},   {SYS_access, 0}, {SYS_creat, 0},
                     {SYS_mkdir, 0},      {SYS_chroot, 0}, {SYS_statx, 1},  {SYS_unlink, 0}};
    if (d->arch != AUDIT_ARCH_X86_64 || ((unsigned)d->nr & X32_BIT))
        return;
    char buf[256], view[600];
    for (size_t i = 0; i < sizeof path_args / sizeof path_args[0]; i++) {
        if (path_args[i].nr == d->nr &&
            ph_sym_read_string(pid, d->args[path_args[i].arg], buf, sizeof buf) == 0) {
            ph_wire_escape(buf, strlen(buf), view, sizeof view);
            json_object_set_new(o, "path", json_string(view));
        }
    }
    switch (d->nr) {
    case SYS_openat:
    case SYS_open: {
        unsigned long long f = d->args[d->nr == SYS_openat ? 2 : 1];
        const char *acc = (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                          : (f & O_ACCMODE) == O_RDWR ? "O_RDWR"
                                                      : "O_RDONLY";
        json_object_set_new(o, "access", json_string(acc));
        break;
    }
    case SYS_socket:
    case SYS_socketpair: {
        static const struct {
            unsigned long long v;
            const char *n;
        } fam[] = {{AF_UNIX, "AF_UNIX"},
                   {AF_INET, "AF_INET"},
                   {AF_INET6, "AF_INET6"},
                   {AF_NETLINK, "AF_NETLINK"},
                   {AF_PACKET, "AF_PACKET"}};
        for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++)
            if (d->args[0] == fam[i].v)
                json_object_set_new(o, "family", json_string(fam[i].n));
        unsigned long long type = d->args[1] & 0xf;
        json_object_set_new(o, "type",
                            json_string(type == SOCK_STREAM  ? "SOCK_STREAM"
                                        : type == SOCK_DGRAM ? "SOCK_DGRAM"
                                        : type == SOCK_RAW   ? "SOCK_RAW"
                                                             : "other"));
        break;
    }
    case SYS_clone:
        json_object_set_new(o, "clone_flags", FLAGS(d->args[0], clone_flags));
        json_object_set_new(o, "kind",
                            json_string(d->args[0] & CLONE_THREAD ? "thread" : "process"));
        /* The one refusal a grant can lift (docs/configuration.md). */
        if ((d->args[0] & CLONE_THREAD) && !p->set.threads)
            json_object_set_new(o, "allowed_by_grant", json_string("threads"));
        break;
    case SYS_clone3:
        if (!p->set.threads)
            json_object_set_new(o, "allowed_by_grant", json_string("threads"));
        break;
    case SYS_kill:
    case SYS_tgkill:
        json_object_set_new(o, "target_pid", json_integer((json_int_t)(int)d->args[0]));
        json_object_set_new(
            o, "sent_signal",
            json_integer((json_int_t)(d->nr == SYS_kill ? d->args[1] : d->args[2])));
        break;
    case SYS_mmap:
    case SYS_mprotect:
        json_object_set_new(o, "prot", FLAGS(d->args[2], prot));
        break;
    case SYS_ioctl:
        snprintf(buf, sizeof buf, "0x%llx%s", (unsigned long long)d->args[1],
                 d->args[1] == 0x5412 ? " (TIOCSTI)" : "");
        json_object_set_new(o, "request", json_string(buf));
        break;
    default:
        break;
    }
}

/* The request the plugin was serving: the earliest one sent and not yet
 * answered (a plugin serves its calls in order). */
static void in_flight(struct ph_plug *p, json_t *o)
{
    for (struct ph_call *c = p->host->calls.next; c != &p->host->calls; c = c->next)
        if (c->plug == p && c->sent) {
            json_object_set_new(o, "request_id", json_integer((json_int_t)c->id));
            json_object_set_new(o, "in_method", json_string(c->method));
            return;
        }
}

/* Counts one call the filter would have refused, keyed by syscall (and
 * clone kind), keeping the first report of each. */
static void record_audit(struct ph_plug *p, json_t *detail)
{
    if (!p->audit)
        p->audit = json_object();
    const char *sc = json_string_value(json_object_get(detail, "syscall"));
    const char *kind = json_string_value(json_object_get(detail, "kind"));
    const char *arch = json_string_value(json_object_get(detail, "arch"));
    char key[96];
    snprintf(key, sizeof key, "%s%s%s%s%s", sc ? sc : "?", kind ? ":" : "", kind ? kind : "",
             arch && strcmp(arch, "x86_64") ? "@" : "", arch && strcmp(arch, "x86_64") ? arch : "");
    json_t *e = json_object_get(p->audit, key);
    if (e) {
        json_object_set_new(e, "count",
                            json_integer(json_integer_value(json_object_get(e, "count")) + 1));
        json_decref(detail);
        return;
    }
    json_object_set_new(detail, "count", json_integer(1));
    ph_host_event(p->host, json_pack("{s:s,s:s,s:O}", "type", "audit", "plugin",
                                     p->name ? p->name : p->file, "call", detail));
    json_object_set_new(p->audit, key, detail);
}

/* What `plughost profile` may let a plugin do past the filter: only calls
 * whose reach another layer bounds, checked here rather than assumed. Any
 * other call (processes, namespaces, bpf, io_uring, perf, keys, ptrace,
 * mounts, modules, executable memory, permission and time changes, locks,
 * every other kernel-facing call, and every call through another ABI) fails
 * with EPERM. Tables, so a review reads lists
 * (tests/integration/test_profile_refusals.py tries the refusals). */

/* Calls that name a path: only inside the private root, which holds
 * nothing but read-only libraries. Landlock alone does not mediate stat,
 * access, readlink and friends, so without the root they are refused. */
static const char *const profile_paths[] = {
    "open",      "openat",    "creat",      "stat",     "lstat",      "newfstatat", "statx",
    "access",    "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd",     "chdir",
    "mkdir",     "mkdirat",   "rmdir",      "unlink",   "unlinkat",   "rename",     "renameat",
    "renameat2", "link",      "linkat",     "symlink",  "symlinkat",  "truncate",   "statfs",
};

/* Calls on descriptors the plugin already holds, and calls about itself,
 * time and events. */
static const char *const profile_may_continue[] = {
    "getdents",
    "getdents64",
    "fchdir",
    "ftruncate",
    "fsync",
    "fdatasync",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "sendfile",
    "copy_file_range",
    "fadvise64",
    "fallocate",
    "fstatfs",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "fcntl",
    "umask",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "select",
    "pselect6",
    "alarm",
    "setitimer",
    "getitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_delete",
    "timer_getoverrun",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "pause",
    "futex_waitv",
    "uname",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getgroups",
    "getppid",
    "getpgrp",
    "getpgid",
    "getsid",
    "getresuid",
    "getresgid",
    "sysinfo",
    "getrusage",
    "times",
    "getcpu",
    "sched_getaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "getpriority",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "membarrier",
    "msync",
    "mincore",
    "mlock",
    "munlock",
    /* sockets: creating one is checked below */
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "getsockname",
    "getpeername",
    "getsockopt",
    "setsockopt",
    "shutdown",
    "sendmmsg",
    "recvmmsg",
};

/* 0 if profile may let the call continue, else the errno it fails with. */
static int profile_refusal(const struct ph_plug *p, const struct seccomp_data *d, const char *name)
{
    if (d->arch != AUDIT_ARCH_X86_64 || ((unsigned)d->nr & X32_BIT) || !name)
        return EPERM;
    /* Executable memory is never profiled into existence. */
    if ((d->nr == SYS_mmap || d->nr == SYS_mprotect) && (d->args[2] & PROT_EXEC))
        return EPERM;
    /* clone3 keeps its flags in memory: ENOSYS makes libc fall back to
     * clone, whose flags are in a register. */
    if (d->nr == SYS_clone3)
        return ENOSYS;
    if (d->nr == SYS_clone) {
        /* The same rule and bound as under the threads grant. */
        int rc = ph_lw_thread_clone(p->pid, d->args[0]);
        return rc < 0 ? EPERM : rc;
    }
    /* New sockets only of the families an empty network namespace holds
     * (no vsock, no netlink: they reach the kernel and its modules). */
    if (d->nr == SYS_socket || d->nr == SYS_socketpair) {
        int fam = (int)d->args[0];
        return (p->host->ns_flags & CLONE_NEWNET) &&
                       (fam == AF_UNIX || fam == AF_INET || fam == AF_INET6)
                   ? 0
                   : EPERM;
    }
    for (size_t i = 0; i < sizeof profile_paths / sizeof profile_paths[0]; i++)
        if (strcmp(name, profile_paths[i]) == 0)
            return p->lw_pivoted ? 0 : EPERM;
    for (size_t i = 0; i < sizeof profile_may_continue / sizeof profile_may_continue[0]; i++)
        if (strcmp(name, profile_may_continue[i]) == 0)
            return 0;
    return EPERM;
}

void ph_plug_on_notify(struct ph_plug *p)
{
    struct seccomp_notif *req = NULL;
    struct seccomp_notif_resp *resp = NULL;
    if (seccomp_notify_alloc(&req, &resp) < 0)
        return;
    if (seccomp_notify_receive(p->notify_fd, req) < 0) {
        /* No task left behind the listener; stop watching it so the loop
         * does not spin. The pidfd reports the ending. */
        epoll_ctl(p->host->epfd, EPOLL_CTL_DEL, p->notify_fd, NULL);
        seccomp_notify_free(req, resp);
        return;
    }
    resp->id = req->id;
    enum ph_lw_verdict v = ph_lw_decide(p, req, resp);
    if (v == PH_LW_SENT) {
        seccomp_notify_free(req, resp);
        return;
    }
    if (v != PH_LW_REFUSE) {
        /* The decision read /proc and the process's memory: answer only if
         * the call is still the one that was checked (seccomp_unotify(2)). */
        if (seccomp_notify_id_valid(p->notify_fd, req->id) == 0) {
            resp->flags = v == PH_LW_CONTINUE ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
            if (v == PH_LW_CONTINUE)
                resp->error = resp->val = 0;
            (void)seccomp_notify_respond(p->notify_fd, resp);
        }
        seccomp_notify_free(req, resp);
        return;
    }
    /* The plugin is frozen in the refused call: read what it answered before
     * it, so the request named below is the one it was really serving. */
    if (!p->host->opt.audit)
        ph_plug_drain(p);
    json_t *detail = describe(&req->data);
    json_object_set_new(detail, "phase",
                        json_string(p->state == PH_P_LOADING ? "loading" : "running"));
    /* The process is frozen in the kernel until answered: read what it was
     * doing now, before the kill. */
    decode(p, (pid_t)req->pid, &req->data, detail);
    char where[300];
    if (ph_sym_caller((pid_t)req->pid, p->file, p->file_fd, PH_PLUGIN_IN_ROOT,
                      req->data.instruction_pointer, where, sizeof where) == 0)
        json_object_set_new(detail, "function", json_string(where));
    in_flight(p, detail);
    /* What was read from the process's memory and /proc is its own only if
     * the call is still the one frozen (seccomp_unotify(2)). */
    if (seccomp_notify_id_valid(p->notify_fd, req->id) != 0) {
        json_object_del(detail, "path");
        json_object_del(detail, "function");
        json_object_set_new(detail, "note", json_string("the call ended while it was read"));
    }
    if (p->host->opt.audit) {
        /* Audit (`plughost profile`): the operator lets the plugin run past
         * the filter to learn what it uses, but only with calls that stay
         * inside the other layers. What the sandbox exists to close fails
         * with an errno instead, and is recorded as refused. */
        int err =
            profile_refusal(p, &req->data, json_string_value(json_object_get(detail, "syscall")));
        if (err)
            json_object_set_new(detail, "refused_in_profile", json_true());
        record_audit(p, detail);
        if (seccomp_notify_id_valid(p->notify_fd, req->id) == 0) {
            resp->flags = err ? 0 : SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            resp->error = -err;
            resp->val = 0;
            (void)seccomp_notify_respond(p->notify_fd, resp);
        }
        seccomp_notify_free(req, resp);
        return;
    }
    /* Kill first, so the refused call never returns into plugin code. */
    ph_plug_kill(p, PH_END_VIOLATION, detail);
    resp->error = -1; /* EPERM, should the kill be late */
    resp->flags = 0;
    (void)seccomp_notify_respond(p->notify_fd, resp);
    seccomp_notify_free(req, resp);
}
