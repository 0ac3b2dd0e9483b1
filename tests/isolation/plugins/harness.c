/*
 * Shared part of every hostile plugin: the plugin table, the positive
 * control `ping`, and `attack`, which runs the file's attack. Built with
 * -DPH_ATTACK_IN_CTOR (or -DPH_ATTACK_IN_INIT), the attack runs in an ELF
 * constructor (or in the plugin's init callback) instead, and `attack`
 * reports what that early run saw.
 *
 * ATK_NAME is the plugin's name, equal to its file name (set by
 * tests/isolation/CMakeLists.txt), so the driver can find it in reports.
 */
#include "attack.h"

#include <plughost/sdk.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef ATK_NAME
#error "ATK_NAME must be defined as the plugin file name"
#endif

static pid_t target_pid = 1;
static ph_ctx *current_ctx;

ph_ctx *atk_ctx(void)
{
    return current_ctx;
}

void atk_set(struct atk_outcome *o, long ret, int err)
{
    o->ret = ret;
    o->err = ret < 0 ? err : 0;
    o->escaped = ret >= 0;
}

pid_t atk_target_pid(void)
{
    /* Never the plugin itself: the policy lets a process signal itself, and
     * a plugin in a pid namespace of its own is pid 1 there. */
    pid_t self = getpid();
    if (target_pid != self)
        return target_pid;
    return self == 1 ? 2 : 1;
}

#if defined(PH_ATTACK_IN_CTOR) || defined(PH_ATTACK_IN_INIT)
#define ATK_EARLY 1
static struct atk_outcome early_outcome;
static int early_done;
#endif

#ifdef PH_ATTACK_IN_CTOR
/* Runs inside dlopen(), under whatever the sandbox allows while loading:
 * that window, not the serving policy, is what this variant probes. */
__attribute__((constructor)) static void atk_ctor(void)
{
    atk_run(&early_outcome);
    early_done = 1;
}
#define ATK_PHASE "ctor"
#endif

#ifdef PH_ATTACK_IN_INIT
/* init runs after dlopen() but before the handshake, so it is still in the
 * loading window; a plugin author controls it as fully as a constructor. */
static int atk_init(ph_ctx *ctx)
{
    (void)ctx;
    atk_run(&early_outcome);
    early_done = 1;
    return 0;
}
#define ATK_INIT_FIELD .init = atk_init,
#define ATK_PHASE "init"
#else
#define ATK_INIT_FIELD
#endif

static json_t *m_ping(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_string("pong");
}

/* A detail may hold bytes read from anywhere; jansson refuses invalid
 * UTF-8, and a refused result would hide the escape behind an error. */
static void make_printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '.';
}

static json_t *m_attack(ph_ctx *ctx, json_t *params)
{
    struct atk_outcome o;
    const char *phase;
    json_t *pid = ph_param(params, "pid", 0);
    if (json_is_integer(pid) && json_integer_value(pid) > 0)
        target_pid = (pid_t)json_integer_value(pid);
#ifdef ATK_EARLY
    if (!early_done)
        return ph_error(ctx, PH_ERR_INTERNAL, "the early attack did not run");
    o = early_outcome;
    phase = ATK_PHASE;
#else
    memset(&o, 0, sizeof o);
    current_ctx = ctx;
    atk_run(&o);
    current_ctx = NULL;
    phase = "method";
#endif
    if (o.failed)
        return NULL; /* the attack's own error, set on ctx */
    make_printable(o.detail);
    const char *ename = o.err ? strerrorname_np(o.err) : NULL;
    return json_pack("{s:b, s:s, s:s, s:I, s:i, s:s?, s:s}", "escaped", o.escaped, "attack",
                     ATK_NAME, "phase", phase, "ret", (json_int_t)o.ret, "errno", o.err,
                     "errno_name", ename, "detail", o.detail);
}

static const ph_method methods[] = {
    {.name = "ping", .fn = m_ping, .description = "positive control: returns \"pong\""},
    {.name = "attack",
     .fn = m_attack,
     .description = "tries one forbidden thing",
     .params_doc = "{pid?: integer}"},
    {0},
};

PH_PLUGIN(.name = ATK_NAME, .version = "1.0.0", .description = "hostile test plugin",
          ATK_INIT_FIELD.methods = methods);
