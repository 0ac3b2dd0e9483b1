/* A second ph.hello under another name and method table: the handshake is
 * accepted once, in its place, and never rewrites a running plugin. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.hello\",\"params\":{"
                           "\"protocol\":1,\"sdk_abi\":1,\"name\":\"echo\",\"version\":\"6.6.6\","
                           "\"methods\":[{\"name\":\"echo\"}]}}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a second handshake (as \"echo\") was accepted");
}
