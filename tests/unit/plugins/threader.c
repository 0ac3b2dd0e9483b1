/*
 * threader: a plugin that needs the "threads" grant (its manifest says so):
 * threader.spawn starts and joins one thread.
 */
#include <plughost/sdk.h>

#include <pthread.h>

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

static const ph_method methods[] = {{"spawn", spawn, "starts and joins a thread", NULL}, {0}};

PH_PLUGIN(.name = "threader", .version = "1", .methods = methods);
