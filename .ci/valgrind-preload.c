/*
 * valgrind-preload: lets the plughost host run under valgrind 3.19 (Debian
 * 12), which does not know clone3, pidfd_send_signal or seccomp: it fails
 * each with ENOSYS without asking the kernel, so the host could start no
 * plugin, kill none, and libseccomp would see no user notification. Loaded
 * with LD_PRELOAD into the process valgrind runs (never into plugins: the
 * host execs the loader with an empty environment), it does each through a
 * call valgrind does know, or with the ioctls directly:
 *
 *   clone3                -> clone (CLONE_INTO_CGROUP, which the host uses
 *                            on cgroup v2, gets ENOSYS: the host then starts
 *                            the plugin without its cgroup and says why)
 *   pidfd_send_signal     -> kill of the pid in /proc/self/fdinfo/FD; the
 *                            process is the host's unreaped child, so its
 *                            pid cannot have been reused
 *   seccomp_notify_*      -> the SECCOMP_IOCTL_NOTIF_* ioctls, sized by the
 *                            kernel headers instead of SECCOMP_GET_NOTIF_SIZES
 *   landlock_create_ruleset's ABI query -> $PH_VG_LANDLOCK_ABI, which
 *                            .ci/valgrind reads from the kernel outside valgrind
 *                            (the host only asks which ABI there is; the
 *                            loader, not under valgrind, applies the rules)
 *
 * Test tooling only: built and used by .ci/valgrind, never installed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

static syscall_fn real_syscall(void)
{
    static syscall_fn real;
    if (!real)
        real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
    return real;
}

static long pid_of_pidfd(int pidfd)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    FILE *f = fopen(path, "r");
    long pid = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Pid:", 4) == 0) {
            pid = strtol(line + 4, NULL, 10);
            break;
        }
    fclose(f);
    return pid;
}

long syscall(long nr, ...)
{
    /* Every syscall() argument is a long on x86_64, so six are read
     * whatever the call; the unused ones are ignored by the kernel. */
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_clone3) {
        const struct clone_args *ca = (const struct clone_args *)a[0];
        if ((ca->flags >> 32) || ca->stack || ca->tls || ca->set_tid || ca->cgroup) {
            errno = ENOSYS;
            return -1;
        }
        /* x86_64 clone: flags, stack, parent_tid (the pidfd with
         * CLONE_PIDFD), child_tid, tls. */
        return real_syscall()(SYS_clone, (long)(ca->flags | (ca->exit_signal & 0xff)), 0L,
                              (long)ca->pidfd, (long)ca->child_tid, 0L);
    }
    if (nr == SYS_pidfd_send_signal) {
        long pid = pid_of_pidfd((int)a[0]);
        if (pid <= 0) {
            errno = ESRCH; /* fdinfo says -1 once the process has been reaped */
            return -1;
        }
        return kill((pid_t)pid, (int)a[1]);
    }
    if (nr == SYS_landlock_create_ruleset && a[0] == 0 && a[1] == 0 && a[2] == 1 /* VERSION */) {
        const char *abi = getenv("PH_VG_LANDLOCK_ABI");
        if (abi && atol(abi) > 0)
            return atol(abi);
        errno = EOPNOTSUPP;
        return -1;
    }
    return real_syscall()(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int seccomp_notify_alloc(struct seccomp_notif **req, struct seccomp_notif_resp **resp)
{
    if (req && !(*req = calloc(1, sizeof **req)))
        return -ENOMEM;
    if (resp && !(*resp = calloc(1, sizeof **resp))) {
        if (req) {
            free(*req);
            *req = NULL;
        }
        return -ENOMEM;
    }
    return 0;
}

void seccomp_notify_free(struct seccomp_notif *req, struct seccomp_notif_resp *resp)
{
    free(req);
    free(resp);
}

int seccomp_notify_receive(int fd, struct seccomp_notif *req)
{
    memset(req, 0, sizeof *req); /* the kernel refuses a request that is not zeroed */
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
        return -ECANCELED;
    return 0;
}

int seccomp_notify_respond(int fd, struct seccomp_notif_resp *resp)
{
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
        return errno == ENOENT ? -ENOENT : -ECANCELED;
    return 0;
}

int seccomp_notify_id_valid(int fd, uint64_t id)
{
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0)
        return -ENOENT;
    return 0;
}
