/*
 * namespaces: see namespaces.h. Written after bubblewrap's careful order:
 * make every mount private first, build the new root on a fresh tmpfs,
 * bind the few things needed read-only, pivot, detach the old root.
 */
#include "namespaces.h"
#include "plugin_file.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROOT "/tmp"

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

/* Bind src read-only at ROOT/dst; dst is created as a file or a directory
 * like src. A missing src is skipped. */
static int bind_ro(const char *src, const char *dst, char *err, size_t errlen)
{
    char target[512];
    struct stat st;
    if (stat(src, &st) < 0)
        return errno == ENOENT ? 0 : fail(err, errlen, "stat", src);
    snprintf(target, sizeof target, "%s%s", ROOT, dst);
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(target, 0755) < 0 && errno != EEXIST)
            return fail(err, errlen, "mkdir", target);
    } else {
        int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail(err, errlen, "create", target);
        close(fd);
    }
    if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return fail(err, errlen, "bind", src);
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) <
        0)
        return fail(err, errlen, "remount read-only", target);
    return 0;
}

int ph_sb_ns_pivot(int plugin_fd, const char *pin, char *err, size_t errlen)
{
    /* Nothing done below may propagate back to the host's mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(err, errlen, "make private", "/");
    /* Room for the plugin's copy; exec is allowed on this tmpfs because the
     * copy is mapped from it, and it becomes read-only before any plugin
     * code runs. */
    struct stat st;
    if (plugin_fd >= 0 && fstat(plugin_fd, &st) < 0)
        return fail(err, errlen, "fstat", "the plugin file");
    char opts[64];
    snprintf(opts, sizeof opts, "size=%lld,mode=0755",
             (long long)(plugin_fd >= 0 ? st.st_size : 0) + (1 << 20));
    if (mount("tmpfs", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return fail(err, errlen, "mount tmpfs on", ROOT);
    if (mkdir(ROOT "/usr", 0755) < 0 || mkdir(ROOT "/etc", 0755) < 0 ||
        mkdir(ROOT "/.old", 0700) < 0)
        return fail(err, errlen, "mkdir in", ROOT);
    if (bind_ro("/usr/lib", "/usr/lib", err, errlen) < 0 ||
        bind_ro("/usr/lib64", "/usr/lib64", err, errlen) < 0 ||
        bind_ro("/etc/ld.so.cache", "/etc/ld.so.cache", err, errlen) < 0)
        return -1;
    if (plugin_fd >= 0) {
        int dst = open(ROOT PH_SB_PLUGIN_IN_ROOT, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0555);
        if (dst < 0)
            return fail(err, errlen, "create", ROOT PH_SB_PLUGIN_IN_ROOT);
        int rc = ph_sb_copy_checked(plugin_fd, dst, pin, err, errlen);
        close(dst);
        if (rc < 0)
            return -1;
    }
    /* Debian merges /lib into /usr/lib; the dynamic linker's paths use both. */
    if (symlink("usr/lib", ROOT "/lib") < 0 || symlink("usr/lib64", ROOT "/lib64") < 0)
        return fail(err, errlen, "symlink in", ROOT);
    if (syscall(SYS_pivot_root, ROOT, ROOT "/.old") < 0)
        return fail(err, errlen, "pivot_root to", ROOT);
    if (chdir("/") < 0 || umount2("/.old", MNT_DETACH) < 0 || rmdir("/.old") < 0)
        return fail(err, errlen, "detach", "the old root");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        return fail(err, errlen, "remount read-only", "/");
    return 0;
}

int ph_sb_drop_caps(long run_uid, long run_gid, char *err, size_t errlen)
{
    /* The bounding set first, while CAP_SETPCAP is still held; a loader
     * that never had it (no user namespace, host not root) gets EPERM and
     * has nothing to drop, and no_new_privs keeps exec from adding any. */
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
            return fail(err, errlen, "drop from the bounding set", "a capability");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return fail(err, errlen, "clear", "ambient capabilities");
    if (run_uid >= 0) {
        if (run_uid == 0 || run_gid <= 0) {
            snprintf(err, errlen, "refusing to run a plugin as uid %ld gid %ld", run_uid, run_gid);
            return -1;
        }
        if (setgroups(0, NULL) < 0)
            return fail(err, errlen, "setgroups", "(none)");
        if (setresgid((gid_t)run_gid, (gid_t)run_gid, (gid_t)run_gid) < 0)
            return fail(err, errlen, "setresgid", "(the plugin's gid)");
        if (setresuid((uid_t)run_uid, (uid_t)run_uid, (uid_t)run_uid) < 0)
            return fail(err, errlen, "setresuid", "(the plugin's uid)");
        /* A change of credentials clears the parent-death signal. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
            return fail(err, errlen, "prctl", "(PR_SET_PDEATHSIG)");
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        if (setresuid(0, 0, 0) == 0 || getresuid(&ru, &eu, &su) < 0 ||
            getresgid(&rg, &eg, &sg) < 0 || ru != (uid_t)run_uid || eu != ru || su != ru ||
            rg != (gid_t)run_gid || eg != rg || sg != rg || getgroups(0, NULL) != 0) {
            snprintf(err, errlen, "could not leave root for uid %ld gid %ld", run_uid, run_gid);
            return -1;
        }
    }
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0)
        return fail(err, errlen, "capset", "(all zero)");
    return 0;
}
