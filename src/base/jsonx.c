#include "base/jsonx.h"

#include "base/amount.h"

bool jsonx_u64(const json_t *obj, const char *key, uint64_t *out)
{
	const json_t *v = json_object_get(obj, key);
	u128 big;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_string(v) || !amount_parse_units(&big, json_string_value(v)) ||
	    big > UINT64_MAX)
		return false;
	*out = (uint64_t)big;
	return true;
}

bool jsonx_units(const json_t *obj, const char *key, u128 *out)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL && amount_parse_units(out, s);
}
