/*
 * selftest: ph_host_new(), a host that with "self_test": true in its
 * configuration proves its sandbox with the doctor's probe (doctor.c)
 * before any plugin runs. It is the top of the host library: the doctor
 * makes a host of its own (setup.c) without it, so nothing below calls up.
 *
 * It must never run a plugin of the operator's before the probe's checks
 * all passed.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* With "self_test": true, the sandbox must prove itself before any plugin
 * runs: the doctor's probe makes forbidden calls that must come back as
 * named violations. */
static int self_test(struct ph_host *h, ph_error *err)
{
    if (!json_is_true(json_object_get(h->config, "self_test")))
        return 0;
    json_t *report = NULL;
    ph_error e;
    int rc = ph_host_doctor(&h->opt, &report, &e);
    json_t *c;
    size_t i;
    char failed[512] = "";
    json_array_foreach(json_object_get(report, "checks"), i, c)
    {
        if (json_is_true(json_object_get(c, "ok")))
            continue;
        size_t n = strlen(failed);
        const char *st = json_string_value(json_object_get(c, "status"));
        snprintf(failed + n, sizeof failed - n, "%s%s: %s", n ? ", " : "",
                 json_string_value(json_object_get(c, "check")), st ? st : "failed");
    }
    json_decref(report);
    if (rc == PH_OK)
        return 0;
    return ph_set_error(err, PH_E_SYSTEM,
                        "sandbox self-test failed (%s): refusing to run plugins; run `plughost "
                        "doctor` for details",
                        failed[0] ? failed : e.text);
}

int ph_host_new(const ph_host_options *opts, ph_host **out, ph_error *err)
{
    return ph_host_make(opts, out, self_test, err);
}
