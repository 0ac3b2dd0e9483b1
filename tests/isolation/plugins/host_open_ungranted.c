/* Asks the host to open /etc/passwd for it (host.open), with no file grant
 * at all: the host must refuse (-32006, reported here as EACCES) and hand
 * over no descriptor. */
#include "attack.h"

#include <errno.h>
#include <plughost/sdk.h>
#include <stdio.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    int fd = -1;
    json_t *error = NULL;
    int rc = ph_open(atk_ctx(), "/etc/passwd", "r", 0, &fd, &error);
    json_int_t code = json_integer_value(json_object_get(error, "code"));
    atk_set(o, rc == 0 ? fd : -1, rc == 0 ? 0 : code == -32006 ? EACCES : EIO);
    snprintf(o->detail, sizeof o->detail, "host.open: %s",
             rc == 0 ? "got a descriptor" : json_string_value(json_object_get(error, "message")));
    if (fd >= 0)
        close(fd);
    json_decref(error);
}
