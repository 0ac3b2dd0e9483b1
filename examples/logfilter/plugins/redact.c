/*
 * redact: logfilter's own plugin.
 *   redact.redact      masks every ASCII digit with '#' (card numbers, ids, IPs)
 *   redact.skip_blank  returns null for a line of only white space, so
 *                      logfilter drops it; any other line comes back as is
 *   redact.no_passwords fails (error 1) on a line that mentions a password,
 *                      so that logfilter reports it instead of printing it
 */
#include <plughost/sdk.h>

#include <stdlib.h>
#include <string.h>

static json_t *redact(ph_ctx *ctx, json_t *params)
{
    const char *text;
    if (ph_param_string(ctx, params, "text", 0, &text) < 0)
        return NULL;
    /* Lengths come from jansson, not strlen: a line may hold a NUL. */
    size_t n = json_string_length(ph_param(params, "text", 0));
    char *out = malloc(n ? n : 1);
    if (!out)
        return ph_error(ctx, PH_ERR_INTERNAL, "out of memory for %zu bytes", n);
    size_t masked = 0;
    for (size_t i = 0; i < n; i++) {
        int digit = text[i] >= '0' && text[i] <= '9';
        out[i] = digit ? '#' : text[i];
        masked += (size_t)digit;
    }
    if (masked)
        ph_log(ctx, PH_LOG_DEBUG, "masked %zu digits", masked);
    json_t *r = json_stringn(out, n);
    free(out);
    return r ? r : ph_error(ctx, PH_ERR_INTERNAL, "could not build the result");
}

static json_t *skip_blank(ph_ctx *ctx, json_t *params)
{
    const char *text;
    if (ph_param_string(ctx, params, "text", 0, &text) < 0)
        return NULL;
    if (text[strspn(text, " \t\r\f\v")] == '\0')
        return json_null();
    return json_incref(ph_param(params, "text", 0));
}

static json_t *no_passwords(ph_ctx *ctx, json_t *params)
{
    const char *text;
    if (ph_param_string(ctx, params, "text", 0, &text) < 0)
        return NULL;
    const char *hit = strstr(text, "password");
    if (hit)
        return ph_error(ctx, 1, "line mentions a password at byte %zu", (size_t)(hit - text));
    return json_incref(ph_param(params, "text", 0));
}

static const ph_method methods[] = {
    {"redact", redact, "masks digits with #", "[text: string]"},
    {"skip_blank", skip_blank, "null for a blank line, else the line", "[text: string]"},
    {"no_passwords", no_passwords, "fails on a line that mentions a password", "[text: string]"},
    {0},
};

PH_PLUGIN(.name = "redact", .version = "1.0.0", .description = "logfilter's line filters",
          .methods = methods);
