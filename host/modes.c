/*
 * modes: whether the operator accepted a weaker mode of confinement by
 * name (--accept-weaker, docs/security.md "Reduced modes").
 *
 * It must never widen anything on its own: it only reads the host's
 * options, and calls no other module.
 */
#include "internal.h"

int ph_weaker_accepted(const struct ph_host *h, unsigned mode)
{
    return (h->opt.accept_weaker & mode) && !h->opt.audit;
}
