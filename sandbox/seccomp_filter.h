/*
 * seccomp_filter: compiles the policy table (policy.h) into a filter and loads it.
 * The filter checks the architecture first: x86_64 calls go through the
 * table; i386 and x32 calls, like anything unlisted, go to the host through
 * a seccomp user-notification listener, which the loader hands to the host.
 *
 * It must never fail open: any error while building or loading the filter is
 * returned, and the loader then refuses to load the plugin.
 */
#ifndef PH_SB_SECCOMP_H
#define PH_SB_SECCOMP_H

#include <stddef.h>
#include <sys/types.h>

struct sock_fprog;

/* Compiles the policy into a BPF program; self is the pid that kill/tgkill
 * may target; threads adds the "threads" grant's rules. Runs before the rlimits (the export goes
 * through a memfd). prog->filter is malloc'ed and owned by the caller until installed. Returns 0,
 * or -1 with err filled. */
int ph_sb_seccomp_compile(pid_t self, int threads, struct sock_fprog *prog, char *err,
                          size_t errlen);

/* Sets no_new_privs and installs prog (freeing its instructions) with a new
 * notification listener. Returns the listener fd (owned by the caller), or
 * -1 with err filled. */
int ph_sb_seccomp_install(struct sock_fprog *prog, char *err, size_t errlen);

#endif
