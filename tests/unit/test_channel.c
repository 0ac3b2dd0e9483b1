/*
 * test_channel: malformed records from a hostile plugin (rawrec), through
 * the host library. Each must end the plugin as a named protocol breach,
 * at once (not at the call's deadline), and the report must always be
 * built: a message and data.breach, whatever bytes the plugin sent.
 *
 * usage: test_channel RAWREC_SO SUITE_DIR|-
 * SUITE_DIR is JSONTestSuite's test_parsing: every file in it is sent as
 * one message (none of them is a JSON-RPC message).
 */
#include "check.h"

#include <plughost/host.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEADLINE_MS 5000

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_t *data_of(json_t *rpc)
{
    return json_object_get(rpc, "data");
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Calls rawrec.METHOD; returns the error object (new reference) or NULL. */
static json_t *call(ph_host *h, const char *method, json_t *params, uint64_t *took)
{
    json_t *res = NULL, *rpc = NULL;
    ph_error err;
    uint64_t t0 = now_ms();
    int rc = ph_host_call(h, "rawrec", method, params, &res, &rpc, &err);
    *took = now_ms() - t0;
    json_decref(res);
    if (rc == PH_OK)
        return NULL;
    return rpc ? rpc : json_pack("{s:s}", "message", err.text);
}

/* The call failed at once as a protocol breach whose reason holds want
 * (NULL: any), with a message that names it. */
static void expect_breach(json_t *e, uint64_t took, const char *what, const char *want)
{
    const char *status = str(data_of(e), "status");
    const char *why = str(data_of(e), "breach");
    const char *msg = str(e, "message");
    CHECKF(e && status && strcmp(status, "protocol") == 0, "%s: status %s", what,
           status ? status : "(none)");
    CHECKF(why && *why, "%s: data.breach missing", what);
    CHECKF(!want || (why && strstr(why, want)), "%s: breach \"%s\" lacks \"%s\"", what,
           why ? why : "", want ? want : "");
    CHECKF(msg && !strstr(msg, "(null)") && (!why || strstr(msg, why)),
           "%s: message \"%s\" does not name the breach", what, msg ? msg : "(none)");
    CHECKF(took < DEADLINE_MS / 2, "%s: answered after %llu ms, not at once", what,
           (unsigned long long)took);
}

static void still_serves(ph_host *h, const char *after)
{
    uint64_t took;
    json_t *e = call(h, "ok", NULL, &took);
    CHECKF(!e, "ok after %s: %s", after, e ? str(e, "message") : "");
    json_decref(e);
}

static json_t *ended; /* the last "ended" event (new reference) */

static void on_event(void *ud, json_t *ev)
{
    (void)ud;
    const char *type = str(ev, "type");
    if (type && strcmp(type, "ended") == 0) {
        json_decref(ended);
        ended = json_incref(ev);
    }
}

static int answered;

static void on_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    (void)ud;
    (void)id;
    (void)result;
    (void)error;
    answered = 1;
}

/* A zero-length record that arrives after the call it came with was
 * answered: the host must still read it as a breach, not as end of file
 * (which left the plugin unwatched: every later call waited out its
 * deadline). The next call is answered at once, and the ending is named. */
static void empty_between_calls(ph_host *h)
{
    ph_error err;
    uint64_t id = 0;
    answered = 0;
    CHECK(ph_host_call_async(h, "rawrec", "ok", NULL, on_answer, NULL, &id, &err) == PH_OK);
    for (int i = 0; i < 100 && !answered; i++)
        ph_host_process(h, 50, &err);
    CHECK(answered);
    /* Call ids are sequential: the next call is id + 1. */
    json_t *params = json_pack("{s:I}", "id", (json_int_t)(id + 1));
    uint64_t took;
    json_t *e = call(h, "answer_then_empty", params, &took);
    json_decref(params);
    CHECKF(!e, "the call answered before the bad record succeeds: %s", e ? str(e, "message") : "");
    json_decref(e);
    e = call(h, "ok", NULL, &took);
    CHECKF(took < DEADLINE_MS / 2, "the next call is answered at once (%llu ms)",
           (unsigned long long)took);
    const char *status = e ? str(data_of(e), "status") : str(ended, "status");
    const char *why =
        e ? str(data_of(e), "breach") : str(data_of(json_object_get(ended, "error")), "breach");
    CHECKF(status && strcmp(status, "protocol") == 0 && why && strstr(why, "empty record"),
           "the ending is a breach naming the empty record (%s: %s)", status ? status : "-",
           why ? why : "-");
    json_decref(e);
    still_serves(h, "an empty record between calls");
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static void suite(ph_host *h, const char *dir)
{
    DIR *d = opendir(dir);
    CHECKF(d, "cannot open %s", dir);
    if (!d)
        return;
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len = 0;
        char *bytes = slurp(path, &len);
        if (!bytes)
            continue;
        char *hex = malloc(2 * len + 1);
        for (size_t i = 0; hex && i < len; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)bytes[i]);
        if (hex)
            hex[2 * len] = '\0';
        json_t *params = hex ? json_pack("{s:s}", "hex", hex) : NULL;
        uint64_t took = 0;
        json_t *e = params ? call(h, "send", params, &took) : NULL;
        expect_breach(e, took, de->d_name, NULL);
        json_decref(e);
        json_decref(params);
        free(hex);
        free(bytes);
        files++;
    }
    closedir(d);
    CHECKF(files > 100, "only %zu files in %s", files, dir);
    still_serves(h, "the suite");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_channel RAWREC_SO SUITE_DIR|-\n");
        return 2;
    }
    /* Every breach ends the plugin: restarts must stay immediate and the
     * circuit closed for the whole corpus. */
    ph_host_options o = {.call_timeout_ms = DEADLINE_MS,
                         .max_failures = 100000,
                         .failure_window_ms = 1,
                         .restart_backoff_ms = 1,
                         .restart_backoff_max_ms = 1};
    ph_host *h;
    ph_error err;
    CHECK(ph_host_new(&o, &h, &err) == PH_OK);
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "load: %s", err.text);
    ph_host_set_event_handler(h, on_event, NULL);

    /* A zero-length record after the handshake: recvmsg says 0 bytes, as
     * at end of file, but the plugin is alive and about to answer. */
    uint64_t took;
    json_t *e = call(h, "empty", NULL, &took);
    expect_breach(e, took, "zero-length record", "empty record");
    json_decref(e);
    still_serves(h, "a zero-length record");

    empty_between_calls(h);

    /* A channel closed by a plugin that goes on running. */
    e = call(h, "close", NULL, &took);
    expect_breach(e, took, "closed channel", "closed its channel");
    json_decref(e);
    still_serves(h, "a closed channel");

    /* An escaped emoji: jansson's error text quotes the input near the
     * error and cuts it inside the emoji's UTF-8 sequence. */
    json_t *params = json_pack("{s:s}", "hex", "5b225cf09f8c80225d");
    e = call(h, "send", params, &took);
    expect_breach(e, took, "escaped emoji", "invalid JSON");
    json_decref(e);
    json_decref(params);
    still_serves(h, "an escaped emoji");

    if (strcmp(argv[2], "-") != 0)
        suite(h, argv[2]);
    ph_host_free(h);
    json_decref(ended);
    return ph_t_summary("test_channel");
}
