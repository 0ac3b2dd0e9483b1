/*
 * policy: the allow-list data (see policy.h). Kept apart from the code that
 * compiles it so a review reads one table.
 */
#include "policy.h"

const struct ph_sb_rule ph_sb_policy[] = {
    /* The channel, and the descriptors the host hands over (host.open);
     * the plugin can create none itself. */
    {"recvmsg", PH_SB_ANY, "runtime receives records"},
    {"sendmsg", PH_SB_ANY, "runtime sends records"},
    {"recvfrom", PH_SB_ANY, "libc may implement recv with recvfrom"},
    {"sendto", PH_SB_ANY, "libc may implement send with sendto"},
    {"read", PH_SB_ANY, "the channel, and files the host opened for it (host.open)"},
    {"write", PH_SB_ARG0_ABOVE_STDIO,
     "the channel and files the host opened for it (host.open); stdout/stderr are closed: "
     "printf must fail, not kill"},
    {"fcntl", PH_SB_FCNTL_FD,
     "moves a descriptor from the host above 0-2 (so printf never writes into a file); "
     "checks and sets a blob's seals"},
    {"memfd_create", PH_SB_MEMFD_SEALED,
     "a blob to return (ph_result_blob): sealable, close-on-exec, never executable "
     "(mmap PROT_EXEC and execve stay refused)"},
    {"poll", PH_SB_ANY, "ph_cancelled() peeks at the channel"},
    {"ppoll", PH_SB_ANY, "libc may implement poll with ppoll"},
    {"close", PH_SB_ANY, "closing what one has is harmless"},
    {"fstat", PH_SB_ANY, "stdio checks a stream before buffering"},
    /* newfstatat (glibc's fstat) is not here: the filter cannot see that
     * its path is empty, so the host answers it (host/load_window.c). */
    {"lseek", PH_SB_ANY, "stdio on a closed stream; seeking in a file from host.open"},
    /* Memory, never executable once loaded. */
    {"brk", PH_SB_ANY, "malloc"},
    {"mmap", PH_SB_NO_EXEC_PROT, "malloc; executable mappings only while loading"},
    {"munmap", PH_SB_ANY, "free"},
    {"mremap", PH_SB_ANY, "realloc of large blocks"},
    {"mprotect", PH_SB_NO_EXEC_PROT, "malloc guard pages; never to make code"},
    {"madvise", PH_SB_ANY, "free returning memory"},
    /* Threads of one process (locks inside libc), signals to itself. */
    {"futex", PH_SB_ANY, "libc locks"},
    {"rt_sigprocmask", PH_SB_ANY, "abort() and libc internals"},
    {"rt_sigaction", PH_SB_ANY, "a plugin may handle its own faults"},
    {"rt_sigreturn", PH_SB_ANY, "return from a signal handler"},
    {"sigaltstack", PH_SB_ANY, "handlers on an alternate stack"},
    {"tgkill", PH_SB_ARG0_SELF, "abort() and raise() signal the process itself"},
    {"kill", PH_SB_ARG0_SELF, "raise() fallback, only on itself"},
    {"getpid", PH_SB_ANY, "raise() and abort()"},
    {"gettid", PH_SB_ANY, "raise() and abort()"},
    {"prlimit64", PH_SB_GET_ONLY, "getrlimit(); raising a limit is refused"},
    /* Time. */
    {"clock_gettime", PH_SB_ANY, "time, if the vDSO is not used"},
    {"clock_getres", PH_SB_ANY, "timer resolution"},
    {"gettimeofday", PH_SB_ANY, "time, if the vDSO is not used"},
    {"time", PH_SB_ANY, "time, if the vDSO is not used"},
    {"nanosleep", PH_SB_ANY, "sleep()"},
    {"clock_nanosleep", PH_SB_ANY, "sleep() in current glibc"},
    {"sched_yield", PH_SB_ANY, "spin locks"},
    {"getrandom", PH_SB_ANY, "random numbers without opening /dev/urandom"},
    {"restart_syscall", PH_SB_ANY, "a sleep interrupted by a signal"},
    /* Leaving. */
    {"exit", PH_SB_ANY, "thread exit"},
    {"exit_group", PH_SB_ANY, "process exit"},
    {0, PH_SB_ANY, 0},
};
