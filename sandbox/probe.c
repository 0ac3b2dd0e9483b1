/*
 * probe: see probe.h.
 */
#include "probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct {
    long pid;
    int passwd_errno; /* open("/etc/passwd") under Landlock and the new root */
    int tcp_errno;    /* TCP connect to 127.0.0.1:1 under Landlock/netns */
    int hostfs_errno; /* open("/proc/1/environ"): no /proc in the new root */
} seen;

static int open_errno(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    return errno;
}

void ph_sb_probe_observe(void)
{
    seen.pid = (long)getpid();
    seen.passwd_errno = open_errno("/etc/passwd");
    seen.hostfs_errno = open_errno("/proc/1/environ");
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        seen.tcp_errno = errno;
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1)};
        a.sin_addr.s_addr = htonl(0x7f000001);
        seen.tcp_errno = connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
        close(s);
    }
}

static json_t *observe(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    return json_pack("{s:I,s:s,s:s,s:s}", "pid", (json_int_t)seen.pid, "open_etc_passwd",
                     seen.passwd_errno ? strerror(seen.passwd_errno) : "succeeded", "open_proc",
                     seen.hostfs_errno ? strerror(seen.hostfs_errno) : "succeeded", "tcp_connect",
                     seen.tcp_errno ? strerror(seen.tcp_errno) : "succeeded");
}

/* Each returns only if the sandbox failed to stop the call. */
static json_t *escaped(const char *what)
{
    return json_pack("{s:b,s:s}", "escaped", 1, "call", what);
}

static json_t *try_socket(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    return escaped(s >= 0 ? "socket" : "socket (failed without a kill)");
}

static json_t *try_open(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
    return escaped(fd >= 0 ? "openat" : "openat (failed without a kill)");
}

static json_t *try_clone(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (r == 0)
        _exit(0);
    return escaped("clone");
}

static json_t *try_execve(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    syscall(SYS_execve, "/nonexistent", NULL, NULL);
    return escaped("execve");
}

static json_t *try_ptrace(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
    return escaped("ptrace");
}

static json_t *try_mprotect_exec(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    static char page[8192] __attribute__((aligned(4096)));
    syscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
    return escaped("mprotect");
}

static json_t *try_kill_all(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    /* Signal 0 only checks permission: harmless if the filter fails. */
    syscall(SYS_kill, -1, 0);
    return escaped("kill");
}

static json_t *try_int80(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    long ret = 20; /* getpid in the i386 table */
    __asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
    return escaped("int 0x80");
}

static json_t *try_x32(ph_ctx *c, json_t *p)
{
    (void)c, (void)p;
    syscall(0x40000000L | SYS_getpid);
    return escaped("x32 getpid");
}

static const ph_method methods[] = {
    {"observe", observe, "what the confined process can see", NULL},
    {"try_socket", try_socket, "socket(AF_UNIX): must be refused", NULL},
    {"try_open", try_open, "openat(\"/\"): must be refused", NULL},
    {"try_clone", try_clone, "clone (a process): must be refused", NULL},
    {"try_execve", try_execve, "execve: must be refused", NULL},
    {"try_ptrace", try_ptrace, "ptrace(TRACEME): must be refused", NULL},
    {"try_mprotect_exec", try_mprotect_exec, "mprotect(PROT_EXEC): must be refused", NULL},
    {"try_kill_all", try_kill_all, "kill(-1, 0): must be refused", NULL},
    {"try_int80", try_int80, "i386 int 0x80: must be refused", NULL},
    {"try_x32", try_x32, "an x32 syscall number: must be refused", NULL},
    {0},
};

const ph_plugin ph_sb_probe_plugin = {.abi = PH_SDK_ABI,
                                      .name = "probe",
                                      .version = "1",
                                      .description = "plughost's built-in sandbox self-test",
                                      .methods = methods};
