/*
 * profile: `plughost profile`, the audit mode. It runs one plugin with the
 * seccomp filter's refusals recorded instead of fatal, calls the methods
 * given, and prints what the plugin used beyond the allow-list and the
 * manifest it would need. With --check it compares that against a manifest
 * and fails when the plugin asks for more, so CI can refuse a new version
 * of a plugin that widens what it needs.
 *
 * It must never be how a plugin runs in earnest: audit mode lets some
 * refused calls through (those the other layers still bound, listed in
 * host/violation.c), which is the point; what the sandbox exists to close
 * fails with an errno even here, and is marked refused.
 */
#include "cli.h"
#include "log.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char profile_usage[] =
    "usage: plughost profile [--manifest OUT] [--check MANIFEST] FILE [METHOD [PARAMS]]...\n"
    "  Runs the plugin in FILE in audit mode, calls each METHOD (PARAMS: a JSON\n"
    "  array or object), then prints the calls the sandbox would have refused and\n"
    "  the manifest the plugin would need. --manifest writes that manifest;\n"
    "  --check fails (exit 6) if the plugin needs more than MANIFEST allows.\n"
    "  example: plughost profile build/plugins/greeter.so greet '[\"x\"]'\n";

/* What a refused call would need: a grant, or nothing can allow it. */
static const char *grant_for(const char *key)
{
    if (strcmp(key, "clone:thread") == 0 || strcmp(key, "clone3") == 0 ||
        strcmp(key, "set_robust_list") == 0 || strcmp(key, "rseq") == 0 ||
        strcmp(key, "sched_getaffinity") == 0)
        return "threads";
    return NULL;
}

/* Builds {"needs": {...}} from an audit record; *ungrantable gets the calls
 * no grant allows (new reference). */
static json_t *manifest_from(json_t *audit, json_t **ungrantable)
{
    json_t *needs = json_object();
    *ungrantable = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(audit, key, v)
    {
        const char *g = grant_for(key);
        if (g)
            json_object_set_new(needs, g, json_true());
        else
            json_array_append_new(*ungrantable, json_string(key));
    }
    return json_pack("{s:o}", "needs", needs);
}

static json_t *parse_params(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_array(v) && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static int run_calls(ph_host *h, const char *name, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        json_t *params = NULL;
        if (i + 1 < argc && (argv[i + 1][0] == '[' || argv[i + 1][0] == '{')) {
            params = parse_params(argv[i + 1]);
            if (!params) {
                ph_clog_msg("error", "host", NULL, "params for %s must be a JSON array or object",
                            argv[i]);
                return -1;
            }
        }
        json_t *res = NULL, *rpc = NULL;
        ph_error err;
        int rc = ph_host_call(h, name, argv[i], params, &res, &rpc, &err);
        char *s = ph_text_json(rc == PH_OK ? res : rpc, JSON_COMPACT | JSON_ENCODE_ANY);
        ph_text_print(stdout, "call %s.%s: %s %s", name, argv[i], rc == PH_OK ? "result" : "error",
                      s ? s : err.text);
        free(s);
        json_decref(res);
        json_decref(rpc);
        json_decref(params);
        if (params)
            i++;
    }
    return 0;
}

static json_t *audit_of(ph_host *h, const char *name)
{
    json_t *d = ph_host_describe(h), *p, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            found = json_incref(json_object_get(p, "audit"));
    }
    json_decref(d);
    return found ? found : json_object();
}

/* Whether every need in have is allowed by the manifest in path. */
static int within(json_t *have, json_t *ungrantable, const char *path)
{
    json_error_t je;
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!m) {
        ph_clog_msg("error", "host", NULL, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        json_decref(m);
        return -1;
    }
    int ok = json_array_size(ungrantable) == 0;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(have, "needs"), key, v)
    {
        if (!json_is_true(json_object_get(json_object_get(m, "needs"), key))) {
            ph_text_print(stdout, "check: needs \"%s\", which %s does not declare", key, path);
            ok = 0;
        }
    }
    if (json_array_size(ungrantable))
        ph_text_print(stdout, "check: uses calls no grant allows, so it cannot run confined");
    json_decref(m);
    return ok;
}

int ph_cli_profile(const struct ph_cli_opts *o, int argc, char **argv)
{
    const char *out = NULL, *check = NULL;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc || (strcmp(argv[i], "--manifest") && strcmp(argv[i], "--check"))) {
            fputs(profile_usage, stderr);
            return PH_EXIT_USAGE;
        }
        if (strcmp(argv[i], "--manifest") == 0)
            out = argv[i + 1];
        else
            check = argv[i + 1];
    }
    if (i >= argc) {
        fputs(profile_usage, stderr);
        return PH_EXIT_USAGE;
    }
    ph_host_options hopt = o->host;
    hopt.audit = 1;
    ph_host *h;
    ph_error err;
    if (ph_host_new(&hopt, &h, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        return PH_EXIT_HOST;
    }
    ph_host_set_event_handler(h, ph_cli_print_event, NULL);
    const char *name = NULL;
    if (ph_host_load_file(h, argv[i], &name, &err) < 0) {
        ph_clog_msg("error", "host", NULL, "%s", err.text);
        ph_host_free(h);
        return PH_EXIT_NOT_FOUND;
    }
    char *plugin = strdup(name);
    int rc = plugin ? run_calls(h, plugin, argc - i - 1, argv + i + 1) : -1;
    json_t *audit = plugin ? audit_of(h, plugin) : NULL;
    ph_host_free(h);
    if (rc < 0 || !audit) {
        free(plugin);
        json_decref(audit);
        return rc < 0 ? PH_EXIT_USAGE : PH_EXIT_HOST;
    }
    ph_text_print(stdout, "calls the sandbox would refuse (%zu):", json_object_size(audit));
    const char *key;
    json_t *v;
    json_object_foreach(audit, key, v)
    {
        const char *fn = json_string_value(json_object_get(v, "function"));
        const char *path = json_string_value(json_object_get(v, "path"));
        const char *g = grant_for(key);
        int refused = json_is_true(json_object_get(v, "refused_in_profile"));
        ph_text_print(stdout, "  %-24s x%-5lld %s%s%s%s%s%s%s", key,
                      (long long)json_integer_value(json_object_get(v, "count")),
                      g ? "grant: " : "no grant allows it", g ? g : "", fn ? ", from " : "",
                      fn ? fn : "", path ? ", path " : "", path ? path : "",
                      refused ? ", refused (failed with an errno) even in profile" : "");
    }
    json_t *ungrantable;
    json_t *manifest = manifest_from(audit, &ungrantable);
    char *ms = ph_text_json(manifest, JSON_COMPACT);
    ph_text_print(stdout, "manifest: %s", ms ? ms : "{}");
    int exit_code = PH_EXIT_OK;
    if (out && json_dump_file(manifest, out, JSON_INDENT(2)) < 0) {
        ph_clog_msg("error", "host", NULL, "cannot write %s", out);
        exit_code = PH_EXIT_HOST;
    }
    if (check) {
        int ok = within(manifest, ungrantable, check);
        if (ok < 0)
            exit_code = PH_EXIT_USAGE;
        else if (!ok)
            exit_code = PH_EXIT_VIOLATION;
        else
            ph_text_print(stdout, "check: within %s", check);
    }
    free(ms);
    free(plugin);
    json_decref(manifest);
    json_decref(ungrantable);
    json_decref(audit);
    return exit_code;
}
