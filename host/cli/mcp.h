/*
 * mcp session: plughost as a Model Context Protocol server for one client,
 * so that an AI assistant can use plugin methods as tools. Like a serve
 * session (serve.h) it is fed the client's bytes and writes through a
 * callback; `plughost serve --mcp` puts it on stdin/stdout with the same
 * loop. The transport is MCP's stdio one: JSON-RPC 2.0, one message a line.
 *
 * Every plugin method PLUGIN.METHOD is offered as the tool PLUGIN__METHOD
 * (two underscores), because MCP clients and model APIs accept only
 * [a-zA-Z0-9_-]{1,64} as tool names; a method whose name cannot be spelled
 * that way, or would collide with another, is left out and the operator is
 * told. A tool's arguments are the method's params by name. A failed call
 * (the plugin's own error, a crash, a timeout, a sandbox kill) is a tool
 * result with isError, so the model can see it; only protocol faults (an
 * unknown tool, malformed params) are JSON-RPC errors.
 *
 * The session never sends a plugin anything but the arguments of a
 * tools/call, never answers a request twice, and never answers one the
 * client cancelled (MCP asks the receiver not to). Plugin notifications
 * have no MCP counterpart and are handed to the operator's event handler,
 * never to the client.
 */
#ifndef PH_CLI_MCP_H
#define PH_CLI_MCP_H

#include "serve.h"

/* Joins plugin and method in a tool name. */
#define PH_MCP_TOOL_SEP "__"

/* Protocol versions answered as asked; any other is answered with the
 * first, the newest. */
#define PH_MCP_VERSIONS                                                                            \
    {                                                                                              \
        "2025-06-18", "2025-03-26", "2024-11-05"                                                   \
    }

typedef struct ph_mcp ph_mcp;

/* Creates a session on host, whose plugins must be loaded already (the
 * tool list is taken from them here), and unless opts->routed_events
 * installs itself as the host's event handler. opts->framing is ignored (always lines). Returns
 * NULL when out of memory. */
ph_mcp *ph_mcp_new(ph_host *host, const struct ph_serve_opts *opts, ph_serve_write_fn out,
                   void *ud);

/* The same contract as the ph_serve_ function of the same name
 * (ph_mcp_event takes progress only: notifications never go to an MCP
 * client). */
int ph_mcp_event(ph_mcp *m, json_t *ev);
/* The same contract as the ph_serve_ function of the same name. */
int ph_mcp_feed(ph_mcp *m, const char *bytes, size_t n);
void ph_mcp_flush(ph_mcp *m);
void ph_mcp_eof(ph_mcp *m);
void ph_mcp_stop(ph_mcp *m);
void ph_mcp_cancel_all(ph_mcp *m);
int ph_mcp_wants_input(const ph_mcp *m);
size_t ph_mcp_inflight(const ph_mcp *m);
int ph_mcp_done(const ph_mcp *m);
void ph_mcp_free(ph_mcp *m);

/* The host's plugins changed (a reload): the tool list is rebuilt and, if
 * it differs, the client is sent notifications/tools/list_changed. */
void ph_mcp_tools_changed(ph_mcp *m);
/* The plugins of host changed (a reload): the tool list every session on
 * it shares is rebuilt by the next ph_mcp_tools_changed(). */
void ph_mcp_tools_stale(ph_host *host);

#endif
