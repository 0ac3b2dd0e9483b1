/*
 * violation: the host end of the seccomp listener. Every syscall the filter
 * does not allow stops here, in the kernel, until the host decides. While a
 * plugin loads (before its handshake) the dynamic linker's read-only opens
 * and executable mappings may continue; anything else, and everything after
 * the handshake, is a violation: the plugin is killed before the call
 * returns, and the call is named from the kernel's own record, which the
 * plugin cannot forge.
 *
 * It must never let a call continue after the handshake.
 */
#include "internal.h"
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
#include <sched.h>

#define X32_BIT 0x40000000u

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

/* The dynamic linker's needs while loading; Landlock and the library-only
 * root still decide which files an open may reach. Nothing here can make
 * memory both writable and executable, or executable without a file. */
static int loader_call(const struct seccomp_data *d)
{
    if (d->arch != AUDIT_ARCH_X86_64)
        return 0;
    if (d->nr == SYS_openat)
        return (d->args[2] & ~(unsigned long long)(O_CLOEXEC | O_LARGEFILE)) == O_RDONLY;
    if (d->nr == SYS_mmap)
        return !(d->args[2] & PROT_WRITE) && !(d->args[3] & MAP_ANONYMOUS) && (int)d->args[4] >= 0;
    return 0;
}

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
    if (p->state == PH_P_LOADING && !p->loaded && p->cause == PH_END_NONE &&
        loader_call(&req->data)) {
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        (void)seccomp_notify_respond(p->notify_fd, resp);
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
    if (p->host->opt.audit) {
        /* Audit (`plughost profile`): the operator chose to let the plugin
         * run past the filter to learn what it uses; seccomp's other layers
         * (Landlock, namespaces, rlimits) still hold. */
        record_audit(p, detail);
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        (void)seccomp_notify_respond(p->notify_fd, resp);
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
