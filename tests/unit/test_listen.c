/*
 * test_listen: the socket side of `serve --listen` (host/cli/listen.c): octal
 * modes, users and groups by name and number, a socket born with the mode
 * asked for and the umask left as it was, what may and may not be replaced
 * at the path, removal only of the socket made, SO_PEERCRED of a connected
 * peer, and systemd socket activation (whose descriptor, which variables,
 * which refusals).
 */
#include "check.h"
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];

static int listening_unix(const char *path)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 4) < 0)
        return -1;
    return s;
}

static void set_env(const char *pid, const char *fds, const char *names)
{
    char me[32];
    snprintf(me, sizeof me, "%d", (int)getpid());
    setenv("LISTEN_PID", pid ? pid : me, 1);
    setenv("LISTEN_FDS", fds, 1);
    if (names)
        setenv("LISTEN_FDNAMES", names, 1);
    else
        unsetenv("LISTEN_FDNAMES");
}

static int env_clear(void)
{
    return !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
}

static void modes_and_ids(void)
{
    unsigned m = 0;
    CHECK(ph_listen_parse_mode("0600", &m) == 0 && m == 0600);
    CHECK(ph_listen_parse_mode("660", &m) == 0 && m == 0660);
    CHECK(ph_listen_parse_mode("0777", &m) == 0 && m == 0777);
    CHECK(ph_listen_parse_mode("1777", &m) < 0);
    CHECK(ph_listen_parse_mode("", &m) < 0);
    CHECK(ph_listen_parse_mode("08", &m) < 0);
    CHECK(ph_listen_parse_mode("-1", &m) < 0);
    CHECK(ph_listen_parse_mode("0600 ", &m) < 0);

    struct ph_listen_allow a = {0};
    ph_error err;
    CHECK(ph_listen_allow_user(&a, "root", &err) == PH_OK && a.nuids == 1 && a.uids[0] == 0);
    CHECK(ph_listen_allow_user(&a, "12345", &err) == PH_OK && a.nuids == 2 && a.uids[1] == 12345);
    CHECKF(ph_listen_allow_user(&a, "no-such-user-xyz", &err) == PH_E_INVALID &&
               strstr(err.text, "unknown user \"no-such-user-xyz\""),
           "%s", err.text);
    /* (uid_t)-1 means "no uid": as a number it is refused, so it is looked
     * up as a name and not found. */
    CHECK(ph_listen_allow_user(&a, "4294967295", &err) == PH_E_INVALID);
    CHECK(ph_listen_allow_group(&a, "root", &err) == PH_OK && a.ngids == 1 && a.gids[0] == 0);
    CHECK(ph_listen_allow_group(&a, "4242", &err) == PH_OK && a.gids[1] == 4242);
    CHECK(ph_listen_allow_group(&a, "no-such-group-xyz", &err) == PH_E_INVALID);
    CHECK(a.nuids == 2 && a.ngids == 2);
    ph_listen_allow_free(&a);
    CHECK(a.uids == NULL && a.nuids == 0);
}

static void making_the_socket(void)
{
    char path[128], file[128], longp[200];
    struct stat made, st;
    ph_error err;
    int fd = -1;
    snprintf(path, sizeof path, "%s/s.sock", dir);
    mode_t before = umask(022);
    CHECKF(ph_listen_bind(path, 0640, 8, &fd, &made, &err) == PH_OK, "%s", err.text);
    mode_t after = umask(022);
    CHECK(after == 022); /* the umask is put back */
    umask(before);
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0640);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);

    /* Someone answers on it: not taken over. */
    int fd2 = -1;
    struct stat made2;
    CHECKF(ph_listen_bind(path, 0600, 8, &fd2, &made2, &err) < 0 &&
               strstr(err.text, "another server is listening"),
           "%s", err.text);

    /* Nobody answers any more (a crash left it): replaced. */
    close(fd);
    CHECKF(ph_listen_bind(path, 0600, 8, &fd2, &made2, &err) == PH_OK, "stale: %s", err.text);
    CHECK(lstat(path, &st) == 0 && (st.st_mode & 07777) == 0600);

    /* The old identity no longer matches: unlink leaves the new socket. */
    ph_listen_unlink(path, &made);
    CHECK(lstat(path, &st) == 0);
    ph_listen_unlink(path, &made2);
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
    close(fd2);

    /* A file that is not a socket is never replaced. */
    snprintf(file, sizeof file, "%s/f", dir);
    FILE *f = fopen(file, "w");
    if (f) {
        fputs("keep", f);
        fclose(f);
    }
    CHECKF(ph_listen_bind(file, 0600, 8, &fd2, &made2, &err) < 0 &&
               strstr(err.text, "not a socket"),
           "%s", err.text);
    CHECK(lstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4);

    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    CHECK(ph_listen_bind(longp, 0600, 8, &fd2, &made2, &err) == PH_E_INVALID);
}

static void peer(void)
{
    int sv[2];
    struct ph_listen_allow none = {0};
    struct ph_listen_peer p;
    char why[200] = "";
    ph_error err;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    /* This process's own user is always allowed. */
    CHECKF(ph_listen_check_peer(sv[0], &none, &p, why, sizeof why, &err) == 1, "%s", why);
    CHECK(p.pid == getpid() && p.uid == geteuid() && p.gid == getegid());
    close(sv[0]);
    close(sv[1]);
}

static void activation(void)
{
    char path[128], got[128];
    ph_error err;
    int fd = -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    CHECK(ph_listen_activated(NULL, &fd, got, sizeof got, &err) == 0);

    /* Another process's variables: not ours, left alone. */
    set_env("1", "1", NULL);
    CHECK(ph_listen_activated(NULL, &fd, got, sizeof got, &err) == 0);
    CHECK(getenv("LISTEN_PID") && strcmp(getenv("LISTEN_PID"), "1") == 0);

    /* Placeholders on 3 and 4, so the sockets below get other numbers and
     * dup2 really moves them. */
    int null = open("/dev/null", O_RDONLY);
    CHECK(null >= 0 && dup2(null, 3) == 3 && dup2(null, 4) == 4);
    if (null > 4)
        close(null);

    /* Two passed, one chosen by name: the other is closed, the chosen one
     * is close-on-exec, the variables are gone. */
    snprintf(path, sizeof path, "%s/a.sock", dir);
    int a = listening_unix(path);
    snprintf(path, sizeof path, "%s/b.sock", dir);
    int b = listening_unix(path);
    CHECK(a >= 0 && b >= 0 && dup2(a, 3) == 3 && dup2(b, 4) == 4);
    close(a);
    close(b);
    set_env(NULL, "2", "first:second");
    CHECKF(ph_listen_activated("second", &fd, got, sizeof got, &err) == 1, "%s", err.text);
    CHECK(fd == 4 && strcmp(got, path) == 0);
    CHECK(fcntl(3, F_GETFD) < 0 && errno == EBADF);
    CHECK(fcntl(4, F_GETFD) & FD_CLOEXEC);
    CHECK(env_clear());

    /* An empty name keeps its place: in "a::b" the third descriptor is
     * "b" (strtok would have merged the fields and given "b" the second),
     * and a name past the list's end is no descriptor's. */
    CHECK(dup2(4, 5) == 5); /* b.sock, the one to be named "b" */
    snprintf(path, sizeof path, "%s/c.sock", dir);
    int c = listening_unix(path);
    CHECK(c > 5 || c == 3);
    CHECK(c >= 0 && dup2(c, 4) == 4 && dup2(c, 3) == 3);
    if (c > 5)
        close(c);
    set_env(NULL, "3", "a::b");
    CHECKF(ph_listen_activated("b", &fd, got, sizeof got, &err) == 1, "%s", err.text);
    snprintf(path, sizeof path, "%s/b.sock", dir);
    CHECKF(fd == 5 && strcmp(got, path) == 0, "fd %d, %s", fd, got);
    CHECK(fcntl(3, F_GETFD) < 0 && fcntl(4, F_GETFD) < 0);
    CHECK(env_clear());
    CHECK(dup2(5, 4) == 4);
    close(5);
    CHECK(dup2(4, 3) == 3);
    set_env(NULL, "2", ":");
    CHECKF(ph_listen_activated("a", &fd, got, sizeof got, &err) < 0, "%s", err.text);
    set_env(NULL, "2", "x");
    CHECKF(ph_listen_activated("y", &fd, got, sizeof got, &err) < 0, "%s", err.text);

    /* Two passed and no name: which one is not guessed. */
    a = dup(4);
    CHECK(dup2(4, 3) == 3);
    set_env(NULL, "2", "x:y");
    CHECKF(ph_listen_activated(NULL, &fd, got, sizeof got, &err) < 0 &&
               strstr(err.text, "choose one with --listen=systemd:NAME"),
           "%s", err.text);
    CHECK(env_clear());
    set_env(NULL, "2", "x:y");
    CHECKF(ph_listen_activated("z", &fd, got, sizeof got, &err) < 0 &&
               strstr(err.text, "no socket named \"z\"") && strstr(err.text, "x:y"),
           "%s", err.text);
    close(3);
    close(4);
    close(a);

    /* Not a listening unix stream socket: refused. */
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 && dup2(sp[0], 3) == 3);
    set_env(NULL, "1", NULL);
    CHECKF(ph_listen_activated(NULL, &fd, got, sizeof got, &err) < 0 &&
               strstr(err.text, "not a listening AF_UNIX stream socket"),
           "%s", err.text);
    close(3);
    close(sp[0]);
    close(sp[1]);
    int in = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(in >= 0 && bind(in, (struct sockaddr *)&sin, sizeof sin) == 0 && listen(in, 1) == 0);
    CHECK(dup2(in, 3) == 3);
    close(in);
    set_env(NULL, "1", NULL);
    CHECK(ph_listen_activated(NULL, &fd, got, sizeof got, &err) < 0);
    close(3);
    set_env(NULL, "0", NULL);
    CHECK(ph_listen_activated(NULL, &fd, got, sizeof got, &err) < 0 && env_clear());
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/ph-listen-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    modes_and_ids();
    making_the_socket();
    peer();
    activation();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return ph_t_summary("test_listen");
}
