/*
 * listen: see listen.h. Everything here runs before the first client or
 * once per connection; none of it is on a call's path.
 */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* sd_listen_fds(3): passed descriptors start here. */
#define LISTEN_FDS_START 3

static int fail(ph_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(ph_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

/* A whole decimal id, below the (id_t)-1 that means "none". */
static int parse_id(const char *s, unsigned long *out)
{
    char *end;
    if (!*s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v >= (unsigned long)(uid_t)-1)
        return -1;
    *out = v;
    return 0;
}

static int add_id(unsigned **arr, size_t *n, unsigned v, ph_error *err)
{
    unsigned *a = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!a)
        return fail(err, PH_E_NOMEM, "out of memory");
    a[(*n)++] = v;
    *arr = a;
    return PH_OK;
}

int ph_listen_allow_user(struct ph_listen_allow *a, const char *who, ph_error *err)
{
    unsigned long id;
    if (parse_id(who, &id) < 0) {
        errno = 0;
        struct passwd *pw = getpwnam(who);
        if (!pw)
            return fail(err, PH_E_INVALID, "unknown user \"%s\"%s%s", who, errno ? ": " : "",
                        errno ? strerror(errno) : "");
        id = pw->pw_uid;
    }
    _Static_assert(sizeof(uid_t) == sizeof(unsigned), "uid_t is 32 bits");
    return add_id((unsigned **)&a->uids, &a->nuids, (unsigned)id, err);
}

int ph_listen_allow_group(struct ph_listen_allow *a, const char *who, ph_error *err)
{
    unsigned long id;
    if (parse_id(who, &id) < 0) {
        errno = 0;
        struct group *gr = getgrnam(who);
        if (!gr)
            return fail(err, PH_E_INVALID, "unknown group \"%s\"%s%s", who, errno ? ": " : "",
                        errno ? strerror(errno) : "");
        id = gr->gr_gid;
    }
    _Static_assert(sizeof(gid_t) == sizeof(unsigned), "gid_t is 32 bits");
    return add_id((unsigned **)&a->gids, &a->ngids, (unsigned)id, err);
}

void ph_listen_allow_free(struct ph_listen_allow *a)
{
    free(a->uids);
    free(a->gids);
    memset(a, 0, sizeof *a);
}

int ph_listen_parse_mode(const char *s, unsigned *mode)
{
    char *end;
    if (!s || !*s || strspn(s, "01234567") != strlen(s))
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 8);
    if (errno || *end || v > 0777)
        return -1;
    *mode = (unsigned)v;
    return 0;
}

static int fill_addr(const char *path, struct sockaddr_un *sa, ph_error *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof sa->sun_path)
        return fail(err, PH_E_INVALID, "%s: a socket path must have 1 to %zu bytes", path,
                    sizeof sa->sun_path - 1);
    memcpy(sa->sun_path, path, strlen(path));
    return PH_OK;
}

/* What is at path already: nothing (0), a socket nobody listens on, now
 * removed (0), or a reason to stop (an error). */
static int clear_stale(const char *path, const struct sockaddr_un *sa, ph_error *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return PH_OK;
        return fail(err, PH_E_SYSTEM, "%s: %s", path, strerror(errno));
    }
    if (!S_ISSOCK(st.st_mode))
        return fail(err, PH_E_INVALID, "%s exists and is not a socket: refusing to replace it",
                    path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return fail(err, PH_E_SYSTEM, "socket: %s", strerror(errno));
    int rc = connect(probe, (const struct sockaddr *)sa, sizeof *sa);
    int e = errno;
    close(probe);
    if (rc == 0)
        return fail(err, PH_E_INVALID, "%s: another server is listening on it", path);
    /* Only "nobody is listening" makes it stale; a socket we may not even
     * try (EACCES) could well be in use. */
    if (e != ECONNREFUSED)
        return fail(err, PH_E_SYSTEM, "%s: cannot tell whether it is in use: %s", path,
                    strerror(e));
    if (unlink(path) < 0 && errno != ENOENT)
        return fail(err, PH_E_SYSTEM, "%s: removing the stale socket: %s", path, strerror(errno));
    return PH_OK;
}

int ph_listen_bind(const char *path, unsigned mode, int backlog, int *fd, struct stat *made,
                   ph_error *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(path, &sa, err);
    if (rc < 0)
        return rc;
    if ((rc = clear_stale(path, &sa, err)) < 0)
        return rc;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return fail(err, PH_E_SYSTEM, "socket: %s", strerror(errno));
    /* bind() creates the file with 0777 minus the umask: with this umask it
     * is born with the mode asked for, never wider for an instant (a chmod
     * afterwards would leave a window, and fchmod on a socket does not
     * reach the file). */
    mode_t old = umask((mode_t)(~mode & 0777));
    rc = bind(s, (const struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    umask(old);
    if (rc < 0) {
        close(s);
        return fail(err, PH_E_SYSTEM, "bind %s: %s", path, strerror(e));
    }
    if (lstat(path, made) < 0 || listen(s, backlog) < 0) {
        e = errno;
        unlink(path);
        close(s);
        return fail(err, PH_E_SYSTEM, "listen %s: %s", path, strerror(e));
    }
    *fd = s;
    return PH_OK;
}

void ph_listen_unlink(const char *path, const struct stat *made)
{
    struct stat st;
    /* An inode number can come back for a file made after ours was
     * removed: the change time, to the nanosecond, tells them apart. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == made->st_dev &&
        st.st_ino == made->st_ino && st.st_ctim.tv_sec == made->st_ctim.tv_sec &&
        st.st_ctim.tv_nsec == made->st_ctim.tv_nsec)
        (void)unlink(path);
}

/* Checks that fd is what a server can accept on. */
static int check_listening(int fd, char *path, size_t pathlen, ph_error *err)
{
    int type = 0, acc = 0;
    socklen_t l = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
        return fail(err, PH_E_INVALID, "socket activation: fd %d is not a socket: %s", fd,
                    strerror(errno));
    l = sizeof acc;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0)
        return fail(err, PH_E_SYSTEM, "socket activation: fd %d: SO_ACCEPTCONN: %s", fd,
                    strerror(errno));
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    l = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
        return fail(err, PH_E_SYSTEM, "socket activation: fd %d: getsockname: %s", fd,
                    strerror(errno));
    if (sa.sun_family != AF_UNIX || type != SOCK_STREAM || !acc)
        return fail(err, PH_E_INVALID,
                    "socket activation: fd %d is not a listening AF_UNIX stream socket (use "
                    "ListenStream=/path and Accept=no)",
                    fd);
    /* An abstract or unnamed address has no path; it is shown empty. */
    size_t n = l > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0]
                   ? strnlen(sa.sun_path, l - offsetof(struct sockaddr_un, sun_path))
                   : 0;
    snprintf(path, pathlen, "%.*s", (int)n, sa.sun_path);
    return PH_OK;
}

int ph_listen_activated(const char *name, int *fd, char *path, size_t pathlen, ph_error *err)
{
    const char *spid = getenv("LISTEN_PID");
    const char *sfds = getenv("LISTEN_FDS");
    unsigned long pid, nfds;
    if (!spid || !sfds || parse_id(spid, &pid) < 0 || pid != (unsigned long)getpid())
        return 0; /* not for us (a parent's, or none): left alone */
    char *names = getenv("LISTEN_FDNAMES") ? strdup(getenv("LISTEN_FDNAMES")) : NULL;
    (void)unsetenv("LISTEN_PID");
    (void)unsetenv("LISTEN_FDS");
    (void)unsetenv("LISTEN_FDNAMES");
    if (parse_id(sfds, &nfds) < 0 || nfds == 0 || nfds > INT_MAX - LISTEN_FDS_START) {
        free(names);
        return fail(err, PH_E_INVALID, "socket activation: LISTEN_FDS=\"%s\" is not a count", sfds);
    }
    int chosen = -1;
    /* The i-th name is the i-th field between colons, empty ones included
     * ("a::b" names three descriptors, the second unnamed): strtok would
     * merge the empty field and shift every later name onto the wrong
     * descriptor. Fields past the last are empty too. */
    const char *field = names;
    for (unsigned long i = 0; i < nfds; i++) {
        int f = LISTEN_FDS_START + (int)i;
        /* Whatever happens next, no plugin may inherit one. */
        int fl = fcntl(f, F_GETFD);
        if (fl < 0 || fcntl(f, F_SETFD, fl | FD_CLOEXEC) < 0) {
            free(names);
            return fail(err, PH_E_INVALID, "socket activation: fd %d: %s", f, strerror(errno));
        }
        const char *n = field ? field : "";
        const char *end = strchrnul(n, ':');
        size_t nlen = (size_t)(end - n);
        if (chosen < 0 && (name ? strlen(name) == nlen && memcmp(n, name, nlen) == 0 : nfds == 1))
            chosen = f;
        field = *end == ':' ? end + 1 : NULL;
    }
    if (chosen < 0) {
        int rc = name ? fail(err, PH_E_INVALID,
                             "socket activation: no socket named \"%s\" among the %lu passed "
                             "(LISTEN_FDNAMES=\"%s\"; FileDescriptorName= names them)",
                             name, nfds, names ? names : "")
                      : fail(err, PH_E_INVALID,
                             "socket activation: %lu sockets passed (LISTEN_FDNAMES=\"%s\"); "
                             "choose one with --listen=systemd:NAME",
                             nfds, names ? names : "");
        free(names);
        return rc;
    }
    free(names);
    for (unsigned long i = 0; i < nfds; i++)
        if (LISTEN_FDS_START + (int)i != chosen)
            close(LISTEN_FDS_START + (int)i);
    int rc = check_listening(chosen, path, pathlen, err);
    if (rc < 0)
        return rc;
    int fl = fcntl(chosen, F_GETFL);
    if (fl < 0 || fcntl(chosen, F_SETFL, fl | O_NONBLOCK) < 0)
        return fail(err, PH_E_SYSTEM, "socket activation: fd %d: %s", chosen, strerror(errno));
    *fd = chosen;
    return 1;
}

static int in(const unsigned *arr, size_t n, unsigned v)
{
    for (size_t i = 0; i < n; i++)
        if (arr[i] == v)
            return 1;
    return 0;
}

int ph_listen_check_peer(int fd, const struct ph_listen_allow *a, struct ph_listen_peer *peer,
                         char *why, size_t whylen, ph_error *err)
{
    struct ucred cr;
    socklen_t l = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || l != sizeof cr)
        return fail(err, PH_E_SYSTEM, "SO_PEERCRED: %s", strerror(errno));
    peer->pid = cr.pid;
    peer->uid = cr.uid;
    peer->gid = cr.gid;
    if (cr.uid == 0 || cr.uid == geteuid() || in(a->uids, a->nuids, cr.uid) ||
        in(a->gids, a->ngids, cr.gid))
        return 1;
    if (a->ngids > 0) {
        /* Supplementary groups as they were at connect(), from the kernel
         * rather than from /etc/group, which may have changed since. */
        gid_t small[64], *groups = small;
        socklen_t gl = sizeof small;
        int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl);
        if (rc < 0 && errno == ERANGE && gl > sizeof small) {
            groups = malloc(gl);
            rc = groups ? getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) : -1;
        }
        int ok = 0;
        for (size_t i = 0; rc == 0 && i < gl / sizeof *groups; i++)
            ok |= in(a->gids, a->ngids, groups[i]);
        if (groups != small)
            free(groups);
        if (ok)
            return 1;
    }
    snprintf(why, whylen,
             "uid %u (gid %u) is not among the users and groups allowed to use this socket",
             (unsigned)cr.uid, (unsigned)cr.gid);
    return 0;
}
