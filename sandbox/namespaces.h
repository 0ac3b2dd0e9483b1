/*
 * namespaces: the loader's view of the world once the host has cloned it
 * into new user, pid, network, IPC, UTS, mount and cgroup namespaces. In the
 * mount namespace it builds a root that holds only the system libraries
 * (read-only) and the plugin file, and pivots into it; then it drops every
 * capability it had inside its user namespace.
 *
 * It must never leave the old root reachable, and never keep a capability.
 */
#ifndef PH_SB_NAMESPACES_H
#define PH_SB_NAMESPACES_H

#include <stddef.h>

/* Path of the plugin inside the new root. */
#define PH_SB_PLUGIN_IN_ROOT "/plugin.so"

/* Builds the library-only root, with a checked copy of the plugin from
 * plugin_fd (none if -1) at PH_SB_PLUGIN_IN_ROOT, and pivots into it. pin is
 * the expected sha256 or "-". Returns 0 or -1 with err filled. Only valid in
 * a private mount namespace. */
int ph_sb_ns_pivot(int plugin_fd, const char *pin, char *err, size_t errlen);

/* Drops every capability: bounding set, ambient, effective, permitted,
 * inheritable. If run_uid is not -1 the process first becomes run_uid and
 * run_gid with no supplementary groups (a host that is root must never run
 * a plugin as root outside its namespace), and checks that it cannot go
 * back. Returns 0 or -1 with err filled. */
int ph_sb_drop_caps(long run_uid, long run_gid, char *err, size_t errlen);

#endif
