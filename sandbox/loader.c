/*
 * plughost-loader: the trusted program the host execs in each plugin child.
 * It confines itself (limits, Landlock, seccomp), hands the seccomp listener
 * to the host, and only then maps the plugin file, so no code from the plugin
 * (not even an ELF constructor) ever runs unconfined. Then it serves the
 * plugin's methods over the channel (sdk/runtime.c).
 *
 * Exec'ing it gives each plugin a fresh address space: nothing of the host's
 * heap, stack, environment or other plugins survives into the child.
 *
 * It must never trust the plugin file: it is opened only under the sandbox.
 *
 * Usage: plughost-loader PLUGIN_PATH MEMORY_BYTES CPU_SECONDS NAMESPACES GRANTS SHA256
 * RUN_AS with the channel socket on fd 3 and nothing else open. RUN_AS is
 * "UID:GID" for a loader started as root outside a user namespace, which
 * must become that user before any plugin code runs, else "-". NAMESPACES is the
 * comma-separated list the host created for this child ("none" if none);
 * GRANTS is "threads", "profile" (audit mode) or "none"; SHA256 is the operator's pin or "-".
 * PLUGIN_PATH is /proc/self/fd/N when the host opened (and checked) the file for us: that
 * descriptor is closed as soon as the file is mapped or bound into the new root.
 */
#include "landlock.h"
#include "limits.h"
#include "namespaces.h"
#include "plugin_file.h"
#include "probe.h"
#include "runtime.h"
#include "seccomp_filter.h"
#include "sha256.h"
#include "wire.h"

#include <dlfcn.h>
#include <linux/filter.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PH_SB_EXIT_SETUP 125

static int fail(const char *stage, const char *msg)
{
    ph_rt_report_setup_failure(PH_WIRE_CHANNEL_FD, stage, msg);
    return PH_SB_EXIT_SETUP;
}

static int parse_ull(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno || end == s || *end) ? -1 : 0;
}

/* CLOCK_MONOTONIC, the host's clock too: it reports where a start's time
 * goes (host/supervisor.c ph_plug_spawn_stages). */
static json_int_t stamp(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_int_t startup[4]; /* main, filter built, root made, confined */

/* Sends the listener with a message saying which layers are in force. */
static int send_listener(int listener, int landlock_abi, const char *ns, int pivoted,
                         const struct ph_sb_limits *lim, const char *filter_hash,
                         json_t *plugin /* stolen */)
{
    json_t *params = json_pack(
        "{s:{s:s,s:i,s:b,s:b,s:s,s:s,s:s,s:{s:I,s:I,s:i,s:I,s:i,s:i},s:b,s:s}}", "layers",
        "seccomp", "notify", "landlock_abi", landlock_abi, "no_new_privs", 1, "environment_empty",
        1, "namespaces", ns, "root", pivoted ? "libraries only" : "host", "capabilities", "none",
        "rlimits", "as", (json_int_t)lim->memory, "cpu_s", (json_int_t)lim->cpu_s, "core", 0,
        "fsize", (json_int_t)lim->memory, "nofile", 64, "nproc", lim->nproc_room ? -1 : 0, "setsid",
        1, "umask", "077");
    json_t *layers = json_object_get(params, "layers");
    json_object_set_new(layers, "seccomp_filter_sha256", json_string(filter_hash));
    json_object_set_new(layers, "grants",
                        lim->threads ? json_pack("[s]", "threads") : json_array());
    startup[3] = stamp();
    json_object_set_new(params, "startup_ns",
                        json_pack("[I,I,I,I]", startup[0], startup[1], startup[2], startup[3]));
    /* The file the dynamic linker will map as the plugin: the host lets
     * executable memory come from it (host/load_window.c). Sent before any
     * plugin code runs, so the host can believe it. */
    json_object_set_new(params, "plugin", plugin ? plugin : json_null());
    json_t *msg = ph_wire_request(NULL, "ph.sandbox", params);
    json_decref(params);
    size_t len;
    char *s = msg ? ph_wire_encode(msg, &len) : NULL;
    json_decref(msg);
    int rc = -1;
    /* The kernel bounds descriptors in flight per user by the sender's
     * RLIMIT_NOFILE (64 here): when many plugins start at once, the host may
     * not have received the others' listeners yet. Wait for it, briefly. */
    for (int tries = 0; s && tries < 5000; tries++) {
        rc = ph_wire_send(PH_WIRE_CHANNEL_FD, s, len, listener);
        if (rc == 0 || errno != ETOOMANYREFS)
            break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    free(s);
    return rc;
}

int main(int argc, char **argv)
{
    startup[0] = stamp();
    char err[512];
    struct stat st;
    if (fstat(PH_WIRE_CHANNEL_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
        return PH_SB_EXIT_SETUP; /* no channel: nobody to tell */
    if (argc != 8)
        return fail("arguments", "usage: plughost-loader PLUGIN MEMORY_BYTES CPU_SECONDS "
                                 "NAMESPACES GRANTS SHA256 RUN_AS");
    long run_uid = -1, run_gid = -1;
    if (strcmp(argv[7], "-") != 0 &&
        (sscanf(argv[7], "%ld:%ld", &run_uid, &run_gid) != 2 || run_uid <= 0 || run_gid <= 0 ||
         run_uid > 0x7fffffff || run_gid > 0x7fffffff))
        return fail("arguments", "RUN_AS must be UID:GID, neither 0, or -");
    const char *path = argv[1];
    int probe = strcmp(path, "--probe") == 0;
    const char *ns = argv[4];
    int threads = strcmp(argv[5], "threads") == 0;
    /* `plughost profile`: no thread rules in the filter (so the host sees
     * and records each clone), but room for the threads it then allows. */
    int profile = strcmp(argv[5], "profile") == 0;
    const char *pin = argv[6];
    char memfd_path[64];
    int plugin_fd = -1;
    if (strncmp(argv[1], "/proc/self/fd/", 14) == 0)
        plugin_fd = atoi(argv[1] + 14);
    if (!probe && plugin_fd <= PH_WIRE_CHANNEL_FD)
        return fail("arguments", "the plugin must come as a descriptor from the host");
    struct ph_sb_limits lim;
    lim.threads = threads;
    lim.nproc_room = threads || profile;
    if (parse_ull(argv[2], &lim.memory) < 0 || parse_ull(argv[3], &lim.cpu_s) < 0)
        return fail("arguments", "memory and CPU limits must be decimal numbers");

    /* jansson seeds its hash from /dev/urandom on first use: do it now, while
     * opening a file is still possible, rather than inside the sandbox. */
    json_object_seed(0);

    struct sock_fprog prog;
    if (ph_sb_seccomp_compile(getpid(), threads, &prog, err, sizeof err) < 0)
        return fail("seccomp", err);
    /* Identifies the exact filter in force, for the layer record. */
    char filter_hash[65];
    struct ph_sha256 fh;
    ph_sha256_init(&fh);
    ph_sha256_update(&fh, prog.filter, prog.len * sizeof *prog.filter);
    ph_sha256_hex(&fh, filter_hash);
    startup[1] = stamp();
    int pivoted = 0;
    if (strstr(ns, "mnt")) {
        if (ph_sb_ns_pivot(plugin_fd, pin, err, sizeof err) < 0)
            return fail("namespaces", err);
        path = probe ? path : PH_SB_PLUGIN_IN_ROOT;
        pivoted = 1;
    } else if (!probe) {
        /* No private root: load a sealed copy instead of the file itself. */
        int m = ph_sb_copy_to_memfd(plugin_fd, pin, err, sizeof err);
        if (m < 0)
            return fail("plugin file", err);
        snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", m);
        path = memfd_path;
    }
    startup[2] = stamp();
    if (plugin_fd >= 0)
        close(plugin_fd);
    json_t *plugin_id = NULL;
    if (!probe) {
        struct stat pst;
        if (stat(path, &pst) < 0) {
            snprintf(err, sizeof err, "stat %s: %s", path, strerror(errno));
            return fail("plugin file", err);
        }
        plugin_id = json_pack("{s:s,s:I,s:I}", "path", path, "dev", (json_int_t)pst.st_dev, "ino",
                              (json_int_t)pst.st_ino);
    }
    if (ph_sb_drop_caps(run_uid, run_gid, err, sizeof err) < 0) {
        json_decref(plugin_id);
        return fail("capabilities", err);
    }
    if (ph_sb_limits_apply(&lim, err, sizeof err) < 0)
        return fail("limits", err);
    int abi = ph_sb_landlock_apply(path, err, sizeof err);
    if (abi < 0)
        return fail("landlock", err);
    if (probe)
        ph_sb_probe_observe();
    int listener = ph_sb_seccomp_install(&prog, err, sizeof err);
    if (listener < 0)
        return fail("seccomp", err);
    if (send_listener(listener, abi, ns, pivoted, &lim, filter_hash, plugin_id) < 0)
        return fail("seccomp", "cannot hand the listener to the host");
    close(listener);

    /* From here on every syscall is checked; the dynamic linker's opens and
     * executable mappings are allowed by the host only until the handshake. */
    void *handle = probe ? NULL : dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!probe && !handle)
        return fail("dlopen", dlerror());

    const ph_plugin *plugin = probe ? &ph_sb_probe_plugin : dlsym(handle, PH_PLUGIN_SYMBOL);
    if (!plugin) {
        snprintf(err, sizeof err, "%s does not export %s (declare it with PH_PLUGIN())", path,
                 PH_PLUGIN_SYMBOL);
        return fail("symbol", err);
    }
    if (ph_rt_loaded(PH_WIRE_CHANNEL_FD, err, sizeof err) < 0)
        return fail("loaded", err);
    if (ph_rt_check_plugin(plugin, err, sizeof err) < 0)
        return fail("plugin table", err);
    if (plugin->init) {
        ph_ctx ctx = {.plugin = plugin, .method = "init", .blob_in = -1, .blob_out = -1};
        int rc = plugin->init(&ctx);
        if (rc != 0) {
            const char *m = json_string_value(json_object_get(ctx.error, "message"));
            snprintf(err, sizeof err, "init failed: %s", m ? m : "no reason given");
            json_decref(ctx.error);
            return fail("init", err);
        }
        json_decref(ctx.error);
    }
    if (ph_rt_run(PH_WIRE_CHANNEL_FD, plugin, err, sizeof err) < 0)
        return fail("runtime", err);
    return 0;
}
