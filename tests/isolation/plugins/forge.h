/*
 * Raw access to the channel for the message-level attacks: a hostile
 * plugin need not use the SDK's runtime to talk to the host, since the
 * filter allows sendmsg on the channel (fd 3). These write wire records
 * (docs/protocol.md section 2) exactly as given, right or wrong.
 */
#ifndef ISO_FORGE_H
#define ISO_FORGE_H

#include <stddef.h>

#define FORGE_CHANNEL 3
#define FORGE_LAST 0x00
#define FORGE_MORE 0x01
#define FORGE_CHUNK 32767 /* the most a record may carry after its flag */

/* Sends one record: the flag byte, then n bytes of data; pass_fd >= 0 goes
 * with it as SCM_RIGHTS. Returns sendmsg's result (errno set on -1). */
long forge_record(unsigned char flag, const void *data, size_t n, int pass_fd);

/* Like forge_record() with nfds copies of fd in one SCM_RIGHTS message
 * (nfds up to 16). */
long forge_record_fds(unsigned char flag, const void *data, size_t n, int fd, int nfds);

/* Sends text as one well-framed message (MORE records, then LAST).
 * Returns the number of bytes of text sent, or -1. */
long forge_message(const char *text);

#endif
