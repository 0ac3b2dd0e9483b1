/*
 * probe: a plugin built into the loader (run with PLUGIN_PATH "--probe"),
 * used by `plughost doctor` and the start-up self-test. Before the filter
 * goes on it records what the confined process can see; each try_* method
 * then makes one forbidden call, which the host must refuse and name.
 *
 * It must never be loaded from a file: it is trusted code, and the host
 * checks the outcome of every try_* against what it expects.
 */
#ifndef PH_SB_PROBE_H
#define PH_SB_PROBE_H

#include "plughost/sdk.h"

/* Records observations; call after every layer but seccomp is in place. */
void ph_sb_probe_observe(void);

extern const ph_plugin ph_sb_probe_plugin;

#endif
