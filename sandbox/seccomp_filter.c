/*
 * seccomp_filter: the policy compiler (see seccomp_filter.h).
 */
#include "seccomp_filter.h"
#include "policy.h"

#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/filter.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One argument comparison; spelled out because libseccomp's SCMP_A*
 * macros leave a field to the compiler, which clang -Wextra rejects. */
static struct scmp_arg_cmp arg(unsigned int n, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
    struct scmp_arg_cmp c = {.arg = n, .op = op, .datum_a = a, .datum_b = b};
    return c;
}

static int add_rule(scmp_filter_ctx ctx, const struct ph_sb_rule *r, pid_t self, char *err,
                    size_t errlen)
{
    int nr = seccomp_syscall_resolve_name(r->syscall);
    struct scmp_arg_cmp c[2];
    int rc;
    if (nr == __NR_SCMP_ERROR) {
        snprintf(err, errlen, "seccomp: unknown syscall %s in policy", r->syscall);
        return -1;
    }
    switch (r->cond) {
    case PH_SB_ANY:
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 0, NULL);
        break;
    case PH_SB_ARG0_ABOVE_STDIO:
        c[0] = arg(0, SCMP_CMP_GT, 2, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        c[0] = arg(0, SCMP_CMP_LE, 2, 0);
        if (rc == 0)
            rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EBADF), nr, 1, c);
        break;
    case PH_SB_FCNTL_FD:
        c[0] = arg(1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC, 0);
        c[1] = arg(2, SCMP_CMP_GE, 3, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 2, c);
        c[0] = arg(1, SCMP_CMP_EQ, F_GET_SEALS, 0);
        if (rc == 0)
            rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        c[0] = arg(1, SCMP_CMP_EQ, F_ADD_SEALS, 0);
        if (rc == 0)
            rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        break;
    case PH_SB_MEMFD_SEALED:
        /* Exactly these flag sets: no MFD_HUGETLB, and never without
         * close-on-exec or sealing. The second is for kernels before 6.3,
         * which do not know MFD_NOEXEC_SEAL. */
        c[0] = arg(1, SCMP_CMP_EQ, MFD_CLOEXEC | MFD_ALLOW_SEALING | 0x0008U /* NOEXEC_SEAL */, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        c[0] = arg(1, SCMP_CMP_EQ, MFD_CLOEXEC | MFD_ALLOW_SEALING, 0);
        if (rc == 0)
            rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        break;
    case PH_SB_NO_EXEC_PROT:
        c[0] = arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        break;
    case PH_SB_ARG0_SELF:
        c[0] = arg(0, SCMP_CMP_EQ, (scmp_datum_t)self, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, c);
        break;
    case PH_SB_GET_ONLY:
        c[0] = arg(0, SCMP_CMP_EQ, 0, 0);
        c[1] = arg(2, SCMP_CMP_EQ, 0, 0);
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 2, c);
        break;
    default:
        rc = -EINVAL;
    }
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: rule for %s: %s", r->syscall, strerror(-rc));
        return -1;
    }
    return 0;
}

/* The "threads" grant. clone is not allowed here: it goes to the host like
 * an unlisted call, which lets it continue only as a thread of this process
 * sharing its descriptor table (never a new process or namespace), and only
 * while the process has fewer threads than its bound, with or without a
 * cgroup (host/load_window.c). clone3, whose flags live in memory where
 * neither the filter nor the host can trust them, fails with ENOSYS so that
 * libc falls back to clone. */
static int add_thread_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
    static const char *const extra[] = {"set_robust_list", "rseq", "sched_getaffinity",
                                        "get_robust_list"};
    for (size_t i = 0; rc == 0 && i < sizeof extra / sizeof extra[0]; i++)
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(extra[i]), 0,
                                    NULL);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp: thread rules: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

/* Builds the whole filter; the caller releases it. */
static scmp_filter_ctx build(pid_t self, int threads, char *err, size_t errlen)
{
    /* The default is a notification to the host, which kills and reports: a
     * plain KILL would leave the host unable to say which call it was. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
    if (!ctx) {
        snprintf(err, errlen, "seccomp: cannot create a filter");
        return NULL;
    }
    int rc;
    /* Only the native ABI gets the allow-list: libseccomp would copy every
     * rule to each architecture in the filter, letting an i386 `int 0x80`
     * through for each allowed call. Other ABIs (i386, and x32 numbers on
     * x86_64) take the bad-architecture action, which notifies the host too,
     * so it sees and names them. */
    if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY)) < 0) {
        snprintf(err, errlen, "seccomp: bad-architecture action: %s", strerror(-rc));
        seccomp_release(ctx);
        return NULL;
    }
    for (const struct ph_sb_rule *r = ph_sb_policy; r->syscall; r++) {
        if (add_rule(ctx, r, self, err, errlen) < 0) {
            seccomp_release(ctx);
            return NULL;
        }
    }
    if (threads && add_thread_rules(ctx, err, errlen) < 0) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

/* libseccomp compiles; the kernel is asked directly, because libseccomp
 * requests a listener only when a rule (not the default action) notifies. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *prog, char *err, size_t errlen)
{
    int mfd = memfd_create("ph-bpf", MFD_CLOEXEC);
    if (mfd < 0) {
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
        return -1;
    }
    int rc = seccomp_export_bpf(ctx, mfd);
    off_t size = rc == 0 ? lseek(mfd, 0, SEEK_END) : -1;
    if (rc < 0 || size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 || size > 65536) {
        snprintf(err, errlen, "seccomp_export_bpf failed");
        close(mfd);
        return -1;
    }
    struct sock_filter *insns = malloc((size_t)size);
    if (!insns || pread(mfd, insns, (size_t)size, 0) != size) {
        snprintf(err, errlen, "cannot read the compiled filter");
        free(insns);
        close(mfd);
        return -1;
    }
    close(mfd);
    prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    prog->filter = insns;
    return 0;
}

int ph_sb_seccomp_compile(pid_t self, int threads, struct sock_fprog *prog, char *err,
                          size_t errlen)
{
    scmp_filter_ctx ctx = build(self, threads, err, errlen);
    if (!ctx)
        return -1;
    int rc = export_program(ctx, prog, err, errlen);
    seccomp_release(ctx);
    return rc;
}

int ph_sb_seccomp_install(struct sock_fprog *prog, char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    int fd =
        (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
    int saved = errno;
    /* free() is allowed by the filter, so this runs confined already. */
    free(prog->filter);
    prog->filter = NULL;
    if (fd < 0) {
        snprintf(err, errlen, "seccomp(SET_MODE_FILTER): %s", strerror(saved));
        return -1;
    }
    return fd;
}
