/*
 * test_cgroup_paths: the cgroup v2 arrangement (host/cgroup.c,
 * ph_cg_setup_v2) on fake trees of plain files, where no kernel is needed:
 * which cgroup becomes the plugins' parent in each case, what is written
 * where (controllers enabled, the host moved), what a plugin's cgroup gets,
 * and the reason given when the tree does not allow it; two hosts in one
 * cgroup each keep their own subtree and limits; only dead hosts' subtrees
 * are swept. The kernel creates the control files of a new cgroup; here
 * the test does (ph_cg_made_hook), so the code's writes (which never create
 * files) land somewhere, and removes them before an rmdir would succeed.
 *
 * The real kernel path is covered by isolation.cgroup.* (v1, and v2 where
 * the machine's v2 hierarchy has memory and pids).
 */
#include "check.h"
#include "proc_start.h"
#include "cgroup.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", rel, files[i]);
        put(p, "");
    }
}

static const char *const files[] = {"cgroup.procs", "cgroup.subtree_control", "cgroup.controllers",
                                    "memory.max",   "memory.swap.max",        "pids.max"};

/* What the kernel does on mkdir in a cgroup tree. */
static void made(const char *dir)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *f = fopen(p, "w");
        if (f)
            fclose(f);
    }
}

/* What the kernel does on rmdir: the files go with the directory. Here
 * they go first, so the code's rmdir can succeed. */
static void unfake(const char *dir)
{
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
}

static int exists(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s%s", root, rel);
    return access(p, F_OK) == 0;
}

static void dir_at(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s%s", root, rel);
    mkdir(p, 0755);
}

/* How many entries of the fake root are named prefix*. */
static int count_mine(const char *prefix)
{
    DIR *d = opendir(root);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
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
    char me[32], want[2048];
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
     * controllers are enabled there, plugins are under the host's own
     * sibling subtree, both named after this host. */
    ph_cg_made_hook = made;
    char mine[128];
    snprintf(mine, sizeof mine, "plughost.%lu-%d-%llu.", ns, (int)self, ph_t_start_time(self));
    put("/svc/cgroup.controllers", "memory pids\n");
    put("/svc/cgroup.subtree_control", "");
    put("/svc/cgroup.procs", me);
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/svc", self) == 0, "%s", cg.detail);
    CHECK(cg.version == 2 && cg.created);
    snprintf(want, sizeof want, "%s/svc/%s", root, mine);
    CHECKF(strncmp(cg.base, want, strlen(want)) == 0 && !strchr(cg.base + strlen(want), '.'),
           "base %s", cg.base);
    snprintf(want, sizeof want, "%s.host", cg.base);
    CHECKF(strcmp(cg.leaf, want) == 0, "leaf %s", cg.leaf);
    snprintf(want, sizeof want, "%s/cgroup.procs", cg.leaf);
    CHECK(strcmp(get(want + strlen(root)), me) == 0);
    CHECK(strcmp(get("/svc/cgroup.subtree_control"), "+memory +pids") == 0);
    snprintf(want, sizeof want, "%s/cgroup.subtree_control", cg.base);
    CHECK(strcmp(get(want + strlen(root)), "+memory +pids") == 0);
    /* A plugin's cgroup: named after the file, limits written. */
    struct ph_cg_plug c;
    memset(&c, 0, sizeof c);
    char why[512], pl[1024];
    CHECKF(ph_cg_plug_create(&cg, &c, "/plugins/my plugin.so", 4096000, 1, why, sizeof why) == 0,
           "%s", why);
    snprintf(pl, sizeof pl, "%s/my_plugin.0", cg.base + strlen(root));
    CHECKF(strcmp(c.path + strlen(root), pl) == 0, "path %s", c.path);
    snprintf(want, sizeof want, "%s/memory.max", pl);
    CHECK(strcmp(get(want), "4096000") == 0);
    snprintf(want, sizeof want, "%s/memory.swap.max", pl);
    CHECK(strcmp(get(want), "0") == 0);
    snprintf(want, sizeof want, "%s/pids.max", pl);
    CHECK(strcmp(get(want), "1") == 0);
    CHECK(c.dirfd >= 0 && c.version == 2);
    CHECK(json_is_true(json_object_get(c.layer, "active")) &&
          json_integer_value(json_object_get(c.layer, "memory_max")) == 4096000 &&
          json_integer_value(json_object_get(c.layer, "pids_max")) == 1);
    /* Its OOM count comes from memory.events' oom_kill line only. */
    snprintf(want, sizeof want, "%s/memory.events", pl);
    put(want, "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n");
    CHECK(ph_cg_plug_oom_kills(&c) == 1);
    put(want, "oom 0\noom_kill 0\noom_group_kill 0\n");
    CHECK(ph_cg_plug_oom_kills(&c) == 0);
    snprintf(want, sizeof want, "%s%s/memory.events", root, pl);
    unlink(want);
    unfake(c.path);
    ph_cg_plug_remove(&cg, &c);
    CHECK(!exists(pl));
    json_decref(c.layer);
    /* A plugin cgroup's name that exists already is someone else's: never
     * reused, never given limits (sequence 1 is next). */
    snprintf(pl, sizeof pl, "%s/echo.1", cg.base + strlen(root));
    cgroup_dir(pl);
    snprintf(want, sizeof want, "%s/memory.max", pl);
    put(want, "777");
    memset(&c, 0, sizeof c);
    CHECK(ph_cg_plug_create(&cg, &c, "/p/echo.so", 1, 1, why, sizeof why) < 0);
    CHECKF(strstr(why, "File exists"), "%s", why);
    CHECK(strcmp(get(want), "777") == 0);
    json_decref(c.layer);
    snprintf(want, sizeof want, "%s%s", root, pl);
    unfake(want);
    rmdir(want);
    /* Undone at the end: controllers off, the host back. */
    put("/svc/cgroup.procs", "");
    unfake(cg.base);
    char leaf_abs[1024];
    snprintf(leaf_abs, sizeof leaf_abs, "%s", cg.leaf);
    unfake(leaf_abs);
    ph_cg_host_free(&cg);
    CHECK(strcmp(get("/svc/cgroup.subtree_control"), "-memory -pids") == 0);
    CHECK(strcmp(get("/svc/cgroup.procs"), me) == 0);
    CHECK(access(leaf_abs, F_OK) < 0 && access(cg.base, F_OK) < 0);

    /* Alone, but O refuses the controllers (its subtree_control missing
     * stands for the kernel saying no): the reason names O. */
    put("/nosub/cgroup.controllers", "memory pids\n");
    put("/nosub/cgroup.procs", me);
    memset(&cg, 0, sizeof cg);
    CHECK(ph_cg_setup_v2(&cg, root, "/nosub", self) < 0 && cg.version == 0);
    snprintf(want, sizeof want, "cannot enable memory and pids in %s/nosub:", root);
    CHECKF(strstr(cg.detail, want), "%s", cg.detail);

    /* A second host that finds itself alone in O, where a first host moved
     * itself into its leaf (here pid 1 stands for it): O is shared, so the
     * second host neither moves nor touches the first one's plugins, and on
     * its way out leaves O's controllers on. */
    put("/two/cgroup.controllers", "memory pids\n");
    put("/two/cgroup.subtree_control", "");
    put("/two/cgroup.procs", me);
    struct ph_cg_host a, b;
    memset(&a, 0, sizeof a);
    CHECKF(ph_cg_setup_v2(&a, root, "/two", self) == 0 && a.leaf[0], "%s", a.detail);
    struct ph_cg_plug ca, cb;
    memset(&ca, 0, sizeof ca);
    CHECKF(ph_cg_plug_create(&a, &ca, "/p/echo.so", 8192000, 4, why, sizeof why) == 0, "%s", why);
    snprintf(want, sizeof want, "%s/cgroup.procs", a.leaf + strlen(root));
    put(want, "1\n");
    put("/two/cgroup.procs", me);
    memset(&b, 0, sizeof b);
    CHECKF(ph_cg_setup_v2(&b, root, "/two", self) == 0, "%s", b.detail);
    CHECKF(!b.leaf[0] && strcmp(b.base, a.base) != 0, "second host: leaf %s base %s", b.leaf,
           b.base);
    snprintf(want, sizeof want, "%s/%s", root, mine);
    CHECKF(strncmp(b.base, want, strlen(want)) == 0, "second host's base %s beside /two", b.base);
    memset(&cb, 0, sizeof cb);
    CHECKF(ph_cg_plug_create(&b, &cb, "/p/echo.so", 4096000, 1, why, sizeof why) == 0, "%s", why);
    CHECK(strcmp(ca.path, cb.path) != 0);
    snprintf(want, sizeof want, "%s/memory.max", ca.path + strlen(root));
    CHECK(strcmp(get(want), "8192000") == 0);
    unfake(cb.path);
    ph_cg_plug_remove(&b, &cb);
    json_decref(cb.layer);
    unfake(b.base);
    ph_cg_host_free(&b);
    CHECK(strcmp(get("/two/cgroup.subtree_control"), "+memory +pids") == 0);
    CHECK(strcmp(get(want), "8192000") == 0);
    /* The first host, with a stranger's child cgroup in O, leaves the
     * controllers on as well (and stays in its leaf). */
    dir_at("/two/theirs");
    unfake(ca.path);
    ph_cg_plug_remove(&a, &ca);
    json_decref(ca.layer);
    unfake(a.base);
    snprintf(want, sizeof want, "%s/cgroup.procs", a.leaf + strlen(root));
    put(want, me);
    ph_cg_host_free(&a);
    CHECK(strcmp(get("/two/cgroup.subtree_control"), "+memory +pids") == 0);
    CHECK(strcmp(get(want), me) == 0);

    /* The sweep: under O, only subtrees of hosts verifiably dead in our
     * pid namespace go; a live host's (the parent process), one in
     * another pid namespace, and names plughost never makes stay. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    pid_t pp = getppid();
    char gone1[256], gone2[256], gone3[256], live[256], other[256];
    snprintf(gone1, sizeof gone1, "/sw/plughost.%lu-%d-5.0", ns, (int)dead);
    snprintf(gone2, sizeof gone2, "/sw/plughost.%lu-%d-5.0.host", ns, (int)dead);
    snprintf(gone3, sizeof gone3, "/sw/plughost.%lu-%d-%llu.0", ns, (int)pp,
             ph_t_start_time(pp) + 1);
    snprintf(live, sizeof live, "/sw/plughost.%lu-%d-%llu.0", ns, (int)pp, ph_t_start_time(pp));
    snprintf(other, sizeof other, "/sw/plughost.%lu-%d-5.0", ns + 1, (int)dead);
    put("/sw/cgroup.controllers", "memory pids\n");
    put("/sw/cgroup.subtree_control", "");
    put("/sw/cgroup.procs", me);
    const char *const keep[] = {live, other, "/sw/old.3", "/sw/plughost-host"};
    const char *const drop[] = {gone1, gone2, gone3};
    for (size_t i = 0; i < 4; i++) {
        dir_at(keep[i]);
        snprintf(want, sizeof want, "%s/echo.0", keep[i]);
        dir_at(want);
    }
    for (size_t i = 0; i < 3; i++) {
        dir_at(drop[i]);
        snprintf(want, sizeof want, "%s/echo.0", drop[i]);
        if (i != 1)
            dir_at(want);
    }
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/sw", self) == 0 && cg.leaf[0], "%s", cg.detail);
    for (size_t i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "%s/echo.0", keep[i]);
        CHECKF(exists(want), "%s kept", want);
    }
    for (size_t i = 0; i < 3; i++)
        CHECKF(!exists(drop[i]), "%s swept", drop[i]);

    /* Shared with another process (a login shell's scope): a sibling tree
     * under the nearest ancestor enabling both, here /user. The sequence
     * number is the next one handed out in this process (1). */
    put("/user/cgroup.controllers", "memory pids\n");
    put("/user/cgroup.subtree_control", "memory pids\n");
    put("/user/session/cgroup.controllers", "memory pids\n");
    put("/user/session/cgroup.procs", "1\n");
    put("/user/session/cgroup.subtree_control", "");
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/user/session", self) == 0, "%s", cg.detail);
    snprintf(want, sizeof want, "%s/user/%s", root, mine);
    CHECKF(strncmp(cg.base, want, strlen(want)) == 0, "base %s", cg.base);
    snprintf(want, sizeof want, "%s/cgroup.subtree_control", cg.base + strlen(root));
    CHECK(strcmp(get(want), "+memory +pids") == 0);
    CHECK(strcmp(get("/user/session/cgroup.procs"), "1\n") == 0); /* nobody moved */
    CHECK(cg.leaf[0] == '\0' && cg.created);

    /* /user lacks memory for its children: up to the root (sequence 2). */
    put("/user/cgroup.subtree_control", "pids\n");
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/user/session", self) == 0, "%s", cg.detail);
    snprintf(want, sizeof want, "%s/%s", root, mine);
    CHECKF(strncmp(cg.base, want, strlen(want)) == 0, "base %s", cg.base);

    /* The host in the machine's root cgroup, among other processes: the
     * root, exempt from the rule, enables the controllers if it does not
     * yet (sequence 3). */
    put("/cgroup.subtree_control", "cpu\n");
    put("/cgroup.procs", "1\n2\n");
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, root, "/", self) == 0, "%s", cg.detail);
    CHECK(strcmp(get("/cgroup.subtree_control"), "+memory +pids") == 0);
    snprintf(want, sizeof want, "%s/%s", root, mine);
    CHECKF(strncmp(cg.base, want, strlen(want)) == 0, "base %s", cg.base);

    /* A tree where the plugins' parent cannot get controllers enabled
     * (its subtree_control missing stands for the kernel refusing): the
     * layer is refused with the reason, and what was made is removed. */
    put("/cgroup.subtree_control", "cpu memory pids\n");
    ph_cg_made_hook = NULL;
    int before = count_mine(mine);
    memset(&cg, 0, sizeof cg);
    CHECK(ph_cg_setup_v2(&cg, root, "/user/session", self) < 0);
    CHECKF(strstr(cg.detail, "cannot enable memory and pids"), "%s", cg.detail);
    CHECK(count_mine(mine) == before);
    ph_cg_made_hook = made;

    /* A plugin on a host without the layer: skipped, with the reason. */
    memset(&c, 0, sizeof c);
    CHECK(ph_cg_plug_create(&cg, &c, "/p/echo.so", 1, 1, why, sizeof why) < 0);
    CHECK(json_is_false(json_object_get(c.layer, "active")) &&
          strstr(json_string_value(json_object_get(c.layer, "reason")), "cannot enable"));
    json_decref(c.layer);

    /* Alone in the root of a container's cgroup namespace, which is not
     * the machine's root and has no exemption: the leaf arrangement. */
    char ctr[128];
    snprintf(ctr, sizeof ctr, "%s/ctr", root);
    put("/ctr/cgroup.controllers", "memory pids\n");
    put("/ctr/cgroup.procs", me);
    put("/ctr/cgroup.subtree_control", "");
    memset(&cg, 0, sizeof cg);
    CHECKF(ph_cg_setup_v2(&cg, ctr, "/", self) == 0, "%s", cg.detail);
    snprintf(want, sizeof want, "%s/%s", ctr, mine);
    CHECKF(strncmp(cg.base, want, strlen(want)) == 0 && cg.leaf[0], "base %s leaf %s", cg.base,
           cg.leaf);
    snprintf(want, sizeof want, "%s/cgroup.procs", cg.leaf + strlen(root));
    CHECK(strcmp(get(want), me) == 0);
    CHECK(strcmp(get("/ctr/cgroup.subtree_control"), "+memory +pids") == 0);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return ph_t_summary("test_cgroup_paths");
}
