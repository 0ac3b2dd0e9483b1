/*
 * schema: checks a call's params against the JSON Schema its method
 * declared (a small, documented subset: type, properties, required,
 * additionalProperties, items, enum, minimum, maximum, minLength,
 * maxLength, minItems, maxItems), so that bad params get -32602 from the host
 * before the plugin is ever called. Params given by position are matched to
 * an object schema's properties in their declared order.
 *
 * A schema comes from the plugin's handshake and is hostile data: it is
 * checked once at the handshake (ph_schema_check) and validation is
 * depth-bounded. It must never let a failure to understand a schema pass as
 * "valid": an unknown keyword is refused at the handshake.
 */
#include "schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 16

static const char *const keywords[] = {
    "type",        "properties", "required", "additionalProperties",
    "items",       "enum",       "minimum",  "maximum",
    "minLength",   "maxLength",  "minItems", "maxItems",
    "description", "title",      "default",  "$schema",
    "examples",
};

static const char *const types[] = {"string", "number", "integer", "boolean",
                                    "object", "array",  "null"};

static int known(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int check(json_t *schema, int depth, char *err, size_t errlen)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "schema nested deeper than %d", MAX_DEPTH);
        return -1;
    }
    if (!json_is_object(schema)) {
        snprintf(err, errlen, "a schema must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(schema, key, v)
    {
        if (!known(key, keywords, sizeof keywords / sizeof keywords[0])) {
            snprintf(err, errlen, "schema keyword \"%s\" is not supported", key);
            return -1;
        }
    }
    json_t *type = json_object_get(schema, "type");
    if (type && !(json_is_string(type) && known(json_string_value(type), types, 7))) {
        snprintf(err, errlen, "\"type\" must be one of the JSON types");
        return -1;
    }
    json_t *props = json_object_get(schema, "properties");
    if (props && !json_is_object(props)) {
        snprintf(err, errlen, "\"properties\" must be an object");
        return -1;
    }
    json_object_foreach(props, key, v) if (check(v, depth + 1, err, errlen) < 0) return -1;
    json_t *items = json_object_get(schema, "items");
    if (items && check(items, depth + 1, err, errlen) < 0)
        return -1;
    json_t *req = json_object_get(schema, "required");
    size_t i;
    json_array_foreach(req, i, v) if (!json_is_string(v))
    {
        snprintf(err, errlen, "\"required\" must list names");
        return -1;
    }
    if (req && !json_is_array(req)) {
        snprintf(err, errlen, "\"required\" must be an array");
        return -1;
    }
    json_t *ap = json_object_get(schema, "additionalProperties");
    if (ap && !json_is_boolean(ap)) {
        snprintf(err, errlen, "\"additionalProperties\" must be true or false");
        return -1;
    }
    static const char *const nums[] = {"minimum",   "maximum",  "minLength",
                                       "maxLength", "minItems", "maxItems"};
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
        json_t *n = json_object_get(schema, nums[k]);
        if (n && !json_is_number(n)) {
            snprintf(err, errlen, "\"%s\" must be a number", nums[k]);
            return -1;
        }
    }
    json_t *en = json_object_get(schema, "enum");
    if (en && !json_is_array(en)) {
        snprintf(err, errlen, "\"enum\" must be an array");
        return -1;
    }
    return 0;
}

int ph_schema_check(json_t *schema, char *err, size_t errlen)
{
    return check(schema, 0, err, errlen);
}

static int type_ok(const char *t, json_t *v)
{
    if (!strcmp(t, "string"))
        return json_is_string(v);
    if (!strcmp(t, "number"))
        return json_is_number(v);
    if (!strcmp(t, "integer"))
        return json_is_integer(v) ||
               (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    if (!strcmp(t, "boolean"))
        return json_is_boolean(v);
    if (!strcmp(t, "object"))
        return json_is_object(v);
    if (!strcmp(t, "array"))
        return json_is_array(v);
    return json_is_null(v);
}

static int fail(char *err, size_t errlen, const char *where, const char *what)
{
    snprintf(err, errlen, "%s: %s", where[0] ? where : "params", what);
    return -1;
}

static int validate(json_t *s, json_t *v, const char *where, int depth, char *err, size_t errlen)
{
    char sub[256], msg[160];
    if (depth > MAX_DEPTH)
        return fail(err, errlen, where, "nested too deeply");
    const char *t = json_string_value(json_object_get(s, "type"));
    if (t && !type_ok(t, v)) {
        snprintf(msg, sizeof msg, "must be of type %s", t);
        return fail(err, errlen, where, msg);
    }
    json_t *en = json_object_get(s, "enum");
    if (en) {
        size_t i;
        json_t *e;
        int found = 0;
        json_array_foreach(en, i, e) found |= json_equal(e, v);
        if (!found)
            return fail(err, errlen, where, "is not one of the allowed values");
    }
    if (json_is_number(v)) {
        json_t *mn = json_object_get(s, "minimum"), *mx = json_object_get(s, "maximum");
        if (mn && json_number_value(v) < json_number_value(mn))
            return fail(err, errlen, where, "is below the minimum");
        if (mx && json_number_value(v) > json_number_value(mx))
            return fail(err, errlen, where, "is above the maximum");
    }
    if (json_is_string(v)) {
        /* Lengths count code points, as JSON Schema does. */
        size_t n = 0;
        for (const unsigned char *c = (const unsigned char *)json_string_value(v); *c; c++)
            n += (*c & 0xC0) != 0x80;
        json_t *mn = json_object_get(s, "minLength"), *mx = json_object_get(s, "maxLength");
        if (mn && (double)n < json_number_value(mn))
            return fail(err, errlen, where, "is too short");
        if (mx && (double)n > json_number_value(mx))
            return fail(err, errlen, where, "is too long");
    }
    if (json_is_array(v)) {
        json_t *mn = json_object_get(s, "minItems"), *mx = json_object_get(s, "maxItems");
        if (mn && (double)json_array_size(v) < json_number_value(mn))
            return fail(err, errlen, where, "has too few items");
        if (mx && (double)json_array_size(v) > json_number_value(mx))
            return fail(err, errlen, where, "has too many items");
        json_t *items = json_object_get(s, "items");
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            snprintf(sub, sizeof sub, "%s[%zu]", where[0] ? where : "params", i);
            if (items && validate(items, e, sub, depth + 1, err, errlen) < 0)
                return -1;
        }
    }
    if (json_is_object(v)) {
        json_t *props = json_object_get(s, "properties");
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(s, "required"), i, r)
        {
            if (!json_object_get(v, json_string_value(r))) {
                snprintf(msg, sizeof msg, "lacks the required \"%.100s\"", json_string_value(r));
                return fail(err, errlen, where, msg);
            }
        }
        const char *key;
        json_t *e;
        json_object_foreach(v, key, e)
        {
            json_t *ps = json_object_get(props, key);
            snprintf(sub, sizeof sub, "%s%s%.100s", where, where[0] ? "." : "", key);
            if (!ps && json_is_false(json_object_get(s, "additionalProperties")))
                return fail(err, errlen, sub, "is not an accepted parameter");
            if (ps && validate(ps, e, sub, depth + 1, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
}

int ph_schema_validate(json_t *schema, json_t *params, char *err, size_t errlen)
{
    json_t *props = json_object_get(schema, "properties");
    const char *t = json_string_value(json_object_get(schema, "type"));
    if (json_is_array(params) && t && !strcmp(t, "object")) {
        /* By position: the properties in their declared order. */
        json_t *named = json_object();
        const char *key;
        json_t *v;
        size_t i = 0;
        json_object_foreach(props, key, v)
        {
            if (i >= json_array_size(params))
                break;
            json_object_set(named, key, json_array_get(params, i++));
        }
        int rc = 0;
        if (i < json_array_size(params) &&
            json_is_false(json_object_get(schema, "additionalProperties")))
            rc = fail(err, errlen, "params", "has more items than parameters");
        if (rc == 0)
            rc = validate(schema, named, "", 0, err, errlen);
        json_decref(named);
        return rc;
    }
    json_t *empty = NULL;
    if (!params)
        params = empty = (t && !strcmp(t, "array")) ? json_array() : json_object();
    int rc = validate(schema, params, "", 0, err, errlen);
    json_decref(empty);
    return rc;
}
