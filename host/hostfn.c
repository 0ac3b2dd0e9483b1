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
#include "bounds.h"
#include "files.h"
#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fn_version(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    (void)ud;
    (void)plugin;
    (void)params;
    (void)error;
    *result = json_pack("{s:s,s:i}", "plughost", PH_VERSION, "protocol", PH_PROTOCOL_VERSION);
    return 0;
}

/* A plugin's store, {"data": {key: value}, "bytes": n}: n, the sum of its
 * keys' lengths and its values' compact JSON, is what PH_BOUND_KV_TOTAL
 * bounds, kept as it changes so that no set re-encodes the whole store. */
static json_t *store_of(struct ph_host *h, const char *plugin)
{
    json_t *s = json_object_get(h->kv, plugin);
    if (!s) {
        s = json_pack("{s:o,s:I}", "data", json_object(), "bytes", (json_int_t)0);
        if (!s || json_object_set_new(h->kv, plugin, s) < 0)
            return NULL;
    }
    return s;
}

static size_t encoded_size(json_t *v)
{
    char *enc = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = enc ? strlen(enc) : SIZE_MAX;
    free(enc);
    return n;
}

static int fn_kv_get(void *ud, const char *plugin, json_t *params, json_t **result, json_t **error)
{
    json_t *key =
        json_is_object(params) ? json_object_get(params, "key") : json_array_get(params, 0);
    if (!json_is_string(key)) {
        *error = ph_wire_error_obj(PH_RPC_INVALID_PARAMS, "host.kv_get needs a string key", NULL);
        return -1;
    }
    json_t *v =
        json_object_get(json_object_get(store_of(ud, plugin), "data"), json_string_value(key));
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
    json_t *data = json_object_get(store, "data");
    if (!data) {
        *error = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "host.kv_set: out of memory", NULL);
        return -1;
    }
    /* Every size is checked before anything is kept: the store outlives
     * the plugin's process, and lives in the host, outside its cgroup. */
    const char *k = json_string_value(key);
    size_t klen = json_string_length(key);
    json_t *old = json_object_get(data, k);
    size_t vlen = klen <= PH_BOUND_KV_KEY ? encoded_size(value) : 0;
    size_t total = (size_t)json_integer_value(json_object_get(store, "bytes"));
    size_t freed = old ? klen + encoded_size(old) : 0;
    const char *over = klen > PH_BOUND_KV_KEY                               ? "key"
                       : strlen(k) != klen                                  ? "key"
                       : vlen > PH_BOUND_KV_VALUE                           ? "value"
                       : !old && json_object_size(data) >= PH_BOUND_KV_KEYS ? "keys"
                       : total - freed + klen + vlen > PH_BOUND_KV_TOTAL    ? "total"
                                                                            : NULL;
    if (over) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "host.kv_set: over the store's bound on its %s (keys of at most %d bytes "
                 "without NUL, values of at most %d bytes, %d keys, %d bytes in all)",
                 over, PH_BOUND_KV_KEY, PH_BOUND_KV_VALUE, PH_BOUND_KV_KEYS, PH_BOUND_KV_TOTAL);
        *error = ph_wire_error_obj(PH_RPC_PLUGIN_LIMIT, msg,
                                   json_pack("{s:s,s:I,s:I,s:I,s:I}", "bound", over, "key_max",
                                             (json_int_t)PH_BOUND_KV_KEY, "value_max",
                                             (json_int_t)PH_BOUND_KV_VALUE, "keys_max",
                                             (json_int_t)PH_BOUND_KV_KEYS, "total_max",
                                             (json_int_t)PH_BOUND_KV_TOTAL));
        return -1;
    }
    if (json_object_set(data, k, value) < 0) {
        *error = ph_wire_error_obj(PH_RPC_INTERNAL_ERROR, "host.kv_set: out of memory", NULL);
        return -1;
    }
    json_object_set_new(store, "bytes", json_integer((json_int_t)(total - freed + klen + vlen)));
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
    ph_plug_send_answer(p, reply, fd);
    json_decref(reply);
}

int ph_host_add_function(ph_host *h, const char *name, ph_hostfn_fn fn, void *ud,
                         unsigned max_calls, ph_error *err)
{
    if (!name || !fn || !*name || strncmp(name, "ph.", 3) == 0 || strncmp(name, "$/", 2) == 0)
        return ph_set_error(err, PH_E_INVALID,
                            "a host function needs a name outside ph.* "
                            "and $/*, and a function");
    if (h->plugs)
        return ph_set_error(err, PH_E_INVALID, "add host functions before loading plugins");
    for (size_t i = 0; i < h->nfns; i++)
        if (strcmp(h->fns[i].name, name) == 0)
            return ph_set_error(err, PH_E_INVALID, "host function %s exists already", name);
    struct ph_hostfn *nf = realloc(h->fns, (h->nfns + 1) * sizeof *nf);
    if (!nf)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    h->fns = nf;
    nf[h->nfns] =
        (struct ph_hostfn){.name = strdup(name), .fn = fn, .ud = ud, .max_calls = max_calls};
    if (!nf[h->nfns].name)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    h->nfns++;
    return PH_OK;
}
