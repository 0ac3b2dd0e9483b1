/*
 * schema: the JSON Schema subset methods may declare for their params (see
 * schema.c and docs/protocol.md).
 */
#ifndef PH_HOST_SCHEMA_H
#define PH_HOST_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* Checks that a schema from a handshake uses only the supported subset.
 * Returns 0 or -1 with err filled. */
int ph_schema_check(json_t *schema, char *err, size_t errlen);

/* Validates params (borrowed; array, object or NULL) against a checked
 * schema. Returns 0, or -1 with err naming the offending parameter. */
int ph_schema_validate(json_t *schema, json_t *params, char *err, size_t errlen);

#endif
