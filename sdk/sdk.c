/*
 * sdk: the functions a plugin calls (see include/plughost/sdk.h). They work
 * the same inside the sandbox (through the runtime) and in ph_test_call().
 */
#include "plughost/sdk.h"
#include "runtime.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((format(printf, 4, 0))) static json_t *set_error(ph_ctx *ctx, int code, json_t *data,
                                                               const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    json_decref(ctx->error);
    ctx->error = ph_wire_error_obj(code, msg, data);
    return NULL;
}

json_t *ph_error(ph_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(ctx, code, NULL, fmt, ap);
    va_end(ap);
    return NULL;
}

json_t *ph_error_data(ph_ctx *ctx, int code, json_t *data, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(ctx, code, data, fmt, ap);
    va_end(ap);
    return NULL;
}

void ph_log(ph_ctx *ctx, enum ph_log_level level, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->rt)
        ph_rt_log(ctx->rt, level, msg);
    else
        fprintf(stderr, "[%s] %s\n", ctx->plugin->name, msg);
}

int ph_call_host(ph_ctx *ctx, const char *method, json_t *params, json_t **result, json_t **error)
{
    if (!method || !result) {
        if (error)
            *error = ph_wire_error_obj(PH_ERR_INVALID_PARAMS, "no method or result", NULL);
        return -1;
    }
    if (!ctx->rt) {
        if (error)
            *error =
                ph_wire_error_obj(PH_ERR_INTERNAL, "host calls are not available in tests", NULL);
        return -1;
    }
    return ph_rt_call_host(ctx->rt, method, params, result, error);
}

int ph_open(ph_ctx *ctx, const char *path, const char *mode, int create, int *fd_out,
            json_t **error)
{
    if (error)
        *error = NULL;
    if (!fd_out || !path || !mode) {
        if (error)
            *error =
                ph_wire_error_obj(PH_ERR_INVALID_PARAMS, "ph_open: no path, mode or fd_out", NULL);
        return -1;
    }
    *fd_out = -1;
    if (!ctx->rt) {
        if (error)
            *error =
                ph_wire_error_obj(PH_ERR_INTERNAL, "host calls are not available in tests", NULL);
        return -1;
    }
    json_t *params = json_pack("{s:s,s:s,s:b}", "path", path, "mode", mode, "create", create);
    json_t *result = NULL;
    int rc = params ? ph_rt_call_host_fd(ctx->rt, "host.open", params, &result, error, fd_out) : -1;
    json_decref(params);
    json_decref(result);
    if (rc == 0 && *fd_out < 0) {
        /* An answer without its descriptor is no open file. */
        if (error)
            *error =
                ph_wire_error_obj(PH_ERR_INTERNAL, "host.open answered without a descriptor", NULL);
        return -1;
    }
    return rc;
}

int ph_drop_grant(ph_ctx *ctx, const char *grant)
{
    if (!grant || strcmp(grant, "files") != 0)
        return -1;
    if (!ctx->rt)
        return 0;
    json_t *params = json_pack("{s:s}", "grant", grant);
    int rc = params ? ph_rt_notify(ctx->rt, "ph.drop_grant", params) : -1;
    json_decref(params);
    return rc;
}

int ph_ctx_release_blobs(ph_ctx *ctx)
{
    if (ctx->blob_in_map && ctx->blob_in_len)
        munmap(ctx->blob_in_map, ctx->blob_in_len);
    ctx->blob_in_map = NULL;
    ctx->blob_in_len = 0;
    if (ctx->blob_in >= 0)
        close(ctx->blob_in);
    ctx->blob_in = -1;
    if (!ctx->blob_out_map)
        return 0;
    /* F_SEAL_WRITE is refused while a writable shared mapping exists, so
     * the SDK's own goes first; one the method made itself makes the seal
     * fail, and an unsealed blob is never sent. */
    int rc = 0;
    if (ctx->blob_out_len && munmap(ctx->blob_out_map, ctx->blob_out_len) < 0) {
        snprintf(ctx->blob_out_error, sizeof ctx->blob_out_error, "unmapping the blob: %s",
                 strerror(errno));
        rc = -1;
    }
    ctx->blob_out_map = NULL;
    if (rc == 0 && ctx->blob_out >= 0 &&
        ph_wire_blob_seal(ctx->blob_out, ctx->blob_out_error, sizeof ctx->blob_out_error) < 0)
        rc = -1;
    if (rc < 0 && ctx->blob_out >= 0) {
        close(ctx->blob_out);
        ctx->blob_out = -1;
    }
    return rc;
}

int ph_param_blob(ph_ctx *ctx, json_t *params, const char *name, size_t position, const void **data,
                  size_t *len)
{
    static const char empty[1];
    json_t *ref = ph_param(params, name, position);
    size_t size = 0;
    char why[200];
    json_t *b = json_object_get(ref, "$blob");
    json_t *sz = json_object_get(ref, "size");
    if (!json_is_object(ref) || json_object_size(ref) != 2 || !json_is_integer(b) ||
        json_integer_value(b) != 0 || !json_is_integer(sz) || json_integer_value(sz) < 0) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS,
                 "parameter \"%s\" (position %zu) must be a blob reference {\"$blob\": 0, "
                 "\"size\": N}",
                 name ? name : "?", position);
        return -1;
    }
    size = (size_t)json_integer_value(sz);
    if (ctx->blob_in_map || (ctx->blob_in >= 0 && size == 0 && ctx->blob_in_len == 0 &&
                             ph_wire_blob_check(ctx->blob_in, 0, why, sizeof why) == 0)) {
        if (ctx->blob_in_len != size) {
            ph_error(ctx, PH_ERR_INVALID_PARAMS, "blob size %zu differs from the %zu mapped", size,
                     ctx->blob_in_len);
            return -1;
        }
        *data = ctx->blob_in_map ? ctx->blob_in_map : empty;
        *len = size;
        return 0;
    }
    if (ctx->blob_in < 0) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS, "no blob came with this call");
        return -1;
    }
    /* Checked before mapping: sealed against writing and resizing, so the
     * bytes cannot change under the method or vanish (SIGBUS). */
    if (ph_wire_blob_check(ctx->blob_in, size, why, sizeof why) < 0) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS, "%s", why);
        return -1;
    }
    /* MAP_POPULATE: the pages exist already (the sender wrote them), so
     * mapping them in one call costs less than a fault per few pages as
     * the method reads. */
    void *m = size ? mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, ctx->blob_in, 0) : NULL;
    if (m == MAP_FAILED) {
        ph_error(ctx, PH_ERR_INTERNAL, "cannot map the blob: %s", strerror(errno));
        return -1;
    }
    ctx->blob_in_map = m;
    ctx->blob_in_len = size;
    *data = m ? m : empty;
    *len = size;
    return 0;
}

json_t *ph_result_blob(ph_ctx *ctx, const void *data, size_t len)
{
    char why[200];
    if (ctx->blob_out >= 0)
        return ph_error(ctx, PH_ERR_INTERNAL, "one blob per answer: ph_result_blob called twice");
    if (!data && len)
        return ph_error(ctx, PH_ERR_INTERNAL, "ph_result_blob: no data");
    int fd = ph_wire_blob_make(data, len, why, sizeof why);
    if (fd < 0)
        return ph_error(ctx, PH_ERR_INTERNAL, "%s", why);
    json_t *ref = ph_wire_blob_ref(len);
    if (!ref) {
        close(fd);
        return ph_error(ctx, PH_ERR_INTERNAL, "out of memory");
    }
    ctx->blob_out = fd;
    return ref;
}

json_t *ph_result_blob_buffer(ph_ctx *ctx, size_t len, void **data)
{
    char why[200];
    if (data)
        *data = NULL;
    if (!data)
        return ph_error(ctx, PH_ERR_INTERNAL, "ph_result_blob_buffer: no place for the buffer");
    if (ctx->blob_out >= 0)
        return ph_error(ctx, PH_ERR_INTERNAL, "one blob per answer: a blob was already made");
    int fd = ph_wire_blob_open(len, why, sizeof why);
    if (fd < 0)
        return ph_error(ctx, PH_ERR_INTERNAL, "%s", why);
    /* Faulted in here, in one call, rather than page by page as the method
     * writes (MAP_POPULATE: bulk allocation, the method's writes do not
     * trap). */
    static char empty[1];
    void *m = len ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0)
                  : (void *)empty;
    json_t *ref = m != MAP_FAILED ? ph_wire_blob_ref(len) : NULL;
    if (!ref) {
        int e = errno;
        if (m != MAP_FAILED && len)
            munmap(m, len);
        close(fd);
        return m == MAP_FAILED
                   ? ph_error(ctx, PH_ERR_INTERNAL, "cannot map the blob: %s", strerror(e))
                   : ph_error(ctx, PH_ERR_INTERNAL, "out of memory");
    }
    ctx->blob_out = fd;
    ctx->blob_out_map = m;
    ctx->blob_out_len = len;
    *data = m;
    return ref;
}

int ph_notify(ph_ctx *ctx, const char *method, json_t *params)
{
    if (!method || !ctx->rt)
        return -1;
    return ph_rt_notify(ctx->rt, method, params);
}

int ph_progress(ph_ctx *ctx, json_t *value)
{
    if (!ctx->rt || !ctx->req_id)
        return -1;
    json_t *p = json_pack("{s:O,s:O}", "id", ctx->req_id, "value", value ? value : json_null());
    int rc = p ? ph_rt_notify(ctx->rt, "$/progress", p) : -1;
    json_decref(p);
    return rc;
}

int ph_cancelled(ph_ctx *ctx)
{
    if (ctx->cancelled || !ctx->rt)
        return ctx->cancelled;
    return ph_rt_poll_cancel(ctx->rt, ctx);
}

const char *ph_ctx_method(const ph_ctx *ctx)
{
    return ctx->method;
}

const char *ph_ctx_plugin(const ph_ctx *ctx)
{
    return ctx->plugin->name;
}

json_t *ph_param(json_t *params, const char *name, size_t position)
{
    if (json_is_object(params))
        return name ? json_object_get(params, name) : NULL;
    if (json_is_array(params))
        return json_array_get(params, position);
    return NULL;
}

int ph_param_string(ph_ctx *ctx, json_t *params, const char *name, size_t position,
                    const char **out)
{
    json_t *v = ph_param(params, name, position);
    if (!json_is_string(v)) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS, "parameter \"%s\" (position %zu) must be a string",
                 name ? name : "?", position);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

int ph_param_number(ph_ctx *ctx, json_t *params, const char *name, size_t position, double *out)
{
    json_t *v = ph_param(params, name, position);
    if (!json_is_number(v)) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS, "parameter \"%s\" (position %zu) must be a number",
                 name ? name : "?", position);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

int ph_param_integer(ph_ctx *ctx, json_t *params, const char *name, size_t position,
                     json_int_t *out)
{
    json_t *v = ph_param(params, name, position);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    /* The range first: converting a double past 2^63 is undefined. */
    double d = json_is_real(v) ? json_real_value(v) : 0.5;
    if (!(d < 9223372036854775808.0 && d >= -9223372036854775808.0) || d != (double)(long long)d) {
        ph_error(ctx, PH_ERR_INVALID_PARAMS, "parameter \"%s\" (position %zu) must be an integer",
                 name ? name : "?", position);
        return -1;
    }
    *out = (json_int_t)d;
    return 0;
}

/* Runs a method in-process with blob_in (owned; -1: none) as its request's
 * blob; *blob_out (if not NULL) receives the answer's blob (owned), or -1. */
static int test_call(const ph_plugin *plugin, const char *method, json_t *params, int blob_in,
                     json_t **result, int *blob_out, json_t **error)
{
    char err[256];
    *result = NULL;
    if (error)
        *error = NULL;
    if (blob_out)
        *blob_out = -1;
    if (ph_rt_check_plugin(plugin, err, sizeof err) < 0) {
        if (blob_in >= 0)
            close(blob_in);
        if (error)
            *error = ph_wire_error_obj(PH_ERR_INTERNAL, err, NULL);
        return -1;
    }
    for (size_t i = 0; plugin->methods[i].name; i++) {
        if (strcmp(plugin->methods[i].name, method) != 0)
            continue;
        ph_ctx ctx = {.plugin = plugin,
                      .method = plugin->methods[i].name,
                      .blob_in = blob_in,
                      .blob_out = -1};
        json_t *r = plugin->methods[i].fn(&ctx, params);
        if (ph_ctx_release_blobs(&ctx) < 0 && r) {
            json_decref(r);
            r = NULL;
            json_decref(ctx.error);
            ctx.error = ph_wire_error_obj(PH_ERR_INTERNAL, ctx.blob_out_error, NULL);
        }
        if (r && blob_out) {
            *blob_out = ctx.blob_out;
            ctx.blob_out = -1;
        }
        if (ctx.blob_out >= 0)
            close(ctx.blob_out);
        if (r) {
            json_decref(ctx.error);
            *result = r;
            return 0;
        }
        json_t *e = ctx.error ? ctx.error
                              : ph_wire_error_obj(PH_ERR_INTERNAL,
                                                  "method returned no result and no error", NULL);
        if (error)
            *error = e;
        else
            json_decref(e);
        return -1;
    }
    if (blob_in >= 0)
        close(blob_in);
    if (error)
        *error = ph_wire_error_obj(-32601, "method not found", NULL);
    return -1;
}

int ph_test_call(const ph_plugin *plugin, const char *method, json_t *params, json_t **result,
                 json_t **error)
{
    return test_call(plugin, method, params, -1, result, NULL, error);
}

int ph_test_call_blob(const ph_plugin *plugin, const char *method, json_t *params, const void *data,
                      size_t len, json_t **result, void **out, size_t *out_len, json_t **error)
{
    char why[200] = "ph_test_call_blob: no data for a non-empty blob";
    *result = NULL;
    *out = NULL;
    *out_len = 0;
    if (error)
        *error = NULL;
    int fd = data || !len ? ph_wire_blob_make(data, len, why, sizeof why) : -1;
    json_t *ref = ph_wire_blob_ref(len);
    json_t *p = !params ? json_object() : json_copy(params);
    int rc = fd >= 0 && ref && p ? 0 : -1;
    if (rc == 0)
        rc = json_is_array(p) ? json_array_append(p, ref) : json_object_set(p, "blob", ref);
    json_decref(ref);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        json_decref(p);
        if (error)
            *error = ph_wire_error_obj(PH_ERR_INTERNAL, fd < 0 ? why : "out of memory", NULL);
        return -1;
    }
    int back = -1;
    rc = test_call(plugin, method, p, fd, result, &back, error);
    json_decref(p);
    if (rc < 0 || back < 0)
        return rc;
    /* The answer's blob is checked as the host would before it is read. */
    size_t size = 0;
    char *copy = NULL;
    if (ph_wire_blob_find(*result, &size, why, sizeof why) != 1 ||
        ph_wire_blob_check(back, size, why, sizeof why) < 0 || !(copy = malloc(size ? size : 1)) ||
        pread(back, copy, size, 0) != (ssize_t)size) {
        close(back);
        free(copy);
        json_decref(*result);
        *result = NULL;
        if (error)
            *error = ph_wire_error_obj(PH_ERR_INTERNAL, "the method's blob is not readable", NULL);
        return -1;
    }
    close(back);
    *out = copy;
    *out_len = size;
    return 0;
}
