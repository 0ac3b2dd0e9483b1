/*
 * fuzz_serve: arbitrary client bytes into a serve session (host/cli/serve.c
 * and framing.c), as `plughost serve` would read them from stdin, backed by
 * a real ph_host with no plugins: every method call is refused with -32601
 * and nothing is ever spawned, so each input runs in microseconds.
 *
 * Input: byte 0 picks the framing (auto, line, LSP) and how the session
 * ends (EOF or a graceful stop); byte 1 the size of the pieces the rest is
 * fed in, so frames and lines are split at every possible point.
 *
 * The output goes to a checker instead of stdout: every message the session
 * writes must be one well-formed frame of valid JSON in the framing in use.
 * After the input ends the session must be done (nothing in flight, nothing
 * buffered). It must never hide a failure: a broken property aborts.
 */
#include "framing.h"
#include "plughost/host.h"
#include "serve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ph_host *host;

struct sink {
    enum ph_framing framing; /* as requested; AUTO resolves per session */
    size_t messages;
};

static void check_json(const char *body, size_t n)
{
    json_error_t je;
    json_t *v = json_loadb(body, n, JSON_DECODE_ANY, &je);
    if (!v || (!json_is_object(v) && !json_is_array(v))) {
        fprintf(stderr, "session wrote something that is not a JSON message: %.*s\n", (int)n, body);
        abort();
    }
    json_decref(v);
}

static int check_output(void *ud, const char *bytes, size_t n)
{
    struct sink *k = ud;
    k->messages++;
    if (n == 0)
        abort();
    if (memcmp(bytes, "Content-Length: ", 16 < n ? 16 : n) == 0 && n > 16) {
        if (k->framing == PH_FRAMING_LINE)
            abort();
        char *end;
        unsigned long long len = strtoull(bytes + 16, &end, 10);
        if (strncmp(end, "\r\n\r\n", 4) != 0 || (size_t)(end + 4 - bytes) + len != n)
            abort();
        check_json(end + 4, (size_t)len);
    } else {
        if (k->framing == PH_FRAMING_LSP || bytes[n - 1] != '\n' ||
            memchr(bytes, '\n', n - 1) != NULL)
            abort();
        check_json(bytes, n - 1);
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Any executable does as the loader: with no plugin loaded it never
     * runs. The host lives for the whole run, as in `plughost serve`. */
    ph_host_options o = {.loader_path = "/bin/true", .max_message = 4096};
    ph_error err;
    if (ph_host_new(&o, &host, &err) < 0) {
        fprintf(stderr, "fuzz_serve: %s\n", err.text);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const enum ph_framing modes[] = {PH_FRAMING_AUTO, PH_FRAMING_LINE, PH_FRAMING_LSP};
    struct sink k = {.framing = modes[data[0] % 3]};
    int stop = (data[0] >> 2) & 1;
    size_t piece = (size_t)data[1] + 1;
    data += 2;
    size -= 2;
    /* A small message limit reaches the "too large" paths with short inputs. */
    struct ph_serve_opts so = {.framing = k.framing, .max_message = 4096, .max_inflight = 4};
    ph_serve *s = ph_serve_new(host, &so, check_output, &k);
    if (!s)
        return 0;
    for (size_t off = 0; off < size; off += piece) {
        size_t n = size - off < piece ? size - off : piece;
        /* No copy per piece: the session copies exactly n bytes into its
         * own buffer, and a malloc per byte-sized piece would halve the
         * executions for nothing. */
        ph_serve_feed(s, (const char *)data + off, n);
        if (!ph_serve_wants_input(s))
            abort(); /* nothing can be in flight without plugins */
    }
    if (stop)
        ph_serve_stop(s);
    else
        ph_serve_eof(s);
    ph_serve_flush(s);
    if (!ph_serve_done(s) || ph_serve_inflight(s) != 0 || ph_host_pending(host) != 0)
        abort();
    ph_serve_free(s);
    return 0;
}
