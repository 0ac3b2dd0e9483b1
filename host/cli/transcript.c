/*
 * transcript: reads transcripts back and compares two of them (see
 * transcript.h). The comparison is per process (a transcript's `proc`):
 * what one recorded process did against what a fresh process of the new
 * build did with the same calls. It works on "episodes": a call the host
 * sent a process, and everything the process sent while serving it. A
 * plugin process serves its calls one at a time in the order they came,
 * so a message that is not an answer or a progress report (which name
 * their call) belongs to the oldest call of that process not yet answered.
 *
 * It must never trust a line: every field is checked for its type before
 * use, and a bad line is an error naming its line number, never a crash.
 */
#include "transcript.h"
#include "text.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* host/record.c writes this version; other versions are refused. */
#define PH_TRANSCRIPT_VERSION 2

/* A pool's slots are 0..63 (PH_MAX_INSTANCES); process numbers are
 * bounded so they print and compare as plain integers. */
#define PH_TR_MAX_SLOT 63
#define PH_TR_MAX_PROC 2147483647

static void say(char *why, size_t whylen, const char *name, size_t line, const char *what)
{
    snprintf(why, whylen, "%s:%zu: %s", name, line, what);
}

static int in_range(json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* Which process a line belongs to: an integer "slot" and "proc". */
static const char *check_process(json_t *v)
{
    if (!in_range(json_object_get(v, "slot"), 0, PH_TR_MAX_SLOT))
        return "no integer \"slot\" from 0 to 63";
    if (!in_range(json_object_get(v, "proc"), 1, PH_TR_MAX_PROC))
        return "no positive integer \"proc\"";
    return NULL;
}

static const char *check_line(json_t *v, size_t lineno)
{
    if (!json_is_object(v))
        return "not a JSON object";
    if (!json_is_integer(json_object_get(v, "seq")))
        return "no integer \"seq\"";
    json_t *type = json_object_get(v, "type");
    if (type) {
        if (!json_is_string(type) || strcmp(json_string_value(type), "plugin") != 0)
            return "unknown \"type\"";
        if (!json_is_string(json_object_get(v, "plugin")) ||
            !json_is_string(json_object_get(v, "file")))
            return "a plugin line needs string \"plugin\" and \"file\"";
        if (!json_is_integer(json_object_get(v, "pid")))
            return "no integer \"pid\"";
        return check_process(v);
    }
    const char *dir = json_string_value(json_object_get(v, "dir"));
    if (!dir || (strcmp(dir, "to_plugin") != 0 && strcmp(dir, "from_plugin") != 0))
        return "\"dir\" must be \"to_plugin\" or \"from_plugin\"";
    if (!json_is_string(json_object_get(v, "file")))
        return "no string \"file\"";
    json_t *p = json_object_get(v, "plugin");
    if (p && !json_is_string(p) && !json_is_null(p))
        return "\"plugin\" must be a string or null";
    if (!json_is_integer(json_object_get(v, "pid")))
        return "no integer \"pid\"";
    if (!json_is_object(json_object_get(v, "msg")) && !json_is_string(json_object_get(v, "bad")))
        return "no \"msg\" object";
    (void)lineno;
    return check_process(v);
}

/* Every line of one process names the same slot, pid, file and (once
 * known) plugin: procs maps each proc to what its first line said. A
 * transcript where they disagree cannot be taken apart into streams, and
 * is refused rather than mis-paired. */
static int consistent(json_t *procs, json_t *v, char *what, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(v, "proc")));
    json_t *slot = json_object_get(v, "slot"), *pid = json_object_get(v, "pid");
    json_t *file = json_object_get(v, "file"), *plugin = json_object_get(v, "plugin");
    json_t *was = json_object_get(procs, key);
    if (!was) {
        json_object_set_new(procs, key,
                            json_pack("{s:O,s:O,s:O,s:O?}", "slot", slot, "pid", pid, "file", file,
                                      "plugin", json_is_string(plugin) ? plugin : NULL));
        return 0;
    }
    const char *differs = !json_equal(json_object_get(was, "slot"), slot)   ? "slot"
                          : !json_equal(json_object_get(was, "pid"), pid)   ? "pid"
                          : !json_equal(json_object_get(was, "file"), file) ? "file"
                                                                            : NULL;
    json_t *named = json_object_get(was, "plugin");
    if (!json_is_string(named))
        named = NULL;
    if (!differs && json_is_string(plugin) && named && !json_equal(named, plugin))
        differs = "plugin";
    if (differs) {
        snprintf(what, len, "process %s has another \"%s\" than on its earlier lines", key,
                 differs);
        return -1;
    }
    if (!named && json_is_string(plugin))
        json_object_set(was, "plugin", plugin);
    return 0;
}

json_t *ph_tr_parse(const char *buf, size_t len, const char *name, char *why, size_t whylen)
{
    json_t *lines = json_array(), *header = NULL, *procs = json_object();
    size_t lineno = 0, off = 0;
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        lineno++;
        if (n == 0) {
            off += 1;
            continue;
        }
        json_error_t je;
        json_t *v = json_loadb(buf + off, n, JSON_REJECT_DUPLICATES, &je);
        off += n + (nl ? 1 : 0);
        if (!v) {
            char what[256];
            snprintf(what, sizeof what, "not JSON: %s (column %d)", je.text, je.column);
            say(why, whylen, name, lineno, what);
            goto fail;
        }
        if (!header) {
            json_t *ver = json_object_get(v, "plughost_transcript");
            if (!json_is_integer(ver) || json_integer_value(ver) != PH_TRANSCRIPT_VERSION) {
                char what[200];
                if (json_is_integer(ver))
                    snprintf(what, sizeof what,
                             "transcript format version %lld not supported (this plughost "
                             "reads version %d; record the run again with it)",
                             (long long)json_integer_value(ver), PH_TRANSCRIPT_VERSION);
                else
                    snprintf(what, sizeof what,
                             "not a plughost transcript (the first line is not its header)");
                say(why, whylen, name, lineno, what);
                json_decref(v);
                goto fail;
            }
            header = v;
            continue;
        }
        const char *bad = check_line(v, lineno);
        char what[200];
        if (!bad && consistent(procs, v, what, sizeof what) < 0)
            bad = what;
        if (bad) {
            say(why, whylen, name, lineno, bad);
            json_decref(v);
            goto fail;
        }
        json_array_append_new(lines, v);
    }
    if (!header) {
        say(why, whylen, name, lineno ? lineno : 1, "empty: no header line");
        goto fail;
    }
    json_decref(procs);
    return json_pack("{s:o,s:o}", "header", header, "lines", lines);
fail:
    json_decref(procs);
    json_decref(header);
    json_decref(lines);
    return NULL;
}

json_t *ph_tr_load(const char *path, char *why, size_t whylen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(why, whylen, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        snprintf(why, whylen, "%s: read error", path);
        return NULL;
    }
    json_t *t = ph_tr_parse(buf, len, path, why, whylen);
    free(buf);
    return t;
}

json_t *ph_tr_names(json_t *transcript)
{
    json_t *names = json_object(), *l;
    size_t i;
    json_array_foreach(json_object_get(transcript, "lines"), i, l)
    {
        json_t *name = json_object_get(l, "plugin");
        const char *file = json_string_value(json_object_get(l, "file"));
        if (json_is_string(name) && file && !json_object_get(names, file))
            json_object_set(names, file, name);
    }
    json_array_foreach(json_object_get(json_object_get(transcript, "header"), "plugins"), i, l)
    {
        json_t *name = json_object_get(l, "plugin");
        const char *file = json_string_value(json_object_get(l, "file"));
        if (json_is_string(name) && file && !json_object_get(names, file))
            json_object_set(names, file, name);
    }
    return names;
}

const char *ph_tr_plugin_of(json_t *line, json_t *names)
{
    const char *p = json_string_value(json_object_get(line, "plugin"));
    if (p)
        return p;
    const char *file = json_string_value(json_object_get(line, "file"));
    return file ? json_string_value(json_object_get(names, file)) : NULL;
}

/* The handshake, made comparable: methods keyed by name, so that a method
 * added or removed shows as such instead of shifting every index. */
static json_t *hello_view(json_t *params)
{
    json_t *v = json_deep_copy(params);
    if (!json_is_object(v))
        return v;
    json_t *methods = json_object_get(v, "methods");
    if (json_is_array(methods)) {
        json_t *byname = json_object(), *m;
        size_t i;
        json_array_foreach(methods, i, m)
        {
            const char *n = json_string_value(json_object_get(m, "name"));
            if (n) {
                json_t *copy = json_deep_copy(m);
                json_object_del(copy, "name");
                json_object_set_new(byname, n, copy);
            }
        }
        json_object_set_new(v, "methods", byname);
    }
    return v;
}

json_t *ph_tr_processes(json_t *transcript)
{
    json_t *names = ph_tr_names(transcript);
    json_t *out = json_array(), *seen = json_object(), *l;
    size_t i;
    /* Those running when recording began (the header), then the others as
     * their first line comes. */
    json_array_foreach(json_object_get(json_object_get(transcript, "header"), "plugins"), i, l)
    {
        json_t *plugin = json_object_get(l, "plugin"), *file = json_object_get(l, "file");
        json_t *pid = json_object_get(l, "pid");
        if (!json_is_object(l) || check_process(l) || !json_is_string(file) ||
            !json_is_integer(pid) || (plugin && !json_is_string(plugin) && !json_is_null(plugin)))
            continue;
        char key[32];
        snprintf(key, sizeof key, "%lld",
                 (long long)json_integer_value(json_object_get(l, "proc")));
        if (json_object_get(seen, key))
            continue;
        json_t *e = json_pack("{s:O,s:O,s:O,s:O,s:O,s:b}", "plugin",
                              json_is_string(plugin) ? plugin : json_null(), "file", file, "slot",
                              json_object_get(l, "slot"), "proc", json_object_get(l, "proc"), "pid",
                              pid, "before", 1);
        json_object_set_new(e, "handshake", json_false());
        json_object_set_new(e, "calls", json_integer(0));
        json_object_set(seen, key, e);
        json_array_append_new(out, e);
    }
    json_array_foreach(json_object_get(transcript, "lines"), i, l)
    {
        char key[32];
        snprintf(key, sizeof key, "%lld",
                 (long long)json_integer_value(json_object_get(l, "proc")));
        json_t *e = json_object_get(seen, key);
        if (!e) {
            e = json_pack("{s:n,s:O,s:O,s:O,s:O,s:b}", "plugin", "file", json_object_get(l, "file"),
                          "slot", json_object_get(l, "slot"), "proc", json_object_get(l, "proc"),
                          "pid", json_object_get(l, "pid"), "before", 0);
            json_object_set_new(e, "handshake", json_false());
            json_object_set_new(e, "calls", json_integer(0));
            json_object_set(seen, key, e);
            json_array_append_new(out, e);
        }
        if (json_is_null(json_object_get(e, "plugin")) &&
            json_is_string(json_object_get(l, "plugin")))
            json_object_set(e, "plugin", json_object_get(l, "plugin"));
        json_t *msg = json_object_get(l, "msg");
        const char *method = json_string_value(json_object_get(msg, "method"));
        int to = json_is_string(json_object_get(l, "dir")) &&
                 strcmp(json_string_value(json_object_get(l, "dir")), "to_plugin") == 0;
        if (!to && method && strcmp(method, "ph.hello") == 0)
            json_object_set_new(e, "handshake", json_true());
        else if (to && method && json_object_get(msg, "id") && strncmp(method, "ph.", 3) != 0 &&
                 strncmp(method, "$/", 2) != 0)
            json_object_set_new(e, "calls",
                                json_integer(json_integer_value(json_object_get(e, "calls")) + 1));
    }
    /* One that never named itself (it died loading) takes its file's name
     * from the other processes of that file. */
    json_array_foreach(out, i, l)
    {
        json_t *n = json_object_get(names, json_string_value(json_object_get(l, "file")));
        if (json_is_null(json_object_get(l, "plugin")) && n)
            json_object_set(l, "plugin", n);
    }
    json_decref(seen);
    json_decref(names);
    return out;
}

json_t *ph_tr_only(json_t *transcript, json_int_t proc)
{
    json_t *lines = json_array(), *l;
    size_t i;
    json_array_foreach(json_object_get(transcript, "lines"), i, l)
    {
        if (json_integer_value(json_object_get(l, "proc")) == proc)
            json_array_append(lines, l);
    }
    return json_pack("{s:O,s:o}", "header", json_object_get(transcript, "header"), "lines", lines);
}

/* What the processes of the transcript did, every one or (proc > 0) only
 * that one: {"hello": view or absent, "calls": [episode...], "outside":
 * [item...]}; an episode is {"id", "method", "params", "proc", "items":
 * {kind: [...]}, "answer"?}. */
static json_t *episodes(json_t *transcript, json_int_t proc_wanted)
{
    json_t *pl = json_pack("{s:[],s:{}}", "calls", "outside");
    json_t *byid = json_object();     /* "proc/id" -> episode (borrowed from pl) */
    json_t *inflight = json_object(); /* "proc" -> array of episodes, oldest first */
    json_t *l;
    size_t i;
    json_array_foreach(json_object_get(transcript, "lines"), i, l)
    {
        if (json_object_get(l, "type"))
            continue;
        json_int_t procn = json_integer_value(json_object_get(l, "proc"));
        if (proc_wanted > 0 && procn != proc_wanted)
            continue;
        char pid[32], key[96];
        snprintf(pid, sizeof pid, "%lld", (long long)procn);
        json_t *fifo = json_object_get(inflight, pid);
        if (!fifo) {
            fifo = json_array();
            json_object_set_new(inflight, pid, fifo);
        }
        int to = strcmp(json_string_value(json_object_get(l, "dir")), "to_plugin") == 0;
        json_t *msg = json_object_get(l, "msg");
        const char *method = json_string_value(json_object_get(msg, "method"));
        json_t *id = json_object_get(msg, "id");
        json_t *params = json_object_get(msg, "params");
        char idtext[64] = "";
        if (json_is_integer(id))
            snprintf(idtext, sizeof idtext, "%lld", (long long)json_integer_value(id));
        else if (json_is_string(id))
            snprintf(idtext, sizeof idtext, "s:%s", json_string_value(id));
        snprintf(key, sizeof key, "%s/%s", pid, idtext);
        if (to) {
            /* Only calls matter: the host's answers to host functions come
             * from the recording on replay, and ph.* is the host's own. */
            if (!method || !id || strncmp(method, "ph.", 3) == 0 || strncmp(method, "$/", 2) == 0)
                continue;
            json_t *ep = json_pack("{s:O,s:s,s:O?,s:s,s:{}}", "id", id, "method", method, "params",
                                   params, "proc", pid, "items");
            json_array_append(json_object_get(pl, "calls"), ep);
            json_array_append(fifo, ep);
            json_object_set_new(byid, key, ep);
            continue;
        }
        json_t *item = NULL;
        const char *kind = NULL;
        json_t *target = json_array_get(fifo, 0);
        if (!msg) {
            kind = "bad";
            item = json_incref(json_object_get(l, "bad"));
        } else if (method && strcmp(method, "ph.hello") == 0) {
            if (!json_object_get(pl, "hello"))
                json_object_set_new(pl, "hello", hello_view(params));
            continue;
        } else if (method && strncmp(method, "ph.", 3) == 0) {
            continue; /* the sandbox's report and loading: the machine, not the plugin */
        } else if (!method) {
            json_t *ep = json_object_get(byid, key);
            if (!ep)
                continue;
            json_t *answer = json_deep_copy(msg);
            json_object_del(answer, "jsonrpc");
            json_object_del(answer, "id");
            json_object_set_new(ep, "answer", answer);
            size_t k;
            json_t *e;
            json_array_foreach(fifo, k, e) if (e == ep)
            {
                json_array_remove(fifo, k);
                break;
            }
            continue;
        } else if (strcmp(method, "$/progress") == 0) {
            kind = "progress";
            json_t *pid_id = json_object_get(params, "id");
            char pkey[96];
            if (json_is_integer(pid_id)) {
                snprintf(pkey, sizeof pkey, "%s/%lld", pid, (long long)json_integer_value(pid_id));
                if (json_object_get(byid, pkey))
                    target = json_object_get(byid, pkey);
            }
            item = json_incref(json_object_get(params, "value"));
            if (!item)
                item = json_null();
        } else if (strcmp(method, "$/log") == 0) {
            kind = "log";
            item = json_incref(params ? params : json_null());
        } else if (id) {
            kind = "host_call";
            item = json_pack("{s:s,s:O?}", "method", method, "params", params);
        } else {
            kind = "notification";
            item = json_pack("{s:s,s:O?}", "method", method, "params", params);
        }
        json_t *items = target ? json_object_get(target, "items") : NULL;
        json_t *list = items ? json_object_get(items, kind)
                             : json_object_get(json_object_get(pl, "outside"), kind);
        if (!list) {
            list = json_array();
            json_object_set_new(items ? items : json_object_get(pl, "outside"), kind, list);
        }
        json_array_append_new(list, item);
    }
    json_decref(byid);
    json_decref(inflight);
    return pl;
}

struct differ {
    const struct ph_tr_diff_opts *o;
    json_t *process;   /* the recorded process compared */
    const char *scope; /* "PLUGIN.METHOD" or "PLUGIN.hello" */
    const char *call;  /* "PLUGIN#ID", or "" */
    const char *where;
    json_t *out;
};

static int ignored(const struct differ *d, const char *path)
{
    for (size_t i = 0; i < d->o->nignore; i++) {
        const char *pat = d->o->ignore[i];
        const char *colon = strchr(pat, ':');
        if (colon) {
            char scope[256];
            snprintf(scope, sizeof scope, "%.*s", (int)(colon - pat), pat);
            if ((fnmatch(scope, d->scope, 0) == 0 || fnmatch(scope, d->call, 0) == 0) &&
                fnmatch(colon + 1, path, 0) == 0)
                return 1;
        } else if (fnmatch(pat, path, 0) == 0) {
            return 1;
        }
    }
    return 0;
}

static void report(struct differ *d, const char *path, json_t *a, json_t *b)
{
    json_t *e = json_pack("{s:s,s:O,s:O,s:O,s:s}", "where", d->where, "slot",
                          json_object_get(d->process, "slot"), "process",
                          json_object_get(d->process, "proc"), "pid",
                          json_object_get(d->process, "pid"), "path", path);
    if (a)
        json_object_set(e, "recorded", a);
    if (b)
        json_object_set(e, "now", b);
    json_array_append_new(d->out, e);
}

static void walk(struct differ *d, const char *path, json_t *a, json_t *b)
{
    if (ignored(d, path))
        return;
    char sub[1024];
    /* Past the bound on a path, the two values are compared whole and a
     * difference is reported at the deepest path that fits. */
    if (strlen(path) > sizeof sub - 64) {
        if (!(a && b && json_equal(a, b)) && (a || b))
            report(d, path, a, b);
        return;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v)
        {
            json_t *bv = json_object_get(b, k);
            int n = snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            if (n > 0 && (size_t)n < sizeof sub)
                walk(d, sub, v, bv);
            else if (!(bv && json_equal(v, bv))) /* a key past the bound: at its parent */
                report(d, path, v, bv);
        }
        json_object_foreach(b, k, v)
        {
            if (json_object_get(a, k))
                continue;
            int n = snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", k);
            if (n > 0 && (size_t)n < sizeof sub)
                walk(d, sub, NULL, v);
            else
                report(d, path, NULL, v);
        }
        return;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n =
            json_array_size(a) > json_array_size(b) ? json_array_size(a) : json_array_size(b);
        for (size_t i = 0; i < n; i++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            walk(d, sub, json_array_get(a, i), json_array_get(b, i));
        }
        return;
    }
    if (a && b && json_equal(a, b))
        return;
    if (!a && !b)
        return;
    report(d, path, a, b);
}

static void diff_call(struct differ *d, json_t *a, json_t *b)
{
    /* A call that was not answered (the plugin died) has no answer. */
    walk(d, "", json_object_get(a, "answer"), json_object_get(b, "answer"));
    walk(d, "", json_object_get(a, "items"), json_object_get(b, "items"));
}

static int same_call(json_t *a, json_t *b)
{
    json_t *pa = json_object_get(a, "params"), *pb = json_object_get(b, "params");
    return strcmp(json_string_value(json_object_get(a, "method")),
                  json_string_value(json_object_get(b, "method"))) == 0 &&
           ((!pa && !pb) || (pa && pb && json_equal(pa, pb)));
}

static void diff_plugin(struct differ *d, const char *plugin, json_t *a, json_t *b)
{
    char where[512], scope[512], call[512] = "";
    d->where = where;
    d->scope = scope;
    d->call = call;
    snprintf(where, sizeof where, "%s", plugin);
    snprintf(scope, sizeof scope, "%s.hello", plugin);
    /* A process whose handshake is not in the recording (it ran before
     * recording began, or ended before finishing it: a spare stopped with
     * the host) is compared on its calls alone: what it did before them
     * was not seen. */
    json_t *ha = json_object_get(a, "hello"), *hb = json_object_get(b, "hello");
    if (!d->o->ignore_handshake && ha) {
        json_t *wa = json_pack("{s:O}", "hello", ha), *wb = json_pack("{s:O?}", "hello", hb);
        walk(d, "", wa, wb);
        json_decref(wa);
        json_decref(wb);
    }
    snprintf(where, sizeof where, "%s outside calls", plugin);
    snprintf(scope, sizeof scope, "%s.", plugin);
    if (ha)
        walk(d, "", json_object_get(a, "outside"), json_object_get(b, "outside"));
    json_t *ca = json_object_get(a, "calls"), *cb = json_object_get(b, "calls");
    size_t j = 0, i;
    json_t *ea;
    json_array_foreach(ca, i, ea)
    {
        const char *method = json_string_value(json_object_get(ea, "method"));
        char *id = ph_text_json(json_object_get(ea, "id"), JSON_ENCODE_ANY);
        snprintf(where, sizeof where, "%s#%s %s.%s", plugin, id ? id : "?", plugin, method);
        snprintf(scope, sizeof scope, "%s.%s", plugin, method);
        snprintf(call, sizeof call, "%s#%s", plugin, id ? id : "?");
        free(id);
        json_t *eb = json_array_get(cb, j);
        if (eb && same_call(ea, eb)) {
            j++;
            diff_call(d, ea, eb);
        } else if (!ignored(d, "call")) {
            /* The new host never sent it: refused before reaching the
             * plugin (a changed schema, a method gone) or the plugin was
             * not there. */
            json_t *sent =
                json_pack("{s:s,s:O?}", "method", method, "params", json_object_get(ea, "params"));
            report(d, "call", sent, NULL);
            json_decref(sent);
        }
    }
    snprintf(where, sizeof where, "%s", plugin);
    call[0] = '\0';
    for (; j < json_array_size(cb); j++) {
        json_t *eb = json_array_get(cb, j);
        json_t *sent = json_pack("{s:O,s:O?}", "method", json_object_get(eb, "method"), "params",
                                 json_object_get(eb, "params"));
        report(d, "call", NULL, sent);
        json_decref(sent);
    }
}

json_t *ph_tr_diff(json_t *recorded, json_t *process, json_t *now,
                   const struct ph_tr_diff_opts *opts)
{
    static const struct ph_tr_diff_opts none = {0};
    struct differ d = {.o = opts ? opts : &none, .process = process, .out = json_array()};
    /* A process that never named its plugin goes by its file. */
    const char *plugin = json_string_value(json_object_get(process, "plugin"));
    if (!plugin)
        plugin = json_string_value(json_object_get(process, "file"));
    json_t *proc = json_object_get(process, "proc");
    if (!plugin || !json_is_integer(proc))
        return d.out;
    json_t *ea = episodes(recorded, json_integer_value(proc));
    json_t *eb = episodes(now, 0);
    diff_plugin(&d, plugin, ea, eb);
    json_decref(ea);
    json_decref(eb);
    return d.out;
}

static void value_text(json_t *v, char *out, size_t len)
{
    if (!v) {
        snprintf(out, len, "(nothing)");
        return;
    }
    char *s = ph_text_json(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && strlen(s) > 300)
        snprintf(out, len, "%.300s...", s);
    else
        snprintf(out, len, "%s", s ? s : "?");
    free(s);
}

char *ph_tr_format(json_t *e, char *out, size_t len)
{
    char a[320], b[320];
    value_text(json_object_get(e, "recorded"), a, sizeof a);
    value_text(json_object_get(e, "now"), b, sizeof b);
    const char *path = json_string_value(json_object_get(e, "path"));
    char inst[64] = "";
    if (json_is_integer(json_object_get(e, "slot")) &&
        json_is_integer(json_object_get(e, "process")))
        snprintf(inst, sizeof inst, " (slot %lld, process %lld)",
                 (long long)json_integer_value(json_object_get(e, "slot")),
                 (long long)json_integer_value(json_object_get(e, "process")));
    snprintf(out, len, "%s%s %s: recorded %s, now %s",
             json_string_value(json_object_get(e, "where")), inst,
             path && *path ? path : "(message)", a, b);
    return out;
}
