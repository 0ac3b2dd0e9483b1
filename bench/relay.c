/*
 * relay: the floor of `plughost serve`'s two-hop call. It reads one
 * JSON-RPC request per line on stdin, sends the line as it is over an
 * AF_UNIX SOCK_SEQPACKET socketpair to a child that decodes it with
 * jansson, checks it as a server must, and encodes the answer (the params
 * as the result, under the request's id), and writes that answer as a line
 * on stdout. Per call the relay makes four system calls when the client
 * sends one request at a time (read, send, recv, write): the least any
 * process that keeps a confined peer between its client and the work can
 * make. ph_bench drives it exactly as it drives `plughost serve`.
 *
 * It is a benchmark floor, not a server: it trusts its client (ph_bench),
 * and gives up on anything unexpected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_MAX (1 << 20)

/* The child: what the echo plugin's side costs at least. */
static void serve_child(int fd)
{
    char *buf = malloc(MSG_MAX);
    if (!buf)
        _exit(3);
    for (;;) {
        ssize_t n = recv(fd, buf, MSG_MAX, 0);
        if (n <= 0)
            _exit(n < 0 ? 1 : 0);
        json_error_t je;
        json_t *req = json_loadb(buf, (size_t)n, 0, &je);
        json_t *id = json_object_get(req, "id");
        json_t *method = json_object_get(req, "method");
        json_t *ver = json_object_get(req, "jsonrpc");
        json_t *resp;
        if (!json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0 ||
            !json_is_string(method) || !json_is_integer(id))
            resp = json_pack("{s:s, s:O?, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                             "code", -32600, "message", "invalid request");
        else
            resp = json_pack("{s:s, s:O, s:O}", "jsonrpc", "2.0", "id", id, "result",
                             json_object_get(req, "params"));
        char *out = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
        json_decref(resp);
        json_decref(req);
        if (!out)
            _exit(4);
        size_t len = strlen(out);
        ssize_t sent = send(fd, out, len, 0);
        free(out);
        if (sent != (ssize_t)len)
            _exit(1);
    }
}

static int write_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        perror("relay: socketpair");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("relay: fork");
        return 1;
    }
    if (pid == 0) {
        close(sv[0]);
        serve_child(sv[1]);
    }
    close(sv[1]);
    char *in = malloc(MSG_MAX), *ans = malloc(MSG_MAX + 1);
    if (!in || !ans)
        return 1;
    size_t len = 0;
    for (;;) {
        char *nl;
        while (!(nl = memchr(in, '\n', len))) {
            if (len == MSG_MAX)
                return 1;
            ssize_t r = read(0, in + len, MSG_MAX - len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                close(sv[0]);
                waitpid(pid, NULL, 0);
                return r < 0;
            }
            len += (size_t)r;
        }
        size_t line = (size_t)(nl - in);
        if (send(sv[0], in, line, 0) != (ssize_t)line)
            return 1;
        ssize_t a = recv(sv[0], ans, MSG_MAX, 0);
        if (a <= 0)
            return 1;
        ans[a] = '\n';
        if (write_all(1, ans, (size_t)a + 1) < 0)
            return 1;
        len -= line + 1;
        memmove(in, nl + 1, len);
    }
}
