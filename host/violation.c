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

#include <fcntl.h>
#include <sys/mman.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

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
    json_t *detail = describe(&req->data);
    json_object_set_new(detail, "phase",
                        json_string(p->state == PH_P_LOADING ? "loading" : "running"));
    /* Kill first, so the refused call never returns into plugin code. */
    ph_plug_kill(p, PH_END_VIOLATION, detail);
    resp->error = -1; /* EPERM, should the kill be late */
    resp->flags = 0;
    (void)seccomp_notify_respond(p->notify_fd, resp);
    seccomp_notify_free(req, resp);
}
