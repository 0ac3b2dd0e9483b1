/*
 * test_reload: ph_host_reload_dir, what SIGHUP does in `plughost serve`:
 * new files start, untouched plugins keep running (same pid), changed files
 * restart from the new file, removed ones stop and their calls fail.
 */
#include "check.h"

#include <plughost/host.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int pid_of(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h);
    json_t *p;
    size_t i;
    int pid = -1;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            pid = (int)json_integer_value(json_object_get(p, "pid"));
    }
    json_decref(d);
    return pid;
}

static int works(ph_host *h, const char *plugin, const char *method, const char *params)
{
    json_t *p = json_loads(params, 0, NULL), *res = NULL, *rpc = NULL;
    ph_error err;
    int rc = ph_host_call(h, plugin, method, p, &res, &rpc, &err);
    json_decref(p);
    json_decref(res);
    json_decref(rpc);
    return rc == PH_OK;
}

struct answer {
    int done, ok;
};

static void on_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    (void)id;
    (void)error;
    struct answer *a = ud;
    a->done++;
    a->ok = result != NULL;
}

__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_reload ECHO_SO TEXTSTATS_SO\n");
        return 2;
    }
    char dir[] = "/tmp/ph-reload-XXXXXX";
    if (!mkdtemp(dir) || sh("cp '%s' '%s/'", argv[1], dir) != 0)
        return 2;
    ph_host *h;
    ph_error err;
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    CHECK(ph_host_load_dir(h, dir, &err) == PH_OK);
    int echo_pid = pid_of(h, "echo");
    CHECKF(echo_pid > 0 && works(h, "echo", "echo", "[1]"), "echo up");
    CHECK(!works(h, "textstats", "calc", "[\"1+1\"]"));

    /* A new file starts; the untouched plugin keeps its process. */
    CHECK(sh("cp '%s' '%s/'", argv[2], dir) == 0);
    CHECKF(ph_host_reload_dir(h, dir, &err) == PH_OK, "reload: %s", err.text);
    CHECKF(works(h, "textstats", "calc", "[\"1+1\"]"), "new plugin serves after reload");
    CHECKF(pid_of(h, "echo") == echo_pid, "untouched plugin kept running");

    /* A changed file restarts from the new file. */
    CHECK(sh("cp '%s' '%s/echo.tmp'", argv[1], dir) == 0);
    CHECK(sh("mv '%s/echo.tmp' '%s/echo.so'", dir, dir) == 0);
    CHECKF(ph_host_reload_dir(h, dir, &err) == PH_OK, "reload: %s", err.text);
    int new_pid = pid_of(h, "echo");
    CHECKF(new_pid > 0 && new_pid != echo_pid, "changed plugin restarted (%d -> %d)", echo_pid,
           new_pid);
    CHECK(works(h, "echo", "echo", "[2]"));

    /* A removed file stops its plugin, even one with writes held back by a
     * cork (last on the held list, after echo): its call fails, echo's is
     * still written at the uncork. */
    CHECK(sh("rm '%s/textstats.so'", dir) == 0);
    struct answer a_echo = {0}, a_ts = {0};
    ph_host_cork(h);
    json_t *p1 = json_pack("[i]", 7), *p2 = json_pack("[s]", "1+1");
    CHECK(ph_host_call_async(h, "echo", "echo", p1, on_answer, &a_echo, NULL, &err) == PH_OK);
    CHECK(ph_host_call_async(h, "textstats", "calc", p2, on_answer, &a_ts, NULL, &err) == PH_OK);
    json_decref(p1);
    json_decref(p2);
    CHECKF(ph_host_reload_dir(h, dir, &err) == PH_OK, "reload: %s", err.text);
    ph_host_uncork(h);
    for (int i = 0; i < 500 && (!a_echo.done || !a_ts.done); i++)
        ph_host_process(h, 10, &err);
    CHECKF(a_echo.done && a_echo.ok, "echo's corked call answered (%d, %d)", a_echo.done,
           a_echo.ok);
    CHECKF(a_ts.done && !a_ts.ok, "the removed plugin's corked call failed (%d, %d)", a_ts.done,
           a_ts.ok);
    CHECKF(pid_of(h, "textstats") == -1, "removed plugin gone");
    CHECK(!works(h, "textstats", "calc", "[\"1+1\"]"));
    CHECK(works(h, "echo", "echo", "[3]"));
    CHECK(ph_host_pending(h) == 0);

    ph_host_free(h);
    sh("rm -rf '%s'", dir);
    return ph_t_summary("test_reload");
}
