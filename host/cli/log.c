/*
 * log: the text and JSON formats of the command's stderr (log.h).
 */
#include "log.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum ph_clog_format format = PH_CLOG_TEXT;

int ph_clog_parse(const char *name)
{
    if (name && strcmp(name, "text") == 0)
        return PH_CLOG_TEXT;
    if (name && strcmp(name, "json") == 0)
        return PH_CLOG_JSON;
    return -1;
}

void ph_clog_set_format(enum ph_clog_format f)
{
    format = f;
}

enum ph_clog_format ph_clog_get_format(void)
{
    return format;
}

/* Events both formats leave out: the ones a session turns into client
 * messages, and endings nobody needs told of. "reason" is the plugin's own
 * word in a setup_error: only the host's stop (status killed) is kept quiet
 * by it. */
static int is_quiet(json_t *ev, const char *type)
{
    static const char *const shown[] = {"log",          "trace",        "receipt",
                                        "pin_mismatch", "rate_limited", "record_error",
                                        "ended",        "hello_cache",  "hello_changed"};
    int known = 0;
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        known |= strcmp(type, shown[i]) == 0;
    if (!known)
        return 1;
    if (strcmp(type, "ended") != 0)
        return 0;
    const char *status = json_string_value(json_object_get(ev, "status"));
    const char *reason = json_string_value(
        json_object_get(json_object_get(json_object_get(ev, "error"), "data"), "reason"));
    return status && (!strcmp(status, "ok") ||
                      (!strcmp(status, "killed") && reason && !strcmp(reason, "host stopping")));
}

static void text_event(json_t *ev, const char *type, const char *plugin)
{
    if (strcmp(type, "log") == 0) {
        ph_text_print(stderr, "[%s] %s: %s", plugin ? plugin : "?",
                      json_string_value(json_object_get(ev, "level")),
                      json_string_value(json_object_get(ev, "message")));
    } else if (strcmp(type, "trace") == 0) {
        ph_text_print(stderr, "trace %s %s %s (%lld bytes)", plugin ? plugin : "?",
                      json_string_value(json_object_get(ev, "direction")),
                      json_string_value(json_object_get(ev, "bytes")),
                      (long long)json_integer_value(json_object_get(ev, "length")));
    } else if (strcmp(type, "receipt") == 0) {
        ph_text_print(stderr, "receipt %s.%s: wall %lld us, cpu %lld us, peak rss %lld KiB",
                      plugin ? plugin : "?", json_string_value(json_object_get(ev, "method")),
                      (long long)json_integer_value(json_object_get(ev, "wall_us")),
                      (long long)json_integer_value(json_object_get(ev, "cpu_us")),
                      (long long)json_integer_value(json_object_get(ev, "peak_rss_kib")));
        /* The call that started a cold plugin (--lazy). */
        if (json_object_get(ev, "start_us"))
            ph_text_print(stderr, "receipt %s.%s: cold start %lld us", plugin ? plugin : "?",
                          json_string_value(json_object_get(ev, "method")),
                          (long long)json_integer_value(json_object_get(ev, "start_us")));
    } else if (strcmp(type, "hello_cache") == 0 || strcmp(type, "hello_changed") == 0) {
        /* The hello cache (--hello-cache): an entry ignored, a real
         * handshake that differed from the cached one. */
        const char *w = json_string_value(json_object_get(ev, "warning"));
        ph_text_print(stderr, "plughost: %s: %s", json_string_value(json_object_get(ev, "file")),
                      w ? w : "its handshake differs from the cached one; the cache is renewed");
    } else if (strcmp(type, "pin_mismatch") == 0) {
        size_t i;
        json_t *c;
        ph_text_print(stderr,
                      "plughost: %s (%s) is not offered: its surface does not match its pin:",
                      plugin ? plugin : "?", json_string_value(json_object_get(ev, "file")));
        json_array_foreach(json_object_get(ev, "changes"), i, c)
        {
            ph_text_print(stderr, "plughost:   %s", json_string_value(c));
        }
        ph_text_print(stderr, "plughost:   if the change is expected, renew the pin: plughost pin "
                              "--output PINS FILE, then SIGHUP");
    } else if (strcmp(type, "rate_limited") == 0) {
        ph_text_print(stderr,
                      "plughost: %s sends more than %lld %ss a second: dropping them (%lld so far)",
                      plugin ? plugin : "?",
                      (long long)json_integer_value(json_object_get(ev, "limit_per_s")),
                      json_string_value(json_object_get(ev, "kind")),
                      (long long)json_integer_value(json_object_get(ev, "dropped")));
    } else if (strcmp(type, "record_error") == 0) {
        ph_text_print(stderr, "plughost: %s", json_string_value(json_object_get(ev, "message")));
    } else if (strcmp(type, "ended") == 0) {
        ph_text_print(stderr, "plughost: %s",
                      json_string_value(json_object_get(json_object_get(ev, "error"), "message")));
    }
}

/* Writes one JSON line: time, level, plugin (if any), event, fields (all
 * borrowed but fields, which is stolen). One fwrite, so lines from one
 * process never interleave on an unbuffered stderr. */
static void json_line(const char *level, const char *plugin, const char *event, json_t *fields)
{
    struct timespec ts;
    struct tm tm;
    char when[40] = "";
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm)) {
        size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    }
    json_t *o = json_object();
    char *s = NULL;
    if (o) {
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "level", json_string(level ? level : "info"));
        if (plugin)
            json_object_set_new(o, "plugin", json_string(plugin));
        json_object_set_new(o, "event", json_string(event));
        json_object_set_new(o, "fields", fields ? fields : json_object());
        fields = NULL;
        s = ph_text_json(o, JSON_COMPACT);
    }
    json_decref(fields);
    json_decref(o);
    if (!s) {
        /* Out of memory (or a value jansson cannot write): still one
         * parseable line, rather than the event unseen. */
        fputs("{\"level\":\"error\",\"event\":\"log_failed\",\"fields\":{}}\n", stderr);
        return;
    }
    size_t len = strlen(s);
    char *line = realloc(s, len + 2);
    if (!line) {
        fprintf(stderr, "%s\n", s);
        free(s);
        return;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    fwrite(line, 1, len + 1, stderr);
    free(line);
}

/* The level a log line of a plugin is filed under: the SDK's four levels
 * as they are, anything else a plugin sends (its own word) as "info", so a
 * pipeline's filter on level sees only known values; the plugin's word
 * stays in fields.plugin_level. */
static const char *plugin_level(json_t *ev)
{
    static const char *const known[] = {"debug", "info", "warn", "error"};
    const char *l = json_string_value(json_object_get(ev, "level"));
    for (size_t i = 0; l && i < sizeof known / sizeof known[0]; i++)
        if (strcmp(l, known[i]) == 0)
            return known[i];
    return NULL;
}

static const char *event_level(json_t *ev, const char *type)
{
    if (strcmp(type, "log") == 0) {
        const char *l = plugin_level(ev);
        return l ? l : "info";
    }
    if (strcmp(type, "trace") == 0)
        return "debug";
    if (strcmp(type, "receipt") == 0)
        return "info";
    if (strcmp(type, "pin_mismatch") == 0 || strcmp(type, "rate_limited") == 0 ||
        strcmp(type, "hello_cache") == 0 || strcmp(type, "hello_changed") == 0)
        return "warn";
    return "error";
}

static void json_event(json_t *ev, const char *type, const char *plugin)
{
    /* The event's own data, without what the line's keys already say. */
    json_t *fields = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(ev, key, v)
    {
        if (strcmp(key, "type") == 0 || strcmp(key, "plugin") == 0)
            continue;
        if (fields && strcmp(type, "log") == 0 && strcmp(key, "level") == 0) {
            if (!plugin_level(ev))
                json_object_set(fields, "plugin_level", v);
            continue;
        }
        if (fields)
            json_object_set(fields, key, v);
    }
    json_line(event_level(ev, type), plugin, type, fields);
}

void ph_clog_event(json_t *ev)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    const char *plugin = json_string_value(json_object_get(ev, "plugin"));
    if (!type || is_quiet(ev, type))
        return;
    if (format == PH_CLOG_JSON)
        json_event(ev, type, plugin);
    else
        text_event(ev, type, plugin);
}

void ph_clog_msg(const char *level, const char *event, json_t *fields, const char *fmt, ...)
{
    char small[512], *line = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= sizeof small) {
        line = malloc((size_t)n + 1);
        if (line) {
            va_start(ap, fmt);
            vsnprintf(line, (size_t)n + 1, fmt, ap);
            va_end(ap);
        }
    }
    if (n < 0 || !line) {
        line = small;
        snprintf(small, sizeof small, "(message not shown: out of memory)");
        n = (int)strlen(small);
    }
    if (format == PH_CLOG_TEXT) {
        ph_text_print(stderr, "plughost: %s", line);
        json_decref(fields);
    } else {
        /* The same view as the text line: the arguments may hold bytes that
         * are not UTF-8 (a file name), which a JSON string cannot carry. */
        char *view = ph_text_escape_dup(line, (size_t)n, 0);
        if (!fields)
            fields = json_object();
        if (fields && view)
            json_object_set_new(fields, "message", json_string(view));
        json_line(level, NULL, event, fields);
        free(view);
    }
    if (line != small)
        free(line);
}

void ph_clog_rpc_error(const char *plugin, json_t *error)
{
    if (format == PH_CLOG_JSON) {
        json_line("error", plugin, "call_error", json_pack("{s:O}", "error", error));
        return;
    }
    char *s = ph_text_json(error, JSON_COMPACT);
    ph_text_print(stderr, "plughost: %s", json_string_value(json_object_get(error, "message")));
    ph_text_print(stderr, "error: %s", s ? s : "{}");
    free(s);
}
