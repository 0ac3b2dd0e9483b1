/* A well-framed record whose bytes are not JSON (nor UTF-8): the host must
 * end the plugin as a protocol breach, never guess at a meaning. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    static const char junk[] = "GET / HTTP/1.0\r\n\xff\xfe{{{ not json";
    long r = forge_record(FORGE_LAST, junk, sizeof junk - 1, -1);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "sent %ld bytes of garbage; the host read on", r);
}
