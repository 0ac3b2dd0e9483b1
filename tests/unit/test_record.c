/*
 * test_record: the library side of record, replay and pins.
 * ph_host_record: a failing transcript stops with an event and never fails
 * a call; ph_host_intercept_functions answers a plugin's host calls;
 * ph_host_set_pins on running plugins: a changed surface is refused with
 * -32003 and said once, and lifting the pins offers it again.
 */
#include "check.h"

#include <plughost/host.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
    int record_errors, pin_events;
    char record_text[512];
};

static void on_event(void *ud, json_t *ev)
{
    struct seen *s = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "record_error") == 0) {
        s->record_errors++;
        snprintf(s->record_text, sizeof s->record_text, "%s",
                 json_string_value(json_object_get(ev, "message")));
    } else if (type && strcmp(type, "pin_mismatch") == 0) {
        s->pin_events++;
    }
}

static int answer(void *ud, const char *plugin, const char *method, json_t *params, json_t **result,
                  json_t **error)
{
    (void)params;
    int *calls = ud;
    (*calls)++;
    if (strcmp(plugin, "greeter") != 0) {
        *error = json_pack("{s:i,s:s}", "code", -32603, "message", "not greeter");
        return -1;
    }
    if (strcmp(method, "host.version") == 0)
        *result = json_pack("{s:s}", "plughost", "intercepted");
    else if (strcmp(method, "host.kv_get") == 0)
        *result = json_integer(41);
    else
        *result = json_true();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_record ECHO_SO GREETER_SO VARIANTS_DIR\n");
        return 2;
    }
    struct seen seen = {0};
    ph_host *h;
    ph_error err;
    if (ph_host_new(NULL, &h, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return 2;
    }
    ph_host_set_event_handler(h, on_event, &seen);

    /* A transcript that stops taking bytes: a pipe nobody reads, whose
     * write end does not block. */
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK(fcntl(pfd[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK(ph_host_record(h, pfd[1], &err) == PH_OK);
    close(pfd[1]);
    CHECK(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK);
    CHECK(ph_host_load_file(h, argv[2], NULL, &err) == PH_OK);
    /* Big enough to fill the pipe's 64 KiB at once. */
    char *big = malloc(200 * 1024);
    memset(big, 'x', 200 * 1024 - 1);
    big[200 * 1024 - 1] = '\0';
    json_t *params = json_pack("[s]", big), *res = NULL, *rpc = NULL;
    int rc = ph_host_call(h, "echo", "echo", params, &res, &rpc, &err);
    CHECKF(rc == PH_OK && json_equal(res, params), "the call failed with the record: %s", err.text);
    json_decref(res);
    res = NULL;
    CHECKF(seen.record_errors == 1 && strstr(seen.record_text, "recording stopped"),
           "record_error events: %d (%s)", seen.record_errors, seen.record_text);
    rc = ph_host_call(h, "echo", "echo", params, &res, &rpc, &err);
    CHECK(rc == PH_OK && seen.record_errors == 1);
    json_decref(res);
    res = NULL;
    json_decref(params);
    free(big);
    close(pfd[0]);

    /* Recording started with plugins running: the header lists them, each
     * process numbered (slot and proc), and their later lines carry the
     * same numbers. */
    char path[] = "/tmp/ph-record-XXXXXX";
    int tfd = mkstemp(path);
    CHECK(tfd >= 0 && ph_host_record(h, tfd, &err) == PH_OK);
    params = json_pack("[s]", "numbered");
    CHECK(ph_host_call(h, "echo", "echo", params, &res, &rpc, &err) == PH_OK);
    json_decref(params);
    json_decref(res);
    res = NULL;
    CHECK(ph_host_record(h, -1, &err) == PH_OK);
    json_error_t je;
    FILE *tf = fopen(path, "r");
    char buf[65536];
    json_t *head = tf && fgets(buf, sizeof buf, tf) ? json_loads(buf, 0, &je) : NULL;
    json_t *listed = json_object_get(head, "plugins");
    json_t *l0 = json_array_get(listed, 0), *l1 = json_array_get(listed, 1);
    CHECKF(json_integer_value(json_object_get(head, "plughost_transcript")) == 2 &&
               json_array_size(listed) == 2 &&
               strlen(json_string_value(json_object_get(l0, "sha256"))) == 64,
           "header: %s", je.text);
    CHECK(json_integer_value(json_object_get(l0, "slot")) == 0 &&
          json_integer_value(json_object_get(l0, "proc")) == 1 &&
          json_integer_value(json_object_get(l1, "proc")) == 2);
    json_int_t echo_proc = strcmp(json_string_value(json_object_get(l0, "plugin")), "echo") == 0
                               ? json_integer_value(json_object_get(l0, "proc"))
                               : json_integer_value(json_object_get(l1, "proc"));
    int lines = 0, numbered = 0;
    while (tf && fgets(buf, sizeof buf, tf)) {
        json_t *l = json_loads(buf, 0, &je);
        lines++;
        numbered += json_integer_value(json_object_get(l, "proc")) == echo_proc &&
                    json_integer_value(json_object_get(l, "slot")) == 0 &&
                    strcmp(json_string_value(json_object_get(l, "plugin")), "echo") == 0;
        json_decref(l);
    }
    CHECKF(lines == 2 && numbered == 2, "%d lines after the header, %d of echo's process %lld",
           lines, numbered, (long long)echo_proc);
    if (tf)
        fclose(tf);
    json_decref(head);
    unlink(path);
    close(tfd);

    /* Host calls answered by the intercept, not the table. */
    int calls = 0;
    ph_host_intercept_functions(h, answer, &calls);
    json_t *who = json_pack("{s:s}", "name", "Ann");
    rc = ph_host_call(h, "greeter", "greet", who, &res, &rpc, &err);
    CHECKF(rc == PH_OK, "greet: %s", err.text);
    CHECKF(calls == 3 && json_integer_value(json_object_get(res, "visits")) == 42 &&
               strcmp(json_string_value(json_object_get(json_object_get(res, "host"), "plughost")),
                      "intercepted") == 0,
           "intercepted %d calls", calls);
    json_decref(res);
    res = NULL;
    ph_host_intercept_functions(h, NULL, NULL);

    /* Pins set on running plugins. */
    json_t *pins = ph_host_pins(h);
    json_t *epin = json_object_get(json_object_get(pins, "plugins"), "echo.so");
    CHECK(epin && strlen(json_string_value(json_object_get(epin, "sha256"))) == 64);
    CHECK(ph_host_set_pins(h, pins, 0, &err) == PH_OK);
    CHECK(ph_host_call(h, "greeter", "greet", who, &res, &rpc, &err) == PH_OK);
    json_decref(res);
    res = NULL;
    json_object_set_new(json_object_get(json_object_get(epin, "methods"), "echo"), "description",
                        json_string("what the operator saw"));
    CHECK(ph_host_set_pins(h, pins, 0, &err) == PH_OK);
    CHECK(seen.pin_events == 1);
    json_t *one = json_pack("[i]", 1);
    rc = ph_host_call(h, "echo", "echo", one, &res, &rpc, &err);
    json_t *changes = json_object_get(json_object_get(rpc, "data"), "pin_changes");
    CHECKF(rc == PH_E_PLUGIN && json_integer_value(json_object_get(rpc, "code")) == -32003 &&
               json_array_size(changes) == 1 &&
               strcmp(json_string_value(json_array_get(changes, 0)),
                      "method echo: description changed") == 0,
           "a changed pin let the call through (rc %d)", rc);
    json_decref(rpc);
    rpc = NULL;
    /* Set again, unchanged: not said twice. */
    CHECK(ph_host_set_pins(h, pins, 0, &err) == PH_OK && seen.pin_events == 1);
    /* Unpinned: refused, unless allowed. */
    json_object_del(json_object_get(pins, "plugins"), "echo.so");
    CHECK(ph_host_set_pins(h, pins, 0, &err) == PH_OK);
    CHECK(ph_host_call(h, "echo", "echo", one, &res, &rpc, &err) == PH_E_PLUGIN);
    json_decref(rpc);
    rpc = NULL;
    CHECK(ph_host_set_pins(h, pins, 1, &err) == PH_OK);
    CHECK(ph_host_call(h, "echo", "echo", one, &res, &rpc, &err) == PH_OK);
    json_decref(res);
    res = NULL;
    /* A malformed pin document is refused, the pins in force stay. */
    json_t *bad = json_pack("{s:i,s:{s:{s:s,s:s}}}", "plughost_pins", 1, "plugins", "echo.so",
                            "plugin", "echo", "sha256", "zz");
    CHECK(ph_host_set_pins(h, bad, 0, &err) == PH_E_INVALID && strstr(err.text, "sha256"));
    CHECK(ph_host_call(h, "echo", "echo", one, &res, &rpc, &err) == PH_OK);
    json_decref(res);
    res = NULL;
    CHECK(ph_host_set_pins(h, NULL, 0, &err) == PH_OK);
    json_decref(bad);
    json_decref(pins);
    json_decref(who);

    /* Pins set on a plugin started before any hash was needed: the file it
     * runs was never hashed, and the file on disk now proves nothing, so
     * it is not offered until its next start, even with the right pin. */
    json_t *right = ph_host_pins(h);
    ph_host_free(h);
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    ph_host_set_event_handler(h, NULL, NULL);
    CHECK(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK);
    CHECK(ph_host_call(h, "echo", "echo", one, &res, &rpc, &err) == PH_OK);
    json_decref(res);
    res = NULL;
    CHECK(ph_host_set_pins(h, right, 0, &err) == PH_OK);
    rc = ph_host_call(h, "echo", "echo", one, &res, &rpc, &err);
    changes = json_object_get(json_object_get(rpc, "data"), "pin_changes");
    CHECKF(rc == PH_E_PLUGIN && json_array_size(changes) == 1 &&
               strstr(json_string_value(json_array_get(changes, 0)), "not verified"),
           "a plugin whose loaded file was never hashed was offered (rc %d)", rc);
    json_decref(rpc);
    rpc = NULL;
    json_decref(right);
    json_decref(one);
    ph_host_free(h);

    /* Two files claiming one name, neither NAME.so: both refused, and the
     * second's message names the first's file after it was refused. */
    CHECK(ph_host_new(NULL, &h, &err) == PH_OK);
    ph_host_set_event_handler(h, NULL, NULL);
    CHECK(ph_host_load_dir(h, argv[3], &err) == PH_OK);
    json_t *d = ph_host_describe(h);
    json_t *errors = json_object_get(d, "errors");
    CHECKF(json_array_size(json_object_get(d, "plugins")) == 0 && json_array_size(errors) == 2,
           "duplicates: %zu loaded, %zu refused", json_array_size(json_object_get(d, "plugins")),
           json_array_size(errors));
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *m = json_string_value(json_object_get(json_object_get(e, "error"), "message"));
        CHECKF(m && strstr(m, "duplicate plugin name \"echo\"") && strstr(m, "echo_v"),
               "refusal: %s", m ? m : "(none)");
    }
    json_decref(d);
    ph_host_free(h);
    return ph_t_summary("test_record");
}
