/*
 * load: loading plugins from files and directories, reloading a directory,
 * and listing what is loaded (ph_host_describe); a plugin's first process
 * is started here and its name indexed once its handshake is done.
 *
 * Every name in the plugin directory is hostile: it must never load a link
 * or a file it did not open itself (files.c), nor let a name reach a
 * report unescaped. It calls only down (host.c, pool.c, the instance
 * layer).
 */
#include "internal.h"
#include "lazy.h"
#include "load_window.h"
#include "jscan.h"
#include "schema.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* file made absolute (the loader works from "/") with its directory
 * resolved but not its last component: a symbolic link in the plugin
 * directory stays a link, which the host refuses to load, instead of
 * becoming whatever file it names. Malloc'ed, or NULL. */
static char *abs_path(const char *file)
{
    const char *slash = strrchr(file, '/');
    const char *base = slash ? slash + 1 : file;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return realpath(file, NULL);
    char *dir = slash ? strndup(file, slash == file ? 1 : (size_t)(slash - file)) : strdup(".");
    char *rdir = dir ? realpath(dir, NULL) : NULL;
    char *out = NULL;
    if (rdir && asprintf(&out, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base) < 0)
        out = NULL;
    free(dir);
    free(rdir);
    return out;
}

static struct ph_plug *plug_new(struct ph_host *h, const char *file)
{
    struct ph_plug *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->host = h;
    p->file = strcmp(file, "--probe") == 0 ? NULL : abs_path(file);
    if (!p->file)
        p->file = strdup(file);
    p->hostfn_calls = calloc(h->nfns ? h->nfns : 1, sizeof *p->hostfn_calls);
    p->pidfd = p->sock = p->notify_fd = p->file_fd = -1;
    p->initial = 1;
    p->head = p;
    if (!p->file || !p->hostfn_calls || ph_timers_adopt(&h->plug_timers) < 0) {
        ph_plug_free(p);
        return NULL;
    }
    return p;
}

/* Takes p out of h->plugs (rare: a refused or dropped plugin). */
static void plug_unlink(struct ph_host *h, struct ph_plug *p)
{
    struct ph_plug **pp = &h->plugs;
    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = p->next;
    if (h->plugs_tail == &p->next)
        h->plugs_tail = pp;
    p->next = NULL;
}

/* Ends (if running) and frees a plugin already unlinked from h->plugs. */
static void plug_destroy(struct ph_host *h, struct ph_plug *p)
{
    ph_pool_free(p);
    if (p->pidfd >= 0) {
        ph_plug_kill(p, PH_END_KILLED, NULL);
        ph_plug_on_exit(p);
    }
    /* Answers to its calls are delivered after it is gone: they must not
     * point at it then. */
    for (struct ph_call *c = h->done_head; c; c = c->next)
        if (c->pool == p) {
            p->ncalls--;
            c->plug = NULL;
            c->pool = NULL;
        }
    if (p->named)
        ph_htab_del(&h->plugs_by_name, &p->by_name);
    ph_timers_del(&h->plug_timers, &p->timer);
    ph_timers_release(&h->plug_timers);
    ph_plug_free(p);
}

static void record_load_error(struct ph_host *h, const char *file, json_t *error /* stolen */)
{
    json_array_append_new(h->load_errors, json_pack("{s:s,s:O}", "file", file, "error", error));
    ph_host_event(h,
                  json_pack("{s:s,s:s,s:o}", "type", "load_error", "file", file, "error", error));
}

/* Waits until every plugin in [first, end) finished loading, then keeps the
 * ones that succeeded and records the others as load errors. */
/* Whether a plugin lives in the file its name implies (NAME.so). */
static int own_file(const struct ph_plug *p)
{
    const char *base = strrchr(p->file, '/');
    base = base ? base + 1 : p->file;
    size_t n = strlen(p->name);
    return strncmp(base, p->name, n) == 0 && strcmp(base + n, ".so") == 0;
}

/* Waits until every plugin in list has finished loading (or died and been
 * reaped: one that broke the protocol right after its handshake is not
 * ready), then keeps the ones that succeeded and records the others as load
 * errors. A name is never taken over: a plugin whose name is already loaded
 * is refused; of new plugins claiming one name, the one in NAME.so wins and
 * the others are refused (all of them, when none is in NAME.so). */
static size_t starting(struct ph_plug **list, size_t n);

static int finish_loading(struct ph_host *h, struct ph_plug **list, size_t n, ph_error *err)
{
    for (;;) {
        if (starting(list, n) == 0)
            break;
        if (ph_host_process(h, -1, err) < 0)
            return -1;
    }
    const char **dup = calloc(n ? n : 1, sizeof *dup);
    /* Refused plugins are freed last: a later one's message may name the
     * file of an earlier one (dup[i] borrows it). */
    struct ph_plug **gone = calloc(n ? n : 1, sizeof *gone);
    if (!dup || !gone) {
        free(dup);
        free(gone);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        /* A cold plugin (lazy.c) is loaded: its hello is the cache's. */
        if (!p || (p->state != PH_P_READY && !p->hello_cached))
            continue;
        struct ph_plug *q = ph_host_find_plug(h, p->name);
        if (q)
            dup[i] = q->file; /* the name is taken already */
        for (size_t j = 0; j < n && !dup[i]; j++) {
            q = list[j];
            if (!q || q == p || !q->name || strcmp(q->name, p->name) != 0)
                continue;
            if ((q->state == PH_P_READY || q->hello_cached) && !(own_file(p) && !own_file(q)))
                dup[i] = q->file; /* only NAME.so may beat another claim */
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        if (!p)
            continue;
        if ((p->state == PH_P_READY || p->hello_cached) && !dup[i] &&
            ph_htab_add(&h->plugs_by_name, &p->by_name, ph_hash_str(p->name)) == 0) {
            p->named = 1;
            p->initial = 0;
            continue;
        }
        /* Unlink and record why. */
        plug_unlink(h, p);
        json_t *e;
        if (dup[i]) {
            e = ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                              "duplicate plugin name \"%s\" (also claimed by %s); refused", p->name,
                              dup[i]);
            ph_plug_kill(p, PH_END_KILLED, NULL);
            ph_plug_on_exit(p);
        } else if (p->state == PH_P_READY || p->hello_cached) {
            e = ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                              "out of memory");
        } else {
            e = json_incref(p->cause_data);
        }
        record_load_error(h, p->file, e);
        /* A refused plugin is not known by the name it claimed. */
        free(p->name);
        p->name = NULL;
        gone[i] = p;
        list[i] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (gone[i])
            plug_destroy(h, gone[i]);
    free(gone);
    free(dup);
    return 0;
}

static int spawn_new(struct ph_host *h, const char *file, struct ph_plug **out)
{
    struct ph_plug *p = plug_new(h, file);
    *out = NULL;
    if (!p)
        return -1;
    ph_error e;
    /* Lazy: a plugin whose hello is cached stays down (lazy.c). */
    int rc = h->lazy && ph_lazy_load_cold(p) ? PH_OK : ph_plug_spawn(p, &e);
    ph_pool_timer(h, p);
    if (rc < 0) {
        record_load_error(h, file,
                          ph_call_error(p, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                                        "%s", e.text));
        plug_destroy(h, p);
        return 0;
    }
    /* Appended, so listings follow the directory's sorted order. */
    *h->plugs_tail = p;
    h->plugs_tail = &p->next;
    *out = p;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A name every report can carry as it is: UTF-8 (which JSON needs) and no
 * control character (which a terminal would act on), C1 ones included
 * (U+0080..U+009F, encoded C2 80..C2 9F; U+009B is a CSI). */
static int printable_name(const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
            return 0;
    json_t *s = json_string(name);
    json_decref(s);
    return s != NULL;
}

/* An entry whose name cannot be reported is not loaded: its load error
 * names it escaped, once however often the directory is read. */
static void refuse_name(struct ph_host *h, const char *rdir, const char *name)
{
    char esc[4 * NAME_MAX + 40], *file = NULL;
    ph_wire_escape(name, strlen(name), esc, sizeof esc);
    if (asprintf(&file, "%s/%s", rdir, esc) < 0)
        return;
    size_t i;
    json_t *e;
    json_array_foreach(h->load_errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "file"));
        if (f && strcmp(f, file) == 0) {
            free(file);
            return;
        }
    }
    record_load_error(h, file,
                      ph_call_error(NULL, NULL, PH_RPC_PLUGIN_NOT_LOADED, PH_END_SETUP_ERROR, NULL,
                                    "%s: the file name is not printable UTF-8 (shown escaped "
                                    "here): rename it",
                                    file));
    free(file);
}

/* The plugin files in dir (names ending in ".so", not hidden), sorted so
 * that output and duplicate handling do not depend on the directory's
 * order. What each entry is, is not looked at here: a FIFO, a socket, a
 * device, a symbolic link or a huge file is refused, by name, when it is
 * opened (ph_files_open_regular), and is a load error like any other. */
static int scan_dir(struct ph_host *h, const char *dir, char ***out, size_t *count, ph_error *err)
{
    /* O_DIRECTORY refuses anything but a directory before opening it. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    *out = NULL;
    *count = 0;
    if (!d) {
        int e = errno;
        if (dfd >= 0)
            close(dfd);
        return ph_set_error(err, PH_E_SYSTEM, "cannot read plugin directory %s: %s", dir,
                            strerror(e));
    }
    char *rdir = realpath(dir, NULL);
    if (!rdir) {
        int e = errno;
        closedir(d);
        return ph_set_error(err, PH_E_SYSTEM, "cannot resolve %s: %s", dir, strerror(e));
    }
    char **files = NULL;
    size_t n = 0;
    struct dirent *de;
    int rc = PH_OK;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
            continue;
        /* A subdirectory named like a plugin is not an entry to load. */
        if (de->d_type == DT_DIR)
            continue;
        if (!printable_name(de->d_name)) {
            refuse_name(h, rdir, de->d_name);
            continue;
        }
        char *path;
        if (asprintf(&path, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", de->d_name) < 0) {
            rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            break;
        }
        char **nf = realloc(files, (n + 1) * sizeof *nf);
        if (!nf) {
            free(path);
            rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            break;
        }
        files = nf;
        files[n++] = path;
    }
    closedir(d);
    free(rdir);
    if (rc == PH_OK && n > 0) /* an empty directory has no array to sort */
        qsort(files, n, sizeof *files, by_name);
    *out = files;
    *count = n;
    return rc;
}

static void free_files(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* Starts files[i] for every i with want[i] (all when want is NULL), all at
 * once so that loading overlaps, and waits for them. */
/* How many plugins start at once. Starting a whole directory at once
 * makes every start slower (a thousand children contend for two cores,
 * each one's handshake clock running) and finishes later than a window
 * that keeps every core busy: each start is mostly CPU (exec, linking,
 * namespaces, confinement). Measured in docs/performance.md. */
static size_t load_window(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    size_t w = (size_t)cpus * 4;
    return w < 4 ? 4 : w > 64 ? 64 : w;
}

/* Plugins of list[0..n) still starting (or ending, not yet reaped). */
static size_t starting(struct ph_plug **list, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (list[i] &&
            (list[i]->state == PH_P_LOADING || (list[i]->cause != PH_END_NONE && list[i]->pid > 0)))
            k++;
    return k;
}

/* A start taking longer than this no longer holds its place in the
 * window: a plugin that stalls its handshake (until handshake_timeout_ms)
 * must not hold up the others. A normal start takes a few ms. */
#define PH_LOAD_STRAGGLER_NS (250ull * 1000000)

/* Plugins of list[0..n) still starting and younger than a straggler; *wake_ms
 * is when the oldest of them becomes one (-1: none). */
static size_t young_starting(struct ph_plug **list, size_t n, int *wake_ms)
{
    uint64_t now = ph_now_ns(), oldest = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct ph_plug *p = list[i];
        if (!p || p->state != PH_P_LOADING || now - p->spawn_ns >= PH_LOAD_STRAGGLER_NS)
            continue;
        k++;
        if (!oldest || p->spawn_ns < oldest)
            oldest = p->spawn_ns;
    }
    *wake_ms = oldest ? (int)((oldest + PH_LOAD_STRAGGLER_NS - now) / 1000000) + 1 : -1;
    return k;
}

static int load_files(struct ph_host *h, char **files, size_t n, const int *want, ph_error *err)
{
    int rc = PH_OK;
    struct ph_plug **list = calloc(n ? n : 1, sizeof *list);
    if (!list)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    size_t window = load_window(), next = 0;
    while (rc == PH_OK && next < n) {
        /* A scan of every start so far: microseconds for a thousand, next
         * to a millisecond per start. */
        int wait_ms = -1;
        size_t live = young_starting(list, next, &wait_ms);
        while (rc == PH_OK && next < n && live < window) {
            if ((!want || want[next]) && spawn_new(h, files[next], &list[next]) < 0)
                rc = ph_set_error(err, PH_E_NOMEM, "out of memory");
            else if (list[next] && list[next]->state == PH_P_LOADING)
                live++; /* a cold plugin (lazy.c) takes no place in the window */
            next++;
        }
        if (rc == PH_OK && next < n && live >= window &&
            ph_host_process(h, wait_ms < 0 ? (int)(PH_LOAD_STRAGGLER_NS / 1000000) : wait_ms, err) <
                0)
            rc = err ? err->status : PH_E_SYSTEM;
    }
    if (finish_loading(h, list, n, err) < 0)
        rc = err ? err->status : PH_E_SYSTEM;
    free(list);
    return rc;
}

int ph_host_load_dir(ph_host *h, const char *dir, ph_error *err)
{
    char **files;
    size_t n;
    int rc = scan_dir(h, dir, &files, &n, err);
    if (rc == PH_OK)
        rc = load_files(h, files, n, NULL, err);
    free_files(files, n);
    return rc;
}

/* Whether a plugin's file is still the one it was started from (lstat: a
 * link put in its place is a change). */
static int same_file(const struct ph_plug *p, const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == p->file_dev &&
           st.st_ino == p->file_ino && st.st_size == p->file_size &&
           st.st_mtim.tv_sec == p->file_mtime.tv_sec && st.st_mtim.tv_nsec == p->file_mtime.tv_nsec;
}

static void drop_plugin(struct ph_host *h, struct ph_plug *p, const char *why)
{
    if (p->pid > 0) {
        ph_plug_kill(p, PH_END_KILLED, json_pack("{s:s}", "reason", why));
        ph_plug_on_exit(p);
    }
    /* Calls queued for a plugin that was down are answered too. */
    for (struct ph_call *c = h->calls.next; c != &h->calls;) {
        struct ph_call *next = c->next;
        if (c->plug == p)
            ph_call_finish(h, c, NULL,
                           ph_call_error(p, c->method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_KILLED,
                                         NULL, "plugin %s was %s", p->name, why));
        c = next;
    }
    plug_unlink(h, p);
    ph_host_event(h,
                  json_pack("{s:s,s:s,s:s}", "type", "unloaded", "plugin", p->name, "reason", why));
    plug_destroy(h, p);
    ph_arm_timer(h);
}

int ph_host_reload_dir(ph_host *h, const char *dir, ph_error *err)
{
    char **files;
    size_t n;
    int rc = scan_dir(h, dir, &files, &n, err);
    char *rdir = rc == PH_OK ? realpath(dir, NULL) : NULL;
    int *want = rc == PH_OK ? calloc(n ? n : 1, sizeof *want) : NULL;
    char **real = rc == PH_OK ? calloc(n ? n : 1, sizeof *real) : NULL;
    if (rc == PH_OK && (!rdir || !want || !real))
        rc = ph_set_error(err, PH_E_SYSTEM, "cannot resolve %s: %s", dir, strerror(errno));
    for (size_t i = 0; rc == PH_OK && i < n; i++) {
        real[i] = abs_path(files[i]);
        want[i] = 1;
    }
    /* Removed or changed files: their plugins stop; changed ones start
     * again below as new (their name may have changed too). Untouched
     * plugins keep running. */
    size_t rlen = rdir ? strlen(rdir) : 0;
    for (struct ph_plug *p = h->plugs; rc == PH_OK && p;) {
        struct ph_plug *next = p->next;
        if (strncmp(p->file, rdir, rlen) != 0 || p->file[rlen] != '/' ||
            strchr(p->file + rlen + 1, '/')) {
            p = next;
            continue;
        }
        size_t i = 0;
        while (i < n && (!real[i] || strcmp(real[i], p->file) != 0))
            i++;
        if (i == n)
            drop_plugin(h, p, "removed from the directory");
        else if (!same_file(p, real[i]))
            drop_plugin(h, p, "reloaded: its file changed");
        else
            want[i] = 0;
        p = next;
    }
    if (rc == PH_OK) {
        /* Earlier load errors of these files are replaced by this attempt. */
        for (size_t i = json_array_size(h->load_errors); i-- > 0;) {
            const char *f =
                json_string_value(json_object_get(json_array_get(h->load_errors, i), "file"));
            for (size_t k = 0; f && k < n; k++)
                if (want[k] && real[k] && strcmp(real[k], f) == 0) {
                    json_array_remove(h->load_errors, i);
                    break;
                }
        }
        rc = load_files(h, files, n, want, err);
    }
    for (size_t i = 0; real && i < n; i++)
        free(real[i]);
    free(real);
    free(want);
    free(rdir);
    free_files(files, n);
    return rc;
}

int ph_host_load_file(ph_host *h, const char *path, const char **name_out, ph_error *err)
{
    struct ph_plug *p;
    size_t before = json_array_size(h->load_errors);
    if (spawn_new(h, path, &p) < 0)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    if (p && finish_loading(h, &p, 1, err) < 0)
        return err ? err->status : PH_E_SYSTEM;
    if (!p) {
        json_t *e = json_object_get(json_array_get(h->load_errors, before), "error");
        const char *m = json_string_value(json_object_get(e, "message"));
        return ph_set_error(err, PH_E_PLUGIN, "%s: %s", path, m ? m : "failed to load");
    }
    if (name_out)
        *name_out = p->name;
    return PH_OK;
}

json_t *ph_host_describe(ph_host *h)
{
    json_t *plugins = json_array();
    for (struct ph_plug *p = h->plugs; p; p = p->next) {
        /* Lazy: a cold plugin whose file changed is started to learn its
         * hello, which is left out until then (lazy.c). */
        if (ph_lazy_check(p))
            ph_host_restart(h, p);
        json_t *o = json_pack("{s:s?,s:s,s:s,s:i,s:i}", "name", p->name, "file", p->file, "state",
                              p->state == PH_P_READY     ? "ready"
                              : p->state == PH_P_LOADING ? "loading"
                                                         : "down",
                              "pid", (int)p->pid, "restarts", (int)p->restarts);
        if (!o)
            continue;
        json_t *hello = p->hello_stale ? NULL : p->hello;
        if (h->cache)
            json_object_set_new(
                o, "cold",
                json_boolean(p->hello_cached && p->state == PH_P_DOWN && !p->cause_data));
        const char *keys[] = {"version", "description", "methods", "protocol"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (json_object_get(hello, keys[i]))
                json_object_set(o, keys[i], json_object_get(hello, keys[i]));
        if (p->sha256[0])
            json_object_set_new(o, "sha256", json_string(p->sha256));
        if (h->pins && p->hello)
            json_object_set_new(o, "pin", json_string(p->pin_blocked ? "changed" : "ok"));
        if (p->pin_blocked)
            json_object_set_new(o, "pin_changes",
                                p->pin_changes ? json_incref(p->pin_changes)
                                               : json_pack("[s]", "could not be compared"));
        if (p->layers) {
            /* The loader's record, and the cgroup the host made. */
            json_t *layers = json_copy(p->layers);
            if (layers && p->cg.layer)
                json_object_set(layers, "cgroup", p->cg.layer);
            json_object_set_new(o, "layers", layers);
        }
        if (p->audit)
            json_object_set(o, "audit", p->audit);
        if (p->ready_ns > p->spawn_ns)
            json_object_set_new(o, "spawn_us",
                                json_integer((json_int_t)((p->ready_ns - p->spawn_ns) / 1000)));
        json_t *stages = p->state == PH_P_READY ? ph_plug_spawn_stages(p) : NULL;
        if (stages)
            json_object_set_new(o, "spawn_stages_us", stages);
        json_object_set_new(o, "instances", ph_pool_describe(p));
        json_object_set_new(o, "max_instances", json_integer(ph_pool_size(p)));
        json_array_append_new(plugins, o);
    }
    json_t *fns = json_array();
    for (size_t i = 0; i < h->nfns; i++)
        json_array_append_new(fns, json_string(h->fns[i].name));
    return json_pack("{s:o,s:O,s:o,s:b}", "plugins", plugins, "errors", h->load_errors,
                     "host_functions", fns, "lazy", h->lazy);
}
