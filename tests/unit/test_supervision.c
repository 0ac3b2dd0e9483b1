/*
 * test_supervision: the restart policy through the public API, against the
 * crashy plugin: a crash is answered and followed by an immediate restart;
 * further crashes back off; enough of them in the window open the circuit,
 * which fails calls at once until it is reset or the cool-down passes; and
 * the plugin's process is always reaped.
 */
#include "check.h"

#include <plughost/host.h>

#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *status_of(json_t *rpc)
{
    return json_string_value(json_object_get(json_object_get(rpc, "data"), "status"));
}

/* Calls crashy.METHOD; returns the error object (new reference) or NULL. */
static json_t *call(ph_host *h, const char *method)
{
    json_t *res = NULL, *rpc = NULL;
    ph_error err;
    int rc = ph_host_call(h, "crashy", method, NULL, &res, &rpc, &err);
    json_decref(res);
    if (rc == PH_OK)
        return NULL;
    return rpc ? rpc : json_pack("{s:s}", "message", err.text);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_supervision CRASHY_SO\n");
        return 2;
    }
    ph_host_options o = {.max_failures = 3,
                         .failure_window_ms = 10000,
                         .cooldown_ms = 400,
                         .restart_backoff_ms = 150,
                         .restart_backoff_max_ms = 1000};
    ph_host *h;
    ph_error err;
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "load: %s", err.text);

    /* First crash: answered with the cause, and the next call restarts at once. */
    json_t *e = call(h, "crash");
    CHECKF(e && status_of(e) && strcmp(status_of(e), "signaled") == 0, "crash reported");
    json_decref(e);
    uint64_t t0 = now_ms();
    e = call(h, "ok");
    CHECKF(!e, "ok right after the first crash");
    json_decref(e);
    CHECKF(now_ms() - t0 < 140, "first restart is immediate (%llu ms)",
           (unsigned long long)(now_ms() - t0));

    /* Second crash: the restart waits for the backoff, the call still works. */
    e = call(h, "crash");
    json_decref(e);
    t0 = now_ms();
    e = call(h, "ok");
    CHECKF(!e, "ok after the backoff");
    json_decref(e);
    CHECKF(now_ms() - t0 >= 140, "second restart waited for the backoff (%llu ms)",
           (unsigned long long)(now_ms() - t0));

    /* Third failure in the window: the circuit opens and calls fail at once. */
    e = call(h, "crash");
    json_decref(e);
    t0 = now_ms();
    e = call(h, "ok");
    CHECKF(e && json_integer_value(json_object_get(e, "code")) == PH_RPC_PLUGIN_NOT_LOADED,
           "circuit open: not-loaded error");
    const char *circuit = json_string_value(json_object_get(json_object_get(e, "data"), "circuit"));
    CHECKF(circuit && strcmp(circuit, "open") == 0, "circuit named in the error data");
    CHECKF(now_ms() - t0 < 50, "an open circuit answers at once");
    json_decref(e);

    /* An operator reset closes it. */
    CHECK(ph_host_reset(h, "crashy", &err) == PH_OK);
    e = call(h, "ok");
    CHECKF(!e, "ok after reset");
    json_decref(e);
    CHECK(ph_host_reset(h, "nope", &err) == PH_E_NOTFOUND);

    /* Open it again, then let the cool-down pass. */
    for (int i = 0; i < 3; i++) {
        e = call(h, "crash");
        json_decref(e);
    }
    e = call(h, "ok");
    CHECKF(e != NULL, "circuit open again");
    json_decref(e);
    struct timespec ts = {0, 450 * 1000 * 1000};
    nanosleep(&ts, NULL);
    e = call(h, "ok");
    CHECKF(!e, "ok once the cool-down passed");
    json_decref(e);

    json_t *d = ph_host_describe(h);
    json_t *p = json_array_get(json_object_get(d, "plugins"), 0);
    CHECKF(json_integer_value(json_object_get(p, "restarts")) >= 4, "restarts counted");
    json_decref(d);
    CHECK(ph_host_pending(h) == 0);
    ph_host_free(h);

    /* A plugin's queue is bounded: past max_queue a call is refused at once
     * (PH_E_BUSY), and the bound frees up as answers come. */
    ph_host_options q = {.max_queue = 2, .call_timeout_ms = 300};
    CHECK(ph_host_new(&q, &h, &err) == PH_OK);
    CHECK(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK);
    CHECK(ph_host_call_async(h, "crashy", "hang", NULL, NULL, NULL, NULL, &err) == PH_OK);
    CHECK(ph_host_call_async(h, "crashy", "ok", NULL, NULL, NULL, NULL, &err) == PH_OK);
    int busy = ph_host_call_async(h, "crashy", "ok", NULL, NULL, NULL, NULL, &err);
    CHECKF(busy == PH_E_BUSY && strstr(err.text, "max_queue"), "third call refused: %d %s", busy,
           err.text);
    while (ph_host_pending(h) > 0)
        ph_host_process(h, 100, &err);
    e = call(h, "ok");
    CHECKF(!e, "queue drained: calls accepted again");
    json_decref(e);
    ph_host_free(h);
    return ph_t_summary("test_supervision");
}
