/*
 * new: `plughost new NAME [DIR]`, a plugin author's first command. It
 * writes the installed plugin template (share/plughost/plugin-template:
 * a method, its unit test, a CMake build and a Makefile) into DIR with the
 * plugin named NAME, ready to build against the installed plughost.
 *
 * It must never overwrite or follow anything already there: DIR is used
 * only if it is missing or an empty directory, and every file is created
 * with O_EXCL. NAME is checked before it is put into any file, so it is
 * always a plugin name that is also a file name and a CMake target name.
 */
#include "cli.h"
#include "log.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The template's files, and the plugin name they are written with, which
 * `new` replaces with NAME in names and text. */
#define PH_NEW_TOKEN "hello"
static const char *const template_files[] = {"CMakeLists.txt", "Makefile", "README.md", "hello.c",
                                             "test_hello.c"};
/* No template file comes near this; a bigger one is not the template. */
#define PH_NEW_MAX_FILE (256 * 1024)
/* The plugin name rule (sdk.h) less a leading '-' or '_', which make, cc
 * and cmake would read as something else on a command line. */
#define PH_NEW_MAX_NAME 63

/* Target names CMake keeps for itself: plughost_add_plugin(NAME) fails with
 * one of these. */
static const char *const cmake_reserved[] = {
    "all",  "clean",      "help",          "install", "package",    "package_source",
    "test", "edit_cache", "rebuild_cache", "depend",  "preinstall", "list_install_components",
};

static int name_ok(const char *name, char *why, size_t whylen)
{
    size_t n = strlen(name);
    if (n == 0 || n > PH_NEW_MAX_NAME ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n || name[0] == '-' ||
        name[0] == '_') {
        snprintf(why, whylen,
                 "NAME must be 1 to %d of a-z, 0-9, '_' and '-', starting with a letter or a digit",
                 PH_NEW_MAX_NAME);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmake_reserved / sizeof cmake_reserved[0]; i++)
        if (strcmp(name, cmake_reserved[i]) == 0) {
            snprintf(why, whylen, "\"%s\" is a target name CMake reserves; choose another NAME",
                     name);
            return 0;
        }
    return 1;
}

/* The template directory: $PLUGHOST_TEMPLATE, else share/plughost/
 * plugin-template of the tree this plughost runs from (an installed tree
 * moved as a whole), else of the prefix it was configured for. *prefix
 * gets the installation prefix when it is known (for the next steps it
 * prints), else "". */
static int find_template(char *out, size_t outlen, char *prefix, size_t prefixlen)
{
    struct stat st;
    prefix[0] = '\0';
    const char *env = getenv("PLUGHOST_TEMPLATE");
    if (env && *env) {
        snprintf(out, outlen, "%s", env);
        return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            slash = strrchr(self, '/');
            if (slash && strcmp(slash, "/bin") == 0) {
                *slash = '\0';
                int w = snprintf(out, outlen, "%s/share/plughost/plugin-template", self);
                if (w > 0 && (size_t)w < outlen && stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
                    snprintf(prefix, prefixlen, "%s", self);
                    return 0;
                }
            }
        }
    }
    snprintf(out, outlen, "%s", PH_TEMPLATE_INSTALLED);
    snprintf(prefix, prefixlen, "%s", PH_PREFIX_INSTALLED);
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Reads a template file whole (regular, at most PH_NEW_MAX_FILE bytes):
 * malloc'ed, NUL-terminated, owned by the caller; NULL with errno. */
static char *read_template(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (!S_ISREG(st.st_mode) || st.st_size > PH_NEW_MAX_FILE) {
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        goto fail;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        goto fail;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* shrank while read */
            goto fail;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *len = got;
    close(fd);
    return buf;
fail:;
    int e = errno;
    free(buf);
    close(fd);
    errno = e;
    return NULL;
}

/* text with every PH_NEW_TOKEN replaced by name: malloc'ed, or NULL. */
static char *substitute(const char *text, const char *name, size_t *outlen)
{
    size_t tl = strlen(PH_NEW_TOKEN), nl = strlen(name), count = 0;
    for (const char *p = text; (p = strstr(p, PH_NEW_TOKEN)); p += tl)
        count++;
    size_t len = strlen(text) + count * nl; /* an upper bound: nl >= 1 */
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    char *w = out;
    const char *p = text, *hit;
    while ((hit = strstr(p, PH_NEW_TOKEN))) {
        memcpy(w, p, (size_t)(hit - p));
        w += hit - p;
        memcpy(w, name, nl);
        w += nl;
        p = hit + tl;
    }
    size_t rest = strlen(p);
    memcpy(w, p, rest + 1);
    *outlen = (size_t)(w - out) + rest;
    return out;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* DIR must be missing (made here: *made set) or an empty directory;
 * returns an open O_DIRECTORY descriptor or -1 with why filled. */
static int open_target(const char *dir, int *made, int *usage, char *why, size_t whylen)
{
    *made = 0;
    *usage = 0;
    if (mkdir(dir, 0777) == 0) {
        *made = 1;
    } else if (errno != EEXIST) {
        snprintf(why, whylen, "cannot make the directory: %s", strerror(errno));
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0) {
        *usage = errno == ENOTDIR || errno == ELOOP;
        snprintf(why, whylen, "%s", *usage ? "exists and is not a directory" : strerror(errno));
        return -1;
    }
    if (*made)
        return dfd;
    int probe = dup(dfd);
    DIR *d = probe >= 0 ? fdopendir(probe) : NULL;
    if (!d) {
        if (probe >= 0)
            close(probe);
        snprintf(why, whylen, "cannot read the directory: %s", strerror(errno));
        close(dfd);
        return -1;
    }
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    closedir(d);
    if (!empty) {
        *usage = 1;
        snprintf(why, whylen,
                 "exists and is not empty; plughost new writes only into a new or "
                 "empty directory");
        close(dfd);
        return -1;
    }
    return dfd;
}

static const char new_usage[] = "usage: plughost new NAME [DIR]   (see plughost new --help)\n";

int ph_cli_new(int argc, char **argv)
{
    if (argc < 1 || argc > 2) {
        fputs(new_usage, stderr);
        return PH_EXIT_USAGE;
    }
    const char *name = argv[0];
    const char *dir = argc == 2 ? argv[1] : argv[0];
    char why[256];
    if (!name_ok(name, why, sizeof why)) {
        ph_clog_msg("error", "host", NULL, "new: %s", why);
        return PH_EXIT_USAGE;
    }
    if (!*dir) {
        fputs(new_usage, stderr);
        return PH_EXIT_USAGE;
    }
    char tdir[PATH_MAX], prefix[PATH_MAX];
    if (find_template(tdir, sizeof tdir, prefix, sizeof prefix) < 0) {
        ph_clog_msg("error", "host", NULL,
                    "new: no plugin template at %s (it is installed with plughost, "
                    "under share/plughost/plugin-template; PLUGHOST_TEMPLATE names another)",
                    tdir);
        return PH_EXIT_HOST;
    }
    /* Every template file is read before DIR is touched, so a broken
     * template leaves nothing behind. */
    enum { NFILES = sizeof template_files / sizeof template_files[0] };
    char *text[NFILES] = {0};
    size_t len[NFILES];
    int rc = PH_EXIT_HOST;
    for (size_t i = 0; i < NFILES; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", tdir, template_files[i]);
        size_t raw_len;
        char *raw = read_template(path, &raw_len);
        if (!raw) {
            ph_clog_msg("error", "host", NULL, "new: template file %s: %s", path, strerror(errno));
            goto out;
        }
        /* Text files only: a NUL would end the substitution early. */
        if (strlen(raw) != raw_len) {
            ph_clog_msg("error", "host", NULL, "new: template file %s is not text", path);
            free(raw);
            goto out;
        }
        text[i] = substitute(raw, name, &len[i]);
        free(raw);
        if (!text[i]) {
            ph_clog_msg("error", "host", NULL, "new: out of memory");
            goto out;
        }
    }
    int made, usage;
    int dfd = open_target(dir, &made, &usage, why, sizeof why);
    if (dfd < 0) {
        ph_clog_msg("error", "host", NULL, "new: %s: %s", dir, why);
        rc = usage ? PH_EXIT_USAGE : PH_EXIT_HOST;
        goto out;
    }
    size_t written = 0;
    char fname[NFILES][PH_NEW_MAX_NAME + 32];
    for (; written < NFILES; written++) {
        size_t fl;
        char *f = substitute(template_files[written], name, &fl);
        if (!f || fl >= sizeof fname[written]) {
            free(f);
            ph_clog_msg("error", "host", NULL, "new: out of memory");
            break;
        }
        memcpy(fname[written], f, fl + 1);
        free(f);
        int fd =
            openat(dfd, fname[written], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) {
            ph_clog_msg("error", "host", NULL, "new: %s/%s: %s", dir, fname[written],
                        strerror(errno));
            break;
        }
        int bad = write_all(fd, text[written], len[written]) < 0;
        int e = errno;
        if (close(fd) < 0 && !bad) {
            bad = 1;
            e = errno;
        }
        if (bad) {
            ph_clog_msg("error", "host", NULL, "new: %s/%s: %s", dir, fname[written], strerror(e));
            written++; /* created: removed below with the others */
            break;
        }
    }
    if (written < NFILES) {
        /* Leave nothing half-written: only what this run created goes. */
        for (size_t i = 0; i < written; i++)
            (void)unlinkat(dfd, fname[i], 0);
        close(dfd);
        if (made)
            (void)rmdir(dir);
        goto out;
    }
    close(dfd);
    ph_text_print(stdout, "plughost new: wrote the plugin %s into %s:", name, dir);
    for (size_t i = 0; i < NFILES; i++)
        ph_text_print(stdout, "  %s", fname[i]);
    ph_text_print(stdout, "next, with CMake:");
    ph_text_print(stdout, "  cd %s", dir);
    if (prefix[0] && strcmp(prefix, "/usr") != 0 && strcmp(prefix, "/usr/local") != 0)
        ph_text_print(stdout, "  cmake -S . -B build -DCMAKE_PREFIX_PATH=%s", prefix);
    else
        ph_text_print(stdout, "  cmake -S . -B build");
    ph_text_print(stdout, "  cmake --build build && ctest --test-dir build");
    ph_text_print(stdout, "  plughost call build %s.greet '[\"world\"]'", name);
    if (prefix[0] && strcmp(prefix, "/usr") != 0 && strcmp(prefix, "/usr/local") != 0)
        ph_text_print(stdout, "or with make: PKG_CONFIG_PATH=%s%s%s/pkgconfig make && make test",
                      PH_LIBDIR_REL[0] == '/' ? "" : prefix, PH_LIBDIR_REL[0] == '/' ? "" : "/",
                      PH_LIBDIR_REL);
    else
        ph_text_print(stdout, "or with make: make && make test");
    rc = PH_EXIT_OK;
out:
    for (size_t i = 0; i < NFILES; i++)
        free(text[i]);
    return rc;
}
