/*
 * dialect: see dialect.h.
 */
#include "dialect.h"
#include "session.h"

/* Both sessions embed struct ph_sess as their first member (session.h). */
static struct ph_sess *sess(const struct ph_dialect *d)
{
    return d->mcp ? (struct ph_sess *)(void *)d->mcp : (struct ph_sess *)(void *)d->rpc;
}

void ph_dialect_abort(struct ph_dialect *d)
{
    ph_sess_abort(sess(d));
}

int ph_dialect_new(struct ph_dialect *d, int mcp, ph_host *host, const struct ph_serve_opts *o,
                   ph_serve_write_fn out, void *ud)
{
    d->rpc = NULL;
    d->mcp = NULL;
    if (mcp)
        d->mcp = ph_mcp_new(host, o, out, ud);
    else
        d->rpc = ph_serve_new(host, o, out, ud);
    return d->mcp || d->rpc ? 0 : -1;
}

void ph_dialect_free(struct ph_dialect *d)
{
    ph_serve_free(d->rpc);
    ph_mcp_free(d->mcp);
    d->rpc = NULL;
    d->mcp = NULL;
}

void ph_dialect_feed(struct ph_dialect *d, const char *b, size_t n)
{
    if (d->mcp)
        ph_mcp_feed(d->mcp, b, n);
    else
        ph_serve_feed(d->rpc, b, n);
}

void ph_dialect_flush(struct ph_dialect *d)
{
    d->mcp ? ph_mcp_flush(d->mcp) : ph_serve_flush(d->rpc);
}

void ph_dialect_eof(struct ph_dialect *d)
{
    d->mcp ? ph_mcp_eof(d->mcp) : ph_serve_eof(d->rpc);
}

void ph_dialect_stop(struct ph_dialect *d)
{
    d->mcp ? ph_mcp_stop(d->mcp) : ph_serve_stop(d->rpc);
}

void ph_dialect_cancel_all(struct ph_dialect *d)
{
    d->mcp ? ph_mcp_cancel_all(d->mcp) : ph_serve_cancel_all(d->rpc);
}

int ph_dialect_wants_input(const struct ph_dialect *d)
{
    return d->mcp ? ph_mcp_wants_input(d->mcp) : ph_serve_wants_input(d->rpc);
}

size_t ph_dialect_inflight(const struct ph_dialect *d)
{
    return d->mcp ? ph_mcp_inflight(d->mcp) : ph_serve_inflight(d->rpc);
}

int ph_dialect_done(const struct ph_dialect *d)
{
    return d->mcp ? ph_mcp_done(d->mcp) : ph_serve_done(d->rpc);
}

int ph_dialect_event(struct ph_dialect *d, json_t *ev)
{
    return d->mcp ? ph_mcp_event(d->mcp, ev) : ph_serve_event(d->rpc, ev);
}

void ph_dialect_plugins_changed(struct ph_dialect *d)
{
    if (d->mcp)
        ph_mcp_tools_changed(d->mcp);
}

int ph_dialect_buffered(const struct ph_dialect *d)
{
    return ph_sess_buffered(sess(d));
}
