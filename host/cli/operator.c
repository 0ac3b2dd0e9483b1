/*
 * operator: plughost/status and plughost/metrics on `serve --listen`, the
 * metrics file, and the `status` / `metrics` commands (operator.h).
 */
#include "operator.h"
#include "cli.h"
#include "log.h"
#include "text.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int set_err(ph_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(ph_error *err, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return status;
}

int ph_op_allowed(const struct ph_listen_allow *a, uid_t uid)
{
    if (uid == 0 || uid == geteuid())
        return 1;
    for (size_t i = 0; a && i < a->nuids; i++)
        if (a->uids[i] == uid)
            return 1;
    return 0;
}

static json_t *status_with_clients(ph_host *host, size_t clients, ph_error *err)
{
    json_t *st = NULL;
    if (ph_host_status(host, &st, err) < 0)
        return NULL;
    json_object_set_new(json_object_get(st, "host"), "clients", json_integer((json_int_t)clients));
    return st;
}

/* plughost/metrics' params: none, or {"format": "prometheus" |
 * "openmetrics"}. Returns the format, or -1. */
static int metrics_format(json_t *params)
{
    if (!params || (json_is_array(params) && json_array_size(params) == 0))
        return PH_EXPOSITION_PROMETHEUS;
    json_t *f = json_object_get(params, "format");
    const char *name = json_string_value(f);
    if (!json_is_object(params) || json_object_size(params) != (f != NULL))
        return -1;
    if (!f || (name && strcmp(name, "prometheus") == 0))
        return PH_EXPOSITION_PROMETHEUS;
    if (name && strcmp(name, "openmetrics") == 0)
        return PH_EXPOSITION_OPENMETRICS;
    return -1;
}

int ph_op_answer(ph_host *host, const char *method, json_t *params, size_t clients, json_t **result,
                 json_t **error)
{
    ph_error err;
    *result = *error = NULL;
    int metrics = strcmp(method, "plughost/metrics") == 0;
    if (!metrics && strcmp(method, "plughost/status") != 0) {
        *error = ph_wire_error_obj(PH_RPC_METHOD_NOT_FOUND, "Method not found", NULL);
        return -1;
    }
    int format = metrics ? metrics_format(params) : 0;
    if (format < 0) {
        *error = ph_wire_error_obj(
            PH_RPC_INVALID_PARAMS, "Invalid params",
            json_pack("{s:s}", "detail",
                      "plughost/metrics takes no params or {\"format\": \"prometheus\" | "
                      "\"openmetrics\"}"));
        return -1;
    }
    json_t *st = status_with_clients(host, clients, &err);
    if (st && !metrics) {
        *result = st;
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    if (st && ph_host_status_exposition(st, (unsigned)format, &text, &len, &err) == 0) {
        *result = json_pack("{s:s,s:s%}", "content_type",
                            format == PH_EXPOSITION_OPENMETRICS ? PH_STATUS_CONTENT_TYPE_OPENMETRICS
                                                                : PH_STATUS_CONTENT_TYPE,
                            "text", text, len);
        free(text);
    }
    json_decref(st);
    if (*result)
        return 0;
    *error = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "Internal error",
                               json_pack("{s:s}", "detail", err.text));
    return -1;
}

int ph_op_write_metrics(ph_host *host, size_t clients, const char *path, ph_error *err)
{
    json_t *st = status_with_clients(host, clients, err);
    char *text = NULL;
    size_t len = 0;
    /* node_exporter's textfile collector reads the Prometheus format. */
    int rc =
        st ? ph_host_status_exposition(st, PH_EXPOSITION_PROMETHEUS, &text, &len, err) : PH_E_NOMEM;
    json_decref(st);
    if (rc < 0)
        return rc;
    /* Beside the target, so rename(2) stays on one filesystem; a name the
     * textfile collector skips (it reads *.prom only). */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        free(text);
        return set_err(err, PH_E_NOMEM, "out of memory");
    }
    snprintf(tmp, plen + 32, "%s.%d.tmp", path, (int)getpid());
    /* Made afresh: whatever stands at that name (a link someone placed
     * there) is removed, never written through. */
    if (unlink(tmp) < 0 && errno != ENOENT) {
        rc = set_err(err, PH_E_SYSTEM, "%s: %s", tmp, strerror(errno));
        free(tmp);
        free(text);
        return rc;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    rc = fd < 0 ? set_err(err, PH_E_SYSTEM, "%s: %s", tmp, strerror(errno)) : PH_OK;
    /* The umask must not take the collector's read away. */
    if (rc == PH_OK && fchmod(fd, 0644) < 0)
        rc = set_err(err, PH_E_SYSTEM, "chmod %s: %s", tmp, strerror(errno));
    for (size_t off = 0; rc == PH_OK && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = set_err(err, PH_E_SYSTEM, "write %s: %s", tmp,
                         w < 0 ? strerror(errno) : "no progress");
        else
            off += (size_t)w;
    }
    if (fd >= 0 && close(fd) < 0 && rc == PH_OK)
        rc = set_err(err, PH_E_SYSTEM, "close %s: %s", tmp, strerror(errno));
    if (rc == PH_OK && rename(tmp, path) < 0)
        rc = set_err(err, PH_E_SYSTEM, "rename to %s: %s", path, strerror(errno));
    if (rc != PH_OK && fd >= 0)
        (void)unlink(tmp);
    free(tmp);
    free(text);
    return rc;
}

/* ---- the client side ---- */

/* Asks the server at path for method and returns its answer's "result"
 * (new reference), or NULL having printed why; *code is the exit code. */
static json_t *ask(const char *path, const char *method, const char *params, int *code)
{
    *code = PH_EXIT_HOST;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        ph_clog_msg("error", "operator_client", NULL, "socket path too long: %s", path);
        *code = PH_EXIT_USAGE;
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ph_clog_msg("error", "operator_client", NULL, "socket: %s", strerror(errno));
        return NULL;
    }
    /* A server that stops answering must not hang a monitoring script. */
    struct timeval tv = {.tv_sec = 30};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        ph_clog_msg("error", "operator_client", NULL, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    char req[192];
    int n = snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"%s%s}\n",
                     method, params ? ",\"params\":" : "", params ? params : "");
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        ph_clog_msg("error", "operator_client", NULL, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    char *nl = NULL;
    while (buf && !nl) {
        if (len + 1 >= cap) {
            if (cap >= PH_OP_MAX_ANSWER)
                break;
            char *b = realloc(buf, cap * 2);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        nl = memchr(buf + len, '\n', (size_t)r);
        len += (size_t)r;
    }
    close(fd);
    if (!buf || !nl) {
        ph_clog_msg("error", "operator_client", NULL, "%s: %s", path,
                    !buf             ? "out of memory"
                    : len + 1 >= cap ? "answer too large"
                                     : "no answer");
        free(buf);
        return NULL;
    }
    char why[200];
    json_t *msg = ph_wire_parse(buf, (size_t)(nl - buf), why, sizeof why);
    free(buf);
    if (!msg) {
        ph_clog_msg("error", "operator_client", NULL, "%s: not a JSON-RPC answer: %s", path, why);
        return NULL;
    }
    json_t *result = json_incref(json_object_get(msg, "result"));
    if (!result) {
        ph_clog_rpc_error(NULL, json_object_get(msg, "error"));
        *code = PH_EXIT_METHOD_ERROR;
    }
    json_decref(msg);
    if (result)
        *code = PH_EXIT_OK;
    return result;
}

int ph_op_metrics_cmd(const char *socket_path, int openmetrics)
{
    int code;
    json_t *r = ask(socket_path, "plughost/metrics",
                    openmetrics ? "{\"format\":\"openmetrics\"}" : NULL, &code);
    const char *text = json_string_value(json_object_get(r, "text"));
    if (r && !text) {
        ph_clog_msg("error", "operator_client", NULL, "%s: the answer has no text", socket_path);
        code = PH_EXIT_HOST;
    } else if (text) {
        /* The server made it printable ASCII; checked, not trusted. */
        size_t n = json_string_length(json_object_get(r, "text"));
        for (size_t i = 0; i < n; i++)
            if (!((text[i] >= 0x20 && text[i] < 0x7f) || text[i] == '\n')) {
                ph_clog_msg("error", "operator_client", NULL,
                            "%s: the exposition holds a control byte", socket_path);
                json_decref(r);
                return PH_EXIT_HOST;
            }
        fwrite(text, 1, n, stdout);
    }
    json_decref(r);
    return code;
}

static void human_bytes(double b, char *out, size_t n)
{
    if (b >= 1048576)
        snprintf(out, n, "%.1fMiB", b / 1048576);
    else
        snprintf(out, n, "%.0fKiB", b / 1024);
}

static void when(double unix_ms, char *out, size_t n)
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, n, "?");
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

static void print_status(const json_t *st)
{
    const json_t *h = json_object_get(st, "host");
    char mem[32];
    human_bytes(num(h, "memory_bytes"), mem, sizeof mem);
    ph_text_print(stdout,
                  "host: pid %d, plughost %s, up %.1fs, %d plugins, %d clients, %.0f calls "
                  "(%d pending), memory %s, cpu %.2fs",
                  (int)num(h, "pid"), str(h, "version", "?"), num(h, "uptime_s"),
                  (int)num(h, "plugins"), (int)num(h, "clients"), num(h, "calls_total"),
                  (int)num(h, "calls_pending"), mem, num(h, "cpu_seconds"));
    ph_text_print(stdout, "%-16s %-7s %7s %9s %8s %-7s %8s %7s %5s %5s %-16s %7s", "PLUGIN",
                  "STATE", "PID", "UPTIME", "RESTARTS", "CIRCUIT", "SERVED", "FAILED", "QUEUE",
                  "INFL", "MEMORY", "CPU");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(st, "plugins"), i, p)
    {
        const json_t *in = json_array_get(json_object_get(p, "instances"), 0);
        double failed = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, "calls_failed"), k, v) failed +=
            json_number_value(v);
        char memtxt[40] = "-", pid[16] = "-", up[24] = "-", cpu[24] = "-";
        if (in) {
            if (json_object_get(in, "memory_bytes")) {
                char b[24];
                human_bytes(num(in, "memory_bytes"), b, sizeof b);
                snprintf(memtxt, sizeof memtxt, "%s(%s)", b, str(in, "memory_source", "?"));
            }
            snprintf(pid, sizeof pid, "%d", (int)num(in, "pid"));
            snprintf(up, sizeof up, "%.1fs", num(in, "uptime_s"));
            if (json_object_get(in, "cpu_seconds"))
                snprintf(cpu, sizeof cpu, "%.2fs", num(in, "cpu_seconds"));
        }
        const json_t *circ = json_object_get(p, "circuit");
        ph_text_print(stdout, "%-16s %-7s %7s %9s %8d %-7s %8.0f %7.0f %5d %5d %-16s %7s",
                      str(p, "name", str(p, "file", "?")), str(p, "state", "?"), pid, up,
                      (int)num(p, "restarts"), str(circ, "state", "?"), num(p, "calls_served"),
                      failed, (int)num(p, "queue_depth"), (int)num(p, "in_flight"), memtxt, cpu);
        if (failed > 0) {
            char line[512] = "  failed:";
            json_object_foreach(json_object_get(p, "calls_failed"), k, v)
            {
                if (json_number_value(v) > 0) {
                    size_t n = strlen(line);
                    snprintf(line + n, sizeof line - n, " %s %.0f", k, json_number_value(v));
                }
            }
            ph_text_print(stdout, "%s", line);
        }
        if (!strcmp(str(circ, "state", ""), "open"))
            ph_text_print(stdout, "  circuit open for another %.0f ms after %d recent failures",
                          num(circ, "retry_after_ms"), (int)num(circ, "recent_failures"));
        /* A pool's other processes, one line each under the first's. */
        size_t j;
        json_t *o;
        json_array_foreach(json_object_get(p, "instances"), j, o)
        {
            if (j == 0)
                continue;
            char b[24] = "-";
            if (json_object_get(o, "memory_bytes"))
                human_bytes(num(o, "memory_bytes"), b, sizeof b);
            ph_text_print(stdout,
                          "  instance %d: pid %d, %s, up %.1fs, %.0f calls, %d in flight, "
                          "memory %s, cpu %.2fs",
                          (int)num(o, "index"), (int)num(o, "pid"), str(o, "state", "?"),
                          num(o, "uptime_s"), num(o, "calls_served"), (int)num(o, "in_flight"), b,
                          num(o, "cpu_seconds"));
        }
        const json_t *vio = json_object_get(p, "violations");
        if (num(vio, "count") > 0) {
            char t[32];
            when(num(vio, "last_unix_ms"), t, sizeof t);
            ph_text_print(stdout, "  violations: %.0f, the last %s at %s", num(vio, "count"),
                          str(vio, "last_syscall", "?"), t);
        }
    }
}

int ph_op_status_cmd(const char *socket_path, int json)
{
    int code;
    json_t *r = ask(socket_path, "plughost/status", NULL, &code);
    if (r && !json_is_array(json_object_get(r, "plugins"))) {
        ph_clog_msg("error", "operator_client", NULL, "%s: the answer is not a status object",
                    socket_path);
        code = PH_EXIT_HOST;
    } else if (r && json) {
        ph_text_print_json(stdout, r, JSON_INDENT(2));
    } else if (r) {
        print_status(r);
    }
    json_decref(r);
    return code;
}
