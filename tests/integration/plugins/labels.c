/*
 * labels: a plugin whose version string is built to break a metrics line
 * (a double quote, a backslash, a newline, an escape sequence, a closing
 * brace, non-ASCII), with one method that works, one that crashes, one the
 * sandbox kills, and one that asks the host for its status, which no plugin
 * may have (test_status).
 */
#include <plughost/sdk.h>

#include <sys/syscall.h>
#include <unistd.h>

#define LABELS_VERSION "1\"} 2\\\n# EOF\x1b[2J\xc3\xa9"

static json_t *ok(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("ok");
}

static json_t *violate(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* Refused by the filter: the process ends as a named violation. */
    syscall(SYS_ptrace, 0L /* PTRACE_TRACEME */, 0L, 0L, 0L);
    return json_null();
}

static json_t *ask_host(ph_ctx *ctx, json_t *params)
{
    (void)params;
    json_t *result = NULL, *error = NULL;
    if (ph_call_host(ctx, "plughost/status", NULL, &result, &error) == 0)
        return json_pack("{s:o}", "result", result);
    return json_pack("{s:o}", "error", error ? error : json_null());
}

static const ph_method methods[] = {
    {"ok", ok, "returns \"ok\"", NULL},
    {"violate", violate, "makes a syscall the sandbox refuses", NULL},
    {"ask_host", ask_host, "asks the host for plughost/status", NULL},
    {0},
};

PH_PLUGIN(.name = "labels", .version = LABELS_VERSION, .description = "hostile label values",
          .methods = methods);
