/*
 * test_cgroup: the cgroup layer through the public API, on this machine's
 * real hierarchies. Run by ctest inside `unshare --pid --fork --mount-proc`
 * (a pid and a mount namespace of its own: hostile plugins stay inside, and
 * the modes that hide or remount /sys/fs/cgroup change nothing outside).
 *
 *   live ECHO HOG THREADER
 *                  a running plugin sits in its own cgroup with the limits
 *                  its layers record claims, read back from the kernel's
 *                  files and /proc/PID/cgroup; the cgroup is removed when the
 *                  plugin ends; memory beyond the cgroup's limit (below
 *                  RLIMIT_AS) is reported as status "limit"; with both at
 *                  the same figure RLIMIT_AS refuses first; with the
 *                  "threads" grant pids.max is 64 and holds; a dead
 *                  host's leftover tree is swept by the next host, a live
 *                  host's tree and its empty children are not; removing
 *                  a cgroup the kernel still counts a task in (EBUSY)
 *                  returns at once and is retried at the next pass.
 *   denied ECHO    every cgroup mount read-only: the layer is skipped and
 *                  says why, plugins still run, and "require": ["cgroup"]
 *                  refuses the host with one message.
 *   v2only ECHO    only a fresh cgroup2 mount on /sys/fs/cgroup: its
 *                  controllers decide; without memory and pids (a machine
 *                  whose controllers are bound to v1) the layer says so,
 *                  with them a plugin sits in a v2 cgroup. Either way,
 *                  clone3 with spawn's flags and CLONE_INTO_CGROUP works.
 */
#include "check.h"
#include "proc_start.h"

#include <plughost/host.h>

/* The layer's internal interface, for the EBUSY case no public call can
 * stage (tests/unit builds against it the same way). */
#include "../../host/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static char tmp[64];

static json_t *config(const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/conf.json", tmp);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    json_t *c = NULL;
    ph_error err;
    if (ph_config_load(path, &c, &err) != PH_OK)
        fprintf(stderr, "config: %s\n", err.text);
    return c;
}

static ph_host *host(const char *conf_text, ph_error *err)
{
    json_t *c = conf_text ? config(conf_text) : NULL;
    ph_host_options o = {.config = c};
    ph_host *h = NULL;
    int rc = ph_host_new(&o, &h, err);
    json_decref(c);
    return rc == PH_OK ? h : NULL;
}

/* The described plugin named name (borrowed from d). */
static json_t *plugin(json_t *d, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(d, "plugins"), i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
            return p;
    }
    return NULL;
}

static long long read_num(const char *dir, const char *file)
{
    char path[1024], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long long v = -1;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    if (strncmp(buf, "max", 3) == 0)
        return -2;
    sscanf(buf, "%lld", &v);
    return v;
}

/* The cgroup of pid in the hierarchy holding controller ("" for v2). */
static int proc_cgroup(int pid, const char *controller, char *out, size_t len)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    FILE *f = fopen(path, "re");
    int found = -1;
    while (f && found < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        int match = *controller ? strstr(c1 + 1, controller) != NULL : c1[1] == '\0';
        if (match) {
            snprintf(out, len, "%s", c2 + 1);
            found = 0;
        }
    }
    if (f)
        fclose(f);
    return found;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return b > 1 && a >= b && strcmp(s + a - b, tail) == 0;
}

/* A running plugin is where its record says, with those limits. Returns
 * its cgroup path (static) or NULL. */
/* What pid sees of its own cgroup in the hierarchy holding controller
 * ("" for v2): /proc/PID/cgroup read from inside pid's cgroup namespace
 * (by a child that joins it), since the file shows paths relative to the
 * reader's namespace. */
static int own_view(int pid, const char *controller, char *out, size_t len)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t c = fork();
    if (c == 0) {
        char ns[64], shown[512] = "";
        snprintf(ns, sizeof ns, "/proc/%d/ns/cgroup", pid);
        int fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWCGROUP) < 0 ||
            proc_cgroup(pid, controller, shown, sizeof shown) < 0)
            _exit(1);
        _exit(write(p[1], shown, strlen(shown)) == (ssize_t)strlen(shown) ? 0 : 1);
    }
    close(p[1]);
    ssize_t n = c > 0 ? read(p[0], out, len - 1) : -1;
    close(p[0]);
    int st = 0;
    if (c > 0)
        waitpid(c, &st, 0);
    if (n < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    out[n] = '\0';
    return 0;
}

static const char *check_placed(ph_host *h, const char *name, long long mem, long long pids)
{
    static char where[1024];
    json_t *d = ph_host_describe(h);
    json_t *p = plugin(d, name);
    json_t *cg = json_object_get(json_object_get(p, "layers"), "cgroup");
    int pid = (int)json_integer_value(json_object_get(p, "pid"));
    const char *path = json_string_value(json_object_get(cg, "path"));
    int version = (int)json_integer_value(json_object_get(cg, "version"));
    CHECKF(json_is_true(json_object_get(cg, "active")) && path && pid > 0, "%s: cgroup record %s",
           name, json_dumps(cg, JSON_COMPACT));
    where[0] = '\0';
    if (!path || pid <= 0) {
        json_decref(d);
        return NULL;
    }
    snprintf(where, sizeof where, "%s", path);
    CHECK(json_integer_value(json_object_get(cg, "memory_max")) == mem);
    CHECK(json_integer_value(json_object_get(cg, "pids_max")) == pids);
    char shown[512];
    if (version == 2) {
        CHECK(proc_cgroup(pid, "", shown, sizeof shown) == 0 && ends_with(path, shown));
        CHECK(read_num(path, "memory.max") == mem);
        CHECK(read_num(path, "memory.swap.max") == 0);
        CHECK(read_num(path, "pids.max") == pids);
    } else {
        const char *ppath = json_string_value(json_object_get(cg, "pids_path"));
        CHECKF(proc_cgroup(pid, "memory", shown, sizeof shown) == 0 && ends_with(path, shown),
               "/proc/%d/cgroup memory %s, record %s", pid, shown, path);
        CHECKF(ppath && proc_cgroup(pid, "pids", shown, sizeof shown) == 0 &&
                   ends_with(ppath, shown),
               "/proc/%d/cgroup pids %s, record %s", pid, shown, ppath ? ppath : "-");
        CHECK(read_num(path, "memory.limit_in_bytes") == mem);
        CHECK(ppath && read_num(ppath, "pids.max") == pids);
        CHECK(ppath && read_num(ppath, "pids.current") == 1);
    }
    /* The plugin's cgroup namespace is rooted at its own cgroup: it sees
     * "/", nothing of the host's tree above it. */
    const char *const ctl[] = {"", "memory", "pids"};
    for (int i = version == 2 ? 0 : 1; i < (version == 2 ? 1 : 3); i++) {
        char own[512] = "?";
        CHECKF(own_view(pid, ctl[i], own, sizeof own) == 0 && strcmp(own, "/") == 0,
               "%s sees its %s cgroup as %s", name, *ctl[i] ? ctl[i] : "v2", own);
    }
    json_decref(d);
    return where;
}

static int gone(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 && errno == ENOENT;
}

/* What a host killed on the spot leaves: an empty tree under parent. */
static void leftover(const char *parent, const char *name)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/%s", parent, name);
    CHECKF(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
    snprintf(dir, sizeof dir, "%s/%s/echo.0", parent, name);
    CHECK(mkdir(dir, 0755) == 0);
}

static void live(const char *echo, const char *hog)
{
    ph_error err;
    /* doctor: the layer active, and its probe really in its cgroup. */
    json_t *report = NULL;
    CHECKF(ph_host_doctor(NULL, &report, &err) == PH_OK, "doctor: %s", err.text);
    size_t i;
    json_t *l;
    int active = 0, checked = 0;
    json_array_foreach(json_object_get(report, "layers"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "layer")), "cgroup") == 0)
            active = json_is_true(json_object_get(l, "active"));
    }
    json_array_foreach(json_object_get(report, "checks"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "check")), "cgroup") == 0)
            checked = json_is_true(json_object_get(l, "ok")) &&
                      strstr(json_string_value(json_object_get(l, "detail")), "pids.max 1");
    }
    CHECKF(active && checked, "doctor: cgroup active and checked: %s",
           report ? json_dumps(report, JSON_COMPACT) : "no report");
    json_decref(report);

    ph_host *h = host(NULL, &err);
    CHECKF(h, "host: %s", h ? "" : err.text);
    if (!h)
        return;
    CHECKF(ph_host_load_file(h, echo, NULL, &err) == PH_OK, "load echo: %s", err.text);
    char echo_cg[1024] = "";
    const char *w = check_placed(h, "echo", 1LL << 30, 1);
    if (w)
        snprintf(echo_cg, sizeof echo_cg, "%s", w);
    ph_host_free(h);
    CHECKF(echo_cg[0] && gone(echo_cg), "%s removed after the host stopped the plugin", echo_cg);

    /* A dead host's tree (its pid free in our pid namespace) is removed
     * by the next host; a live host's (this process, another sequence
     * number), empty plugin cgroup included, stays whatever its age. */
    char parent[1024], dead_name[128], live_name[128];
    snprintf(parent, sizeof parent, "%s", echo_cg);
    for (int up = 0; up < 2 && strrchr(parent, '/'); up++)
        *strrchr(parent, '/') = '\0';
    int sibling = strstr(echo_cg, "/plughost.") != NULL;
    struct stat nst;
    unsigned long ns = stat("/proc/self/ns/pid", &nst) == 0 ? (unsigned long)nst.st_ino : 0;
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(dead_name, sizeof dead_name, "plughost.%lu-%d-5.0", ns, (int)dead);
    snprintf(live_name, sizeof live_name, "plughost.%lu-%d-%llu.999", ns, (int)getpid(),
             ph_t_start_time(getpid()));
    if (sibling) {
        leftover(parent, dead_name);
        leftover(parent, live_name);
    }

    /* The cgroup is the tighter bound: 64 MiB resident, 1 GiB address
     * space. Touching 256 MiB is an out-of-memory kill in the cgroup. */
    h = host("{\"defaults\": {\"memory_limit\": 67108864, \"address_space_limit\": 1073741824}}",
             &err);
    CHECKF(h, "host: %s", h ? "" : err.text);
    if (sibling) {
        char d[1200];
        snprintf(d, sizeof d, "%s/%s", parent, dead_name);
        CHECKF(gone(d), "dead host's %s swept", d);
        snprintf(d, sizeof d, "%s/%s/echo.0", parent, live_name);
        CHECKF(!gone(d) && rmdir(d) == 0, "live host's %s kept", d);
        snprintf(d, sizeof d, "%s/%s", parent, live_name);
        CHECK(rmdir(d) == 0);
    }
    if (!h)
        return;
    CHECKF(ph_host_load_file(h, hog, NULL, &err) == PH_OK, "load hog: %s", err.text);
    char hog_cg[1024] = "";
    w = check_placed(h, "hog", 64LL << 20, 1);
    if (w)
        snprintf(hog_cg, sizeof hog_cg, "%s", w);
    json_t *params = json_pack("{s:i}", "mb", 256), *res = NULL, *rpc = NULL;
    int rc = ph_host_call(h, "hog", "alloc", params, &res, &rpc, &err);
    json_t *data = json_object_get(rpc, "data");
    const char *status = json_string_value(json_object_get(data, "status"));
    const char *limit = json_string_value(json_object_get(data, "limit"));
    const char *by = json_string_value(json_object_get(data, "enforced_by"));
    CHECKF(rc == PH_E_PLUGIN && status && strcmp(status, "limit") == 0 && limit &&
               strcmp(limit, "memory_limit") == 0 && by && strncmp(by, "cgroup v", 8) == 0 &&
               json_integer_value(json_object_get(data, "limit_value")) == 64LL << 20,
           "256 MiB in a 64 MiB cgroup: %s", rpc ? json_dumps(rpc, JSON_COMPACT) : "no error");
    CHECKF(hog_cg[0] && gone(hog_cg), "%s removed after the kill", hog_cg);
    json_decref(res);
    json_decref(rpc);
    res = rpc = NULL;
    /* Restarted in a new cgroup, and usable within its limit. */
    CHECK(ph_host_call(h, "hog", "ok", NULL, &res, &rpc, &err) == PH_OK);
    w = check_placed(h, "hog", 64LL << 20, 1);
    CHECK(w && strcmp(w, hog_cg) != 0);
    json_decref(res);
    json_decref(rpc);
    ph_host_free(h);

    /* Same figure for both: the address space runs out first, so malloc
     * fails inside the plugin and the plugin lives on. */
    h = host("{\"defaults\": {\"memory_limit\": 67108864}}", &err);
    CHECKF(h, "host: %s", h ? "" : err.text);
    if (!h) {
        json_decref(params);
        return;
    }
    res = rpc = NULL;
    rc = ph_host_load_file(h, hog, NULL, &err);
    rc = rc == PH_OK ? ph_host_call(h, "hog", "alloc", params, &res, &rpc, &err) : rc;
    data = json_object_get(rpc, "data");
    CHECKF(rc == PH_E_PLUGIN && json_object_get(data, "status") == NULL &&
               strstr(json_string_value(json_object_get(rpc, "message")), "malloc failed"),
           "RLIMIT_AS first: %s", rpc ? json_dumps(rpc, JSON_COMPACT) : err.text);
    json_decref(res);
    json_decref(rpc);
    json_decref(params);
    ph_host_free(h);
}

/* The "threads" grant: pids.max 64, and the kernel holds the plugin to it
 * (63 threads beside the main one), which RLIMIT_NPROC does not do for a
 * granted plugin. */
static long long now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* ph_cg_plug_remove runs in the host's loop: on a cgroup that still holds
 * a task it must not wait, and the cgroup must go at a later pass. */
static void deferred(void)
{
    struct ph_cg_host cg;
    ph_cg_host_setup(&cg, 0);
    CHECKF(cg.version, "layer active: %s", cg.detail);
    if (!cg.version)
        return;
    struct ph_cg_plug c, c2;
    memset(&c, 0, sizeof c);
    memset(&c2, 0, sizeof c2);
    char why[512], path[PH_CG_PATH], procs[PH_CG_PATH + 16];
    CHECKF(ph_cg_plug_create(&cg, &c, "/x/busy.so", 64 << 20, 4, why, sizeof why) == 0, "%s", why);
    snprintf(path, sizeof path, "%s", c.path);
    snprintf(procs, sizeof procs, "%s/cgroup.procs", c.path);
    int sync[2];
    CHECK(pipe(sync) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(procs, O_WRONLY);
        int ok = c.version == 1 ? ph_cg_plug_join(&c, 0) == 0 : fd >= 0 && write(fd, "0", 1) == 1;
        if (write(sync[1], ok ? "y" : "n", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char b = 0;
    CHECK(pid > 0 && read(sync[0], &b, 1) == 1 && b == 'y');
    long long t0 = now_us();
    ph_cg_plug_remove(&cg, &c);
    long long took = now_us() - t0;
    CHECKF(took < 20000, "remove of a busy cgroup returned after %lld us", took);
    CHECKF(!gone(path) && cg.npending >= 1, "%s kept for later (%zu pending)", path, cg.npending);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(sync[0]);
    close(sync[1]);
    /* The next plugin's start retries it; the kernel may take a moment to
     * let go after the reap. */
    for (int i = 0; i < 200 && !gone(path); i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        if (ph_cg_plug_create(&cg, &c2, "/x/next.so", 64 << 20, 4, why, sizeof why) == 0)
            ph_cg_plug_remove(&cg, &c2);
        json_decref(c2.layer);
        c2.layer = NULL;
    }
    CHECKF(gone(path) && cg.npending == 0, "%s removed at a later pass", path);
    char base[PH_CG_PATH];
    snprintf(base, sizeof base, "%s", cg.base);
    ph_cg_host_free(&cg);
    CHECKF(gone(base), "%s removed with the host", base);
    json_decref(c.layer);
}

static void threads(const char *threader)
{
    char path[256], cmd[600];
    snprintf(path, sizeof path, "%s/threader.so", tmp);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", threader, path);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/threader.manifest.json", tmp);
    FILE *f = fopen(cmd, "w");
    if (f) {
        fputs("{\"needs\": {\"threads\": true}}", f);
        fclose(f);
    }
    ph_error err;
    ph_host *h = host("{\"plugins\": {\"threader.so\": {\"grants\": [\"threads\"]}}}", &err);
    CHECKF(h, "host: %s", h ? "" : err.text);
    if (!h)
        return;
    CHECKF(ph_host_load_file(h, path, NULL, &err) == PH_OK, "load threader: %s", err.text);
    check_placed(h, "threader", 1LL << 30, 64);
    json_t *params = json_pack("{s:i}", "n", 100), *res = NULL, *rpc = NULL;
    CHECK(ph_host_call(h, "threader", "many", params, &res, &rpc, &err) == PH_OK);
    CHECKF(json_integer_value(json_object_get(res, "started")) == 63,
           "100 threads asked, pids.max 64: %s", res ? json_dumps(res, JSON_COMPACT) : err.text);
    json_decref(params);
    json_decref(res);
    json_decref(rpc);
    ph_host_free(h);
    unlink(path);
    unlink(cmd);
}

/* The layer is inactive: plugins run, the record and doctor say why, and
 * requiring it refuses the host. */
static void skipped(const char *echo, const char *why_part)
{
    ph_error err;
    ph_host *h = host(NULL, &err);
    CHECKF(h, "host: %s", h ? "" : err.text);
    if (!h)
        return;
    CHECKF(ph_host_load_file(h, echo, NULL, &err) == PH_OK, "load echo: %s", err.text);
    json_t *d = ph_host_describe(h);
    json_t *cg = json_object_get(json_object_get(plugin(d, "echo"), "layers"), "cgroup");
    const char *reason = json_string_value(json_object_get(cg, "reason"));
    CHECKF(json_is_false(json_object_get(cg, "active")) && reason && strstr(reason, why_part),
           "skipped with a reason naming \"%s\": %s", why_part, json_dumps(cg, JSON_COMPACT));
    json_decref(d);
    ph_host_free(h);

    json_t *report = NULL;
    ph_host_doctor(NULL, &report, &err);
    size_t i;
    json_t *l;
    int said = 0;
    json_array_foreach(json_object_get(report, "layers"), i, l)
    {
        const char *detail = json_string_value(json_object_get(l, "detail"));
        if (strcmp(json_string_value(json_object_get(l, "layer")), "cgroup") == 0)
            said =
                json_is_false(json_object_get(l, "active")) && detail && strstr(detail, why_part);
    }
    CHECKF(said, "doctor reports cgroup inactive, naming \"%s\"", why_part);
    json_decref(report);

    h = host("{\"require\": [\"cgroup\"]}", &err);
    CHECKF(!h && strstr(err.text, "requires: cgroup unavailable"),
           "require cgroup refuses the host: %s", h ? "it started" : err.text);
    ph_host_free(h);
}

/* The kernel takes the flags ph_plug_spawn gives clone3 (every namespace
 * plus CLONE_INTO_CGROUP) on a real v2 cgroup, and the child is there from
 * its first instruction: checked on a cgroup without controllers, which is
 * what a v1-bound machine can offer. */
static void clone_into(void)
{
    /* The hierarchy is the machine's: a name no other run uses. */
    char name[64], dir[128];
    snprintf(name, sizeof name, "/ph_into_%s", strrchr(tmp, '_') + 1);
    snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", name);
    CHECK(mkdir(dir, 0755) == 0);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int pfd = -1, go[2];
    CHECK(dfd >= 0 && pipe(go) == 0);
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_PIDFD | CLONE_INTO_CGROUP | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
               CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWCGROUP;
    ca.pidfd = (uint64_t)(uintptr_t)&pfd;
    ca.exit_signal = SIGCHLD;
    ca.cgroup = (uint64_t)dfd;
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) {
        char b;
        _exit(read(go[0], &b, 1) == 1 ? 0 : 1);
    }
    CHECKF(pid > 0, "clone3 with CLONE_INTO_CGROUP: %s", strerror(errno));
    if (pid > 0) {
        char shown[256] = "";
        CHECKF(proc_cgroup(pid, "", shown, sizeof shown) == 0 && strcmp(shown, name) == 0,
               "child in %s: %s", name, shown);
        /* Born there, its new cgroup namespace is rooted there too (the
         * kernel takes the namespace's root from the target cgroup). */
        char own[256] = "?";
        CHECKF(own_view(pid, "", own, sizeof own) == 0 && strcmp(own, "/") == 0,
               "child's own view of its v2 cgroup: %s", own);
        CHECK(write(go[1], "g", 1) == 1);
        siginfo_t si;
        CHECK(waitid((idtype_t)P_PIDFD, (id_t)pfd, &si, WEXITED) == 0 && si.si_status == 0);
        close(pfd);
    }
    close(go[0]);
    close(go[1]);
    if (dfd >= 0)
        close(dfd);
    CHECK(rmdir(dir) == 0);
}

static int remount_cgroups_ro(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[2048];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char mnt[512];
        const char *dash = strstr(line, " - ");
        if (!dash || strncmp(dash + 3, "cgroup", 6) != 0 ||
            sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1)
            continue;
        if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0)
            n++;
        else
            fprintf(stderr, "remount %s read-only: %s\n", mnt, strerror(errno));
    }
    if (f)
        fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_cgroup live ECHO HOG THREADER | denied ECHO | v2only ECHO\n");
        return 2;
    }
    snprintf(tmp, sizeof tmp, "/tmp/ph_cgroup_XXXXXX");
    if (!mkdtemp(tmp))
        return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "live") == 0 && argc == 5) {
        live(argv[2], argv[3]);
        threads(argv[4]);
        deferred();
    } else if (strcmp(mode, "denied") == 0) {
        CHECK(remount_cgroups_ro() > 0);
        skipped(argv[2], "Read-only file system");
    } else if (strcmp(mode, "v2only") == 0) {
        /* Our own mount namespace (unshare): hide the machine's cgroup
         * mounts under a tmpfs and mount the v2 hierarchy alone. */
        int ok = mount("none", "/sys/fs/cgroup", "tmpfs", 0, NULL) == 0 &&
                 mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) == 0;
        CHECKF(ok, "mount cgroup2 on /sys/fs/cgroup: %s", strerror(errno));
        char ctl[256] = "";
        FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "re");
        if (f) {
            if (!fgets(ctl, sizeof ctl, f))
                ctl[0] = '\0';
            fclose(f);
        }
        if (ok)
            clone_into();
        if (ok && strstr(ctl, "memory") && strstr(ctl, "pids")) {
            ph_error err;
            ph_host *h = host(NULL, &err);
            CHECKF(h && ph_host_load_file(h, argv[2], NULL, &err) == PH_OK, "echo: %s", err.text);
            if (h)
                check_placed(h, "echo", 1LL << 30, 1);
            ph_host_free(h);
        } else if (ok) {
            printf("cgroup v2 controllers here: %s", ctl);
            skipped(argv[2], "not memory and pids");
        }
    } else {
        return 2;
    }
    char conf[128];
    snprintf(conf, sizeof conf, "%s/conf.json", tmp);
    unlink(conf);
    rmdir(tmp);
    return ph_t_summary("test_cgroup");
}
