/*
 * replay: `plughost replay TRANSCRIPT [--plugins DIR | PLUGIN.so...]` runs
 * the traffic of a recorded run (ph_host_record) against a new build of
 * its plugins and reports every difference, so real traffic can be a
 * regression test in CI.
 *
 * A plugin may have run as several processes at once (a pool, spares,
 * isolate "call" or "client"), each with its own stream of messages in the
 * transcript ("proc"). Each recorded process is replayed on its own, one
 * after another, against a fresh process of the new build in a host of its
 * own that runs the plugin as one process (the configuration's pool
 * settings are dropped): what a process answers depends only on the calls
 * it was sent and the host's answers to it, both in its stream, so
 * replaying each stream alone is faithful to each, and which process the
 * new host would have picked for a call never enters into it.
 *
 * Within a stream, the calls and cancellations the host sent are sent
 * again in the recorded order, keeping the recording's pattern of calls in
 * flight: a message waits until every call the recording had answered
 * before it is answered again. The plugins' host-function calls are
 * answered from the recording. The new run is itself recorded (into a
 * memfd) and compared with the recorded stream by transcript.c, so both
 * sides are seen the same way.
 *
 * It must never run anything the recording did not ask for, and never
 * trust the transcript (transcript.c checks every line).
 */
#include "cli.h"
#include "log.h"
#include "text.h"
#include "transcript.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exit codes of replay (documented in docs/clients.md). */
enum { REPLAY_SAME = 0, REPLAY_DIFFERENT = 1 };

struct slot {
    uint64_t call_id;
    int started, done, cancelled;
    const char *plugin; /* borrowed from the transcript */
    json_t *hostq;      /* borrowed: the recorded host calls made serving it */
};

/* One recorded process's stream, replayed. */
struct replay {
    ph_host *host;
    /* "plugin/proc/id" of a recorded call (or "plugin/outside") -> array of
     * the host calls the plugin made while serving it, {method, params,
     * answer}, in order. */
    json_t *hostcalls;
    struct slot *slots; /* one per recorded call */
    json_t *slot_of;    /* "plugin/proc/id" -> index in slots */
    size_t nslots;
    size_t lo; /* slots before this are answered and owe no host call */
    /* Calls the recording had answered by now that may not be answered
     * again yet; pruned as they are, so each wait costs what is pending. */
    size_t *waitq, nwait;
};

static void on_done(void *ud, uint64_t call_id, json_t *result, json_t *error)
{
    (void)call_id;
    (void)result;
    (void)error;
    ((struct slot *)ud)->done = 1;
}

/* The next recorded host call of q if it is this one: same method and
 * params ("no params" and null are the same on the wire). */
static int next_is(json_t *q, const char *method, json_t *params)
{
    json_t *next = json_array_get(q, 0);
    json_t *want = json_object_get(next, "params");
    if (json_is_null(want))
        want = NULL;
    return next && strcmp(json_string_value(json_object_get(next, "method")), method) == 0 &&
           ((!want && !params) || (want && params && json_equal(want, params)));
}

static int answer_from(json_t *q, json_t **result, json_t **error)
{
    json_t *answer = json_object_get(json_array_get(q, 0), "answer");
    json_t *res = json_object_get(answer, "result");
    int rc = 0;
    if (res) {
        *result = json_incref(res);
    } else {
        json_t *e = json_object_get(answer, "error");
        *error = e ? json_incref(e)
                   : json_pack("{s:i,s:s}", "code", PH_RPC_INTERNAL_ERROR, "message",
                               "replay: the recording has no answer to this host call");
        rc = -1;
    }
    json_array_remove(q, 0);
    return rc;
}

/* A host function call of the new build, answered with what the recording
 * answered to the same call made while serving the same call of ours: the
 * calls the plugin may be serving now are those not answered yet (and
 * cancelled ones, answered at once but perhaps still running). Matching
 * per call keeps one changed call from shifting every later answer. */
static int answer_host_call(void *ud, const char *plugin, const char *method, json_t *params,
                            json_t **result, json_t **error)
{
    struct replay *r = ud;
    if (json_is_null(params))
        params = NULL;
    while (r->lo < r->nslots) {
        struct slot *s = &r->slots[r->lo];
        if (s->started && (!s->done || (s->cancelled && json_array_size(s->hostq))))
            break;
        r->lo++;
    }
    for (size_t i = r->lo; i < r->nslots; i++) {
        struct slot *s = &r->slots[i];
        if (s->started && (!s->done || s->cancelled) && strcmp(s->plugin, plugin) == 0 &&
            next_is(s->hostq, method, params))
            return answer_from(s->hostq, result, error);
    }
    char key[128];
    snprintf(key, sizeof key, "%s/outside", plugin);
    json_t *q = json_object_get(r->hostcalls, key);
    if (next_is(q, method, params))
        return answer_from(q, result, error);
    *error = json_pack("{s:i,s:s,s:{s:s,s:O?}}", "code", PH_RPC_INTERNAL_ERROR, "message",
                       "replay: this host function call is not in the recording", "data",
                       "host_function", method, "params", params);
    return -1;
}

/* "plugin/proc/id" of a message line, as drive() names calls. */
static void call_key(char *out, size_t len, const char *plugin, json_t *line, json_t *id)
{
    char *ids = json_dumps(id, JSON_ENCODE_ANY);
    snprintf(out, len, "%s/%lld/%s", plugin,
             (long long)json_integer_value(json_object_get(line, "proc")), ids ? ids : "");
    free(ids);
}

/* The recorded host calls and their answers, grouped by the call of ours
 * the plugin was serving: the oldest of its process not answered yet
 * (transcript.c attributes messages the same way). */
static json_t *collect_hostcalls(json_t *t, json_t *names)
{
    json_t *out = json_object(), *asked = json_object(), *inflight = json_object(), *l;
    size_t i;
    json_array_foreach(json_object_get(t, "lines"), i, l)
    {
        const char *plugin = ph_tr_plugin_of(l, names);
        json_t *msg = json_object_get(l, "msg");
        json_t *id = json_object_get(msg, "id");
        if (!plugin || !msg || !id)
            continue;
        const char *method = json_string_value(json_object_get(msg, "method"));
        int from = strcmp(json_string_value(json_object_get(l, "dir")), "from_plugin") == 0;
        char key[192], pid[32];
        call_key(key, sizeof key, plugin, l, id);
        snprintf(pid, sizeof pid, "%lld",
                 (long long)json_integer_value(json_object_get(l, "proc")));
        json_t *fifo = json_object_get(inflight, pid);
        if (!fifo) {
            fifo = json_array();
            json_object_set_new(inflight, pid, fifo);
        }
        if (!from && method) {
            if (strncmp(method, "ph.", 3) != 0 && strncmp(method, "$/", 2) != 0)
                json_array_append_new(fifo, json_string(key)); /* a call of ours */
        } else if (from && !method) {
            size_t k;
            json_t *e;
            json_array_foreach(fifo, k, e)
            {
                if (strcmp(json_string_value(e), key) == 0) {
                    json_array_remove(fifo, k);
                    break;
                }
            }
        } else if (from && method) {
            char owner[192];
            const char *serving = json_string_value(json_array_get(fifo, 0));
            if (serving)
                snprintf(owner, sizeof owner, "%s", serving);
            else
                snprintf(owner, sizeof owner, "%s/outside", plugin);
            json_t *q = json_object_get(out, owner);
            if (!q) {
                q = json_array();
                json_object_set_new(out, owner, q);
            }
            json_t *call =
                json_pack("{s:s,s:O?}", "method", method, "params", json_object_get(msg, "params"));
            json_array_append(q, call);
            json_object_set_new(asked, key, call);
        } else {
            json_t *call = json_object_get(asked, key);
            if (call) {
                json_t *answer = json_deep_copy(msg);
                json_object_del(answer, "jsonrpc");
                json_object_del(answer, "id");
                json_object_set_new(call, "answer", answer);
                json_object_del(asked, key);
            }
        }
    }
    json_decref(asked);
    json_decref(inflight);
    return out;
}

static int wait_until(struct replay *r, int (*ready)(struct replay *, void *), void *arg,
                      unsigned timeout_ms)
{
    ph_error err;
    /* A deadline, not a count of turns: ph_host_process returns early on
     * every event, so a chatty plugin would otherwise use the time up. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long deadline = now.tv_sec * 1000LL + now.tv_nsec / 1000000 + timeout_ms;
    while (!ready(r, arg)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long left = deadline - (now.tv_sec * 1000LL + now.tv_nsec / 1000000);
        if (left <= 0)
            return -1;
        if (ph_host_process(r->host, left < 50 ? (int)left : 50, &err) < 0) {
            ph_clog_msg("error", "host", NULL, "%s", err.text);
            return -1;
        }
    }
    return 0;
}

/* Every call in waitq is done. */
static int all_done(struct replay *r, void *arg)
{
    (void)arg;
    size_t kept = 0;
    for (size_t i = 0; i < r->nwait; i++) {
        struct slot *s = &r->slots[r->waitq[i]];
        if (s->started && !s->done)
            r->waitq[kept++] = r->waitq[i];
    }
    r->nwait = kept;
    return kept == 0;
}

static int everything_done(struct replay *r, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].started && !r->slots[i].done)
            return 0;
    return 1;
}

/* The plugin's entry in ph_host_describe(), or NULL. Borrowed. */
static json_t *loaded(json_t *desc, const char *plugin)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(desc, "plugins"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, plugin) == 0)
            return p;
    }
    return NULL;
}

/* The sha256 the transcript gives plugin's file at its first start, or NULL. */
static const char *recorded_sha(json_t *t, const char *plugin)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(json_object_get(t, "header"), "plugins"), i, l)
    {
        if (json_is_string(json_object_get(l, "plugin")) &&
            strcmp(json_string_value(json_object_get(l, "plugin")), plugin) == 0)
            return json_string_value(json_object_get(l, "sha256"));
    }
    json_array_foreach(json_object_get(t, "lines"), i, l)
    {
        if (json_object_get(l, "type") &&
            strcmp(json_string_value(json_object_get(l, "plugin")), plugin) == 0)
            return json_string_value(json_object_get(l, "sha256"));
    }
    return NULL;
}

/* Sends the recorded calls of one process's stream (t) to plugin again;
 * returns 0, or -1 on a host failure. */
static int drive(struct replay *r, json_t *t, json_t *names, const char *wanted, unsigned wait_ms)
{
    json_t *l;
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(t, "lines"), i, l)
    {
        const char *plugin = ph_tr_plugin_of(l, names);
        json_t *msg = json_object_get(l, "msg");
        if (!plugin || !msg || strcmp(plugin, wanted) != 0)
            continue;
        const char *method = json_string_value(json_object_get(msg, "method"));
        json_t *id = json_object_get(msg, "id");
        int to = strcmp(json_string_value(json_object_get(l, "dir")), "to_plugin") == 0;
        char key[192];
        call_key(key, sizeof key, plugin, l,
                 id ? id : json_object_get(json_object_get(msg, "params"), "id"));
        if (!to) {
            /* An answer to one of the host's calls: later messages wait for
             * it, as they did when recorded. */
            json_t *slot = method ? NULL : json_object_get(r->slot_of, key);
            if (slot)
                r->waitq[r->nwait++] = (size_t)json_integer_value(slot);
            continue;
        }
        if (!method || strncmp(method, "ph.", 3) == 0)
            continue;
        int cancel = strcmp(method, "$/cancelRequest") == 0;
        if (!cancel && (!id || strncmp(method, "$/", 2) == 0))
            continue;
        if (wait_until(r, all_done, NULL, wait_ms) < 0)
            ph_clog_msg("error", "host", NULL,
                        "replay: answers still missing after %u ms; going on", wait_ms);
        if (cancel) {
            json_t *slot = json_object_get(r->slot_of, key);
            struct slot *s = slot ? &r->slots[json_integer_value(slot)] : NULL;
            if (s && s->started && !s->done) {
                s->cancelled = 1;
                ph_host_cancel(r->host, s->call_id);
            }
            continue;
        }
        size_t n = r->nslots++;
        json_object_set_new(r->slot_of, key, json_integer((json_int_t)n));
        struct slot *s = &r->slots[n];
        s->plugin = plugin;
        s->hostq = json_object_get(r->hostcalls, key);
        ph_error err;
        if (ph_host_call_async(r->host, plugin, method, json_object_get(msg, "params"), on_done, s,
                               &s->call_id, &err) < 0) {
            /* Refused before reaching the plugin: the comparison reports
             * the call as not sent; say why here. */
            ph_clog_msg("error", "host", NULL, "replay: %s.%s not sent: %s", plugin, method,
                        err.text);
            continue;
        }
        s->started = 1;
    }
    if (wait_until(r, everything_done, NULL, wait_ms) < 0) {
        ph_clog_msg("error", "host", NULL, "replay: calls still unanswered after %u ms", wait_ms);
        rc = -1;
    }
    return rc;
}

static json_t *read_back(int fd, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whylen, "replay: fstat: %s", strerror(errno));
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len ? len : 1);
    if (!buf) {
        snprintf(why, whylen, "replay: out of memory");
        return NULL;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = pread(fd, buf + off, len - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            snprintf(why, whylen, "replay: reading the new transcript: %s",
                     n < 0 ? strerror(errno) : "short");
            return NULL;
        }
        off += (size_t)n;
    }
    json_t *t = ph_tr_parse(buf, len, "(new run)", why, whylen);
    free(buf);
    return t;
}

/* The options of a host that runs every plugin as one process, started at
 * once: the configuration without its pool settings (defaults and per
 * plugin), and none given by the caller. config gets the copy (owned). */
static ph_host_options single_process(const ph_host_options *in, json_t **config)
{
    static const char *const pool_keys[] = {"instances", "spares", "isolate", "idle_stop_ms"};
    ph_host_options o = *in;
    *config = in->config ? json_deep_copy(in->config) : NULL;
    const char *k;
    json_t *entry;
    for (size_t i = 0; i < sizeof pool_keys / sizeof pool_keys[0]; i++) {
        json_object_del(json_object_get(*config, "defaults"), pool_keys[i]);
        json_object_foreach(json_object_get(*config, "plugins"), k, entry)
            json_object_del(entry, pool_keys[i]);
    }
    o.config = *config;
    o.instances = 1;
    o.spares = 0;
    o.isolate = PH_ISOLATE_NONE;
    /* A process with no call in the recording still shows its handshake. */
    o.activation = PH_ACTIVATION_EAGER;
    return o;
}

/* Replays one recorded process (an element of ph_tr_processes) against a
 * fresh process of the plugin file path, in a host of its own. Returns the
 * differences (new reference; NULL on a failure, said on stderr); *calls
 * gets the count of calls sent, *failed whether calls were left unanswered. */
static json_t *replay_process(const ph_host_options *opts, json_t *rec, json_t *names,
                              json_t *process, const char *path,
                              const struct ph_tr_diff_opts *dopts, unsigned wait_ms, size_t *calls,
                              int *failed)
{
    const char *plugin = json_string_value(json_object_get(process, "plugin"));
    json_t *stream = ph_tr_only(rec, json_integer_value(json_object_get(process, "proc")));
    size_t nlines = json_array_size(json_object_get(stream, "lines"));
    struct replay r = {0};
    r.slots = calloc(nlines + 1, sizeof *r.slots);
    r.waitq = calloc(nlines + 1, sizeof *r.waitq);
    r.slot_of = json_object();
    r.hostcalls = stream ? collect_hostcalls(stream, names) : NULL;
    int mfd = memfd_create("plughost-replay", MFD_CLOEXEC);
    json_t *now = NULL, *diff = NULL;
    char why[1024];
    ph_error err;
    if (!stream || !r.slots || !r.waitq || !r.slot_of || !r.hostcalls) {
        ph_clog_msg("error", "host", NULL, "replay: out of memory");
        goto out;
    }
    if (mfd < 0) {
        ph_clog_msg("error", "host", NULL, "replay: memfd_create: %s", strerror(errno));
        goto out;
    }
    if (ph_host_new(opts, &r.host, &err) < 0 || ph_host_record(r.host, mfd, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "replay: %s", err.text);
        goto out;
    }
    ph_host_set_event_handler(r.host, ph_cli_print_event, NULL);
    ph_host_intercept_functions(r.host, answer_host_call, &r);
    /* A failure is the comparison's to report: every call "not sent". */
    if (ph_host_load_file(r.host, path, NULL, &err) < 0)
        ph_clog_msg("error", "host", NULL, "replay: %s", err.text);
    if (drive(&r, stream, names, plugin, wait_ms) < 0)
        *failed = 1;
    ph_host_free(r.host);
    r.host = NULL;
    now = read_back(mfd, why, sizeof why);
    if (!now) {
        ph_clog_msg("error", "host", NULL, "%s", why);
        goto out;
    }
    diff = ph_tr_diff(rec, process, now, dopts);
    if (!diff)
        ph_clog_msg("error", "host", NULL, "replay: out of memory comparing");
    for (size_t j = 0; j < r.nslots; j++)
        *calls += r.slots[j].started;
out:
    if (r.host)
        ph_host_free(r.host);
    if (mfd >= 0)
        close(mfd);
    json_decref(now);
    json_decref(stream);
    json_decref(r.slot_of);
    json_decref(r.hostcalls);
    free(r.slots);
    free(r.waitq);
    return diff;
}

static const char replay_usage[] =
    "usage: plughost replay TRANSCRIPT [--plugins DIR | PLUGIN.so...] [--ignore PATH]...\n"
    "                       [--ignore-handshake] [--require-all] [--json]\n";

int ph_cli_replay(const struct ph_cli_opts *o, int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    const char **ignore = calloc((size_t)argc + 1, sizeof *ignore);
    char **files = calloc((size_t)argc + 1, sizeof *files);
    size_t nignore = 0, nfiles = 0;
    int ignore_handshake = 0, require_all = 0, rc = PH_EXIT_HOST;
    if (!ignore || !files) {
        free(ignore);
        free(files);
        return PH_EXIT_HOST;
    }
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "--ignore") == 0 || strcmp(argv[i], "--plugins") == 0) &&
            i + 1 < argc) {
            if (argv[i][2] == 'i')
                ignore[nignore++] = argv[++i];
            else
                dir = argv[++i];
        } else if (strcmp(argv[i], "--ignore-handshake") == 0) {
            ignore_handshake = 1;
        } else if (strcmp(argv[i], "--require-all") == 0) {
            require_all = 1;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            ph_clog_msg("error", "host", NULL, "replay: unknown option %s", argv[i]);
            fputs(replay_usage, stderr);
            free(ignore);
            free(files);
            return PH_EXIT_USAGE;
        } else if (!file) {
            file = argv[i];
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (!file || (dir && nfiles) || (!dir && !nfiles)) {
        fputs(replay_usage, stderr);
        free(ignore);
        free(files);
        return PH_EXIT_USAGE;
    }
    char why[1024];
    json_t *rec = ph_tr_load(file, why, sizeof why);
    if (!rec) {
        ph_clog_msg("error", "host", NULL, "replay: %s", why);
        free(ignore);
        free(files);
        return PH_EXIT_HOST;
    }
    json_t *names = ph_tr_names(rec);
    json_t *procs = ph_tr_processes(rec);
    json_t *config = NULL;
    ph_host_options single = single_process(&o->host, &config);
    ph_host *survey = NULL;
    ph_error err;
    /* Plugin name -> the file of the new build that provides it. */
    json_t *live = json_object(), *diff = json_array(), *desc = NULL;
    if (!names || !procs || !live || !diff || (o->host.config && !config)) {
        ph_clog_msg("error", "host", NULL, "replay: out of memory");
        goto out;
    }
    /* Which new file provides which recorded plugin: loaded once here, then
     * each recorded process gets a fresh process of that file. */
    if (ph_host_new(&single, &survey, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "replay: %s", err.text);
        goto out;
    }
    ph_host_set_event_handler(survey, ph_cli_print_event, NULL);
    /* A recording host hashes each file as it loads it: the sha256 that
     * tells the recorded build from another. Nothing here reads it back. */
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0 || ph_host_record(survey, null_fd, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "replay: %s", null_fd < 0 ? strerror(errno) : err.text);
        if (null_fd >= 0)
            close(null_fd);
        goto out;
    }
    close(null_fd);
    for (size_t i = 0; i < nfiles; i++)
        if (ph_host_load_file(survey, files[i], NULL, &err) < 0)
            ph_clog_msg("error", "host", NULL, "replay: %s", err.text);
    if (dir && ph_cli_load(survey, dir, &err) < 0 && err.status != PH_E_PLUGIN) {
        ph_clog_msg("error", "host", NULL, "replay: %s", err.text);
        goto out;
    }
    desc = ph_host_describe(survey);
    ph_host_free(survey);
    survey = NULL;
    int missing = 0;
    const char *fname;
    json_t *pname;
    json_t *seen = json_object();
    json_object_foreach(names, fname, pname)
    {
        const char *n = json_string_value(pname);
        if (json_object_get(seen, n))
            continue;
        json_object_set_new(seen, n, json_true());
        json_t *entry = loaded(desc, n);
        if (entry && json_is_string(json_object_get(entry, "file"))) {
            json_object_set(live, n, json_object_get(entry, "file"));
            /* Which build is which, for the log of a CI run. */
            const char *was = recorded_sha(rec, n);
            const char *is = json_string_value(json_object_get(entry, "sha256"));
            if (was && is && strcmp(was, is) != 0)
                ph_clog_msg("info", "host", NULL,
                            "replay: %s: another build (sha256 %.12s... recorded, %.12s... "
                            "now)",
                            n, was, is);
            else if (was && is)
                ph_clog_msg("info", "host", NULL,
                            "replay: %s: the recorded build (sha256 %.12s...)", n, is);
        } else {
            missing++;
            ph_clog_msg("error", "host", NULL, "replay: %s (recorded from %s) is not loaded; %s", n,
                        fname, require_all ? "failing (--require-all)" : "skipped");
        }
    }
    json_decref(seen);
    if ((missing && require_all) || json_object_size(live) == 0) {
        /* Replaying nothing would prove nothing. */
        if (json_object_size(live) == 0)
            ph_clog_msg("error", "host", NULL, "replay: none of the recorded plugins is loaded");
        rc = PH_EXIT_NOT_FOUND;
        goto out;
    }
    unsigned wait_ms = (o->host.call_timeout_ms ? o->host.call_timeout_ms : 30000) + 1000;
    struct ph_tr_diff_opts dopts = {ignore, nignore, ignore_handshake};
    size_t calls = 0, nprocs = 0, unstarted = 0, i;
    int failed = 0;
    json_t *proc;
    json_array_foreach(procs, i, proc)
    {
        const char *n = json_string_value(json_object_get(proc, "plugin"));
        const char *path = n ? json_string_value(json_object_get(live, n)) : NULL;
        if (!n)
            ph_clog_msg("info", "host", NULL,
                        "replay: process %lld of %s never named its plugin; not replayed",
                        (long long)json_integer_value(json_object_get(proc, "proc")),
                        json_string_value(json_object_get(proc, "file")));
        if (!path)
            continue;
        /* Stopped while starting (a spare ended with the host): nothing it
         * did can be compared, and a fresh process would only add its
         * start. */
        if (!json_is_true(json_object_get(proc, "handshake")) &&
            json_integer_value(json_object_get(proc, "calls")) == 0) {
            unstarted++;
            continue;
        }
        json_t *d =
            replay_process(&single, rec, names, proc, path, &dopts, wait_ms, &calls, &failed);
        if (!d)
            goto out;
        json_array_extend(diff, d);
        json_decref(d);
        nprocs++;
    }
    json_t *e;
    json_array_foreach(diff, i, e)
    {
        char line[1024];
        if (o->json) {
            ph_text_print_json(stdout, e, JSON_COMPACT);
        } else {
            ph_text_print(stdout, "%s", ph_tr_format(e, line, sizeof line));
        }
    }
    if (unstarted)
        ph_clog_msg("info", "host", NULL,
                    "replay: %zu process(es) neither finished a handshake nor got a call in the "
                    "recording (stopped while starting): nothing of theirs to replay",
                    unstarted);
    ph_clog_msg("info", "replayed", NULL,
                "replay: %zu call(s) to %zu plugin(s) in %zu process(es), %zu difference(s)", calls,
                json_object_size(live), nprocs, json_array_size(diff));
    rc = json_array_size(diff) ? REPLAY_DIFFERENT : failed ? PH_EXIT_HOST : REPLAY_SAME;
out:
    if (survey)
        ph_host_free(survey);
    json_decref(desc);
    json_decref(diff);
    json_decref(live);
    json_decref(config);
    json_decref(procs);
    json_decref(names);
    json_decref(rec);
    free(ignore);
    free(files);
    return rc;
}
