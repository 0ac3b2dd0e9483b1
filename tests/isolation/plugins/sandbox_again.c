/* A second ph.sandbox whose descriptor is the channel, not a seccomp
 * listener: an attempt to swap the listener the host watches for one the
 * plugin controls. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"ph.sandbox\","
                              "\"params\":{\"layers\":{\"seccomp\":\"none\"}}}";
    long r = forge_record(FORGE_LAST, msg, strlen(msg), FORGE_CHANNEL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a second ph.sandbox was accepted");
}
