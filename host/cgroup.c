/*
 * cgroup: puts each plugin process in a control group of its own whose
 * memory.max (resident memory, swap set to 0) and pids.max the kernel
 * enforces, whatever the process does. rlimits bound one process's address
 * space; a cgroup bounds what the process really uses, page-cache and
 * kernel memory charged to it included.
 *
 * cgroup v2 is the main path. The host finds its own cgroup and arranges a
 * subtree where the v2 rules let it enable the memory and pids controllers
 * (see ph_cg_setup_v2 for the two arrangements); a plugin is born in its
 * cgroup (clone3 with CLONE_INTO_CGROUP, in supervisor.c). On a machine
 * whose memory and pids controllers are bound to cgroup v1 hierarchies, the
 * same is done in each of those two trees, and the child moves itself in
 * before it execs anything (ph_cg_plug_join, from supervisor.c).
 *
 * It must never touch cgroups outside the subtree it creates, with two
 * exceptions stated where they happen (the v2 leaf arrangement moves the
 * host process itself; the sweep removes subtrees of hosts verifiably
 * dead), and never report the layer as in force unless the kernel
 * accepted every limit.
 */
#include "cgroup.h"
#include "worker.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

/* Hosts in one process (doctor's inside a self-testing host) need
 * different subtrees. */
static atomic_uint host_seq;

/* snprintf for messages and paths that may be cut short: the caller
 * checks lengths where a cut would matter. */
__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static int read_text(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    ssize_t r;
    while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return 0;
}

/* Control files exist already: never create one (O_CREAT would make a
 * plain file in a fake tree and hide a missing controller). */
static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    ssize_t w = write(fd, text, n);
    int e = errno;
    close(fd);
    if (w != (ssize_t)n) {
        errno = w < 0 ? e : EIO;
        return -1;
    }
    return 0;
}

static int write_at(const char *dir, const char *file, const char *text)
{
    char path[PH_CG_PATH + 64];
    /* A cut path would name another file: refuse it instead. */
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return write_text(path, text);
}

static int read_at(const char *dir, const char *file, char *buf, size_t len)
{
    char path[PH_CG_PATH + 64];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return read_text(path, buf, len);
}

/* Whether a space- or newline-separated list holds word ("+word" counts:
 * what was written to a subtree_control of a fake tree). */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = list; *s;) {
        s += strspn(s, " \n\t");
        size_t len = strcspn(s, " \n\t");
        const char *w = *s == '+' ? s + 1 : s;
        size_t wl = *s == '+' ? len - 1 : len;
        if (len && wl == n && memcmp(w, word, n) == 0)
            return 1;
        s += len;
    }
    return 0;
}

static int both(const char *list)
{
    return has_word(list, "memory") && has_word(list, "pids");
}

/* mnt + path, where path is "/" or "/a/b". */
static int join(char *out, size_t len, const char *mnt, const char *path)
{
    int n = snprintf(out, len, "%s%s", mnt, strcmp(path, "/") == 0 ? "" : path);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int pid_line(char *out, size_t len, pid_t pid)
{
    return snprintf(out, len, "%d\n", (int)pid);
}

/* Whether every process in the cgroup at dir is self. */
static int only_self(const char *dir, pid_t self)
{
    char buf[4096];
    if (read_at(dir, "cgroup.procs", buf, sizeof buf) < 0)
        return 0;
    int seen = 0;
    for (char *s = buf, *end; *s; s = end) {
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        if (v != (long)self)
            return 0;
        seen = 1;
    }
    return seen;
}

/* This process's pid namespace (its inode), and when this process started
 * (/proc/PID/stat field 22, clock ticks since boot): with the pid they
 * name a host for as long as it lives and never another one, pid reuse
 * included. */
static unsigned long pid_ns(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_text(path, buf, sizeof buf) < 0)
        return 0;
    /* The command name may hold anything, ")" included: after the last. */
    char *s = strrchr(buf, ')');
    for (int field = 2; s && field < 22; field++)
        s = strchr(s + 1, ' ');
    return s ? strtoull(s + 1, NULL, 10) : 0;
}

#define PH_CG_PREFIX "plughost."

/* A host's subtree is named plughost.NS-PID-START.K (and the leaf it may
 * move itself into, the same with ".host"): the pid alone is not unique,
 * since hosts in different pid namespaces (containers, the test suite's
 * unshare) share the hierarchy and may all be pid 1, and pids are reused.
 * K tells apart hosts in one process (doctor's inside a self-testing
 * host). */
static int base_name(char *out, size_t len, const char *parent, pid_t self, unsigned k,
                     const char *suffix)
{
    int n = snprintf(out, len, "%s/" PH_CG_PREFIX "%lu-%d-%llu.%u%s", parent, pid_ns(), (int)self,
                     start_time(self), k, suffix);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Whether name is one of ours (see base_name) whose host is verifiably
 * gone: it was in our pid namespace (another namespace's pids mean nothing
 * here), and its pid is free or now names a process started at another
 * time. Anything else, a live host, a name we do not make, a pid we cannot
 * judge, is not ours to remove. */
static int stale_base(const char *name)
{
    unsigned long ns;
    int pid, used = 0;
    unsigned long long start;
    unsigned k;
    if (sscanf(name, PH_CG_PREFIX "%lu-%d-%llu.%u%n", &ns, &pid, &start, &k, &used) != 4 ||
        strncmp(name, PH_CG_PREFIX, strlen(PH_CG_PREFIX)) != 0 ||
        (name[used] && strcmp(name + used, ".host") != 0))
        return 0;
    if (pid <= 0 || ns == 0 || ns != pid_ns())
        return 0;
    if (kill(pid, 0) < 0 && errno == ESRCH)
        return 1;
    unsigned long long now = start_time(pid);
    return now != 0 && now != start;
}

/* A host that dies (killed, crashed) leaves its subtree behind, empty
 * since its plugins die with it. The next host removes, under parent, the
 * subtrees of dead hosts only (stale_base) and their children, which are
 * that host's plugin cgroups. rmdir refuses a cgroup that still holds a
 * process or a child, so even a misjudged one loses nothing running. */
static void sweep(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_type != DT_DIR || !stale_base(e->d_name))
            continue;
        char dir[PH_CG_PATH + 256];
        snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
        DIR *sub = opendir(dir);
        struct dirent *f;
        while (sub && (f = readdir(sub))) {
            if (f->d_type != DT_DIR || f->d_name[0] == '.')
                continue;
            char child[PH_CG_PATH + 512];
            snprintf(child, sizeof child, "%s/%s", dir, f->d_name);
            (void)rmdir(child);
        }
        if (sub)
            closedir(sub);
        (void)rmdir(dir);
    }
    closedir(d);
}

void (*ph_cg_made_hook)(const char *dir);

/* Every cgroup this module makes is new: an existing one of that name is
 * someone else's (EEXIST is an error, never a cgroup to reuse). */
static int make_cgroup(const char *path)
{
    if (mkdir(path, 0755) < 0)
        return -1;
    if (ph_cg_made_hook)
        ph_cg_made_hook(path);
    return 0;
}

/* Whether some cgroup below dir holds a process. v2 says so in
 * cgroup.events; without it (a fake tree), each cgroup.procs is read. */
static int populated(const char *dir, int depth)
{
    char buf[256];
    if (read_at(dir, "cgroup.events", buf, sizeof buf) == 0) {
        const char *p = strstr(buf, "populated ");
        return p && p[10] == '1';
    }
    if (read_at(dir, "cgroup.procs", buf, sizeof buf) == 0 && buf[strspn(buf, " \n")])
        return 1;
    DIR *d = depth < 16 ? opendir(dir) : NULL;
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        char sub[PH_CG_PATH + 256];
        /* A path too long to look into counts as populated: never remove or
         * claim what could not be checked. */
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= sizeof sub)
            found = 1;
        else
            found = populated(sub, depth + 1);
    }
    closedir(d);
    return found;
}

/* Whether dir has a child cgroup other than the one named except
 * (populated_only: one that holds a process). */
static int other_child(const char *dir, const char *except, int populated_only)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
            (except && strcmp(e->d_name, except) == 0))
            continue;
        char sub[PH_CG_PATH + 256];
        snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
        found = !populated_only || populated(sub, 0);
    }
    closedir(d);
    return found;
}

static void strip_last(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash && slash != path)
        *slash = '\0';
    else
        strcpy(path, "/");
}

/*
 * cgroup v2 allows processes only in leaves once a cgroup enables
 * controllers for its children ("no internal processes"; the root is
 * exempt), so the host, which lives in some cgroup O, cannot simply give
 * O children with memory.max. In order of preference:
 *
 *  - O holds the host alone, and no child of O holds a process (a systemd
 *    service with Delegate=yes, or `systemd-run --scope -p Delegate=yes`):
 *    O is ours to arrange. The host moves itself into a leaf
 *    O/plughost.NS-PID-START.K.host, enables +memory +pids in O, and puts
 *    the plugins under its own sibling O/plughost.NS-PID-START.K, so that a
 *    second host arranging O the same way later has a subtree of its own.
 *    This is what systemd's delegation rules ask of a delegated service,
 *    and what container runtimes do with their own init. It is the one
 *    place the host moves something it did not create, itself, and
 *    ph_cg_host_free moves it back when O has no other child left.
 *    This includes a container whose cgroup namespace root holds only the
 *    host: that root is not the machine's, and has no exemption.
 *  - O is shared (a root login shell's session scope, the machine's root
 *    cgroup, or an O where another host sits in its leaf): the nearest
 *    ancestor (O itself if it is the root, which the rule exempts) that
 *    already enables memory and pids for its children (the root at worst)
 *    gets a sibling subtree plughost.NS-PID-START.K. Only root, or whoever
 *    was delegated that ancestor, may do it.
 */
int ph_cg_setup_v2(struct ph_cg_host *cg, const char *mnt, const char *own, pid_t self)
{
    char dir[PH_CG_PATH], buf[1024], line[32];
    if (join(dir, sizeof dir, mnt, own) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v2: path too long");
        return -1;
    }
    if (read_at(dir, "cgroup.controllers", buf, sizeof buf) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v2 at %s: cannot read %s/cgroup.controllers: %s",
            mnt, dir, strerror(errno));
        return -1;
    }
    if (!both(buf)) {
        buf[strcspn(buf, "\n")] = '\0';
        say(cg->detail, sizeof cg->detail,
            "cgroup v2 at %s: the host's cgroup %s offers controllers \"%s\", not memory and "
            "pids (bound to cgroup v1 hierarchies, or not delegated)",
            mnt, own, buf);
        return -1;
    }
    pid_line(line, sizeof line, self);
    unsigned k = atomic_fetch_add(&host_seq, 1);
    /* O is ours alone only if no other process is in it or below it: a
     * child holding processes (another host's leaf, say) makes it shared. */
    if (only_self(dir, self) && !other_child(dir, NULL, 1)) {
        char leaf[PH_CG_PATH];
        sweep(dir);
        if (base_name(leaf, sizeof leaf, dir, self, k, ".host") < 0 ||
            base_name(cg->base, sizeof cg->base, dir, self, k, "") < 0) {
            say(cg->detail, sizeof cg->detail, "cgroup v2: path too long");
            cg->base[0] = '\0';
            return -1;
        }
        if (make_cgroup(leaf) < 0) {
            say(cg->detail, sizeof cg->detail, "cgroup v2: cannot create %s: %s", leaf,
                strerror(errno));
            cg->base[0] = '\0';
            return -1;
        }
        const char *failed = NULL, *where = leaf;
        int moved = 0, enabled = 0;
        if (write_at(leaf, "cgroup.procs", line) < 0)
            failed = "cannot move the host into";
        else if ((moved = 1, write_at(dir, "cgroup.subtree_control", "+memory +pids") < 0)) {
            failed = "cannot enable memory and pids in";
            where = dir;
        } else if ((enabled = 1, make_cgroup(cg->base) < 0)) {
            failed = "cannot create";
            where = cg->base;
        } else if (write_at(cg->base, "cgroup.subtree_control", "+memory +pids") < 0) {
            failed = "cannot enable memory and pids in";
            where = cg->base;
            int e = errno;
            rmdir(cg->base);
            errno = e;
        }
        if (failed) {
            int e = errno;
            say(cg->detail, sizeof cg->detail, "cgroup v2: %s %s: %s", failed, where, strerror(e));
            if (enabled && !other_child(dir, strrchr(leaf, '/') + 1, 0))
                (void)write_at(dir, "cgroup.subtree_control", "-memory -pids");
            if (moved)
                (void)write_at(dir, "cgroup.procs", line);
            rmdir(leaf);
            cg->base[0] = '\0';
            return -1;
        }
        say(cg->leaf, sizeof cg->leaf, "%s", leaf);
        cg->created = 1;
        say(cg->detail, sizeof cg->detail,
            "cgroup v2: one cgroup per plugin under %s (the host moved itself into "
            "%s: v2 allows no process beside child cgroups)",
            cg->base, leaf);
        cg->version = 2;
        return 0;
    }
    /* The nearest ancestor whose children get memory and pids. */
    char anc[PH_CG_PATH], adir[PH_CG_PATH];
    snprintf(anc, sizeof anc, "%s", own);
    if (strcmp(anc, "/") != 0)
        strip_last(anc);
    for (;;) {
        if (join(adir, sizeof adir, mnt, anc) < 0) {
            say(cg->detail, sizeof cg->detail, "cgroup v2: path too long");
            return -1;
        }
        if (read_at(adir, "cgroup.subtree_control", buf, sizeof buf) == 0 && both(buf))
            break;
        if (strcmp(anc, "/") == 0) {
            /* The root may hold processes and still enable controllers
             * (left enabled: other cgroups may have come to rely on it). */
            if (write_at(adir, "cgroup.subtree_control", "+memory +pids") < 0) {
                say(cg->detail, sizeof cg->detail,
                    "cgroup v2 at %s: the host shares its cgroup %s with other processes, "
                    "and no ancestor enables memory and pids (enabling them in the root: "
                    "%s); run plughost in a cgroup of its own (a service with "
                    "Delegate=yes, or systemd-run --scope -p Delegate=yes)",
                    mnt, own, strerror(errno));
                return -1;
            }
            break;
        }
        strip_last(anc);
    }
    sweep(adir);
    if (base_name(cg->base, sizeof cg->base, adir, self, k, "") < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v2: path too long");
        return -1;
    }
    if (make_cgroup(cg->base) < 0) {
        say(cg->detail, sizeof cg->detail,
            "cgroup v2 at %s: the host shares its cgroup %s with other processes, and "
            "cannot create %s beside it: %s; run plughost as root or in a cgroup of its own "
            "(a service with Delegate=yes, or systemd-run --scope -p Delegate=yes)",
            mnt, own, cg->base, strerror(errno));
        cg->base[0] = '\0';
        return -1;
    }
    if (write_at(cg->base, "cgroup.subtree_control", "+memory +pids") < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v2: cannot enable memory and pids in %s: %s",
            cg->base, strerror(errno));
        rmdir(cg->base);
        cg->base[0] = '\0';
        return -1;
    }
    cg->created = 1;
    cg->leaf[0] = '\0';
    say(cg->detail, sizeof cg->detail, "cgroup v2: one cgroup per plugin under %s%s%s%s", cg->base,
        strcmp(own, "/") ? " (the host's own cgroup " : "", strcmp(own, "/") ? own : "",
        strcmp(own, "/") ? " is shared with other processes)" : "");
    cg->version = 2;
    return 0;
}

int ph_cg_setup_v1(struct ph_cg_host *cg, const char *mem_dir, const char *pids_dir, pid_t self)
{
    unsigned k = atomic_fetch_add(&host_seq, 1);
    if (base_name(cg->base, sizeof cg->base, mem_dir, self, k, "") < 0 ||
        base_name(cg->base_pids, sizeof cg->base_pids, pids_dir, self, k, "") < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v1: path too long");
        return -1;
    }
    sweep(mem_dir);
    sweep(pids_dir);
    if (make_cgroup(cg->base) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v1: cannot create %s: %s", cg->base,
            strerror(errno));
        return -1;
    }
    if (make_cgroup(cg->base_pids) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v1: cannot create %s: %s", cg->base_pids,
            strerror(errno));
        rmdir(cg->base);
        return -1;
    }
    cg->created = 1;
    cg->version = 1;
    say(cg->detail, sizeof cg->detail, "cgroup v1: one cgroup per plugin under %s and %s", cg->base,
        cg->base_pids);
    return 0;
}

struct mount_found {
    char mnt[PH_CG_PATH], root[PH_CG_PATH];
};

/* The cgroup mounts: the v2 one, and the v1 ones holding memory and pids. */
static void find_mounts(struct mount_found *v2, struct mount_found *mem, struct mount_found *pids)
{
    v2->mnt[0] = mem->mnt[0] = pids->mnt[0] = '\0';
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char root[PH_CG_PATH], mnt[PH_CG_PATH];
        if (sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2)
            continue;
        const char *dash = strstr(line, " - ");
        char fstype[32], super[512];
        if (!dash || sscanf(dash + 3, "%31s %*s %511s", fstype, super) != 2)
            continue;
        /* Escaped names (\040 for a space) are not ours to guess at. */
        if (strchr(mnt, '\\') || strchr(root, '\\'))
            continue;
        /* A mount hidden by a later one on or above it is still listed:
         * only one the path really reaches counts. */
        struct statfs sf;
        int v2type = strcmp(fstype, "cgroup2") == 0, v1type = strcmp(fstype, "cgroup") == 0;
        if ((!v2type && !v1type) || statfs(mnt, &sf) < 0 ||
            sf.f_type != (v2type ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC))
            continue;
        struct mount_found *to = NULL;
        if (v2type && !v2->mnt[0])
            to = v2;
        else if (v1type) {
            for (char *o = strtok(super, ","); o; o = strtok(NULL, ","))
                if (strcmp(o, "memory") == 0 && !mem->mnt[0])
                    to = mem;
                else if (strcmp(o, "pids") == 0 && !pids->mnt[0])
                    to = pids;
        }
        if (to) {
            snprintf(to->mnt, sizeof to->mnt, "%s", mnt);
            snprintf(to->root, sizeof to->root, "%s", root);
        }
    }
    fclose(f);
}

/* The host's own cgroup in the hierarchy holding controller ("" for v2). */
static int own_cgroup(const char *controller, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -1;
    char line[1024];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        *c1 = '\0';
        const char *ctl = c1 + 1;
        int match = !*controller ? (strcmp(line, "0") == 0 && !*ctl) : 0;
        if (*controller) {
            char list[256];
            snprintf(list, sizeof list, "%s", ctl);
            for (char *s = list; *s; s++)
                if (*s == ',')
                    *s = ' ';
            match = has_word(list, controller);
        }
        if (match) {
            snprintf(out, len, "%s", c2 + 1);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* The directory of the host's cgroup under a mount whose root is root. */
static int own_dir(const struct mount_found *m, const char *own, char *out, size_t len)
{
    size_t rl = strcmp(m->root, "/") == 0 ? 0 : strlen(m->root);
    if (rl && (strncmp(own, m->root, rl) != 0 || (own[rl] && own[rl] != '/')))
        return -1; /* our cgroup is outside what this mount shows */
    const char *rest = own[rl] ? own + rl : "/";
    return join(out, len, m->mnt, rest);
}

void ph_cg_host_setup(struct ph_cg_host *cg, int required)
{
    memset(cg, 0, sizeof *cg);
    cg->required = required;
    struct mount_found v2, mem, pids;
    find_mounts(&v2, &mem, &pids);
    pid_t self = getpid();
    char why2[512] = "no cgroup v2 hierarchy mounted", own[PH_CG_PATH];
    if (v2.mnt[0]) {
        size_t rl = strcmp(v2.root, "/") == 0 ? 0 : strlen(v2.root);
        if (own_cgroup("", own, sizeof own) < 0)
            say(why2, sizeof why2, "cgroup v2 at %s: the host is in no v2 cgroup", v2.mnt);
        else if (rl && strncmp(own, v2.root, rl) != 0)
            say(why2, sizeof why2, "cgroup v2 at %s: the host's cgroup is outside the mount",
                v2.mnt);
        else if (ph_cg_setup_v2(cg, v2.mnt, own[rl] ? own + rl : "/", self) == 0)
            return;
        else
            say(why2, sizeof why2, "%s", cg->detail);
    }
    char why1[512] = "", md[PH_CG_PATH], pd[PH_CG_PATH], pown[PH_CG_PATH];
    if (!mem.mnt[0] || !pids.mnt[0])
        say(why1, sizeof why1, "no cgroup v1 %s hierarchy mounted",
            !mem.mnt[0] && !pids.mnt[0] ? "memory or pids"
            : !mem.mnt[0]               ? "memory"
                                        : "pids");
    else if (own_cgroup("memory", own, sizeof own) < 0 ||
             own_cgroup("pids", pown, sizeof pown) < 0 || own_dir(&mem, own, md, sizeof md) < 0 ||
             own_dir(&pids, pown, pd, sizeof pd) < 0)
        say(why1, sizeof why1, "cgroup v1: the host's memory or pids cgroup is not visible");
    else if (ph_cg_setup_v1(cg, md, pd, self) == 0) {
        size_t n = strlen(cg->detail);
        say(cg->detail + n, sizeof cg->detail - n, "; v2 not used: %s", why2);
        return;
    } else
        say(why1, sizeof why1, "%s", cg->detail);
    cg->version = 0;
    say(cg->detail, sizeof cg->detail, "%s; %s", why2, why1);
}

/* A reaped task leaves its cgroup a moment later on some kernels, so an
 * rmdir right after the reap may say EBUSY. The removal runs in the host's
 * loop (ph_plug_on_exit), where waiting would stall every client: the
 * cgroup is kept on a list and tried again at the host's next plugin start
 * or end (retry_pending), and at its end. Beyond PH_CG_PENDING_MAX, or out
 * of memory, it is left: empty, inside the host's own subtree, and swept
 * with it by a later host once this one is gone. */
#define PH_CG_PENDING_MAX 64

static void retry_pending(struct ph_cg_host *cg)
{
    size_t kept = 0;
    for (size_t i = 0; i < cg->npending; i++) {
        if (rmdir(cg->pending[i]) < 0 && errno == EBUSY)
            cg->pending[kept++] = cg->pending[i];
        else
            free(cg->pending[i]);
    }
    cg->npending = kept;
}

static void remove_or_defer(struct ph_cg_host *cg, const char *path)
{
    if (rmdir(path) == 0 || errno != EBUSY || cg->npending >= PH_CG_PENDING_MAX)
        return;
    char *copy = strdup(path);
    if (!copy)
        return;
    if (cg->npending == cg->cap) {
        size_t cap = cg->cap ? 2 * cg->cap : 4;
        char **more = realloc(cg->pending, cap * sizeof *more);
        if (!more) {
            free(copy);
            return;
        }
        cg->pending = more;
        cg->cap = cap;
    }
    cg->pending[cg->npending++] = copy;
}

void ph_cg_host_free(struct ph_cg_host *cg)
{
    /* The host is ending, not serving: a short wait for the kernel to let
     * go of the last plugins' cgroups is affordable here (100 ms at most). */
    retry_pending(cg);
    for (int i = 0; i < 100 && cg->npending; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        retry_pending(cg);
    }
    for (size_t i = 0; i < cg->npending; i++)
        free(cg->pending[i]);
    free(cg->pending);
    cg->pending = NULL;
    cg->npending = cg->cap = 0;
    if (!cg->version)
        return;
    if (cg->created) {
        rmdir(cg->base);
        if (cg->version == 1)
            rmdir(cg->base_pids);
    }
    if (cg->leaf[0]) {
        /* Undo the leaf arrangement, controllers off and the host back in
         * O, only if O has no child left but our leaf: another host's
         * subtree there relies on the controllers, and the host cannot go
         * back into a cgroup that enables them. Left in place, the leaf is
         * swept by a later host once this process is gone. */
        char o[PH_CG_PATH], line[32];
        say(o, sizeof o, "%s", cg->leaf);
        strip_last(o);
        pid_line(line, sizeof line, getpid());
        if (!other_child(o, strrchr(cg->leaf, '/') + 1, 0) &&
            write_at(o, "cgroup.subtree_control", "-memory -pids") == 0 &&
            write_at(o, "cgroup.procs", line) == 0)
            rmdir(cg->leaf);
    }
    cg->version = 0;
}

void ph_cg_plug_skip(struct ph_cg_plug *c, const char *why)
{
    json_decref(c->layer);
    c->layer = json_pack("{s:b,s:s}", "active", 0, "reason", why);
}

void ph_cg_plug_name(struct ph_cg_host *cg, struct ph_cg_plug *c, const char *label)
{
    c->version = 0;
    c->dirfd = c->procs_fd[0] = c->procs_fd[1] = -1;
    c->path[0] = c->path_pids[0] = '\0';
    if (!cg->version)
        return;
    /* The file's name, reduced to a safe directory name. */
    char name[80];
    const char *b = strrchr(label, '/');
    b = b ? b + 1 : label;
    b += strspn(b, "-.");
    size_t n = 0;
    for (; *b && n < 48 && strcmp(b, ".so") != 0; b++)
        name[n++] =
            (char)(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *b) &&
                           *b
                       ? *b
                       : '_');
    snprintf(name + n, sizeof name - n, ".%u", cg->seq++);
    say(c->path, sizeof c->path, "%.*s/%s", PH_CG_PATH - 90, cg->base, name);
    if (cg->version == 1)
        say(c->path_pids, sizeof c->path_pids, "%.*s/%s", PH_CG_PATH - 90, cg->base_pids, name);
    retry_pending(cg);
}

int ph_cg_plug_make(const struct ph_cg_host *cg, struct ph_cg_plug *c, size_t memory_max,
                    unsigned pids_max, char *why, size_t whylen)
{
    if (!cg->version || !c->path[0]) {
        snprintf(why, whylen, "%s", cg->version ? "the cgroup has no name" : cg->detail);
        c->path[0] = c->path_pids[0] = '\0';
        ph_cg_plug_skip(c, why);
        return -1;
    }
    char num[32], *failed = NULL;
    int e = 0;
    /* The name is fresh (our base, our sequence): one that exists is not
     * ours to give limits to. */
    if (make_cgroup(c->path) < 0) {
        snprintf(why, whylen, "cannot create %s: %s", c->path, strerror(errno));
        c->path[0] = '\0';
        ph_cg_plug_skip(c, why);
        return -1;
    }
    if (cg->version == 1 && make_cgroup(c->path_pids) < 0) {
        snprintf(why, whylen, "cannot create %s: %s", c->path_pids, strerror(errno));
        rmdir(c->path);
        c->path[0] = c->path_pids[0] = '\0';
        ph_cg_plug_skip(c, why);
        return -1;
    }
    snprintf(num, sizeof num, "%zu", memory_max);
    const char *memfile = cg->version == 2 ? "memory.max" : "memory.limit_in_bytes";
    const char *swapfile = cg->version == 2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
    if (write_at(c->path, memfile, num) < 0) {
        failed = (char *)memfile;
        e = errno;
    }
    /* v2: no swap at all. v1: memory plus swap bounded by the same
     * figure, i.e. no swap beyond it. Without swap accounting in the kernel
     * the file is missing: swap is then not bounded, and the record says
     * so. */
    c->swap_bounded = 0;
    if (!failed) {
        if (write_at(c->path, swapfile, cg->version == 2 ? "0" : num) == 0)
            c->swap_bounded = 1;
        else if (errno != ENOENT) {
            failed = (char *)swapfile;
            e = errno;
        }
    }
    snprintf(num, sizeof num, "%u", pids_max);
    if (!failed && write_at(cg->version == 2 ? c->path : c->path_pids, "pids.max", num) < 0) {
        failed = "pids.max";
        e = errno;
    }
    if (!failed && cg->version == 2) {
        c->dirfd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->dirfd < 0) {
            failed = "the cgroup directory";
            e = errno;
        }
    }
    /* v1: opened here, written by the child (see ph_cg_plug_join). */
    for (int i = 0; !failed && cg->version == 1 && i < 2; i++) {
        char procs[PH_CG_PATH + 16];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", i ? c->path_pids : c->path);
        c->procs_fd[i] = open(procs, O_WRONLY | O_CLOEXEC);
        if (c->procs_fd[i] < 0) {
            failed = "cgroup.procs";
            e = errno;
        }
    }
    if (failed) {
        snprintf(why, whylen, "cannot set %s in %s: %s", failed, c->path, strerror(e));
        c->version = cg->version; /* for ph_cg_plug_spawned to close what is open */
        ph_cg_plug_spawned(c);
        c->version = 0;
        rmdir(c->path);
        if (c->path_pids[0])
            rmdir(c->path_pids);
        c->path[0] = c->path_pids[0] = '\0';
        ph_cg_plug_skip(c, why);
        return -1;
    }
    c->version = cg->version;
    c->memory_max = memory_max;
    c->pids_max = pids_max;
    json_decref(c->layer);
    c->layer =
        json_pack("{s:b,s:i,s:s,s:I,s:I,s:o}", "active", 1, "version", c->version, "path", c->path,
                  "memory_max", (json_int_t)memory_max, "pids_max", (json_int_t)pids_max,
                  "swap_max", c->swap_bounded ? json_integer(0) : json_string("not bounded"));
    if (c->version == 1)
        json_object_set_new(c->layer, "pids_path", json_string(c->path_pids));
    return 0;
}

int ph_cg_plug_create(struct ph_cg_host *cg, struct ph_cg_plug *c, const char *label,
                      size_t memory_max, unsigned pids_max, char *why, size_t whylen)
{
    ph_cg_plug_name(cg, c, label);
    return ph_cg_plug_make(cg, c, memory_max, pids_max, why, whylen);
}

int ph_cg_plug_join(const struct ph_cg_plug *c, int cgroup_ns)
{
    /* "0" is the writer itself, whatever pid namespace it is in. The move
     * waits for an RCU grace period the first time in a while (v1 takes a
     * global lock for it), which is why the child does it, not the host's
     * loop. */
    for (int i = 0; c->version == 1 && i < 2; i++)
        if (write(c->procs_fd[i], "0", 1) != 1)
            return -1;
    /* The cgroup namespace from clone3 is rooted where the child was born:
     * in v1 the host's cgroup, so the plugin would see its path below the
     * host's (/plughost.NS-PID-START.K/FILE.N: the host's pid namespace,
     * pid and start time). A new one, made now, is rooted at the plugin's
     * own cgroup, and the plugin sees "/". v2 children are born in their
     * cgroup (CLONE_INTO_CGROUP), which roots the namespace there already;
     * doing it there too costs nothing and does not rely on it. */
    if (cgroup_ns && c->version && unshare(CLONE_NEWCGROUP) < 0)
        return -1;
    return 0;
}

void ph_cg_plug_spawned(struct ph_cg_plug *c)
{
    /* By version: a zeroed record has 0 in its descriptors. */
    if (c->version == 2 && c->dirfd >= 0)
        close(c->dirfd);
    for (int i = 0; c->version == 1 && i < 2; i++)
        if (c->procs_fd[i] >= 0)
            close(c->procs_fd[i]);
    c->dirfd = c->procs_fd[0] = c->procs_fd[1] = -1;
}

/* A removal on the worker's thread: the paths are copied, and what rmdir
 * found busy comes back to the loop to keep for a retry. */
struct remove_job {
    struct ph_work work; /* first */
    struct ph_cg_host *cg;
    char path[2][PH_CG_PATH];
};

static void remove_run(struct ph_work *w)
{
    struct remove_job *j = (struct remove_job *)w;
    for (int i = 0; i < 2; i++)
        if (j->path[i][0] && (rmdir(j->path[i]) == 0 || errno != EBUSY))
            j->path[i][0] = '\0';
}

static void remove_done(struct ph_work *w)
{
    struct remove_job *j = (struct remove_job *)w;
    for (int i = 0; i < 2; i++)
        if (j->path[i][0])
            remove_or_defer(j->cg, j->path[i]);
    free(j);
}

void ph_cg_plug_remove_on(struct ph_cg_host *cg, struct ph_cg_plug *c, struct ph_worker *w)
{
    struct remove_job *j = w && c->path[0] ? calloc(1, sizeof *j) : NULL;
    if (!j) {
        ph_cg_plug_remove(cg, c);
        return;
    }
    ph_cg_plug_spawned(c);
    j->cg = cg;
    snprintf(j->path[0], sizeof j->path[0], "%s", c->path);
    snprintf(j->path[1], sizeof j->path[1], "%s", c->path_pids);
    c->path[0] = c->path_pids[0] = '\0';
    c->version = 0;
    j->work.run = remove_run;
    j->work.done = remove_done;
    ph_worker_queue(w, &j->work);
}

long ph_cg_plug_oom_kills(const struct ph_cg_plug *c)
{
    char buf[1024];
    if (!c->version || read_at(c->path, c->version == 2 ? "memory.events" : "memory.oom_control",
                               buf, sizeof buf) < 0)
        return 0;
    const char *at = strstr(buf, "oom_kill ");
    /* Not "oom_kill_disable": the counter's line is "oom_kill N". */
    while (at && at != buf && at[-1] != '\n')
        at = strstr(at + 1, "oom_kill ");
    return at ? strtol(at + 9, NULL, 10) : 0;
}

void ph_cg_plug_remove(struct ph_cg_host *cg, struct ph_cg_plug *c)
{
    ph_cg_plug_spawned(c);
    retry_pending(cg);
    if (c->path[0])
        remove_or_defer(cg, c->path);
    if (c->path_pids[0])
        remove_or_defer(cg, c->path_pids);
    c->path[0] = c->path_pids[0] = '\0';
    c->version = 0;
}

static int read_number(const char *dir, const char *file, unsigned long long *v)
{
    char buf[64];
    if (read_at(dir, file, buf, sizeof buf) < 0)
        return -1;
    if (strncmp(buf, "max", 3) == 0) {
        *v = ~0ULL;
        return 0;
    }
    char *end;
    *v = strtoull(buf, &end, 10);
    return end == buf ? -1 : 0;
}

/* Whether the path shown in /proc/PID/cgroup (relative to the reader's
 * namespace) is the tail of dir. */
static int ends_with(const char *dir, const char *shown)
{
    size_t a = strlen(dir), b = strlen(shown);
    return b > 1 && a >= b && strcmp(dir + a - b, shown) == 0;
}

int ph_cg_plug_verify(const struct ph_cg_plug *c, pid_t pid, char *why, size_t whylen)
{
    if (!c->version) {
        snprintf(why, whylen, "the plugin is in no cgroup of its own");
        return -1;
    }
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    int in_mem = 0, in_pids = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        *c1 = '\0';
        char list[256];
        snprintf(list, sizeof list, "%s", c1 + 1);
        for (char *s = list; *s; s++)
            if (*s == ',')
                *s = ' ';
        if (c->version == 2 && strcmp(line, "0") == 0 && !c1[1])
            in_mem = in_pids = ends_with(c->path, c2 + 1);
        else if (c->version == 1 && has_word(list, "memory"))
            in_mem = ends_with(c->path, c2 + 1);
        else if (c->version == 1 && has_word(list, "pids"))
            in_pids = ends_with(c->path_pids, c2 + 1);
    }
    fclose(f);
    if (!in_mem || !in_pids) {
        snprintf(why, whylen, "pid %d is not in %s", (int)pid, !in_mem ? c->path : c->path_pids);
        return -1;
    }
    unsigned long long mem, pids, cur;
    const char *pdir = c->version == 2 ? c->path : c->path_pids;
    if (read_number(c->path, c->version == 2 ? "memory.max" : "memory.limit_in_bytes", &mem) < 0 ||
        read_number(pdir, "pids.max", &pids) < 0 || read_number(pdir, "pids.current", &cur) < 0) {
        snprintf(why, whylen, "cannot read the limits of %s: %s", c->path, strerror(errno));
        return -1;
    }
    /* The kernel keeps memory limits in whole pages. */
    unsigned long long want = c->memory_max & ~(unsigned long long)(sysconf(_SC_PAGESIZE) - 1);
    if (mem != want || pids != c->pids_max || cur > pids) {
        snprintf(why, whylen,
                 "limits read back as memory %llu (set %zu), pids.max %llu (set %u), "
                 "pids.current %llu",
                 mem, c->memory_max, pids, c->pids_max, cur);
        return -1;
    }
    snprintf(why, whylen, "pid %d in %s: memory limit %llu, pids.max %llu, pids.current %llu",
             (int)pid, c->path, mem, pids, cur);
    return 0;
}
