/*
 * symbolize: names the plugin function behind a refused syscall, and reads
 * syscall arguments (paths) out of the frozen plugin process, for violation
 * reports. Best effort: any failure leaves the report without that detail.
 * It must never trust what it reads: all of it is the plugin's.
 */
#ifndef PH_HOST_SYMBOLIZE_H
#define PH_HOST_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes "function+0xoff" (or a file offset) of the plugin code that made
 * the call at pc, or that called the libc wrapper that did. plugin_path is
 * the file on the host, as mappings name it, and plugin_fd the descriptor
 * the host opened it as and handed to the loader (its symbols are read
 * from there; -1: offsets only); in_root its path inside the plugin's own
 * root. Returns 0, or -1 when no plugin code is found. */
int ph_sym_caller(pid_t pid, const char *plugin_path, int plugin_fd, const char *in_root,
                  uint64_t pc, char *out, size_t outlen);

/* Reads a NUL-terminated string at addr in pid (truncated to outlen - 1).
 * Returns 0 or -1. */
int ph_sym_read_string(pid_t pid, uint64_t addr, char *out, size_t outlen);

#endif
