/*
 * `plughost serve --listen`: many clients at once on a unix socket, each
 * connection its own session (serve.c, or mcp.c with --mcp) with its own
 * framing, ids and in-flight cap, all on one host and one epoll loop with
 * the host's descriptor, the listening socket and a signalfd. No threads.
 *
 * Every connection is hostile until SO_PEERCRED says its uid or group is
 * allowed (listen.c), and even then one client must never see another's
 * answers, progress or notifications (host events are routed by call id),
 * never hold up another (output is buffered per client, bounded, and a
 * client that stops reading is dropped), and never outlive its connection
 * with calls running (a client that goes away has them cancelled). It must
 * never block on a client, and never do work in a signal handler.
 */
#include "cli.h"
#include "log.h"
#include "dialect.h"
#include "listen.h"
#include "operator.h"
#include "text.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Answers waiting for a client that reads slowly: past this, while more
 * arrive, the client is dropped. One message is always taken whole, so a
 * client costs at most this plus the largest message. */
#define OUT_MAX ((size_t)8 << 20)
/* Past this much unread output the client's requests are no longer read:
 * a client that sends faster than it reads slows only itself. */
#define OUT_PAUSE ((size_t)1 << 20)
#define LISTEN_BACKLOG 128
/* Out of descriptors or memory, accepting is paused this long and then
 * tried again: what frees them (a client leaving, a plugin restarting,
 * another process) need not be anything this loop sees. */
#define ACCEPT_RETRY_MS 250

/* epoll data for the fixed descriptors; clients use their pointer. */
enum { TAG_LISTEN = 1, TAG_SIGNAL, TAG_HOST };

struct client {
    struct server *sv;
    int fd;          /* -1 once closed; the session may still be draining */
    unsigned serial; /* for the log */
    struct ph_listen_peer peer;
    struct ph_dialect d;
    char *out; /* [off, len) not sent yet */
    size_t off, len, cap;
    uint64_t moved_ms; /* last time output was pending and moved */
    uint64_t in_ms;    /* last input, or since input is read again */
    uint32_t watching; /* epoll events registered */
    int in_eof;        /* the client half-closed: no more requests */
    const char *drop;  /* why it must go, or NULL */
    struct client *next;
};

struct server {
    const struct ph_cli_opts *o;
    ph_host *host;
    int epfd, lfd, sfd;
    int accepting;
    int starved;              /* accept failed for want of resources; logged once */
    uint64_t paused_ms;       /* when accepting was paused */
    size_t max_clients, open; /* connections with an open fd */
    size_t max_per_user;      /* for uids other than root and our own */
    uint64_t stall_ms;
    unsigned serial;
    struct ph_listen_allow allow;
    struct ph_listen_allow status_allow;  /* besides root and our own uid */
    uint64_t metrics_ms, metrics_next_ms; /* --metrics-file: every metrics_ms */
    struct ph_serve_opts so;
    struct client *clients;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(const struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct client *c, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* A connection's coming and going is routine; anything else said of
     * a client (a framing error, a drop) is the operator's concern. */
    int routine = strcmp(line, "disconnected") == 0 || strcmp(line, "closed") == 0 ||
                  strncmp(line, "connected ", 10) == 0;
    ph_clog_msg(routine ? "info" : "warn", "client",
                json_pack("{s:I,s:I,s:I}", "client", (json_int_t)c->serial, "uid",
                          (json_int_t)c->peer.uid, "pid", (json_int_t)c->peer.pid),
                "client %u (uid %u, pid %d): %s", c->serial, (unsigned)c->peer.uid,
                (int)c->peer.pid, line);
}

/* plughost/status and plughost/metrics, for the peers the operator
 * allows (operator.h). */
static int host_method(void *ud, const char *method, json_t *params, json_t **result,
                       json_t **error)
{
    struct client *c = ud;
    *result = NULL;
    if (!ph_op_allowed(&c->sv->status_allow, c->peer.uid)) {
        say(c, "refused %s: uid %u is not allowed the host's methods (--status-allow)", method,
            (unsigned)c->peer.uid);
        char d[120];
        snprintf(d, sizeof d, "uid %u may not use the host's methods (--status-allow)",
                 (unsigned)c->peer.uid);
        *error = ph_wire_error_obj(PH_LISTEN_RPC_REFUSED, "Not allowed",
                                   json_pack("{s:s}", "detail", d));
        return -1;
    }
    return ph_op_answer(c->sv->host, method, params, c->sv->open, result, error);
}

/* --metrics-file: written when due; a failure is said and tried again at
 * the next interval. */
static int metrics_due(struct server *sv)
{
    if (!sv->metrics_ms)
        return -1;
    uint64_t now = now_ms();
    if (now >= sv->metrics_next_ms) {
        ph_error err;
        if (ph_op_write_metrics(sv->host, sv->open, sv->o->metrics_file, &err) < 0)
            ph_clog_msg("error", "config", NULL, "--metrics-file: %s", err.text);
        sv->metrics_next_ms = now + sv->metrics_ms;
    }
    uint64_t left = sv->metrics_next_ms - now;
    return left > INT_MAX ? INT_MAX : (int)left;
}

static void session_log(void *ud, const char *line)
{
    say(ud, "%s", line);
}

/* Sends what the socket takes now. Returns 0, or -1 with c->drop set. */
static int push(struct client *c)
{
    while (c->off < c->len) {
        ssize_t w = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            c->off += (size_t)w;
            c->moved_ms = now_ms();
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            c->drop = "disconnected";
            return -1;
        }
    }
    if (c->off == c->len)
        c->off = c->len = 0;
    return 0;
}

/* The session's output callback: never blocks. */
static int client_write(void *ud, const char *b, size_t n)
{
    struct client *c = ud;
    if (c->fd < 0 || c->drop)
        return -1;
    size_t waiting = c->len - c->off;
    if (waiting > 0 && waiting + n > OUT_MAX) {
        c->drop = "not reading its answers (output buffer full)";
        return -1;
    }
    if (c->off > 0 && c->len + n > c->cap) {
        memmove(c->out, c->out + c->off, waiting);
        c->len = waiting;
        c->off = 0;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            c->drop = "out of memory for its answers";
            return -1;
        }
        c->out = p;
        c->cap = cap;
    }
    if (waiting == 0)
        c->moved_ms = now_ms();
    memcpy(c->out + c->len, b, n);
    c->len += n;
    return push(c);
}

/* Host events: a call's progress and a plugin's notifications go to the
 * client whose call it is, and to no other; the rest is the operator's. */
static void on_event(void *ud, json_t *ev)
{
    struct server *sv = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    int progress = type && strcmp(type, "progress") == 0;
    if (!progress && !(type && strcmp(type, "notification") == 0)) {
        ph_cli_print_event(NULL, ev);
        return;
    }
    for (struct client *c = sv->clients; c; c = c->next)
        if (ph_dialect_event(&c->d, ev))
            return;
    if (!progress)
        ph_clog_msg("warn", "notification_dropped", NULL,
                    "notification %s.%s is not forwarded: it was sent outside any "
                    "connected client's call",
                    json_string_value(json_object_get(ev, "plugin")),
                    json_string_value(json_object_get(ev, "method")));
}

/* Tells a peer it is not served, in one JSON-RPC error line, and closes. */
static void turn_away(int fd, int code, const char *message, const char *detail)
{
    json_t *e = ph_wire_error_response(
        NULL, ph_wire_error_obj(code, message, json_pack("{s:s}", "detail", detail)));
    char *s = e ? ph_text_json(e, JSON_COMPACT) : NULL;
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* over the NUL: the buffer is n + 1 bytes */
        /* A fresh socket's buffer takes a line this short whole; if not,
         * the peer gets less, never a wait. */
        (void)send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    free(s);
    json_decref(e);
    close(fd);
}

static void watch(struct client *c)
{
    uint32_t want = 0;
    if (c->fd < 0)
        return;
    if (!c->in_eof && !c->drop && ph_dialect_wants_input(&c->d) && c->len - c->off < OUT_PAUSE)
        want |= EPOLLIN;
    if (c->len > c->off)
        want |= EPOLLOUT;
    /* A client that goes away is seen even while its input is not read:
     * EPOLLHUP (both directions shut) is reported whatever is asked for.
     * EPOLLRDHUP is not asked for: after a half-close it would stay
     * raised and spin the loop. */
    if (want == c->watching)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    /* While its input was not read, the client could not make progress:
     * its input clock starts again now. */
    if ((want & EPOLLIN) && !(c->watching & EPOLLIN))
        c->in_ms = now_ms();
    if (epoll_ctl(c->sv->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->watching = want;
    else
        c->drop = "epoll_ctl failed";
}

static void hang_up(struct client *c, const char *why);

/* A client that holds a slot and nothing else: connected, nothing in
 * flight, nothing buffered either way, and silent for --stall-timeout. */
static int idle(const struct client *c, uint64_t now)
{
    return c->fd >= 0 && !c->drop && !c->in_eof && c->len == c->off &&
           ph_dialect_inflight(&c->d) == 0 && !ph_dialect_buffered(&c->d) &&
           now - c->in_ms >= c->sv->stall_ms;
}

/* When every slot is taken, the client idle the longest makes room: silent
 * connections must not keep out one that has work. Returns 1 if one left. */
static int evict_idle(struct server *sv)
{
    uint64_t now = now_ms();
    struct client *victim = NULL;
    for (struct client *c = sv->clients; c; c = c->next)
        if (idle(c, now) && (!victim || c->in_ms < victim->in_ms))
            victim = c;
    if (!victim)
        return 0;
    hang_up(victim, "idle while every slot was taken (--stall-timeout)");
    return 1;
}

/* Connections uid holds now. Root and plughost's own user are not counted
 * against a limit: they can stop the server anyway. */
static size_t held_by(const struct server *sv, uid_t uid)
{
    size_t n = 0;
    for (const struct client *c = sv->clients; c; c = c->next)
        n += c->fd >= 0 && c->peer.uid == uid;
    return n;
}

static void accept_one(struct server *sv, int fd)
{
    struct ph_listen_peer peer = {0};
    char why[200];
    ph_error err;
    int ok = ph_listen_check_peer(fd, &sv->allow, &peer, why, sizeof why, &err);
    if (ok <= 0) {
        ph_clog_msg("warn", "peer_refused", NULL,
                    "refused a connection from uid %u gid %u pid %d: %s", (unsigned)peer.uid,
                    (unsigned)peer.gid, (int)peer.pid, ok < 0 ? err.text : why);
        turn_away(fd, PH_LISTEN_RPC_REFUSED, "Not allowed", ok < 0 ? err.text : why);
        return;
    }
    if (peer.uid != 0 && peer.uid != geteuid() && held_by(sv, peer.uid) >= sv->max_per_user) {
        char d[160];
        snprintf(d, sizeof d, "uid %u has %zu connections, the most one user may hold",
                 (unsigned)peer.uid, sv->max_per_user);
        ph_clog_msg("warn", "peer_refused", NULL, "refused a connection from uid %u pid %d: %s",
                    (unsigned)peer.uid, (int)peer.pid, d);
        turn_away(fd, PH_LISTEN_RPC_FULL, "Too many clients", d);
        return;
    }
    if (sv->open >= sv->max_clients && !evict_idle(sv)) {
        char d[120];
        snprintf(d, sizeof d, "%zu clients are connected, the most this server takes",
                 sv->max_clients);
        ph_clog_msg("warn", "peer_refused", NULL, "refused a connection from uid %u pid %d: %s",
                    (unsigned)peer.uid, (int)peer.pid, d);
        turn_away(fd, PH_LISTEN_RPC_FULL, "Too many clients", d);
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c) {
        turn_away(fd, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory");
        return;
    }
    c->sv = sv;
    c->fd = fd;
    c->peer = peer;
    c->serial = ++sv->serial;
    c->in_ms = now_ms();
    struct ph_serve_opts so = sv->so;
    so.log_ud = c;
    so.host_method = sv->o->mcp ? NULL : host_method;
    so.host_method_ud = c;
    if (ph_dialect_new(&c->d, sv->o->mcp, sv->host, &so, client_write, c) < 0) {
        free(c);
        turn_away(fd, PH_RPC_INTERNAL_ERROR, "Internal error", "out of memory");
        return;
    }
    struct epoll_event ev = {.events = 0, .data.ptr = c};
    if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ph_clog_msg("error", "host", NULL, "epoll_ctl: %s", strerror(errno));
        ph_dialect_free(&c->d);
        free(c);
        close(fd);
        return;
    }
    c->watching = 0;
    c->next = sv->clients;
    sv->clients = c;
    sv->open++;
    say(c, "connected (gid %u)", (unsigned)peer.gid);
}

static void set_accepting(struct server *sv, int on)
{
    if (sv->lfd < 0 || sv->accepting == on)
        return;
    struct epoll_event ev = {.events = on ? EPOLLIN : 0, .data.u64 = TAG_LISTEN};
    if (epoll_ctl(sv->epfd, EPOLL_CTL_MOD, sv->lfd, &ev) == 0) {
        sv->accepting = on;
        sv->paused_ms = now_ms();
    }
}

/* While accepting is paused: re-arms it once ACCEPT_RETRY_MS have passed,
 * else returns the ms left (-1: not paused). */
static int accept_retry(struct server *sv)
{
    if (sv->lfd < 0 || sv->accepting)
        return -1;
    uint64_t waited = now_ms() - sv->paused_ms;
    if (waited >= ACCEPT_RETRY_MS) {
        set_accepting(sv, 1);
        return sv->accepting ? -1 : ACCEPT_RETRY_MS;
    }
    return (int)(ACCEPT_RETRY_MS - waited);
}

static void accept_all(struct server *sv)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (sv->starved)
                ph_clog_msg("info", "accepting", NULL, "accepting connections again");
            sv->starved = 0;
            accept_one(sv, fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The pending connection stays in the backlog; waking for it
             * again at once would spin, so it is tried again when a client
             * leaves or after ACCEPT_RETRY_MS, whichever comes first. */
            if (!sv->starved)
                ph_clog_msg("error", "host", NULL,
                            "accept: %s; pausing, trying again every %d ms and when a "
                            "client leaves",
                            strerror(errno), ACCEPT_RETRY_MS);
            sv->starved = 1;
            set_accepting(sv, 0);
        }
        return; /* EAGAIN, or a connection that died in the backlog */
    }
}

static void client_input(struct client *c, uint32_t events)
{
    if (events & (EPOLLHUP | EPOLLERR)) {
        /* Both directions are shut: it closed, and nobody can read the
         * answers to what it may still have sent. */
        c->drop = "disconnected";
        return;
    }
    if (!(c->watching & EPOLLIN) || !(events & EPOLLIN))
        return;
    char buf[65536];
    ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (r > 0) {
        c->in_ms = now_ms();
        ph_dialect_feed(&c->d, buf, (size_t)r);
    } else if (r == 0) {
        /* shutdown(SHUT_WR): the client still reads, as a pipe's reader
         * does after its writer is done; answers go out, then we close. */
        c->in_eof = 1;
        ph_dialect_eof(&c->d);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c->drop = "disconnected";
    }
}

/* Closes the connection; the session stays until its calls are answered. */
static void hang_up(struct client *c, const char *why)
{
    if (c->fd < 0)
        return;
    size_t inflight = ph_dialect_inflight(&c->d);
    if (why && inflight == 0 && strcmp(why, "disconnected") == 0) {
        say(c, "disconnected");
        ph_dialect_abort(&c->d);
    } else if (why) {
        say(c, "dropped: %s; cancelling %zu call(s) in flight", why, inflight);
        /* Not ph_dialect_stop: that would parse and answer (or, for a held
         * batch, start) everything it sent, for nobody to read. */
        ph_dialect_abort(&c->d);
        ph_dialect_cancel_all(&c->d);
    } else {
        say(c, "closed");
    }
    /* Closing the only descriptor removes it from the epoll set anyway;
     * the explicit removal only makes that independent of dup()s. */
    (void)epoll_ctl(c->sv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->out);
    c->out = NULL;
    c->off = c->len = c->cap = 0;
    c->sv->open--;
    set_accepting(c->sv, 1);
}

/* One of a client's stall clocks, running since `since`: past stall_ms the
 * client is marked to be dropped for why; otherwise the ms left are folded
 * into *next (the nearest deadline, -1: none yet). */
static void stall_clock(const struct server *sv, struct client *c, uint64_t now, uint64_t since,
                        const char *why, int *next)
{
    if (now - since >= sv->stall_ms) {
        c->drop = why;
        return;
    }
    uint64_t l = sv->stall_ms - (now - since);
    int left = l > INT_MAX ? INT_MAX : (int)l;
    *next = *next < 0 || left < *next ? left : *next;
}

/* Drops, closes and frees clients as their state says; returns the next
 * output deadline in ms from now (-1: none). */
static int tend(struct server *sv, int stopping)
{
    uint64_t now = now_ms();
    int next = -1;
    for (struct client **pp = &sv->clients; *pp;) {
        struct client *c = *pp;
        if (c->fd >= 0 && !c->drop && c->len > c->off)
            stall_clock(sv, c, now, c->moved_ms,
                        "its answers have waited unread too long (--stall-timeout)", &next);
        /* Read and waiting for the rest of a message: a client that stops
         * half-way would hold its buffer and its slot for ever. */
        if (c->fd >= 0 && !c->drop && (c->watching & EPOLLIN) && ph_dialect_buffered(&c->d))
            stall_clock(sv, c, now, c->in_ms,
                        "a partial message made no progress (--stall-timeout)", &next);
        if (c->drop)
            hang_up(c, c->drop);
        else if (c->fd >= 0 && (c->in_eof || stopping) && ph_dialect_done(&c->d) &&
                 c->len == c->off)
            hang_up(c, NULL); /* everything it asked for is answered and sent */
        if (c->fd < 0 && ph_dialect_done(&c->d)) {
            *pp = c->next;
            ph_dialect_free(&c->d);
            free(c);
            continue;
        }
        watch(c);
        pp = &c->next;
    }
    return next;
}

static int config_serve(struct server *sv, const struct ph_cli_opts *o, unsigned *mode)
{
    json_t *cfg = json_object_get(o->host.config, "serve");
    ph_error err;
    const char *smode = o->socket_mode;
    if (!smode)
        smode = json_string_value(json_object_get(cfg, "socket_mode"));
    *mode = PH_LISTEN_MODE;
    if (smode && ph_listen_parse_mode(smode, mode) < 0) {
        ph_clog_msg("error", "host", NULL, "socket mode \"%s\" is not an octal mode up to 0777",
                    smode);
        return -1;
    }
    sv->stall_ms = o->stall_ms ? o->stall_ms : PH_LISTEN_STALL_MS;
    sv->max_clients = o->max_clients;
    if (!sv->max_clients && json_is_integer(json_object_get(cfg, "max_clients")))
        sv->max_clients = (size_t)json_integer_value(json_object_get(cfg, "max_clients"));
    if (!sv->max_clients)
        sv->max_clients = PH_LISTEN_MAX_CLIENTS;
    sv->max_per_user = o->max_per_user ? o->max_per_user : PH_LISTEN_PER_USER(sv->max_clients);
    /* The file and the command line add up: both name who may connect. */
    for (int g = 0; g < 2; g++) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(cfg, g ? "allow_groups" : "allow_users"), i, v)
        {
            char num[32];
            const char *who = json_string_value(v);
            if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                who = num;
            }
            int rc = g ? ph_listen_allow_group(&sv->allow, who ? who : "", &err)
                       : ph_listen_allow_user(&sv->allow, who ? who : "", &err);
            if (rc < 0) {
                ph_clog_msg("error", "host", NULL, "configuration serve.%s: %s",
                            g ? "allow_groups" : "allow_users", err.text);
                return -1;
            }
        }
        size_t n = g ? o->nallow_groups : o->nallow_users;
        for (size_t k = 0; k < n; k++) {
            int rc = g ? ph_listen_allow_group(&sv->allow, o->allow_groups[k], &err)
                       : ph_listen_allow_user(&sv->allow, o->allow_users[k], &err);
            if (rc < 0) {
                ph_clog_msg("error", "host", NULL, "%s: %s", g ? "--allow-group" : "--allow-user",
                            err.text);
                return -1;
            }
        }
    }
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(cfg, "status_allow"), i, v)
    {
        char num[32];
        const char *who = json_string_value(v);
        if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            who = num;
        }
        if (ph_listen_allow_user(&sv->status_allow, who ? who : "", &err) < 0) {
            ph_clog_msg("error", "config", NULL, "configuration serve.status_allow: %s", err.text);
            return -1;
        }
    }
    for (size_t k = 0; k < o->nstatus_allow; k++)
        if (ph_listen_allow_user(&sv->status_allow, o->status_allow[k], &err) < 0) {
            ph_clog_msg("error", "config", NULL, "--status-allow: %s", err.text);
            return -1;
        }
    if (o->metrics_file)
        sv->metrics_ms =
            (uint64_t)(o->metrics_interval_s ? o->metrics_interval_s : PH_OP_METRICS_INTERVAL_S) *
            1000;
    return 0;
}

/* The listening socket: systemd's, or made at o->listen. *made_path is
 * set (to o->listen) only when it is ours to remove. */
static int open_socket(struct server *sv, unsigned mode, const char **made_path, struct stat *made)
{
    const char *l = sv->o->listen;
    int want_systemd = strcmp(l, "systemd") == 0 || strncmp(l, "systemd:", 8) == 0;
    char bound[128];
    ph_error err;
    int rc = ph_listen_activated(want_systemd && l[7] == ':' ? l + 8 : NULL, &sv->lfd, bound,
                                 sizeof bound, &err);
    if (rc < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return -1;
    }
    if (rc == 1) {
        /* Activated and given a path too: served only when both name the
         * same socket, since serving one and ignoring the other would
         * surprise whoever chose either. */
        if (!want_systemd && strcmp(bound, l) != 0) {
            ph_clog_msg("error", "host", NULL,
                        "--listen %s, but systemd passed a socket bound to \"%s\"; use "
                        "--listen=systemd, or the same path",
                        l, bound);
            return -1;
        }
        ph_clog_msg("info", "listening", NULL, "listening on %s (socket activation)",
                    bound[0] ? bound : "an unnamed socket");
        return 0;
    }
    if (want_systemd) {
        ph_clog_msg("error", "host", NULL,
                    "--listen=systemd, but no socket was passed to this process "
                    "(LISTEN_PID/LISTEN_FDS)");
        return -1;
    }
    if (ph_listen_bind(l, mode, LISTEN_BACKLOG, &sv->lfd, made, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return -1;
    }
    *made_path = l;
    ph_clog_msg("info", "listening", NULL, "listening on %s (mode %04o)", l, mode);
    return 0;
}

/* A plugin takes at most max_queue calls queued or in flight, from all
 * clients together; past that a call is refused "busy". Unless told
 * otherwise, each client may have max_queue / max_clients calls in flight,
 * so that however the others behave a client is never refused for want of
 * room: it is only read more slowly. Batches are held to the same cap
 * (max_batch). */
static size_t per_client_inflight(const struct server *sv, const struct ph_cli_opts *o)
{
    json_t *d = json_object_get(json_object_get(o->host.config, "defaults"), "max_queue");
    size_t queue = o->host.max_queue           ? o->host.max_queue
                   : json_integer_value(d) > 0 ? (size_t)json_integer_value(d)
                                               : PH_LISTEN_HOST_QUEUE;
    size_t fair = queue / sv->max_clients ? queue / sv->max_clients : 1;
    if (!o->max_inflight)
        return fair;
    if (o->max_inflight > fair)
        ph_clog_msg("error", "host", NULL,
                    "--max-inflight %zu for each of up to %zu clients is more than a "
                    "plugin's max_queue (%zu) holds: calls past it are refused as busy",
                    o->max_inflight, sv->max_clients, queue);
    return o->max_inflight;
}

static int add_fd(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int ph_cli_serve_listen(const struct ph_cli_opts *o, const char *path)
{
    struct server sv = {.o = o, .epfd = -1, .lfd = -1, .sfd = -1};
    const char *made_path = NULL;
    struct stat made;
    unsigned mode;
    int rc = PH_EXIT_USAGE;
    if (config_serve(&sv, o, &mode) < 0 || open_socket(&sv, mode, &made_path, &made) < 0)
        goto out;
    rc = ph_cli_serve_start(o, path, &sv.host, &sv.sfd);
    if (rc != PH_EXIT_OK)
        goto out;
    rc = PH_EXIT_HOST;
    sv.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (sv.epfd < 0 || add_fd(sv.epfd, sv.lfd, TAG_LISTEN) < 0 ||
        add_fd(sv.epfd, sv.sfd, TAG_SIGNAL) < 0 ||
        add_fd(sv.epfd, ph_host_fd(sv.host), TAG_HOST) < 0) {
        ph_clog_msg("error", "host", NULL, "epoll: %s", strerror(errno));
        goto out;
    }
    sv.accepting = 1;
    sv.so = (struct ph_serve_opts){
        .framing = o->framing,
        /* Not the plugin channel's limit: every client may buffer a
         * partial message this large. */
        .max_message = o->max_client_message ? o->max_client_message : PH_LISTEN_MAX_MESSAGE,
        .max_inflight = per_client_inflight(&sv, o),
        .log = session_log,
        .routed_events = 1,
    };
    /* A batch counts against the cap like its elements one by one would,
     * or one batch could fill a plugin's whole queue. */
    sv.so.max_batch = sv.so.max_inflight;
    ph_host_set_event_handler(sv.host, on_event, &sv);
    int signals = 0, failed = 0;
    ph_error err;
    for (;;) {
        for (struct client *c = sv.clients; c; c = c->next)
            ph_dialect_flush(&c->d);
        int stall = tend(&sv, signals > 0);
        if (signals > 0 && !sv.clients && ph_host_pending(sv.host) == 0)
            break;
        int timeout = ph_host_pending(sv.host) ? 100 : -1;
        if (stall >= 0 && (timeout < 0 || stall < timeout))
            timeout = stall;
        int retry = accept_retry(&sv);
        if (retry >= 0 && (timeout < 0 || retry < timeout))
            timeout = retry;
        int metrics = metrics_due(&sv);
        if (metrics >= 0 && (timeout < 0 || metrics < timeout))
            timeout = metrics;
        struct epoll_event evs[64];
        int n = epoll_wait(sv.epfd, evs, 64, timeout);
        if (n < 0 && errno != EINTR) {
            ph_clog_msg("error", "host", NULL, "epoll_wait: %s", strerror(errno));
            failed = 1;
            break;
        }
        /* The host is processed when its descriptor is ready, on a timeout,
         * and after signals; not for every client's bytes. */
        int host_due = n <= 0;
        for (int i = 0; i < n; i++) {
            uint64_t tag = evs[i].data.u64;
            if (tag == TAG_HOST || tag == TAG_SIGNAL || tag == TAG_LISTEN)
                host_due = 1;
            if (tag == TAG_LISTEN) {
                accept_all(&sv);
            } else if (tag == TAG_SIGNAL) {
                int hup = 0;
                int got = ph_cli_take_signals(sv.sfd, &hup);
                if (hup > 0 && signals == 0) {
                    ph_cli_serve_reload(o, sv.host, path);
                    for (struct client *c = sv.clients; c; c = c->next)
                        ph_dialect_plugins_changed(&c->d);
                }
                if (got > 0 && signals == 0) {
                    size_t calls = 0;
                    for (struct client *c = sv.clients; c; c = c->next)
                        calls += ph_dialect_inflight(&c->d);
                    ph_clog_msg("info", "stopping", NULL,
                                "stopping: no new connections; %zu client(s), %zu call(s) "
                                "in flight",
                                sv.open, calls);
                    /* The path is freed at once, so a new server can start
                     * while this one finishes. */
                    (void)epoll_ctl(sv.epfd, EPOLL_CTL_DEL, sv.lfd, NULL);
                    close(sv.lfd);
                    sv.lfd = -1;
                    if (made_path)
                        ph_listen_unlink(made_path, &made);
                    made_path = NULL;
                    for (struct client *c = sv.clients; c; c = c->next)
                        ph_dialect_stop(&c->d);
                } else if (got > 0) {
                    ph_clog_msg("info", "stopping", NULL, "stopping now: cancelling every call");
                    for (struct client *c = sv.clients; c; c = c->next)
                        ph_dialect_cancel_all(&c->d);
                }
                signals += got;
            } else if (tag != TAG_HOST) {
                struct client *c = evs[i].data.ptr;
                if (c->fd < 0 || c->drop)
                    continue;
                if (evs[i].events & EPOLLOUT)
                    (void)push(c);
                if (!c->drop)
                    client_input(c, evs[i].events);
            }
        }
        if (host_due && ph_host_process(sv.host, 0, &err) < 0) {
            ph_clog_msg("error", "host", NULL, "%s", err.text);
            failed = 1;
            break;
        }
    }
    rc = failed ? PH_EXIT_HOST : PH_EXIT_OK;
out:
    /* Only after a failure are sessions left: the host answers their calls
     * while it stops its plugins, so it goes first. */
    if (sv.host)
        ph_host_free(sv.host);
    while (sv.clients) {
        struct client *c = sv.clients;
        sv.clients = c->next;
        if (c->fd >= 0)
            close(c->fd);
        ph_dialect_free(&c->d);
        free(c->out);
        free(c);
    }
    if (sv.lfd >= 0)
        close(sv.lfd);
    if (made_path)
        ph_listen_unlink(made_path, &made);
    if (sv.epfd >= 0)
        close(sv.epfd);
    if (sv.sfd >= 0)
        close(sv.sfd);
    ph_listen_allow_free(&sv.allow);
    ph_listen_allow_free(&sv.status_allow);
    return rc;
}
