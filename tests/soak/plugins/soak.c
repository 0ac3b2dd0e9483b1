/*
 * soak plugin: one method per behaviour the soak test injects, so that the
 * host's own error messages ("while running crash; this call (echo) was
 * waiting behind it") name the behaviour and the driver can check that a
 * failure was blamed on the right call. Built twenty times under different
 * names (SOAK_NAME) because the plugin name, not the file, keys the host's
 * table.
 */
#include <plughost/sdk.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SOAK_NAME
#define SOAK_NAME "soak"
#endif

static json_int_t seq_of(json_t *params)
{
    return json_integer_value(ph_param(params, "seq", 0));
}

static json_t *echo(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    return params ? json_incref(params) : json_null();
}

static json_t *crash(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* volatile twice: the compiler must neither prove the pointer NULL nor
     * drop the store as dead. */
    volatile int *volatile p = NULL;
    *p = 1;
    return json_null();
}

static json_t *do_exit(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    _exit(7);
}

static json_t *hang(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* Deaf to ph_cancelled(): only the host's call timeout may end it. */
    for (volatile unsigned long i = 0;; i++)
        ;
    return json_null();
}

static json_t *do_sleep(ph_ctx *ctx, json_t *params)
{
    double ms;
    if (ph_param_number(ctx, params, "ms", 1, &ms) < 0)
        return NULL;
    struct timespec ts = {0, (long)(ms * 1e6)};
    nanosleep(&ts, NULL);
    return json_integer(seq_of(params));
}

static json_t *fail(ph_ctx *ctx, json_t *params)
{
    return ph_error(ctx, 42, "soak failure %lld", (long long)seq_of(params));
}

static json_t *big(ph_ctx *ctx, json_t *params)
{
    double size;
    if (ph_param_number(ctx, params, "size", 1, &size) < 0)
        return NULL;
    size_t n = (size_t)size;
    char *s = malloc(n + 1);
    if (!s)
        return ph_error(ctx, PH_ERR_INTERNAL, "out of memory");
    memset(s, 'a' + (int)(seq_of(params) % 26), n);
    s[n] = '\0';
    json_t *r = json_stringn_nocheck(s, n);
    free(s);
    return r;
}

static json_t *logspam(ph_ctx *ctx, json_t *params)
{
    double n;
    if (ph_param_number(ctx, params, "n", 1, &n) < 0)
        return NULL;
    for (int i = 0; i < (int)n; i++)
        ph_log(ctx, PH_LOG_DEBUG, "spam %d of %d for call %lld", i + 1, (int)n,
               (long long)seq_of(params));
    return json_integer((json_int_t)n);
}

static json_t *do_socket(ph_ctx *ctx, json_t *params)
{
    (void)params;
    long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    /* Reaching this line means the sandbox let the call through. */
    return ph_error(ctx, 43, "socket() returned %ld instead of being refused", fd);
}

static json_t *kv(ph_ctx *ctx, json_t *params)
{
    json_t *key = ph_param(params, "key", 1);
    json_t *value = ph_param(params, "value", 2);
    if (!json_is_string(key) || !value)
        return ph_error(ctx, PH_ERR_INVALID_PARAMS, "kv needs key and value");
    json_t *set = json_pack("{s:O,s:O}", "key", key, "value", value);
    json_t *res = NULL, *err = NULL;
    int rc = ph_call_host(ctx, "host.kv_set", set, &res, &err);
    json_decref(set);
    json_decref(res);
    if (rc < 0)
        return ph_error_data(ctx, 44, err, "host.kv_set failed");
    json_t *get = json_pack("{s:O}", "key", key);
    rc = ph_call_host(ctx, "host.kv_get", get, &res, &err);
    json_decref(get);
    if (rc < 0)
        return ph_error_data(ctx, 45, err, "host.kv_get failed");
    return res;
}

static const ph_method methods[] = {
    {"echo", echo, "returns its params", "{seq, payload, n}"},
    {"crash", crash, "dereferences NULL", "{seq}"},
    {"exit", do_exit, "exits with status 7", "{seq}"},
    {"hang", hang, "spins until killed", "{seq}"},
    {"sleep", do_sleep, "sleeps ms, returns seq", "{seq, ms}"},
    {"fail", fail, "fails with code 42", "{seq}"},
    {"big", big, "returns a string of size bytes", "{seq, size}"},
    {"logspam", logspam, "logs n lines, returns n", "{seq, n}"},
    {"socket", do_socket, "opens an AF_INET socket (forbidden)", "{seq}"},
    {"kv", kv, "host.kv_set then host.kv_get, returns what was read", "{seq, key, value}"},
    {0},
};

PH_PLUGIN(.name = SOAK_NAME, .version = "1.0.0", .description = "soak test behaviours",
          .methods = methods);
