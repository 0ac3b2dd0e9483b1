/*
 * load_window: the few calls past the seccomp filter that the host answers
 * without killing: the dynamic linker's opens and executable mappings while
 * a plugin loads, and fstat() on a descriptor the plugin already holds.
 *
 * Each decision reads only what the plugin cannot change before the kernel
 * acts on it: the registers of the frozen call, and, for the loading
 * window, a process with a single thread (the one frozen here), so its
 * descriptor table and its memory stand still. The window opens only where
 * the loader proved, in that child and before any plugin code ran, that the
 * filesystem is contained (a private root or Landlock), unless the operator
 * accepted running without that layer.
 *
 * It must never let a call continue on a path or descriptor it has not
 * checked, never let a memfd or any writable file become executable, and
 * never resolve a path on the plugin's behalf.
 */
#include "load_window.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* Where the dynamic linker finds libraries: the same directories the
 * private root binds and Landlock allows (sandbox/namespaces.c,
 * sandbox/landlock.c). */
static const char *const lib_prefixes[] = {"/usr/lib/", "/lib/", "/lib64/", "/usr/lib64/",
                                           "/usr/local/lib/"};
static const char *const lib_dirs[] = {"/usr/lib", "/lib", "/lib64", "/usr/lib64",
                                       "/usr/local/lib"};

void ph_lw_host_init(struct ph_host *h)
{
    h->nlib_dev = 0;
    for (size_t i = 0; i < sizeof lib_dirs / sizeof lib_dirs[0]; i++) {
        struct stat st;
        if (stat(lib_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        size_t j = 0;
        while (j < h->nlib_dev && h->lib_dev[j] != st.st_dev)
            j++;
        if (j == h->nlib_dev && h->nlib_dev < sizeof h->lib_dev / sizeof h->lib_dev[0])
            h->lib_dev[h->nlib_dev++] = st.st_dev;
    }
}

int ph_lw_thread_count(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *t = strstr(buf, "\nThreads:");
    return t ? atoi(t + 9) : -1;
}

/* Copies a NUL-terminated string of at most outlen - 1 bytes out of pid's
 * memory, a page at a time so that a string ending just before an
 * unmapped page still reads. -1 if unreadable or too long. */
static int read_path(pid_t pid, uint64_t addr, char *out, size_t outlen)
{
    size_t got = 0;
    while (got < outlen) {
        uint64_t at = addr + got;
        size_t chunk = 4096 - (size_t)(at & 4095);
        if (chunk > outlen - got)
            chunk = outlen - got;
        struct iovec local = {out + got, chunk}, remote = {(void *)(uintptr_t)at, chunk};
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0)
            return -1;
        if (memchr(out + got, '\0', (size_t)n))
            return 0;
        got += (size_t)n;
    }
    return -1;
}

/* A path the dynamic linker may open: the plugin as the loader named it,
 * the linker's cache, or a file under a library directory, spelled without
 * any ".." step. The containment layer decides again in the kernel; this
 * is the host's own check, which holds even without it. */
static int path_allowed(const struct ph_plug *p, const char *path)
{
    if (p->lw_plugin_path[0] && strcmp(path, p->lw_plugin_path) == 0)
        return 1;
    if (strcmp(path, "/etc/ld.so.cache") == 0)
        return 1;
    if (strstr(path, "/../") || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
        return 0;
    for (size_t i = 0; i < sizeof lib_prefixes / sizeof lib_prefixes[0]; i++)
        if (strncmp(path, lib_prefixes[i], strlen(lib_prefixes[i])) == 0)
            return 1;
    return 0;
}

/* A descriptor the plugin holds, as a descriptor of the host's (closed by
 * the caller), or -1. */
static int take_fd(const struct ph_plug *p, int fd)
{
    if (fd < 0 || p->pidfd < 0)
        return -1;
    return (int)syscall(SYS_pidfd_getfd, p->pidfd, fd, 0);
}

/* Executable memory may come only from the plugin file the loader mapped
 * and from library files nobody but root can write, on the filesystems the
 * library directories live on: never from a memfd, a tmpfs, or anything a
 * plugin (or anyone but root) could have written. */
static int exec_source_allowed(const struct ph_plug *p, int fd)
{
    int mine = take_fd(p, fd);
    if (mine < 0)
        return 0;
    struct stat st;
    struct statfs sf;
    int ok = fstat(mine, &st) == 0 && fstatfs(mine, &sf) == 0 && S_ISREG(st.st_mode);
    int flags = fcntl(mine, F_GETFL);
    close(mine);
    if (!ok || flags < 0 || (flags & O_ACCMODE) != O_RDONLY)
        return 0;
    if (p->lw_plugin_ino && st.st_dev == p->lw_plugin_dev && st.st_ino == p->lw_plugin_ino)
        return 1;
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC || sf.f_type == HUGETLBFS_MAGIC)
        return 0;
    for (size_t i = 0; i < p->host->nlib_dev; i++)
        if (st.st_dev == p->host->lib_dev[i])
            return 1;
    return 0;
}

/* The threads grant: a thread of this process, sharing its memory,
 * handlers and descriptors (flags from a register, which nothing can
 * change), while it has fewer than PH_LW_MAX_THREADS. Past that the clone
 * fails with EAGAIN, as RLIMIT_NPROC would make it, so a host that is not
 * root (no cgroup pids.max) still bounds them. Clones that are frozen here
 * at the same moment all see the same count, so the bound can be passed by
 * at most the number of threads cloning at once. */
static enum ph_lw_verdict thread_clone(const struct ph_plug *p, const struct seccomp_notif *req,
                                       struct seccomp_notif_resp *resp)
{
    const unsigned long long needed = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FILES;
    const unsigned long long forbidden = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                         CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
                                         CLONE_UNTRACED | CLONE_PTRACE | CLONE_VFORK;
    (void)p;
    if ((req->data.args[0] & (needed | forbidden)) != needed)
        return PH_LW_REFUSE;
    int n = ph_lw_thread_count((pid_t)req->pid);
    if (n < 1)
        return PH_LW_REFUSE;
    if (n >= PH_LW_MAX_THREADS) {
        resp->error = -EAGAIN;
        return PH_LW_ANSWERED;
    }
    return PH_LW_CONTINUE;
}

int ph_lw_window_open(const struct ph_plug *p)
{
    return p->state == PH_P_LOADING && !p->loaded && p->cause == PH_END_NONE &&
           (p->lw_contained || (p->host->opt.accept_weaker & PH_WEAKER_NO_FS_CONTAINMENT));
}

enum ph_lw_verdict ph_lw_decide(struct ph_plug *p, const struct seccomp_notif *req,
                                struct seccomp_notif_resp *resp)
{
    const struct seccomp_data *d = &req->data;
    if (d->arch != AUDIT_ARCH_X86_64 || ((unsigned)d->nr & 0x40000000u))
        return PH_LW_REFUSE;
    if (d->nr == SYS_newfstatat)
        return ph_lw_fstat(p, req, resp);
    if (d->nr == SYS_clone && p->set.threads)
        return thread_clone(p, req, resp);
    if (!ph_lw_window_open(p))
        return PH_LW_REFUSE;
    if (d->nr != SYS_openat && d->nr != SYS_mmap)
        return PH_LW_REFUSE;
    /* One thread, frozen here: nothing can swap the path's bytes or the
     * descriptor's number between this check and the kernel's use. */
    if (ph_lw_thread_count((pid_t)req->pid) != 1)
        return PH_LW_REFUSE;
    if (d->nr == SYS_openat) {
        char path[4096];
        if ((d->args[2] & ~(unsigned long long)(O_CLOEXEC | O_LARGEFILE)) != O_RDONLY ||
            read_path((pid_t)req->pid, d->args[1], path, sizeof path) < 0 || path[0] != '/' ||
            !path_allowed(p, path))
            return PH_LW_REFUSE;
        return PH_LW_CONTINUE;
    }
    /* mmap: code from a checked file, never writable, never anonymous. */
    if ((d->args[2] & PROT_WRITE) || (d->args[3] & MAP_ANONYMOUS) || (int)d->args[4] < 0)
        return PH_LW_REFUSE;
    if ((d->args[2] & PROT_EXEC) && !exec_source_allowed(p, (int)d->args[4]))
        return PH_LW_REFUSE;
    return PH_LW_CONTINUE;
}

enum ph_lw_verdict ph_lw_fstat(struct ph_plug *p, const struct seccomp_notif *req,
                               struct seccomp_notif_resp *resp)
{
    const struct seccomp_data *d = &req->data;
    /* fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH). The filter cannot
     * read the path, so the host answers: with an empty path it stats the
     * plugin's own descriptor itself and writes the result back; it never
     * lets the call continue, since another thread could change the path
     * after this check. Anything with a path is refused. */
    char path[2];
    if (d->args[3] != AT_EMPTY_PATH || read_path((pid_t)req->pid, d->args[1], path, 1) < 0)
        return PH_LW_REFUSE;
    struct stat st;
    int mine = take_fd(p, (int)d->args[0]);
    if (mine < 0) {
        resp->error = -EBADF;
        return PH_LW_ANSWERED;
    }
    int rc = fstat(mine, &st);
    int e = errno;
    close(mine);
    if (rc < 0) {
        resp->error = -e;
        return PH_LW_ANSWERED;
    }
    struct iovec local = {&st, sizeof st}, remote = {(void *)(uintptr_t)d->args[2], sizeof st};
    if (process_vm_writev((pid_t)req->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof st) {
        resp->error = -EFAULT;
        return PH_LW_ANSWERED;
    }
    resp->error = 0;
    resp->val = 0;
    return PH_LW_ANSWERED;
}
