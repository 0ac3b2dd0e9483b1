/*
 * threader: a plugin that needs the "threads" grant (its manifest says so):
 * threader.spawn starts and joins one thread; threader.many starts up to
 * params.n threads at once, all alive together, and says how many the
 * kernel let it start (the cgroup's pids.max is what stops it).
 */
#include <plughost/sdk.h>

#include <pthread.h>
#include <string.h>

static void *work(void *arg)
{
    return arg;
}

static json_t *spawn(ph_ctx *ctx, json_t *params)
{
    (void)params;
    pthread_t t;
    int rc = pthread_create(&t, NULL, work, NULL);
    if (rc != 0)
        return ph_error(ctx, 1, "pthread_create failed: %d", rc);
    pthread_join(t, NULL);
    return json_string("joined");
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;

static void *wait_release(void *arg)
{
    pthread_mutex_lock(&mu);
    while (!released)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return arg;
}

static json_t *many(ph_ctx *ctx, json_t *params)
{
    static pthread_t t[256];
    json_int_t n = json_integer_value(json_object_get(params, "n"));
    if (n <= 0 || n > 256)
        return ph_error(ctx, -32602, "n must be 1..256");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 65536);
    released = 0;
    int started = 0, rc = 0;
    while (started < n && (rc = pthread_create(&t[started], &attr, wait_release, NULL)) == 0)
        started++;
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    return json_pack("{s:i,s:s}", "started", started, "error", rc ? strerror(rc) : "none");
}

static const ph_method methods[] = {
    {"spawn", spawn, "starts and joins a thread", NULL},
    {"many", many, "starts up to params.n threads at once", NULL},
    {0},
};

PH_PLUGIN(.name = "threader", .version = "1", .methods = methods);
