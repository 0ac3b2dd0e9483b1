/* A descriptor on the second (LAST) record of a two-record $/log: only a
 * message's first record may carry one, so that the receiver knows which
 * message it belongs to before reading the rest. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\",";
    static const char tail[] = "\"params\":{\"level\":\"info\",\"message\":\"fd attached\"}}";
    long r = forge_record(FORGE_MORE, head, strlen(head), -1);
    if (r >= 0)
        r = forge_record(FORGE_LAST, tail, strlen(tail), FORGE_CHANNEL);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a descriptor on a continued record went unnoticed");
}
