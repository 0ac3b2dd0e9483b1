/*
 * landlock: ruleset construction (see landlock.h). The kernel headers of
 * Debian 12 stop at ABI 3, so the newer constants are spelled out here.
 */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LL_FS_ABI1 ((1ULL << 13) - 1)
#define LL_FS_REFER (1ULL << 13)
#define LL_FS_TRUNCATE (1ULL << 14)
#define LL_FS_IOCTL_DEV (1ULL << 15)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)
#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE)

struct ll_attr {
    uint64_t fs, net, scoped;
};

static const char *const lib_dirs[] = {"/usr/lib",   "/lib",           "/lib64",
                                       "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache"};

static int add_path(int ruleset, const char *path, uint64_t access)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};
    int rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    if (rc < 0 && errno == EINVAL) {
        /* A file takes file rights only. */
        pb.allowed_access = LL_READ;
        rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int ph_sb_landlock_apply(const char *plugin_path, char *err, size_t errlen)
{
    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0)
        return (errno == ENOSYS || errno == EOPNOTSUPP)
                   ? 0
                   : (snprintf(err, errlen, "landlock: %s", strerror(errno)), -1);
    struct ll_attr attr = {.fs = LL_FS_ABI1};
    size_t size = sizeof attr.fs;
    if (abi >= 2)
        attr.fs |= LL_FS_REFER;
    if (abi >= 3)
        attr.fs |= LL_FS_TRUNCATE;
    if (abi >= 5)
        attr.fs |= LL_FS_IOCTL_DEV;
    if (abi >= 4) {
        attr.net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = sizeof attr;
    }
    int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (rs < 0) {
        snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
        return -1;
    }
    uint64_t dir_read = LL_READ | LANDLOCK_ACCESS_FS_READ_DIR;
    /* A sealed memfd copy (no private root) lives on the kernel's internal
     * mount, which Landlock neither restricts nor takes a rule for. */
    if (plugin_path && strncmp(plugin_path, "/proc/self/fd/", 14) != 0 &&
        add_path(rs, plugin_path, LL_READ) < 0) {
        snprintf(err, errlen, "landlock: rule for %s: %s", plugin_path, strerror(errno));
        close(rs);
        return -1;
    }
    for (size_t i = 0; i < sizeof lib_dirs / sizeof lib_dirs[0]; i++) {
        if (add_path(rs, lib_dirs[i], dir_read) < 0) {
            snprintf(err, errlen, "landlock: rule for %s: %s", lib_dirs[i], strerror(errno));
            close(rs);
            return -1;
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_landlock_restrict_self, rs, 0) < 0) {
        snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
        close(rs);
        return -1;
    }
    close(rs);
    return abi;
}
