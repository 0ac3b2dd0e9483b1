/*
 * config: the operator's configuration file and each plugin's manifest.
 *
 * The configuration (JSON) sets global defaults, per-plugin limits and
 * grants, sha256 pins of plugin files, and the confinement the host must
 * have before it runs anything. A manifest beside a plugin (NAME.manifest.json
 * next to NAME.so) says what the plugin needs; it gets the smaller of what it
 * needs and what it was granted, and a need beyond its grants is a load
 * error. See docs/configuration.md.
 *
 * It must never widen anything: unknown keys are errors, a manifest can only
 * ask, and every number is range-checked.
 */
#include "config.h"
#include "files.h"
#include "internal.h"
#include "sha256.h"
#include "text.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most the host reads of the operator's configuration and of a
 * manifest (a manifest is a few lines). */
#define PH_CONFIG_MAX ((size_t)1 << 20)
#define PH_MANIFEST_MAX ((size_t)65536)

/* Numeric settings, their places in ph_host_options, and whether a plugin
 * entry (or a manifest's needs) may carry them. */
static const struct {
    const char *key;
    size_t off;
    int is_size;
    int per_plugin;
} numbers[] = {
#define U(k, per)                                                                                  \
    {                                                                                              \
#k, offsetof(ph_host_options, k), 0, per                                                   \
    }
#define Z(k, per)                                                                                  \
    {                                                                                              \
#k, offsetof(ph_host_options, k), 1, per                                                   \
    }
    U(call_timeout_ms, 1),
    U(handshake_timeout_ms, 1),
    U(cancel_grace_ms, 0),
    Z(max_message, 0),
    Z(memory_limit, 1),
    U(cpu_limit_s, 1),
    U(max_failures, 0),
    U(failure_window_ms, 0),
    U(cooldown_ms, 0),
    U(restart_backoff_ms, 0),
    U(restart_backoff_max_ms, 0),
    U(max_queue, 0),
    Z(address_space_limit, 1),
    U(instances, 1),
    U(idle_stop_ms, 1),
    U(spares, 1),
#undef U
#undef Z
};

static const char *const grant_names[] = {"threads"};
static const char *const layer_names[] = {"seccomp",          "landlock",      "namespaces",
                                          "namespace:user",   "namespace:pid", "namespace:net",
                                          "namespace:ipc",    "namespace:uts", "namespace:mnt",
                                          "namespace:cgroup", "cgroup"};

/* Finds where a key path appears in the text, for errors with a line and a
 * column: each key is searched after the previous one. */
static void locate(const char *text, const char *const *path, size_t depth, int *line, int *col)
{
    const char *at = text;
    for (size_t i = 0; i < depth && at; i++) {
        char quoted[300];
        snprintf(quoted, sizeof quoted, "\"%s\"", path[i]);
        const char *f = strstr(at, quoted);
        if (f)
            at = f;
        else
            break;
    }
    *line = 1;
    *col = 1;
    for (const char *c = text; at && c < at; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

struct checker {
    const char *file;
    const char *text;
    ph_error *err;
};

static int bad(struct checker *ck, const char *const *path, size_t depth, const char *what)
{
    int line, col;
    char where[400] = "";
    locate(ck->text, path, depth, &line, &col);
    for (size_t i = 0; i < depth; i++) {
        size_t n = strlen(where);
        snprintf(where + n, sizeof where - n, "%s%s", i ? "." : "", path[i]);
    }
    ph_set_error(ck->err, PH_E_INVALID, "%s:%d:%d: %s: %s", ck->file, line, col,
                 depth ? where : "(top level)", what);
    return -1;
}

static int find_number(const char *key)
{
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (strcmp(numbers[i].key, key) == 0)
            return (int)i;
    return -1;
}

/* ", got V": the value refused, as printable ASCII JSON (text.h) cut
 * short, so an error says what was wrong as well as where. */
static void got(json_t *v, char *out, size_t len)
{
    char *text = ph_text_json(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t n = text ? strlen(text) : 0;
    snprintf(out, len, ", got %.40s%s", text ? text : "?", n > 40 ? "..." : "");
    free(text);
}

static int check_number(struct checker *ck, const char *const *path, size_t depth, json_t *v,
                        int idx)
{
    json_int_t min = 1, max = numbers[idx].is_size ? ((json_int_t)1 << 40) : UINT_MAX;
    int pool =
        strcmp(numbers[idx].key, "instances") == 0 || strcmp(numbers[idx].key, "spares") == 0;
    if (pool)
        max = PH_MAX_INSTANCES;
    /* No spares is a choice a plugin's entry must be able to make against
     * a default that gives them. */
    if (strcmp(numbers[idx].key, "spares") == 0)
        min = 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char what[200], was[64];
        got(v, was, sizeof was);
        if (pool)
            snprintf(what, sizeof what, "must be an integer from %lld to %lld%s", (long long)min,
                     (long long)max, was);
        else
            snprintf(what, sizeof what, "must be a positive integer, at most %lld%s",
                     (long long)max, was);
        return bad(ck, path, depth, what);
    }
    return 0;
}

/* "isolate": one of the PH_ISOLATE_* names. */
static int check_isolate(struct checker *ck, const char *const *path, size_t depth, json_t *v)
{
    if (ph_config_isolate(json_string_value(v)) < 0) {
        char what[200], was[64];
        got(v, was, sizeof was);
        snprintf(what, sizeof what, "must be \"none\", \"call\" or \"client\"%s", was);
        return bad(ck, path, depth, what);
    }
    return 0;
}

static int check_grants(struct checker *ck, const char **path, size_t depth, json_t *v)
{
    size_t i;
    json_t *g;
    if (!json_is_array(v))
        return bad(ck, path, depth, "must be an array of grant names (\"threads\")");
    json_array_foreach(v, i, g)
    {
        int known = 0;
        for (size_t j = 0; j < sizeof grant_names / sizeof grant_names[0]; j++)
            known |= json_is_string(g) && strcmp(json_string_value(g), grant_names[j]) == 0;
        if (!known)
            return bad(ck, path, depth, "unknown grant (known: \"threads\")");
    }
    return 0;
}

/* "files": {"read": [grant...], "write": [grant...]} (files.c reads it). */
static int check_files(struct checker *ck, const char *name, json_t *v)
{
    const char *path[5] = {"plugins", name, "files", NULL, NULL};
    if (!json_is_object(v))
        return bad(ck, path, 3, "must be an object with \"read\" and/or \"write\" arrays");
    const char *key;
    json_t *list;
    json_object_foreach(v, key, list)
    {
        path[3] = key;
        if (strcmp(key, "read") != 0 && strcmp(key, "write") != 0)
            return bad(ck, path, 4, "unknown key (read, write)");
        if (!json_is_array(list))
            return bad(ck, path, 4, "must be an array of paths");
        size_t i;
        json_t *g;
        json_array_foreach(list, i, g)
        {
            char why[200];
            const char *s = json_string_value(g);
            if (!s || json_string_length(g) != strlen(s))
                return bad(ck, path, 4, "must be an array of paths");
            if (ph_files_grant_syntax(s, why, sizeof why) < 0) {
                path[4] = s;
                return bad(ck, path, 5, why);
            }
        }
    }
    return 0;
}

static int check_plugin(struct checker *ck, const char *name, json_t *entry)
{
    const char *path[3] = {"plugins", name, NULL};
    /* Entries are matched by the file's name in the plugin directory, and
     * only NAME.so files are plugins: any other key could never apply,
     * and an operator's limit that silently applies to nothing is worse
     * than a refusal. */
    size_t len = strlen(name);
    if (len < 4 || strcmp(name + len - 3, ".so") != 0 || strchr(name, '/'))
        return bad(ck, path, 2, "must be a plugin file name, NAME.so (no directory)");
    if (!json_is_object(entry))
        return bad(ck, path, 2, "must be an object");
    const char *key;
    json_t *v;
    json_object_foreach(entry, key, v)
    {
        path[2] = key;
        int idx = find_number(key);
        if (strcmp(key, "sha256") == 0) {
            const char *h = json_string_value(v);
            if (!h || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
                return bad(ck, path, 3, "must be 64 lower-case hex digits");
        } else if (strcmp(key, "grants") == 0) {
            if (check_grants(ck, path, 3, v) < 0)
                return -1;
        } else if (strcmp(key, "files") == 0) {
            if (check_files(ck, name, v) < 0)
                return -1;
        } else if (strcmp(key, "isolate") == 0) {
            if (check_isolate(ck, path, 3, v) < 0)
                return -1;
        } else if (idx >= 0 && numbers[idx].per_plugin) {
            if (check_number(ck, path, 3, v, idx) < 0)
                return -1;
        } else {
            return bad(ck, path, 3, "unknown key for a plugin");
        }
    }
    return 0;
}

/* Users or groups allowed to connect to `serve --listen`: names must exist
 * here and now (a typo would otherwise lock everyone out, or worse, be
 * created later for someone else), numbers are taken as they are. */
static int check_ids(struct checker *ck, const char **path, json_t *v, int groups)
{
    size_t i;
    json_t *e;
    if (!json_is_array(v))
        return bad(ck, path, 2,
                   groups ? "must be an array of group names or gids"
                          : "must be an array of user names or uids");
    json_array_foreach(v, i, e)
    {
        if (json_is_integer(e)) {
            if (json_integer_value(e) < 0 || json_integer_value(e) >= (json_int_t)UINT32_MAX)
                return bad(ck, path, 2, groups ? "a gid out of range" : "a uid out of range");
            continue;
        }
        const char *name = json_string_value(e);
        if (!name || !*name)
            return bad(ck, path, 2,
                       groups ? "each entry is a group name or a gid"
                              : "each entry is a user name or a uid");
        const char *sub[3] = {path[0], path[1], name};
        if (groups ? getgrnam(name) == NULL : getpwnam(name) == NULL)
            return bad(ck, sub, 3, groups ? "no such group here" : "no such user here");
    }
    return 0;
}

/* The "serve" section: settings of `plughost serve --listen`. */
static int check_serve(struct checker *ck, json_t *v)
{
    const char *path[3] = {"serve", NULL, NULL};
    if (!json_is_object(v))
        return bad(ck, path, 1, "must be an object");
    const char *key;
    json_t *e;
    json_object_foreach(v, key, e)
    {
        path[1] = key;
        if (strcmp(key, "allow_users") == 0 || strcmp(key, "allow_groups") == 0) {
            if (check_ids(ck, path, e, key[6] == 'g') < 0)
                return -1;
        } else if (strcmp(key, "status_allow") == 0) {
            if (check_ids(ck, path, e, 0) < 0)
                return -1;
        } else if (strcmp(key, "socket_mode") == 0) {
            const char *m = json_string_value(e);
            char *end = NULL;
            unsigned long mode =
                m && *m && strspn(m, "01234567") == strlen(m) ? strtoul(m, &end, 8) : 01000;
            if (mode > 0777)
                return bad(ck, path, 2, "must be an octal mode in a string, up to \"0777\"");
        } else if (strcmp(key, "max_clients") == 0) {
            if (!json_is_integer(e) || json_integer_value(e) <= 0 || json_integer_value(e) > 65536)
                return bad(ck, path, 2, "must be an integer from 1 to 65536");
        } else {
            return bad(ck, path, 2,
                       "unknown key (allow_users, allow_groups, status_allow, socket_mode, "
                       "max_clients)");
        }
    }
    return 0;
}

static int check_config(struct checker *ck, json_t *c)
{
    const char *path[3] = {NULL, NULL, NULL};
    if (!json_is_object(c))
        return bad(ck, path, 0, "the configuration must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(c, key, v)
    {
        path[0] = key;
        if (strcmp(key, "defaults") == 0) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v))
                return bad(ck, path, 1, "must be an object");
            json_object_foreach(v, k2, v2)
            {
                path[1] = k2;
                int idx = find_number(k2);
                if (strcmp(k2, "isolate") == 0) {
                    if (check_isolate(ck, path, 2, v2) < 0)
                        return -1;
                } else if (idx < 0) {
                    return bad(ck, path, 2, "unknown setting");
                } else if (check_number(ck, path, 2, v2, idx) < 0) {
                    return -1;
                }
            }
        } else if (strcmp(key, "plugins") == 0) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v))
                return bad(ck, path, 1, "must be an object keyed by plugin file name");
            json_object_foreach(v, k2, v2) if (check_plugin(ck, k2, v2) < 0) return -1;
        } else if (strcmp(key, "require") == 0) {
            size_t i;
            json_t *l;
            if (!json_is_array(v))
                return bad(ck, path, 1, "must be an array of layer names");
            json_array_foreach(v, i, l)
            {
                int known = 0;
                for (size_t j = 0; j < sizeof layer_names / sizeof layer_names[0]; j++)
                    known |= json_is_string(l) && strcmp(json_string_value(l), layer_names[j]) == 0;
                if (!known)
                    return bad(
                        ck, path, 1,
                        "unknown layer (seccomp, landlock, namespaces, namespace:NAME, cgroup)");
            }
        } else if (strcmp(key, "accept_weaker") == 0) {
            size_t i;
            json_t *l;
            if (!json_is_array(v))
                return bad(ck, path, 1, "must be an array of weaker mode names");
            json_array_foreach(v, i, l)
            {
                if (ph_config_weaker_bit(json_string_value(l)) == 0)
                    return bad(ck, path, 1, "unknown weaker mode (no-fs-containment)");
            }
        } else if (strcmp(key, "run_as") == 0) {
            json_t *u = json_object_get(v, "uid"), *g = json_object_get(v, "gid");
            if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_integer(u) ||
                !json_is_integer(g) || json_integer_value(u) <= 0 || json_integer_value(g) <= 0 ||
                json_integer_value(u) > 0x7fffffff || json_integer_value(g) > 0x7fffffff)
                return bad(ck, path, 1, "must be {\"uid\": N, \"gid\": N}, neither 0");
        } else if (strcmp(key, "self_test") == 0) {
            if (!json_is_boolean(v))
                return bad(ck, path, 1, "must be true or false");
        } else if (strcmp(key, "serve") == 0) {
            if (check_serve(ck, v) < 0)
                return -1;
        } else if (strcmp(key, "log_format") == 0) {
            /* Read by the plughost command (--log-format), not the host. */
            const char *f = json_string_value(v);
            if (!f || (strcmp(f, "text") != 0 && strcmp(f, "json") != 0))
                return bad(ck, path, 1, "must be \"text\" or \"json\"");
        } else if (strcmp(key, "activation") == 0) {
            const char *a = json_string_value(v);
            if (!a || (strcmp(a, "eager") != 0 && strcmp(a, "lazy") != 0))
                return bad(ck, path, 1, "must be \"eager\" or \"lazy\"");
        } else if (strcmp(key, "hello_cache") == 0) {
            const char *d = json_string_value(v);
            if (!d || d[0] != '/' || strlen(d) >= PATH_MAX)
                return bad(ck, path, 1, "must be an absolute directory path");
        } else {
            return bad(ck, path, 1,
                       "unknown key (defaults, plugins, require, accept_weaker, run_as, "
                       "self_test, serve, log_format, activation, hello_cache)");
        }
    }
    return 0;
}

/* The whole of name (relative to dirfd) as a string, at most max bytes,
 * opened as ph_files_open_regular() opens; shown is how errors name it.
 * NULL with err filled, and *absent set when there is no such file. */
static char *slurp(int dirfd, const char *name, const char *shown, int follow, size_t max,
                   ph_error *err, int *absent)
{
    char why[200];
    if (absent)
        *absent = 0;
    int fd = ph_files_open_regular(dirfd, name, follow, (off_t)max, NULL, why, sizeof why);
    if (fd < 0) {
        if (absent)
            *absent = errno == ENOENT;
        ph_set_error(err, errno == ENOENT ? PH_E_SYSTEM : PH_E_INVALID, "%s: %s", shown, why);
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t len = 0;
    ssize_t r = 0;
    /* One byte more than allowed: a file grown since it was opened is
     * still read only that far. */
    while (buf && len <= max && (r = read(fd, buf + len, max + 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    if (!buf || r < 0 || len > max) {
        ph_set_error(err, PH_E_INVALID, "%s: %s", shown,
                     !buf    ? "out of memory"
                     : r < 0 ? strerror(errno)
                             : "grew past its size bound while read");
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

int ph_config_load(const char *path, json_t **out, ph_error *err)
{
    *out = NULL;
    char *text = slurp(AT_FDCWD, path, path, 1, PH_CONFIG_MAX, err, NULL);
    if (!text)
        return err ? err->status : PH_E_SYSTEM;
    json_error_t je;
    json_t *c = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!c) {
        free(text);
        return ph_set_error(err, PH_E_INVALID, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    }
    struct checker ck = {path, text, err};
    int rc = check_config(&ck, c);
    free(text);
    if (rc < 0) {
        json_decref(c);
        return PH_E_INVALID;
    }
    *out = c;
    return PH_OK;
}

unsigned ph_config_weaker_bit(const char *name)
{
    return name && strcmp(name, "no-fs-containment") == 0 ? PH_WEAKER_NO_FS_CONTAINMENT : 0;
}

void ph_config_defaults(ph_host_options *o, json_t *config)
{
    const char *key;
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(config, "accept_weaker"), i, v) o->accept_weaker |=
        ph_config_weaker_bit(json_string_value(v));
    /* Lazy activation (lazy.c); the string lives as long as the host's
     * reference to config. */
    const char *act = json_string_value(json_object_get(config, "activation"));
    if (!o->activation && act)
        o->activation = strcmp(act, "lazy") == 0 ? PH_ACTIVATION_LAZY : PH_ACTIVATION_EAGER;
    if (!o->hello_cache)
        o->hello_cache = json_string_value(json_object_get(config, "hello_cache"));
    json_t *run_as = json_object_get(config, "run_as");
    if (run_as && !o->run_uid) {
        o->run_uid = (unsigned)json_integer_value(json_object_get(run_as, "uid"));
        o->run_gid = (unsigned)json_integer_value(json_object_get(run_as, "gid"));
    }
    /* The pool's isolation host-wide, unless the caller chose one (none is
     * 0, which reads as not chosen); a plugin's entry overrides it
     * (ph_plug_settings). */
    int iso = ph_config_isolate(
        json_string_value(json_object_get(json_object_get(config, "defaults"), "isolate")));
    if (!o->isolate && iso > 0)
        o->isolate = (unsigned)iso;
    json_object_foreach(json_object_get(config, "defaults"), key, v)
    {
        int idx = find_number(key);
        if (idx < 0)
            continue;
        char *field = (char *)o + numbers[idx].off;
        /* An explicit option (command line, API) beats the file. */
        if (numbers[idx].is_size && *(size_t *)field == 0)
            *(size_t *)field = (size_t)json_integer_value(v);
        else if (!numbers[idx].is_size && *(unsigned *)field == 0)
            *(unsigned *)field = (unsigned)json_integer_value(v);
    }
}

static const char *base_name(const char *file)
{
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

/* The directory of path, opened for openat() (never blocking: O_DIRECTORY
 * refuses anything else before opening it); *name gets the last
 * component. Returns the descriptor or -1 with errno. */
static int open_parent(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    if (!slash)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
}

/* The manifest beside a plugin: NAME.manifest.json for NAME.so. New
 * reference or NULL when there is none; -1 in *bad_manifest on errors. */
static json_t *read_manifest(const char *file, ph_error *err, int *failed)
{
    char path[PATH_MAX];
    size_t n = strlen(file);
    *failed = 0;
    if (n < 4 || n + 16 >= sizeof path)
        return NULL;
    snprintf(path, sizeof path, "%.*s.manifest.json", (int)(n - 3), file);
    const char *name;
    int dirfd = open_parent(path, &name);
    int absent = 0;
    char *text = dirfd < 0 ? NULL : slurp(dirfd, name, path, 0, PH_MANIFEST_MAX, err, &absent);
    int e = errno;
    if (dirfd >= 0)
        close(dirfd);
    else
        ph_set_error(err, PH_E_SYSTEM, "%s: cannot open its directory: %s", path, strerror(e));
    if (!text) {
        *failed = !absent;
        return NULL;
    }
    json_error_t je;
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        /* jansson quotes the text near the error: the directory writer's
         * bytes, escaped before they reach a message. */
        char near[sizeof je.text * 4 + 40];
        ph_wire_escape(je.text, strnlen(je.text, sizeof je.text), near, sizeof near);
        ph_set_error(err, PH_E_INVALID, "%s:%d:%d: %s", path, je.line, je.column, near);
        free(text);
        *failed = 1;
        return NULL;
    }
    struct checker ck = {path, text, err};
    const char *p[2] = {"needs", NULL};
    json_t *needs = json_object_get(m, "needs");
    const char *key;
    json_t *v;
    int rc = json_is_object(m) && json_object_size(m) == (needs ? 1u : 0u) &&
                     (!needs || json_is_object(needs))
                 ? 0
                 : bad(&ck, p, 0, "a manifest is {\"needs\": {...}}");
    json_object_foreach(needs, key, v)
    {
        if (rc < 0)
            break;
        p[1] = key;
        int idx = find_number(key);
        if (strcmp(key, "threads") == 0 || strcmp(key, "singleton") == 0)
            rc = json_is_boolean(v) ? 0 : bad(&ck, p, 2, "must be true or false");
        else if (strcmp(key, "instances") == 0 || strcmp(key, "idle_stop_ms") == 0 ||
                 strcmp(key, "spares") == 0 || strcmp(key, "isolate") == 0)
            rc = bad(&ck, p, 2,
                     "the pool is the operator's choice (a singleton says \"singleton\": "
                     "true)");
        else if (idx >= 0 && numbers[idx].per_plugin)
            rc = check_number(&ck, p, 2, v, idx);
        else
            rc = bad(&ck, p, 2, "not something a plugin can ask for");
    }
    free(text);
    if (rc < 0) {
        json_decref(m);
        *failed = 1;
        return NULL;
    }
    return m;
}

int ph_config_isolate(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "none") == 0)
        return PH_ISOLATE_NONE;
    if (strcmp(name, "call") == 0)
        return PH_ISOLATE_CALL;
    if (strcmp(name, "client") == 0)
        return PH_ISOLATE_CLIENT;
    return -1;
}

int ph_plug_settings(struct ph_host *h, const char *file, struct ph_plug_settings *s, ph_error *err)
{
    const ph_host_options *o = &h->opt;
    json_t *entry = json_object_get(json_object_get(h->config, "plugins"), base_name(file));
    memset(s, 0, sizeof *s);
    s->call_timeout_ms = o->call_timeout_ms;
    s->handshake_timeout_ms = o->handshake_timeout_ms;
    s->memory_limit = o->memory_limit;
    s->cpu_limit_s = o->cpu_limit_s;
    s->address_space_limit = o->address_space_limit;
    s->instances = o->instances;
    s->idle_stop_ms = o->idle_stop_ms;
    s->isolate = o->isolate;
    s->spares = o->spares;
    int iso = ph_config_isolate(json_string_value(json_object_get(entry, "isolate")));
    if (iso >= 0)
        s->isolate = (unsigned)iso;
    const char *key;
    json_t *v;
    json_object_foreach(entry, key, v)
    {
        int idx = find_number(key);
        if (idx < 0)
            continue;
        if (strcmp(key, "call_timeout_ms") == 0)
            s->call_timeout_ms = (unsigned)json_integer_value(v);
        else if (strcmp(key, "handshake_timeout_ms") == 0)
            s->handshake_timeout_ms = (unsigned)json_integer_value(v);
        else if (strcmp(key, "memory_limit") == 0)
            s->memory_limit = (size_t)json_integer_value(v);
        else if (strcmp(key, "cpu_limit_s") == 0)
            s->cpu_limit_s = (unsigned)json_integer_value(v);
        else if (strcmp(key, "address_space_limit") == 0)
            s->address_space_limit = (size_t)json_integer_value(v);
        else if (strcmp(key, "instances") == 0)
            s->instances = (unsigned)json_integer_value(v);
        else if (strcmp(key, "idle_stop_ms") == 0)
            s->idle_stop_ms = (unsigned)json_integer_value(v);
        else if (strcmp(key, "spares") == 0)
            s->spares = (unsigned)json_integer_value(v);
    }
    const char *pin = json_string_value(json_object_get(entry, "sha256"));
    if (pin)
        snprintf(s->sha256, sizeof s->sha256, "%s", pin);
    int granted_threads = 0;
    size_t i;
    json_array_foreach(json_object_get(entry, "grants"), i, v)
    {
        granted_threads |= strcmp(json_string_value(v), "threads") == 0;
    }
    int failed = 0;
    /* Audit mode is how a manifest is learned: the old one does not apply. */
    json_t *m = h->opt.audit ? NULL : read_manifest(file, err, &failed);
    if (failed)
        return PH_E_INVALID;
    json_t *needs = json_object_get(m, "needs");
    /* Least privilege: what it needs, if granted; never more. */
    if (json_is_true(json_object_get(needs, "threads"))) {
        if (!granted_threads) {
            json_decref(m);
            return ph_set_error(err, PH_E_INVALID,
                                "%s needs the \"threads\" grant, which the configuration does not "
                                "give it (add \"grants\": [\"threads\"] under plugins.\"%s\")",
                                file, base_name(file));
        }
        s->threads = 1;
    }
    /* Asking for less than the operator's pool is always granted. */
    if (json_is_true(json_object_get(needs, "singleton")))
        s->singleton = 1;
    struct {
        const char *key;
        uint64_t have;
        void *field;
        int is_size;
    } lim[] = {{"call_timeout_ms", s->call_timeout_ms, &s->call_timeout_ms, 0},
               {"handshake_timeout_ms", s->handshake_timeout_ms, &s->handshake_timeout_ms, 0},
               {"memory_limit", s->memory_limit, &s->memory_limit, 1},
               {"cpu_limit_s", s->cpu_limit_s, &s->cpu_limit_s, 0},
               {"address_space_limit",
                s->address_space_limit ? s->address_space_limit : s->memory_limit,
                &s->address_space_limit, 1}};
    for (size_t k = 0; k < sizeof lim / sizeof lim[0]; k++) {
        json_t *want = json_object_get(needs, lim[k].key);
        if (!want)
            continue;
        uint64_t w = (uint64_t)json_integer_value(want);
        if (w > lim[k].have) {
            json_decref(m);
            return ph_set_error(err, PH_E_INVALID,
                                "%s needs %s = %llu, more than the %llu it is granted", file,
                                lim[k].key, (unsigned long long)w, (unsigned long long)lim[k].have);
        }
        if (lim[k].is_size)
            *(size_t *)lim[k].field = (size_t)w;
        else
            *(unsigned *)lim[k].field = (unsigned)w;
    }
    json_decref(m);
    return PH_OK;
}

/* sha256 of exactly what fd holds, read no further than max bytes: a file
 * that grows while it is hashed is refused rather than read on. */
static int hash_bounded(int fd, off_t max, char out[65])
{
    struct ph_sha256 s;
    static unsigned char buf[65536];
    off_t off = 0;
    ph_sha256_init(&s);
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof buf, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        off += r;
        if (off > max) {
            errno = EFBIG;
            return -1;
        }
        ph_sha256_update(&s, buf, (size_t)r);
    }
    ph_sha256_hex(&s, out);
    return 0;
}

int ph_plug_open_checked(const char *file, const char *pin, int want_hash, char hash[65],
                         struct stat *st, ph_error *err)
{
    const char *name;
    char why[200];
    hash[0] = '\0';
    int dirfd = open_parent(file, &name);
    if (dirfd < 0)
        return ph_set_error(err, PH_E_SYSTEM, "%s: cannot open its directory: %s", file,
                            strerror(errno));
    int fd = ph_files_open_regular(dirfd, name, 0, PH_PLUGIN_FILE_MAX, st, why, sizeof why);
    int open_errno = errno;
    close(dirfd);
    if (fd < 0)
        return ph_set_error(err, open_errno == ENOENT ? PH_E_SYSTEM : PH_E_INVALID, "%s: %s", file,
                            why);
    if ((pin && *pin) || want_hash) {
        if (hash_bounded(fd, PH_PLUGIN_FILE_MAX, hash) < 0) {
            int e = errno;
            close(fd);
            return ph_set_error(err, PH_E_SYSTEM, "%s: cannot hash: %s", file,
                                e == EFBIG ? "it grew past the size bound while read"
                                           : strerror(e));
        }
    }
    if (pin && *pin && strcmp(hash, pin) != 0) {
        close(fd);
        return ph_set_error(err, PH_E_INVALID,
                            "%s does not match its pinned sha256 (pinned %.12s..., file "
                            "%.12s...): refusing to load it; renew the pin if the change is "
                            "expected",
                            file, pin, hash);
    }
    return fd;
}
