/*
 * plugin_file: the loader's private copy of the plugin file. The host opens
 * the file (and checks its pin) and hands the descriptor over; the loader
 * copies the bytes into storage only it can reach (its own tmpfs root, or a
 * sealed memfd), hashing them as it goes when the operator pinned a hash,
 * and loads the copy. So the bytes checked are the bytes run, even if the
 * file changes on disk meanwhile.
 *
 * It must never load anything but the copy, and never keep the host's
 * descriptor past the copy.
 */
#ifndef PH_SB_PLUGIN_FILE_H
#define PH_SB_PLUGIN_FILE_H

#include <stddef.h>

/* Copies from src into dst_fd (both owned by the caller), checking the
 * result against pin (64 hex digits, or NULL/"-" for none). Returns 0 or -1
 * with err filled. */
int ph_sb_copy_checked(int src, int dst_fd, const char *pin, char *err, size_t errlen);

/* Copies src into a sealed memfd; returns the memfd or -1 with err. */
int ph_sb_copy_to_memfd(int src, const char *pin, char *err, size_t errlen);

#endif
