/* A record whose flag byte is neither LAST (0x00) nor MORE (0x01), carrying
 * an otherwise valid message: framing is checked before content. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static const char msg[] = "{\"jsonrpc\":\"2.0\",\"method\":\"$/log\","
                              "\"params\":{\"level\":\"info\",\"message\":\"flag 0x02\"}}";
    long r = forge_record(0x02, msg, strlen(msg), -1);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "record with flag 0x02 accepted");
}
