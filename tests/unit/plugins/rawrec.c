/*
 * rawrec: a hostile plugin that writes records on its channel (fd 3)
 * behind the SDK's back, for test_channel: a zero-length record, a
 * message of arbitrary bytes (given as hex), or a channel it closes while
 * it keeps running. Each method then answers normally, so a host that
 * misses the bad record is found out waiting for an answer it never reads.
 */
#include <plughost/sdk.h>

#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHANNEL 3
#define CHUNK 32767 /* the most a record carries after its flag byte */

static long send_record(unsigned char flag, const unsigned char *data, size_t n)
{
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, n}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    return (long)sendmsg(CHANNEL, &mh, MSG_NOSIGNAL);
}

static json_t *empty(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    struct msghdr mh = {0};
    long r = (long)sendmsg(CHANNEL, &mh, MSG_NOSIGNAL);
    return json_pack("{s:I}", "sent", (json_int_t)r);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* {"hex": "..."}: those bytes as one well-framed message. */
static json_t *send_bytes(ph_ctx *ctx, json_t *params)
{
    const char *hex = json_string_value(json_object_get(params, "hex"));
    size_t n = hex ? strlen(hex) / 2 : 0;
    static unsigned char buf[1 << 20];
    if (!hex || n > sizeof buf)
        return ph_error(ctx, -32602, "params are {\"hex\": string}");
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ph_error(ctx, -32602, "not lower-case hex");
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t off = 0;
    do {
        size_t chunk = n - off > CHUNK ? CHUNK : n - off;
        if (send_record(off + chunk < n ? 0x01 : 0x00, buf + off, chunk) < 0)
            break;
        off += chunk;
    } while (off < n);
    return json_pack("{s:I}", "sent", (json_int_t)off);
}

/* {"id": N}: answers request N itself, then sends a zero-length record,
 * so the bad record arrives after the call it came in is answered (the
 * runtime's own, second answer is never read: the host ends it first). */
static json_t *answer_then_empty(ph_ctx *ctx, json_t *params)
{
    json_t *id = json_object_get(params, "id");
    if (!json_is_integer(id))
        return ph_error(ctx, -32602, "params are {\"id\": integer}");
    char msg[128];
    int n = snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":\"early\"}",
                     (long long)json_integer_value(id));
    send_record(0x00, (const unsigned char *)msg, (size_t)n);
    struct msghdr mh = {0};
    (void)sendmsg(CHANNEL, &mh, MSG_NOSIGNAL);
    return json_string("late");
}

/* Closes the channel and stays alive: it can never answer again. */
static json_t *close_channel(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    close(CHANNEL);
    struct timespec ts = {30, 0};
    nanosleep(&ts, NULL);
    return json_true();
}

static json_t *ok(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("ok");
}

static const ph_method methods[] = {
    {"empty", empty, "sends a zero-length record, then answers", NULL},
    {"send", send_bytes, "sends {hex} as one raw message, then answers", NULL},
    {"answer_then_empty", answer_then_empty, "answers {id} itself, then a zero-length record",
     NULL},
    {"close", close_channel, "closes its channel and keeps running", NULL},
    {"ok", ok, "returns \"ok\"", NULL},
    {0},
};

PH_PLUGIN(.name = "rawrec", .version = "1.0.0", .description = "writes bad records on purpose",
          .methods = methods);
