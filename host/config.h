/*
 * config: the operator's configuration and plugin manifests (see config.c
 * and docs/configuration.md). Internal to the host library.
 */
#ifndef PH_HOST_CONFIG_H
#define PH_HOST_CONFIG_H

#include "plughost/host.h"

#include <sys/stat.h>

struct ph_host;

/* What one plugin process gets: the configuration's values for its file,
 * narrowed by its manifest. */
struct ph_plug_settings {
    unsigned call_timeout_ms, handshake_timeout_ms, cpu_limit_s;
    size_t memory_limit;
    int threads;
    char sha256[65]; /* the pin, or "" */
    /* RLIMIT_AS; 0: memory_limit. Apart from memory_limit so that the
     * cgroup (resident memory) can be the tighter bound. */
    size_t address_space_limit;
    /* The pool: processes of this plugin at most, and how long one past the
     * first may sit idle before it is stopped. */
    unsigned instances, idle_stop_ms;
    unsigned isolate, spares; /* PH_ISOLATE_*, and instances started ahead */
    int singleton;            /* its manifest says it must run as one process */
};

/* PH_ISOLATE_* for an "isolate" value, or -1 (NULL or unknown). */
int ph_config_isolate(const char *name);

/* Fills empty options from the configuration's "defaults". */
void ph_config_defaults(ph_host_options *o, json_t *config);

/* Resolves the settings of a plugin file. Returns PH_OK, or an error (a need
 * beyond the grants, a bad manifest) with err filled. */
int ph_plug_settings(struct ph_host *h, const char *file, struct ph_plug_settings *s,
                     ph_error *err);

/* Opens the plugin file (ph_files_open_regular(): a regular file of at
 * most PH_PLUGIN_FILE_MAX bytes, not a symbolic link, never blocking) and
 * checks it against pin (if any), so the file checked is the file loaded:
 * the child gets this descriptor. Returns the fd (owned by the caller) or
 * a negative status with err filled; hash gets the file's sha256 when a pin
 * was checked or want_hash, else ""; *st (may be NULL) its stat. */
int ph_plug_open_checked(const char *file, const char *pin, int want_hash, char hash[65],
                         struct stat *st, ph_error *err);

#endif
