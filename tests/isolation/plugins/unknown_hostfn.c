/* A request for a host function that is not in the host's table: there is
 * no catch-all on the host side for a plugin to talk to. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message(
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"host.exec\",\"params\":[\"/bin/sh\"]}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "host.exec was not refused");
}
