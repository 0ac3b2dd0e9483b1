/*
 * landlock: the filesystem, network and scope layer under seccomp. While the
 * plugin loads it may read only its own file and the system's libraries;
 * TCP bind/connect and (ABI 6) signals and abstract unix sockets outside the
 * sandbox are refused. After loading, seccomp refuses every open anyway.
 *
 * It never widens anything: a kernel without Landlock leaves this layer off,
 * and the loader reports that instead of pretending.
 */
#ifndef PH_SB_LANDLOCK_H
#define PH_SB_LANDLOCK_H

#include <stddef.h>

/* Restricts the calling process. Returns the Landlock ABI enforced (>= 1),
 * 0 when the kernel has no Landlock (nothing done), or -1 with err filled. */
int ph_sb_landlock_apply(const char *plugin_path, char *err, size_t errlen);

#endif
