/*
 * wire: record framing and JSON-RPC 2.0 validation (see wire.h).
 */
#include "wire.h"
#include "text.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#define BLOB_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)

void ph_wire_rx_init(ph_wire_rx *rx, size_t max)
{
    memset(rx, 0, sizeof *rx);
    rx->max = max ? max : PH_WIRE_DEFAULT_MAX;
    rx->fd = -1;
}

void ph_wire_rx_free(ph_wire_rx *rx)
{
    free(rx->buf);
    rx->buf = NULL;
    rx->len = rx->cap = 0;
    if (rx->fd >= 0)
        close(rx->fd);
    rx->fd = -1;
}

static void rx_reset(ph_wire_rx *rx)
{
    rx->len = 0;
    if (rx->fd >= 0)
        close(rx->fd);
    rx->fd = -1;
}

int ph_wire_rx_feed_fd(ph_wire_rx *rx, const unsigned char *rec, size_t n, int fd, char **msg,
                       size_t *len, int *fd_out, char *err, size_t errlen)
{
    if (fd_out)
        *fd_out = -1;
    if (fd >= 0) {
        /* Only the first record of a message may carry one: a receiver
         * then knows which message a descriptor belongs to before it has
         * read the rest. */
        if (rx->len > 0 || rx->fd >= 0) {
            close(fd);
            snprintf(err, errlen, "descriptor on a continued record");
            rx_reset(rx);
            return -1;
        }
        rx->fd = fd;
    }
    int got = ph_wire_rx_feed(rx, rec, n, msg, len, err, errlen);
    if (got < 0)
        rx_reset(rx);
    if (got == 1) {
        if (fd_out)
            *fd_out = rx->fd;
        else if (rx->fd >= 0)
            close(rx->fd);
        rx->fd = -1;
    }
    return got;
}

int ph_wire_take_fds(struct msghdr *mh, int *fd)
{
    return ph_wire_take_fds_cred(mh, fd, NULL);
}

int ph_wire_take_fds_cred(struct msghdr *mh, int *fd, int *cred)
{
    int count = 0, other = 0;
    *fd = -1;
    if (cred)
        *cred = 0;
    if (mh->msg_controllen == 0)
        return 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (cred && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
            *cred = 1;
            continue;
        }
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0)) {
            other = 1;
            continue;
        }
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int f;
            memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
            if (count == 0)
                *fd = f;
            else
                close(f);
            count++;
        }
    }
    if (other) {
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return -1;
    }
    return count;
}

int ph_wire_rx_feed(ph_wire_rx *rx, const unsigned char *rec, size_t n, char **msg, size_t *len,
                    char *err, size_t errlen)
{
    if (n == 0 || n > PH_WIRE_RECORD) {
        snprintf(err, errlen, "record of %zu bytes (must be 1..%d)", n, PH_WIRE_RECORD);
        rx_reset(rx);
        return -1;
    }
    unsigned char flag = rec[0];
    if (flag != PH_WIRE_LAST && flag != PH_WIRE_MORE) {
        snprintf(err, errlen, "record flag 0x%02x is neither LAST nor MORE", flag);
        rx_reset(rx);
        return -1;
    }
    size_t chunk = n - 1;
    if (flag == PH_WIRE_MORE && chunk == 0) {
        snprintf(err, errlen, "empty MORE record");
        rx_reset(rx);
        return -1;
    }
    if (chunk > rx->max - rx->len) {
        snprintf(err, errlen, "message larger than the maximum of %zu bytes", rx->max);
        rx_reset(rx);
        return -1;
    }
    if (flag == PH_WIRE_LAST && rx->len == 0) {
        /* Fast path: a single-record message needs no reassembly buffer. */
        char *m = malloc(chunk + 1);
        if (!m) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        memcpy(m, rec + 1, chunk);
        m[chunk] = '\0';
        *msg = m;
        *len = chunk;
        return 1;
    }
    if (rx->len + chunk + 1 > rx->cap) {
        size_t cap = rx->cap ? rx->cap : 4 * PH_WIRE_RECORD;
        while (cap < rx->len + chunk + 1)
            cap *= 2;
        char *nb = realloc(rx->buf, cap);
        if (!nb) {
            snprintf(err, errlen, "out of memory");
            rx_reset(rx);
            return -1;
        }
        rx->buf = nb;
        rx->cap = cap;
    }
    memcpy(rx->buf + rx->len, rec + 1, chunk);
    rx->len += chunk;
    if (flag == PH_WIRE_MORE)
        return 0;
    rx->buf[rx->len] = '\0';
    *msg = rx->buf;
    *len = rx->len;
    /* The buffer moves to the caller; the next message starts afresh. */
    rx->buf = NULL;
    rx->len = rx->cap = 0;
    return 1;
}

size_t ph_wire_chunk_at(size_t len, size_t off, unsigned char *flag)
{
    size_t left = len - off;
    size_t chunk = left > PH_WIRE_CHUNK ? PH_WIRE_CHUNK : left;
    *flag = (off + chunk < len) ? PH_WIRE_MORE : PH_WIRE_LAST;
    return chunk;
}

static int send_record(int fd, unsigned char flag, const char *data, size_t n, int pass_fd)
{
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    if (pass_fd >= 0) {
        memset(&ctl, 0, sizeof ctl);
        mh.msg_control = ctl.buf;
        mh.msg_controllen = sizeof ctl.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
    }
    for (;;) {
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

int ph_wire_send(int fd, const char *msg, size_t len, int pass_fd)
{
    size_t off = 0;
    do {
        unsigned char flag;
        size_t chunk = ph_wire_chunk_at(len, off, &flag);
        if (send_record(fd, flag, msg + off, chunk, off == 0 ? pass_fd : -1) < 0)
            return -1;
        off += chunk;
    } while (off < len);
    return 0;
}

int ph_wire_recv(int fd, ph_wire_rx *rx, char **msg, size_t *len, int *fd_out, char *err,
                 size_t errlen)
{
    static unsigned char rec[PH_WIRE_RECORD + 1];
    if (fd_out)
        *fd_out = -1;
    for (;;) {
        union {
            char buf[CMSG_SPACE(PH_WIRE_MAX_FDS_ROOM * sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {rec, sizeof rec};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof ctl.buf};
        /* CLOEXEC from the start: a descriptor is never inheritable, even
         * for the moment before it is checked or closed. */
        ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "recvmsg: %s", strerror(errno));
            return -1;
        }
        int passed;
        int nfds = ph_wire_take_fds(&mh, &passed);
        if (r == 0) {
            if (passed >= 0)
                close(passed);
            return 0;
        }
        if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || nfds < 0 || nfds > 1) {
            if (passed >= 0)
                close(passed);
            rx_reset(rx);
            snprintf(err, errlen, "%s",
                     (mh.msg_flags & MSG_TRUNC)    ? "oversized record"
                     : (mh.msg_flags & MSG_CTRUNC) ? "truncated control data"
                     : nfds < 0                    ? "control data other than SCM_RIGHTS"
                                                   : "more than one descriptor on a record");
            return -1;
        }
        int got = ph_wire_rx_feed_fd(rx, rec, (size_t)r, passed, msg, len, fd_out, err, errlen);
        if (got != 0)
            return got;
    }
}

/* A new sealable memfd above 0-2, or -1 with err filled. */
static int blob_memfd(char *err, size_t errlen)
{
    /* MFD_NOEXEC_SEAL (Linux 6.3) makes it non-executable for good; older
     * kernels refuse the flag, and execve is never allowed in the sandbox
     * anyway. These two flag sets are the only ones the filter lets a
     * plugin use. */
    int fd = (int)syscall(SYS_memfd_create, "plughost-blob",
                          MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
    if (fd < 0 && errno == EINVAL)
        fd = (int)syscall(SYS_memfd_create, "plughost-blob", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd >= 0 && fd <= 2) {
        /* In the sandbox 0-2 are closed, so a new descriptor lands there,
         * and the filter answers writes to 0-2 with EBADF (stray printf). */
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        fd = moved;
    }
    if (fd < 0)
        snprintf(err, errlen, "memfd_create: %s", strerror(errno));
    return fd;
}

int ph_wire_blob_seal(int fd, char *err, size_t errlen)
{
    if (fcntl(fd, F_ADD_SEALS, BLOB_SEALS) < 0) {
        snprintf(err, errlen, "sealing the blob: %s%s", strerror(errno),
                 errno == EBUSY ? " (a writable mapping of it is still there)" : "");
        return -1;
    }
    return 0;
}

int ph_wire_blob_make(const void *data, size_t len, char *err, size_t errlen)
{
    int fd = blob_memfd(err, errlen);
    if (fd < 0)
        return -1;
    /* write(), not a mapping: the page cache takes the bytes without
     * zeroing its new pages first, which a fault-in would. */
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "writing the blob: %s", w < 0 ? strerror(errno) : "no progress");
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (ph_wire_blob_seal(fd, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int ph_wire_blob_open(size_t len, char *err, size_t errlen)
{
    if (len > (size_t)INT64_MAX) {
        snprintf(err, errlen, "blob of %zu bytes is too large", len);
        return -1;
    }
    int fd = blob_memfd(err, errlen);
    if (fd < 0 || len == 0)
        return fd;
    /* Sized by writing its last byte, not ftruncate: the plugin's filter
     * has lseek and write already, and a sized file is all that is needed
     * (the pages between stay holes until the mapping fills them). */
    static const char zero;
    if (lseek(fd, (off_t)(len - 1), SEEK_SET) < 0 || write(fd, &zero, 1) != 1 ||
        lseek(fd, 0, SEEK_SET) < 0) {
        snprintf(err, errlen, "sizing the blob: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int ph_wire_blob_check(int fd, size_t size, char *err, size_t errlen)
{
    int seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
        /* EINVAL: not a file that can be sealed, i.e. not a memfd. */
        snprintf(err, errlen, "blob descriptor is not a memfd");
        return -1;
    }
    if ((seals & BLOB_SEALS) != BLOB_SEALS) {
        snprintf(err, errlen, "blob is not sealed (seals 0x%x, need shrink, grow, write, seal)",
                 (unsigned)seals);
        return -1;
    }
    /* The size by seeking, not fstat: a plugin's filter has no fstat it can
     * make without asking the host (host/load_window.c). Only a file whose
     * size is sealed can be sealed, so the end found here is final; the
     * offset is put back for readers that read rather than map. */
    off_t cur = lseek(fd, 0, SEEK_CUR);
    off_t end = cur < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (end < 0 || lseek(fd, cur, SEEK_SET) < 0) {
        snprintf(err, errlen, "blob descriptor cannot be sized: %s", strerror(errno));
        return -1;
    }
    if ((unsigned long long)end != (unsigned long long)size) {
        snprintf(err, errlen, "blob size %lld differs from the %zu the message claims",
                 (long long)end, size);
        return -1;
    }
    return 0;
}

static int blob_walk(json_t *v, int depth, int *count, size_t *size, char *err, size_t errlen)
{
    if (depth > 64) {
        snprintf(err, errlen, "blob search: JSON nested too deep");
        return -1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i,
                           e) if (blob_walk(e, depth + 1, count, size, err, errlen) < 0) return -1;
        return 0;
    }
    if (!json_is_object(v))
        return 0;
    json_t *b = json_object_get(v, "$blob");
    if (b) {
        json_t *sz = json_object_get(v, "size");
        if (json_object_size(v) != 2 || !json_is_integer(b) || json_integer_value(b) != 0 ||
            !json_is_integer(sz) || json_integer_value(sz) < 0) {
            snprintf(err, errlen, "malformed blob reference (must be {\"$blob\": 0, \"size\": N})");
            return -1;
        }
        if (++*count > 1) {
            snprintf(err, errlen, "more than one blob reference in a message");
            return -1;
        }
        *size = (size_t)json_integer_value(sz);
        return 0;
    }
    const char *k;
    json_t *e;
    json_object_foreach(v, k,
                        e) if (blob_walk(e, depth + 1, count, size, err, errlen) < 0) return -1;
    return 0;
}

int ph_wire_blob_find(json_t *v, size_t *size, char *err, size_t errlen)
{
    int count = 0;
    if (blob_walk(v, 0, &count, size, err, errlen) < 0)
        return -1;
    return count;
}

json_t *ph_wire_blob_ref(size_t size)
{
    return json_pack("{s:i,s:I}", "$blob", 0, "size", (json_int_t)size);
}

json_t *ph_wire_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    /* A raw NUL is never valid JSON, and jansson would stop reading at it. */
    if (memchr(text, '\0', len)) {
        snprintf(err, errlen, "invalid JSON: NUL byte at offset %zu",
                 (size_t)((const char *)memchr(text, '\0', len) - text));
        return NULL;
    }
    /* Duplicate keys are refused: two readers could otherwise disagree on
     * which value counts. */
    json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!v) {
        /* jansson's text quotes the input near the error ("near '...'"):
         * the peer's bytes, maybe not UTF-8 or with terminal controls in
         * them. Escaped, the reason is printable ASCII whatever was sent,
         * so a report built from it can always be built. */
        char text_esc[sizeof je.text * 4 + 40];
        ph_wire_escape(je.text, strnlen(je.text, sizeof je.text), text_esc, sizeof text_esc);
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s", je.line, je.column,
                 text_esc);
    }
    return v;
}

static int bad(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -1;
}

int ph_wire_classify(json_t *v, ph_wire_msg *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return bad(err, errlen, "message is not a JSON object");
    json_t *ver = json_object_get(v, "jsonrpc");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0)
        return bad(err, errlen, "\"jsonrpc\" must be \"2.0\"");
    json_t *id = json_object_get(v, "id");
    if (id && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
        return bad(err, errlen, "\"id\" must be a string, an integer or null");
    json_t *method = json_object_get(v, "method");
    if (method) {
        if (!json_is_string(method))
            return bad(err, errlen, "\"method\" must be a string");
        json_t *params = json_object_get(v, "params");
        if (params && !json_is_array(params) && !json_is_object(params))
            return bad(err, errlen, "\"params\" must be an array or an object");
        if (json_object_get(v, "result") || json_object_get(v, "error"))
            return bad(err, errlen, "a request cannot carry \"result\" or \"error\"");
        out->kind = id ? PH_MSG_REQUEST : PH_MSG_NOTIFICATION;
        out->id = id;
        out->method = json_string_value(method);
        out->params = params;
        return 0;
    }
    if (!id)
        return bad(err, errlen, "a response needs an \"id\"");
    json_t *result = json_object_get(v, "result");
    json_t *error = json_object_get(v, "error");
    if ((result != NULL) == (error != NULL))
        return bad(err, errlen, "a response needs exactly one of \"result\" and \"error\"");
    out->id = id;
    if (result) {
        out->kind = PH_MSG_RESULT;
        out->result = result;
        return 0;
    }
    if (!json_is_object(error) || !json_is_integer(json_object_get(error, "code")) ||
        !json_is_string(json_object_get(error, "message")))
        return bad(err, errlen, "\"error\" needs an integer \"code\" and a string \"message\"");
    out->kind = PH_MSG_ERROR;
    out->error = error;
    return 0;
}

char *ph_wire_encode(const json_t *v, size_t *len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s && len)
        *len = strlen(s);
    return s;
}

json_t *ph_wire_error_obj(int code, const char *message, json_t *data)
{
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message ? message : "");
    if (!e && message) {
        /* Not UTF-8 (bytes a peer sent, quoted): escaped, the error is
         * still built and still says what it says. */
        char esc[2048];
        ph_wire_escape(message, strlen(message), esc, sizeof esc);
        e = json_pack("{s:i,s:s}", "code", code, "message", esc);
    }
    if (e && data)
        json_object_set_new(e, "data", data);
    else if (data)
        json_decref(data);
    return e;
}

json_t *ph_wire_response(json_t *id, json_t *result)
{
    json_t *r = json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "result",
                          result ? result : json_null());
    return r;
}

json_t *ph_wire_error_response(json_t *id, json_t *error)
{
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
                     error ? error : json_null());
}

json_t *ph_wire_request(json_t *id, const char *method, json_t *params)
{
    json_t *r = json_pack("{s:s,s:s}", "jsonrpc", "2.0", "method", method);
    if (!r)
        return NULL;
    if (id)
        json_object_set(r, "id", id);
    if (params)
        json_object_set(r, "params", params);
    return r;
}

void ph_wire_escape(const char *bytes, size_t n, char *out, size_t outlen)
{
    ph_text_escape(bytes, n, out, outlen, PH_TEXT_EXACT);
}
