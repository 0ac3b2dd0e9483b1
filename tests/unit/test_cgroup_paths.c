/*
 * test_cgroup_paths: the cgroup v2 arrangement (host/cgroup.c,
 * ph_cg_setup_v2) on fake trees of plain files, where no kernel is needed:
 * which cgroup becomes the plugins' parent in each case, what is written
 * where (controllers enabled, the host moved), what a plugin's cgroup gets,
 * and the reason given when the tree does not allow it. The kernel creates
 * the control files of a new cgroup; here the test creates them in advance,
 * so the code's writes (which never create files) land somewhere.
 *
 * The real kernel path is covered by isolation.cgroup.* (v1, and v2 where
 * the machine's v2 hierarchy has memory and pids).
 */
#include "check.h"
#include "cgroup.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    /* mkdir -p of the file's directory */
    for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(dir, 0755);
        *s = '/';
    }
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *get(const char *rel)
{
    static char buf[4096];
    char path[1024];
    snprintf(path, sizeof path, "%s%s", root, rel);
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* The files a new cgroup has, empty. */
static void cgroup_dir(const char *rel)
{
    static const char *const files[] = {"cgroup.procs",       "cgroup.subtree_control",
                                        "cgroup.controllers", "memory.max",
                                        "memory.swap.max",    "pids.max"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", rel, files[i]);
        put(p, "");
    }
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/ph_cgpaths_XXXXXX");
    if (!mkdtemp(root))
        return 2;
    pid_t self = getpid();
    /* Host subtrees are named after the pid namespace too (cgroup.c). */
    struct stat nst;
    unsigned long ns = stat("/proc/self/ns/pid", &nst) == 0 ? (unsigned long)nst.st_ino : 0;
    char me[32], want[1024];
    snprintf(me, sizeof me, "%d\n", (int)self);

    put("/cgroup.controllers", "cpu io memory pids\n");
    put("/cgroup.subtree_control", "cpu memory pids\n");

    /* The host's cgroup lacks the controllers: a reason, nothing written. */
    put("/nomem/cgroup.controllers", "cpu hugetlb\n");
    put("/nomem/cgroup.procs", me);
    struct ph_cg_host cg;
    memset(&cg, 0, sizeof cg);
    CHECK(ph_cg_setup_v2(&cg, root, "/nomem", self) < 0);
    CHECKF(strstr(cg.detail, "\"cpu hugetlb\", not memory and pids"), "%s", cg.detail);
    CHECK(cg.version == 0);

    /* Alone in a delegated cgroup: the host moves into a leaf, the
     * controllers are enabled there, plugins are the leaf's siblings. */
    put("/svc/cgroup.controllers", "memory pids\n");
    put("/svc/cgroup.subtree_control", "");
    put("/svc/cgroup.procs", me);
    cgroup_dir("/svc/plughost-host");
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/svc", self) == 0, "%s", cg.detail);
    CHECK(cg.version == 2);
    snprintf(want, sizeof want, "%s/svc", root);
    CHECKF(strcmp(cg.base, want) == 0, "base %s", cg.base);
    CHECK(strcmp(get("/svc/plughost-host/cgroup.procs"), me) == 0);
    CHECK(strcmp(get("/svc/cgroup.subtree_control"), "+memory +pids") == 0);
    /* A plugin's cgroup: named after the file, limits written. */
    cgroup_dir("/svc/my_plugin.0");
    struct ph_cg_plug c;
    memset(&c, 0, sizeof c);
    char why[512];
    CHECKF(ph_cg_plug_create(&cg, &c, "/plugins/my plugin.so", 4096000, 1, why, sizeof why) == 0,
           "%s", why);
    CHECK(strcmp(get("/svc/my_plugin.0/memory.max"), "4096000") == 0);
    CHECK(strcmp(get("/svc/my_plugin.0/memory.swap.max"), "0") == 0);
    CHECK(strcmp(get("/svc/my_plugin.0/pids.max"), "1") == 0);
    CHECK(c.dirfd >= 0 && c.version == 2);
    CHECK(json_is_true(json_object_get(c.layer, "active")) &&
          json_integer_value(json_object_get(c.layer, "memory_max")) == 4096000 &&
          json_integer_value(json_object_get(c.layer, "pids_max")) == 1);
    /* Its OOM count comes from memory.events' oom_kill line only. */
    put("/svc/my_plugin.0/memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
    CHECK(ph_cg_plug_oom_kills(&c) == 1);
    put("/svc/my_plugin.0/memory.events", "oom 0\noom_kill 0\noom_group_kill 0\n");
    CHECK(ph_cg_plug_oom_kills(&c) == 0);
    ph_cg_plug_remove(&c);
    json_decref(c.layer);
    /* Undone at the end: controllers off, the host back. */
    put("/svc/cgroup.procs", "");
    ph_cg_host_free(&cg);
    CHECK(strcmp(get("/svc/cgroup.subtree_control"), "-memory -pids") == 0);
    CHECK(strcmp(get("/svc/cgroup.procs"), me) == 0);

    /* Shared with another process (a login shell's scope): a sibling tree
     * under the nearest ancestor enabling both, here /user. The sequence
     * number is the next one handed out in this process (1). */
    put("/user/cgroup.controllers", "memory pids\n");
    put("/user/cgroup.subtree_control", "memory pids\n");
    put("/user/session/cgroup.controllers", "memory pids\n");
    put("/user/session/cgroup.procs", "1\n");
    put("/user/session/cgroup.subtree_control", "");
    char rel[128];
    snprintf(rel, sizeof rel, "/user/plughost.%lu-%d.1", ns, (int)self);
    cgroup_dir(rel);
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/user/session", self) == 0, "%s", cg.detail);
    snprintf(want, sizeof want, "%s%s", root, rel);
    CHECKF(strcmp(cg.base, want) == 0, "base %s", cg.base);
    snprintf(want, sizeof want, "%s/cgroup.subtree_control", rel);
    CHECK(strcmp(get(want), "+memory +pids") == 0);
    CHECK(strcmp(get("/user/session/cgroup.procs"), "1\n") == 0); /* nobody moved */
    CHECK(cg.leaf[0] == '\0' && cg.created);

    /* /user lacks memory for its children: up to the root (sequence 2). */
    put("/user/cgroup.subtree_control", "pids\n");
    snprintf(rel, sizeof rel, "/plughost.%lu-%d.2", ns, (int)self);
    cgroup_dir(rel);
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/user/session", self) == 0, "%s", cg.detail);
    snprintf(want, sizeof want, "%s%s", root, rel);
    CHECKF(strcmp(cg.base, want) == 0, "base %s", cg.base);

    /* The host in the machine's root cgroup, among other processes: the
     * root, exempt from the rule, enables the controllers if it does not
     * yet (sequence 3). */
    put("/cgroup.subtree_control", "cpu\n");
    put("/cgroup.procs", "1\n2\n");
    snprintf(rel, sizeof rel, "/plughost.%lu-%d.3", ns, (int)self);
    cgroup_dir(rel);
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/", self) == 0, "%s", cg.detail);
    CHECK(strcmp(get("/cgroup.subtree_control"), "+memory +pids") == 0);
    snprintf(want, sizeof want, "%s%s", root, rel);
    CHECKF(strcmp(cg.base, want) == 0, "base %s", cg.base);

    /* A tree where the plugins' parent cannot get controllers enabled
     * (its subtree_control missing stands for the kernel refusing): the
     * layer is refused with the reason, and what was made is removed. */
    put("/cgroup.subtree_control", "cpu memory pids\n");
    memset(&cg, 0, sizeof cg);
    CHECK(ph_cg_setup_v2(&cg, root, "/user/session", self) < 0);
    CHECKF(strstr(cg.detail, "cannot enable memory and pids"), "%s", cg.detail);
    snprintf(want, sizeof want, "%s/plughost.%lu-%d.4", root, ns, (int)self);
    CHECK(access(want, F_OK) < 0);

    /* A plugin on a host without the layer: skipped, with the reason. */
    memset(&c, 0, sizeof c);
    CHECK(ph_cg_plug_create(&cg, &c, "/p/echo.so", 1, 1, why, sizeof why) < 0);
    CHECK(json_is_false(json_object_get(c.layer, "active")) &&
          strstr(json_string_value(json_object_get(c.layer, "reason")), "cannot enable"));
    json_decref(c.layer);

    /* Alone in the root of a container's cgroup namespace, which is not
     * the machine's root and has no exemption: the leaf arrangement
     * (sequence 5). A dead host's plugin cgroup there is swept, anything
     * else named otherwise is left alone. */
    put("/cgroup.procs", me);
    put("/cgroup.subtree_control", "");
    cgroup_dir("/plughost-host");
    snprintf(want, sizeof want, "%s/old.3", root);
    CHECK(mkdir(want, 0755) == 0);
    snprintf(want, sizeof want, "%s/theirs", root);
    CHECK(mkdir(want, 0755) == 0);
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/", self) == 0, "%s", cg.detail);
    CHECKF(strcmp(cg.base, root) == 0 && cg.leaf[0], "base %s leaf %s", cg.base, cg.leaf);
    CHECK(strcmp(get("/plughost-host/cgroup.procs"), me) == 0);
    CHECK(strcmp(get("/cgroup.subtree_control"), "+memory +pids") == 0);
    snprintf(want, sizeof want, "%s/theirs", root);
    CHECK(access(want, F_OK) == 0);
    snprintf(want, sizeof want, "%s/old.3", root);
    CHECK(access(want, F_OK) < 0);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return ph_t_summary("test_cgroup_paths");
}
