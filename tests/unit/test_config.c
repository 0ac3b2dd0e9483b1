/*
 * test_config: the operator's configuration and plugin manifests through the
 * public API: errors name file, line, column and key; a need beyond the
 * grants is a load error; a granted need works inside the sandbox; a pin
 * that does not match refuses the file and one that matches loads it;
 * "require" refuses a host under weaker confinement than demanded.
 */
#include "check.h"

#include <plughost/host.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static json_t *load_config(const char *name, const char *text, ph_error *err)
{
    char path[256];
    json_t *c = NULL;
    write_file(name, text);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ph_config_load(path, &c, err) != PH_OK)
        return NULL;
    return c;
}

/* Loads threader.so under config and calls spawn; returns the load status. */
static int try_threader(json_t *config, const char *so, json_t **result, ph_error *err)
{
    ph_host_options o = {.config = config};
    ph_host *h;
    *result = NULL;
    int rc = ph_host_new(&o, &h, err);
    if (rc != PH_OK)
        return rc;
    char path[256];
    snprintf(path, sizeof path, "%s/threader.so", dir);
    (void)so;
    rc = ph_host_load_file(h, path, NULL, err);
    if (rc == PH_OK) {
        json_t *rpc = NULL;
        if (ph_host_call(h, "threader", "spawn", NULL, result, &rpc, err) != PH_OK)
            *result = rpc;
    }
    ph_host_free(h);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_config THREADER_SO\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/ph-config-XXXXXX");
    if (!mkdtemp(dir))
        return 2;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' %s/threader.so", argv[1], dir);
    if (system(cmd) != 0)
        return 2;
    ph_error err;
    json_t *c, *res;

    /* Errors say where. */
    c = load_config("syntax.json", "{\n  \"plugins\": {\n    \"x\": 1,}}", &err);
    CHECKF(!c && strstr(err.text, "syntax.json:3:"), "syntax error with line: %s", err.text);
    c = load_config("key.json", "{\"plugins\": {\"a.so\": {\"grant\": []}}}", &err);
    CHECKF(!c && strstr(err.text, "plugins.a.so.grant") && strstr(err.text, ":1:"),
           "unknown key named with its path: %s", err.text);
    c = load_config("num.json", "{\"defaults\": {\"call_timeout_ms\": -5}}", &err);
    CHECKF(!c && strstr(err.text, "positive integer"), "range checked: %s", err.text);
    c = load_config("grant.json", "{\"plugins\": {\"a.so\": {\"grants\": [\"root\"]}}}", &err);
    CHECKF(!c && strstr(err.text, "unknown grant"), "unknown grant refused: %s", err.text);

    /* The serve section: users and groups by name (resolved here and now)
     * or number, an octal mode in a string, a bounded client count. */
    c = load_config("serve.json",
                    "{\"serve\": {\"allow_users\": [\"root\", 1000], \"allow_groups\": [\"root\", "
                    "0], \"socket_mode\": \"0660\", \"max_clients\": 8}}",
                    &err);
    CHECKF(c != NULL, "a valid serve section: %s", err.text);
    json_decref(c);
    c = load_config(
        "serve_user.json",
        "{\n  \"serve\": {\n    \"allow_users\": [\"root\", \"no-such-user-xyz\"]\n  }\n}", &err);
    CHECKF(!c && strstr(err.text, "serve_user.json:3:") &&
               strstr(err.text, "serve.allow_users.no-such-user-xyz: no such user here"),
           "an unknown user is named with file:line:column: %s", err.text);
    c = load_config("serve_mode.json", "{\"serve\": {\"socket_mode\": \"0999\"}}", &err);
    CHECKF(!c && strstr(err.text, "serve.socket_mode"), "a bad mode: %s", err.text);
    c = load_config("serve_mode2.json", "{\"serve\": {\"socket_mode\": 432}}", &err);
    CHECKF(!c && strstr(err.text, "octal mode in a string"), "a mode as a number: %s", err.text);
    c = load_config("serve_max.json", "{\"serve\": {\"max_clients\": 0}}", &err);
    CHECKF(!c && strstr(err.text, "serve.max_clients"), "max_clients 0: %s", err.text);
    c = load_config("serve_key.json", "{\"serve\": {\"allow_user\": []}}", &err);
    CHECKF(!c && strstr(err.text, "serve.allow_user: unknown key"), "unknown key: %s", err.text);
    c = load_config("serve_uid.json", "{\"serve\": {\"allow_users\": [-1]}}", &err);
    CHECKF(!c && strstr(err.text, "uid out of range"), "negative uid: %s", err.text);

    /* A manifest need beyond the grants is a load error... */
    write_file("threader.manifest.json", "{\"needs\": {\"threads\": true}}");
    c = load_config("none.json", "{\"plugins\": {}}", &err);
    CHECK(c != NULL);
    int rc = try_threader(c, argv[1], &res, &err);
    CHECKF(rc != PH_OK && strstr(err.text, "threads"), "ungranted need refused: %s", err.text);
    json_decref(res);
    json_decref(c);

    /* ...and a granted one works inside the sandbox. */
    c = load_config("threads.json", "{\"plugins\": {\"threader.so\": {\"grants\": [\"threads\"]}}}",
                    &err);
    rc = try_threader(c, argv[1], &res, &err);
    CHECKF(rc == PH_OK && json_is_string(res) && !strcmp(json_string_value(res), "joined"),
           "granted threads work: %d %s", rc, err.text);
    json_decref(res);
    json_decref(c);

    /* Without the need in the manifest, the grant is not used: least
     * privilege, so the thread is a violation naming the grant. */
    write_file("threader.manifest.json", "{\"needs\": {}}");
    c = load_config("threads2.json",
                    "{\"plugins\": {\"threader.so\": {\"grants\": [\"threads\"]}}}", &err);
    rc = try_threader(c, argv[1], &res, &err);
    json_t *data = json_object_get(res, "data");
    CHECKF(rc == PH_OK && json_is_object(res) && json_is_string(json_object_get(data, "status")) &&
               !strcmp(json_string_value(json_object_get(data, "status")), "violation") &&
               json_is_string(json_object_get(data, "allowed_by_grant")) &&
               !strcmp(json_string_value(json_object_get(data, "allowed_by_grant")), "threads"),
           "unneeded grant not given; the report names it");
    json_decref(res);
    json_decref(c);

    /* A need above a granted limit is refused. */
    write_file("threader.manifest.json", "{\"needs\": {\"memory_limit\": 999999999999}}");
    c = load_config("mem.json", "{\"plugins\": {\"threader.so\": {\"memory_limit\": 100000000}}}",
                    &err);
    rc = try_threader(c, argv[1], &res, &err);
    CHECKF(rc != PH_OK && strstr(err.text, "memory_limit"), "need above grant: %s", err.text);
    json_decref(res);
    json_decref(c);
    snprintf(cmd, sizeof cmd, "rm -f %s/threader.manifest.json", dir);
    CHECK(system(cmd) == 0);

    /* Pins. */
    c = load_config("pin.json",
                    "{\"plugins\": {\"threader.so\": {\"sha256\": "
                    "\"0000000000000000000000000000000000000000000000000000000000000000\"}}}",
                    &err);
    rc = try_threader(c, argv[1], &res, &err);
    CHECKF(rc != PH_OK && strstr(err.text, "pinned sha256"), "wrong pin refused: %s", err.text);
    json_decref(res);
    json_decref(c);
    char hash[65] = "";
    snprintf(cmd, sizeof cmd, "sha256sum %s/threader.so", dir);
    FILE *p = popen(cmd, "r");
    if (p) {
        if (fscanf(p, "%64s", hash) != 1)
            hash[0] = '\0';
        pclose(p);
    }
    char text[300];
    snprintf(text, sizeof text,
             "{\"plugins\": {\"threader.so\": {\"sha256\": \"%s\", \"grants\": [\"threads\"]}}}",
             hash);
    write_file("threader.manifest.json", "{\"needs\": {\"threads\": true}}");
    c = load_config("pin2.json", text, &err);
    rc = try_threader(c, argv[1], &res, &err);
    CHECKF(rc == PH_OK && json_is_string(res), "matching pin loads: %s", err.text);
    json_decref(res);
    json_decref(c);

    /* "require" names layers this machine has (doctor shows them). */
    c = load_config("req.json", "{\"require\": [\"seccomp\", \"landlock\"]}", &err);
    ph_host_options o = {.config = c};
    ph_host *h = NULL;
    CHECKF(ph_host_new(&o, &h, &err) == PH_OK, "required layers present: %s", err.text);
    ph_host_free(h);
    json_decref(c);

    /* "cgroup" is a layer name; a misspelt one is placed like any error. */
    c = load_config("req2.json", "{\"require\": [\"seccomp\",\n  \"cgroups\"]}", &err);
    CHECKF(!c && strstr(err.text, "req2.json:1:2: require: unknown layer") &&
               strstr(err.text, "cgroup)"),
           "misspelt layer: %s", err.text);
    json_decref(c);
    c = load_config("req3.json", "{\"require\": [\"cgroup\"]}", &err);
    CHECKF(c != NULL, "require cgroup parses: %s", err.text);
    json_decref(c);
    /* address_space_limit: a size, per plugin or default. */
    c = load_config("as.json",
                    "{\"defaults\": {\"address_space_limit\": 2147483648},\n"
                    " \"plugins\": {\"x.so\": {\"address_space_limit\": 0}}}",
                    &err);
    CHECKF(!c && strstr(err.text, "as.json:2:") &&
               strstr(err.text, "plugins.x.so.address_space_limit: must be a positive integer"),
           "address_space_limit range: %s", err.text);
    json_decref(c);

    /* A plugins entry is a plugin file's name: one that could never match
     * a plugin (no .so, or a path) is refused, not ignored. */
    c = load_config("noso.json", "{\"plugins\": {\"textstats\": {\"instances\": 2}}}", &err);
    CHECKF(!c && strstr(err.text, "plugins.textstats: must be a plugin file name"),
           "plugins key without .so: %s", err.text);
    json_decref(c);
    c = load_config("path.json", "{\"plugins\": {\"a/x.so\": {}}}", &err);
    CHECKF(!c && strstr(err.text, "must be a plugin file name"), "plugins key with a path: %s",
           err.text);
    json_decref(c);

    /* Lazy activation: its two keys, checked; lazy without a cache refused
     * at ph_host_new, lazy with a private one accepted, a cache others
     * may write refused. */
    c = load_config("act.json", "{\"activation\": \"sometimes\"}", &err);
    CHECKF(!c && strstr(err.text, "activation: must be \"eager\" or \"lazy\""), "activation: %s",
           err.text);
    c = load_config("hc.json", "{\"hello_cache\": \"relative/dir\"}", &err);
    CHECKF(!c && strstr(err.text, "hello_cache: must be an absolute directory path"),
           "hello_cache: %s", err.text);
    c = load_config("lazy.json", "{\"activation\": \"lazy\"}", &err);
    CHECKF(c && ph_host_new(&(ph_host_options){.config = c}, &h, &err) != PH_OK &&
               strstr(err.text, "lazy activation needs a hello cache"),
           "lazy without a cache: %s", err.text);
    json_decref(c);
    char cache[300], ctext[400];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    CHECK(mkdir(cache, 0700) == 0);
    snprintf(ctext, sizeof ctext, "{\"activation\": \"lazy\", \"hello_cache\": \"%s\"}", cache);
    c = load_config("lazy2.json", ctext, &err);
    CHECKF(c && ph_host_new(&(ph_host_options){.config = c}, &h, &err) == PH_OK,
           "lazy with a private cache: %s", err.text);
    ph_host_free(h);
    CHECK(chmod(cache, 0770) == 0);
    CHECKF(c && ph_host_new(&(ph_host_options){.config = c}, &h, &err) != PH_OK &&
               strstr(err.text, "not writable by group or others"),
           "a group-writable cache: %s", err.text);
    json_decref(c);

    /* The start-up self-test passes on a machine whose sandbox works. */
    c = load_config("selftest.json", "{\"self_test\": true}", &err);
    CHECKF(ph_host_new(&(ph_host_options){.config = c}, &h, &err) == PH_OK, "self-test: %s",
           err.text);
    ph_host_free(h);
    json_decref(c);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return ph_t_summary("test_config");
}
