/*
 * events: what the host tells the application (ph_host_set_event_handler),
 * one JSON object at a time, from whichever layer saw it happen.
 *
 * It must never call another module of the host library, nor keep an
 * event: each is handed over at once and freed.
 */
#include "internal.h"

void ph_host_event(struct ph_host *h, json_t *event)
{
    if (event && h->event_fn)
        h->event_fn(h->event_ud, event);
    json_decref(event);
}
