/* Positional-or-named parameter access for method handlers, with messages naming the parameter. */
#include "rpc/rpc_int.h"

#include <string.h>

/* The given value of a parameter, or NULL when absent or JSON null. */
static json_t *param_get(json_t *params, size_t index, const char *name)
{
	json_t *v = NULL;
	if (json_is_array(params))
		v = json_array_get(params, index);
	else if (json_is_object(params))
		v = json_object_get(params, name);
	return json_is_null(v) ? NULL : v;
}

static int param_missing(struct rpc_error *err, size_t index, const char *name)
{
	return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "missing param \"%s\" (position %zu)",
	                     name, index);
}

static int param_bad(struct rpc_error *err, const char *name, const char *expected)
{
	return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "param \"%s\" must be %s", name,
	                     expected);
}

int rpc_params_check(json_t *params, const char *const *names, size_t n, struct rpc_error *err)
{
	if (json_is_array(params) && json_array_size(params) > n)
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "too many params: expected at most %zu, got %zu", n,
		                     json_array_size(params));
	const char *key;
	json_t *v;
	json_object_foreach(params, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(names[i], key) != 0)
			i++;
		if (i == n)
			return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
			                     "unknown param \"%.64s\"", key);
	}
	return 0;
}

/* Strings: dflt NULL with required set means the parameter must be given. */
static int param_string(json_t *params, size_t index, const char *name, bool required,
                        const char *dflt, const char **out, struct rpc_error *err)
{
	json_t *v = param_get(params, index, name);
	if (!v) {
		*out = dflt;
		return required ? param_missing(err, index, name) : 0;
	}
	if (!json_is_string(v))
		return param_bad(err, name, "a string");
	*out = json_string_value(v);
	return 0;
}

int rpc_param_string(json_t *params, size_t index, const char *name, const char **out,
                     struct rpc_error *err)
{
	return param_string(params, index, name, true, NULL, out, err);
}

int rpc_param_string_opt(json_t *params, size_t index, const char *name, const char *dflt,
                         const char **out, struct rpc_error *err)
{
	return param_string(params, index, name, false, dflt, out, err);
}

/* Canonical decimal: digits only, no leading zero (except "0" itself), at most 2^64-1. */
static bool parse_u64_dec(const char *s, uint64_t *out)
{
	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int param_u64(json_t *params, size_t index, const char *name, bool required, uint64_t dflt,
                     uint64_t *out, struct rpc_error *err)
{
	json_t *v = param_get(params, index, name);
	if (!v) {
		*out = dflt;
		return required ? param_missing(err, index, name) : 0;
	}
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && parse_u64_dec(json_string_value(v), out))
		return 0;
	return param_bad(err, name,
	                 "a non-negative integer below 2^64 (a JSON integer or a decimal string)");
}

int rpc_param_u64(json_t *params, size_t index, const char *name, uint64_t *out,
                  struct rpc_error *err)
{
	return param_u64(params, index, name, true, 0, out, err);
}

int rpc_param_u64_opt(json_t *params, size_t index, const char *name, uint64_t dflt, uint64_t *out,
                      struct rpc_error *err)
{
	return param_u64(params, index, name, false, dflt, out, err);
}

int rpc_param_bool(json_t *params, size_t index, const char *name, bool dflt, bool *out,
                   struct rpc_error *err)
{
	json_t *v = param_get(params, index, name);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (!json_is_boolean(v))
		return param_bad(err, name, "true or false");
	*out = json_is_true(v);
	return 0;
}
