/*
 * hostfn: the one table of requests a plugin may make to the host, after
 * OpenSSH's monitor: each entry says what it is and how many times one
 * plugin process may call it. A request for anything not in the table is a
 * protocol breach; going over an entry's count gets an error answer.
 *
 * Built-ins: host.version, host.kv_get, host.kv_set (a small per-plugin store
 * that outlives restarts), host.open (a granted file, handed over as a
 * descriptor; files.c). Applications add theirs with ph_host_add_function().
 *
 * It must never hand a plugin anything of another plugin's.
 */
#include "files.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KV_MAX_KEYS 256
#define KV_MAX_VALUE (64 * 1024)

static int fn_version(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    (void)ud;
    (void)plugin;
    (void)params;
    (void)error;
    *result = json_pack("{s:s,s:i}", "plughost", PH_VERSION, "protocol", PH_PROTOCOL_VERSION);
    return 0;
}

static json_t *store_of(struct ph_host *h, const char *plugin)
{
    json_t *s = json_object_get(h->kv, plugin);
    if (!s) {
        s = json_object();
        json_object_set_new(h->kv, plugin, s);
    }
    return s;
}

static int fn_kv_get(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    json_t *key =
        json_is_object(params) ? json_object_get(params, "key") : json_array_get(params, 0);
    if (!json_is_string(key)) {
        *error = ph_wire_error_obj(PH_RPC_INVALID_PARAMS, "host.kv_get needs a string key", NULL);
        return -1;
    }
    json_t *v = json_object_get(store_of(ud, plugin), json_string_value(key));
    *result = v ? json_incref(v) : json_null();
    return 0;
}

static int fn_kv_set(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    int named = json_is_object(params);
    json_t *key = named ? json_object_get(params, "key") : json_array_get(params, 0);
    json_t *value = named ? json_object_get(params, "value") : json_array_get(params, 1);
    if (!json_is_string(key) || !value) {
        *error =
            ph_wire_error_obj(PH_RPC_INVALID_PARAMS, "host.kv_set needs a key and a value", NULL);
        return -1;
    }
    json_t *store = store_of(ud, plugin);
    char *enc = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t size = enc ? strlen(enc) : 0;
    free(enc);
    if (size > KV_MAX_VALUE || (!json_object_get(store, json_string_value(key)) &&
                                json_object_size(store) >= KV_MAX_KEYS)) {
        *error = ph_wire_error_obj(PH_RPC_PLUGIN_LIMIT,
                                   "host.kv_set: at most 256 keys of 64 KiB per plugin", NULL);
        return -1;
    }
    json_object_set(store, json_string_value(key), value);
    *result = json_true();
    return 0;
}

/* The public host-function signature has no room for a descriptor: the
 * caller and the descriptor go through the host, set and taken by
 * ph_hostfn_dispatch() around this call. */
static int fn_open(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    struct ph_host *h = ud;
    (void)plugin;
    if (!h->hostfn_caller) {
        *error =
            ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "host.open outside a plugin's call", NULL);
        return -1;
    }
    int fd;
    if (ph_files_open(h, h->hostfn_caller, params, result, &fd, error) < 0)
        return -1;
    h->hostfn_fd = fd;
    return 0;
}

int ph_hostfn_builtin(struct ph_host *h, ph_error *err)
{
    h->hostfn_fd = -1;
    if (ph_host_add_function(h, "host.version", fn_version, h, 0, err) < 0 ||
        ph_host_add_function(h, "host.kv_get", fn_kv_get, h, 0, err) < 0 ||
        ph_host_add_function(h, "host.kv_set", fn_kv_set, h, 0, err) < 0 ||
        ph_host_add_function(h, "host.open", fn_open, h, 0, err) < 0)
        return -1;
    return 0;
}

void ph_hostfn_dispatch(struct ph_plug *p, ph_wire_msg *m)
{
    struct ph_host *h = p->host;
    json_t *result = NULL, *error = NULL;
    /* A descriptor to send with the answer (host.open); an intercepted
     * (replayed) answer never has one. */
    int fd = -1;
    if (h->intercept) {
        if (h->intercept(h->intercept_ud, p->name, m->method, m->params, &result, &error) < 0 ||
            !result) {
            json_decref(result);
            result = NULL;
            if (!error)
                error = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "host function failed", NULL);
        }
        goto answer;
    }
    size_t i;
    for (i = 0; i < h->nfns; i++)
        if (strcmp(h->fns[i].name, m->method) == 0)
            break;
    if (i == h->nfns) {
        ph_plug_kill(p, PH_END_PROTOCOL,
                     json_pack("{s:s,s:s}", "breach", "call of an unknown host function",
                               "host_function", m->method));
        return;
    }
    struct ph_hostfn *f = &h->fns[i];
    if (f->max_calls && p->hostfn_calls[i] >= f->max_calls) {
        error = ph_wire_error_obj(
            PH_RPC_PLUGIN_LIMIT, "host function call limit reached",
            json_pack("{s:s,s:i}", "host_function", f->name, "limit", (int)f->max_calls));
    } else {
        p->hostfn_calls[i]++;
        h->hostfn_caller = p;
        h->hostfn_fd = -1;
        if (f->fn(f->ud, p->name, m->params, &result, &error) < 0 || !result) {
            json_decref(result);
            result = NULL;
            if (!error)
                error = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "host function failed", NULL);
        }
        h->hostfn_caller = NULL;
    }
    /* A descriptor goes only with a successful answer. */
    fd = h->hostfn_fd;
    h->hostfn_fd = -1;
    if (!result && fd >= 0) {
        close(fd);
        fd = -1;
    }
answer:;
    json_t *reply = result ? ph_wire_response(m->id, result) : ph_wire_error_response(m->id, error);
    if (result)
        json_decref(error);
    ph_plug_send_fd(p, reply, fd);
    json_decref(reply);
}
