/*
 * escaper: under `plughost profile`, tries each call the sandbox exists to
 * close (processes, namespaces, bpf, io_uring, perf, keys, ptrace, mounts,
 * modules, executable memory) and reports what each returned. Profile must
 * fail them with an errno and record them, never let them through. Run only
 * inside a pid namespace (tests/integration/CMakeLists.txt): if profile did
 * let a fork through, the child exits at once.
 */
#include <plughost/sdk.h>

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static json_t *try_all(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    json_t *out = json_object();
    struct {
        const char *name;
        long nr;
        long a0, a1, a2, a3, a4, a5;
    } calls[] = {
        {"fork", SYS_clone, 17 /* SIGCHLD */, 0, 0, 0, 0, 0},
        {"unshare_user_net", SYS_unshare, CLONE_NEWUSER | CLONE_NEWNET, 0, 0, 0, 0, 0},
        {"setns", SYS_setns, 3, 0, 0, 0, 0, 0},
        {"bpf", SYS_bpf, 0, 0, 0, 0, 0, 0},
        {"io_uring_setup", SYS_io_uring_setup, 1, 0, 0, 0, 0, 0},
        {"perf_event_open", SYS_perf_event_open, 0, 0, -1, -1, 0, 0},
        {"keyctl", SYS_keyctl, 0, 0, 0, 0, 0, 0},
        {"add_key", SYS_add_key, 0, 0, 0, 0, 0, 0},
        {"ptrace", SYS_ptrace, 0 /* TRACEME */, 0, 0, 0, 0, 0},
        {"mount", SYS_mount, 0, 0, 0, 0, 0, 0},
        {"init_module", SYS_init_module, 0, 0, 0, 0, 0, 0},
        {"execve", SYS_execve, 0, 0, 0, 0, 0, 0},
        {"mmap_exec", SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0},
        {"process_vm_readv", SYS_process_vm_readv, 1, 0, 0, 0, 0, 0},
        {"ioctl", SYS_ioctl, 3, 0x5412 /* TIOCSTI */, 0, 0, 0, 0},
        {"socket_netlink", SYS_socket, 16 /* AF_NETLINK */, 3 /* SOCK_RAW */, 12, 0, 0, 0},
        {"socket_vsock", SYS_socket, 40 /* AF_VSOCK */, 1 /* SOCK_STREAM */, 0, 0, 0, 0},
        {"chmod", SYS_chmod, (long)"/", 0777, 0, 0, 0, 0},
        {"utimensat", SYS_utimensat, -100 /* AT_FDCWD */, (long)"/", 0, 0, 0, 0},
        {"flock", SYS_flock, 3, 2 /* LOCK_EX */, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        errno = 0;
        long r = syscall(calls[i].nr, calls[i].a0, calls[i].a1, calls[i].a2, calls[i].a3,
                         calls[i].a4, calls[i].a5);
        if (r == 0 && calls[i].nr == SYS_clone)
            _exit(0); /* a child, which must never exist */
        json_object_set_new(out, calls[i].name,
                            json_pack("{s:I,s:s}", "ret", (json_int_t)r, "errno",
                                      r < 0 ? strerror(errno) : "none"));
    }
    return out;
}

/* stat of a path: let through under profile only inside the private root,
 * since Landlock does not mediate it. */
static json_t *try_stat(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    char st[256];
    errno = 0;
    long r = syscall(SYS_stat, "/usr/lib", st);
    return json_pack("{s:I,s:s}", "ret", (json_int_t)r, "errno", r < 0 ? strerror(errno) : "none");
}

static const ph_method methods[] = {
    {"try_all", try_all, "tries what the sandbox exists to close", NULL},
    {"try_stat", try_stat, "stats a path", NULL},
    {0}};

PH_PLUGIN(.name = "escaper", .version = "1", .methods = methods);
