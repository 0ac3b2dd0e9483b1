/*
 * pin: `plughost pin [--output PINS] DIR|PLUGIN.so...` writes or renews the
 * operator's pins of each plugin's method surface, from the plugins' real
 * handshakes; `--pins PINS` (serve, call) puts them in force through
 * ph_host_set_pins(). The comparison itself is the host library's
 * (host/pins.c), so an embedding application gets the same.
 *
 * It must never write a half pins file: it writes a temporary file beside
 * the target and renames it over.
 */
#include "cli.h"
#include "log.h"
#include "text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *load_pins(const char *path, ph_error *err)
{
    json_error_t je;
    json_t *pins = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!pins) {
        snprintf(err->text, sizeof err->text, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        err->status = PH_E_INVALID;
    }
    return pins;
}

int ph_cli_pins(ph_host *h, const struct ph_cli_opts *o, ph_error *err)
{
    if (!o->pins)
        return PH_OK;
    json_t *pins = load_pins(o->pins, err);
    if (!pins)
        return PH_E_INVALID;
    int rc = ph_host_set_pins(h, pins, o->allow_unpinned, err);
    json_decref(pins);
    if (rc < 0) {
        char text[sizeof err->text];
        memcpy(text, err->text, sizeof text);
        snprintf(err->text, sizeof err->text, "%.200s: %.300s", o->pins, text);
    }
    return rc;
}

static int write_pins(const char *path, json_t *pins)
{
    /* mkstemp, not a predictable name: in a directory others can write, a
     * planted symlink at PATH.tmp.PID must not make pin truncate its target. */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp) {
        ph_clog_msg("error", "host", NULL, "pin: %s: path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    /* mkostemp makes it 0600; a pins file is no secret and services that
     * read it may run as another user. */
    FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        ph_clog_msg("error", "host", NULL, "pin: %s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return -1;
    }
    /* Printable ASCII (text.h): operators read and diff pins files, and
     * they hold the plugins' descriptions. */
    char *text = ph_text_json(pins, JSON_INDENT(2) | JSON_SORT_KEYS);
    int bad = !text || fputs(text, f) == EOF || fputc('\n', f) == EOF;
    free(text);
    if (fclose(f) != 0 || bad || rename(tmp, path) < 0) {
        ph_clog_msg("error", "host", NULL, "pin: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int ph_cli_pin(const struct ph_cli_opts *o, int argc, char **argv)
{
    const char *out = NULL;
    int npaths = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            argv[npaths++] = argv[i];
    }
    if (npaths == 0) {
        fputs("usage: plughost pin [--output PINS] DIR|PLUGIN.so...\n", stderr);
        return PH_EXIT_USAGE;
    }
    ph_host *h;
    ph_error err;
    if (ph_host_new(&o->host, &h, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return PH_EXIT_HOST;
    }
    ph_host_set_event_handler(h, NULL, NULL);
    /* No pins, every plugin allowed: only so that each file is hashed as
     * it is loaded. */
    json_t *none = json_pack("{s:i,s:{}}", "plughost_pins", 1, "plugins");
    ph_host_set_pins(h, none, 1, NULL);
    json_decref(none);
    int rc = PH_EXIT_OK;
    for (int i = 0; i < npaths; i++) {
        if (ph_cli_load(h, argv[i], &err) < 0) {
            ph_clog_msg("error", "host", NULL, "pin: %s", err.text);
            rc = PH_EXIT_NOT_FOUND;
        }
    }
    json_t *d = ph_host_describe(h), *e;
    size_t i;
    json_array_foreach(json_object_get(d, "errors"), i, e)
    {
        ph_clog_msg("error", "host", NULL, "pin: not pinned: %s: %s",
                    json_string_value(json_object_get(e, "file")),
                    json_string_value(json_object_get(json_object_get(e, "error"), "message")));
        rc = PH_EXIT_NOT_FOUND;
    }
    json_decref(d);
    json_t *pins = ph_host_pins(h);
    ph_host_free(h);
    size_t n = json_object_size(json_object_get(pins, "plugins"));
    /* Renewing keeps the pins of plugins not named this time. */
    if (out && access(out, F_OK) == 0) {
        json_t *old = load_pins(out, &err);
        if (!old) {
            ph_clog_msg("error", "host", NULL, "pin: %s (not overwritten)", err.text);
            json_decref(pins);
            return PH_EXIT_USAGE;
        }
        json_t *merged = json_object_get(old, "plugins");
        if (json_is_object(merged)) {
            json_object_update(merged, json_object_get(pins, "plugins"));
            json_object_set(pins, "plugins", merged);
        }
        json_decref(old);
    }
    if (out) {
        if (write_pins(out, pins) < 0)
            rc = PH_EXIT_HOST;
        else
            ph_clog_msg("info", "pinned", NULL, "pinned %zu plugin(s) in %s", n, out);
    } else {
        ph_text_print_json(stdout, pins, JSON_INDENT(2) | JSON_SORT_KEYS);
    }
    json_decref(pins);
    return rc;
}
