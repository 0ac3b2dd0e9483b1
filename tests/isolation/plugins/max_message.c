/* A 200 KB message in MORE records against a host run with
 * --max-message 100000: the host must stop reassembling at its limit and
 * end the plugin, not buffer whatever a plugin sends. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TOTAL (200 * 1024)

void atk_run(struct atk_outcome *o)
{
    static char chunk[FORGE_CHUNK];
    static const char head[] = "{\"jsonrpc\":\"2.0\",\"method\":\"big\",\"params\":[\"";
    memset(chunk, 'a', sizeof chunk);
    memcpy(chunk, head, sizeof head - 1);
    long sent = 0, r = 0;
    while (sent < TOTAL && r >= 0) {
        r = forge_record(FORGE_MORE, chunk, sizeof chunk, -1);
        if (r > 0)
            sent += r - 1;
    }
    if (r >= 0)
        r = forge_record(FORGE_LAST, "\"]}", 3, -1);
    atk_set(o, r < 0 ? r : sent, errno);
    snprintf(o->detail, sizeof o->detail, "sent a %ld-byte message", sent);
}
