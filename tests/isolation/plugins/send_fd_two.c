/* Two descriptors (the channel, twice) on the one record of a valid
 * $/log: a message carries at most one, and the host must close both
 * copies, not only the one it looks at. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\","
                              "\"params\":{\"level\":\"info\",\"message\":\"two fds\"}}";
    long r = forge_record_fds(FORGE_LAST, msg, strlen(msg), FORGE_CHANNEL, 2);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "two descriptors on one record went unnoticed");
}
