/* One record of 40000 bytes, over the protocol's 32768: the host reads
 * with a buffer one byte larger than a record may be, so it sees the
 * truncation and must end the plugin instead of parsing half a record. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void atk_run(struct atk_outcome *o)
{
    static char big[40000];
    memset(big, ' ', sizeof big);
    long r = forge_record(FORGE_LAST, big, sizeof big, -1);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "a %ld-byte record went unnoticed", r);
}
