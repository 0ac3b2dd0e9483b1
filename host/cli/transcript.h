/*
 * transcript: reading back what ph_host_record() wrote, and comparing two
 * transcripts of the same traffic (`plughost replay`). Pure functions over
 * JSON values: no host, no I/O but the file read, so the comparison can be
 * unit-tested on hand-written transcripts.
 *
 * A transcript is never trusted: it may be truncated, edited or corrupt,
 * and every line is checked before it is used.
 */
#ifndef PH_CLI_TRANSCRIPT_H
#define PH_CLI_TRANSCRIPT_H

#include <jansson.h>
#include <stddef.h>

/* Parses a transcript held in buf (name is for messages). On success
 * returns a new reference {"header": {...}, "lines": [...]}; on failure NULL
 * with why = "NAME:LINE: what is wrong". */
json_t *ph_tr_parse(const char *buf, size_t len, const char *name, char *why, size_t whylen);

/* Reads and parses a transcript file; same contract as ph_tr_parse. */
json_t *ph_tr_load(const char *path, char *why, size_t whylen);

struct ph_tr_diff_opts {
    const char *const *ignore; /* shell patterns of paths to leave out */
    size_t nignore;
    int ignore_handshake; /* leave handshake differences out */
};

/* The processes of a transcript, one per "proc": a new reference, an
 * array of {"plugin" (null if no line of it or of its file names one),
 * "file", "slot", "proc", "pid", "before", "handshake", "calls"}, those
 * running when recording began first ("before": true, from the header),
 * then the others in the order of their first line; "handshake": its
 * ph.hello is in the transcript; "calls": how many calls it was sent. */
json_t *ph_tr_processes(json_t *transcript);

/* The transcript with only the lines of process proc (the header kept).
 * New reference. */
json_t *ph_tr_only(json_t *transcript, json_int_t proc);

/* Compares what one recorded process (an element of
 * ph_tr_processes(recorded), borrowed) did with everything in now, a run
 * that replayed that process alone (every process there is its replay: a
 * restart after a crash goes on with the same stream): the handshake and
 * what the process sent outside calls, then each call with every message
 * the process sent while serving it (its answer, progress, host function
 * calls, notifications, logs). A process whose handshake is not in the
 * recording (it ran before recording began, or ended before finishing
 * it) is compared on its calls alone. Calls are paired in order by method
 * and params. Returns a new reference: an array of {"where", "slot",
 * "process", "pid", "path", "recorded"?, "now"?} (the recorded process's
 * slot, proc and pid; a side is absent when that side has nothing there),
 * in the order of the recording. */
json_t *ph_tr_diff(json_t *recorded, json_t *process, json_t *now,
                   const struct ph_tr_diff_opts *opts);

/* One difference as a line for people:
 * `echo#3 echo.echo (slot 0, process 1) result.words: recorded 4, now 5`.
 * Returns out. */
char *ph_tr_format(json_t *difference, char *out, size_t len);

/* The plugin name of a transcript line (a message line before the first
 * handshake has only its file; names maps files to names), or NULL.
 * Borrowed from line or names. */
const char *ph_tr_plugin_of(json_t *line, json_t *names);

/* Maps each file to its plugin's name from the handshakes and "plugin"
 * lines. New reference. */
json_t *ph_tr_names(json_t *transcript);

#endif
