/* The method fails with the host's own violation code, -32002, and data
 * saying status "violation", syscall "reboot": a plugin must not be able
 * to pass an error of its own off as a sandbox kill. */
#include "attack.h"

#include <plughost/sdk.h>

#include <stdio.h>

void atk_run(struct atk_outcome *o)
{
    ph_ctx *ctx = atk_ctx();
    if (!ctx) {
        snprintf(o->detail, sizeof o->detail, "no call to fail");
        return;
    }
    ph_error_data(ctx, -32002,
                  json_pack("{s:s,s:s,s:i,s:s,s:s}", "status", "violation", "syscall", "reboot",
                            "syscall_nr", 169, "arch", "x86_64", "phase", "running"),
                  "plugin %s was killed by the sandbox: forbidden syscall reboot",
                  ph_ctx_plugin(ctx));
    o->failed = 1;
}
