/*
 * `plughost serve`: one serve session (serve.c), or with --mcp one MCP
 * session (mcp.c), on stdin/stdout. stdin, stdout (while answers wait for
 * room) and a signalfd sit in the host's own epoll set
 * (ph_host_watch_fd), so each turn is one wait in ph_host_process(): a
 * call costs the host one wait, one read, one send, one wait, one receive
 * and one write (tests/integration/test_serve_syscalls.py).
 *
 * It drives the host through its public API, as an embedding application
 * would. It must never do
 * work in a signal handler (there is none: SIGTERM and SIGINT are blocked
 * and read from a signalfd), never exit with a call unanswered, and never
 * read stdin while the session holds back input at its in-flight cap.
 */
#include "cli.h"
#include "dialect.h"
#include "log.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* stdout: written at once when it takes the bytes, else kept here and
 * written when the host's loop reports room, so a slow client never stops
 * the loop. While anything waits here stdin is not read (the client is
 * not reading its answers), so only answers already in flight and plugin
 * notifications can add to it; past OUT_MAX, the one place left that
 * waits, the host waits for the client rather than hold more. */
#define OUT_MAX (16u << 20)

struct out_buf {
    char *b;
    size_t off, len, cap;
    int dead;     /* a write failed for good: answers are dropped */
    int pollable; /* stdout can be watched in the host's epoll set */
};

static struct out_buf out;

/* Writes what waits until stdout would block. 0, or -1 when it is dead. */
static int out_push(void)
{
    while (out.off < out.len) {
        ssize_t w = write(STDOUT_FILENO, out.b + out.off, out.len - out.off);
        if (w > 0)
            out.off += (size_t)w;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else if (!(w < 0 && errno == EINTR)) {
            out.dead = 1;
            return -1;
        }
    }
    out.off = out.len = 0;
    return 0;
}

static size_t out_waiting(void)
{
    return out.len - out.off;
}

/* Past the bound, or where stdout cannot be watched: wait for room here. */
static int out_wait_room(size_t want)
{
    while (!out.dead && out_waiting() > want) {
        struct pollfd pf = {.fd = STDOUT_FILENO, .events = POLLOUT};
        if (poll(&pf, 1, -1) < 0 && errno != EINTR) {
            out.dead = 1;
            break;
        }
        out_push();
    }
    return out.dead ? -1 : 0;
}

static int write_stdout(void *ud, const char *b, size_t n)
{
    (void)ud;
    if (out.dead)
        return -1;
    if (out_waiting() + n > OUT_MAX && out_wait_room(n < OUT_MAX ? OUT_MAX - n : 0) < 0)
        return -1;
    if (out.off > 0 && out.len + n > out.cap) {
        memmove(out.b, out.b + out.off, out.len - out.off);
        out.len -= out.off;
        out.off = 0;
    }
    if (out.len + n > out.cap) {
        size_t cap = out.cap ? out.cap : 65536;
        while (cap < out.len + n)
            cap *= 2;
        char *nb = realloc(out.b, cap);
        if (!nb) {
            out.dead = 1;
            return -1;
        }
        out.b = nb;
        out.cap = cap;
    }
    memcpy(out.b + out.len, b, n);
    out.len += n;
    if (out_push() < 0)
        return -1;
    return out.pollable ? 0 : out_wait_room(0);
}

static void log_stderr(void *ud, const char *line)
{
    (void)ud;
    ph_clog_msg("warn", "session", NULL, "%s", line);
}

static void report_load_errors(ph_host *h)
{
    json_t *d = ph_host_describe(h);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(d, "errors"), i, e)
    {
        ph_clog_msg("error", "load_error",
                    json_pack("{s:O*}", "error", json_object_get(e, "error")), "not loaded: %s: %s",
                    json_string_value(json_object_get(e, "file")),
                    json_string_value(json_object_get(json_object_get(e, "error"), "message")));
    }
    json_decref(d);
}

int ph_cli_take_signals(int sfd, int *hup)
{
    struct signalfd_siginfo si;
    int n = 0;
    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP)
            (*hup)++;
        else
            n++;
    }
    return n;
}

void ph_cli_serve_reload(const struct ph_cli_opts *o, ph_host *host, const char *path)
{
    struct stat st;
    ph_error err;
    /* Whatever follows, the MCP tool list is built anew from what is. */
    ph_mcp_tools_stale(host);
    /* A renewed pins file takes effect here too. */
    if (ph_cli_pins(host, o, &err) < 0)
        ph_clog_msg("error", "host", NULL, "SIGHUP: %s; the pins in force stay", err.text);
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        ph_clog_msg("error", "host", NULL, "SIGHUP: %s is not a directory; nothing to reload",
                    path);
    } else {
        if (ph_host_reload_dir(host, path, &err) < 0)
            ph_clog_msg("error", "host", NULL, "reload failed: %s", err.text);
        else
            ph_clog_msg("info", "reloaded", NULL, "reloaded %s", path);
        report_load_errors(host);
    }
}

int ph_cli_serve_start(const struct ph_cli_opts *o, const char *path, ph_host **hostp, int *sfdp)
{
    /* Blocked before anything starts, so a signal during loading is kept
     * for the loop rather than killing the host with plugins running.
     * Plugin children clear their mask before exec. The mask is never
     * restored: a signal arriving after the last read of the signalfd would
     * then end the process with that signal instead of exit code 0. */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop_set, NULL);
    int sfd = signalfd(-1, &stop_set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0) {
        ph_clog_msg("error", "host", NULL, "signalfd: %s", strerror(errno));
        return PH_EXIT_HOST;
    }
    ph_host *host;
    ph_error err;
    if (ph_host_new(&o->host, &host, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        close(sfd);
        return PH_EXIT_HOST;
    }
    ph_host_set_event_handler(host, ph_cli_print_event, NULL);
    if (ph_cli_record(host, o, &err) < 0 || ph_cli_pins(host, o, &err) < 0 ||
        (ph_cli_load(host, path, &err) < 0 && err.status != PH_E_PLUGIN)) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        ph_host_free(host);
        close(sfd);
        return PH_EXIT_HOST;
    }
    report_load_errors(host);
    *hostp = host;
    *sfdp = sfd;
    return PH_EXIT_OK;
}

int ph_cli_serve(const struct ph_cli_opts *o, const char *path)
{
    if (o->listen)
        return ph_cli_serve_listen(o, path);
    ph_host *host;
    int sfd;
    int rc = ph_cli_serve_start(o, path, &host, &sfd);
    if (rc != PH_EXIT_OK)
        return rc;
    ph_error err;
    struct ph_serve_opts so = {
        .framing = o->framing,
        .max_message = o->host.max_message,
        .max_inflight = o->max_inflight,
        .on_event = ph_cli_print_event,
        .log = log_stderr,
    };
    struct ph_dialect sess, *s = &sess;
    if (ph_dialect_new(&sess, o->mcp, host, &so, write_stdout, NULL) < 0) {
        ph_clog_msg("error", "host", NULL, "out of memory");
        ph_host_free(host);
        close(sfd);
        return PH_EXIT_HOST;
    }
    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
    /* One wait per turn, ph_host_process()'s: stdin, stdout (while answers
     * wait for room) and the signals sit in the host's epoll set beside
     * the plugins. A descriptor epoll refuses (a regular file, /dev/null)
     * is always ready: stdin is then read without waiting, stdout written
     * as if blocking. */
    unsigned in_ready = 0, out_ready = 0, sig_ready = 0;
    int in_pollable = 1, in_watched = 0, out_watched = 0, in_eof = 0;
    out.pollable = 1;
    if (ph_host_watch_fd(host, STDOUT_FILENO, PH_FD_OUT, &out_ready, &err) < 0) {
        out.pollable = 0;
    } else {
        ph_host_watch_fd(host, STDOUT_FILENO, 0, NULL, &err);
        /* A pipe or socket is the client's alone; a terminal is shared
         * with the shell, which must not find it non-blocking. */
        fl = fcntl(STDOUT_FILENO, F_GETFL);
        if (!isatty(STDOUT_FILENO) && fl >= 0)
            fcntl(STDOUT_FILENO, F_SETFL, fl | O_NONBLOCK);
    }
    if (ph_host_watch_fd(host, sfd, PH_FD_IN, &sig_ready, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        ph_host_free(host);
        ph_dialect_free(&sess);
        close(sfd);
        return PH_EXIT_HOST;
    }
    int signals = 0;
    for (;;) {
        ph_dialect_flush(s);
        /* Cancelled calls stay pending in the host until their plugin lets
         * go or is killed; waiting for them keeps that kill reported. */
        if (ph_dialect_done(s) && ph_host_pending(host) == 0 && (out.dead || !out_waiting()))
            break;
        int want_out = !out.dead && out_waiting() > 0 && out.pollable;
        if (want_out != out_watched &&
            ph_host_watch_fd(host, STDOUT_FILENO, want_out ? PH_FD_OUT : 0, &out_ready, &err) == 0)
            out_watched = want_out;
        /* Not read at the in-flight cap, nor while answers wait for the
         * client: that is the backpressure. */
        int want_in = !in_eof && ph_dialect_wants_input(s) && !out_waiting();
        if (in_pollable && want_in != in_watched) {
            if (ph_host_watch_fd(host, STDIN_FILENO, want_in ? PH_FD_IN : 0, &in_ready, &err) == 0)
                in_watched = want_in;
            else if (want_in)
                in_pollable = 0;
        }
        int in_now = want_in && (!in_pollable || in_ready);
        /* Waiting for a slow plugin to let go of a cancelled call: the
         * periodic turn is the host's to take, not a busy loop. */
        int timeout = in_now ? 0 : ph_host_pending(host) ? 100 : -1;
        if (ph_host_process(host, timeout, &err) < 0) {
            ph_clog_msg("error", "host", NULL, "%s", err.text);
            break;
        }
        if (sig_ready) {
            sig_ready = 0;
            int hup = 0;
            int got = ph_cli_take_signals(sfd, &hup);
            if (hup > 0 && signals == 0) {
                ph_cli_serve_reload(o, host, path);
                ph_dialect_plugins_changed(s);
            }
            if (got > 0) {
                if (signals == 0) {
                    ph_clog_msg("info", "stopping", NULL, "stopping: %zu call(s) in flight",
                                ph_dialect_inflight(s));
                    ph_dialect_stop(s);
                } else {
                    /* Asked again: the client will not wait for slow calls. */
                    ph_clog_msg("info", "stopping", NULL, "stopping now: cancelling %zu call(s)",
                                ph_dialect_inflight(s));
                    ph_dialect_cancel_all(s);
                }
                signals += got;
            }
        }
        if (out_ready) {
            out_ready = 0;
            out_push();
        }
        in_now = want_in && (!in_pollable || in_ready);
        in_ready = 0;
        if (!in_now || !ph_dialect_wants_input(s))
            continue;
        char buf[65536];
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r > 0) {
            ph_dialect_feed(s, buf, (size_t)r);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            /* a dead stdin (EBADF, EIO) ends input as EOF does */
            in_eof = 1;
            if (in_watched && ph_host_watch_fd(host, STDIN_FILENO, 0, NULL, &err) == 0)
                in_watched = 0;
            ph_dialect_eof(s);
        }
    }
    /* Answers still owed (only after a poll or host failure) are delivered
     * as failures while the host shuts its plugins down. */
    ph_host_free(host);
    ph_dialect_free(&sess);
    close(sfd);
    free(out.b);
    out = (struct out_buf){0};
    return PH_EXIT_OK;
}
