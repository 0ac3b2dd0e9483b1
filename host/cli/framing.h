/*
 * framing: cuts a client's byte stream into JSON-RPC message bodies, either
 * one message per line or with the Language Server Protocol's base-protocol
 * headers (Content-Length: N, blank line, N bytes), and writes the header
 * for an outgoing body.
 *
 * It only splits bytes: it never parses JSON, never does I/O and never
 * decides what to answer. Every byte is hostile; a malformed frame yields an
 * error text and the decoder resynchronises on its own, so a bad frame never
 * swallows a good one that follows it. Memory stays bounded by the largest
 * message (max) plus what the caller appends between two drains.
 */
#ifndef PH_CLI_FRAMING_H
#define PH_CLI_FRAMING_H

#include <stddef.h>
#include <stdint.h>

enum ph_framing {
    PH_FRAMING_AUTO = 0, /* LSP if the stream starts with "Content-", else lines */
    PH_FRAMING_LINE,
    PH_FRAMING_LSP,
};

/* Largest LSP header block accepted, the blank line included. Real clients
 * send one or two short fields. */
#define PH_FRAME_MAX_HEADER 8192

enum ph_frame_result {
    PH_FRAME_NONE = 0, /* more input needed (or nothing left at EOF) */
    PH_FRAME_MSG,      /* a body is ready */
    PH_FRAME_ERROR,    /* a framing error, already skipped past */
};

typedef struct ph_frame_rx {
    enum ph_framing mode; /* AUTO until the first non-blank bytes decide */
    char *buf;            /* owned; bytes [start, len) are not consumed yet */
    size_t start, len, cap;
    size_t scan;    /* line mode: bytes after start already known free of '\n' */
    size_t max;     /* largest body */
    int state;      /* LSP decoder state (framing.c) */
    uint64_t need;  /* LSP: body bytes still to read or to skip */
    int discarding; /* line mode: inside a line already reported as too long */
    int eof;
} ph_frame_rx;

void ph_frame_rx_init(ph_frame_rx *rx, enum ph_framing mode, size_t max);
void ph_frame_rx_free(ph_frame_rx *rx);

/* Appends received bytes. Returns 0, or -1 when out of memory (nothing is
 * appended). */
int ph_frame_rx_append(ph_frame_rx *rx, const char *bytes, size_t n);

/* No more bytes will come: an unterminated last line becomes a message, an
 * incomplete LSP frame an error. */
void ph_frame_rx_eof(ph_frame_rx *rx);

/* Takes the next message body or framing error from what was appended.
 * PH_FRAME_MSG: *body (not NUL-terminated) and *len stay valid until the
 * next call on rx. PH_FRAME_ERROR: err holds why, for the client's -32700
 * and the operator's log. */
enum ph_frame_result ph_frame_rx_next(ph_frame_rx *rx, const char **body, size_t *len, char *err,
                                      size_t errlen);

/* 1 when bytes are buffered that may still become a message or an error. */
int ph_frame_rx_buffered(const ph_frame_rx *rx);

/* The framing outgoing messages use: the decided mode, or lines while AUTO
 * has not seen enough to decide. */
enum ph_framing ph_frame_rx_mode(const ph_frame_rx *rx);

#endif
