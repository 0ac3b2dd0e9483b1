/* $/cancelRequest sent the wrong way (it is the host's notification): the
 * reserved $/ names a plugin may send are $/log and $/progress only. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r =
        forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":1}}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "$/cancelRequest from a plugin was accepted");
}
