/* A result for a request id the host never sent: answering calls that do
 * not exist must not reach, or confuse, anyone waiting on a real one. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message("{\"jsonrpc\":\"2.0\",\"id\":987654321,\"result\":\"forged\"}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a result for id 987654321 was accepted");
}
