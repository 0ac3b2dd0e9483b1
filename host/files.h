/*
 * files: files a plugin may read or write, opened by the host on its behalf
 * (host.open) within the operator's grants, and handed over as a descriptor.
 * Internal to the host library; see files.c and docs/configuration.md.
 */
#ifndef PH_HOST_FILES_H
#define PH_HOST_FILES_H

#include <jansson.h>
#include <stddef.h>

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

#endif
