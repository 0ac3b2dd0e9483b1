/*
 * blob: calls that pass bytes beside the JSON (ph_host_call_blob). The
 * bytes travel as a sealed memfd attached to the request and, if the
 * plugin returns some, to its answer; supervisor.c checks an answer's blob
 * (take_blob) before anything here maps it.
 *
 * It must never map a blob it has not checked, nor map one writable: the
 * plugin could otherwise change the bytes under the caller or shrink the
 * file and fault the host.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct blob_answer {
    struct ph_host *h;
    int done;
    json_t *result, *error;
    int out_fd;
};

static void blob_cb(void *ud, uint64_t id, json_t *result, json_t *error)
{
    struct blob_answer *a = ud;
    (void)id;
    a->done = 1;
    a->result = json_incref(result);
    a->error = json_incref(error);
    struct ph_call *c = a->h->running_call;
    if (c && result) {
        a->out_fd = c->out_fd;
        c->out_fd = -1;
    }
}

/* params with the blob reference added, as a new reference. */
static json_t *with_ref(json_t *params, size_t len)
{
    json_t *ref = ph_wire_blob_ref(len);
    json_t *p = !params ? json_object() : json_copy(params);
    if (!ref || !p) {
        json_decref(ref);
        json_decref(p);
        return NULL;
    }
    int rc = json_is_array(p) ? json_array_append_new(p, ref) : json_object_set_new(p, "blob", ref);
    if (rc < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int ph_host_call_blob(ph_host *h, const char *plugin, const char *method, json_t *params,
                      const void *data, size_t len, json_t **result, const void **out,
                      size_t *out_len, json_t **rpc_error, ph_error *err)
{
    *result = NULL;
    *out = NULL;
    *out_len = 0;
    if (!h || (!data && len))
        return ph_set_error(err, PH_E_INVALID, "a host and data (or len 0) are required");
    if (params && !json_is_array(params) && !json_is_object(params))
        return ph_set_error(err, PH_E_INVALID, "params must be an array or an object");
    if (len > h->opt.max_message)
        return ph_set_error(err, PH_E_INVALID,
                            "blob of %zu bytes, over the maximum message size (%zu)", len,
                            h->opt.max_message);
    char why[200];
    int fd = ph_wire_blob_make(data, len, why, sizeof why);
    if (fd < 0)
        return ph_set_error(err, PH_E_SYSTEM, "%s", why);
    json_t *p = with_ref(params, len);
    if (!p) {
        close(fd);
        return ph_set_error(err, PH_E_NOMEM, "out of memory");
    }
    struct blob_answer a = {.h = h, .out_fd = -1};
    int rc = ph_call_start(h, plugin, method, p, fd, blob_cb, &a, NULL, err);
    json_decref(p);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    while (!a.done) {
        rc = ph_host_process(h, -1, err);
        if (rc < 0) {
            /* The call stays registered with a callback pointing here: the
             * host is unusable after a failed loop turn, as ph_host_call. */
            return rc;
        }
    }
    if (!a.result) {
        const char *m = json_string_value(json_object_get(a.error, "message"));
        ph_set_error(err, PH_E_PLUGIN, "%s", m ? m : "call failed");
        if (rpc_error)
            *rpc_error = a.error;
        else
            json_decref(a.error);
        return PH_E_PLUGIN;
    }
    json_decref(a.error);
    if (a.out_fd >= 0) {
        struct stat st;
        void *m = NULL;
        if (fstat(a.out_fd, &st) == 0 && st.st_size > 0)
            m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, a.out_fd, 0);
        int e = errno;
        close(a.out_fd);
        if (m == MAP_FAILED) {
            json_decref(a.result);
            return ph_set_error(err, PH_E_SYSTEM, "cannot map the answer's blob: %s", strerror(e));
        }
        *out = m;
        *out_len = m ? (size_t)st.st_size : 0;
    }
    *result = a.result;
    return PH_OK;
}

void ph_host_blob_free(const void *out, size_t len)
{
    if (out && len)
        munmap((void *)out, len);
}
