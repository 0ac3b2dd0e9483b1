/*
 * `plughost serve`: one serve session (serve.c), or with --mcp one MCP
 * session (mcp.c), on stdin/stdout, driven by a poll loop over stdin, the
 * host's descriptor and a signalfd.
 *
 * It drives the host through its external-loop API (ph_host_fd and
 * ph_host_process), as an embedding application would. It must never do
 * work in a signal handler (there is none: SIGTERM and SIGINT are blocked
 * and read from a signalfd), never exit with a call unanswered, and never
 * read stdin while the session holds back input at its in-flight cap.
 */
#include "cli.h"
#include "log.h"
#include "dialect.h"
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

/* Blocking in spirit: stdout may share a non-blocking file description with
 * stdin (a socket or a terminal), so EAGAIN waits for room instead of
 * losing the rest of a message. */
static int write_stdout(void *ud, const char *b, size_t n)
{
    (void)ud;
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, b, n);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = STDOUT_FILENO, .events = POLLOUT};
            (void)poll(&pf, 1, -1);
        } else if (!(w < 0 && errno == EINTR)) {
            return -1;
        }
    }
    return 0;
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
    int signals = 0;
    for (;;) {
        ph_dialect_flush(s);
        /* Cancelled calls stay pending in the host until their plugin lets
         * go or is killed; waiting for them keeps that kill reported. */
        if (ph_dialect_done(s) && ph_host_pending(host) == 0)
            break;
        int reading = ph_dialect_wants_input(s);
        struct pollfd pf[3] = {{.fd = reading ? STDIN_FILENO : -1, .events = POLLIN},
                               {.fd = ph_host_fd(host), .events = POLLIN},
                               {.fd = sfd, .events = POLLIN}};
        int ready = poll(pf, 3, ph_host_pending(host) ? 100 : -1);
        if (ready < 0 && errno != EINTR) {
            ph_clog_msg("error", "host", NULL, "poll: %s", strerror(errno));
            break;
        }
        int hup = 0;
        int got = (pf[2].revents & POLLIN) ? ph_cli_take_signals(sfd, &hup) : 0;
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
        /* Only when the host's descriptor says so (an answer, a deadline,
         * or answers waiting: host.h's contract), or on the periodic
         * timeout: a woken client costs no empty epoll_wait per call. */
        if ((ready <= 0 || (pf[1].revents & POLLIN) || got > 0 || hup > 0) &&
            ph_host_process(host, 0, &err) < 0) {
            ph_clog_msg("error", "host", NULL, "%s", err.text);
            break;
        }
        if (!reading || !ph_dialect_wants_input(s) ||
            !(pf[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
            continue;
        char buf[65536];
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r > 0)
            ph_dialect_feed(s, buf, (size_t)r);
        else if (r == 0 || (errno != EAGAIN && errno != EINTR))
            ph_dialect_eof(s); /* a dead stdin (EBADF, EIO) ends input as EOF does */
    }
    /* Answers still owed (only after a poll or host failure) are delivered
     * as failures while the host shuts its plugins down. */
    ph_host_free(host);
    ph_dialect_free(&sess);
    close(sfd);
    return PH_EXIT_OK;
}
