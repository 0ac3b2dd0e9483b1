/*
 * without: runs a command on this machine as if it lacked confinement
 * layers, for the layer-removal matrix (tests/matrix/run_matrix.py):
 *
 *   without [--no-landlock] [--no-userns] [--user UID] -- COMMAND...
 *
 * --no-landlock  a seccomp filter makes the Landlock system calls fail with
 *                ENOSYS, as on a kernel built without it;
 * --no-userns    the command runs in a user namespace whose limit on nested
 *                user namespaces is 0, as on a machine that forbids them;
 * --user UID     the command runs as UID (and gid UID), not root.
 *
 * The command always runs as pid 1 of a new pid namespace with its own
 * /proc, so that a plugin that escaped could not reach this machine's
 * processes. Must be started as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int die(const char *what)
{
    fprintf(stderr, "without: %s: %s\n", what, strerror(errno));
    return 125;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int wait_for(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 125;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int no_landlock(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return -1;
    /* Other ABIs pass too: the plugin's own filter must be the one that
     * sees and names them, not this stand-in for a kernel. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW) < 0) {
        seccomp_release(ctx);
        return -1;
    }
    const char *calls[] = {"landlock_create_ruleset", "landlock_add_rule",
                           "landlock_restrict_self"};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name(calls[i]),
                             0) < 0) {
            seccomp_release(ctx);
            return -1;
        }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    int landlock = 1, userns = 1, uid = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--no-landlock") == 0)
            landlock = 0;
        else if (strcmp(argv[i], "--no-userns") == 0)
            userns = 0;
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            uid = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: without [--no-landlock] [--no-userns] [--user UID] -- CMD...\n");
            return 2;
        }
    }
    if (i + 1 >= argc || geteuid() != 0) {
        fprintf(stderr, "without: needs a command, and root\n");
        return 2;
    }
    char **cmd = argv + i + 1;
    int in_userns = !userns || uid != 0;
    int to_child[2], to_parent[2];
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(to_parent, O_CLOEXEC) < 0)
        return die("pipe");
    pid_t a = fork();
    if (a < 0)
        return die("fork");
    if (a > 0) {
        /* Only a process outside the new user namespace may map a range
         * of ids into it. */
        char c;
        if (in_userns) {
            char path[64];
            if (read(to_parent[0], &c, 1) != 1)
                return wait_for(a);
            snprintf(path, sizeof path, "/proc/%d/uid_map", (int)a);
            if (write_file(path, "0 0 65536\n") < 0)
                return die("uid_map");
            snprintf(path, sizeof path, "/proc/%d/gid_map", (int)a);
            if (write_file(path, "0 0 65536\n") < 0)
                return die("gid_map");
        }
        if (write(to_child[1], "g", 1) != 1)
            return die("pipe write");
        return wait_for(a);
    }
    char c;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return die("prctl");
    if (in_userns) {
        if (unshare(CLONE_NEWUSER) < 0)
            return die("unshare(CLONE_NEWUSER)");
        if (write(to_parent[1], "u", 1) != 1)
            return die("pipe write");
    }
    if (read(to_child[0], &c, 1) != 1)
        return die("pipe read");
    if (unshare(CLONE_NEWNS | CLONE_NEWPID) < 0)
        return die("unshare(CLONE_NEWNS|CLONE_NEWPID)");
    pid_t b = fork();
    if (b < 0)
        return die("fork");
    if (b > 0)
        return wait_for(b);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        return die("prctl");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return die("mount /proc");
    if (!userns && write_file("/proc/sys/user/max_user_namespaces", "0\n") < 0)
        return die("user.max_user_namespaces");
    if (uid != 0) {
        if (setgroups(0, NULL) < 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) < 0 ||
            setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
            return die("become the user");
    }
    if (!landlock && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || no_landlock() < 0))
        return die("seccomp");
    execvp(cmd[0], cmd);
    return die(cmd[0]);
}
