/*
 * files: files a plugin may read or write, opened by the host on its behalf
 * (host.open) within the operator's grants, and handed over as a descriptor.
 * Internal to the host library; see files.c and docs/configuration.md.
 */
#ifndef PH_HOST_FILES_H
#define PH_HOST_FILES_H

#include <jansson.h>
#include <stddef.h>
#include <sys/stat.h>

struct ph_host;
struct ph_plug;

/* Checks one grant's spelling ("/dir/", "/dir/name" or "/dir/PATTERN", e.g. a "*.csv"):
 * absolute, no ".", ".." or empty component, a pattern only in the last
 * component. Returns 0, or -1 with why filled. */
int ph_files_grant_syntax(const char *grant, char *why, size_t whylen);

/* Answers a plugin's host.open: on success returns 0, *result is a new
 * reference and *fd an open descriptor owned by the caller; on refusal
 * returns -1 with *error a new reference (a JSON-RPC error object) and *fd
 * -1. Never opens anything outside the plugin's grants. */
int ph_files_open(struct ph_host *h, struct ph_plug *p, json_t *params, json_t **result, int *fd,
                  json_t **error);

/* The largest plugin file the host opens: a sane plugin is far smaller, and
 * a larger one (a sparse file of 100 GB, say) is refused before a byte of
 * it is read or hashed. The same bound as the symbolizer's. */
#define PH_PLUGIN_FILE_MAX ((off_t)64 << 20)

/* The one way the host opens a file it did not make and only reads (a
 * plugin file, a manifest, the configuration): name relative to dirfd
 * (AT_FDCWD: a path), a symbolic link as the last component refused unless
 * follow, then only a regular file of at most max bytes is opened, without
 * ever blocking (O_NONBLOCK, O_NOCTTY; a FIFO, socket or device is looked at
 * through O_PATH and never opened), and it must still be the file looked
 * at. Returns the descriptor (close-on-exec, blocking again), its stat in
 * *st (may be NULL), or -1 with why filled and errno set (ENOENT when
 * there is no such file). Every later read, hash or hand-over uses the
 * descriptor, never the name again. */
int ph_files_open_regular(int dirfd, const char *name, int follow, off_t max, struct stat *st,
                          char *why, size_t whylen);

#endif
