/*
 * files: the host side of host.open. A plugin has no open() of its own (the
 * sandbox refuses every open); a file it must read or write is opened here,
 * in the host, and handed over as a descriptor on the answer's first record.
 *
 * The operator grants files per plugin file in the configuration:
 *   "files": {"read": ["/etc/app/", "/srv/data/day-??.csv"], "write": ["/var/lib/app/out/"]}
 * A grant ending in "/" covers every regular file beneath that directory;
 * any other grant covers the files directly in its directory whose name
 * matches its last component (an fnmatch pattern, or a plain name).
 *
 * It must never open anything outside a grant, follow a symbolic link below
 * a granted directory, cross a mount, or hand over anything but a regular
 * file opened close-on-exec; and it never trusts the plugin's path to be in
 * normal form: a path with ".", ".." or an empty component is refused
 * before any lookup.
 */
#include "files.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Absolute, and every component a real name: nothing for a lexical match
 * to be fooled by. */
static int normal_path(const char *p, size_t len)
{
    if (len == 0 || len >= PATH_MAX || p[0] != '/' || strlen(p) != len)
        return 0;
    const char *c = p + 1;
    for (;;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return 0;
        if (!end)
            return 1;
        c = end + 1;
    }
}

int ph_files_grant_syntax(const char *g, char *why, size_t whylen)
{
    size_t len = strlen(g);
    if (len >= 2 && g[len - 1] == '/') {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%.*s", (int)(len - 1), g);
        if (!normal_path(dir, len - 1) || strpbrk(dir, "*?[")) {
            snprintf(why, whylen,
                     "a directory grant is an absolute path without '.', '..', '//' or "
                     "wildcards, ending in '/'");
            return -1;
        }
        return 0;
    }
    const char *slash = strrchr(g, '/');
    const char *wild = strpbrk(g, "*?[");
    if (!normal_path(g, len) || !slash || slash == g || (wild && wild < slash)) {
        snprintf(why, whylen,
                 "a file grant is an absolute path without '.', '..' or '//', not at the root, "
                 "with wildcards (*, ?, [...]) in its last component only");
        return -1;
    }
    return 0;
}

/* Whether path falls under grant; if so, fills dir (the granted directory)
 * and *rel (path relative to it, a suffix of path). */
static int grant_match(const char *grant, const char *path, char *dir, size_t dirlen,
                       const char **rel)
{
    size_t glen = strlen(grant);
    if (grant[glen - 1] == '/') {
        if (strncmp(path, grant, glen) != 0 || path[glen] == '\0')
            return 0;
        snprintf(dir, dirlen, "%.*s", (int)(glen - 1), grant);
        *rel = path + glen;
        return 1;
    }
    const char *gs = strrchr(grant, '/');
    const char *ps = strrchr(path, '/');
    if (gs - grant != ps - path || strncmp(grant, path, (size_t)(gs - grant)) != 0)
        return 0;
    /* FNM_PERIOD: "*" does not reach hidden files, as in a shell. */
    if (fnmatch(gs + 1, ps + 1, FNM_PERIOD) != 0)
        return 0;
    snprintf(dir, dirlen, "%.*s", (int)(gs - grant), grant);
    *rel = ps + 1;
    return 1;
}

/* The first grant of list (an array of strings) covering path. */
static int find_grant(json_t *list, const char *path, char *dir, size_t dirlen, const char **rel)
{
    size_t i;
    json_t *g;
    json_array_foreach(list, i, g)
    {
        const char *s = json_string_value(g);
        if (s && *s && grant_match(s, path, dir, dirlen, rel))
            return 1;
    }
    return 0;
}

static const char *base_name(const char *file)
{
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

static const char *errno_name(int e)
{
    switch (e) {
    case ENOENT:
        return "ENOENT";
    case ELOOP:
        return "ELOOP";
    case EXDEV:
        return "EXDEV";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EISDIR:
        return "EISDIR";
    case ENOTDIR:
        return "ENOTDIR";
    case ENXIO:
        return "ENXIO";
    case EAGAIN:
        return "EAGAIN";
    case ENOSYS:
        return "ENOSYS";
    default:
        return "EIO";
    }
}

static int refuse(json_t **error, int code, const char *path, const char *what, json_t *data)
{
    char msg[PATH_MAX + 200];
    snprintf(msg, sizeof msg, "host.open: %s: %s", path ? path : "(no path)", what);
    if (!data)
        data = json_object();
    if (path)
        json_object_set_new(data, "path", json_string(path));
    *error = ph_wire_error_obj(code, msg, data);
    return -1;
}

static int open_beneath(int dirfd, const char *rel, uint64_t flags, uint64_t mode)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    /* No symlink at all below the grant, no /proc magic link, no mount
     * crossed, and nothing outside the directory even by a race. */
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
}

int ph_files_open(struct ph_host *h, struct ph_plug *p, json_t *params, json_t **result, int *fd,
                  json_t **error)
{
    *fd = -1;
    *result = NULL;
    json_t *jpath = json_is_object(params) ? json_object_get(params, "path") : NULL;
    json_t *jmode = json_is_object(params) ? json_object_get(params, "mode") : NULL;
    json_t *jcreate = json_is_object(params) ? json_object_get(params, "create") : NULL;
    const char *path = json_string_value(jpath);
    const char *mode = jmode ? json_string_value(jmode) : "r";
    if (!path || !mode || (jcreate && !json_is_boolean(jcreate)) || json_object_size(params) > 3)
        return refuse(error, PH_RPC_INVALID_PARAMS, NULL,
                      "params are {\"path\": string, \"mode\": \"r\"|\"w\"|\"a\"|\"rw\", "
                      "\"create\": bool}",
                      NULL);
    if (!normal_path(path, json_string_length(jpath)))
        return refuse(error, PH_RPC_INVALID_PARAMS, NULL,
                      "the path must be absolute, without '.', '..' or an empty component", NULL);
    int create = json_is_true(jcreate);
    uint64_t flags;
    int want_read = 0, want_write = 0;
    if (strcmp(mode, "r") == 0) {
        flags = O_RDONLY;
        want_read = 1;
    } else if (strcmp(mode, "w") == 0) {
        flags = O_WRONLY | O_TRUNC;
        want_write = 1;
    } else if (strcmp(mode, "a") == 0) {
        flags = O_WRONLY | O_APPEND;
        want_write = 1;
    } else if (strcmp(mode, "rw") == 0) {
        flags = O_RDWR;
        want_read = want_write = 1;
    } else {
        return refuse(error, PH_RPC_INVALID_PARAMS, path,
                      "mode must be \"r\", \"w\", \"a\" or \"rw\"", NULL);
    }
    if (create && !want_write)
        return refuse(error, PH_RPC_INVALID_PARAMS, path, "create needs a writing mode", NULL);

    const char *why_not = NULL, *missing = want_read ? "read" : "write";
    if (p->files_dropped)
        why_not = "the plugin dropped its file grants";
    json_t *entry = json_object_get(json_object_get(h->config, "plugins"), base_name(p->file));
    json_t *files = json_object_get(entry, "files");
    char rdir[PATH_MAX], wdir[PATH_MAX];
    const char *rrel = NULL, *wrel = NULL;
    if (!why_not && want_read &&
        !find_grant(json_object_get(files, "read"), path, rdir, sizeof rdir, &rrel))
        why_not = "no \"read\" grant covers it";
    if (!why_not && want_write &&
        !find_grant(json_object_get(files, "write"), path, wdir, sizeof wdir, &wrel)) {
        why_not = "no \"write\" grant covers it";
        missing = "write";
    }
    if (why_not)
        return refuse(error, PH_RPC_NOT_GRANTED, path, why_not,
                      json_pack("{s:s,s:s,s:s}", "grant", missing, "mode", mode, "plugin_file",
                                base_name(p->file)));

    /* Resolved beneath the grant that allows the riskier access. */
    const char *dir = want_write ? wdir : rdir;
    const char *rel = want_write ? wrel : rrel;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int e = errno;
        return refuse(error, PH_RPC_OPEN_FAILED, path, "the granted directory cannot be opened",
                      json_pack("{s:s}", "errno", errno_name(e)));
    }
    /* Look before opening: opening a FIFO blocks and opening a device can
     * act (a tape rewinds), so the kind is checked on an O_PATH descriptor
     * first, which only the host ever holds. */
    struct stat before, after;
    int looked = 0;
    /* No O_NOFOLLOW here: RESOLVE_NO_SYMLINKS then names a link as the
     * last component ELOOP, like one on the way. */
    int probe = open_beneath(dirfd, rel, O_PATH | O_CLOEXEC, 0);
    if (probe >= 0) {
        int st = fstat(probe, &before);
        close(probe);
        if (st < 0 || !S_ISREG(before.st_mode)) {
            close(dirfd);
            return refuse(error, PH_RPC_OPEN_FAILED, path, "not a regular file",
                          json_pack("{s:s}", "errno", "EINVAL"));
        }
        looked = 1;
    } else if (!(errno == ENOENT && create)) {
        int e = errno;
        close(dirfd);
        return refuse(error, PH_RPC_OPEN_FAILED, path,
                      e == ELOOP   ? "a symbolic link is on the way"
                      : e == EXDEV ? "it leaves the granted directory or crosses a mount"
                                   : strerror(e),
                      json_pack("{s:s}", "errno", errno_name(e)));
    }
    /* O_NONBLOCK: a FIFO swapped in since the look must not block the
     * host's loop; it is cleared again below for the plugin. */
    int f = open_beneath(
        dirfd, rel, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | (create ? O_CREAT : 0),
        create ? 0600 : 0);
    int e = errno;
    close(dirfd);
    if (f < 0)
        return refuse(error, PH_RPC_OPEN_FAILED, path, strerror(e),
                      json_pack("{s:s}", "errno", errno_name(e)));
    int fl = fcntl(f, F_GETFL);
    if (fstat(f, &after) < 0 || !S_ISREG(after.st_mode) ||
        (looked && (after.st_dev != before.st_dev || after.st_ino != before.st_ino)) || fl < 0 ||
        fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        close(f);
        return refuse(error, PH_RPC_OPEN_FAILED, path,
                      "not a regular file, or changed while opened",
                      json_pack("{s:s}", "errno", "EINVAL"));
    }
    *fd = f;
    *result =
        json_pack("{s:s,s:s,s:I}", "path", path, "mode", mode, "size", (json_int_t)after.st_size);
    return 0;
}

/* What a non-regular file is, for errors that say why it was refused. */
static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISDIR(m)  ? "a directory"
           : S_ISLNK(m)  ? "a symbolic link"
                         : "not a regular file";
}

int ph_files_open_regular(int dirfd, const char *name, int follow, off_t max, struct stat *st,
                          char *why, size_t whylen)
{
    int nofollow = follow ? 0 : O_NOFOLLOW;
    struct stat before, after;
    /* Looked at first through O_PATH, which opens nothing: no FIFO to
     * block on, no device to act, no lease to break; with O_NOFOLLOW a
     * symbolic link is seen as itself. */
    int probe = openat(dirfd, name, O_PATH | O_CLOEXEC | nofollow);
    if (probe < 0) {
        int e = errno;
        snprintf(why, whylen, "%s", strerror(e));
        errno = e;
        return -1;
    }
    int rc = fstat(probe, &before);
    close(probe);
    if (rc < 0) {
        int e = errno;
        snprintf(why, whylen, "cannot be examined: %s", strerror(e));
        errno = e;
        return -1;
    }
    if (!S_ISREG(before.st_mode)) {
        snprintf(why, whylen, "%s, not a regular file%s", kind_of(before.st_mode),
                 S_ISLNK(before.st_mode) ? " (a link is not followed here)" : "");
        errno = EINVAL;
        return -1;
    }
    if (before.st_size > max) {
        snprintf(why, whylen, "%lld bytes, larger than the %lld the host reads",
                 (long long)before.st_size, (long long)max);
        errno = EFBIG;
        return -1;
    }
    /* O_NONBLOCK: whatever was swapped in since the look cannot block the
     * loop (a FIFO, a file under a lease); it is refused below. */
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | nofollow);
    if (fd < 0) {
        int e = errno;
        snprintf(why, whylen, "%s",
                 e == EWOULDBLOCK ? "busy (a lease is held on it)"
                 : e == ELOOP     ? "replaced by a symbolic link while opened"
                                  : strerror(e));
        errno = e;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, &after) < 0 || !S_ISREG(after.st_mode) || after.st_dev != before.st_dev ||
        after.st_ino != before.st_ino || after.st_size > max || fl < 0 ||
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        close(fd);
        snprintf(why, whylen, "replaced or grown while opened");
        errno = EINVAL;
        return -1;
    }
    if (st)
        *st = after;
    return fd;
}
