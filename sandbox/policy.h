/*
 * policy: the plugin sandbox's seccomp allow-list, as data. Each entry names
 * one syscall the loader's runtime (or libc under it) needs after the plugin
 * is loaded, the argument condition that narrows it, and why it is there.
 *
 * Everything not listed goes to the host through seccomp user notification,
 * and the host kills the plugin and names the call (host/violation.c). The
 * only calls the host lets through that way are the dynamic linker's, and
 * only before the handshake (see docs/security.md).
 *
 * Never add a call here without a reason a reviewer can check, and never one
 * that reaches a file, a socket, another process or the kernel's state.
 */
#ifndef PH_SB_POLICY_H
#define PH_SB_POLICY_H

enum ph_sb_cond {
    PH_SB_ANY,              /* any arguments */
    PH_SB_NO_EXEC_PROT,     /* arg2 (prot) lacks PROT_EXEC */
    PH_SB_ARG0_SELF,        /* arg0 is the plugin's own pid (kill, tgkill) */
    PH_SB_GET_ONLY,         /* prlimit64(0, res, NULL, old): reading limits only */
    PH_SB_ARG0_ABOVE_STDIO, /* arg0 > 2; fds 0-2 (closed) get EBADF */
    PH_SB_FCNTL_FD,         /* fcntl: F_DUPFD_CLOEXEC to n >= 3, F_GET_SEALS, F_ADD_SEALS */
    PH_SB_MEMFD_SEALED,     /* memfd_create with CLOEXEC|ALLOW_SEALING[|NOEXEC_SEAL] only */
};

struct ph_sb_rule {
    const char *syscall;
    enum ph_sb_cond cond;
    const char *why;
};

/* The allow-list, ended by an entry whose syscall is NULL. */
extern const struct ph_sb_rule ph_sb_policy[];

#endif
