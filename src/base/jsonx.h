/* Reading numbers out of JSON answers (node RPC results, documents): the node writes u64 values
 * as JSON integers or, above 2^53 where JSON parsers lose precision, as decimal strings, and PHA
 * amounts (u128 units) always as decimal strings. */
#ifndef TN_BASE_JSONX_H
#define TN_BASE_JSONX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/codec.h"

/* obj[key] as a u64: a non-negative JSON integer, or a decimal string of at most UINT64_MAX.
 * False (and *out untouched) when absent or anything else. */
bool jsonx_u64(const json_t *obj, const char *key, uint64_t *out);
/* obj[key] as u128 units: a decimal string (base/amount.h amount_parse_units). False when absent
 * or malformed. */
bool jsonx_units(const json_t *obj, const char *key, u128 *out);

#endif
