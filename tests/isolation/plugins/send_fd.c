/* A valid $/log with a descriptor attached (the channel itself, fd 3,
 * since dup is not allowed): only ph.sandbox may carry one. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\","
                              "\"params\":{\"level\":\"info\",\"message\":\"fd attached\"}}";
    long r = forge_record(FORGE_LAST, msg, strlen(msg), FORGE_CHANNEL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a descriptor rode along unnoticed");
}
