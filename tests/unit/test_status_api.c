/*
 * ph_host_status and ph_host_status_exposition through the public API: the
 * counters move with calls served and cancelled, the instance is the
 * plugin's process, and the exposition keeps every line whole whatever a
 * label holds. Usage: test_status_api ECHO_SO (the loader from
 * $PLUGHOST_LOADER).
 */
#include "check.h"
#include "plughost/host.h"

#include <stdlib.h>
#include <string.h>

static json_t *plugin(json_t *st, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(st, "plugins"), i, p)
    {
        if (json_is_string(json_object_get(p, "name")) &&
            strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return p;
    }
    return NULL;
}

static json_int_t failed(json_t *p, const char *cause)
{
    return json_integer_value(json_object_get(json_object_get(p, "calls_failed"), cause));
}

/* Every line a comment or one sample "plughost_NAME{...} VALUE", printable
 * ASCII only: what a hostile label must not break. */
static int lines_whole(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((text[i] >= 0x20 && text[i] < 0x7f) || text[i] == '\n'))
            return 0;
    const char *l = text;
    while (*l) {
        const char *nl = strchr(l, '\n');
        if (!nl)
            return 0;
        if (strncmp(l, "# HELP plughost_", 16) != 0 && strncmp(l, "# TYPE plughost_", 16) != 0 &&
            strncmp(l, "plughost_", 9) != 0)
            return 0;
        l = nl + 1;
    }
    return 1;
}

static void exposition_escapes(void)
{
    ph_error err;
    char *text = NULL;
    size_t len = 0;
    json_t *bad = json_pack("{s:i}", "plugins", 1);
    CHECK(ph_host_status_exposition(bad, PH_EXPOSITION_PROMETHEUS, &text, &len, &err) ==
              PH_E_INVALID &&
          !text);
    json_decref(bad);

    json_t *st = json_pack(
        "{s:i,s:{s:s,s:i,s:f,s:i,s:i,s:i},s:[{s:s,s:s,s:s,s:s,s:i,s:{s:s,s:i},s:i,s:{s:i,s:i},"
        "s:{s:i,s:s},s:i,s:i,s:[{s:i,s:i,s:I,s:f,s:i,s:s}]}]}",
        "plughost_status", 1, "host", "version", "0.1.0", "started_unix_ms", 1000, "uptime_s", 1.5,
        "plugins", 1, "calls_total", 7, "calls_pending", 0, "plugins", "name", "x\"y", "file",
        "/p/a\\b}.so", "version", "1\"} 2\n# EOF\x1b[2J", "state", "ready", "restarts", 3,
        "circuit", "state", "closed", "recent_failures", 0, "calls_served", 5, "calls_failed",
        "signaled", 2, "timeout", 0, "violations", "count", 1, "last_syscall", "ptrace\"\n",
        "queue_depth", 0, "in_flight", 1, "instances", "index", 0, "pid", 42, "started_unix_ms",
        (json_int_t)1796000000000, "uptime_s", 2.5, "memory_bytes", 4096, "memory_source", "rss");
    /* The key of the last violation's time is set apart: json_pack has no
     * room for it between the strings above. */
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(st, "plugins"), 0), "violations"),
        "last_unix_ms", json_integer(1796000000123));
    int rc = ph_host_status_exposition(st, PH_EXPOSITION_PROMETHEUS, &text, &len, &err);
    CHECKF(rc == PH_OK && text && len == strlen(text), "exposition: %d %s", rc, err.text);
    if (text) {
        CHECKF(lines_whole(text, len), "every line whole and printable:\n%s", text);
        CHECKF(strstr(text, "plughost_plugin_info{plugin=\"x\\\"y\",file=\"/p/a\\\\x5cb}.so\","
                            "version=\"1\\\"} 2\\\\x0a# EOF\\\\x1b[2J\"} 1\n") != NULL,
               "labels escaped as plughost's view, then the format's:\n%s", text);
        CHECKF(strstr(text, "plughost_plugin_calls_failed_total{plugin=\"x\\\"y\",cause="
                            "\"signaled\"} 2\n") != NULL,
               "failures by cause:\n%s", text);
        CHECKF(strstr(text, "plughost_plugin_last_violation_timestamp_seconds{plugin=\"x\\\"y\","
                            "syscall=\"ptrace\\\"\\\\x0a\"} 1796000000.123\n") != NULL,
               "the last violation with its syscall:\n%s", text);
        CHECK(strstr(text, "# TYPE plughost_plugin_calls_served_total counter\n") != NULL);
        CHECK(strstr(text, "plughost_instance_memory_bytes{plugin=\"x\\\"y\",slot=\"0\","
                           "source=\"rss\"} 4096\n") != NULL);
        CHECK(strstr(text, "# EOF\n") == NULL);
    }
    free(text);
    text = NULL;
    rc = ph_host_status_exposition(st, PH_EXPOSITION_OPENMETRICS, &text, &len, &err);
    CHECKF(rc == PH_OK && text, "openmetrics: %d %s", rc, err.text);
    if (text) {
        CHECK(len >= 6 && strcmp(text + len - 6, "# EOF\n") == 0);
        CHECK(strstr(text, "# TYPE plughost_plugin_calls_failed counter\n") != NULL);
        CHECK(strstr(text, "# TYPE plughost_plugin info\n") != NULL);
        CHECK(strstr(text, "# UNIT plughost_instance_memory_bytes bytes\n") != NULL);
        CHECK(strstr(text, "plughost_plugin_calls_failed_total{plugin=\"x\\\"y\",cause="
                           "\"signaled\"} 2\n") != NULL);
    }
    free(text);
    text = NULL;
    CHECK(ph_host_status_exposition(st, 7, &text, &len, &err) == PH_E_INVALID && !text);
    json_decref(st);
}

static int cancelled_cb_ran;

static void on_cancelled(void *ud, uint64_t id, json_t *result, json_t *error)
{
    (void)ud;
    (void)id;
    (void)result;
    (void)error;
    cancelled_cb_ran++;
}

static void live_counters(const char *echo_so)
{
    ph_host *h = NULL;
    ph_error err;
    int rc = ph_host_new(NULL, &h, &err);
    CHECKF(rc == PH_OK, "ph_host_new: %s (is PLUGHOST_LOADER set?)", err.text);
    if (rc != PH_OK)
        return;
    rc = ph_host_load_file(h, echo_so, NULL, &err);
    CHECKF(rc == PH_OK, "load echo: %s", err.text);
    json_t *st0 = NULL;
    CHECK(ph_host_status(h, &st0, &err) == PH_OK && st0);
    json_t *e0 = plugin(st0, "echo");
    CHECK(e0 && json_integer_value(json_object_get(e0, "calls_served")) == 0);
    json_t *d = ph_host_describe(h);
    json_t *inst = json_array_get(json_object_get(e0, "instances"), 0);
    CHECKF(inst && json_integer_value(json_object_get(inst, "pid")) ==
                       json_integer_value(json_object_get(
                           json_array_get(json_object_get(d, "plugins"), 0), "pid")),
           "the instance is the plugin's process");
    CHECK(json_is_string(json_object_get(inst, "memory_source")));
    json_decref(d);

    for (int i = 0; i < 3; i++) {
        json_t *params = json_pack("[i]", i), *result = NULL, *rpc = NULL;
        CHECK(ph_host_call(h, "echo", "echo", params, &result, &rpc, &err) == PH_OK);
        json_decref(params);
        json_decref(result);
        json_decref(rpc);
    }
    uint64_t id = 0;
    CHECK(ph_host_call_async(h, "echo", "echo", NULL, on_cancelled, NULL, &id, &err) == PH_OK);
    CHECK(ph_host_cancel(h, id) == PH_OK);
    while (ph_host_pending(h) > 0 && ph_host_process(h, 1000, &err) >= 0)
        ;
    CHECK(cancelled_cb_ran == 1);

    json_t *st1 = NULL;
    CHECK(ph_host_status(h, &st1, &err) == PH_OK && st1);
    json_t *e1 = plugin(st1, "echo");
    CHECKF(json_integer_value(json_object_get(e1, "calls_served")) == 3,
           "3 calls served, the cancelled one not: %lld",
           (long long)json_integer_value(json_object_get(e1, "calls_served")));
    CHECK(failed(e1, "cancelled") == 1 && failed(e1, "signaled") == 0);
    json_t *host = json_object_get(st1, "host");
    CHECK(json_integer_value(json_object_get(host, "calls_total")) == 4);
    CHECK(json_integer_value(json_object_get(host, "plugins")) == 1);
    CHECK(json_is_string(json_object_get(host, "version")));
    json_decref(st0);
    json_decref(st1);
    CHECK(ph_host_status(NULL, &st1, &err) == PH_E_INVALID);
    ph_host_free(h);
}

int main(int argc, char **argv)
{
    exposition_escapes();
    if (argc > 1)
        live_counters(argv[1]);
    else
        CHECKF(0, "usage: test_status_api ECHO_SO");
    return ph_t_summary("test_status_api");
}
