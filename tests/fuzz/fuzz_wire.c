/*
 * fuzz_wire: arbitrary bytes as a sequence of received records, through the
 * reassembly the host applies to every plugin's socket, then the JSON-RPC
 * checks on each completed message.
 *
 * Input: byte 0 picks the message limit; then records, each a length byte
 * (255: a 16-bit big-endian length follows, to reach past the record limit)
 * and that many bytes. Each record is copied to its own allocation so that
 * AddressSanitizer sees any read past its end.
 *
 * Beyond "no crash", it checks what the rest of the host relies on: a
 * parsed message survives encode and parse unchanged, and a message never
 * exceeds the limit it was reassembled under. It must never mask a failure:
 * any broken property aborts.
 */
#include "wire.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *msg, size_t len)
{
    char err[256], esc[64];
    ph_wire_escape(msg, len, esc, sizeof esc);
    if (strlen(esc) >= sizeof esc)
        abort();
    json_t *v = ph_wire_parse(msg, len, err, sizeof err);
    if (!v)
        return;
    ph_wire_msg m;
    if (ph_wire_classify(v, &m, err, sizeof err) == 0) {
        /* The borrowed views must point into v and agree with the kind. */
        if ((m.kind == PH_MSG_REQUEST || m.kind == PH_MSG_NOTIFICATION) && !m.method)
            abort();
        if ((m.kind == PH_MSG_NOTIFICATION) != (m.id == NULL))
            abort();
        if (m.kind == PH_MSG_ERROR && !json_is_integer(json_object_get(m.error, "code")))
            abort();
    }
    size_t elen = 0;
    char *enc = ph_wire_encode(v, &elen);
    if (enc) {
        json_t *again = ph_wire_parse(enc, elen, err, sizeof err);
        if (!again || !json_equal(v, again)) {
            fprintf(stderr, "round trip failed: %s\n", again ? "values differ" : err);
            abort();
        }
        json_decref(again);
        free(enc);
    }
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Small limits exercise the "message too large" path; 0x80 and up use
     * the real default. */
    size_t max = data[0] >= 0x80 ? PH_WIRE_DEFAULT_MAX : ((size_t)data[0] + 1) * 16;
    ph_wire_rx rx;
    ph_wire_rx_init(&rx, max);
    size_t pos = 1;
    while (pos < size) {
        size_t n = data[pos++];
        if (n == 255 && size - pos >= 2) {
            n = (size_t)data[pos] << 8 | data[pos + 1];
            pos += 2;
        }
        if (n > size - pos)
            n = size - pos;
        unsigned char *rec = malloc(n ? n : 1);
        if (!rec)
            break;
        memcpy(rec, data + pos, n);
        pos += n;
        char *msg = NULL, err[256];
        size_t len = 0;
        int r = ph_wire_rx_feed(&rx, rec, n, &msg, &len, err, sizeof err);
        free(rec);
        if (r == 1) {
            if (len > max || msg[len] != '\0')
                abort();
            check_message(msg, len);
            free(msg);
        } else if (r < 0 && err[0] == '\0') {
            abort(); /* every refusal must say why */
        }
    }
    ph_wire_rx_free(&rx);
    return 0;
}
