/*
 * greeter: calls back into the host. greeter.greet logs through the host,
 * asks the host for its version and keeps a visit count in the host's
 * per-plugin store (host.kv_get/host.kv_set), which survives a restart of
 * the plugin, and notifies the client ("greeter.greeted"). greeter.slow counts to n, reporting
 * progress and stopping when the caller cancels.
 */
#include <plughost/sdk.h>

#include <time.h>

static json_t *greet(ph_ctx *ctx, json_t *params)
{
    const char *name;
    if (ph_param_string(ctx, params, "name", 0, &name) < 0)
        return NULL;
    json_t *version = NULL, *error = NULL, *count = NULL;
    if (ph_call_host(ctx, "host.version", NULL, &version, &error) < 0)
        return ph_error_data(ctx, 2, error, "host.version failed");
    json_t *key = json_pack("{s:s}", "key", "visits");
    if (ph_call_host(ctx, "host.kv_get", key, &count, &error) < 0) {
        json_decref(key);
        json_decref(version);
        return ph_error_data(ctx, 2, error, "host.kv_get failed");
    }
    json_decref(key);
    json_int_t visits = json_integer_value(count) + 1;
    json_decref(count);
    json_t *set = json_pack("{s:s,s:I}", "key", "visits", "value", visits);
    json_t *ok = NULL;
    if (ph_call_host(ctx, "host.kv_set", set, &ok, &error) < 0) {
        json_decref(set);
        json_decref(version);
        return ph_error_data(ctx, 2, error, "host.kv_set failed");
    }
    json_decref(set);
    json_decref(ok);
    ph_log(ctx, PH_LOG_INFO, "greeting %s (visit %lld)", name, (long long)visits);
    /* A notification of the plugin's own, which the host forwards to the
     * client as "greeter.greeted". */
    json_t *note = json_pack("{s:s,s:I}", "name", name, "visits", visits);
    ph_notify(ctx, "greeted", note);
    json_decref(note);
    return json_pack("{s:s+,s:I,s:o}", "greeting", "Hello, ", name, "visits", visits, "host",
                     version);
}

static json_t *slow(ph_ctx *ctx, json_t *params)
{
    double n;
    if (ph_param_number(ctx, params, "n", 0, &n) < 0)
        return NULL;
    for (long i = 1; i <= (long)n; i++) {
        if (ph_cancelled(ctx))
            return ph_error(ctx, 3, "cancelled at step %ld", i);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        json_t *v = json_integer(i);
        ph_progress(ctx, v);
        json_decref(v);
    }
    return json_integer((json_int_t)n);
}

static const ph_method methods[] = {
    {"greet", greet, "greets, counting visits in the host's store", "{name: string}"},
    {"slow", slow, "counts to n in 10 ms steps with progress; cancellable", "{n: integer}"},
    {0},
};

static const ph_params_schema schemas[] = {
    {"greet", "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"minLength\":1,"
              "\"maxLength\":200}},\"required\":[\"name\"],\"additionalProperties\":false}"},
    {"slow", "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":0,"
             "\"maximum\":100000}},\"required\":[\"n\"],\"additionalProperties\":false}"},
    {0},
};

PH_PLUGIN(.name = "greeter", .version = "1.0.0",
          .description = "calls host functions: version, store, logging", .methods = methods,
          .params_schemas = schemas);
