/* ph.drop_grant of a grant that does not exist ("everything"): grants only
 * narrow, and a plugin has no business sending the host names it does not
 * know; the host ends it rather than guess. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message("{\"jsonrpc\":\"2.0\",\"method\":\"ph.drop_grant\","
                           "\"params\":{\"grant\":\"everything\"}}");
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "an unknown grant name went unnoticed");
}
