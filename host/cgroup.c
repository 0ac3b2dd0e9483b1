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
 * It must never touch cgroups outside the subtree it creates, with one
 * exception stated where it happens (the v2 leaf arrangement moves the host
 * process itself), and never report the layer as in force unless the kernel
 * accepted every limit.
 */
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
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
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return write_text(path, text);
}

static int read_at(const char *dir, const char *file, char *buf, size_t len)
{
    char path[PH_CG_PATH + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
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

/* A host that dies (killed, crashed) leaves its cgroups behind, empty
 * since its plugins die with it. The next host removes those under
 * parent: directories named prefix* (FILE.N but keep, when prefix is "")
 * last changed over min_age seconds ago, and their children. rmdir
 * refuses a cgroup that holds a process or a child cgroup, so a live host's
 * running plugins are never touched, and the age spares a host just
 * starting; a live host whose tree is removed while idle makes it again
 * (ensure_base). */
static void sweep(const char *parent, const char *prefix, const char *keep, time_t min_age)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
            strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            (keep && strcmp(e->d_name, keep) == 0))
            continue;
        /* Without a prefix, only names of plugin cgroups (FILE.N), never
         * another host's tree (plughost*). */
        if (!*prefix && (!dot || !dot[1] || strspn(dot + 1, "0123456789") != strlen(dot + 1) ||
                         strncmp(e->d_name, "plughost", 8) == 0))
            continue;
        char dir[PH_CG_PATH + 256];
        struct stat st;
        snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name);
        if (stat(dir, &st) < 0 || now - st.st_mtime < min_age)
            continue;
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

#define PH_CG_STALE_S 60

/* A host's own subtree is named plughost.NS-PID.K: the pid alone is not
 * unique, since hosts in different pid namespaces (containers, the test
 * suite's unshare) share the hierarchy and may all be pid 1; the pid
 * namespace's inode tells them apart. The same name again is only ever a
 * leftover of a dead host (that pid, in that namespace, is us now). */
static int base_name(char *out, size_t len, const char *parent, pid_t self, unsigned k)
{
    struct stat st;
    unsigned long ns = stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long)st.st_ino : 0;
    int n = snprintf(out, len, "%s/plughost.%lu-%d.%u", parent, ns, (int)self, k);
    return n > 0 && (size_t)n < len ? 0 : -1;
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
 *  - O holds the host alone (a systemd service with Delegate=yes, or
 *    `systemd-run --scope -p Delegate=yes`): O is ours to arrange. The host
 *    moves itself into a leaf O/plughost-host, then enables +memory +pids
 *    in O, whose other children are the plugins. This is what systemd's
 *    delegation rules ask of a delegated service, and what container
 *    runtimes do with their own init. It is the one place the host moves
 *    something it did not create, itself, and ph_cg_host_free moves it
 *    back.
 *    This includes a container whose cgroup namespace root holds only the
 *    host: that root is not the machine's, and has no exemption.
 *  - O is shared (a root login shell's session scope, or the machine's root
 *    cgroup): the nearest ancestor (O itself if it is the root, which the
 *    rule exempts) that already enables memory and pids for its children
 *    (the root at worst) gets a sibling subtree plughost.NS-PID.K. Only root, or whoever
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
    if (only_self(dir, self)) {
        char leaf[PH_CG_PATH];
        if (snprintf(leaf, sizeof leaf, "%s/plughost-host", dir) >= (int)sizeof leaf ||
            (mkdir(leaf, 0755) < 0 && errno != EEXIST)) {
            say(cg->detail, sizeof cg->detail, "cgroup v2: cannot create %s: %s", leaf,
                strerror(errno));
            return -1;
        }
        if (write_at(leaf, "cgroup.procs", line) < 0) {
            say(cg->detail, sizeof cg->detail, "cgroup v2: cannot move the host into %s: %s", leaf,
                strerror(errno));
            rmdir(leaf);
            return -1;
        }
        if (write_at(dir, "cgroup.subtree_control", "+memory +pids") < 0) {
            int e = errno;
            (void)write_at(dir, "cgroup.procs", line);
            rmdir(leaf);
            say(cg->detail, sizeof cg->detail, "cgroup v2: cannot enable memory and pids in %s: %s",
                dir, strerror(e));
            return -1;
        }
        /* O is ours alone: another child named like a plugin's cgroup
         * (FILE.N) is a dead host's. */
        sweep(dir, "", "plughost-host", 0);
        say(cg->base, sizeof cg->base, "%s", dir);
        say(cg->leaf, sizeof cg->leaf, "%s", leaf);
        cg->created = 0;
        say(cg->detail, sizeof cg->detail,
            "cgroup v2: one cgroup per plugin under %s (the host moved itself into "
            "%s: v2 allows no process beside child cgroups)",
            dir, leaf);
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
    sweep(adir, "plughost.", NULL, PH_CG_STALE_S);
    if (base_name(cg->base, sizeof cg->base, adir, self, k) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v2: path too long");
        return -1;
    }
    if (mkdir(cg->base, 0755) < 0 && errno != EEXIST) {
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
    if (base_name(cg->base, sizeof cg->base, mem_dir, self, k) < 0 ||
        base_name(cg->base_pids, sizeof cg->base_pids, pids_dir, self, k) < 0) {
        say(cg->detail, sizeof cg->detail, "cgroup v1: path too long");
        return -1;
    }
    sweep(mem_dir, "plughost.", NULL, PH_CG_STALE_S);
    sweep(pids_dir, "plughost.", NULL, PH_CG_STALE_S);
    if (mkdir(cg->base, 0755) < 0 && errno != EEXIST) {
        say(cg->detail, sizeof cg->detail, "cgroup v1: cannot create %s: %s", cg->base,
            strerror(errno));
        return -1;
    }
    if (mkdir(cg->base_pids, 0755) < 0 && errno != EEXIST) {
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

void ph_cg_host_free(struct ph_cg_host *cg)
{
    if (!cg->version)
        return;
    if (cg->leaf[0]) {
        /* Undo the leaf arrangement: controllers off, the host back home. */
        char line[32];
        pid_line(line, sizeof line, getpid());
        if (write_at(cg->base, "cgroup.subtree_control", "-memory -pids") == 0 &&
            write_at(cg->base, "cgroup.procs", line) == 0)
            rmdir(cg->leaf);
    }
    if (cg->created) {
        rmdir(cg->base);
        if (cg->version == 1)
            rmdir(cg->base_pids);
    }
    cg->version = 0;
}

void ph_cg_plug_skip(struct ph_cg_plug *c, const char *why)
{
    json_decref(c->layer);
    c->layer = json_pack("{s:b,s:s}", "active", 0, "reason", why);
}

static void rmdir_patient(const char *path)
{
    /* A reaped task leaves its cgroup a moment later on some kernels. */
    for (int i = 0; i < 100 && rmdir(path) < 0 && errno == EBUSY; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* Makes the plugins' parent again if another host swept it away while this
 * one had no plugin running (see sweep). */
static int ensure_base(const struct ph_cg_host *cg)
{
    if (!cg->created)
        return 0;
    if (mkdir(cg->base, 0755) < 0 && errno != EEXIST)
        return -1;
    if (cg->version == 1)
        return mkdir(cg->base_pids, 0755) < 0 && errno != EEXIST ? -1 : 0;
    char buf[256];
    if (read_at(cg->base, "cgroup.subtree_control", buf, sizeof buf) == 0 && both(buf))
        return 0;
    return write_at(cg->base, "cgroup.subtree_control", "+memory +pids");
}

int ph_cg_plug_create(struct ph_cg_host *cg, struct ph_cg_plug *c, const char *label,
                      size_t memory_max, unsigned pids_max, char *why, size_t whylen)
{
    c->version = 0;
    c->dirfd = c->procs_fd[0] = c->procs_fd[1] = -1;
    c->path[0] = c->path_pids[0] = '\0';
    if (!cg->version) {
        snprintf(why, whylen, "%s", cg->detail);
        ph_cg_plug_skip(c, why);
        return -1;
    }
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
    char num[32], *failed = NULL;
    int e = 0;
    say(c->path, sizeof c->path, "%.*s/%s", PH_CG_PATH - 90, cg->base, name);
    if (cg->version == 1)
        say(c->path_pids, sizeof c->path_pids, "%.*s/%s", PH_CG_PATH - 90, cg->base_pids, name);
    /* An existing one is a leftover of a host that died (its plugins died
     * with it): empty, and given fresh limits below. */
    if (ensure_base(cg) < 0 || (mkdir(c->path, 0755) < 0 && errno != EEXIST)) {
        snprintf(why, whylen, "cannot create %s: %s", c->path, strerror(errno));
        c->path[0] = '\0';
        ph_cg_plug_skip(c, why);
        return -1;
    }
    if (cg->version == 1 && mkdir(c->path_pids, 0755) < 0 && errno != EEXIST) {
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

int ph_cg_plug_join(const struct ph_cg_plug *c)
{
    /* "0" is the writer itself, whatever pid namespace it is in. The move
     * waits for an RCU grace period the first time in a while (v1 takes a
     * global lock for it), which is why the child does it, not the host's
     * loop. */
    for (int i = 0; c->version == 1 && i < 2; i++)
        if (write(c->procs_fd[i], "0", 1) != 1)
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

void ph_cg_plug_remove(struct ph_cg_plug *c)
{
    ph_cg_plug_spawned(c);
    if (c->path[0])
        rmdir_patient(c->path);
    if (c->path_pids[0])
        rmdir_patient(c->path_pids);
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
