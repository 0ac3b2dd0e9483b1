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
    /* serve --listen (serve_listen.c): a socket path, or "systemd" /
     * "systemd:NAME" for socket activation; NULL: stdin/stdout. */
    const char *listen;
    const char *socket_mode;   /* octal; NULL: the configuration's, else 0600 */
    size_t max_clients;        /* 0: the configuration's, else PH_LISTEN_MAX_CLIENTS */
    unsigned stall_ms;         /* 0: PH_LISTEN_STALL_MS */
    size_t max_client_message; /* 0: PH_LISTEN_MAX_MESSAGE */
    size_t max_per_user;       /* 0: PH_LISTEN_PER_USER(max_clients) */
    /* call --blob-in FILE / --blob-out FILE: bytes beside the params
     * (ph_host_call_blob); borrowed from argv, NULL: none. */
    const char *blob_in, *blob_out;
    /* --allow-user / --allow-group values, borrowed from argv. */
    const char **allow_users, **allow_groups;
    size_t nallow_users, nallow_groups;
    const char *record; /* call, serve: transcript file (--record), or NULL */
    const char *pins;   /* serve: pins file (--pins), or NULL */
    int allow_unpinned; /* serve --pins: offer plugins the pins do not name */
    /* serve --listen: --status-allow values (borrowed from argv), who may
     * use plughost/status and plughost/metrics besides root and our own
     * user; --metrics-file PATH, rewritten every --metrics-interval S. */
    const char **status_allow;
    size_t nstatus_allow;
    const char *metrics_file;
    unsigned metrics_interval_s; /* 0: PH_OP_METRICS_INTERVAL_S */
    int openmetrics;             /* metrics: OpenMetrics instead of Prometheus 0.0.4 */
};

/* Prints host events (logs, traces, endings) on stderr, in the format
 * --log-format put in force (log.h). */
void ph_cli_print_event(void *ud, json_t *event);

/* Starts the transcript of --record FILE, if asked (before loading). */
int ph_cli_record(ph_host *h, const struct ph_cli_opts *o, ph_error *err);

/* Loads DIR, or a single plugin file when path is a regular file. */
int ph_cli_load(ph_host *h, const char *path, ph_error *err);

/* Runs `plughost new NAME [DIR]` (new.c): writes the installed plugin
 * template into DIR; returns an exit code. */
int ph_cli_new(int argc, char **argv);

/* Runs `plughost profile ...` (audit mode; profile.c); returns an exit code. */
int ph_cli_profile(const struct ph_cli_opts *o, int argc, char **argv);

/* Runs `plughost replay TRANSCRIPT ...` (replay.c); returns an exit code. */
int ph_cli_replay(const struct ph_cli_opts *o, int argc, char **argv);

/* Puts the --pins file in force, if given (pin.c); err names file:line:column
 * for a file that is not JSON. */
int ph_cli_pins(ph_host *h, const struct ph_cli_opts *o, ph_error *err);

/* Runs `plughost pin [--output PINS] PATH...` (pin.c); returns an exit code. */
int ph_cli_pin(const struct ph_cli_opts *o, int argc, char **argv);

/* Runs `plughost serve PATH`; returns an exit code. */
int ph_cli_serve(const struct ph_cli_opts *o, const char *path);

/* Runs `plughost serve --listen ... PATH` (serve_listen.c). */
int ph_cli_serve_listen(const struct ph_cli_opts *o, const char *path);

/* What both serve loops share (serve_stdio.c). Blocks SIGTERM, SIGINT and
 * SIGHUP into a signalfd (*sfd), creates the host and loads path, printing
 * why on failure. Returns PH_EXIT_OK or an exit code. */
int ph_cli_serve_start(const struct ph_cli_opts *o, const char *path, ph_host **host, int *sfd);
/* Reads the signalfd: returns SIGTERM/SIGINTs, counts SIGHUPs in *hup. */
int ph_cli_take_signals(int sfd, int *hup);
/* SIGHUP: re-reads the --pins file, if any, and brings the plugins in line
 * with the directory path. */
void ph_cli_serve_reload(const struct ph_cli_opts *o, ph_host *host, const char *path);

#endif
