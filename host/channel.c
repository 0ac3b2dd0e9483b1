/*
 * channel: the host's side of one instance's socket and process handle:
 * sending messages record by record (corks, held writes, the plugin's
 * unread answers and the stall they may end in), writing calls to it with
 * their receipts, and killing it with a cause.
 *
 * It sits below the message side (supervisor.c), the endings (ending.c)
 * and spawn.c, which all send and kill through it; it must never read
 * from a plugin nor call any module above it.
 */
#include "bounds.h"
#include "internal.h"
#include "jscan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int pidfd_kill(int pidfd, int sig)
{
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int ph_plug_watch(struct ph_plug *p, int fd, struct ph_watch *w, enum ph_watch_kind kind)
{
    w->kind = kind;
    w->plug = p;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    return epoll_ctl(p->host->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void ph_plug_kill(struct ph_plug *p, enum ph_end cause, json_t *data)
{
    if (p->cause == PH_END_NONE) {
        /* The first cause is the one reported; later ones are consequences. */
        p->cause = cause;
        json_decref(p->cause_data);
        p->cause_data = data ? data : json_object();
    } else {
        json_decref(data);
    }
    if (p->pidfd >= 0)
        (void)pidfd_kill(p->pidfd, SIGKILL);
}

/* ---- sending ---- */

void ph_plug_hold(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (p->held)
        return;
    int first = h->held == NULL;
    p->held = 1;
    p->held_next = NULL;
    if (first)
        h->held_tail = &h->held;
    *h->held_tail = p;
    h->held_tail = &p->held_next;
    if (first)
        ph_arm_timer(h); /* ph_host_fd() readable while anything is held */
}

/* The socket's events: reading stops while the plugin's unread answers are
 * over their bounds; writing is watched while output waits for room. */
static void sock_events(struct ph_plug *p)
{
    struct epoll_event ev = {.events = (p->reading_paused ? 0u : (uint32_t)EPOLLIN) |
                                       (p->watching_out ? (uint32_t)EPOLLOUT : 0u),
                             .data.ptr = &p->w_sock};
    if (p->sock >= 0)
        (void)epoll_ctl(p->host->epfd, EPOLL_CTL_MOD, p->sock, &ev);
}

/* An answer left the queue: the plugin read enough to be read again. */
static int answer_sent(struct ph_plug *p, const struct ph_out *o)
{
    if (!o->answer)
        return 0;
    p->answers--;
    p->answer_bytes -= o->len;
    if (!p->reading_paused || p->answers > PH_BOUND_HOSTFN_RESUME ||
        p->answer_bytes > PH_BOUND_ANSWER_RESUME_BYTES)
        return 0;
    p->reading_paused = 0;
    p->paused_since_ms = 0;
    return 1;
}

uint64_t ph_plug_stall_deadline(const struct ph_plug *p)
{
    if (!p->reading_paused || p->cause != PH_END_NONE || p->pid <= 0)
        return UINT64_MAX;
    return p->paused_since_ms + PH_BOUND_STALL_MS;
}

void ph_plug_on_stall(struct ph_plug *p)
{
    if (ph_plug_stall_deadline(p) > ph_now_ms())
        return;
    char why[200];
    snprintf(why, sizeof why,
             "answers to its host-function calls not read: %u answers (%zu bytes) still queued "
             "%d ms after the host stopped reading it",
             p->answers, p->answer_bytes, PH_BOUND_STALL_MS);
    ph_plug_kill(p, PH_END_PROTOCOL,
                 json_pack("{s:s,s:i,s:I,s:i,s:I}", "breach", why, "queued_answers",
                           (int)p->answers, "queued_bytes", (json_int_t)p->answer_bytes,
                           "inflight_max", PH_BOUND_HOSTFN_INFLIGHT, "bytes_max",
                           (json_int_t)PH_BOUND_ANSWER_BYTES));
}

void ph_plug_flush(struct ph_plug *p)
{
    int resumed = 0;
    while (p->out_head && p->sock >= 0) {
        struct ph_out *o = p->out_head;
        unsigned char flag;
        size_t chunk = ph_wire_chunk_at(o->len, o->off, &flag);
        struct iovec iov[2] = {{&flag, 1}, {o->buf + o->off, chunk}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        if (o->off == 0 && o->fd >= 0) {
            memset(&ctl, 0, sizeof ctl);
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof ctl.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
        }
        ssize_t w = sendmsg(p->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                if (!p->watching_out || resumed) {
                    p->watching_out = 1;
                    sock_events(p);
                }
                return;
            }
            /* The peer is gone; its pidfd reports the ending. */
            return;
        }
        o->off += chunk;
        if (o->fd >= 0) {
            /* In flight now: the plugin holds its own reference. */
            close(o->fd);
            o->fd = -1;
        }
        if (o->off >= o->len) {
            p->out_head = o->next;
            if (!p->out_head)
                p->out_tail = NULL;
            resumed |= answer_sent(p, o);
            free(o->buf);
            free(o);
        }
    }
    /* Only when the queue drained after a full socket: a syscall per call
     * saved on the hot path. */
    if (p->sock >= 0 && (p->watching_out || resumed)) {
        p->watching_out = 0;
        sock_events(p);
    }
}

void ph_plug_trace(struct ph_plug *p, const char *dir, const char *bytes, size_t n)
{
    if (!p->host->opt.trace)
        return;
    char view[1024];
    ph_wire_escape(bytes, n, view, sizeof view);
    ph_host_event(p->host, json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", "trace", "plugin",
                                     p->name ? p->name : p->file, "direction", dir, "bytes", view,
                                     "length", (json_int_t)n));
}

/* Queues one encoded message (s taken; msg, borrowed and may be NULL, is
 * the same message for the record) and sends what the socket takes. */
static int queue_text(struct ph_plug *p, char *s, size_t len, int fd, json_t *msg, int answer)
{
    struct ph_out *o = s && len <= p->host->opt.max_message ? calloc(1, sizeof *o) : NULL;
    if (!o) {
        if (s && len > p->host->opt.max_message)
            errno = EMSGSIZE;
        free(s);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ph_plug_trace(p, "to", s, len);
    if (p->host->rec_fd >= 0) {
        /* A raw call's text is read back only for the transcript. */
        char why[200];
        json_t *parsed = msg ? NULL : ph_wire_parse(s, len, why, sizeof why);
        ph_record_msg(p, 1, msg ? msg : parsed, s, len);
        json_decref(parsed);
    }
    o->buf = s;
    o->len = len;
    o->fd = fd;
    o->answer = answer;
    if (answer) {
        p->answers++;
        p->answer_bytes += len;
    }
    if (p->out_tail)
        p->out_tail->next = o;
    else
        p->out_head = o;
    p->out_tail = o;
    if (p->host->cork)
        ph_plug_hold(p);
    else
        ph_plug_flush(p);
    /* A plugin that asks and does not read its answers would make the host
     * hold them without end: past a mark, it is no longer read (so it can
     * ask nothing more) until it reads them (ph_plug_on_stall otherwise). */
    if (answer && !p->reading_paused &&
        (p->answers >= PH_BOUND_HOSTFN_INFLIGHT || p->answer_bytes >= PH_BOUND_ANSWER_BYTES)) {
        p->reading_paused = 1;
        p->paused_since_ms = ph_now_ms();
        sock_events(p);
    }
    return 0;
}

int ph_plug_send_fd(struct ph_plug *p, json_t *msg, int fd)
{
    size_t len = 0;
    char *s = ph_wire_encode(msg, &len);
    return queue_text(p, s, len, fd, msg, 0);
}

int ph_plug_send_answer(struct ph_plug *p, json_t *msg, int fd)
{
    size_t len = 0;
    char *s = ph_wire_encode(msg, &len);
    return queue_text(p, s, len, fd, msg, 1);
}

int ph_plug_send(struct ph_plug *p, json_t *msg)
{
    return ph_plug_send_fd(p, msg, -1);
}

/* CPU time the process has had, in ns (the first field of schedstat). */
static uint64_t cpu_ns(pid_t pid)
{
    char path[64];
    unsigned long long v = 0;
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static long peak_rss_kib(pid_t pid)
{
    char path[64], line[128];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* What the call just answered cost the plugin (see ph_host_options). */
void ph_plug_receipt(struct ph_plug *p, struct ph_call *c)
{
    uint64_t now = cpu_ns(p->pid);
    uint64_t cpu = now > p->cpu_mark_ns ? now - p->cpu_mark_ns : 0;
    p->cpu_mark_ns = now;
    json_t *ev = json_pack(
        "{s:s,s:I,s:s,s:i,s:i,s:s,s:I,s:I,s:I}", "type", "receipt", "call_id", (json_int_t)c->id,
        "plugin", p->name, "instance", (int)p->index, "pid", (int)p->pid, "method", c->method,
        "wall_us", (json_int_t)((ph_now_ns() - c->sent_ns) / 1000), "cpu_us",
        (json_int_t)(cpu / 1000), "peak_rss_kib", (json_int_t)peak_rss_kib(p->pid));
    /* The call that woke a cold plugin (lazy.c) waited for its start too. */
    if (ev && c->cold_start && p->ready_ns > p->spawn_ns)
        json_object_set_new(ev, "start_us",
                            json_integer((json_int_t)((p->ready_ns - p->spawn_ns) / 1000)));
    ph_host_event(p->host, ev);
}

/* A raw call's request, written around its checked params text: the
 * same message ph_wire_request() would build, without building it. */
static char *raw_request(const struct ph_call *c, size_t *len)
{
    size_t mlen = strlen(c->method);
    size_t cap = 96 + 6 * mlen + c->params_len;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    int n = snprintf(b, cap, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"",
                     (unsigned long long)c->id);
    size_t o = n > 0 ? (size_t)n : 0;
    for (size_t i = 0; i < mlen; i++) {
        unsigned char ch = (unsigned char)c->method[i];
        if (ch == '"' || ch == '\\') {
            b[o++] = '\\';
            b[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(b + o, cap - o, "\\u%04x", ch);
        } else {
            b[o++] = (char)ch;
        }
    }
    memcpy(b + o, "\",\"params\":", 11);
    o += 11;
    memcpy(b + o, c->params_text, c->params_len);
    o += c->params_len;
    b[o++] = '}';
    b[o] = '\0';
    *len = o;
    return b;
}

void ph_plug_send_call(struct ph_plug *p, struct ph_call *c)
{
    int in_fd = c->in_fd;
    c->in_fd = -1;
    size_t len = 0;
    json_t *req = NULL;
    char *text;
    if (c->params_text) {
        text = raw_request(c, &len);
    } else {
        json_t *id = json_integer((json_int_t)c->id);
        req = ph_wire_request(id, c->method, c->params);
        json_decref(id);
        text = req ? ph_wire_encode(req, &len) : NULL;
    }
    /* Takes the text and the blob; without text it closes the blob. */
    int rc = queue_text(p, text, len, in_fd, req, 0);
    int e = errno;
    json_decref(req);
    free(c->params_text);
    c->params_text = NULL;
    json_decref(c->params);
    c->params = NULL;
    c->sent = 1;
    p->awaited++;
    if (p->host->opt.receipts) {
        c->sent_ns = ph_now_ns();
        if (!p->cpu_mark_ns)
            p->cpu_mark_ns = cpu_ns(p->pid);
    }
    if (rc < 0)
        ph_call_finish(
            p->host, c, NULL,
            e == EMSGSIZE
                ? ph_call_error(p, c->method, PH_RPC_PLUGIN_LIMIT, PH_END_LIMIT,
                                json_pack("{s:s,s:I}", "limit", "max_message", "limit_value",
                                          (json_int_t)p->host->opt.max_message),
                                "request larger than the maximum message size")
                : ph_call_error(p, c->method, PH_RPC_INTERNAL_ERROR, PH_END_NONE, NULL,
                                "cannot send the request"));
}
