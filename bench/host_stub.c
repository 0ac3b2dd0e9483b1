/*
 * Stand-in for the host library, linked only while plughost_host does not
 * exist yet, so the floors can be built and measured and the plughost code
 * paths keep compiling against host.h. Every entry point fails cleanly.
 */
#include <stdio.h>

#include <plughost/host.h>

static int unavailable(ph_error *err)
{
    if (err) {
        err->status = PH_E_SYSTEM;
        snprintf(err->text, sizeof err->text, "host library not built (bench stub)");
    }
    return PH_E_SYSTEM;
}

int ph_host_new(const ph_host_options *opts, ph_host **out, ph_error *err)
{
    (void)opts;
    *out = NULL;
    return unavailable(err);
}

void ph_host_free(ph_host *host)
{
    (void)host;
}

void ph_host_set_event_handler(ph_host *host, ph_event_fn fn, void *ud)
{
    (void)host;
    (void)fn;
    (void)ud;
}

int ph_host_load_file(ph_host *host, const char *path, const char **name_out, ph_error *err)
{
    (void)host;
    (void)path;
    (void)name_out;
    return unavailable(err);
}

json_t *ph_host_describe(ph_host *host)
{
    (void)host;
    return json_array();
}

int ph_host_call_async(ph_host *host, const char *plugin, const char *method, json_t *params,
                       ph_call_fn cb, void *ud, uint64_t *call_id, ph_error *err)
{
    (void)host;
    (void)plugin;
    (void)method;
    (void)params;
    (void)cb;
    (void)ud;
    (void)call_id;
    return unavailable(err);
}

int ph_host_call(ph_host *host, const char *plugin, const char *method, json_t *params,
                 json_t **result, json_t **rpc_error, ph_error *err)
{
    (void)host;
    (void)plugin;
    (void)method;
    (void)params;
    if (result)
        *result = NULL;
    if (rpc_error)
        *rpc_error = NULL;
    return unavailable(err);
}

int ph_host_process(ph_host *host, int timeout_ms, ph_error *err)
{
    (void)host;
    (void)timeout_ms;
    return unavailable(err);
}
