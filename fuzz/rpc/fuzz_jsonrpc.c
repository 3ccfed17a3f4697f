/*
 * rpc_dispatch on arbitrary bytes over a small table of echo-like methods. Properties: never
 * crashes or leaks; every response is valid JSON (so every message was valid UTF-8) made of
 * JSON-RPC 2.0 response objects carrying exactly one of "result" and "error".
 */
#include "rpc/rpc.h"

#include <stdlib.h>
#include <string.h>

static int f_echo(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)err;
	*result = params ? json_deep_copy(params) : NULL;
	return 0;
}

static int f_typed(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	static const char *const names[] = {"s", "n", "b"};
	const char *s;
	uint64_t n;
	bool b;
	if (rpc_params_check(params, names, 3, err) || rpc_param_string(params, 0, "s", &s, err) ||
	    rpc_param_u64_opt(params, 1, "n", 7, &n, err) ||
	    rpc_param_bool(params, 2, "b", false, &b, err))
		return -1;
	*result = json_pack("{s:s, s:I, s:b}", "s", s, "n", (json_int_t)(n >> 1), "b", b);
	return 0;
}

/* Fails echoing the client's string into the message, as a careless handler might. */
static int f_fail(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)result;
	const char *s = "";
	if (rpc_param_string_opt(params, 0, "why", "", &s, err))
		return -1;
	return rpc_error_set(err, -32010, "rejected: %s", s);
}

static const struct rpc_method fmethods[] = {
    {"echo", f_echo, "echo"},
    {"typed", f_typed, "typed"},
    {"fail", f_fail, "fail"},
};

static bool valid_response(json_t *r)
{
	const char *v = json_string_value(json_object_get(r, "jsonrpc"));
	if (!json_is_object(r) || !v || strcmp(v, "2.0") != 0)
		return false;
	json_t *e = json_object_get(r, "error");
	bool has_result = json_object_get(r, "result") != NULL;
	if (has_result == (e != NULL) || !json_object_get(r, "id"))
		return false;
	return !e || (json_is_integer(json_object_get(e, "code")) &&
	              json_is_string(json_object_get(e, "message")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rpc_table t = {fmethods, sizeof(fmethods) / sizeof(fmethods[0]), NULL,
	                                   16, 0};
	char *out;
	size_t len;
	if (rpc_dispatch(&t, (const char *)data, size, &out, &len) != RPC_SERVER_OK)
		abort();
	if (!out)
		return 0;
	json_t *r = json_loadb(out, len, 0, NULL);
	bool ok = r != NULL;
	if (json_is_array(r)) {
		ok = json_array_size(r) > 0;
		for (size_t i = 0; ok && i < json_array_size(r); i++)
			ok = valid_response(json_array_get(r, i));
	} else if (r) {
		ok = valid_response(r);
	}
	json_decref(r);
	free(out);
	if (!ok)
		abort();
	return 0;
}
