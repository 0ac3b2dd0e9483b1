/*
 * test_wire: the framing and JSON-RPC checks both ends of the channel rely
 * on. Everything here is fed bytes the way a hostile peer could send them.
 */
#include "check.h"
#include "text.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Builds a record: flag byte then payload. */
static size_t mkrec(unsigned char *rec, unsigned char flag, const char *data, size_t n)
{
    rec[0] = flag;
    memcpy(rec + 1, data, n);
    return n + 1;
}

static int feed(ph_wire_rx *rx, unsigned char flag, const char *data, size_t n, char **msg,
                size_t *len, char *err, size_t errlen)
{
    unsigned char rec[PH_WIRE_RECORD + 8];
    size_t rn = mkrec(rec, flag, data, n);
    return ph_wire_rx_feed(rx, rec, rn, msg, len, err, errlen);
}

static void test_rx_single(void)
{
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    CHECK(rx.max == PH_WIRE_DEFAULT_MAX);
    char *msg = NULL, err[200] = "";
    size_t len = 0;
    CHECK(feed(&rx, PH_WIRE_LAST, "abc", 3, &msg, &len, err, sizeof err) == 1);
    CHECK(len == 3 && msg && memcmp(msg, "abc", 3) == 0 && msg[3] == '\0');
    free(msg);

    /* A LAST record with no payload is an empty message, not an error:
     * rejecting it is the JSON parser's job. */
    msg = NULL;
    CHECK(feed(&rx, PH_WIRE_LAST, "", 0, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == 0 && msg[0] == '\0');
    free(msg);
    ph_wire_rx_free(&rx);
}

static void test_rx_reassembly(void)
{
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    char *msg = NULL, err[200] = "";
    size_t len = 0;
    CHECK(feed(&rx, PH_WIRE_MORE, "ab", 2, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_MORE, "cd", 2, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_LAST, "ef", 2, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == 6 && strcmp(msg, "abcdef") == 0);
    free(msg);

    /* The next message must not see the previous one's bytes. */
    msg = NULL;
    CHECK(feed(&rx, PH_WIRE_MORE, "x", 1, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_LAST, "", 0, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == 1 && strcmp(msg, "x") == 0);
    free(msg);

    /* Full-size records, as ph_wire_send produces them. */
    size_t total = 3 * PH_WIRE_CHUNK + 17;
    char *big = malloc(total);
    for (size_t i = 0; i < total; i++)
        big[i] = (char)('a' + i % 26);
    int rc = 0;
    size_t off = 0;
    msg = NULL;
    while (off < total) {
        unsigned char flag;
        size_t n = ph_wire_chunk_at(total, off, &flag);
        rc = feed(&rx, flag, big + off, n, &msg, &len, err, sizeof err);
        off += n;
        if (off < total)
            CHECKF(rc == 0, "record at %zu returned %d", off, rc);
    }
    CHECK(rc == 1 && len == total && msg && memcmp(msg, big, total) == 0);
    free(msg);
    free(big);
    ph_wire_rx_free(&rx);
}

static void test_rx_errors(void)
{
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    char *msg = NULL, err[200];
    size_t len = 0;
    unsigned char rec[PH_WIRE_RECORD + 8];
    memset(rec, 'x', sizeof rec);

    err[0] = '\0';
    CHECK(feed(&rx, 0x02, "abc", 3, &msg, &len, err, sizeof err) == -1);
    CHECKF(strstr(err, "flag") != NULL, "err: %s", err);
    err[0] = '\0';
    CHECK(feed(&rx, 0xff, "abc", 3, &msg, &len, err, sizeof err) == -1);
    CHECK(err[0] != '\0');

    err[0] = '\0';
    CHECK(feed(&rx, PH_WIRE_MORE, "", 0, &msg, &len, err, sizeof err) == -1);
    CHECKF(strstr(err, "empty") != NULL, "err: %s", err);

    err[0] = '\0';
    CHECK(ph_wire_rx_feed(&rx, rec, 0, &msg, &len, err, sizeof err) == -1);
    CHECK(err[0] != '\0');

    rec[0] = PH_WIRE_LAST;
    err[0] = '\0';
    CHECK(ph_wire_rx_feed(&rx, rec, PH_WIRE_RECORD + 1, &msg, &len, err, sizeof err) == -1);
    CHECKF(strstr(err, "record") != NULL, "err: %s", err);
    msg = NULL;
    CHECK(ph_wire_rx_feed(&rx, rec, PH_WIRE_RECORD, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == PH_WIRE_CHUNK);
    free(msg);

    /* An error in the middle of a message drops what was gathered so far. */
    msg = NULL;
    CHECK(feed(&rx, PH_WIRE_MORE, "stale", 5, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, 0x07, "zz", 2, &msg, &len, err, sizeof err) == -1);
    CHECK(feed(&rx, PH_WIRE_LAST, "fresh", 5, &msg, &len, err, sizeof err) == 1);
    CHECKF(msg && strcmp(msg, "fresh") == 0, "got \"%s\"", msg ? msg : "(null)");
    free(msg);
    ph_wire_rx_free(&rx);
}

static void test_rx_max(void)
{
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 10);
    char *msg = NULL, err[200] = "";
    size_t len = 0;

    CHECK(feed(&rx, PH_WIRE_LAST, "0123456789", 10, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == 10);
    free(msg);

    err[0] = '\0';
    CHECK(feed(&rx, PH_WIRE_LAST, "0123456789A", 11, &msg, &len, err, sizeof err) == -1);
    CHECKF(strstr(err, "maximum") != NULL, "err: %s", err);

    err[0] = '\0';
    CHECK(feed(&rx, PH_WIRE_MORE, "012345", 6, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_MORE, "678901", 6, &msg, &len, err, sizeof err) == -1);
    CHECKF(strstr(err, "maximum") != NULL, "err: %s", err);

    /* Reset: a good message after the oversized one is whole and alone. */
    msg = NULL;
    CHECK(feed(&rx, PH_WIRE_MORE, "hel", 3, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_LAST, "lo", 2, &msg, &len, err, sizeof err) == 1);
    CHECKF(msg && len == 5 && strcmp(msg, "hello") == 0, "got \"%s\"", msg ? msg : "(null)");
    free(msg);

    /* Exactly max over several records is still fine. */
    msg = NULL;
    CHECK(feed(&rx, PH_WIRE_MORE, "01234", 5, &msg, &len, err, sizeof err) == 0);
    CHECK(feed(&rx, PH_WIRE_LAST, "56789", 5, &msg, &len, err, sizeof err) == 1);
    CHECK(msg && len == 10);
    free(msg);
    ph_wire_rx_free(&rx);
}

static void test_chunk_at(void)
{
    unsigned char flag = 0xaa;
    CHECK(ph_wire_chunk_at(0, 0, &flag) == 0 && flag == PH_WIRE_LAST);
    CHECK(ph_wire_chunk_at(5, 0, &flag) == 5 && flag == PH_WIRE_LAST);
    CHECK(ph_wire_chunk_at(PH_WIRE_CHUNK, 0, &flag) == PH_WIRE_CHUNK && flag == PH_WIRE_LAST);
    CHECK(ph_wire_chunk_at(PH_WIRE_CHUNK + 1, 0, &flag) == PH_WIRE_CHUNK && flag == PH_WIRE_MORE);
    CHECK(ph_wire_chunk_at(PH_WIRE_CHUNK + 1, PH_WIRE_CHUNK, &flag) == 1 && flag == PH_WIRE_LAST);

    /* Walking a large message: chunks cover it exactly, only the last is
     * LAST, none is empty. */
    size_t total = (size_t)5 << 20, off = 0, records = 0, lasts = 0, empties = 0;
    while (off < total) {
        size_t n = ph_wire_chunk_at(total, off, &flag);
        records++;
        lasts += flag == PH_WIRE_LAST;
        empties += n == 0;
        off += n;
        if (n == 0)
            break;
    }
    CHECK(off == total);
    CHECK(lasts == 1 && empties == 0);
    CHECK(records == (total + PH_WIRE_CHUNK - 1) / PH_WIRE_CHUNK);
}

static char *pattern(size_t n)
{
    char *p = malloc(n);
    if (p)
        for (size_t i = 0; i < n; i++)
            p[i] = (char)(' ' + (i * 7 + i / 4096) % 95);
    return p;
}

static int seqpair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
}

static void test_send_recv_small(void)
{
    int sv[2];
    CHECK(seqpair(sv) == 0);
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    char *msg = NULL, err[200] = "";
    size_t len = 0;

    CHECK(ph_wire_send(sv[0], "{\"a\":1}", 7, -1) == 0);
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 1);
    CHECK(msg && len == 7 && strcmp(msg, "{\"a\":1}") == 0);
    free(msg);

    msg = NULL;
    CHECK(ph_wire_send(sv[0], "", 0, -1) == 0);
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 1);
    CHECK(msg && len == 0);
    free(msg);

    /* Raw records a hostile peer could write: an over-long one is refused
     * (either as too big for a record or as truncated), and so is a bad flag. */
    static unsigned char raw[PH_WIRE_RECORD + 2];
    memset(raw, 'q', sizeof raw);
    raw[0] = PH_WIRE_LAST;
    CHECK(send(sv[0], raw, PH_WIRE_RECORD + 1, 0) == PH_WIRE_RECORD + 1);
    err[0] = '\0';
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == -1);
    CHECK(err[0] != '\0');
    CHECK(send(sv[0], raw, PH_WIRE_RECORD + 2, 0) == PH_WIRE_RECORD + 2);
    err[0] = '\0';
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == -1);
    CHECK(err[0] != '\0');
    raw[0] = 0x09;
    CHECK(send(sv[0], raw, 10, 0) == 10);
    err[0] = '\0';
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == -1);
    CHECKF(strstr(err, "flag") != NULL, "err: %s", err);

    /* End of file once the peer is gone. */
    close(sv[0]);
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 0);
    close(sv[1]);
    ph_wire_rx_free(&rx);
}

/* The sender runs in a child: a blocking send of megabytes needs a reader
 * draining the other end at the same time. */
static pid_t send_from_child(int fd, int other, size_t n, int pass_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        close(other);
        char *p = pattern(n);
        int rc = p ? ph_wire_send(fd, p, n, pass_fd) : -1;
        _exit(rc == 0 ? 0 : 1);
    }
    return pid;
}

static int child_ok(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_send_recv_big(void)
{
    int sv[2];
    CHECK(seqpair(sv) == 0);
    size_t n = (size_t)5 << 20;
    pid_t pid = send_from_child(sv[0], sv[1], n, -1);
    CHECK(pid > 0);
    close(sv[0]);
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    char *msg = NULL, err[200] = "";
    size_t len = 0;
    int rc = ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err);
    CHECKF(rc == 1, "recv returned %d: %s", rc, err);
    char *want = pattern(n);
    CHECKF(len == n, "got %zu bytes, sent %zu", len, n);
    CHECK(msg && want && len == n && memcmp(msg, want, n) == 0);
    free(msg);
    free(want);
    CHECK(child_ok(pid));
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 0);
    close(sv[1]);
    ph_wire_rx_free(&rx);

    /* The same message against a smaller limit is an error, not a crash or
     * a truncated message. */
    CHECK(seqpair(sv) == 0);
    pid = send_from_child(sv[0], sv[1], n, -1);
    close(sv[0]);
    ph_wire_rx_init(&rx, (size_t)1 << 20);
    msg = NULL;
    err[0] = '\0';
    rc = ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err);
    CHECKF(rc == -1 && msg == NULL, "recv returned %d", rc);
    CHECKF(strstr(err, "maximum") != NULL, "err: %s", err);
    /* Closing our end unblocks the child if it is still sending. */
    close(sv[1]);
    waitpid(pid, NULL, 0);
    ph_wire_rx_free(&rx);
}

static void test_recv_closes_passed_fd(void)
{
    int sv[2], pp[2];
    CHECK(seqpair(sv) == 0);
    CHECK(pipe2(pp, O_CLOEXEC | O_NONBLOCK) == 0);
    CHECK(ph_wire_send(sv[0], "{}", 2, pp[1]) == 0);
    /* Our own copy goes now: the only write end left is the one in flight,
     * so the pipe reads EOF exactly when the receiver closed it. */
    close(pp[1]);
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    char *msg = NULL, err[200] = "";
    size_t len = 0;
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 1);
    CHECK(msg && strcmp(msg, "{}") == 0);
    free(msg);
    char c;
    ssize_t r = read(pp[0], &c, 1);
    CHECKF(r == 0, "passed descriptor still open (read returned %zd, errno %d)", r, errno);

    /* Same with a multi-record message: the descriptor rides on the first
     * record, which recv reads before it has a whole message. */
    int p2[2];
    CHECK(pipe2(p2, O_CLOEXEC | O_NONBLOCK) == 0);
    size_t n = 2 * PH_WIRE_CHUNK + 5;
    pid_t pid = send_from_child(sv[0], sv[1], n, p2[1]);
    close(p2[1]);
    msg = NULL;
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, NULL, err, sizeof err) == 1);
    CHECK(msg && len == n);
    free(msg);
    CHECK(child_ok(pid));
    r = read(p2[0], &c, 1);
    CHECKF(r == 0, "passed descriptor still open (read returned %zd, errno %d)", r, errno);
    close(p2[0]);
    close(pp[0]);
    close(sv[0]);
    close(sv[1]);
    ph_wire_rx_free(&rx);
}

/* One raw record with nfds copies of fd attached, as a hostile peer would
 * send it. */
static int send_raw(int sock, unsigned char flag, const char *data, int fd, int nfds)
{
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, strlen(data)}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    union {
        char buf[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (nfds > 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        for (int i = 0; i < nfds; i++)
            memcpy(CMSG_DATA(c) + (size_t)i * sizeof(int), &fd, sizeof fd);
    }
    return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Reads one byte from the read end: 0 means every write end is closed. */
static ssize_t pipe_probe(int rd)
{
    char c;
    return read(rd, &c, 1);
}

static void test_recv_fd_rules(void)
{
    ph_wire_rx rx;
    char *msg = NULL, err[200] = "";
    size_t len = 0;
    int sv[2], pp[2], got = -1;

    /* Kept: the one descriptor of a message's first record, handed over
     * once the message is whole. */
    CHECK(seqpair(sv) == 0);
    CHECK(pipe2(pp, O_CLOEXEC | O_NONBLOCK) == 0);
    ph_wire_rx_init(&rx, 0);
    CHECK(send_raw(sv[0], PH_WIRE_MORE, "{\"a\":", pp[1], 1) == 0);
    CHECK(send_raw(sv[0], PH_WIRE_LAST, "1}", -1, 0) == 0);
    close(pp[1]);
    CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, &got, err, sizeof err) == 1);
    CHECK(msg && strcmp(msg, "{\"a\":1}") == 0);
    free(msg);
    CHECKF(got >= 0, "descriptor not handed over: %d", got);
    CHECK(got >= 0 && (fcntl(got, F_GETFD) & FD_CLOEXEC));
    CHECK(pipe_probe(pp[0]) == -1 && errno == EAGAIN);
    if (got >= 0)
        close(got);
    CHECK(pipe_probe(pp[0]) == 0);
    close(pp[0]);

    /* Refused, with every copy closed: a descriptor on a later record, two
     * on one record, and more than the receiver has room for (MSG_CTRUNC). */
    static const struct {
        int on_second, nfds;
        const char *why;
    } bad[] = {{1, 1, "continued record"},
               {0, 2, "more than one descriptor"},
               {0, 2 * PH_WIRE_MAX_FDS_ROOM, "truncated control data"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(pipe2(pp, O_CLOEXEC | O_NONBLOCK) == 0);
        ph_wire_rx_free(&rx);
        ph_wire_rx_init(&rx, 0);
        CHECK(send_raw(sv[0], PH_WIRE_MORE, "{\"a\":", pp[1], bad[i].on_second ? 0 : bad[i].nfds) ==
              0);
        CHECK(send_raw(sv[0], PH_WIRE_LAST, "1}", pp[1], bad[i].on_second ? bad[i].nfds : 0) == 0);
        close(pp[1]);
        got = -2;
        msg = NULL;
        int rc = ph_wire_recv(sv[1], &rx, &msg, &len, &got, err, sizeof err);
        CHECKF(rc == -1 && msg == NULL, "case %zu: recv returned %d", i, rc);
        CHECKF(strstr(err, bad[i].why) != NULL, "case %zu: err: %s", i, err);
        CHECKF(got == -1, "case %zu: fd_out %d", i, got);
        if (!bad[i].on_second) {
            /* The rest of the refused message is still queued. */
            CHECK(ph_wire_recv(sv[1], &rx, &msg, &len, &got, err, sizeof err) == 1);
            free(msg);
        }
        ph_wire_rx_free(&rx);
        CHECKF(pipe_probe(pp[0]) == 0, "case %zu: a received copy is still open", i);
        close(pp[0]);
    }
    ph_wire_rx_free(&rx);
    close(sv[0]);
    close(sv[1]);
}

static void test_blob(void)
{
    char err[200];
    static const char bytes[] = "blob bytes";
    int fd = ph_wire_blob_make(bytes, 10, err, sizeof err);
    CHECKF(fd >= 0, "blob_make: %s", err);
    CHECKF(ph_wire_blob_check(fd, 10, err, sizeof err) == 0, "a made blob passes: %s", err);
    CHECK(ph_wire_blob_check(fd, 11, err, sizeof err) == -1 && strstr(err, "size"));
    /* Sealed: nobody can write to it or map it writable and shared. */
    CHECK(write(fd, "x", 1) == -1 && errno == EPERM);
    CHECK(mmap(NULL, 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
    char got[10];
    CHECK(pread(fd, got, 10, 0) == 10 && memcmp(got, bytes, 10) == 0);
    close(fd);
    fd = ph_wire_blob_make(NULL, 0, err, sizeof err);
    CHECK(fd >= 0 && ph_wire_blob_check(fd, 0, err, sizeof err) == 0);
    close(fd);

    /* Not blobs: an unsealed memfd, a partly sealed one, a pipe, a socket. */
    int m = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    CHECK(m >= 0 && write(m, bytes, 10) == 10);
    CHECK(ph_wire_blob_check(m, 10, err, sizeof err) == -1 && strstr(err, "not sealed"));
    CHECK(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
    CHECK(ph_wire_blob_check(m, 10, err, sizeof err) == -1 && strstr(err, "not sealed"));
    close(m);
    int pp[2], sv[2];
    CHECK(pipe2(pp, O_CLOEXEC) == 0 && seqpair(sv) == 0);
    CHECK(ph_wire_blob_check(pp[0], 0, err, sizeof err) == -1 && strstr(err, "not a memfd"));
    CHECK(ph_wire_blob_check(sv[0], 0, err, sizeof err) == -1 && strstr(err, "not a memfd"));
    close(pp[0]);
    close(pp[1]);
    close(sv[0]);
    close(sv[1]);

    /* References: exactly one, well-formed, at any depth. */
    size_t size = 0;
    json_t *v = json_loads("{\"a\":[1,{\"$blob\":0,\"size\":7}]}", 0, NULL);
    CHECK(ph_wire_blob_find(v, &size, err, sizeof err) == 1 && size == 7);
    json_decref(v);
    v = json_loads("[{\"$blob\":0,\"size\":1},{\"$blob\":0,\"size\":1}]", 0, NULL);
    CHECK(ph_wire_blob_find(v, &size, err, sizeof err) == -1);
    json_decref(v);
    v = json_loads("{\"$blob\":1,\"size\":1}", 0, NULL);
    CHECK(ph_wire_blob_find(v, &size, err, sizeof err) == -1);
    json_decref(v);
    v = json_loads("{\"$blob\":0,\"size\":-1}", 0, NULL);
    CHECK(ph_wire_blob_find(v, &size, err, sizeof err) == -1);
    json_decref(v);
    v = json_loads("{\"blob\":0}", 0, NULL);
    CHECK(ph_wire_blob_find(v, &size, err, sizeof err) == 0);
    json_decref(v);
}

static json_t *parse(const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return ph_wire_parse(text, strlen(text), err, errlen);
}

static void test_parse(void)
{
    char err[300];
    json_t *v = parse("{\"a\":[1,2,{\"b\":null}]}", err, sizeof err);
    CHECKF(v != NULL, "err: %s", err);
    json_decref(v);

    CHECK((v = parse("{\"a\":1,\"a\":2}", err, sizeof err)) == NULL);
    CHECKF(err[0] != '\0', "no error text");
    json_decref(v);
    CHECK((v = parse("[{\"x\":{\"k\":1,\"k\":1}}]", err, sizeof err)) == NULL);
    json_decref(v);

    /* Invalid UTF-8: a lone continuation byte, a truncated sequence, an
     * overlong '/', an encoded surrogate, a code point past U+10FFFF. */
    const char *bad_utf8[] = {"{\"a\":\"\x80\"}",
                              "{\"a\":\"\xc3\"}",
                              "{\"a\":\"\xc0\xaf\"}",
                              "{\"a\":\"\xed\xa0\x80\"}",
                              "{\"a\":\"\xf4\x90\x80\x80\"}",
                              "{\"\xff\":1}"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        v = parse(bad_utf8[i], err, sizeof err);
        CHECKF(v == NULL, "invalid UTF-8 case %zu accepted", i);
        json_decref(v);
    }
    v = parse("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}", err, sizeof err);
    CHECKF(v != NULL, "valid UTF-8 refused: %s", err);
    json_decref(v);

    /* NULs, raw or escaped, would cut a C string short on the other side. */
    v = ph_wire_parse("{\"a\":\"x\0y\"}", 11, err, sizeof err);
    CHECK(v == NULL);
    json_decref(v);
    v = parse("{\"a\":\"x\\u0000y\"}", err, sizeof err);
    CHECK(v == NULL);
    json_decref(v);

    const char *bad[] = {"",        " ",    "{",          "{}x",         "{} {}",
                         "{'a':1}", "[1,]", "{\"a\":01}", "{\"a\":NaN}", "\xef\xbb\xbf{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = parse(bad[i], err, sizeof err);
        CHECKF(v == NULL, "bad JSON case %zu accepted", i);
        CHECKF(v != NULL || err[0] != '\0', "bad JSON case %zu: no error text", i);
        json_decref(v);
    }

    /* Only len bytes count: whatever follows is not part of the message. */
    v = ph_wire_parse("{}garbage", 2, err, sizeof err);
    CHECK(v != NULL);
    json_decref(v);
}

struct cls_case {
    const char *text;
    int kind;        /* 0: must be rejected */
    const char *why; /* substring of the error text when rejected */
};

static void test_classify(void)
{
    static const struct cls_case cases[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[1]}", PH_MSG_REQUEST, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"m\",\"params\":{}}", PH_MSG_REQUEST, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}", PH_MSG_REQUEST, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[]}", PH_MSG_NOTIFICATION, NULL},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\"}", PH_MSG_NOTIFICATION, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", PH_MSG_RESULT, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"x\":[]}}", PH_MSG_RESULT, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32600,\"message\":\"m\"}}",
         PH_MSG_ERROR, NULL},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1,\"message\":\"\",\"data\":[]}}",
         PH_MSG_ERROR, NULL},

        {"[]", 0, "not a JSON object"},
        {"[{\"jsonrpc\":\"2.0\",\"method\":\"m\"}]", 0, "not a JSON object"},
        {"\"m\"", 0, "not a JSON object"},
        {"{\"id\":1,\"method\":\"m\"}", 0, "jsonrpc"},
        {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}", 0, "jsonrpc"},
        {"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"m\"}", 0, "jsonrpc"},
        {"{\"jsonrpc\":\"2.0 \",\"id\":1,\"method\":\"m\"}", 0, "jsonrpc"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1.0,\"method\":\"m\"}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"m\"}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":false,\"result\":1}", 0, "\"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":1}", 0, "\"method\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":null}", 0, "\"method\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":1}", 0, "\"params\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}", 0, "\"params\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":true}", 0, "\"params\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":null}", 0, "\"params\""},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":3}", 0, "\"params\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"result\":1}", 0, "request cannot"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"error\":{}}", 0, "request cannot"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"\"}}", 0,
         "exactly one"},
        {"{\"jsonrpc\":\"2.0\",\"id\":1}", 0, "exactly one"},
        {"{\"jsonrpc\":\"2.0\"}", 0, "needs an \"id\""},
        {"{\"jsonrpc\":\"2.0\",\"result\":1}", 0, "needs an \"id\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"message\":\"m\"}}", 0, "integer \"code\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1.5,\"message\":\"m\"}}", 0,
         "integer \"code\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"-1\",\"message\":\"m\"}}", 0,
         "integer \"code\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}", 0, "string \"message\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1,\"message\":2}}", 0,
         "string \"message\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}", 0, "\"error\""},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":null}", 0, "\"error\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[300] = "";
        json_t *v = json_loads(cases[i].text, JSON_DECODE_ANY, NULL);
        CHECKF(v != NULL, "case %zu: test JSON does not parse", i);
        if (!v)
            continue;
        ph_wire_msg m;
        int rc = ph_wire_classify(v, &m, err, sizeof err);
        if (cases[i].kind) {
            CHECKF(rc == 0 && (int)m.kind == cases[i].kind, "case %zu (%s): rc %d kind %d err %s",
                   i, cases[i].text, rc, (int)m.kind, err);
        } else {
            CHECKF(rc == -1, "case %zu (%s) accepted as kind %d", i, cases[i].text, (int)m.kind);
            CHECKF(strstr(err, cases[i].why) != NULL, "case %zu (%s): error \"%s\" lacks \"%s\"", i,
                   cases[i].text, err, cases[i].why);
        }
        json_decref(v);
    }

    /* The views point into the message. */
    json_t *v =
        json_loads("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"p.m\",\"params\":[1,2]}", 0, NULL);
    ph_wire_msg m;
    char err[200];
    CHECK(ph_wire_classify(v, &m, err, sizeof err) == 0);
    CHECK(m.kind == PH_MSG_REQUEST && json_integer_value(m.id) == 7);
    CHECK(m.method && strcmp(m.method, "p.m") == 0);
    CHECK(m.params == json_object_get(v, "params") && !m.result && !m.error);
    json_decref(v);

    v = json_loads("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", 0, NULL);
    CHECK(ph_wire_classify(v, &m, err, sizeof err) == 0);
    CHECK(m.kind == PH_MSG_NOTIFICATION && m.id == NULL && m.params == NULL);
    json_decref(v);

    v = json_loads("{\"jsonrpc\":\"2.0\",\"id\":\"r\",\"result\":null}", 0, NULL);
    CHECK(ph_wire_classify(v, &m, err, sizeof err) == 0);
    CHECK(m.kind == PH_MSG_RESULT && json_is_null(m.result) && !m.error && !m.method);
    json_decref(v);

    v = json_loads("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":5,\"message\":\"x\"}}", 0,
                   NULL);
    CHECK(ph_wire_classify(v, &m, err, sizeof err) == 0);
    CHECK(m.kind == PH_MSG_ERROR && m.error == json_object_get(v, "error") && !m.result);
    json_decref(v);
}

static void test_builders(void)
{
    json_t *id = json_integer(4);
    json_t *r = ph_wire_response(id, json_string("ok"));
    char err[200];
    ph_wire_msg m;
    CHECK(r && ph_wire_classify(r, &m, err, sizeof err) == 0 && m.kind == PH_MSG_RESULT);
    json_decref(r);
    r = ph_wire_error_response(id, ph_wire_error_obj(-32601, "nope", json_pack("{s:i}", "a", 1)));
    CHECK(r && ph_wire_classify(r, &m, err, sizeof err) == 0 && m.kind == PH_MSG_ERROR);
    CHECK(json_integer_value(json_object_get(m.error, "code")) == -32601);
    json_decref(r);
    r = ph_wire_request(NULL, "x.y", NULL);
    CHECK(r && ph_wire_classify(r, &m, err, sizeof err) == 0 && m.kind == PH_MSG_NOTIFICATION);
    size_t len = 0;
    char *s = ph_wire_encode(r, &len);
    CHECK(s && len == strlen(s));
    json_t *back = s ? ph_wire_parse(s, len, err, sizeof err) : NULL;
    CHECK(back && json_equal(back, r));
    json_decref(back);
    free(s);
    json_decref(r);
    json_decref(id);

    char out[64];
    ph_wire_escape("a\n\\\x01z", 5, out, sizeof out);
    CHECKF(strcmp(out, "a\\x0a\\x5c\\x01z") == 0, "escape gave %s", out);
    char big[1000];
    memset(big, 'x', sizeof big);
    ph_wire_escape(big, sizeof big, out, sizeof out);
    CHECKF(strlen(out) < sizeof out && strstr(out, "1000 bytes") != NULL, "escape gave %s", out);
}

/* What a hostile plugin puts in text the host shows: a forged line,
 * erase-line and CR, OSC, ESC[6n, DEL, C1 CSI (U+009B), U+202E, U+2028. */
static const char evil[] = "\n[echo] info: x\x1b[2K\r\x1b]0;t\x07\x1b[6n\x7f\xc2\x9b\xe2\x80\xae"
                           "\xe2\x80\xa8\\end";

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static void test_text(void)
{
    char out[512];
    size_t n = ph_text_escape(evil, strlen(evil), out, sizeof out, 0);
    CHECKF(n == strlen(out) && printable(out), "escape gave %s", out);
    CHECKF(strstr(out, "\\x0a[echo]") && strstr(out, "\\x1b[2K\\x0d") &&
               strstr(out, "\\x7f\\xc2\\x9b\\xe2\\x80\\xae") && strstr(out, "\\end"),
           "escape gave %s", out);
    ph_text_escape(evil, strlen(evil), out, sizeof out, PH_TEXT_EXACT);
    CHECKF(strstr(out, "\\x5cend") != NULL, "exact escape gave %s", out);
    char *d = ph_text_escape_dup(evil, strlen(evil), 0);
    CHECK(d && strcmp(d, out) != 0 && printable(d));
    free(d);
    CHECK(ph_text_is_plain("{\"a\":1}", 7) && !ph_text_is_plain("\x7f", 1) &&
          !ph_text_is_plain("\xc2\x9b", 2) && !ph_text_is_plain("a\nb", 3));

    /* JSON for people: ASCII only, DEL too, and it still means the same. */
    json_t *v = json_pack("{s:s}", evil, evil);
    char *s = ph_text_json(v, JSON_COMPACT);
    CHECKF(s && printable(s) && strstr(s, "\\u007f") && strstr(s, "\\u202"), "json gave %s",
           s ? s : "(null)");
    json_t *back = s ? json_loads(s, 0, NULL) : NULL;
    CHECK(back && json_equal(back, v));
    json_decref(back);
    free(s);
    json_decref(v);
}

int main(void)
{
    /* A dead reader must give an error, not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    test_rx_single();
    test_rx_reassembly();
    test_rx_errors();
    test_rx_max();
    test_chunk_at();
    test_send_recv_small();
    test_send_recv_big();
    test_recv_closes_passed_fd();
    test_recv_fd_rules();
    test_blob();
    test_parse();
    test_classify();
    test_builders();
    test_text();
    return ph_t_summary("test_wire");
}
