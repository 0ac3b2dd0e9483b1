/*
 * notifier: what the example plugins do not do and a client test needs. A
 * notification of the plugin's own, which the host forwards to the client
 * as notifier.said, and a crash, which a client must see as a failed call.
 */
#include <plughost/sdk.h>

static json_t *notify(ph_ctx *ctx, json_t *params)
{
    const char *text;
    if (ph_param_string(ctx, params, "text", 0, &text) < 0)
        return NULL;
    json_t *n = json_pack("{s:s}", "text", text);
    int rc = ph_notify(ctx, "said", n);
    json_decref(n);
    return json_boolean(rc == 0);
}

static json_t *crash(ph_ctx *ctx, json_t *params)
{
    (void)ctx;
    (void)params;
    /* Volatile twice so the compiler can neither prove the pointer NULL nor
     * drop the store. */
    volatile int *volatile p = NULL;
    *p = 1;
    return json_null();
}

static const ph_method methods[] = {
    /* A JSON Schema for its params, which MCP clients see as the input
     * schema when the host knows params schemas. */
    {"notify", notify, "sends the notification notifier.said {text}", "{text: string}"},
    {"crash", crash, "dereferences NULL", NULL},
    {0},
};
static const ph_params_schema schemas[] = {
    {"notify", "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
               "\"required\":[\"text\"]}"},
    {0},
};

PH_PLUGIN(.name = "notifier", .version = "1.0.0",
          .description = "a notification of its own, and a crash, for client tests",
          .methods = methods, .params_schemas = schemas);
