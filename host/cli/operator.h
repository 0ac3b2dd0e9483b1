/*
 * operator: the operator's view of a running `serve --listen` host. The
 * server side answers the host's own methods, plughost/status and
 * plughost/metrics (ph_host_status, ph_host_status_exposition), and writes
 * the exposition to a file for node_exporter's textfile collector; the
 * client side is `plughost status SOCKET` and `plughost metrics SOCKET`.
 *
 * It must never answer a peer the operator did not allow (root, plughost's
 * own user, --status-allow), never be reachable from a plugin (these are
 * not host functions, and a plugin name holds no '/'), never leave a
 * half-written metrics file where the collector reads, and never print a
 * byte of a plugin's or a server's text unescaped.
 */
#ifndef PH_CLI_OPERATOR_H
#define PH_CLI_OPERATOR_H

#include "listen.h"
#include "plughost/host.h"

#include <stddef.h>
#include <sys/types.h>

/* Seconds between writes of --metrics-file when --metrics-interval is not
 * given: Prometheus's default scrape interval. */
#define PH_OP_METRICS_INTERVAL_S 15

/* The largest answer `plughost status` / `metrics` reads from a server. */
#define PH_OP_MAX_ANSWER ((size_t)64 << 20)

/* Whether uid may use the host's own methods: root, the user plughost runs
 * as, and the uids in a (--status-allow, serve.status_allow). */
int ph_op_allowed(const struct ph_listen_allow *a, uid_t uid);

/* Answers plughost/status (the status object, with "clients" in its
 * "host") or plughost/metrics ({content_type, text}; params (borrowed,
 * may be NULL) {"format": "prometheus" | "openmetrics"}). Returns 0 with
 * *result, or -1 with *error (a JSON-RPC error object); both new
 * references. */
int ph_op_answer(ph_host *host, const char *method, json_t *params, size_t clients, json_t **result,
                 json_t **error);

/* Writes the exposition to path atomically: a temporary file beside it,
 * mode 0644, then rename(2), so the collector reads a whole file or the
 * previous one. */
int ph_op_write_metrics(ph_host *host, size_t clients, const char *path, ph_error *err);

/* `plughost status SOCKET [--json]` and `plughost metrics [--openmetrics]
 * SOCKET`; return an exit code. */
int ph_op_status_cmd(const char *socket_path, int json);
int ph_op_metrics_cmd(const char *socket_path, int openmetrics);

#endif
