/*
 * cgroup: one control group per plugin process, bounding its resident
 * memory (swap included) and its number of tasks, on a cgroup v2 hierarchy
 * or, failing that, on the cgroup v1 memory and pids hierarchies. See
 * cgroup.c and docs/security.md ("cgroups"). Internal to the host library.
 */
#ifndef PH_HOST_CGROUP_H
#define PH_HOST_CGROUP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define PH_CG_PATH 512
/* pids.max of a plugin with the "threads" grant (1 without): its threads,
 * like its descriptors (RLIMIT_NOFILE 64), are bounded by a fixed figure. */
#define PH_CG_THREADS_PIDS 64

/* What the host found and arranged once, at ph_host_new. */
struct ph_cg_host {
    int version;                /* 0: the layer is inactive; 1 or 2 */
    int required;               /* "require": ["cgroup"]: placement failures are fatal */
    char detail[512];           /* how it is arranged, or why it is inactive */
    char base[PH_CG_PATH];      /* v2: parent of the plugin cgroups; v1: in the memory tree */
    char base_pids[PH_CG_PATH]; /* v1: parent of the plugin cgroups in the pids tree */
    char leaf[PH_CG_PATH];      /* v2: the leaf the host moved itself into, or "" */
    int created;    /* base made here (removed by ph_cg_host_free): always, once active */
    unsigned seq;   /* numbers the plugin cgroups */
    char **pending; /* owned: plugin cgroups whose rmdir said EBUSY, to retry */
    size_t npending, cap;
};

/* One plugin process's cgroup. */
struct ph_cg_plug {
    int version;                /* 0: not in a cgroup of its own */
    int dirfd;                  /* v2: the cgroup, for CLONE_INTO_CGROUP; else -1 */
    int procs_fd[2];            /* v1: its cgroup.procs (memory, pids), for the child */
    char path[PH_CG_PATH];      /* v2: the cgroup; v1: its memory cgroup */
    char path_pids[PH_CG_PATH]; /* v1: its pids cgroup */
    size_t memory_max;
    unsigned pids_max;
    int swap_bounded; /* memory.swap.max / memory.memsw.limit_in_bytes was set */
    json_t *layer;    /* owned: the record shown in the plugin's "layers" */
};

/* Finds the hierarchy from /proc/self/mountinfo and /proc/self/cgroup and
 * arranges the host's subtree. Never fails: an unusable machine leaves
 * version 0 and the reason in detail. */
void ph_cg_host_setup(struct ph_cg_host *cg, int required);

/* The cgroup v2 arrangement alone, on the hierarchy mounted at mnt, for a
 * host whose own cgroup is own ("/..."), as process self. Returns 0 (active)
 * or -1 with the reason in cg->detail. Separate so that it can be tested on
 * a fake tree. */
int ph_cg_setup_v2(struct ph_cg_host *cg, const char *mnt, const char *own, pid_t self);

/* The v1 arrangement, given each hierarchy's directory holding the host.
 * Returns 0 or -1 with the reason in cg->detail. */
int ph_cg_setup_v1(struct ph_cg_host *cg, const char *mem_dir, const char *pids_dir, pid_t self);

/* Tests on fake trees only (NULL otherwise): called with each cgroup
 * directory this module makes, so that the test can give it the control
 * files the kernel would. */
extern void (*ph_cg_made_hook)(const char *dir);

/* Undoes the host's arrangement (the plugin cgroups are gone by then). */
void ph_cg_host_free(struct ph_cg_host *cg);

/* Creates a plugin's cgroup named after label, with its limits. Returns 0,
 * or -1 with the reason in why (and c->layer saying so). The same as
 * ph_cg_plug_name() then ph_cg_plug_make(). */
int ph_cg_plug_create(struct ph_cg_host *cg, struct ph_cg_plug *c, const char *label,
                      size_t memory_max, unsigned pids_max, char *why, size_t whylen);

/* The two halves of ph_cg_plug_create(). Naming touches the host's record
 * (its sequence and its list of groups to remove again) and belongs to the
 * loop; making (mkdir, the limits, the descriptors the child joins by)
 * touches only c and reads cg, so the spawner's thread may do it while the
 * loop runs (spawn.c). */
void ph_cg_plug_name(struct ph_cg_host *cg, struct ph_cg_plug *c, const char *label);
int ph_cg_plug_make(const struct ph_cg_host *cg, struct ph_cg_plug *c, size_t memory_max,
                    unsigned pids_max, char *why, size_t whylen);

/* In the child between clone and exec: v1, moves the calling process into
 * its cgroups (v2 children are born there); then, with cgroup_ns (the child
 * was given a cgroup namespace), makes a new cgroup namespace rooted at the
 * plugin's own cgroup. Only write(2) and unshare(2), so safe there.
 * Returns 0, or -1 with errno set. */
int ph_cg_plug_join(const struct ph_cg_plug *c, int cgroup_ns);

/* In the host once the child exists: closes what only the child needed. */
void ph_cg_plug_spawned(struct ph_cg_plug *c);

/* After the process is reaped: how many times the kernel's OOM killer
 * struck in the cgroup (0 if none or unknown). */
struct ph_worker;
/* ph_cg_plug_remove() with the rmdirs on w's thread (a v1 memory cgroup's
 * has taken 10 ms here); what is busy comes back to be retried as there.
 * Without w, or out of memory, it is ph_cg_plug_remove(). cg must outlive
 * the job: ph_worker_stop() comes before ph_cg_host_free(). */
void ph_cg_plug_remove_on(struct ph_cg_host *cg, struct ph_cg_plug *c, struct ph_worker *w);

long ph_cg_plug_oom_kills(const struct ph_cg_plug *c);

/* After the process is reaped: removes the cgroup, or, if the kernel still
 * counts the task in it (EBUSY), puts it on cg's list to retry at the next
 * create or remove and at ph_cg_host_free. Never waits. Also retries that
 * list. The layer record stays. */
void ph_cg_plug_remove(struct ph_cg_host *cg, struct ph_cg_plug *c);

/* Records in c->layer that the plugin runs without a cgroup, and why. */
void ph_cg_plug_skip(struct ph_cg_plug *c, const char *why);

/* Checks from outside that pid sits in c and that the limits read back as
 * set. Returns 0, or -1 with what differs in why. */
int ph_cg_plug_verify(const struct ph_cg_plug *c, pid_t pid, char *why, size_t whylen);

#endif
