/*
 * cli: the plughost command, a thin front end on the public host API
 * (include/plughost/host.h). It must never reach into the library's
 * internals: whatever it needs, an embedding application can do too.
 */
#ifndef PH_CLI_H
#define PH_CLI_H

#include "plughost/host.h"

/* Exit codes of `plughost call` (and of the other commands where they
 * apply); documented in the README and `plughost --help`. */
enum ph_cli_exit {
    PH_EXIT_OK = 0,
    PH_EXIT_METHOD_ERROR = 1,
    PH_EXIT_USAGE = 2,
    PH_EXIT_NOT_FOUND = 3,
    PH_EXIT_CRASHED = 4,
    PH_EXIT_TIMEOUT = 5,
    PH_EXIT_VIOLATION = 6,
    PH_EXIT_PROTOCOL = 7,
    PH_EXIT_LIMIT = 8,
    PH_EXIT_HOST = 9,
};

struct ph_cli_opts {
    ph_host_options host;
    int json;
    int framing;         /* serve: enum ph_framing (framing.h); 0 is auto */
    size_t max_inflight; /* serve: 0 is PH_SERVE_MAX_INFLIGHT */
    int mcp;             /* serve: Model Context Protocol instead of plain JSON-RPC */
};

/* Prints host events (logs, traces, endings) on stderr, labelled. */
void ph_cli_print_event(void *ud, json_t *event);

/* Loads DIR, or a single plugin file when path is a regular file. */
int ph_cli_load(ph_host *h, const char *path, ph_error *err);

/* Runs `plughost profile ...` (audit mode; profile.c); returns an exit code. */
int ph_cli_profile(const struct ph_cli_opts *o, int argc, char **argv);

/* Runs `plughost serve PATH`; returns an exit code. */
int ph_cli_serve(const struct ph_cli_opts *o, const char *path);

#endif
