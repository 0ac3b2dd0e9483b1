/* lazy activation and the hello cache: see lazy.h. */
#include "lazy.h"

#include "bounds.h"
#include "files.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The entry's format; an entry of any other version is ignored. */
#define PH_CACHE_FORMAT 1
#define PH_CACHE_SUFFIX ".hello"
/* A temporary file older than this is a crashed writer's: removed when
 * the directory is scanned. */
#define PH_CACHE_TMP_AGE_S 60

struct ph_lazy_cache {
    int dirfd;
    char *dir;      /* owned; as the operator named it, for messages */
    int counted;    /* entries and bytes are known (a scan was made) */
    size_t entries; /* at most; an entry replaced in place counts twice */
    uint64_t bytes;
};

int ph_lazy_open(struct ph_host *h, const char *dir, ph_error *err)
{
    /* O_NOFOLLOW: the directory the operator named, not where a link
     * put in its place points. */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return ph_set_error(err, PH_E_SYSTEM,
                            "hello cache %s: %s (it must be an existing directory, not a "
                            "symbolic link, owned by the host's user)",
                            dir, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ph_set_error(err, PH_E_SYSTEM, "hello cache %s: fstat: %s", dir, strerror(e));
    }
    /* Whoever can write here chooses what a lazy host lists: only the
     * host's own user may. */
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        close(fd);
        return ph_set_error(err, PH_E_INVALID,
                            "hello cache %s is owned by uid %u with mode %04o: it must be owned "
                            "by the host's uid %u and not writable by group or others (chmod "
                            "700 it)",
                            dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
                            (unsigned)geteuid());
    }
    struct ph_lazy_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        close(fd);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    c->dirfd = fd;
    h->cache = c;
    return PH_OK;
}

void ph_lazy_free(struct ph_host *h)
{
    if (!h->cache)
        return;
    close(h->cache->dirfd);
    free(h->cache->dir);
    free(h->cache);
    h->cache = NULL;
}

static void warn(struct ph_plug *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct ph_plug *p, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    ph_host_event(p->host, json_pack("{s:s,s:s,s:s}", "type", "hello_cache", "file", p->file,
                                     "warning", why));
}

static int entry_name(const char *hash, char *out, size_t n)
{
    return snprintf(out, n, "%s%s", hash, PH_CACHE_SUFFIX) < (int)n ? 0 : -1;
}

/* The hello stored for hash, checked as a hello from the wire is, or NULL
 * (a warning event says why, unless there simply is no entry). */
static json_t *read_entry(struct ph_plug *p, const char *hash)
{
    struct ph_lazy_cache *c = p->host->cache;
    char name[96], why[300];
    if (entry_name(hash, name, sizeof name) < 0)
        return NULL;
    struct stat st;
    /* Not a link, not a FIFO, never blocking, never past the bound. */
    int fd =
        ph_files_open_regular(c->dirfd, name, 0, PH_BOUND_CACHE_ENTRY_BYTES, &st, why, sizeof why);
    if (fd < 0) {
        if (errno != ENOENT)
            warn(p, "entry %s ignored: %s", name, why);
        return NULL;
    }
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        warn(p, "entry %s ignored: owned by uid %u with mode %04o, not written by this host", name,
             (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = malloc(cap);
    while (buf && len < cap) {
        ssize_t r = pread(fd, buf + len, cap - len, (off_t)len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    json_t *doc = NULL;
    if (!buf) {
        warn(p, "entry %s ignored: out of memory", name);
    } else if (len != (size_t)st.st_size) {
        warn(p, "entry %s ignored: it changed size while read", name);
    } else if (!(doc = ph_wire_parse(buf, len, why, sizeof why))) {
        warn(p, "entry %s ignored: %s", name, why);
    }
    free(buf);
    json_t *hello = json_object_get(doc, "hello");
    json_t *version = json_object_get(doc, "plughost_hello_cache");
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    if (doc && (!json_is_object(doc) || json_object_size(doc) != 3 || !json_is_integer(version) ||
                json_integer_value(version) != PH_CACHE_FORMAT || !sha || strcmp(sha, hash) != 0 ||
                !json_is_object(hello))) {
        warn(p,
             "entry %s ignored: not a format %d entry for this file "
             "({\"plughost_hello_cache\", \"sha256\", \"hello\"})",
             name, PH_CACHE_FORMAT);
        json_decref(doc);
        doc = NULL;
    }
    /* The very checks a hello from a plugin passes, bounds included. */
    if (doc && ph_plug_valid_hello(p, hello, why, sizeof why) < 0) {
        warn(p, "entry %s ignored: %s", name, why);
        json_decref(doc);
        doc = NULL;
    }
    /* Used now: eviction takes the least recently used first. */
    if (doc)
        futimens(fd, NULL);
    close(fd);
    hello = doc ? json_incref(hello) : NULL;
    json_decref(doc);
    return hello;
}

struct cached_file {
    char name[96];
    struct timespec mtime;
    off_t size;
};

static int older(const void *a, const void *b)
{
    const struct cached_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int is_entry_name(const char *n)
{
    size_t len = strlen(n);
    return len == 64 + strlen(PH_CACHE_SUFFIX) && strspn(n, "0123456789abcdef") == 64 &&
           strcmp(n + 64, PH_CACHE_SUFFIX) == 0;
}

/* Counts the entries and removes the least recently used ones until the
 * directory is within its bounds, keep (just written) last of all. */
static void evict(struct ph_plug *p, const char *keep)
{
    struct ph_lazy_cache *c = p->host->cache;
    int dfd = openat(c->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        warn(p, "cannot read %s to bound it: %s", c->dir, strerror(errno));
        return;
    }
    struct cached_file *list = NULL;
    size_t n = 0, cap = 0;
    uint64_t bytes = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct dirent *de;
    /* Bounded by the entries' bound and the stragglers a scan removes:
     * a directory stuffed with other names is not read past this. */
    size_t seen = 0;
    while ((de = readdir(d)) && seen++ < 4 * (size_t)PH_BOUND_CACHE_ENTRIES) {
        struct stat st;
        if (fstatat(c->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (strncmp(de->d_name, ".tmp-", 5) == 0) {
            if (now.tv_sec - st.st_mtim.tv_sec > PH_CACHE_TMP_AGE_S)
                unlinkat(c->dirfd, de->d_name, 0);
            continue;
        }
        if (!is_entry_name(de->d_name))
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 256;
            struct cached_file *nl = realloc(list, nc * sizeof *nl);
            if (!nl)
                break;
            list = nl;
            cap = nc;
        }
        memcpy(list[n].name, de->d_name, strlen(de->d_name) + 1); /* is_entry_name: 70 bytes */
        list[n].mtime = st.st_mtim;
        list[n].size = st.st_size;
        bytes += (uint64_t)st.st_size;
        n++;
    }
    closedir(d);
    if (n)
        qsort(list, n, sizeof *list, older);
    size_t left = n;
    for (size_t i = 0; i < n && (left > PH_BOUND_CACHE_ENTRIES || bytes > PH_BOUND_CACHE_BYTES);
         i++) {
        if (keep && strcmp(list[i].name, keep) == 0)
            continue;
        if (unlinkat(c->dirfd, list[i].name, 0) == 0 || errno == ENOENT) {
            left--;
            bytes -= (uint64_t)list[i].size;
        }
    }
    free(list);
    c->entries = left;
    c->bytes = bytes;
    c->counted = 1;
}

/* Stores hello as the entry for p->sha256: a temporary file, 0600, then
 * renamed over the entry, so a reader sees the old entry or the new one,
 * never part of one. A failure costs the next lazy start only its cache
 * hit, so it is a warning, not an error. */
static void write_entry(struct ph_plug *p, json_t *hello)
{
    struct ph_lazy_cache *c = p->host->cache;
    char name[96], tmp[128];
    if (entry_name(p->sha256, name, sizeof name) < 0)
        return;
    snprintf(tmp, sizeof tmp, ".tmp-%s-%ld", p->sha256, (long)getpid());
    json_t *doc = json_pack("{s:i,s:s,s:O}", "plughost_hello_cache", PH_CACHE_FORMAT, "sha256",
                            p->sha256, "hello", hello);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    size_t len = text ? strlen(text) : 0;
    if (!text || len > PH_BOUND_CACHE_ENTRY_BYTES) {
        warn(p, "not cached: %s", text ? "the entry would exceed its bound" : "out of memory");
        free(text);
        return;
    }
    int fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && unlinkat(c->dirfd, tmp, 0) == 0)
        fd = openat(c->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    size_t off = 0;
    while (fd >= 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(text);
    int e = errno;
    int ok = fd >= 0 && off == len && fchmod(fd, 0600) == 0;
    if (fd >= 0 && close(fd) < 0)
        ok = 0;
    if (!ok || renameat(c->dirfd, tmp, c->dirfd, name) < 0) {
        if (ok)
            e = errno;
        if (fd >= 0)
            unlinkat(c->dirfd, tmp, 0);
        warn(p, "not cached: cannot write %s/%s: %s", c->dir, name, strerror(e));
        return;
    }
    c->entries++;
    c->bytes += len;
    if (!c->counted || c->entries > PH_BOUND_CACHE_ENTRIES || c->bytes > PH_BOUND_CACHE_BYTES)
        evict(p, name);
}

int ph_lazy_load_cold(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (!h->cache)
        return 0;
    ph_error e;
    char hash[65];
    struct stat st;
    /* The settings hold the operator's sha256 pin: a file that fails it
     * is never listed from the cache either; its start says why. */
    if (ph_plug_settings(h, p->file, &p->set, &e) < 0)
        return 0;
    int fd = ph_plug_open_checked(p->file, p->set.sha256, 1, hash, &st, &e);
    if (fd < 0)
        return 0;
    close(fd);
    json_t *hello = read_entry(p, hash);
    const char *name = json_string_value(json_object_get(hello, "name"));
    if (!hello || !(p->name = strdup(name))) {
        json_decref(hello);
        return 0;
    }
    p->hello = hello;
    p->hello_cached = 1;
    /* A singleton's pool is one process from its first start on. */
    p->singleton = json_is_true(json_object_get(hello, "singleton"));
    snprintf(p->sha256, sizeof p->sha256, "%s", hash);
    snprintf(p->cache_sha256, sizeof p->cache_sha256, "%s", hash);
    /* The file as hashed: a reload tells a change by these, and so does
     * ph_lazy_fresh() before listing the cached hello. */
    p->file_dev = st.st_dev;
    p->file_ino = st.st_ino;
    p->file_size = st.st_size;
    p->file_mtime = st.st_mtim;
    p->file_ctime = st.st_ctim; /* mtime can be set back; ctime cannot */
    /* Pins judge a cached surface as they judge a handshake's. */
    ph_pins_check(p);
    return 1;
}

/* A method's entry in a hello (borrowed), or NULL. */
static json_t *method_of(json_t *hello, const char *method)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(hello, "methods"), i, m)
    {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, method) == 0)
            return m;
    }
    return NULL;
}

void ph_lazy_on_hello(struct ph_plug *p, json_t *hello)
{
    struct ph_host *h = p->host;
    int changed = p->hello_cached && p->hello && !json_equal(p->hello, hello);
    if (changed) {
        ph_host_event(h, json_pack("{s:s,s:s,s:s,s:s}", "type", "hello_changed", "plugin", p->name,
                                   "file", p->file, "sha256", p->sha256));
        /* A queued call was checked (method, params schema) against the
         * cached hello: it goes on only if its method is the same in the
         * real one. */
        for (struct ph_call *c = h->calls.next; c != &h->calls;) {
            struct ph_call *next = c->next;
            json_t *was = method_of(p->hello, c->method), *now = method_of(hello, c->method);
            /* A pool's queued call has no instance yet (pool.c): it
             * belongs to the pool's head. */
            int ours = c->plug == p || (!c->plug && c->pool == p->head);
            if (ours && !c->sent && !(was && now && json_equal(was, now)))
                ph_call_finish(
                    h, c, NULL,
                    ph_call_error(p, c->method,
                                  now ? PH_RPC_PLUGIN_NOT_LOADED : PH_RPC_METHOD_NOT_FOUND,
                                  PH_END_NONE, json_pack("{s:b}", "hello_changed", 1),
                                  "plugin %s changed since its handshake was cached: method %s "
                                  "is %s now; list it again and retry",
                                  p->name, c->method, now ? "different" : "gone"));
            c = next;
        }
    }
    p->hello_cached = 0;
    p->hello_stale = 0;
    if (h->cache && p->sha256[0] && (changed || strcmp(p->cache_sha256, p->sha256) != 0)) {
        write_entry(p, hello);
        snprintf(p->cache_sha256, sizeof p->cache_sha256, "%s", p->sha256);
    }
}

int ph_lazy_check(struct ph_plug *p)
{
    if (!p->hello_cached || p->hello_stale || p->state != PH_P_DOWN)
        return 0;
    struct stat st;
    if (lstat(p->file, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == p->file_dev &&
        st.st_ino == p->file_ino && st.st_size == p->file_size &&
        st.st_mtim.tv_sec == p->file_mtime.tv_sec && st.st_mtim.tv_nsec == p->file_mtime.tv_nsec &&
        st.st_ctim.tv_sec == p->file_ctime.tv_sec && st.st_ctim.tv_nsec == p->file_ctime.tv_nsec)
        return 0;
    p->hello_stale = 1;
    return 1;
}
