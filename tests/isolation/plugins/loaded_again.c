/* ph.loaded out of turn: from a constructor it would close the loading
 * window early (harmless), and the loader's own ph.loaded must then be a
 * breach; after the handshake it is a breach at once. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.loaded\"}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "ph.loaded out of turn was accepted");
}
