/* While loading, ph.setup_failed naming a violation, with a made-up exit
 * code, then a real exit with status 3: the host reports a setup error
 * with the exit code the kernel gave, never a violation. */
#include "attack.h"
#include "forge.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

void atk_run(struct atk_outcome *o)
{
    long r = forge_message(
        "{\"jsonrpc\":\"2.0\",\"method\":\"ph.setup_failed\",\"params\":{"
        "\"stage\":\"seccomp\",\"message\":\"forbidden syscall reboot\","
        "\"status\":\"violation\",\"syscall\":\"reboot\",\"syscall_nr\":169,\"exit_code\":0}}");
    if (r >= 0)
        _exit(3);
    atk_set(o, r, errno);
    snprintf(o->detail, sizeof o->detail, "could not send ph.setup_failed");
}
