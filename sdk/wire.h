/*
 * wire: the plughost record framing and JSON-RPC 2.0 message checks, shared
 * by the host and the loader's runtime so both ends parse bytes one way.
 *
 * A message is one JSON-RPC 2.0 object, UTF-8, sent over a SOCK_SEQPACKET
 * socket as one or more records. Each record is one flag byte followed by up
 * to PH_WIRE_CHUNK bytes of the message: PH_WIRE_MORE on every record but the
 * last, PH_WIRE_LAST on the last. See docs/protocol.md.
 *
 * This module does no I/O policy and no process work: it never decides what
 * to do with a peer that misbehaves, it only says how, in an error text.
 * Every byte it reads is treated as hostile.
 */
#ifndef PH_WIRE_H
#define PH_WIRE_H

#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define PH_WIRE_LAST 0x00
#define PH_WIRE_MORE 0x01
#define PH_WIRE_CHUNK (32 * 1024 - 1)
#define PH_WIRE_RECORD (PH_WIRE_CHUNK + 1)
#define PH_WIRE_DEFAULT_MAX ((size_t)64 << 20)
#define PH_WIRE_CHANNEL_FD 3 /* the socket's number in the child */
#define PH_PROTOCOL_VERSION 1

/* Reassembles records into messages. */
typedef struct ph_wire_rx {
    char *buf; /* owned */
    size_t len, cap;
    size_t max; /* largest message accepted */
    int fd;     /* owned; the descriptor that came with the first record, or -1 */
} ph_wire_rx;

/* The most descriptors a receiver makes room for in one record's control
 * data. A message carries at most one; room for a few more lets a receiver
 * tell "too many" (a breach it names) from truncated control data. */
#define PH_WIRE_MAX_FDS_ROOM 4

void ph_wire_rx_init(ph_wire_rx *rx, size_t max);
void ph_wire_rx_free(ph_wire_rx *rx);

/* Feeds one received record. Returns 1 when a message is complete (*msg is a
 * NUL-terminated buffer owned by the caller, *len its length), 0 when more
 * records are needed, -1 on a framing error (err filled; rx is reset). */
int ph_wire_rx_feed(ph_wire_rx *rx, const unsigned char *rec, size_t n, char **msg, size_t *len,
                    char *err, size_t errlen);

/* Like ph_wire_rx_feed(), for a record that came with fd (-1: none; owned
 * by rx from here on, closed on any error). A descriptor may only come with
 * the first record of a message: on any later record the record is refused
 * ("descriptor on a continued record"). When a message is complete, *fd_out
 * receives the descriptor of its first record (owned by the caller) or -1;
 * fd_out NULL closes it. */
int ph_wire_rx_feed_fd(ph_wire_rx *rx, const unsigned char *rec, size_t n, int fd, char **msg,
                       size_t *len, int *fd_out, char *err, size_t errlen);

/* Collects the descriptors a recvmsg() returned, keeping the first in *fd
 * (-1 if none) and closing every other one at once. Returns how many there
 * were, or -1 when the control data holds anything but SCM_RIGHTS (all
 * closed, *fd -1). A caller refuses a count above 1 and MSG_CTRUNC. */
int ph_wire_take_fds(struct msghdr *mh, int *fd);

/* Like ph_wire_take_fds(), on a socket with SO_PASSCRED: the kernel's
 * SCM_CREDENTIALS, which comes with every record received and never with
 * end of file, sets *cred instead of counting as foreign control data.
 * That is how a zero-length record, which recvmsg() also reports as 0
 * bytes, is told from the peer's end of file. */
int ph_wire_take_fds_cred(struct msghdr *mh, int *fd, int *cred);

/* Blocking send of a whole message as records on fd. If pass_fd >= 0 it is
 * sent with the first record as SCM_RIGHTS. Returns 0 or -1 with errno. */
int ph_wire_send(int fd, const char *msg, size_t len, int pass_fd);

/* Blocking receive of one whole message. Returns 1 with *msg (owned by the
 * caller), 0 on end of file, -1 on error (err filled). With fd_out NULL,
 * any descriptor the peer sends is closed; otherwise *fd_out receives the
 * one descriptor of the message's first record (owned by the caller), or
 * -1. Truncated control data, more than one descriptor on a record, or one
 * on a later record is an error, and every descriptor received is closed. */
int ph_wire_recv(int fd, ph_wire_rx *rx, char **msg, size_t *len, int *fd_out, char *err,
                 size_t errlen);

/* Outgoing position in a message being sent record by record on a
 * non-blocking socket: returns the next record's flag and chunk. */
size_t ph_wire_chunk_at(size_t len, size_t off, unsigned char *flag);

/* Blobs: bytes beside a message, never inside its JSON. The sender writes
 * them into a memfd, seals it (shrink, grow, write, seal) and attaches it
 * as the message's descriptor; the JSON names it with one reference
 * object {"$blob": 0, "size": N}. See docs/protocol.md, "Blobs". */

/* A sealed memfd holding a copy of len bytes of data (data may be NULL when
 * len is 0). Returns the descriptor (close-on-exec, owned by the caller) or
 * -1 with err filled. */
int ph_wire_blob_make(const void *data, size_t len, char *err, size_t errlen);

/* A blob to be written in place: a new unsealed memfd of exactly len bytes
 * (sparse: nothing is copied or faulted in here), or -1 with err filled.
 * The caller maps it, writes it, unmaps every writable mapping and seals
 * it with ph_wire_blob_seal() before it may be sent. */
int ph_wire_blob_open(size_t len, char *err, size_t errlen);

/* Seals a blob from ph_wire_blob_open() (shrink, grow, write, seal). Fails
 * (EBUSY) while any writable shared mapping of it exists. 0, or -1 with err
 * filled. */
int ph_wire_blob_seal(int fd, char *err, size_t errlen);

/* Whether fd is a blob as a receiver may map it: a memfd (it answers
 * F_GET_SEALS) carrying all of shrink, grow, write and seal seals, a
 * regular file of exactly size bytes. Then no one can write to it, change
 * its size under a mapping (no SIGBUS), or unseal it. Returns 0, or -1
 * with err filled. */
int ph_wire_blob_check(int fd, size_t size, char *err, size_t errlen);

/* Finds the one blob reference in v (searched at any depth). Returns 1
 * with *size set when there is exactly one well-formed reference, 0 when
 * there is none, -1 (err filled) when there are several or one is
 * malformed (an object with a "$blob" member must be exactly
 * {"$blob": 0, "size": non-negative integer}). */
int ph_wire_blob_find(json_t *v, size_t *size, char *err, size_t errlen);

/* A new reference to {"$blob": 0, "size": size}. */
json_t *ph_wire_blob_ref(size_t size);

/* JSON-RPC 2.0 message kinds. */
enum ph_wire_kind {
    PH_MSG_REQUEST = 1,
    PH_MSG_NOTIFICATION,
    PH_MSG_RESULT,
    PH_MSG_ERROR,
};

typedef struct ph_wire_msg {
    enum ph_wire_kind kind;
    json_t *id;         /* borrowed; NULL for notifications */
    const char *method; /* borrowed; requests and notifications */
    json_t *params;     /* borrowed; may be NULL */
    json_t *result;     /* borrowed; results */
    json_t *error;      /* borrowed; errors (checked: integer code, string message) */
} ph_wire_msg;

/* Parses text as one JSON value, rejecting duplicate keys and embedded NULs.
 * Returns a new reference or NULL with err filled. */
json_t *ph_wire_parse(const char *text, size_t len, char *err, size_t errlen);

/* Checks that v is a valid JSON-RPC 2.0 message and fills out with borrowed
 * views into v. Returns 0, or -1 with err filled. */
int ph_wire_classify(json_t *v, ph_wire_msg *out, char *err, size_t errlen);

/* Encodes v compactly. Returns a malloc'ed string owned by the caller, or
 * NULL. */
char *ph_wire_encode(const json_t *v, size_t *len);

/* Builders; each returns a new reference. */
json_t *ph_wire_error_obj(int code, const char *message, json_t *data /* stolen */);
json_t *ph_wire_response(json_t *id /* borrowed */, json_t *result /* stolen */);
json_t *ph_wire_error_response(json_t *id /* borrowed */, json_t *error /* stolen */);
json_t *ph_wire_request(json_t *id /* borrowed, NULL: notification */, const char *method,
                        json_t *params /* borrowed, may be NULL */);

/* ph_text_escape() with PH_TEXT_EXACT (text.h): the view of bytes in out,
 * for traces. */
void ph_wire_escape(const char *bytes, size_t n, char *out, size_t outlen);

#endif
