/*
 * status: counting, the status object and the Prometheus text exposition
 * (status.h says what the module is for and what it must never do;
 * docs/operating.md lists every figure).
 */
#include "status.h"
#include "internal.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int64_t unix_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ph_status_host_init(struct ph_status_host *s)
{
    memset(s, 0, sizeof *s);
    s->started_ns = ph_now_ns();
    s->started_unix_ms = unix_ms();
}

/* ---- counting ---- */

void ph_status_count_cause(struct ph_plug *p, enum ph_status_cause cause)
{
    if (p && (unsigned)cause < PH_CAUSE_N)
        p->status.failed[cause]++;
}

void ph_status_count_end(struct ph_plug *p, int end, const json_t *detail)
{
    if (end != PH_END_VIOLATION)
        return;
    p->status.violations++;
    p->status.last_violation_unix_ms = unix_ms();
    const char *sc = json_string_value(json_object_get(detail, "syscall"));
    snprintf(p->status.last_syscall, sizeof p->status.last_syscall, "%s", sc ? sc : "unknown");
}

/* ---- what the kernel says now ---- */

/* Reads a small file whole (up to cap-1 bytes) and NUL-terminates it.
 * Returns 0, or -1 when it cannot be read. */
static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return n ? 0 : -1;
}

/* Resident memory of a process from /proc/PID/statm (its second field, in
 * pages). Returns 0 with *bytes, or -1. */
static int proc_rss(pid_t pid, uint64_t *bytes)
{
    char path[64], buf[256];
    unsigned long long size, resident;
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0 || sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return -1;
    long page = sysconf(_SC_PAGESIZE);
    *bytes = (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
    return 0;
}

/* User plus system CPU time of a process from /proc/PID/stat (fields 14 and
 * 15, after the command name, which may hold spaces and parentheses: read
 * from the last ')'). Returns 0 with *seconds, or -1. */
static int proc_cpu(pid_t pid, double *seconds)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return -1;
    char *s = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!s ||
        sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    *seconds = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
    return 0;
}

/* A plugin's cgroup: memory.current (v2) or memory.usage_in_bytes (v1). */
static int cg_memory(const struct ph_cg_plug *cg, uint64_t *bytes)
{
    char path[PH_CG_PATH + 32], buf[64];
    snprintf(path, sizeof path, "%s/%s", cg->path,
             cg->version == 2 ? "memory.current" : "memory.usage_in_bytes");
    unsigned long long v;
    if (read_small(path, buf, sizeof buf) < 0 || sscanf(buf, "%llu", &v) != 1)
        return -1;
    *bytes = v;
    return 0;
}

/* A v2 cgroup's cpu.stat usage_usec: the time of every task it held. */
static int cg_cpu(const struct ph_cg_plug *cg, double *seconds)
{
    char path[PH_CG_PATH + 16], buf[512];
    snprintf(path, sizeof path, "%s/cpu.stat", cg->path);
    if (cg->version != 2 || read_small(path, buf, sizeof buf) < 0)
        return -1;
    const char *u = strstr(buf, "usage_usec ");
    unsigned long long us;
    if (!u || sscanf(u + 11, "%llu", &us) != 1)
        return -1;
    *seconds = (double)us / 1e6;
    return 0;
}

/* ---- the status object, one function per level ---- */

static const char *plug_state_name(enum ph_plug_state s)
{
    return s == PH_P_READY ? "ready" : s == PH_P_LOADING ? "loading" : "down";
}

/* One process of a plugin: an instance of its pool. */
static json_t *instance_status(const struct ph_plug *p, unsigned index, uint64_t now_ns,
                               int64_t now_unix_ms)
{
    uint64_t age_ns = now_ns > p->spawn_ns ? now_ns - p->spawn_ns : 0;
    json_t *o = json_pack("{s:i,s:i,s:s,s:I,s:f,s:I,s:i}", "index", (int)index, "pid", (int)p->pid,
                          "state", plug_state_name(p->state), "started_unix_ms",
                          (json_int_t)(now_unix_ms - (int64_t)(age_ns / 1000000)), "uptime_s",
                          (double)age_ns / 1e9, "calls_served", (json_int_t)p->served, "in_flight",
                          (int)p->awaited);
    if (!o)
        return NULL;
    uint64_t mem;
    if (p->cg.version && cg_memory(&p->cg, &mem) == 0) {
        json_object_set_new(o, "memory_bytes", json_integer((json_int_t)mem));
        json_object_set_new(o, "memory_source", json_string("cgroup"));
    } else if (proc_rss(p->pid, &mem) == 0) {
        json_object_set_new(o, "memory_bytes", json_integer((json_int_t)mem));
        json_object_set_new(o, "memory_source", json_string("rss"));
    }
    double cpu;
    if (p->cg.version && cg_cpu(&p->cg, &cpu) == 0) {
        json_object_set_new(o, "cpu_seconds", json_real(cpu));
        json_object_set_new(o, "cpu_source", json_string("cgroup"));
    } else if (proc_cpu(p->pid, &cpu) == 0) {
        json_object_set_new(o, "cpu_seconds", json_real(cpu));
        json_object_set_new(o, "cpu_source", json_string("proc"));
    }
    return o;
}

static json_t *plugin_status(const struct ph_plug *p, uint64_t now_ns, int64_t now_unix_ms)
{
    uint64_t now_ms = now_ns / 1000000;
    const struct ph_status_plug *s = &p->status;
    const char *version = json_string_value(json_object_get(p->hello, "version"));
    int open = p->circuit_until_ms > now_ms;
    json_t *failed = json_object();
    json_t *instances = json_array();
    /* The head counts the pool's calls; each instance those sent to it. */
    unsigned in_flight = 0;
    for (unsigned i = 0; i < (p->inst ? p->cap_inst : 1); i++) {
        const struct ph_plug *in = p->inst ? p->inst[i] : p;
        in_flight += in ? in->awaited : 0;
    }
    json_t *o = json_pack(
        "{s:s?,s:s,s:s?,s:s,s:i,s:{s:s,s:i,s:I},s:I,s:o,s:{s:I,s:s?,s:o?},s:i,s:i,s:o}", "name",
        p->name, "file", p->file, "version", version, "state", plug_state_name(p->state),
        "restarts", (int)p->restarts, "circuit", "state", open ? "open" : "closed",
        "recent_failures", (int)p->recent_failures, "retry_after_ms",
        (json_int_t)(open ? p->circuit_until_ms - now_ms : 0), "calls_served",
        (json_int_t)s->served, "calls_failed", failed, "violations", "count",
        (json_int_t)s->violations, "last_syscall", s->violations ? s->last_syscall : NULL,
        "last_unix_ms", s->violations ? json_integer(s->last_violation_unix_ms) : NULL,
        "queue_depth", (int)(p->ncalls > in_flight ? p->ncalls - in_flight : 0), "in_flight",
        (int)in_flight, "instances", instances);
    if (!o || !failed || !instances) {
        json_decref(o);
        return NULL;
    }
    for (int i = 0; i < PH_CAUSE_N; i++)
        json_object_set_new(failed, ph_call_cause_name((enum ph_status_cause)i),
                            json_integer((json_int_t)s->failed[i]));
    /* Every running process of the pool (pool.c): the head is slot 0. */
    for (unsigned i = 0; i < (p->inst ? p->cap_inst : 1); i++) {
        const struct ph_plug *in = p->inst ? p->inst[i] : p;
        if (!in || in->pid <= 0)
            continue;
        json_t *inst = instance_status(in, in->index, now_ns, now_unix_ms);
        if (!inst || json_array_append_new(instances, inst) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *host_status(const struct ph_host *h, size_t nplugins, uint64_t now_ns,
                           int64_t now_unix_ms)
{
    uint64_t up_ns = now_ns - h->status.started_ns;
    json_t *o = json_pack(
        "{s:i,s:s,s:I,s:I,s:f,s:I,s:I,s:I}", "pid", (int)getpid(), "version", PH_VERSION,
        "started_unix_ms", (json_int_t)h->status.started_unix_ms, "now_unix_ms",
        (json_int_t)now_unix_ms, "uptime_s", (double)up_ns / 1e9, "plugins", (json_int_t)nplugins,
        "calls_total", (json_int_t)h->status.calls_total, "calls_pending", (json_int_t)h->pending);
    if (!o)
        return NULL;
    uint64_t mem;
    if (proc_rss(getpid(), &mem) == 0)
        json_object_set_new(o, "memory_bytes", json_integer((json_int_t)mem));
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(o, "cpu_seconds",
                            json_real((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                                      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6));
    return o;
}

int ph_host_status(ph_host *h, json_t **out, ph_error *err)
{
    if (!h || !out)
        return ph_set_error(err, PH_E_INVALID, "ph_host_status: no host or no out");
    *out = NULL;
    uint64_t now_ns = ph_now_ns();
    int64_t now_unix = unix_ms();
    json_t *plugins = json_array();
    size_t n = 0;
    for (const struct ph_plug *p = h->plugs; plugins && p; p = p->next, n++) {
        json_t *ps = plugin_status(p, now_ns, now_unix);
        if (!ps || json_array_append_new(plugins, ps) < 0) {
            json_decref(plugins);
            return ph_set_error(err, PH_E_NOMEM, "out of memory");
        }
    }
    json_t *host = plugins ? host_status(h, n, now_ns, now_unix) : NULL;
    json_t *o =
        host ? json_pack("{s:i,s:o,s:o}", "plughost_status", 1, "host", host, "plugins", plugins)
             : NULL;
    if (!o) {
        if (!host)
            json_decref(plugins);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    *out = o;
    return PH_OK;
}

/* ---- the Prometheus text exposition ---- */

struct buf {
    char *s;
    size_t len, cap;
    int failed;
    int om; /* OpenMetrics: families named without _total/_info, UNIT, # EOF */
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !b->failed; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* A label value: first the view every plughost output shows of text
 * someone else controls (printable ASCII only, backslash as \x5c), so that
 * no control byte reaches whoever reads the file; then the format's own
 * escapes, of which only the double quote can remain. */
static void put_label(struct buf *b, const char *name, const char *value)
{
    char *view = ph_text_escape_dup(value ? value : "", value ? strlen(value) : 0, PH_TEXT_EXACT);
    if (!view) {
        b->failed = 1;
        return;
    }
    put(b, "%s=\"", name);
    for (const char *c = view; *c; c++) {
        if (*c == '"' || *c == '\\')
            put(b, "\\%c", *c);
        else if (*c == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *c);
    }
    put(b, "\"");
    free(view);
}

/* A family's HELP and TYPE. In OpenMetrics a counter's family is named
 * without its samples' _total, an _info gauge is the info type named
 * without _info, and a name ending in a unit says so in a UNIT line. */
static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    size_t n = strlen(name);
    if (b->om && strcmp(type, "counter") == 0 && n > 6 && strcmp(name + n - 6, "_total") == 0)
        n -= 6;
    else if (b->om && n > 5 && strcmp(name + n - 5, "_info") == 0)
        n -= 5, type = "info";
    put(b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
    if (b->om && n > 8 && strncmp(name + n - 8, "_seconds", 8) == 0)
        put(b, "# UNIT %.*s seconds\n", (int)n, name);
    else if (b->om && n > 6 && strncmp(name + n - 6, "_bytes", 6) == 0)
        put(b, "# UNIT %.*s bytes\n", (int)n, name);
}

/* One sample; labels are name/value pairs ending with NULL. */
static void sample(struct buf *b, const char *name, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    put(b, "%s", name);
    const char *ln = va_arg(ap, const char *);
    for (int first = 1; ln; first = 0) {
        put(b, first ? "{" : ",");
        put_label(b, ln, va_arg(ap, const char *));
        ln = va_arg(ap, const char *);
        if (!ln)
            put(b, "}");
    }
    va_end(ap);
    /* Integers exactly (counters past 2^53 are not a concern here), the
     * rest with enough digits to round-trip. */
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        put(b, " %" PRId64 "\n", (int64_t)v);
    else
        put(b, " %.15g\n", v);
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The plugin's label: its name, or its file while it has none (never
 * started), so that every plugin has one and they stay apart. */
static const char *plugin_label(const json_t *p)
{
    const char *n = str(p, "name");
    return n ? n : str(p, "file");
}

/* Families of one number per plugin, by key in its status object. */
static void per_plugin(struct buf *b, const json_t *plugins, const char *metric, const char *type,
                       const char *help, const char *key, const char *sub)
{
    size_t i;
    json_t *p;
    family(b, metric, type, help);
    json_array_foreach(plugins, i, p)
    {
        const json_t *o = sub ? json_object_get(p, sub) : p;
        sample(b, metric, num(o, key), "plugin", plugin_label(p), NULL);
    }
}

/* Families of one number per instance, by key in its status object; an
 * instance without the figure (unreadable /proc) is left out. */
static void per_instance(struct buf *b, const json_t *plugins, const char *metric, const char *type,
                         const char *help, const char *key, const char *source)
{
    size_t i, k;
    json_t *p, *in;
    family(b, metric, type, help);
    json_array_foreach(plugins, i, p)
    {
        json_array_foreach(json_object_get(p, "instances"), k, in)
        {
            if (!json_is_number(json_object_get(in, key)))
                continue;
            char slot[24];
            snprintf(slot, sizeof slot, "%lld",
                     (long long)json_integer_value(json_object_get(in, "index")));
            if (source)
                sample(b, metric, num(in, key), "plugin", plugin_label(p), "slot", slot, "source",
                       str(in, source), NULL);
            else
                sample(b, metric, num(in, key), "plugin", plugin_label(p), "slot", slot, NULL);
        }
    }
}

int ph_host_status_exposition(const json_t *status, unsigned format, char **text, size_t *len,
                              ph_error *err)
{
    if (!text)
        return ph_set_error(err, PH_E_INVALID, "ph_host_status_exposition: no text");
    *text = NULL;
    const json_t *h = json_object_get(status, "host");
    const json_t *plugins = json_object_get(status, "plugins");
    if (!json_is_object(h) || !json_is_array(plugins))
        return ph_set_error(err, PH_E_INVALID, "not a status object (ph_host_status)");
    if (format != PH_EXPOSITION_PROMETHEUS && format != PH_EXPOSITION_OPENMETRICS)
        return ph_set_error(err, PH_E_INVALID, "unknown exposition format %u", format);
    struct buf b = {.om = format == PH_EXPOSITION_OPENMETRICS};
    size_t i;
    json_t *p;

    family(&b, "plughost_info", "gauge", "The host's version; always 1.");
    sample(&b, "plughost_info", 1, "version", str(h, "version"), NULL);
    family(&b, "plughost_start_time_seconds", "gauge", "When the host started, Unix time.");
    sample(&b, "plughost_start_time_seconds", num(h, "started_unix_ms") / 1000.0, NULL);
    family(&b, "plughost_uptime_seconds", "gauge", "Seconds since the host started.");
    sample(&b, "plughost_uptime_seconds", num(h, "uptime_s"), NULL);
    family(&b, "plughost_plugins", "gauge", "Plugins the host holds, whatever their state.");
    sample(&b, "plughost_plugins", num(h, "plugins"), NULL);
    if (json_object_get(h, "clients")) {
        family(&b, "plughost_clients", "gauge", "Clients connected to serve --listen.");
        sample(&b, "plughost_clients", num(h, "clients"), NULL);
    }
    family(&b, "plughost_calls_total", "counter", "Calls answered, whichever way.");
    sample(&b, "plughost_calls_total", num(h, "calls_total"), NULL);
    family(&b, "plughost_calls_pending", "gauge", "Calls not answered yet.");
    sample(&b, "plughost_calls_pending", num(h, "calls_pending"), NULL);
    if (json_object_get(h, "memory_bytes")) {
        family(&b, "plughost_resident_memory_bytes", "gauge", "The host's own resident memory.");
        sample(&b, "plughost_resident_memory_bytes", num(h, "memory_bytes"), NULL);
    }
    if (json_object_get(h, "cpu_seconds")) {
        family(&b, "plughost_cpu_seconds_total", "counter",
               "The host's own CPU time, user and system.");
        sample(&b, "plughost_cpu_seconds_total", num(h, "cpu_seconds"), NULL);
    }

    family(&b, "plughost_plugin_info", "gauge",
           "A plugin's file and version (escaped as plughost shows them); always 1.");
    json_array_foreach(plugins, i, p)
    {
        sample(&b, "plughost_plugin_info", 1, "plugin", plugin_label(p), "file", str(p, "file"),
               "version", str(p, "version"), NULL);
    }
    family(&b, "plughost_plugin_up", "gauge", "1 while the plugin's process is ready for calls.");
    json_array_foreach(plugins, i, p)
    {
        const char *st = str(p, "state");
        sample(&b, "plughost_plugin_up", st && strcmp(st, "ready") == 0, "plugin", plugin_label(p),
               NULL);
    }
    per_plugin(&b, plugins, "plughost_plugin_restarts_total", "counter",
               "Times the plugin's process was started again after it ended.", "restarts", NULL);
    family(&b, "plughost_plugin_circuit_open", "gauge",
           "1 while the plugin's circuit breaker is open (calls fail at once).");
    json_array_foreach(plugins, i, p)
    {
        const char *st = str(json_object_get(p, "circuit"), "state");
        sample(&b, "plughost_plugin_circuit_open", st && strcmp(st, "open") == 0, "plugin",
               plugin_label(p), NULL);
    }
    per_plugin(&b, plugins, "plughost_plugin_recent_failures", "gauge",
               "Abnormal ends within the circuit breaker's window.", "recent_failures", "circuit");
    per_plugin(&b, plugins, "plughost_plugin_calls_served_total", "counter",
               "Calls the plugin answered with a result.", "calls_served", NULL);
    family(&b, "plughost_plugin_calls_failed_total", "counter",
           "Calls answered with an error, by cause (the host's ending names and the rest).");
    json_array_foreach(plugins, i, p)
    {
        const char *cause;
        json_t *v;
        json_object_foreach(json_object_get(p, "calls_failed"), cause, v)
        {
            sample(&b, "plughost_plugin_calls_failed_total", json_number_value(v), "plugin",
                   plugin_label(p), "cause", cause, NULL);
        }
    }
    per_plugin(&b, plugins, "plughost_plugin_violations_total", "counter",
               "Processes of the plugin the sandbox ended for a refused syscall.", "count",
               "violations");
    family(&b, "plughost_plugin_last_violation_timestamp_seconds", "gauge",
           "When the sandbox last ended the plugin, Unix time, and for which syscall.");
    json_array_foreach(plugins, i, p)
    {
        const json_t *v = json_object_get(p, "violations");
        if (json_is_number(json_object_get(v, "last_unix_ms")))
            sample(&b, "plughost_plugin_last_violation_timestamp_seconds",
                   num(v, "last_unix_ms") / 1000.0, "plugin", plugin_label(p), "syscall",
                   str(v, "last_syscall"), NULL);
    }
    per_plugin(&b, plugins, "plughost_plugin_queue_depth", "gauge",
               "Calls waiting to be sent to the plugin.", "queue_depth", NULL);
    per_plugin(&b, plugins, "plughost_plugin_calls_in_flight", "gauge",
               "Calls sent to the plugin and not answered yet.", "in_flight", NULL);

    per_instance(&b, plugins, "plughost_instance_pid", "gauge", "The process id of the instance.",
                 "pid", NULL);
    family(&b, "plughost_instance_start_time_seconds", "gauge",
           "When the instance's process was started, Unix time.");
    json_array_foreach(plugins, i, p)
    {
        size_t k;
        json_t *in;
        json_array_foreach(json_object_get(p, "instances"), k, in)
        {
            char slot[24];
            snprintf(slot, sizeof slot, "%lld",
                     (long long)json_integer_value(json_object_get(in, "index")));
            sample(&b, "plughost_instance_start_time_seconds", num(in, "started_unix_ms") / 1000.0,
                   "plugin", plugin_label(p), "slot", slot, NULL);
        }
    }
    per_instance(&b, plugins, "plughost_instance_uptime_seconds", "gauge",
                 "Seconds since the instance's process was started.", "uptime_s", NULL);
    per_instance(&b, plugins, "plughost_instance_memory_bytes", "gauge",
                 "Memory of the instance now: its cgroup's (source=\"cgroup\") or its resident "
                 "set (source=\"rss\").",
                 "memory_bytes", "memory_source");
    per_instance(&b, plugins, "plughost_instance_cpu_seconds_total", "counter",
                 "CPU time of the instance's process, user and system.", "cpu_seconds",
                 "cpu_source");
    if (b.om)
        put(&b, "# EOF\n");
    if (b.failed || !b.s) {
        free(b.s);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    *text = b.s;
    if (len)
        *len = b.len;
    return PH_OK;
}
