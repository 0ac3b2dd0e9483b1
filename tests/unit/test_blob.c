/*
 * test_blob: bytes beside the JSON through a real sandboxed plugin
 * (tests/unit/plugins/blobs.c): 0 B, 1 B and 64 MiB each way, copied
 * (ph_result_blob) and written in place (ph_result_blob_buffer), a blob
 * inside a structured result, a reference without its blob refused by the
 * plugin, an answer kept mapped writable refused by the SDK, and the size
 * limit on the host side.
 */
#include "check.h"

#include <plughost/host.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Descriptors open in this process: a blob the host forgot to close would
 * show here. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void call_echo(ph_host *h, const char *method, size_t n)
{
    unsigned char *in = malloc(n ? n : 1);
    CHECK(in != NULL);
    if (!in)
        return;
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 131u + (i >> 12));
    json_t *result = NULL, *rpc = NULL;
    const void *out = NULL;
    size_t out_len = 99;
    ph_error err;
    int rc =
        ph_host_call_blob(h, "blobs", method, NULL, in, n, &result, &out, &out_len, &rpc, &err);
    CHECKF(rc == PH_OK, "%s of %zu bytes: %d %s", method, n, rc, err.text);
    CHECKF(out_len == n, "%s of %zu bytes: %zu back", method, n, out_len);
    CHECK(n == 0 ? out == NULL : out != NULL);
    if (rc == PH_OK && out && out_len == n) {
        int same = 1;
        for (size_t i = 0; i < n && same; i++) {
            unsigned char want = strcmp(method, "reverse") == 0 ? in[n - 1 - i] : in[i];
            same = ((const unsigned char *)out)[i] == want;
        }
        CHECKF(same, "%s of %zu bytes: the bytes differ", method, n);
    }
    json_t *ref = strcmp(method, "reverse") == 0 ? json_object_get(result, "reversed") : result;
    CHECKF(json_integer_value(json_object_get(ref, "size")) == (json_int_t)n &&
               json_object_get(ref, "$blob"),
           "%s of %zu bytes: the result holds the reference", method, n);
    ph_host_blob_free(out, out_len);
    json_decref(result);
    json_decref(rpc);
    free(in);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_blob blobs.so\n");
        return 2;
    }
    ph_host *h = NULL;
    ph_error err;
    CHECKF(ph_host_new(NULL, &h, &err) == PH_OK, "ph_host_new: %s", err.text);
    if (!h)
        return ph_t_summary("test_blob");
    CHECKF(ph_host_load_file(h, argv[1], NULL, &err) == PH_OK, "load: %s", err.text);

    call_echo(h, "echo", 1); /* the plugin is up: its descriptors are open */
    int fds_before = open_fds();
    static const size_t sizes[] = {0, 1, 4097, (size_t)64 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        call_echo(h, "echo", sizes[i]);
        call_echo(h, "echo_direct", sizes[i]);
        call_echo(h, "reverse", sizes[i]);
    }

    CHECKF(open_fds() == fds_before, "descriptors: %d before the blob calls, %d after", fds_before,
           open_fds());

    /* A blob in, JSON out: the plugin read every byte. */
    json_t *result = NULL, *rpc = NULL;
    const void *out = NULL;
    size_t out_len = 0;
    static const unsigned char three[] = {1, 2, 250};
    json_t *params = json_pack("{s:s}", "note", "kept");
    CHECK(ph_host_call_blob(h, "blobs", "sum", params, three, 3, &result, &out, &out_len, &rpc,
                            &err) == PH_OK);
    CHECK(json_integer_value(json_object_get(result, "sum")) == 253 && out == NULL && out_len == 0);
    CHECK(json_object_size(params) == 1); /* the caller's params are not changed */
    json_decref(params);
    json_decref(result);
    result = NULL;

    /* A reference without a blob: the plugin refuses it as invalid params. */
    params = json_pack("{s:{s:i,s:i}}", "blob", "$blob", 0, "size", 3);
    int rc = ph_host_call(h, "blobs", "sum", params, &result, &rpc, &err);
    CHECKF(rc == PH_E_PLUGIN && json_integer_value(json_object_get(rpc, "code")) == -32602 &&
               strstr(json_string_value(json_object_get(rpc, "message")), "no blob"),
           "a reference without its blob: rc %d", rc);
    json_decref(params);
    json_decref(rpc);
    rpc = NULL;
    json_decref(result);
    result = NULL;

    /* An answer written in place whose memory the method still holds
     * writable: the SDK cannot seal it and fails the call instead of
     * sending it; the plugin lives on. */
    for (int size = 0; size < 2; size++) {
        params = json_pack("{s:i}", "size", size ? 1 << 20 : 4096);
        rc = ph_host_call(h, "blobs", "keep_mapping", params, &result, &rpc, &err);
        const char *msg = json_string_value(json_object_get(rpc, "message"));
        CHECKF(rc == PH_E_PLUGIN && msg && strstr(msg, "writable mapping"),
               "a blob kept mapped writable is refused: rc %d, %s", rc, msg ? msg : "-");
        json_decref(params);
        json_decref(rpc);
        rpc = NULL;
        json_decref(result);
        result = NULL;
    }
    call_echo(h, "echo_direct", 4097);

    /* Over the maximum message size: refused before anything is sent. */
    rc = ph_host_call_blob(h, "blobs", "sum", NULL, three, ((size_t)64 << 20) + 1, &result, &out,
                           &out_len, &rpc, &err);
    CHECKF(rc == PH_E_INVALID && strstr(err.text, "maximum"), "oversized blob: rc %d", rc);

    ph_host_free(h);
    return ph_t_summary("test_blob");
}
