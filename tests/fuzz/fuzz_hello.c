/*
 * fuzz_hello: one JSON text as a plugin would send it during start-up
 * (ph.sandbox, ph.hello, ph.setup_failed and their look-alikes), through
 * the parse and classification the host applies before its handshake
 * checks, then a walk over the fields the handshake reads.
 *
 * The handshake validation itself (valid_hello in host/supervisor.c) is
 * static and cannot be reached from here without a plugin process; the seed
 * corpus is hello-shaped so that mutations stay close to it. It must never
 * hide a failure: a broken property aborts.
 */
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the handshake's fields the way a consumer would, defensively; the
 * point is that classify's borrowed views are safe to walk. */
static void walk_hello(json_t *params)
{
    volatile size_t sink = 0;
    const char *name = json_string_value(json_object_get(params, "name"));
    if (name)
        sink += strlen(name);
    json_t *methods = json_object_get(params, "methods"), *m;
    size_t i;
    json_array_foreach(methods, i, m)
    {
        const char *mn = json_string_value(json_object_get(m, "name"));
        if (mn)
            sink += strlen(mn);
    }
    json_t *layers = json_object_get(params, "layers");
    const char *k;
    json_t *v;
    json_object_foreach(layers, k, v) sink += strlen(k) + (size_t)json_typeof(v);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *v = ph_wire_parse((const char *)data, size, err, sizeof err);
    if (!v) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    ph_wire_msg m;
    if (ph_wire_classify(v, &m, err, sizeof err) == 0) {
        if (m.kind == PH_MSG_NOTIFICATION && m.params &&
            (strcmp(m.method, "ph.hello") == 0 || strcmp(m.method, "ph.sandbox") == 0 ||
             strcmp(m.method, "ph.setup_failed") == 0))
            walk_hello(m.params);
        /* A classified message must encode: the host re-sends and traces. */
        size_t n;
        char *enc = ph_wire_encode(v, &n);
        if (!enc)
            abort();
        free(enc);
    } else if (err[0] == '\0') {
        abort();
    }
    json_decref(v);
    return 0;
}
