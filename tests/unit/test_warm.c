/*
 * test_warm: the runtime's warm-up (sdk/runtime.c ph_rt_warm_up) runs no
 * method of the plugin, reads nothing from the host and sends nothing: the
 * first call a runtime serves is the first run of a method in its process.
 * test_warm_spare checks the same of spares through the host.
 */
#include "check.h"
#include "runtime.h"
#include "wire.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int runs;

static json_t *count(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_integer(++runs);
}

/* "warm-up" is the synthetic request's name without its "$/": a table may
 * hold it, and the warm-up must still not run it. */
static const ph_method methods[] = {
    {.name = "count", .fn = count},
    {.name = "warm-up", .fn = count},
    {0},
};
static const ph_plugin table = {
    .abi = PH_SDK_ABI, .name = "warm", .version = "1", .methods = methods};

/* One message from the runtime on fd, parsed, or NULL after timeout_ms. */
static json_t *recv_one(int fd, ph_wire_rx *rx, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) != 1)
        return NULL;
    char *text, err[128];
    size_t len;
    if (ph_wire_recv(fd, rx, &text, &len, NULL, err, sizeof err) != 1)
        return NULL;
    json_t *v = ph_wire_parse(text, len, err, sizeof err);
    free(text);
    return v;
}

static int send_text(int fd, const char *text)
{
    return ph_wire_send(fd, text, strlen(text), -1);
}

static void runtime_over_socket(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        char err[256];
        _exit(ph_rt_run(sv[1], &table, err, sizeof err) == 0 ? 0 : 3);
    }
    close(sv[1]);
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, 0);
    json_t *hello = recv_one(sv[0], &rx, 5000);
    CHECKF(hello && !strcmp(json_string_value(json_object_get(hello, "method")), "ph.hello"),
           "the runtime's first message is its hello");
    json_decref(hello);
    /* The warm-up's answers are encoded and dropped: nothing follows the
     * hello until a call is made. */
    json_t *stray = recv_one(sv[0], &rx, 200);
    CHECKF(!stray, "nothing after the hello before a call");
    json_decref(stray);
    /* The first call is the first run of any method in the process. */
    CHECK(send_text(sv[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"count\",\"params\":[]}") ==
          0);
    json_t *ans = recv_one(sv[0], &rx, 5000);
    json_t *res = json_object_get(ans, "result");
    CHECKF(json_integer_value(res) == 1, "the first call finds no method run before it (runs %d)",
           (int)json_integer_value(res));
    json_decref(ans);
    CHECK(send_text(sv[0], "{\"jsonrpc\":\"2.0\",\"method\":\"ph.shutdown\"}") == 0);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the runtime stops cleanly (%#x)",
           status);
    ph_wire_rx_free(&rx);
    close(sv[0]);
}

int main(void)
{
    char err[256] = "";
    runs = 0;
    CHECKF(ph_rt_warm_up(&table, err, sizeof err) == 0, "warm-up: %s", err);
    CHECKF(runs == 0, "the warm-up ran no method of the plugin (%d runs)", runs);
    runtime_over_socket();
    return ph_t_summary("test_warm");
}
