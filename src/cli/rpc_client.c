#include "cli/rpc_client.h"

#include <assert.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A response body being received; `over` records that the cap was hit. */
struct rpc_buf {
	char *p;
	size_t len;
	bool over;
};

__attribute__((format(printf, 2, 3))) static void rpc_set_err(struct rpc_client *c, const char *fmt,
                                                              ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	/* Node-supplied text must not break the one-line error contract. */
	for (char *s = c->err; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static char *rpc_normalise_url(const char *url)
{
	char *out = NULL;
	if (strstr(url, "://") == NULL) {
		if (asprintf(&out, "http://%s", url) < 0)
			return NULL;
		return out;
	}
	return strdup(url);
}

enum rpc_result rpc_client_init(struct rpc_client *c, const char *url, long timeout_ms)
{
	assert(timeout_ms > 0);
	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	c->next_id = 1;
	if (strstr(url, "://") != NULL && strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		rpc_set_err(c, "unsupported RPC URL '%s' (use http://HOST:PORT)", url);
		return RPC_BAD_RESPONSE;
	}
	c->url = rpc_normalise_url(url);
	if (c->url == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto nomem;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		curl_global_cleanup();
		goto nomem;
	}
	return RPC_OK;
nomem:
	rpc_set_err(c, "out of memory");
	return RPC_NOMEM;
}

void rpc_client_release(struct rpc_client *c)
{
	if (c->curl != NULL) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	free(c->url);
	c->curl = NULL;
	c->url = NULL;
}

const char *rpc_client_error(const struct rpc_client *c)
{
	return c->err;
}

static size_t rpc_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct rpc_buf *b = userp;
	size_t n = size * nmemb;
	if (n > RPC_MAX_RESPONSE - b->len) {
		b->over = true;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	char *p = realloc(b->p, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* Maps a failed transfer to a result and message naming the node. */
static enum rpc_result rpc_transport_error(struct rpc_client *c, CURLcode rc,
                                           const struct rpc_buf *b)
{
	long oserr = 0;
	double connect_s = 0;
	curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
	curl_easy_getinfo(c->curl, CURLINFO_CONNECT_TIME, &connect_s);
	if (b->over) {
		rpc_set_err(c, "answer from node at %s is larger than %u bytes", c->url,
		            RPC_MAX_RESPONSE);
		return RPC_TOO_LARGE;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT && connect_s > 0) {
		rpc_set_err(c, "node at %s did not answer within %ld s", c->url,
		            (c->timeout_ms + 999) / 1000);
		return RPC_TIMEOUT;
	}
	if (rc == CURLE_WRITE_ERROR || rc == CURLE_OUT_OF_MEMORY) {
		rpc_set_err(c, "out of memory reading the answer of %s", c->url);
		return RPC_NOMEM;
	}
	if (connect_s > 0) {
		rpc_set_err(c, "connection to node at %s failed: %s", c->url,
		            curl_easy_strerror(rc));
		return RPC_UNREACHABLE;
	}
	if (rc == CURLE_COULDNT_RESOLVE_HOST)
		rpc_set_err(c, "cannot reach node at %s: unknown host", c->url);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		rpc_set_err(c, "cannot reach node at %s: connection timed out", c->url);
	else if (oserr != 0)
		rpc_set_err(c, "cannot reach node at %s: %s", c->url, strerror((int)oserr));
	else
		rpc_set_err(c, "cannot reach node at %s: %s", c->url, curl_easy_strerror(rc));
	return RPC_UNREACHABLE;
}

/* POSTs body[0..len) with content type ctype to url; on RPC_OK b holds the answer (the caller
 * frees b->p, also on failure) and *status the HTTP status. */
static enum rpc_result transfer(struct rpc_client *c, const char *url, const char *ctype,
                                const void *body, size_t len, struct rpc_buf *b, long *status)
{
	char header[96];
	snprintf(header, sizeof(header), "Content-Type: %s", ctype);
	struct curl_slist *hdr = curl_slist_append(NULL, header);
	if (hdr == NULL) {
		rpc_set_err(c, "out of memory");
		return RPC_NOMEM;
	}
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, RPC_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rpc_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK)
		return rpc_transport_error(c, rc, b);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	return RPC_OK;
}

/* POSTs a JSON-RPC body; on RPC_OK *out is the parsed JSON answer (new reference) and *status
 * the HTTP status. */
static enum rpc_result rpc_post(struct rpc_client *c, const char *body, json_t **out, long *status)
{
	struct rpc_buf b = {0};
	*out = NULL;
	enum rpc_result r = transfer(c, c->url, "application/json", body, strlen(body), &b, status);
	if (r == RPC_OK && (*out = b.p ? json_loadb(b.p, b.len, 0, NULL) : NULL) == NULL) {
		if (*status != 200)
			rpc_set_err(c, "node at %s answered HTTP %ld", c->url, *status);
		else
			rpc_set_err(c, "node at %s answered with something that is not JSON",
			            c->url);
		r = *status != 200 ? RPC_HTTP : RPC_BAD_RESPONSE;
	}
	free(b.p);
	return r;
}

enum rpc_result rpc_post_bytes(struct rpc_client *c, const char *path, const uint8_t *body,
                               size_t len, uint8_t **reply, size_t *reply_len)
{
	assert(c->curl != NULL && path[0] == '/');
	struct rpc_buf b = {0};
	long status = 0;
	char *url = NULL;
	size_t base = strlen(c->url);
	*reply = NULL;
	*reply_len = 0;
	c->code = 0;
	c->err[0] = '\0';
	if (base && c->url[base - 1] == '/')
		base--;
	if (asprintf(&url, "%.*s%s", (int)base, c->url, path) < 0) {
		rpc_set_err(c, "out of memory");
		return RPC_NOMEM;
	}
	enum rpc_result r = transfer(c, url, "application/octet-stream", body, len, &b, &status);
	if (r == RPC_OK && status != 200) {
		json_t *j = b.p ? json_loadb(b.p, b.len, 0, NULL) : NULL;
		const char *msg =
		    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		c->code =
		    (long)json_integer_value(json_object_get(json_object_get(j, "error"), "code"));
		rpc_set_err(c, "%s: node at %s answered HTTP %ld%s%s", path, c->url, status,
		            msg ? ": " : "", msg ? msg : "");
		json_decref(j);
		r = RPC_HTTP;
	}
	if (r == RPC_OK && !b.p && !(b.p = calloc(1, 1))) {
		rpc_set_err(c, "out of memory");
		r = RPC_NOMEM;
	}
	if (r == RPC_OK) {
		*reply = (uint8_t *)b.p;
		*reply_len = b.len;
		b.p = NULL;
	}
	free(b.p);
	free(url);
	return r;
}

static json_t *rpc_request(const char *method, json_t *params, uint64_t id)
{
	json_t *req =
	    json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method);
	if (req != NULL && params != NULL && json_object_set(req, "params", params) != 0) {
		json_decref(req);
		return NULL;
	}
	return req;
}

static bool rpc_is_v2(const json_t *resp)
{
	const char *v = json_string_value(json_object_get(resp, "jsonrpc"));
	return v != NULL && strcmp(v, "2.0") == 0;
}

static bool rpc_id_is(const json_t *resp, uint64_t id)
{
	const json_t *jid = json_object_get(resp, "id");
	return json_is_integer(jid) && (uint64_t)json_integer_value(jid) == id;
}

/* Checks one response object for request `id` and takes its result. An error answer may carry a
 * null id (the server could not read ours), so only a result must match the id. */
static enum rpc_result rpc_take_result(struct rpc_client *c, const char *method, json_t *resp,
                                       uint64_t id, json_t **result)
{
	json_t *res = json_object_get(resp, "result");
	json_t *err = json_object_get(resp, "error");
	if (!json_is_object(resp) || !rpc_is_v2(resp) || (err == NULL) == (res == NULL) ||
	    (res != NULL && !rpc_id_is(resp, id))) {
		rpc_set_err(c, "%s: node at %s sent a malformed JSON-RPC response", method, c->url);
		return RPC_BAD_RESPONSE;
	}
	if (err != NULL) {
		const char *msg = json_string_value(json_object_get(err, "message"));
		const char *data = json_string_value(json_object_get(err, "data"));
		c->code = (long)json_integer_value(json_object_get(err, "code"));
		rpc_set_err(c, "%s: %s%s%s (code %ld)", method, msg ? msg : "error",
		            data ? ": " : "", data ? data : "", c->code);
		return RPC_ERROR;
	}
	*result = json_incref(res);
	return RPC_OK;
}

enum rpc_result rpc_call(struct rpc_client *c, const char *method, json_t *params, json_t **result)
{
	struct rpc_req req = {.method = method, .params = params};
	enum rpc_result r = rpc_batch(c, &req, 1);
	*result = req.result;
	return r;
}

/* Encodes the requests as a bare object (n == 1) or an array; ids are first_id + i. */
static char *rpc_encode(struct rpc_req *reqs, size_t n, uint64_t first_id)
{
	json_t *arr = json_array();
	char *body = NULL;
	for (size_t i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(
		        arr, rpc_request(reqs[i].method, reqs[i].params, first_id + i)) != 0)
			goto out;
	}
	if (arr != NULL)
		body = json_dumps(n == 1 ? json_array_get(arr, 0) : arr, JSON_COMPACT);
out:
	json_decref(arr);
	return body;
}

/* Finds the response with id in a batch answer (servers may reorder them); falls back to an error
 * with a null id, which the server sends for a request it could not read. */
static json_t *rpc_find_id(json_t *answer, uint64_t id)
{
	json_t *null_id = NULL;
	for (size_t i = 0; i < json_array_size(answer); i++) {
		json_t *v = json_array_get(answer, i);
		if (rpc_id_is(v, id))
			return v;
		if (null_id == NULL && json_is_null(json_object_get(v, "id")))
			null_id = v;
	}
	return null_id;
}

static enum rpc_result rpc_collect(struct rpc_client *c, struct rpc_req *reqs, size_t n,
                                   json_t *answer, uint64_t first_id)
{
	enum rpc_result r = RPC_OK;
	if (n > 1 && !json_is_array(answer)) {
		/* A batch rejected as a whole comes back as one error object. */
		return rpc_take_result(c, "batch", answer, 0, &reqs[0].result);
	}
	for (size_t i = 0; i < n && r == RPC_OK; i++) {
		json_t *resp = n == 1 ? answer : rpc_find_id(answer, first_id + i);
		if (resp == NULL) {
			rpc_set_err(c, "%s: node at %s sent no answer for it", reqs[i].method,
			            c->url);
			r = RPC_BAD_RESPONSE;
			break;
		}
		r = rpc_take_result(c, reqs[i].method, resp, first_id + i, &reqs[i].result);
	}
	if (r != RPC_OK)
		for (size_t i = 0; i < n; i++) {
			json_decref(reqs[i].result);
			reqs[i].result = NULL;
		}
	return r;
}

enum rpc_result rpc_batch(struct rpc_client *c, struct rpc_req *reqs, size_t n)
{
	assert(c->curl != NULL && n >= 1 && n <= RPC_MAX_BATCH);
	uint64_t first_id = c->next_id;
	json_t *answer = NULL;
	long status = 0;
	enum rpc_result r = RPC_NOMEM;
	c->next_id += n;
	c->code = 0;
	c->err[0] = '\0';
	for (size_t i = 0; i < n; i++)
		reqs[i].result = NULL;
	char *body = rpc_encode(reqs, n, first_id);
	for (size_t i = 0; i < n; i++) {
		json_decref(reqs[i].params);
		reqs[i].params = NULL;
	}
	if (body == NULL) {
		rpc_set_err(c, "out of memory");
		return RPC_NOMEM;
	}
	r = rpc_post(c, body, &answer, &status);
	if (r == RPC_OK)
		r = rpc_collect(c, reqs, n, answer, first_id);
	if (r == RPC_BAD_RESPONSE && status != 200) {
		rpc_set_err(c, "node at %s answered HTTP %ld", c->url, status);
		r = RPC_HTTP;
	}
	json_decref(answer);
	free(body);
	return r;
}
