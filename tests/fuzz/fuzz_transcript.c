/*
 * fuzz_transcript: a transcript as `plughost replay` reads it (a file anyone
 * may have edited), through the parse, the comparison and the formatting.
 * Property: each process of a transcript that parses compares equal to its
 * own stream alone. It must never hide a failure: a broken property aborts.
 */
#include "transcript.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512];
    json_t *t = ph_tr_parse((const char *)data, size, "fuzz", why, sizeof why);
    if (!t)
        return 0;
    /* Against a transcript with nothing in it: every recorded call is a
     * difference, each of which must format. */
    json_t *empty = ph_tr_parse("{\"plughost_transcript\":2}\n", 26, "empty", why, sizeof why);
    json_t *procs = ph_tr_processes(t);
    const char *ignore[] = {"log*", "echo.echo:result.*", "x#1:*"};
    struct ph_tr_diff_opts o = {ignore, 3, 1};
    size_t k;
    json_t *p;
    json_array_foreach(procs, k, p)
    {
        json_t *alone = ph_tr_only(t, json_integer_value(json_object_get(p, "proc")));
        json_t *same = ph_tr_diff(t, p, alone, NULL);
        if (json_array_size(same) != 0)
            abort();
        json_decref(same);
        json_decref(alone);
        json_t *d = ph_tr_diff(t, p, empty, &o);
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e)
        {
            char line[1024];
            ph_tr_format(e, line, sizeof line);
        }
        json_decref(d);
    }
    json_decref(procs);
    json_decref(empty);
    json_decref(t);
    return 0;
}
