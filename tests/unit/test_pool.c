/*
 * test_pool: instance pools through the public API, against the pooled
 * plugin. Two CPU-bound calls in flight run in two processes at once with
 * instances 2 and in one with the default; calls past the pool's size
 * queue and are all answered; an instance past the first stops after the
 * idle time and starts again on demand; a singleton is never pooled; the
 * configuration refuses a pool out of bounds or asked for by a manifest.
 */
#include "check.h"

#include <plughost/host.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

struct seen {
    int answered, failed;
    pid_t pid[MAXC];    /* by call id % MAXC, from receipts */
    int instance[MAXC]; /* the same */
    int singleton_note; /* the host logged the cap */
    pid_t last_receipt_pid;
    int breach_inst1; /* instance 1 ended as a breach: its hello differed */
    int started_by_inst[8];
};

static void on_event(void *ud, json_t *ev)
{
    struct seen *s = ud;
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (type && strcmp(type, "receipt") == 0) {
        json_int_t id = json_integer_value(json_object_get(ev, "call_id"));
        s->pid[id % MAXC] = (pid_t)json_integer_value(json_object_get(ev, "pid"));
        s->instance[id % MAXC] = (int)json_integer_value(json_object_get(ev, "instance"));
        s->last_receipt_pid = s->pid[id % MAXC];
    } else if (type && strcmp(type, "log") == 0) {
        const char *m = json_string_value(json_object_get(ev, "message"));
        s->singleton_note |= m && strstr(m, "singleton") != NULL;
    } else if (type && strcmp(type, "ended") == 0) {
        json_t *data = json_object_get(json_object_get(ev, "error"), "data");
        const char *b = json_string_value(json_object_get(data, "breach"));
        if (json_integer_value(json_object_get(ev, "instance")) == 1 && b &&
            strstr(b, "differs from the first instance"))
            s->breach_inst1++;
    } else if (type && strcmp(type, "started") == 0) {
        json_int_t i = json_integer_value(json_object_get(ev, "instance"));
        if (i >= 0 && i < 8)
            s->started_by_inst[i]++;
    }
}

static void on_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct seen *s = ud;
    (void)id;
    (void)result;
    s->answered++;
    if (error) {
        s->failed++;
        char *t = json_dumps(error, JSON_COMPACT);
        fprintf(stderr, "call %llu failed: %s\n", (unsigned long long)id, t ? t : "?");
        free(t);
    }
}

struct answer {
    int done;
    json_t *error;
};

static void keep_answer(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct answer *a = ud;
    (void)id;
    (void)result;
    a->done = 1;
    a->error = json_incref(error);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* The plugin's entry in ph_host_describe (new reference). */
static json_t *plugin_desc(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h), *found = NULL, *p;
    size_t i;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            found = json_incref(p);
    }
    json_decref(d);
    return found;
}

static int count_state(ph_host *h, const char *name, const char *state)
{
    json_t *p = plugin_desc(h, name), *inst;
    size_t i;
    int n = 0;
    json_array_foreach(json_object_get(p, "instances"), i, inst)
    {
        n += strcmp(json_string_value(json_object_get(inst, "state")), state) == 0;
    }
    json_decref(p);
    return n;
}

static ph_host *host_with_opts(const char *so, ph_host_options o, struct seen *s);

static ph_host *host_with(const char *so, unsigned instances, unsigned idle_ms, struct seen *s)
{
    ph_host_options o = {.instances = instances, .idle_stop_ms = idle_ms};
    return host_with_opts(so, o, s);
}

static ph_host *host_with_opts(const char *so, ph_host_options o, struct seen *s)
{
    o.receipts = 1;
    ph_host *h = NULL;
    ph_error err;
    memset(s, 0, sizeof *s);
    if (ph_host_new(&o, &h, &err) != PH_OK) {
        fprintf(stderr, "host: %s\n", err.text);
        return NULL;
    }
    ph_host_set_event_handler(h, on_event, s);
    if (ph_host_load_file(h, so, NULL, &err) != PH_OK) {
        fprintf(stderr, "load %s: %s\n", so, err.text);
        ph_host_free(h);
        return NULL;
    }
    return h;
}

/* Sends n spin calls of ms each at once, runs the loop until all are
 * answered; returns the most instances seen busy together, fills ids. */
static int spin_together(ph_host *h, const char *name, int n, int ms, struct seen *s, uint64_t *ids)
{
    ph_error err;
    int most = 0;
    for (int i = 0; i < n; i++) {
        json_t *params = json_pack("{s:i}", "ms", ms);
        if (ph_host_call_async(h, name, "spin", params, on_answer, s, &ids[i], &err) != PH_OK)
            fprintf(stderr, "call: %s\n", err.text);
        json_decref(params);
    }
    int want = s->answered + n;
    while (s->answered < want) {
        if (ph_host_process(h, 50, &err) < 0)
            break;
        int busy = count_state(h, name, "busy");
        if (busy > most)
            most = busy;
    }
    return most;
}

/* A plugin held to one process: its pool's size is 1, and two calls made
 * together are both answered, by the same process, one after the other. */
static void check_one_process(ph_host *h, const char *name, const char *what, struct seen *s,
                              uint64_t *ids)
{
    json_t *d = plugin_desc(h, name);
    CHECKF(json_integer_value(json_object_get(d, "max_instances")) == 1, "%s: max_instances 1",
           what);
    json_decref(d);
    int most = spin_together(h, name, 2, 200, s, ids);
    CHECKF(s->failed == 0, "%s calls answered", what);
    CHECKF(most <= 1 && s->pid[ids[0] % MAXC] == s->pid[ids[1] % MAXC], "%s: one process (%d busy)",
           what, most);
}

static void pump(ph_host *h, int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= ms)
            return;
        (void)ph_host_process(h, (int)(ms - el), NULL);
    }
}

static void check_config(const char *dir)
{
    char path[4096];
    const char *bad[] = {
        "{\"plugins\": {\"pooled.so\": {\"instances\": 65}}}",
        "{\"plugins\": {\"pooled.so\": {\"instances\": 0}}}",
        "{\"defaults\": {\"instances\": \"two\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
        FILE *f = fopen(path, "w");
        if (!f)
            continue;
        fputs(bad[i], f);
        fclose(f);
        json_t *cfg = NULL;
        ph_error err;
        int rc = ph_config_load(path, &cfg, &err);
        CHECKF(rc != PH_OK, "config %s refused", bad[i]);
        if (rc != PH_OK)
            CHECKF(strstr(err.text, "instances") != NULL, "error names the key: %s", err.text);
        json_decref(cfg);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/good.json", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("{\"plugins\": {\"pooled.so\": {\"instances\": 3, \"idle_stop_ms\": 500}}}", f);
        fclose(f);
        json_t *cfg = NULL;
        ph_error err;
        CHECKF(ph_config_load(path, &cfg, &err) == PH_OK, "good pool config: %s", err.text);
        json_decref(cfg);
        unlink(path);
    }
    ph_host_options o = {.instances = PH_MAX_INSTANCES + 1};
    ph_host *h = NULL;
    ph_error err;
    CHECKF(ph_host_new(&o, &h, &err) == PH_E_INVALID, "instances 65 refused by the API");
    ph_host_free(h);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_pool POOLED_SO SINGLE_SO\n");
        return 2;
    }
    struct seen s;
    uint64_t ids[MAXC];

    /* Control: one instance serves both, one after the other. */
    ph_host *h = host_with(argv[1], 1, 0, &s);
    CHECK(h != NULL);
    if (h) {
        int most = spin_together(h, "pooled", 2, 300, &s, ids);
        CHECKF(s.failed == 0, "calls answered");
        CHECKF(most <= 1, "one instance: %d busy at once", most);
        CHECKF(s.pid[ids[0] % MAXC] == s.pid[ids[1] % MAXC], "one instance: one pid");
        ph_host_free(h);
    }

    /* Two instances: the second call starts a second process and both
     * calls are in flight together, in two pids. */
    h = host_with(argv[1], 2, 400, &s);
    CHECK(h != NULL);
    if (h) {
        json_t *d = plugin_desc(h, "pooled");
        CHECKF(json_integer_value(json_object_get(d, "max_instances")) == 2, "max_instances 2");
        json_decref(d);
        int most = spin_together(h, "pooled", 2, 300, &s, ids);
        CHECKF(s.failed == 0, "calls answered");
        CHECKF(most == 2, "two instances busy at once (saw %d)", most);
        CHECKF(s.pid[ids[0] % MAXC] != s.pid[ids[1] % MAXC] && s.pid[ids[0] % MAXC] > 0 &&
                   s.pid[ids[1] % MAXC] > 0,
               "two pids (%d, %d)", (int)s.pid[ids[0] % MAXC], (int)s.pid[ids[1] % MAXC]);
        CHECKF(s.instance[ids[0] % MAXC] != s.instance[ids[1] % MAXC],
               "receipts name two instances");
        /* The operator's status (status.c) shows both processes, each
         * with its own slot, pid and served count. */
        json_t *st = NULL;
        ph_error se = {0};
        CHECK(ph_host_status(h, &st, &se) == PH_OK);
        json_t *sp = NULL, *v;
        size_t k;
        json_array_foreach(json_object_get(st, "plugins"), k,
                           v) if (strcmp(json_string_value(json_object_get(v, "name"))
                                             ? json_string_value(json_object_get(v, "name"))
                                             : "",
                                         "pooled") == 0) sp = v;
        json_t *insts = json_object_get(sp, "instances");
        CHECKF(json_array_size(insts) == 2, "status: two instances (%zu)", json_array_size(insts));
        if (json_array_size(insts) == 2) {
            json_t *a0 = json_array_get(insts, 0), *a1 = json_array_get(insts, 1);
            CHECKF(json_integer_value(json_object_get(a0, "index")) !=
                       json_integer_value(json_object_get(a1, "index")),
                   "status: two slots");
            CHECKF(json_integer_value(json_object_get(a0, "pid")) !=
                           json_integer_value(json_object_get(a1, "pid")) &&
                       json_integer_value(json_object_get(a0, "calls_served")) >= 1 &&
                       json_integer_value(json_object_get(a1, "calls_served")) >= 1,
                   "status: two pids, each served a call");
        }
        char *text = NULL;
        size_t tlen = 0;
        CHECK(st && ph_host_status_exposition(st, 0, &text, &tlen, &se) == PH_OK);
        CHECKF(text && strstr(text, "plughost_instance_pid{plugin=\"pooled\",slot=\"1\"}"),
               "metrics: the second instance has its slot");
        free(text);
        json_decref(st);

        /* More calls than instances: queued in order, all answered, never
         * more than two processes. */
        most = spin_together(h, "pooled", 10, 20, &s, ids);
        CHECKF(s.failed == 0, "queued calls answered");
        CHECKF(most <= 2, "never more than the pool (%d busy)", most);
        for (int i = 0; i < 10; i++)
            CHECKF(s.instance[ids[i] % MAXC] == 0 || s.instance[ids[i] % MAXC] == 1,
                   "call %d served by instance %d", i, s.instance[ids[i] % MAXC]);

        /* Idle stop: instance 1 ends after 400 ms without a call; the first
         * stays. */
        pump(h, 1500);
        json_t *p = plugin_desc(h, "pooled");
        json_t *i0 = json_array_get(json_object_get(p, "instances"), 0);
        json_t *i1 = json_array_get(json_object_get(p, "instances"), 1);
        CHECKF(i0 && json_integer_value(json_object_get(i0, "pid")) > 0, "first instance stays");
        CHECKF(i1 && json_integer_value(json_object_get(i1, "pid")) == 0 &&
                   strcmp(json_string_value(json_object_get(i1, "state")), "down") == 0,
               "second instance stopped when idle");
        CHECKF(i1 && json_integer_value(json_object_get(i1, "restarts")) == 0,
               "an idle stop is not a failure");
        json_decref(p);
        int before = s.started_by_inst[1];
        most = spin_together(h, "pooled", 2, 300, &s, ids);
        CHECKF(most == 2 && s.started_by_inst[1] == before + 1,
               "started again on demand (%d busy, %d starts)", most, s.started_by_inst[1]);
        ph_host_free(h);
    }

    /* A singleton by its manifest ("needs": {"singleton": true}): one
     * process whatever the configuration, known before it starts. */
    {
        char dir[] = "/tmp/ph-pool-manifest-XXXXXX", so[128], mf[128], cmd[512];
        if (mkdtemp(dir)) {
            snprintf(so, sizeof so, "%s/pooled.so", dir);
            snprintf(mf, sizeof mf, "%s/pooled.manifest.json", dir);
            snprintf(cmd, sizeof cmd, "cp '%s' '%s'", argv[1], so);
            FILE *f = system(cmd) == 0 ? fopen(mf, "w") : NULL;
            if (f) {
                fputs("{\"needs\": {\"singleton\": true}}\n", f);
                fclose(f);
            }
            h = f ? host_with(so, 4, 0, &s) : NULL;
            CHECK(h != NULL);
            if (h) {
                check_one_process(h, "pooled", "manifest singleton", &s, ids);
                ph_host_free(h);
            }
            unlink(mf);
            unlink(so);
            rmdir(dir);
        }
    }

    /* A singleton: one process whatever the configuration, and a note. */
    if (argv[2][0]) {
        h = host_with(argv[2], 4, 0, &s);
        CHECK(h != NULL);
        if (h) {
            check_one_process(h, "single", "singleton", &s, ids);
            CHECKF(s.singleton_note, "the cap was logged");
            ph_host_free(h);
        }
        /* Cold (lazy.c): the cached hello says singleton, so a burst of
         * calls before its first start still gets one process. */
        char cache[] = "/tmp/test_pool_cache.XXXXXX";
        if (mkdtemp(cache)) {
            ph_host_options o = {.instances = 4, .hello_cache = cache};
            h = host_with_opts(argv[2], o, &s); /* eager: fills the cache */
            ph_host_free(h);
            o.activation = PH_ACTIVATION_LAZY;
            h = host_with_opts(argv[2], o, &s);
            CHECK(h != NULL);
            if (h) {
                int most = spin_together(h, "single", 4, 200, &s, ids);
                int same = 1;
                for (int i = 1; i < 4; i++)
                    same &= s.pid[ids[i] % MAXC] == s.pid[ids[0] % MAXC];
                CHECKF(s.failed == 0 && most <= 1 && same,
                       "cold singleton: four calls, one process (%d busy)", most);
                ph_host_free(h);
            }
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf %s", cache);
            if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", cache);
        }
    }

    /* Control for isolation: one long-lived process keeps what the previous
     * call left, and the next call finds it. */
    h = host_with(argv[1], 1, 0, &s);
    CHECK(h != NULL);
    if (h) {
        json_t *secret = json_pack("{s:s}", "secret", "call-1-data"), *r = NULL;
        ph_error err;
        CHECK(ph_host_call(h, "pooled", "remember", secret, &r, NULL, &err) == PH_OK);
        json_decref(r);
        r = NULL;
        json_t *probe = json_pack("{s:s}", "probe", "x");
        CHECK(ph_host_call(h, "pooled", "remember", probe, &r, NULL, &err) == PH_OK);
        CHECKF(json_equal(r, secret), "control: the second call sees the first's data");
        json_decref(r);
        json_decref(secret);
        json_decref(probe);
        ph_host_free(h);
    }

    /* Spares start once the plugin is loaded, before any call: a pool of
     * two with two spares has both processes ready without being called. */
    {
        ph_host_options sp = {.instances = 2, .spares = 2};
        h = host_with_opts(argv[1], sp, &s);
        CHECK(h != NULL);
        if (h) {
            for (int t = 0; t < 100 && count_state(h, "pooled", "idle") < 2; t++)
                (void)ph_host_process(h, 20, NULL);
            CHECKF(count_state(h, "pooled", "idle") == 2,
                   "spares: two ready before the first call (%d)",
                   count_state(h, "pooled", "idle"));
            ph_host_free(h);
        }
    }

    /* isolate call with a spare: every call finds a fresh process that was
     * started (and handshaken) before the call was made, and nothing of
     * any earlier call; each process serves one call and is ended. */
    ph_host_options iso = {.isolate = PH_ISOLATE_CALL, .instances = 2, .spares = 1};
    h = host_with_opts(argv[1], iso, &s);
    CHECK(h != NULL);
    if (h) {
        pid_t pids[6] = {0};
        int fresh = 0, ahead = 0;
        for (int i = 0; i < 6; i++) {
            /* Let the spare come up: the host keeps one ready in the
             * background. No start in the making either, so no process
             * becomes ready between the listing below and the call. */
            for (int t = 0; t < 500 && (count_state(h, "pooled", "idle") < 1 ||
                                        count_state(h, "pooled", "loading") > 0);
                 t++)
                (void)ph_host_process(h, 20, NULL);
            /* The processes ready for a call now: the call must get one of
             * them, not wait for a start. */
            pid_t ready[8] = {0};
            int nready = 0;
            json_t *pd = plugin_desc(h, "pooled"), *in;
            size_t k;
            json_array_foreach(json_object_get(pd, "instances"), k, in)
            {
                if (nready < 8 && !strcmp(json_string_value(json_object_get(in, "state")), "idle"))
                    ready[nready++] = (pid_t)json_integer_value(json_object_get(in, "pid"));
            }
            json_decref(pd);
            json_t *secret = json_pack("{s:s,s:i}", "secret", "call-data", "n", i), *r = NULL;
            ph_error err;
            int rc = ph_host_call(h, "pooled", "remember", secret, &r, NULL, &err);
            CHECKF(rc == PH_OK, "isolated call %d: %s", i, rc ? err.text : "");
            fresh += json_is_null(r);
            json_decref(r);
            json_decref(secret);
            /* The receipt of the call just made. */
            pid_t pid = s.last_receipt_pid;
            pids[i] = pid;
            int was_ready = 0;
            for (int j = 0; j < nready; j++)
                was_ready |= ready[j] == pid && pid > 0;
            ahead += was_ready;
        }
        CHECKF(fresh == 6, "isolate call: no call saw an earlier call's data (%d of 6 fresh)",
               fresh);
        int distinct = 1;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < i; j++)
                distinct &= pids[i] != pids[j] && pids[i] > 0;
        CHECKF(distinct, "isolate call: six calls, six processes");
        CHECKF(ahead == 6, "each call went to a spare that was ready before it (%d of 6)", ahead);
        /* The pool stays within its size and keeps its spare, each in a
         * cgroup of its own with the plugin's limits. */
        pump(h, 300);
        json_t *p = plugin_desc(h, "pooled"), *inst;
        size_t i;
        int live = 0;
        const char *paths[8] = {0};
        json_array_foreach(json_object_get(p, "instances"), i, inst)
        {
            if (json_integer_value(json_object_get(inst, "pid")) <= 0)
                continue;
            live++;
            json_t *cg = json_object_get(inst, "cgroup");
            if (json_is_true(json_object_get(cg, "active")) && i < 8) {
                paths[i] = json_string_value(json_object_get(cg, "path"));
                CHECKF(json_integer_value(json_object_get(cg, "memory_max")) == (json_int_t)1 << 30,
                       "spare's cgroup has the plugin's memory_limit");
            }
            CHECKF(json_integer_value(json_object_get(inst, "served")) == 0,
                   "a live instance after the calls has served none");
        }
        CHECKF(live >= 1 && live <= 2, "spare kept, pool size held (%d live)", live);
        for (int a = 0; a < 8; a++)
            for (int b = 0; b < a; b++)
                if (paths[a] && paths[b])
                    CHECKF(strcmp(paths[a], paths[b]) != 0, "each instance its own cgroup");
        json_decref(p);
        ph_host_free(h);
    }

    /* A busy pool gets its spares back: with a long call always in flight
     * on one instance, the spare taken by each short call is replaced
     * while the long call runs (the start's slow part is off the loop, so
     * the pool need not wait for a quiet moment to start one). */
    {
        ph_host_options busy = {.isolate = PH_ISOLATE_CALL, .instances = 3, .spares = 1};
        h = host_with_opts(argv[1], busy, &s);
        CHECK(h != NULL);
        if (h) {
            for (int t = 0; t < 500 && count_state(h, "pooled", "idle") < 1; t++)
                (void)ph_host_process(h, 20, NULL);
            struct answer longa = {0};
            ph_error err;
            /* Ten seconds of CPU: in flight throughout, however loaded the
             * machine; the host ends it when it is freed. */
            json_t *ms = json_pack("{s:i}", "ms", 10000);
            CHECK(ph_host_call_async(h, "pooled", "spin", ms, keep_answer, &longa, NULL, &err) ==
                  PH_OK);
            json_decref(ms);
            int back = 0;
            for (int i = 0; i < 3; i++) {
                json_t *r = NULL, *pr = json_pack("{s:i}", "n", i);
                CHECKF(ph_host_call(h, "pooled", "echo", pr, &r, NULL, &err) == PH_OK,
                       "short call %d beside the long one: %s", i, err.text);
                json_decref(r);
                json_decref(pr);
                for (int t = 0; t < 1250 && !longa.done && count_state(h, "pooled", "idle") < 1;
                     t++)
                    (void)ph_host_process(h, 4, NULL);
                back += !longa.done && count_state(h, "pooled", "idle") >= 1;
            }
            CHECKF(back == 3, "busy pool: the spare came back while a call was in flight (%d of 3)",
                   back);
            CHECKF(!longa.done, "the long call was in flight throughout");
            ph_host_free(h); /* answers the long call: its error is kept */
            json_decref(longa.error);
        }
    }

    /* isolate client: two clients never share a process; each keeps its
     * own long-lived ones (so it sees its own previous call), and a
     * client's instances end when it goes. */
    ph_host_options cl = {.isolate = PH_ISOLATE_CLIENT, .instances = 4};
    h = host_with_opts(argv[1], cl, &s);
    CHECK(h != NULL);
    if (h) {
        ph_client *ca = NULL, *cb = NULL;
        ph_error err;
        CHECK(ph_host_client_new(h, &ca, &err) == PH_OK);
        CHECK(ph_host_client_new(h, &cb, &err) == PH_OK);
        pid_t pa[3] = {0}, pb[3] = {0};
        int a_saw_own = 0, b_saw_a = 0;
        for (int i = 0; i < 3; i++) {
            json_t *r = NULL, *pa_params = json_pack("{s:s,s:i}", "who", "a", "n", i);
            ph_host_use_client(h, ca);
            CHECK(ph_host_call(h, "pooled", "remember", pa_params, &r, NULL, &err) == PH_OK);
            pa[i] = s.last_receipt_pid;
            a_saw_own += i > 0 && json_integer_value(json_object_get(r, "n")) == i - 1 &&
                         strcmp(json_string_value(json_object_get(r, "who")) ?: "", "a") == 0;
            json_decref(r);
            r = NULL;
            json_t *pb_params = json_pack("{s:s,s:i}", "who", "b", "n", i);
            ph_host_use_client(h, cb);
            CHECK(ph_host_call(h, "pooled", "remember", pb_params, &r, NULL, &err) == PH_OK);
            pb[i] = s.last_receipt_pid;
            const char *who = json_string_value(json_object_get(r, "who"));
            b_saw_a += who && strcmp(who, "a") == 0;
            json_decref(r);
            json_decref(pa_params);
            json_decref(pb_params);
        }
        ph_host_use_client(h, NULL);
        int shared = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                shared += pa[i] == pb[j];
        CHECKF(shared == 0 && pa[0] > 0 && pb[0] > 0, "no process served both clients");
        CHECKF(b_saw_a == 0, "client b never saw client a's data");
        CHECKF(a_saw_own == 2, "client a kept its own process (saw its previous call %d of 2)",
               a_saw_own);
        /* A call with no client in use is a client of its own too. */
        json_t *r = NULL, *none = json_pack("{s:s}", "who", "none");
        CHECK(ph_host_call(h, "pooled", "remember", none, &r, NULL, &err) == PH_OK);
        CHECKF(json_is_null(r), "a call with no client finds a process of its own");
        json_decref(r);
        json_decref(none);
        ph_host_client_free(h, ca);
        pump(h, 500);
        json_t *p = plugin_desc(h, "pooled"), *inst;
        size_t i;
        int a_left = 0;
        json_array_foreach(json_object_get(p, "instances"), i, inst)
        {
            a_left += json_integer_value(json_object_get(inst, "pid")) == pa[0];
        }
        json_decref(p);
        CHECKF(a_left == 0, "client a's process ended when it went");
        ph_host_client_free(h, cb);
        ph_host_free(h);
    }

    /* A crash in a pool: it fails only the call its instance ran; a call
     * beside it is answered by another instance; the breaker counts every
     * instance's failures toward one circuit, which then fails every call
     * of the plugin. */
    if (argc > 3) {
        ph_host_options co = {.instances = 2,
                              .max_failures = 3,
                              .failure_window_ms = 60000,
                              .cooldown_ms = 60000,
                              .restart_backoff_ms = 1,
                              .restart_backoff_max_ms = 1};
        h = host_with_opts(argv[3], co, &s);
        CHECK(h != NULL);
        if (h) {
            struct answer a[2] = {{0}};
            ph_error err;
            CHECK(ph_host_call_async(h, "crashy", "crash", NULL, keep_answer, &a[0], NULL, &err) ==
                  PH_OK);
            CHECK(ph_host_call_async(h, "crashy", "ok", NULL, keep_answer, &a[1], NULL, &err) ==
                  PH_OK);
            for (int t = 0; t < 500 && !(a[0].done && a[1].done); t++)
                (void)ph_host_process(h, 20, NULL);
            const char *st =
                json_string_value(json_object_get(json_object_get(a[0].error, "data"), "status"));
            CHECKF(st && strcmp(st, "signaled") == 0, "the crash is reported as its own");
            CHECKF(a[1].done && !a[1].error, "the call beside it is answered by an instance");
            json_decref(a[0].error);
            json_decref(a[1].error);
            for (int i = 0; i < 2; i++) {
                json_t *r = NULL, *rpc = NULL;
                (void)ph_host_call(h, "crashy", "crash", NULL, &r, &rpc, &err);
                json_decref(r);
                json_decref(rpc);
            }
            json_t *r = NULL, *rpc = NULL;
            int rc = ph_host_call(h, "crashy", "ok", NULL, &r, &rpc, &err);
            const char *circuit =
                json_string_value(json_object_get(json_object_get(rpc, "data"), "circuit"));
            CHECKF(rc != PH_OK && circuit && strcmp(circuit, "open") == 0,
                   "three failures over the pool open the plugin's circuit");
            json_decref(r);
            json_decref(rpc);
            ph_host_free(h);
        }
    }

    /* The file changes under a running pool: an instance started from the
     * new build offers another set of methods, which is a breach of that
     * instance, never a method some calls see and others do not. */
    char pdir[] = "/tmp/test_pool_file.XXXXXX";
    if (argc > 4 && mkdtemp(pdir)) {
        char path[4200], tmp[4200];
        snprintf(path, sizeof path, "%s/pooled.so", pdir);
        snprintf(tmp, sizeof tmp, "%s/.new", pdir);
        CHECK(copy_file(argv[1], path) == 0);
        h = host_with(path, 2, 60000, &s);
        CHECK(h != NULL);
        if (h) {
            /* A new file in its place, as an upgrade would put it. */
            CHECK(copy_file(argv[4], tmp) == 0 && rename(tmp, path) == 0);
            uint64_t ids2[MAXC];
            (void)spin_together(h, "pooled", 2, 300, &s, ids2);
            CHECKF(s.failed == 0, "calls still answered by the first instance");
            CHECKF(s.breach_inst1 >= 1, "the second instance's other hello is a breach (%d)",
                   s.breach_inst1);
            json_t *p = plugin_desc(h, "pooled"), *m;
            size_t k;
            int extra = 0;
            json_array_foreach(json_object_get(p, "methods"), k, m)
            {
                extra += strcmp(json_string_value(json_object_get(m, "name")), "extra") == 0;
            }
            CHECKF(extra == 0, "callers still see the first instance's methods");
            json_decref(p);
            ph_host_free(h);
        }
        unlink(path);
        rmdir(pdir);
    }

    char dir[] = "/tmp/test_pool.XXXXXX";
    if (mkdtemp(dir)) {
        check_config(dir);
        rmdir(dir);
    }
    return ph_t_summary("test_pool");
}
