/* ph.shutdown sent the wrong way: ph. names are the host's and the
 * loader's, never forwarded to a client as the plugin's own. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.shutdown\"}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "ph.shutdown from a plugin was accepted");
}
