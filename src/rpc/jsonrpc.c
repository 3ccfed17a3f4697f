/* JSON-RPC 2.0 parsing, validation and dispatch: bytes in, bytes out, no HTTP. */
#include "rpc/rpc_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESERVED_PREFIX "rpc."

/* One dispatch call: the table and where to count. */
struct dctx {
	const struct rpc_table *t;
	struct rpc_counters *c;
};

static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char b = p[0];
	if (b < 0x80)
		return 1;
	size_t n;
	unsigned min;
	unsigned cp;
	if (b >= 0xc2 && b <= 0xdf) {
		n = 2, min = 0x80, cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3, min = 0x800, cp = b & 0x0f;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4, min = 0x10000, cp = b & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL terminator */
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void rpc_utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq_len(p);
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

int rpc_error_set(struct rpc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

/* A JSON-RPC error response object; message sanitised in place. NULL when out of memory. */
static json_t *error_response(struct dctx *d, json_t *id, int code, char *message)
{
	rpc_utf8_sanitize(message);
	if (d->c)
		atomic_fetch_add_explicit(&d->c->errors, 1, memory_order_relaxed);
	return json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0", "error", "code", code,
	                 "message", message, "id", id ? id : json_null());
}

static json_t *error_responsef(struct dctx *d, json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static json_t *error_responsef(struct dctx *d, json_t *id, int code, const char *fmt, ...)
{
	char msg[RPC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_response(d, id, code, msg);
}

char *rpc_error_body(int code, const char *msg, size_t *len)
{
	char copy[RPC_ERROR_MSG_MAX];
	snprintf(copy, sizeof(copy), "%s", msg);
	struct dctx d = {NULL, NULL};
	json_t *e = error_response(&d, NULL, code, copy);
	char *out = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	*len = out ? strlen(out) : 0;
	return out;
}

/* Rejects bodies nested deeper than max before jansson (whose own limit is 2048) recurses into
 * them. Brackets inside strings do not count; malformed JSON is left for the parser to report. */
static bool depth_ok(const char *p, size_t n, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false, esc = false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max)
				return false;
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return true;
}

static bool code_allowed(int code)
{
	if (code == RPC_CODE_INVALID_PARAMS || code == RPC_CODE_INTERNAL_ERROR)
		return true;
	if (code >= RPC_CODE_SERVER_MIN && code <= RPC_CODE_SERVER_MAX)
		return true;
	return code < -32768 || code > -32000;
}

static const struct rpc_method *method_find(const struct rpc_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->methods[i].name, name) == 0)
			return &t->methods[i];
	return NULL;
}

void rpc_table_assert_valid(const struct rpc_table *t)
{
	assert(t->n == 0 || t->methods);
	for (size_t i = 0; i < t->n; i++) {
		const struct rpc_method *m = &t->methods[i];
		assert(m->name && m->fn && m->name[0]);
		assert(strncmp(m->name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) != 0);
		assert(method_find(t, m->name) == m);
		(void)m;
	}
}

/* The built-in "rpc.methods": [{"name","help"}...] in table order. */
static int builtin_methods(const struct rpc_table *t, json_t *params, json_t **result,
                           struct rpc_error *err)
{
	if (rpc_params_check(params, NULL, 0, err) != 0)
		return -1;
	json_t *list = json_array();
	for (size_t i = 0; list && i < t->n; i++) {
		const struct rpc_method *m = &t->methods[i];
		json_t *e =
		    json_pack("{s:s, s:s}", "name", m->name, "help", m->help ? m->help : "");
		if (json_array_append_new(list, e) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list)
		return rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
	*result = list;
	return 0;
}

/* Runs a valid request's method. Sets *resp to the response (NULL for a notification). Returns 0,
 * or -1 when out of memory. */
static int call_method(struct dctx *d, json_t *req, json_t *id, json_t **resp)
{
	const char *name = json_string_value(json_object_get(req, "method"));
	json_t *params = json_object_get(req, "params");
	bool notification = json_object_get(req, "id") == NULL;
	struct rpc_error err = {0, ""};
	json_t *result = NULL;
	int rc;
	const struct rpc_method *m = method_find(d->t, name);
	if (m)
		rc = m->fn(d->t->app, params, &result, &err);
	else if (strcmp(name, RESERVED_PREFIX "methods") == 0)
		rc = builtin_methods(d->t, params, &result, &err);
	else
		rc = rpc_error_set(&err, RPC_CODE_METHOD_NOT_FOUND, "method \"%.64s\" not found",
		                   name);
	assert(rc == 0 || rc == -1);
	if (rc != 0) {
		assert(!m || (result == NULL && code_allowed(err.code)));
		/* When asserts are off, a misbehaving handler must not leak or forge codes. */
		json_decref(result);
		result = NULL;
		if (m && !code_allowed(err.code))
			err.code = RPC_CODE_INTERNAL_ERROR;
	}
	if (notification) {
		json_decref(result);
		*resp = NULL;
		return 0;
	}
	if (rc != 0)
		*resp = error_response(d, id, err.code, err.message);
	else
		*resp = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
		                  result ? result : json_null(), "id", id);
	return *resp ? 0 : -1;
}

/* Why req is not a valid request object (NULL when it is); *id is set to its id when the id
 * itself is valid, so the error can still be matched to the request. */
static const char *envelope_error(json_t *req, json_t **id)
{
	*id = NULL;
	if (!json_is_object(req))
		return "request must be an object";
	json_t *idv = json_object_get(req, "id");
	if (idv && !json_is_string(idv) && !json_is_number(idv) && !json_is_null(idv))
		return "id must be a string, number or null";
	*id = idv;
	json_t *v = json_object_get(req, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return "jsonrpc must be \"2.0\"";
	if (!json_is_string(json_object_get(req, "method")))
		return "method must be a string";
	json_t *p = json_object_get(req, "params");
	if (p && !json_is_array(p) && !json_is_object(p))
		return "params must be an array or object";
	return NULL;
}

static int handle_one(struct dctx *d, json_t *req, json_t **resp)
{
	if (d->c)
		atomic_fetch_add_explicit(&d->c->calls, 1, memory_order_relaxed);
	json_t *id;
	const char *why = envelope_error(req, &id);
	if (!why)
		return call_method(d, req, id, resp);
	*resp = error_responsef(d, id, RPC_CODE_INVALID_REQUEST, "invalid request: %s", why);
	return *resp ? 0 : -1;
}

static int handle_batch(struct dctx *d, json_t *batch, json_t **resp)
{
	size_t n = json_array_size(batch);
	size_t max = d->t->max_batch ? d->t->max_batch : RPC_SERVER_DEFAULT_MAX_BATCH;
	if (n == 0 || n > max) {
		*resp = n == 0 ? error_responsef(d, NULL, RPC_CODE_INVALID_REQUEST,
		                                 "invalid request: empty batch")
		               : error_responsef(d, NULL, RPC_CODE_INVALID_REQUEST,
		                                 "invalid request: batch of %zu requests exceeds "
		                                 "the limit of %zu",
		                                 n, max);
		return *resp ? 0 : -1;
	}
	json_t *out = json_array();
	if (!out)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_t *r;
		if (handle_one(d, json_array_get(batch, i), &r) != 0 ||
		    (r && json_array_append_new(out, r) != 0)) {
			json_decref(out);
			return -1;
		}
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		out = NULL;
	}
	*resp = out;
	return 0;
}

static int handle_body(struct dctx *d, const char *body, size_t len, json_t **resp)
{
	unsigned max_depth = d->t->max_depth ? d->t->max_depth : RPC_SERVER_DEFAULT_MAX_DEPTH;
	if (!depth_ok(body, len, max_depth)) {
		*resp =
		    error_responsef(d, NULL, RPC_CODE_PARSE_ERROR,
		                    "parse error: JSON nested deeper than %u levels", max_depth);
		return *resp ? 0 : -1;
	}
	json_error_t je;
	json_t *req = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	int rc;
	if (!req) {
		*resp = error_responsef(d, NULL, RPC_CODE_PARSE_ERROR,
		                        "parse error at line %d column %d: %s", je.line, je.column,
		                        je.text);
		rc = *resp ? 0 : -1;
	} else if (json_is_array(req)) {
		rc = handle_batch(d, req, resp);
	} else if (json_is_object(req)) {
		rc = handle_one(d, req, resp);
	} else {
		*resp = error_responsef(d, NULL, RPC_CODE_INVALID_REQUEST,
		                        "invalid request: body must be a request object or an "
		                        "array of them");
		rc = *resp ? 0 : -1;
	}
	json_decref(req);
	return rc;
}

enum rpc_server_result rpc_dispatch_counted(const struct rpc_table *t, const char *body, size_t len,
                                            char **out, size_t *out_len, struct rpc_counters *c)
{
	assert(t && (body || len == 0) && out && out_len);
	*out = NULL;
	*out_len = 0;
	struct dctx d = {t, c};
	json_t *resp = NULL;
	if (handle_body(&d, body ? body : "", len, &resp) != 0)
		return RPC_SERVER_ERR_NOMEM;
	if (!resp)
		return RPC_SERVER_OK;
	*out = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (!*out)
		return RPC_SERVER_ERR_NOMEM;
	*out_len = strlen(*out);
	return RPC_SERVER_OK;
}

enum rpc_server_result rpc_dispatch(const struct rpc_table *t, const char *body, size_t len,
                                    char **out, size_t *out_len)
{
	return rpc_dispatch_counted(t, body, len, out, out_len, NULL);
}
