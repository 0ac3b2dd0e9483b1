/*
 * doctor: says which confinement layers this machine gives plugins, and
 * proves the ones that matter by behaviour: it starts the loader's built-in
 * probe plugin and has it make forbidden calls, each of which must come back
 * as a violation naming that call. Used by `plughost doctor` and by hosts
 * that refuse to run plugins under weaker confinement than they demand.
 *
 * It must never report a layer as active from configuration alone: only
 * what the kernel answered or the probe showed counts.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void layer(json_t *layers, const char *name, int active, const char *detail)
{
    json_array_append_new(
        layers, json_pack("{s:s,s:b,s:s}", "layer", name, "active", active, "detail", detail));
}

static int read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return 0;
}

static void kernel_layers(struct ph_host *h, json_t *layers)
{
    char buf[512];
    int notif = read_small("/proc/sys/kernel/seccomp/actions_avail", buf, sizeof buf) == 0 &&
                strstr(buf, "user_notif") != NULL;
    layer(layers, "seccomp", notif,
          notif ? "allow-list, default action user notification, i386/x32 refused"
                : "the kernel lacks seccomp user notification");
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL /* VERSION */);
    char detail[160];
    if (abi < 0)
        snprintf(detail, sizeof detail, "not available: %s", strerror(errno));
    else
        snprintf(detail, sizeof detail, "ABI %ld: filesystem%s%s", abi,
                 abi >= 4 ? ", TCP bind/connect" : "",
                 abi >= 6 ? ", signal and abstract-socket scoping" : "");
    layer(layers, "landlock", abi > 0, detail);
    static const char *const ns[] = {"user", "pid", "net", "ipc", "uts", "mnt", "cgroup"};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "namespace:%s", ns[i]);
        int on = strstr(h->ns_names, ns[i]) != NULL;
        char why[160];
        snprintf(why, sizeof why, "%s", on ? "created for every plugin" : "cannot be created here");
        if (!on && i == 0 && geteuid() == 0)
            snprintf(why, sizeof why,
                     "not used by a root host: plugins run as uid %u gid %u instead",
                     (unsigned)h->run_uid, (unsigned)h->run_gid);
        layer(layers, name, on, why);
    }
    /* The precondition of the loading window (host/load_window.c). */
    int mnt = strstr(h->ns_names, "mnt") != NULL;
    int fs = mnt || abi > 0;
    snprintf(detail, sizeof detail, "%s",
             mnt       ? "private root of libraries only (mount namespace)"
             : abi > 0 ? "Landlock only: no mount namespace here"
             : (h->opt.accept_weaker & PH_WEAKER_NO_FS_CONTAINMENT)
                 ? "NONE: accepted by the operator (no-fs-containment)"
                 : "NONE: plugins are refused (--accept-weaker=no-fs-containment)");
    layer(layers, "fs-containment", fs, detail);
    /* Arranged (or refused) by ph_host_new, from what the kernel allowed;
     * the probe check below shows a plugin really sits in its cgroup. */
    layer(layers, "cgroup", h->cg.version != 0, h->cg.detail);
    layer(layers, "rlimits", 1,
          "address space, CPU, core 0, file size as address space, 64 fds, no processes");
    layer(layers, "hygiene", 1,
          "fresh exec, empty environment, cwd /, umask 077, new session, no capabilities, "
          "no_new_privs, only the channel open");
}

static const struct {
    const char *method;
    const char *syscall;
    const char *arch;
} expect[] = {
    {"try_socket", "socket", "x86_64"}, {"try_open", "openat", "x86_64"},
    {"try_clone", "clone", "x86_64"},   {"try_execve", "execve", "x86_64"},
    {"try_ptrace", "ptrace", "x86_64"}, {"try_mprotect_exec", "mprotect", "x86_64"},
    {"try_kill_all", "kill", "x86_64"}, {"try_int80", "getpid", "x86"},
    {"try_x32", "getpid", "x32"},
};

int ph_host_doctor(const ph_host_options *opts, json_t **report, ph_error *err)
{
    ph_host *h;
    *report = NULL;
    /* The probe is killed on purpose once per check: supervision must not
     * count that as a failing plugin. */
    ph_host_options o = {0};
    if (opts)
        o = *opts;
    o.config = NULL; /* no start-up self-test inside the self-test */
    o.max_failures = 1000;
    o.restart_backoff_ms = 1;
    o.restart_backoff_max_ms = 1;
    int rc = ph_host_make(&o, &h, NULL, err);
    if (rc < 0)
        return rc;
    json_t *layers = json_array(), *checks = json_array();
    kernel_layers(h, layers);
    int ok = 1;
    const char *name = NULL;
    ph_error e;
    if (ph_host_load_file(h, "--probe", &name, &e) < 0) {
        json_array_append_new(
            checks, json_pack("{s:s,s:b,s:s}", "check", "probe starts", "ok", 0, "detail", e.text));
        ok = 0;
    } else {
        json_t *seen = NULL, *error = NULL;
        if (h->cg.version) {
            /* From the host's side, since the probe can neither fork nor see
             * its cgroup: it is in its own cgroup, the limits read back as
             * set, and pids.max (1) leaves room for no other process. */
            struct ph_plug *pp = h->plugs;
            while (pp && !(pp->name && strcmp(pp->name, "probe") == 0))
                pp = pp->next;
            char why[900] = "the probe is not running";
            int good =
                pp && pp->pid > 0 && ph_cg_plug_verify(&pp->cg, pp->pid, why, sizeof why) == 0;
            ok &= good;
            json_array_append_new(
                checks, json_pack("{s:s,s:b,s:s}", "check", "cgroup", "ok", good, "detail", why));
        }
        if (ph_host_call(h, "probe", "observe", NULL, &seen, &error, &e) == 0) {
            json_array_append_new(
                checks, json_pack("{s:s,s:b,s:O}", "check", "observe", "ok", 1, "detail", seen));
            json_decref(seen);
        } else {
            ok = 0;
            json_decref(error);
        }
        for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
            json_t *res = NULL;
            error = NULL;
            ph_host_call(h, "probe", expect[i].method, NULL, &res, &error, &e);
            json_t *data = json_object_get(error, "data");
            const char *status = json_string_value(json_object_get(data, "status"));
            const char *sc = json_string_value(json_object_get(data, "syscall"));
            const char *arch = json_string_value(json_object_get(data, "arch"));
            int good = status && strcmp(status, "violation") == 0 && sc &&
                       strcmp(sc, expect[i].syscall) == 0 && arch &&
                       strcmp(arch, expect[i].arch) == 0;
            ok &= good;
            json_array_append_new(
                checks, json_pack("{s:s,s:b,s:s,s:s,s:s?,s:s?}", "check", expect[i].method, "ok",
                                  good, "expected", expect[i].syscall, "expected_arch",
                                  expect[i].arch, "reported", sc, "status",
                                  status ? status : (res ? "ESCAPED" : "no violation")));
            json_decref(res);
            json_decref(error);
        }
    }
    ph_host_free(h);
    *report = json_pack("{s:o,s:o,s:b}", "layers", layers, "checks", checks, "ok", ok);
    return ok ? PH_OK : ph_set_error(err, PH_E_SYSTEM, "a sandbox check failed");
}
