/*
 * Hostile text: every string this plugin controls that the host may show a
 * person carries terminal control sequences, a forged line and the
 * Unicode tricks (issue 12, item 8). test_hostile_text.py runs list, call,
 * serve and the violation and setup-failure paths over it and checks that
 * none of it reaches stdout or stderr raw.
 *
 * Built three times: hostile_text.so loads normally; with -DLIE_IN_CTOR
 * (lying_setup.so) a constructor first sends a raw ph.setup_failed and the
 * plugin then loads and serves as if nothing happened (item 7); with
 * -DFAIL_IN_CTOR (evil_setup.so) a constructor fails the start with the
 * text as stage and message.
 */
#include "forge.h"

#include <plughost/sdk.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A newline then a whole forged line, erase-line + CR, an OSC title, a
 * cursor-position query (the terminal would type its answer), a bare CR,
 * DEL, C1 CSI (U+009B), RIGHT-TO-LEFT OVERRIDE (U+202E) and LINE SEPARATOR
 * (U+2028). */
#define EVIL                                                                                       \
    "\n[echo] info: forged\x1b[2K\r\x1b]0;title\x07\x1b[6n\r\x7f\xc2\x9b\xe2\x80\xae\xe2\x80\xa8"  \
    "end"

static json_t *m_log(ph_ctx *ctx, json_t *params)
{
    (void)params;
    ph_log(ctx, PH_LOG_INFO, "%s", EVIL);
    /* A level is plugin text too: a raw $/log, since the SDK's levels are
     * an enum. */
    forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"$/log\",\"params\":{\"level\":"
                  "\"\\n[echo] error: forged\\u001b[2K\\r\\u007f\\u009b\\u202e\","
                  "\"message\":\"m\"}}");
    return json_true();
}

static json_t *m_notify(ph_ctx *ctx, json_t *params)
{
    (void)params;
    json_t *p = json_pack("{s:s}", "text", EVIL);
    ph_notify(ctx, "note" EVIL, p);
    json_decref(p);
    return json_true();
}

static json_t *m_fail(ph_ctx *ctx, json_t *params)
{
    (void)params;
    /* Also poses as the host: a reserved code and the keys of its reports. */
    return ph_error_data(ctx, -32002,
                         json_pack("{s:s,s:s,s:s,s:s,s:i}", "why", EVIL, "status", "violation",
                                   "syscall", "reboot", "plugin", "echo", "exit_code", 0),
                         "%s", EVIL);
}

static json_t *m_result(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_pack("{s:s}", "text", EVIL);
}

/* Refused by the sandbox: the path is in the violation report. */
static json_t *m_violate(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    int fd = open("/tmp/" EVIL, O_RDONLY);
    if (fd >= 0)
        close(fd);
    return json_false();
}

/* Spins until the kernel's CPU limit ends it. */
static json_t *m_burn(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return json_null();
}

/* Raises SIGXCPU itself, far below its CPU limit: that is no limit. (As its
 * pid namespace's init the signal is dropped and this returns.) */
static json_t *m_xcpu(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    raise(SIGXCPU);
    return json_true();
}

/* Ends on its own, with a status of its choosing. */
static json_t *m_exit3(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    _exit(3);
}

static const ph_method methods[] = {
    {.name = "xcpu", .fn = m_xcpu},
    {.name = "exit3", .fn = m_exit3},
    {.name = "log", .fn = m_log, .description = "logs " EVIL},
    {.name = "notify", .fn = m_notify},
    {.name = "fail", .fn = m_fail},
    {.name = "result", .fn = m_result},
    {.name = "violate", .fn = m_violate},
    {.name = "burn", .fn = m_burn},
    {.name = "evil" EVIL, .fn = m_result, .description = EVIL, .params_doc = EVIL},
    {0},
};

#if defined(FAIL_QUIET)
/* A setup failure that says what the host says when it stops a plugin. */
__attribute__((constructor)) static void fail(void)
{
    forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":"
                  "{\"stage\":\"init\",\"message\":\"host stopping\"}}");
    _exit(3);
}
#define NAME "quiet_setup"
#elif defined(FAIL_IN_CTOR)
/* A setup failure whose stage and message are the text. */
__attribute__((constructor)) static void fail(void)
{
    forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":"
                  "{\"stage\":\"\\n[echo] info: forged\\u001b]0;t\\u0007\\u009b\","
                  "\"message\":\"\\n[echo] info: forged\\u001b[2K\\r\\u007f\\u202e\"}}");
    _exit(3);
}
#define NAME "evil_setup"
#elif defined(LIE_IN_CTOR)
__attribute__((constructor)) static void lie(void)
{
    forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":"
                  "{\"stage\":\"init\",\"message\":\"made up\"}}");
}
#define NAME "lying_setup"
#else
#define NAME "hostile_text"
#endif

PH_PLUGIN(.name = NAME, .version = "1.0" EVIL, .description = EVIL, .methods = methods);
