/*
 * record: the transcript of a run (`plughost --record`, ph_host_record):
 * every message between the host and each plugin, both directions, written
 * as JSON Lines to a descriptor the application gave, so that `plughost
 * replay` can run real traffic against a new build of a plugin.
 *
 * Hooked at the two places where whole messages cross the channel
 * (ph_plug_send in channel.c and the receive path in supervisor.c), so
 * nothing the channel carries is missed: the handshake, calls and answers,
 * host functions and their answers, notifications, progress and
 * cancellations.
 *
 * A plugin may run as several processes at once (a pool, spares, isolate
 * "call" or "client"), whose messages interleave: every line names the
 * process it belongs to by its pool slot and by `proc`, a number this
 * transcript gives each process the first time it is seen and never gives
 * another, so replay can take each process's stream apart (a pid alone
 * could come back for another process of a long run).
 *
 * It must never fail a call: a write error is reported once as an event
 * ("record_error") and recording stops. It must never block a plugin for
 * long either, so the descriptor should be a file, not a pipe to a slow
 * reader.
 */
#include "internal.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bumped when a line changes meaning; replay refuses other versions.
 * 2: every process is named by "slot" and "proc". */
#define PH_TRANSCRIPT_VERSION 2

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void stop(struct ph_host *h, const char *why)
{
    close(h->rec_fd);
    h->rec_fd = -1;
    ph_host_event(h, json_pack("{s:s,s:s}", "type", "record_error", "message", why));
}

/* Writes one line (stolen). */
static void put(struct ph_host *h, json_t *line)
{
    if (h->rec_fd < 0 || !line) {
        json_decref(line);
        return;
    }
    /* Printable ASCII (text.h): a transcript is a log someone will cat. */
    char *s = ph_text_json(line, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(line);
    if (!s)
        return stop(h, "recording stopped: out of memory encoding a message");
    size_t n = strlen(s), off = 0;
    s[n++] = '\n'; /* the NUL becomes the line's end */
    while (off < n) {
        ssize_t w = write(h->rec_fd, s + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            char why[300];
            snprintf(why, sizeof why, "recording stopped: write failed: %s",
                     w < 0 ? strerror(errno) : "no progress");
            free(s);
            return stop(h, why);
        }
        off += (size_t)w;
    }
    free(s);
}

static json_t *stamp(struct ph_host *h)
{
    return json_pack("{s:I,s:I}", "seq", (json_int_t)++h->rec_seq, "t_ms",
                     (json_int_t)((ph_now_ns() - h->rec_start_ns) / 1000000));
}

/* The process's number in this transcript: a new one at its first line
 * after each spawn (spawn_ns tells one spawn of a slot from the next). */
static unsigned proc_of(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (p->rec_epoch != h->rec_epoch || p->rec_spawn_ns != p->spawn_ns || !p->rec_proc) {
        p->rec_epoch = h->rec_epoch;
        p->rec_spawn_ns = p->spawn_ns;
        p->rec_proc = ++h->rec_procs;
    }
    return p->rec_proc;
}

/* A process (running: its slot and proc too) as the header and "plugin"
 * lines show it. */
static json_t *plugin_line(struct ph_plug *p, int running)
{
    json_t *l =
        json_pack("{s:s?,s:s,s:s,s:s?,s:i,s:i}", "plugin", p->name, "file", base_name(p->file),
                  "path", p->file, "sha256", p->sha256[0] ? p->sha256 : NULL, "pid", (int)p->pid,
                  "slot", (int)p->index);
    if (l && running)
        json_object_set_new(l, "proc", json_integer(proc_of(p)));
    return l;
}

int ph_host_record(ph_host *h, int fd, ph_error *err)
{
    if (h->rec_fd >= 0) {
        close(h->rec_fd);
        h->rec_fd = -1;
    }
    if (fd < 0)
        return PH_OK;
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (own < 0)
        return ph_set_error(err, PH_E_SYSTEM, "record: %s", strerror(errno));
    h->rec_fd = own;
    h->rec_seq = 0;
    h->rec_start_ns = ph_now_ns();
    h->rec_epoch++;
    h->rec_procs = 0;
    json_t *plugins = json_array();
    for (struct ph_plug *p = h->plugs; p; p = p->next) {
        if (!p->name)
            continue;
        json_array_append_new(plugins, plugin_line(p, p->state != PH_P_DOWN));
        /* The pool's other running processes, numbered now like the head. */
        for (unsigned i = 1; i < p->cap_inst && p->inst; i++)
            if (p->inst[i] && p->inst[i]->state != PH_P_DOWN)
                json_array_append_new(plugins, plugin_line(p->inst[i], 1));
    }
    put(h, json_pack("{s:i,s:s,s:i,s:o}", "plughost_transcript", PH_TRANSCRIPT_VERSION, "plughost",
                     PH_VERSION, "protocol", PH_PROTOCOL_VERSION, "plugins", plugins));
    if (h->rec_fd < 0)
        return ph_set_error(err, PH_E_SYSTEM, "record: cannot write the header");
    return PH_OK;
}

void ph_record_started(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (h->rec_fd < 0)
        return;
    json_t *line = stamp(h);
    json_object_set_new(line, "type", json_string("plugin"));
    json_t *pl = plugin_line(p, 1);
    json_object_update(line, pl);
    json_decref(pl);
    put(h, line);
}

void ph_record_msg(struct ph_plug *p, int to_plugin, json_t *msg, const char *raw, size_t len)
{
    struct ph_host *h = p->host;
    if (h->rec_fd < 0)
        return;
    const char *name = p->name;
    /* The first handshake names the plugin before the host knows it. */
    json_t *params = json_object_get(msg, "params");
    const char *method = json_string_value(json_object_get(msg, "method"));
    if (!name && method && strcmp(method, "ph.hello") == 0 &&
        json_is_string(json_object_get(params, "name")))
        name = json_string_value(json_object_get(params, "name"));
    json_t *line = stamp(h);
    json_object_set_new(line, "plugin", name ? json_string(name) : json_null());
    json_object_set_new(line, "file", json_string(base_name(p->file)));
    json_object_set_new(line, "pid", json_integer(p->pid));
    json_object_set_new(line, "slot", json_integer(p->index));
    json_object_set_new(line, "proc", json_integer(proc_of(p)));
    json_object_set_new(line, "dir", json_string(to_plugin ? "to_plugin" : "from_plugin"));
    if (msg) {
        json_object_set(line, "msg", msg);
    } else {
        /* Bytes that are not a message: kept escaped, for the reader. */
        char view[1024];
        ph_wire_escape(raw, len, view, sizeof view);
        json_object_set_new(line, "bad", json_string(view));
    }
    put(h, line);
}
