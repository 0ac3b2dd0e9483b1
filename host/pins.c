/*
 * pins: the operator's pins of each plugin's method surface (names,
 * descriptions, params notes and schemas, and the file's sha256), against
 * tools that change behind the user's back. A plugin whose surface differs
 * from its pin, or that has no pin, is not offered: its calls fail with
 * -32003 saying what changed and how to renew the pin, until the pin is
 * renewed (`plughost pin`) or the plugin is put back.
 *
 * The check runs at every handshake, so a plugin restarted after a crash
 * from a file replaced meanwhile is caught too, and again whenever the pins
 * are set (a reload). It must never let a call through to a plugin whose
 * surface it has not compared.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PH_PINS_VERSION 1

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* One plugin's surface as its pin holds it. New reference. */
static json_t *surface(const struct ph_plug *p)
{
    json_t *methods = json_object(), *m;
    size_t i;
    json_array_foreach(json_object_get(p->hello, "methods"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        if (!name)
            continue;
        json_t *entry = json_object();
        const char *keys[] = {"description", "params", "params_schema"};
        for (size_t k = 0; k < 3; k++)
            if (json_object_get(m, keys[k]))
                json_object_set(entry, keys[k], json_object_get(m, keys[k]));
        json_object_set_new(methods, name, entry);
    }
    return json_pack("{s:s,s:s,s:o}", "plugin", p->name, "sha256", p->sha256, "methods", methods);
}

json_t *ph_host_pins(ph_host *h)
{
    json_t *plugins = json_object();
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        if (p->hello && p->name)
            json_object_set_new(plugins, base_name(p->file), surface(p));
    return json_pack("{s:i,s:o}", "plughost_pins", PH_PINS_VERSION, "plugins", plugins);
}

static int bad(ph_error *err, const char *file, const char *what, const char *why)
{
    return ph_set_error(err, PH_E_INVALID, "pins: plugins.\"%s\"%s%s: %s", file, *what ? "." : "",
                        what, why);
}

static int check_doc(json_t *pins, ph_error *err)
{
    json_t *v = json_object_get(pins, "plughost_pins");
    if (!json_is_object(pins) || !json_is_integer(v) || json_integer_value(v) != PH_PINS_VERSION)
        return ph_set_error(err, PH_E_INVALID,
                            "pins: not a pins file of version 1 (\"plughost_pins\": 1 missing); "
                            "write one with `plughost pin`");
    json_t *plugins = json_object_get(pins, "plugins");
    if (!json_is_object(plugins))
        return ph_set_error(err, PH_E_INVALID, "pins: \"plugins\" must be an object");
    const char *file, *name;
    json_t *e, *m;
    json_object_foreach(plugins, file, e)
    {
        if (!json_is_object(e))
            return bad(err, file, "", "must be an object");
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        if (!sha || strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64)
            return bad(err, file, "sha256", "must be 64 lower-case hex digits");
        if (!json_is_string(json_object_get(e, "plugin")))
            return bad(err, file, "plugin", "must be the plugin's name");
        if (!json_is_object(json_object_get(e, "methods")))
            return bad(err, file, "methods", "must be an object of methods by name");
        json_object_foreach(json_object_get(e, "methods"), name, m)
        {
            if (!json_is_object(m))
                return bad(err, file, name, "a method's pin must be an object");
        }
    }
    return PH_OK;
}

/* Appends one change; a change that cannot be recorded marks the whole
 * comparison failed (*ok = 0), so that a lost append never reads as "no
 * change". */
static void add(json_t *changes, int *ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(json_t *changes, int *ok, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!changes || json_array_append_new(changes, json_string(text)) < 0)
        *ok = 0;
}

/* What differs between a plugin's surface and its pin: an array of short
 * texts, empty when they agree. New reference, or NULL when the comparison
 * itself failed (out of memory): the caller must then treat the plugin as
 * changed, never as equal. */
static json_t *compare(const struct ph_plug *p, json_t *pin)
{
    int ok = 1;
    json_t *changes = json_array();
    json_t *now = surface(p);
    if (!changes || !now) {
        json_decref(changes);
        json_decref(now);
        return NULL;
    }
    if (!pin) {
        add(changes, &ok, "%s is not pinned", base_name(p->file));
        json_decref(now);
        if (!ok) {
            json_decref(changes);
            return NULL;
        }
        return changes;
    }
    const char *pname = json_string_value(json_object_get(pin, "plugin"));
    if (!pname || strcmp(pname, p->name) != 0)
        add(changes, &ok, "plugin name changed (pinned \"%s\", now \"%s\")", pname ? pname : "?",
            p->name);
    const char *psha = json_string_value(json_object_get(pin, "sha256"));
    if (!p->sha256[0])
        add(changes, &ok,
            "file not verified (it was started before pins were set; it is checked at its next "
            "start)");
    else if (!psha || strcmp(psha, p->sha256) != 0)
        add(changes, &ok, "file changed (sha256 pinned %.12s..., now %.12s...)", psha ? psha : "?",
            p->sha256);
    json_t *pm = json_object_get(pin, "methods"), *nm = json_object_get(now, "methods");
    const char *name;
    json_t *a;
    json_object_foreach(pm, name, a)
    {
        json_t *b = json_object_get(nm, name);
        if (!b) {
            add(changes, &ok, "method %s removed", name);
            continue;
        }
        static const struct {
            const char *key, *what;
        } parts[] = {{"description", "description"},
                     {"params", "params note"},
                     {"params_schema", "params schema"}};
        for (size_t k = 0; k < 3; k++) {
            json_t *x = json_object_get(a, parts[k].key), *y = json_object_get(b, parts[k].key);
            if ((x || y) && !(x && y && json_equal(x, y)))
                add(changes, &ok, "method %s: %s changed", name, parts[k].what);
        }
    }
    json_object_foreach(nm, name, a)
    {
        if (!json_object_get(pm, name))
            add(changes, &ok, "method %s added", name);
    }
    json_decref(now);
    if (!ok) {
        json_decref(changes);
        return NULL;
    }
    return changes;
}

void ph_pins_check(struct ph_plug *p)
{
    struct ph_host *h = p->host;
    if (!p->hello || !p->name)
        return;
    json_t *changes = NULL;
    int blocked = 0;
    if (h->pins) {
        json_t *pin = json_object_get(json_object_get(h->pins, "plugins"), base_name(p->file));
        if (pin || !h->pins_allow_unpinned) {
            /* Offered only when proven equal: a comparison that failed
             * (changes NULL) blocks the plugin like a difference does. */
            changes = compare(p, pin);
            blocked = !changes || json_array_size(changes) > 0;
        }
        if (changes && json_array_size(changes) == 0) {
            json_decref(changes);
            changes = NULL;
        }
    }
    /* Said once per change, not at every restart of the same file. */
    int news = blocked && !(p->pin_changes && changes && json_equal(changes, p->pin_changes));
    json_decref(p->pin_changes);
    p->pin_changes = changes;
    p->pin_blocked = blocked;
    if (news)
        ph_host_event(h, json_pack("{s:s,s:s,s:s,s:O?}", "type", "pin_mismatch", "plugin", p->name,
                                   "file", base_name(p->file), "changes", changes));
}

json_t *ph_pins_error(struct ph_plug *p, const char *method)
{
    char list[400] = "";
    size_t n = 0, i;
    json_t *c;
    json_array_foreach(p->pin_changes, i, c)
    {
        if (n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? "; " : "",
                                  json_string_value(c));
    }
    if (!p->pin_changes)
        snprintf(list, sizeof list, "the comparison could not be made: out of memory");
    return ph_call_error(p, method, PH_RPC_PLUGIN_NOT_LOADED, PH_END_NONE,
                         json_pack("{s:O?}", "pin_changes", p->pin_changes),
                         "plugin %s is not offered: its surface does not match its pin (%s); if "
                         "the change is expected, renew the pin with `plughost pin --output "
                         "PINS %s`",
                         p->name, list, p->file);
}

int ph_host_set_pins(ph_host *h, json_t *pins, int allow_unpinned, ph_error *err)
{
    if (pins && check_doc(pins, err) < 0)
        return err ? err->status : PH_E_INVALID;
    /* Copy first, swap on success: a failed copy must leave the old pins in
     * force, never switch pinning off. */
    json_t *copy = pins ? json_deep_copy(pins) : NULL;
    if (pins && !copy)
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    json_decref(h->pins);
    h->pins = copy;
    h->pins_allow_unpinned = allow_unpinned;
    for (struct ph_plug *p = h->plugs; p; p = p->next)
        ph_pins_check(p);
    return PH_OK;
}
