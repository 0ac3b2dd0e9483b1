/*
 * dialect: one client session of either kind, plain JSON-RPC (serve.c) or
 * MCP (mcp.c), behind one set of calls, so that the loops that carry
 * sessions (serve_stdio.c, serve_listen.c) are written once for both.
 *
 * It only forwards: it must never hold state of its own or decide anything
 * a session or a loop should.
 */
#ifndef PH_CLI_DIALECT_H
#define PH_CLI_DIALECT_H

#include "mcp.h"
#include "serve.h"

/* Exactly one of the two is set; both owned. */
struct ph_dialect {
    ph_serve *rpc;
    ph_mcp *mcp;
};

/* Creates the session (MCP when mcp is non-zero) into d; see ph_serve_new.
 * Returns 0, or -1 when out of memory. */
int ph_dialect_new(struct ph_dialect *d, int mcp, ph_host *host, const struct ph_serve_opts *o,
                   ph_serve_write_fn out, void *ud);
void ph_dialect_free(struct ph_dialect *d);

void ph_dialect_feed(struct ph_dialect *d, const char *b, size_t n);
void ph_dialect_flush(struct ph_dialect *d);
void ph_dialect_eof(struct ph_dialect *d);
void ph_dialect_stop(struct ph_dialect *d);
void ph_dialect_cancel_all(struct ph_dialect *d);
/* ph_sess_abort: the client is dropped; its unread input is discarded. */
void ph_dialect_abort(struct ph_dialect *d);
int ph_dialect_wants_input(const struct ph_dialect *d);
size_t ph_dialect_inflight(const struct ph_dialect *d);
int ph_dialect_done(const struct ph_dialect *d);
/* ph_sess_buffered. */
int ph_dialect_buffered(const struct ph_dialect *d);
/* ph_serve_event / ph_mcp_event. */
int ph_dialect_event(struct ph_dialect *d, json_t *ev);
/* The plugins changed: an MCP client hears of new tools. */
void ph_dialect_plugins_changed(struct ph_dialect *d);

#endif
