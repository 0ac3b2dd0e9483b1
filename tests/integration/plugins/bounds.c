/*
 * bounds: a hostile plugin for test_bounds.py, probing every quantity a
 * plugin controls (host/bounds.h). Where the SDK would stop it, it writes
 * raw records on the channel (fd 3) with plain send(), as any plugin can.
 *
 * Built several times (tests/integration/CMakeLists.txt):
 *   BOUNDS_HELLO=1  init forges a ph.hello of 1,000,000 methods (~26 MB),
 *                   streamed record by record so the plugin stays small;
 *   BOUNDS_HELLO=2  init forges a hello of 2,000 small methods;
 *   BOUNDS_HELLO=3  init forges a hello with one 5,000-byte description,
 *                =4 a 256-byte method name, =5 a 70,000-byte params_schema,
 *                =6 5,000 bytes of params notes, =7 a 5,000-byte plugin
 *                description;
 *   BOUNDS_WIDE     a legitimate plugin with 1,000 methods and long
 *                   descriptions (a large but allowed MCP tool list);
 *   otherwise       methods that flood, fill the kv store, never read.
 */
#include <plughost/sdk.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef BOUNDS_NAME
#error "BOUNDS_NAME must be the plugin's name"
#endif

#define CHAN 3
#define CHUNK 32767

/* One record: a flag byte (0 last, 1 more), then up to CHUNK bytes. */
__attribute__((unused)) static int record(int more, const char *data, size_t n)
{
    char buf[CHUNK + 1];
    buf[0] = more ? 1 : 0;
    memcpy(buf + 1, data, n);
    for (;;) {
        ssize_t r = send(CHAN, buf, n + 1, MSG_NOSIGNAL);
        if (r >= 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* A message written in pieces: text is appended to a record buffer,
 * which goes out as a MORE record whenever full. */
struct stream {
    char buf[CHUNK];
    size_t len;
    int failed;
};

__attribute__((unused)) static void put(struct stream *s, const char *text)
{
    size_t n = strlen(text);
    while (n && !s->failed) {
        size_t take = CHUNK - s->len < n ? CHUNK - s->len : n;
        memcpy(s->buf + s->len, text, take);
        s->len += take;
        text += take;
        n -= take;
        if (s->len == CHUNK) {
            s->failed = record(1, s->buf, s->len) < 0;
            s->len = 0;
        }
    }
}

__attribute__((unused)) static void end(struct stream *s)
{
    if (!s->failed)
        s->failed = record(0, s->buf, s->len) < 0;
}

#ifdef BOUNDS_HELLO
static int forge_hello(ph_ctx *ctx)
{
    (void)ctx;
    static struct stream s;
#if BOUNDS_HELLO <= 2
    char m[64];
#endif
    put(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{\"protocol\":1,\"sdk_abi\":1,"
            "\"name\":\"" BOUNDS_NAME "\",");
#if BOUNDS_HELLO == 7
    put(&s, "\"description\":\"");
    for (int i = 0; i < 5000; i++)
        put(&s, "d");
    put(&s, "\",");
#endif
    put(&s, "\"version\":\"1\",\"methods\":[");
#if BOUNDS_HELLO == 1
    for (int i = 0; i < 1000000 && !s.failed; i++) {
        snprintf(m, sizeof m, "%s{\"name\":\"m%07d\"}", i ? "," : "", i);
        put(&s, m);
    }
#elif BOUNDS_HELLO == 2
    for (int i = 0; i < 2000 && !s.failed; i++) {
        snprintf(m, sizeof m, "%s{\"name\":\"m%07d\"}", i ? "," : "", i);
        put(&s, m);
    }
#elif BOUNDS_HELLO == 3
    put(&s, "{\"name\":\"long\",\"description\":\"");
    for (int i = 0; i < 5000; i++)
        put(&s, "d");
    put(&s, "\"}");
#elif BOUNDS_HELLO == 4
    put(&s, "{\"name\":\"");
    for (int i = 0; i < 256; i++)
        put(&s, "n");
    put(&s, "\"}");
#elif BOUNDS_HELLO == 5
    put(&s, "{\"name\":\"big\",\"params_schema\":{\"type\":\"object\",\"description\":\"");
    for (int i = 0; i < 70000; i++)
        put(&s, "s");
    put(&s, "\"}}");
#elif BOUNDS_HELLO == 7
    put(&s, "{\"name\":\"m\"}");
#else
    put(&s, "{\"name\":\"long\",\"params\":\"");
    for (int i = 0; i < 5000; i++)
        put(&s, "p");
    put(&s, "\"}");
#endif
    put(&s, "]}}");
    end(&s);
    return 0;
}
#define INIT .init = forge_hello,
#else
#define INIT
#endif

static json_t *ping(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("pong");
}

#ifdef BOUNDS_WIDE
/* 1,000 methods with ~900-byte descriptions: a hello of ~1 MB would not
 * fit; this one is ~0.95 MB, under the bound, and makes a tool list large
 * enough that one copy per client would show in the host's memory. */
#define WIDE 1000
static ph_method wide[WIDE + 2];
static char names[WIDE][16];
static char desc[880];

__attribute__((constructor)) static void make_wide(void)
{
    memset(desc, 'w', sizeof desc - 1);
    wide[0] = (ph_method){.name = "ping", .fn = ping, .description = "pong"};
    for (int i = 0; i < WIDE; i++) {
        snprintf(names[i], sizeof names[i], "w%04d", i);
        wide[i + 1] = (ph_method){.name = names[i], .fn = ping, .description = desc};
    }
}
#define METHODS wide
#else

/* host.kv_set of a key of the given size (params: [bytes]). */
static json_t *kv_key(ph_ctx *ctx, json_t *params)
{
    size_t n = (size_t)json_integer_value(json_array_get(params, 0));
    char *k = malloc(n + 1);
    if (!k)
        return ph_error(ctx, PH_ERR_INTERNAL, "no memory");
    memset(k, 'k', n);
    k[n] = '\0';
    json_t *result = NULL, *error = NULL;
    json_t *p = json_pack("[s,i]", k, 1);
    free(k);
    int rc = ph_call_host(ctx, "host.kv_set", p, &result, &error);
    json_decref(p);
    json_t *r = json_pack("{s:b,s:O?}", "stored", rc == 0 && json_is_true(result), "error", error);
    json_decref(result);
    json_decref(error);
    return r;
}

/* Values of 60,000 bytes under new keys until one is refused: how many
 * were kept (params: [max tries]). */
static json_t *kv_fill(ph_ctx *ctx, json_t *params)
{
    int tries = (int)json_integer_value(json_array_get(params, 0));
    char *v = malloc(60001);
    if (!v)
        return ph_error(ctx, PH_ERR_INTERNAL, "no memory");
    memset(v, 'v', 60000);
    v[60000] = '\0';
    int kept = 0;
    json_t *last_error = NULL;
    for (int i = 0; i < tries; i++) {
        char key[32];
        snprintf(key, sizeof key, "fill%d", i);
        json_t *result = NULL, *error = NULL;
        json_t *p = json_pack("[s,s]", key, v);
        int rc = ph_call_host(ctx, "host.kv_set", p, &result, &error);
        json_decref(p);
        json_decref(result);
        if (rc != 0) {
            last_error = error;
            break;
        }
        json_decref(error);
        kept++;
    }
    free(v);
    return json_pack("{s:i,s:o?}", "kept", kept, "error", last_error);
}

static json_t *flood_log(ph_ctx *ctx, json_t *params)
{
    int n = (int)json_integer_value(json_array_get(params, 0));
    for (int i = 0; i < n; i++)
        ph_log(ctx, PH_LOG_INFO, "flood %d", i);
    return json_integer(n);
}

static json_t *flood_notify(ph_ctx *ctx, json_t *params)
{
    int n = (int)json_integer_value(json_array_get(params, 0));
    json_t *np = json_array();
    for (int i = 0; i < n; i++)
        ph_notify(ctx, "flood", np);
    json_decref(np);
    return json_integer(n);
}

/* n notifications of 100,000 bytes each (params: [n]). */
static json_t *flood_bytes(ph_ctx *ctx, json_t *params)
{
    int n = (int)json_integer_value(json_array_get(params, 0));
    char *big = malloc(100001);
    if (!big)
        return ph_error(ctx, PH_ERR_INTERNAL, "no memory");
    memset(big, 'b', 100000);
    big[100000] = '\0';
    json_t *np = json_pack("[s]", big);
    free(big);
    for (int i = 0; i < n; i++)
        ph_notify(ctx, "flood", np);
    json_decref(np);
    return json_integer(n);
}

/* After the handshake: a ph.hello of 1,000,000 methods (~26 MB), which
 * the host must not parse to find out it is out of place. */
static json_t *late_hello(ph_ctx *ctx, json_t *params)
{
    (void)params;
    static struct stream s;
    char m[64];
    put(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{\"protocol\":1,"
            "\"sdk_abi\":1,\"name\":\"" BOUNDS_NAME "\",\"version\":\"1\",\"methods\":[");
    for (int i = 0; i < 1000000 && !s.failed; i++) {
        snprintf(m, sizeof m, "%s{\"name\":\"m%07d\"}", i ? "," : "", i);
        put(&s, m);
    }
    put(&s, "]}}");
    end(&s);
    return ph_error(ctx, PH_ERR_INTERNAL, "the late hello was not stopped");
}

/* A notification of 20,000,000 bytes of small values (~3 bytes each):
 * more than a second's budget of events, never worth parsing. The call
 * goes on. */
static json_t *huge_notify(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    static struct stream s;
    put(&s, "{\"jsonrpc\":\"2.0\",\"method\":\"flood\",\"params\":[");
    for (int i = 0; i < 6666666 && !s.failed; i++)
        put(&s, i ? ",[]" : "[]");
    put(&s, "]}");
    end(&s);
    return json_string(s.failed ? "failed" : "sent");
}

/* Stores a 60,000-byte value, then asks for it n times (params: [n],
 * or [n, 0] to ask for a key never set: small answers) without ever
 * reading an answer, then sleeps: the host must not hold the answers
 * without end. */
static json_t *flood_hostfn(ph_ctx *ctx, json_t *params)
{
    int n = (int)json_integer_value(json_array_get(params, 0));
    const char *key = json_array_size(params) > 1 ? "unset" : "big";
    char *v = malloc(60001);
    if (!v)
        return ph_error(ctx, PH_ERR_INTERNAL, "no memory");
    memset(v, 'v', 60000);
    v[60000] = '\0';
    json_t *result = NULL, *error = NULL;
    json_t *p = json_pack("[s,s]", "big", v);
    free(v);
    int rc = ph_call_host(ctx, "host.kv_set", p, &result, &error);
    json_decref(p);
    json_decref(result);
    json_decref(error);
    if (rc != 0)
        return ph_error(ctx, PH_ERR_INTERNAL, "kv_set failed");
    int sent = 0;
    for (int i = 0; i < n; i++) {
        char req[128];
        int len = snprintf(req, sizeof req,
                           "{\"jsonrpc\":\"2.0\",\"id\":\"raw%d\",\"method\":\"host.kv_get\","
                           "\"params\":[\"%s\"]}",
                           i, key);
        if (record(0, req, (size_t)len) < 0)
            break;
        sent++;
    }
    struct timespec t = {20, 0};
    nanosleep(&t, NULL);
    return json_integer(sent);
}

static const ph_method methods[] = {
    {.name = "ping", .fn = ping},
    {.name = "kv_key", .fn = kv_key},
    {.name = "kv_fill", .fn = kv_fill},
    {.name = "flood_log", .fn = flood_log},
    {.name = "flood_notify", .fn = flood_notify},
    {.name = "flood_bytes", .fn = flood_bytes},
    {.name = "late_hello", .fn = late_hello},
    {.name = "huge_notify", .fn = huge_notify},
    {.name = "flood_hostfn", .fn = flood_hostfn},
    {0},
};
#define METHODS methods
#endif

PH_PLUGIN(.name = BOUNDS_NAME, .version = "1.0.0", INIT.methods = METHODS);
