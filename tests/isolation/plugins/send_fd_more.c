/* A descriptor on the first (MORE) record of a two-record $/log: a
 * descriptor on a continued record is refused as well. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\",";
    static const char tail[] = "\"params\":{\"level\":\"info\",\"message\":\"fd attached\"}}";
    long r = forge_record(FORGE_MORE, head, strlen(head), FORGE_CHANNEL);
    if (r >= 0)
        r = forge_record(FORGE_LAST, tail, strlen(tail), -1);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a descriptor on a MORE record went unnoticed");
}
