/*
 * fuzz_jscan: the byte scanner's promise (jscan.h), searched for a
 * counterexample. Any input the scanner accepts must parse with
 * ph_wire_parse to a value of the same kind, whose span alone parses to
 * the same value; any input it calls invalid must be refused by
 * ph_wire_parse too. The input is the JSON text itself, copied to an
 * allocation of exactly its size so a read past the end is caught.
 */
#include "jscan.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum ph_jscan_kind kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return PH_JS_OBJECT;
    case JSON_ARRAY:
        return PH_JS_ARRAY;
    case JSON_STRING:
        return PH_JS_STRING;
    case JSON_INTEGER:
        return PH_JS_INTEGER;
    case JSON_REAL:
        return PH_JS_REAL;
    case JSON_TRUE:
        return PH_JS_TRUE;
    case JSON_FALSE:
        return PH_JS_FALSE;
    case JSON_NULL:
        break;
    }
    return PH_JS_NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    char err[300];
    struct ph_jscan_span sp;
    int ws;
    enum ph_jscan_result r = ph_jscan_value(text, size, &sp, &ws);
    json_t *v = ph_wire_parse(text, size, err, sizeof err);
    if (r == PH_JSCAN_INVALID && v)
        abort();
    if (r == PH_JSCAN_OK) {
        if (!v || kind_of(v) != sp.kind || sp.text < text || sp.text + sp.len > text + size)
            abort();
        json_t *w = ph_wire_parse(sp.text, sp.len, err, sizeof err);
        if (!w || !json_equal(v, w))
            abort();
        /* A span without whitespace inside is safe in a line. */
        if (!ws && (memchr(sp.text, '\n', sp.len) || memchr(sp.text, '\r', sp.len)))
            abort();
        json_decref(w);
        /* The compact copy is the same value with no whitespace left. */
        char *comp = malloc(sp.len ? sp.len : 1);
        if (!comp)
            abort();
        size_t cl = ph_jscan_compact(sp.text, sp.len, comp);
        int cws = 1;
        w = ph_wire_parse(comp, cl, err, sizeof err);
        if (cl > sp.len || ph_jscan_value(comp, cl, NULL, &cws) != PH_JSCAN_OK || cws || !w ||
            !json_equal(v, w))
            abort();
        json_decref(w);
        free(comp);
        /* The member view agrees with the value view on objects. */
        struct ph_jscan_member m[PH_JSCAN_MAX_KEYS];
        size_t n;
        enum ph_jscan_result ro = ph_jscan_object(text, size, m, PH_JSCAN_MAX_KEYS, &n, NULL);
        if ((sp.kind == PH_JS_OBJECT) != (ro == PH_JSCAN_OK))
            abort();
        if (ro == PH_JSCAN_OK && n != json_object_size(v))
            abort();
    }
    json_decref(v);
    free(text);
    return 0;
}
