/*
 * Unit test of hello.c: calls its methods in-process with ph_test_call(), so
 * a failure points at the method and not at the sandbox or the transport.
 * Exits 0 when every check passed.
 */
#include <plughost/sdk.h>

#include <stdio.h>
#include <string.h>

/* The table PH_PLUGIN() defines in hello.c, which is linked in. */
extern const ph_plugin ph_plugin_v1;

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

/* Calls hello.greet with params given as JSON text; returns ph_test_call's
 * status and leaves exactly one of *result and *error set. */
static int call(const char *params_text, json_t **result, json_t **error)
{
    json_t *params = params_text ? json_loads(params_text, 0, NULL) : NULL;
    *result = *error = NULL;
    int rc = ph_test_call(&ph_plugin_v1, "greet", params, result, error);
    json_decref(params);
    return rc;
}

static const char *greeting_of(json_t *result)
{
    const char *g = json_string_value(json_object_get(result, "greeting"));
    return g ? g : "";
}

static int code_of(json_t *error)
{
    return (int)json_integer_value(json_object_get(error, "code"));
}

int main(void)
{
    json_t *r, *e;

    check(call("[\"x\"]", &r, &e) == 0 && strcmp(greeting_of(r), "Hello, x") == 0,
          "params by position");
    json_decref(r);
    json_decref(e);

    check(call("{\"name\": \"world\"}", &r, &e) == 0 && strcmp(greeting_of(r), "Hello, world") == 0,
          "params by name");
    json_decref(r);
    json_decref(e);

    check(call(NULL, &r, &e) == -1 && code_of(e) == PH_ERR_INVALID_PARAMS,
          "missing name is invalid params");
    json_decref(r);
    json_decref(e);

    check(call("[42]", &r, &e) == -1 && code_of(e) == PH_ERR_INVALID_PARAMS,
          "a number is not a name");
    json_decref(r);
    json_decref(e);

    check(call("[\"\"]", &r, &e) == -1 && code_of(e) == 1, "empty name is the plugin's error 1");
    json_decref(r);
    json_decref(e);

    r = e = NULL;
    check(ph_test_call(&ph_plugin_v1, "nope", NULL, &r, &e) == -1 && e != NULL,
          "unknown method fails");
    json_decref(r);
    json_decref(e);

    printf("test_hello: %d failure%s\n", failures, failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
