/*
 * text: the one way bytes someone else controls (a plugin, a client, a
 * transcript, a file name in the plugin directory) reach a person's
 * terminal or a log.
 *
 * A terminal obeys the bytes it is given: ESC and CSI sequences erase and
 * rewrite lines, OSC sets titles, `ESC [6n` makes the terminal type into its
 * own input, CR and LF forge whole lines of another plugin or of the host,
 * C1 controls (U+0080..U+009F) act like ESC on some terminals, and the bidi
 * and line-separator code points (U+202E, U+2028...) reorder or split what
 * is shown. So the rule is an allow-list, not a list of known tricks: only
 * printable ASCII stands for itself, every other byte is shown as \xNN.
 * Non-ASCII text is therefore shown as its UTF-8 bytes; that is the price of
 * a rule with no exceptions to get wrong.
 */
#ifndef PH_TEXT_H
#define PH_TEXT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* ph_text_escape() flags. */
#define PH_TEXT_EXACT 0x1 /* backslash too, so the view maps back to the bytes (traces) */

/* Writes into out (outlen > 0, always NUL-terminated) the view of n bytes:
 * bytes 0x20..0x7e as they are, any other as \xNN (and '\\' as \x5c with
 * PH_TEXT_EXACT). A view that does not fit ends with "...(N bytes)".
 * Returns strlen(out). */
size_t ph_text_escape(const char *bytes, size_t n, char *out, size_t outlen, unsigned flags);

/* The whole view of n bytes, in a new string (free() it); NULL when out
 * of memory. */
char *ph_text_escape_dup(const char *bytes, size_t n, unsigned flags);

/* 1 when every one of n bytes is printable ASCII (0x20..0x7e): text that
 * may be written out as it is. */
int ph_text_is_plain(const char *bytes, size_t n);

/* json_dumps(v, flags) holding printable ASCII only, in a new string (free()
 * it), NULL on failure: JSON_ENSURE_ASCII writes every non-ASCII code point
 * as \uXXXX and jansson writes controls below 0x20 so already, but it
 * leaves DEL (0x7f) raw, so that is rewritten as \u007f here (outside
 * strings JSON text never holds it). Beside printable ASCII, only the
 * newlines and spaces of JSON_INDENT remain. */
char *ph_text_json(const json_t *v, size_t flags);

/* Formats a line, writes its view (ph_text_escape(), backslash kept) and
 * one newline to f, in one write. Embedded newlines in any argument are
 * shown as \x0a: whatever the arguments hold, this writes exactly one line.
 * Everything the plughost command prints goes through here or through
 * ph_text_print_json(). */
void ph_text_print(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes ph_text_json(v, flags) and a newline to f ("null" if v cannot be
 * written). */
void ph_text_print_json(FILE *f, const json_t *v, size_t flags);

#endif
