/*
 * jscan: a validating JSON scanner that builds nothing. It lets the host
 * forward bytes it has checked instead of parsing them into jansson trees
 * and encoding them again (`plughost serve` parsed and re-encoded every
 * message twice; see docs/performance.md).
 *
 * Its one promise: every text it accepts (PH_JSCAN_OK) is one JSON value
 * that ph_wire_parse() (jansson, duplicate keys refused) accepts too. Where
 * it could not be sure of that without more machinery (a key with an
 * escape, \u0000, a number jansson might not hold, deep nesting, an object
 * too big to check for duplicate keys cheaply) it answers PH_JSCAN_UNSURE
 * and the caller takes the jansson path, which decides. It never
 * allocates, never reads past len, and treats every byte as hostile.
 */
#ifndef PH_JSCAN_H
#define PH_JSCAN_H

#include <stddef.h>

enum ph_jscan_result {
    PH_JSCAN_OK = 0,
    PH_JSCAN_INVALID = -1, /* not JSON: jansson refuses it too */
    PH_JSCAN_UNSURE = -2,  /* outside what the scanner vouches for */
};

/* The kinds of value, by their first byte. */
enum ph_jscan_kind {
    PH_JS_OBJECT = '{',
    PH_JS_ARRAY = '[',
    PH_JS_STRING = '"',
    PH_JS_INTEGER = 'i',
    PH_JS_REAL = 'r',
    PH_JS_TRUE = 't',
    PH_JS_FALSE = 'f',
    PH_JS_NULL = 'n',
};

/* A value inside the scanned text: text[0..len) is its JSON, borrowed from
 * the caller's buffer. */
struct ph_jscan_span {
    const char *text;
    size_t len;
    enum ph_jscan_kind kind;
};

/* Deepest nesting vouched for, and most members per object. */
#define PH_JSCAN_MAX_DEPTH 64
#define PH_JSCAN_MAX_KEYS 32

/* Scans text[0..len) as exactly one JSON value with optional whitespace
 * around it. On PH_JSCAN_OK, *out (may be NULL) is the value without that
 * whitespace and *ws (may be NULL) says whether any whitespace occurs
 * inside it (a line-framed writer must not copy a newline into a line). */
enum ph_jscan_result ph_jscan_value(const char *text, size_t len, struct ph_jscan_span *out,
                                    int *ws);

/* One member of a top-level object. The key is the raw text between its
 * quotes; keys with escapes are never reported (PH_JSCAN_UNSURE). */
struct ph_jscan_member {
    const char *key;
    size_t key_len;
    struct ph_jscan_span value;
};

/* Scans text as one JSON object and fills members[0..*n) with its members
 * in order (at most max; more is PH_JSCAN_UNSURE, and so is any value
 * that is not an object, valid or not). Duplicate keys are
 * refused at every depth, as ph_wire_parse() refuses them. */
enum ph_jscan_result ph_jscan_object(const char *text, size_t len, struct ph_jscan_member *members,
                                     size_t max, size_t *n, int *ws);

/* Copies text[0..len), which ph_jscan_value() accepted, to out (room for
 * len bytes) without the whitespace outside its strings, the way a compact
 * encoder writes it. Returns the length written. */
size_t ph_jscan_compact(const char *text, size_t len, char *out);

/* Finds key among members; NULL if absent. Borrowed. */
const struct ph_jscan_span *ph_jscan_get(const struct ph_jscan_member *members, size_t n,
                                         const char *key);

/* Whether span is the string literal s exactly as written (no escapes). */
int ph_jscan_is_string(const struct ph_jscan_span *span, const char *s);

#endif
