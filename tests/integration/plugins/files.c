/*
 * files: a plugin that reads and writes files the only way a plugin can,
 * through host.open (ph_open), for test_files.py. Each method reports what
 * happened as data, so the test can tell a refusal from a crash.
 */
#include <plughost/sdk.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A refusal as a result: {"refused": code, "message": ..., "data": ...}. */
static json_t *refused(json_t *error)
{
    json_t *r =
        json_pack("{s:O,s:O,s:O?}", "refused", json_object_get(error, "code"), "message",
                  json_object_get(error, "message"), "data", json_object_get(error, "data"));
    json_decref(error);
    return r;
}

/* open {path, mode, create}: opens, reports the descriptor's number and
 * kind, closes it. */
static json_t *try_open(ph_ctx *ctx, json_t *params)
{
    const char *path, *mode;
    if (ph_param_string(ctx, params, "path", 0, &path) < 0 ||
        ph_param_string(ctx, params, "mode", 1, &mode) < 0)
        return NULL;
    int create = json_is_true(ph_param(params, "create", 2));
    int fd;
    json_t *error = NULL;
    if (ph_open(ctx, path, mode, create, &fd, &error) < 0)
        return refused(error);
    struct stat st;
    int ok = fstat(fd, &st) == 0;
    json_t *r = json_pack("{s:i,s:b,s:I}", "fd", fd, "regular", ok && S_ISREG(st.st_mode), "size",
                          ok ? (json_int_t)st.st_size : (json_int_t)-1);
    close(fd);
    return r;
}

/* copy {from, to}: reads one granted file whole and writes it to another
 * (created or truncated), then reads it back through a third open. */
static json_t *copy(ph_ctx *ctx, json_t *params)
{
    const char *from, *to;
    if (ph_param_string(ctx, params, "from", 0, &from) < 0 ||
        ph_param_string(ctx, params, "to", 1, &to) < 0)
        return NULL;
    int in, out;
    json_t *error = NULL;
    if (ph_open(ctx, from, "r", 0, &in, &error) < 0)
        return refused(error);
    if (ph_open(ctx, to, "w", 1, &out, &error) < 0) {
        close(in);
        return refused(error);
    }
    char buf[4096];
    ssize_t n;
    long long total = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
        total += n;
    }
    int e = errno;
    close(in);
    close(out);
    if (n < 0)
        return ph_error(ctx, 1, "copy failed: %s", strerror(e));
    return json_pack("{s:I}", "bytes", (json_int_t)total);
}

/* append {path, text}: appends text to a granted file. */
static json_t *append(ph_ctx *ctx, json_t *params)
{
    const char *path, *text;
    if (ph_param_string(ctx, params, "path", 0, &path) < 0 ||
        ph_param_string(ctx, params, "text", 1, &text) < 0)
        return NULL;
    int fd;
    json_t *error = NULL;
    if (ph_open(ctx, path, "a", 0, &fd, &error) < 0)
        return refused(error);
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    close(fd);
    return json_pack("{s:b}", "written", w == (ssize_t)len);
}

/* drop: gives up the "files" grant for the rest of this process. */
static json_t *drop(ph_ctx *ctx, json_t *params)
{
    (void)params;
    return json_boolean(ph_drop_grant(ctx, "files") == 0);
}

static const ph_method methods[] = {
    {"open", try_open, "host.open a file and report what came back", "[path, mode, create]"},
    {"copy", copy, "copy a granted file into another", "[from, to]"},
    {"append", append, "append text to a granted file", "[path, text]"},
    {"drop", drop, "drop the files grant", NULL},
    {0},
};

PH_PLUGIN(.name = "files", .version = "1", .methods = methods);
