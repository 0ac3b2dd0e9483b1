/*
 * log: what the plughost command tells its operator on stderr: the host's
 * events (a plugin's log lines, traces, receipts, endings, pin mismatches)
 * and the command's own messages, in one of two formats chosen once per run
 * (--log-format, or the configuration's "log_format"):
 *
 *   text  one line each, as a person reads it ("[plugin] level: message");
 *   json  one JSON object a line, for a log pipeline:
 *         {"time":"2026-01-02T03:04:05.678Z","level":"info","plugin":"p",
 *          "event":"log","fields":{...}}
 *         time is RFC 3339 in UTC with milliseconds; plugin is there when
 *         the line is about one; fields hold the event's own data.
 *
 * A plugin chooses its log text, level and name, and a file name in the
 * plugin directory is anyone's choice: this module must never write a byte
 * of theirs unescaped. Text lines go through ph_text_print (printable ASCII
 * only, one line whatever they hold); JSON lines through ph_text_json
 * (JSON_ENSURE_ASCII, DEL as \u007f), so a control character, a bidi
 * override or U+2028 inside a value is a \u escape, never itself, and no
 * value can end its line or forge another. Neither format may write more
 * than one line per call.
 */
#ifndef PH_CLI_LOG_H
#define PH_CLI_LOG_H

#include "plughost/host.h"

#include <jansson.h>

enum ph_clog_format { PH_CLOG_TEXT = 0, PH_CLOG_JSON = 1 };

/* The format of name ("text" or "json"), or -1 for anything else. */
int ph_clog_parse(const char *name);

/* Puts a format in force for the rest of the run (text until called). */
void ph_clog_set_format(enum ph_clog_format f);
enum ph_clog_format ph_clog_get_format(void);

/* Reports one host event (ph_event_fn's event, borrowed) in the format in
 * force. Events the operator need not see (progress, notifications, a
 * clean or host-requested ending) write nothing, in either format. */
void ph_clog_event(json_t *event);

/* Reports one of the command's own messages: level "error", "warn" or
 * "info"; event names what happened ("host" for a plain message); fields
 * (stolen, may be NULL) is an object of data beside the message, shown in
 * the JSON format only. Text: "plughost: MESSAGE". */
void ph_clog_msg(const char *level, const char *event, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reports a JSON-RPC error object (borrowed) a call ended with. Text: the
 * message, then "error: " and the object, the last line of stderr that
 * scripts read (README, "Exit codes"); JSON: one object, event
 * "call_error", with the error in fields. plugin (borrowed, NULL: none) is
 * the plugin the call went to, as the caller named it: a method's error
 * data reaches here unchanged, so a "plugin" inside it is the method's own
 * and is never read for the line's plugin. */
void ph_clog_rpc_error(const char *plugin, json_t *error);

#endif
