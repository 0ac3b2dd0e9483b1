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
#include <sys/ioctl.h>
#include <linux/openat2.h>
#include <seccomp.h>
#include <unistd.h>

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
    /* The whole file: a long Groups: line comes before Threads:. */
    char path[64], buf[65536];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
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

/* What a descriptor the thread holds names, read through /proc without
 * taking the descriptor (pidfd_getfd would, for a socket, move it into the
 * host's net_cls cgroup): its file's stat and filesystem, and its open
 * flags. 0, or -1 if it is not open. */
static int held_fd(pid_t tid, int fd, struct stat *st, struct statfs *sf, unsigned *flags)
{
    char path[64], buf[256];
    if (fd < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)tid, fd);
    if (stat(path, st) < 0 || (sf && statfs(path, sf) < 0))
        return -1;
    if (!flags)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)tid, fd);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return -1;
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *fl = strstr(buf, "flags:");
    if (!fl)
        return -1;
    *flags = (unsigned)strtoul(fl + 6, NULL, 8);
    return 0;
}

/* A regular file only root can write: what library code must be. */
static int root_only_writable(const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Executable memory may come only from the plugin file the loader mapped
 * and from library files nobody but root can write, on the filesystems the
 * library directories live on: never from a memfd, a tmpfs, or anything a
 * plugin (or anyone but root) could have written. */
static int exec_source_allowed(const struct ph_plug *p, pid_t tid, int fd)
{
    struct stat st;
    struct statfs sf;
    unsigned flags;
    if (held_fd(tid, fd, &st, &sf, &flags) < 0 || !S_ISREG(st.st_mode) ||
        (flags & O_ACCMODE) != O_RDONLY)
        return 0;
    if (p->lw_plugin_ino && st.st_dev == p->lw_plugin_dev && st.st_ino == p->lw_plugin_ino)
        return 1;
    if (!root_only_writable(&st))
        return 0;
    if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC || sf.f_type == HUGETLBFS_MAGIC)
        return 0;
    for (size_t i = 0; i < p->host->nlib_dev; i++)
        if (st.st_dev == p->host->lib_dev[i])
            return 1;
    return 0;
}

int ph_lw_thread_clone(pid_t tid, unsigned long long flags)
{
    const unsigned long long needed = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FILES;
    const unsigned long long forbidden = CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                         CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
                                         CLONE_UNTRACED | CLONE_PTRACE | CLONE_VFORK;
    if ((flags & (needed | forbidden)) != needed)
        return -1;
    int n = ph_lw_thread_count(tid);
    if (n < 1)
        return -1;
    return n < PH_LW_MAX_THREADS ? 0 : EAGAIN;
}

/* The threads grant: a clone ph_lw_thread_clone() allows continues; past
 * the bound it fails with EAGAIN, as RLIMIT_NPROC would make it fail, so a
 * host that is not root (no cgroup pids.max) still bounds threads. */
static enum ph_lw_verdict thread_clone(const struct seccomp_notif *req,
                                       struct seccomp_notif_resp *resp)
{
    int rc = ph_lw_thread_clone((pid_t)req->pid, req->data.args[0]);
    if (rc < 0)
        return PH_LW_REFUSE;
    if (rc > 0) {
        resp->error = -rc;
        return PH_LW_ANSWERED;
    }
    return PH_LW_CONTINUE;
}

/* Without filesystem containment (accepted no-fs-containment), the kernel
 * must not resolve the plugin's path: a symbolic link under a library
 * directory may lead anywhere. The host opens it itself, beneath that
 * directory and never through a link out of it, checks that it is a
 * regular file only root can write, and hands it over with
 * SECCOMP_IOCTL_NOTIF_ADDFD, which answers the call with the new
 * descriptor. */
static enum ph_lw_verdict open_for(const struct ph_plug *p, const struct seccomp_notif *req,
                                   const char *path, struct seccomp_notif_resp *resp)
{
    int dir = -1;
    const char *rel = NULL;
    if (strcmp(path, "/etc/ld.so.cache") == 0) {
        dir = open("/etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        rel = "ld.so.cache";
    }
    for (size_t i = 0; !rel && i < sizeof lib_prefixes / sizeof lib_prefixes[0]; i++) {
        if (strncmp(path, lib_prefixes[i], strlen(lib_prefixes[i])) == 0) {
            dir = open(lib_dirs[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
            rel = path + strlen(lib_prefixes[i]);
        }
    }
    if (dir < 0 || !rel || !rel[0]) {
        if (dir >= 0)
            close(dir);
        resp->error = -ENOENT;
        return PH_LW_ANSWERED;
    }
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
    int fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof how);
    int e = errno;
    close(dir);
    if (fd < 0) {
        resp->error = -(e == EXDEV || e == ELOOP ? EACCES : e);
        return PH_LW_ANSWERED;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !root_only_writable(&st)) {
        close(fd);
        resp->error = -EACCES;
        return PH_LW_ANSWERED;
    }
    struct seccomp_notif_addfd add = {
        .id = req->id,
        .flags = SECCOMP_ADDFD_FLAG_SEND,
        .srcfd = (unsigned)fd,
        .newfd = 0,
        .newfd_flags = (req->data.args[2] & O_CLOEXEC) ? O_CLOEXEC : 0,
    };
    int rc = ioctl(p->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    close(fd);
    if (rc < 0) {
        resp->error = -EMFILE;
        return PH_LW_ANSWERED;
    }
    return PH_LW_SENT;
}

int ph_lw_window_open(const struct ph_plug *p)
{
    return p->state == PH_P_LOADING && !p->loaded && p->cause == PH_END_NONE &&
           (p->lw_contained || ph_weaker_accepted(p->host, PH_WEAKER_NO_FS_CONTAINMENT));
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
        return thread_clone(req, resp);
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
        /* Contained, the kernel resolves the path again inside the private
         * root or under Landlock; the plugin file is named by the loader. */
        if (p->lw_contained || strcmp(path, p->lw_plugin_path) == 0)
            return PH_LW_CONTINUE;
        return open_for(p, req, path, resp);
    }
    /* mmap: code from a checked file, never writable, never anonymous. */
    if ((d->args[2] & PROT_WRITE) || (d->args[3] & MAP_ANONYMOUS) || (int)d->args[4] < 0)
        return PH_LW_REFUSE;
    if ((d->args[2] & PROT_EXEC) && !exec_source_allowed(p, (pid_t)req->pid, (int)d->args[4]))
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
    if ((int)d->args[0] < 0 || held_fd((pid_t)req->pid, (int)d->args[0], &st, NULL, NULL) < 0) {
        resp->error = -EBADF;
        return PH_LW_ANSWERED;
    }
    /* Written only into the thread still frozen in this call (a thread id
     * reused since would be another process), and only with
     * process_vm_writev, which honours page protections: a stat is never
     * written over the plugin's code. */
    if (seccomp_notify_id_valid(p->notify_fd, req->id) != 0)
        return PH_LW_SENT;
    struct iovec local = {&st, sizeof st}, remote = {(void *)(uintptr_t)d->args[2], sizeof st};
    if (process_vm_writev((pid_t)req->pid, &local, 1, &remote, 1, 0) != (ssize_t)sizeof st) {
        resp->error = -EFAULT;
        return PH_LW_ANSWERED;
    }
    resp->error = 0;
    resp->val = 0;
    return PH_LW_ANSWERED;
}
