/*
 * plughost SDK: the one header a plugin author includes.
 *
 * A plugin is a shared object that exports one constant table, declared with
 * PH_PLUGIN(): its name, version and methods. Each method takes JSON params
 * and returns a JSON result or an error. The trusted loader owns the socket,
 * the message loop and the sandbox; a plugin never touches any of them, and
 * the functions below are the only way it talks to the host.
 *
 * This header must never expose transport details: a plugin built against
 * any PH_SDK_ABI the runtime still reads keeps working whatever the wire
 * protocol becomes. ABI 2 added ph_plugin.params_schemas at the end of
 * ph_plugin, which the runtime reads only from a plugin built against ABI 2
 * or later; ph_method, an array element, keeps its size.
 *
 * Ownership follows jansson's vocabulary. "Borrowed" means the caller must
 * not decref it and must not keep it past the call; "new reference" means the
 * receiver owns it and must json_decref() it.
 */
#ifndef PLUGHOST_SDK_H
#define PLUGHOST_SDK_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PH_SDK_ABI 2

/* JSON-RPC 2.0 error codes a method may return through ph_error(). The
 * host reserves JSON-RPC's -32768..-32000 (its own reports, -32099..-32000,
 * among them) except these two, and -32800 (cancelled): a method's error
 * with a reserved code reaches the caller as -32603, its code kept as the
 * error's "original_code", so that a reserved code always means the host's
 * own report (docs/protocol.md section 7). Use positive codes for a
 * method's own errors. */
#define PH_ERR_INVALID_PARAMS (-32602)
#define PH_ERR_INTERNAL (-32603)

enum ph_log_level { PH_LOG_DEBUG = 0, PH_LOG_INFO = 1, PH_LOG_WARN = 2, PH_LOG_ERROR = 3 };

/* Per-call context, owned by the runtime; valid only during the method call
 * it was passed to. */
typedef struct ph_ctx ph_ctx;

/* A method. params is borrowed: a JSON array (by position), an object (by
 * name), or NULL when the caller sent none. Return a new reference to the
 * result, or NULL after ph_error() to fail the call. Returning NULL without
 * ph_error() is reported as an internal error. */
typedef json_t *(*ph_method_fn)(ph_ctx *ctx, json_t *params);

typedef struct ph_method {
    const char *name;        /* required; unique within the plugin */
    ph_method_fn fn;         /* required */
    const char *description; /* optional, shown by `plughost list` */
    /* Optional: a hint for people, e.g. "[text: string]" or "{name:
     * string}", shown by `plughost list` as written and never parsed. A
     * JSON Schema for the params goes in ph_plugin.params_schemas. */
    const char *params_doc;
} ph_method;

/* A JSON Schema for one method's params (ABI 2), e.g.
 *   {"stats", "{\"type\": \"object\", \"properties\": {\"text\": "
 *             "{\"type\": \"string\"}}, \"required\": [\"text\"]}"}
 * schema is JSON text of an object, in the subset docs/protocol.md lists.
 * The host checks it when the plugin loads (a schema it cannot use, or one
 * naming no method of the table, fails the load, named by `plughost
 * list`), and rejects calls whose params do not match with -32602 before
 * the method runs; `plughost list --json` shows it and MCP clients get it
 * as the tool's input schema. Params given by position are matched to the
 * schema's properties in their declared order.
 * A plugin built against ABI 1 has no params_schemas: for it, as then, a
 * params_doc whose text parses as a JSON object is taken as the schema
 * (rebuild against ABI 2 to have a hint that is only a hint). */
typedef struct ph_params_schema {
    const char *method; /* a name in ph_plugin.methods; NULL ends the array */
    const char *schema; /* required */
} ph_params_schema;

typedef struct ph_plugin {
    unsigned abi;             /* PH_SDK_ABI, filled by PH_PLUGIN() */
    const char *name;         /* [a-z0-9_-]{1,63}; the prefix of PLUGIN.METHOD */
    const char *version;      /* free text, e.g. "1.0.0" */
    const char *description;  /* optional */
    const ph_method *methods; /* array ended by an entry whose name is NULL */
    /* Optional: called once, inside the sandbox, before the first request.
     * Return 0, or non-zero after ph_error() to refuse to start. */
    int (*init)(ph_ctx *ctx);
    /* Optional (ABI 2): JSON Schemas for methods' params, an array ended by
     * an entry whose method is NULL. */
    const ph_params_schema *params_schemas;
} ph_plugin;

#define PH_PLUGIN_SYMBOL "ph_plugin_v1"

/* Called from init: the plugin must run as one process (say, state that
 * instances could not share), so the host runs at most one instance of it
 * whatever pool the operator configured (docs/configuration.md,
 * "instances"). */
void ph_singleton(ph_ctx *ctx);

/* Declares the plugin table, e.g.
 *   PH_PLUGIN(.name = "echo", .version = "1.0.0", .methods = methods); */
#define PH_PLUGIN(...)                                                                             \
    __attribute__((visibility("default")))                                                         \
    const ph_plugin ph_plugin_v1 = {.abi = PH_SDK_ABI, __VA_ARGS__}

/* Fails the current call with code and a printf-style message. Always returns
 * NULL so a method can `return ph_error(ctx, ...);`. */
json_t *ph_error(ph_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like ph_error() with a structured "data" member; data is stolen (the
 * caller's reference passes to the runtime), may be NULL, and may be any
 * JSON value. The caller gets it back as the error's "data", unchanged
 * (no "data" when NULL): the host adds no member to it and removes none.
 * Keys its own reports use ("status", "syscall", ...) mean nothing coming
 * from a method, because the code tells a caller whose error it is (see
 * PH_ERR_INVALID_PARAMS above). */
json_t *ph_error_data(ph_ctx *ctx, int code, json_t *data, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends a log record to the host, which prints it labelled with the plugin's
 * name. Never fails visibly: logging must not change a method's result. */
void ph_log(ph_ctx *ctx, enum ph_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls a host function (see `plughost list` or docs/protocol.md for the
 * ones the host offers). params is borrowed and may be NULL. On success
 * returns 0 and *result is a new reference. On failure returns -1 and, if
 * error is not NULL, *error is a new reference to the JSON-RPC error object. */
int ph_call_host(ph_ctx *ctx, const char *method, json_t *params, json_t **result, json_t **error);

/* Opens a file through the host (host.open): a plugin cannot open files
 * itself, so the host opens it, only within the files the operator granted
 * this plugin ("files" in the configuration, docs/configuration.md), and
 * hands the descriptor over. path is absolute and normal (no ".", "..",
 * "//"); mode is "r", "w" (truncates), "a" (appends) or "rw"; create (0 or
 * 1, writing modes only) makes the file if it is missing, mode 0600.
 * On success returns 0 and *fd_out is a new descriptor owned by the
 * plugin (close it when done; read, write, lseek and fstat work on it; it
 * is a regular file and close-on-exec). On failure returns -1 and, if
 * error is not NULL, *error is a new reference to the JSON-RPC error:
 * -32006 when no grant covers the file (data.grant names the one
 * missing), -32007 when it is granted but not a regular file, reached
 * through a symbolic link, missing, ... (data.errno). */
int ph_open(ph_ctx *ctx, const char *path, const char *mode, int create, int *fd_out,
            json_t **error);

/* Gives up one of the plugin's grants for the rest of this process's life:
 * after ph_drop_grant(ctx, "files") every host.open is refused (-32006),
 * and nothing the plugin sends can get it back; only a restart of the
 * plugin process does. Grants only narrow. Returns 0 once the host has
 * been told, -1 for an unknown grant name. */
int ph_drop_grant(ph_ctx *ctx, const char *grant);

/* A client's JSON-RPC notification (a request without an id) reaches the
 * method like any call: it runs, and the host drops its result or error,
 * since a notification gets no answer. */

/* Sends a notification to whoever called this method (forwarded by the host
 * to the client as is). params is borrowed. Returns 0 or -1. */
int ph_notify(ph_ctx *ctx, const char *method, json_t *params);

/* Reports progress of the current call; value is borrowed. The host forwards
 * it as a "$/progress" notification. Returns 0 or -1. */
int ph_progress(ph_ctx *ctx, json_t *value);

/* Returns 1 once the caller has cancelled the current call, else 0. A long
 * method should check it now and then and return ph_error() when it is 1. */
int ph_cancelled(ph_ctx *ctx);

/* The method name and plugin name of the call in progress (borrowed). */
const char *ph_ctx_method(const ph_ctx *ctx);
const char *ph_ctx_plugin(const ph_ctx *ctx);

/* Reads a parameter given by name (object params) or by position (array
 * params): returns the value (borrowed) or NULL if absent. */
json_t *ph_param(json_t *params, const char *name, size_t position);

/* Typed wrappers over ph_param(): on a missing or ill-typed parameter they
 * set an invalid-params error on ctx and return -1; else 0. */
int ph_param_string(ph_ctx *ctx, json_t *params, const char *name, size_t position,
                    const char **out);
int ph_param_number(ph_ctx *ctx, json_t *params, const char *name, size_t position, double *out);
/* An integer: a JSON integer, or a number with no fractional part that fits
 * (JSON does not tell 19 from 19.0). Return json_integer(*out) to answer
 * 19 rather than 19.0. */
int ph_param_integer(ph_ctx *ctx, json_t *params, const char *name, size_t position,
                     json_int_t *out);

/* Blobs: bytes passed beside the JSON, without escaping or base64 (see
 * docs/protocol.md, "Blobs"). A call carries at most one blob in and its
 * answer at most one out.
 *
 * ph_param_blob() reads a parameter (by name or position, as ph_param())
 * that is a blob reference {"$blob": 0, "size": N} and maps the bytes that
 * came with the call, read-only: *data (borrowed) stays valid until the
 * method returns, *len is N. The blob is checked first (a sealed memfd of
 * exactly N bytes). On a missing, malformed or unsealed blob it sets an
 * invalid-params error on ctx and returns -1; else 0. */
int ph_param_blob(ph_ctx *ctx, json_t *params, const char *name, size_t position, const void **data,
                  size_t *len);

/* Copies len bytes of data into a sealed memfd to go with this call's
 * answer, and returns a new reference to its blob reference
 * {"$blob": 0, "size": len}: return it as the result or put it inside the
 * result (exactly once). Returns NULL after setting an error on ctx (no
 * memory, or a second blob for the same answer). */
json_t *ph_result_blob(ph_ctx *ctx, const void *data, size_t len);

/* The answer's blob written in place: makes it len bytes of shared memory,
 * already faulted in, sets *data to it (writable, borrowed) and returns a
 * new reference to its blob reference {"$blob": 0, "size": len}, to return
 * as ph_result_blob()'s. The method writes its result straight into *data
 * (no copy of it is made); when the method returns, the SDK unmaps it and
 * seals the blob, and *data must not be used again. The bytes are as the
 * method left them (zero where it wrote nothing). If the blob cannot be
 * sealed then (a writable mapping of it made by the method is still there),
 * the call fails with an internal error instead of sending it. Returns NULL
 * after setting an error on ctx (no memory, or a second blob for the same
 * answer). */
json_t *ph_result_blob_buffer(ph_ctx *ctx, size_t len, void **data);

/* In-process test helper for plugin authors: calls a method of a plugin
 * table directly, without the host or sandbox, so a unit test can check a
 * method. params is borrowed. Returns 0 with *result a new reference, or -1
 * with *error a new reference to the JSON-RPC error object. Host calls made
 * by the method fail with "not available in tests". */
int ph_test_call(const ph_plugin *plugin, const char *method, json_t *params, json_t **result,
                 json_t **error);

/* ph_test_call() with len bytes of data as the call's blob (data may be
 * NULL when len is 0): the reference {"$blob": 0, "size": len} goes into
 * a copy of params as ph_host_call_blob() puts it (member "blob" of an
 * object, NULL params become {}; appended to an array). On success, if
 * the method returned a blob, *out is a malloc'ed copy of its bytes (owned
 * by the caller: free() it; not NULL even for an empty blob) and *out_len
 * its size; else *out is NULL and
 * *out_len 0. Failures as ph_test_call(). */
int ph_test_call_blob(const ph_plugin *plugin, const char *method, json_t *params, const void *data,
                      size_t len, json_t **result, void **out, size_t *out_len, json_t **error);

#ifdef __cplusplus
}
#endif
#endif
