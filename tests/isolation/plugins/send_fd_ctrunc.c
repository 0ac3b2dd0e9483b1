/* Sixteen descriptors on one record, more than the host makes room for:
 * the kernel truncates the control data (MSG_CTRUNC) and the host must
 * refuse the record rather than parse it as if nothing had come along. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\","
                              "\"params\":{\"level\":\"info\",\"message\":\"sixteen fds\"}}";
    long r = forge_record_fds(FORGE_LAST, msg, strlen(msg), FORGE_CHANNEL, 16);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "truncated control data went unnoticed");
}
