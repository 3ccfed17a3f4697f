/*
 * JSON-RPC server tests: the dispatch core called directly (framing, every error code, batches,
 * notifications, parameter helpers), then a real server on 127.0.0.1 with an ephemeral port
 * driven by a minimal HTTP/1.1 client over plain sockets (routes, HTTP errors, concurrency,
 * Server-Sent Events, lifecycle).
 */
#include "check.h"

#include "rpc/rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the application under test ---- */

struct app {
	_Atomic int counted;
	_Atomic int inflight;
	_Atomic int max_inflight;
};

static int m_echo(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)err;
	*result = params ? json_incref(params) : NULL;
	return 0;
}

static int m_add(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	static const char *const names[] = {"a", "b"};
	uint64_t a, b;
	if (rpc_params_check(params, names, 2, err) || rpc_param_u64(params, 0, "a", &a, err) ||
	    rpc_param_u64_opt(params, 1, "b", 0, &b, err))
		return -1;
	if (a + b < a)
		return rpc_error_set(err, RPC_CODE_SERVER_MIN + 1, "overflow: %llu + %llu",
		                     (unsigned long long)a, (unsigned long long)b);
	char text[24];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)(a + b));
	*result = json_string(text);
	return 0;
}

static int m_greet(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	const char *name, *greeting;
	bool loud;
	if (rpc_param_string(params, 0, "name", &name, err) ||
	    rpc_param_string_opt(params, 1, "greeting", "hello", &greeting, err) ||
	    rpc_param_bool(params, 2, "loud", false, &loud, err))
		return -1;
	*result = json_sprintf("%s, %s%s", greeting, name, loud ? "!" : "");
	return 0;
}

static int m_reject(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)params, (void)result;
	return rpc_error_set(err, -32010, "tx rejected: nonce %d is stale", 3);
}

static int m_internal(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)params, (void)result;
	return rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "database unavailable");
}

static int m_badutf8(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app, (void)params, (void)result;
	/* 254 'x' then a 3-byte character: truncation splits it. */
	char msg[300];
	memset(msg, 'x', 254);
	snprintf(msg + 254, sizeof(msg) - 254, "\xe2\x82\xac");
	rpc_error_set(err, -32011, "%s", msg);
	err->message[0] = (char)0xff;
	return -1;
}

static int m_count(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)params, (void)err;
	struct app *a = app;
	*result = json_integer(atomic_fetch_add(&a->counted, 1) + 1);
	return 0;
}

static int m_sleep(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)params, (void)err, (void)result;
	struct app *a = app;
	int now = atomic_fetch_add(&a->inflight, 1) + 1;
	int prev = atomic_load(&a->max_inflight);
	while (now > prev && !atomic_compare_exchange_weak(&a->max_inflight, &prev, now))
		;
	usleep(100 * 1000);
	atomic_fetch_sub(&a->inflight, 1);
	return 0;
}

static const struct rpc_method methods[] = {
    {"echo", m_echo, "[any...] -> params"},
    {"add", m_add, "[a, b?] -> a+b as a decimal string"},
    {"greet", m_greet, "[name, greeting?, loud?] -> text"},
    {"reject", m_reject, "always fails with -32010"},
    {"internal", m_internal, "always fails with -32603"},
    {"badutf8", m_badutf8, "fails with a message that is not UTF-8"},
    {"count", m_count, "counts calls"},
    {"sleep", m_sleep, "sleeps 100 ms"},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static struct app the_app;
static const struct rpc_table table = {methods, NMETHODS, &the_app, 4, 8};

/* Dispatches body and returns the response text ("" when none); caller frees. */
static char *call(const char *body)
{
	char *out;
	size_t len;
	CHECK(rpc_dispatch(&table, body, strlen(body), &out, &len) == RPC_SERVER_OK);
	if (!out)
		return strdup("");
	CHECK(strlen(out) == len);
	return out;
}

static void expect(const char *body, const char *want)
{
	char *got = call(body);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  request:  %s\n  got:      %s\n  expected: %s\n", body, got,
		        want);
	CHECK_STR(got, want);
	free(got);
}

/* The response is an error with this code and a message containing part. */
static void expect_error(const char *body, int code, const char *part)
{
	char *got = call(body);
	json_error_t je;
	json_t *r = json_loads(got, 0, &je);
	json_t *e = json_object_get(r, "error");
	int ok = r && json_integer_value(json_object_get(e, "code")) == code &&
	         strstr(json_string_value(json_object_get(e, "message")) ?: "", part) &&
	         json_is_string(json_object_get(r, "jsonrpc")) && json_object_get(r, "id");
	if (!ok)
		fprintf(stderr, "  request: %s\n  got:     %s\n  wanted code %d with \"%s\"\n",
		        body, got, code, part);
	CHECK(ok);
	json_decref(r);
	free(got);
}

/* ---- dispatch core ---- */

static void dispatch_framing(void)
{
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[2,3],\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"5\",\"id\":1}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"b\":3,\"a\":2},\"id\":\"x\"}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"5\",\"id\":\"x\"}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":null}",
	       "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":null}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1,{\"k\":[true]}],\"id\":2.5}",
	       "{\"jsonrpc\":\"2.0\",\"result\":[1,{\"k\":[true]}],\"id\":2.5}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"params\":[\"bob\",null,true],\"id\":7}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"hello, bob!\",\"id\":7}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"params\":{\"name\":\"al\",\"greeting\":"
	       "\"hi\"},\"id\":7}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"hi, al\",\"id\":7}");
	/* Unknown members of the request object are ignored. */
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1],\"id\":0,\"extra\":1}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"1\",\"id\":0}");
}

static void dispatch_error_codes(void)
{
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":", RPC_CODE_PARSE_ERROR,
	             "parse error at line 1");
	expect_error("", RPC_CODE_PARSE_ERROR, "parse error");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}x", RPC_CODE_PARSE_ERROR,
	             "end of file expected");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"e\xff\",\"id\":1}", RPC_CODE_PARSE_ERROR,
	             "parse error");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"method\":\"add\",\"id\":1}",
	             RPC_CODE_PARSE_ERROR, "duplicate");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":99999999999999999999999}",
	             RPC_CODE_PARSE_ERROR, "too big");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":\"a\\u0000b\"}",
	             RPC_CODE_PARSE_ERROR, "parse error");

	expect_error("{\"method\":\"echo\",\"id\":1}", RPC_CODE_INVALID_REQUEST,
	             "jsonrpc must be \"2.0\"");
	expect_error("{\"jsonrpc\":\"1.0\",\"method\":\"echo\",\"id\":1}", RPC_CODE_INVALID_REQUEST,
	             "jsonrpc must be \"2.0\"");
	expect_error("{\"jsonrpc\":2.0,\"method\":\"echo\",\"id\":1}", RPC_CODE_INVALID_REQUEST,
	             "jsonrpc must be \"2.0\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":1}", RPC_CODE_INVALID_REQUEST,
	             "method must be a string");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_CODE_INVALID_REQUEST,
	             "method must be a string");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":{}}",
	             RPC_CODE_INVALID_REQUEST, "id must be a string, number or null");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":true}",
	             RPC_CODE_INVALID_REQUEST, "id must be a string, number or null");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":\"x\",\"id\":1}",
	             RPC_CODE_INVALID_REQUEST, "params must be an array or object");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":null,\"id\":1}",
	             RPC_CODE_INVALID_REQUEST, "params must be an array or object");
	expect_error("42", RPC_CODE_INVALID_REQUEST, "body must be a request object");
	expect_error("\"x\"", RPC_CODE_INVALID_REQUEST, "body must be a request object");
	/* The id is echoed when it is itself valid, null otherwise. */
	expect("{\"jsonrpc\":\"1\",\"method\":\"echo\",\"id\":5}",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"invalid request: "
	       "jsonrpc must be \\\"2.0\\\"\"},\"id\":5}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":[5]}",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"invalid request: id "
	       "must be a string, number or null\"},\"id\":null}");

	expect("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"method \\\"nope\\\" "
	       "not found\"},\"id\":1}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[],\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"missing param "
	       "\\\"a\\\" (position 0)\"},\"id\":1}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"reject\",\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32010,\"message\":\"tx rejected: nonce 3 "
	       "is stale\"},\"id\":1}");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"internal\",\"id\":1}",
	             RPC_CODE_INTERNAL_ERROR, "database unavailable");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[\"18446744073709551615\","
	             "1],\"id\":1}",
	             RPC_CODE_SERVER_MIN + 1, "overflow: 18446744073709551615 + 1");
}

static void dispatch_long_method_name(void)
{
	char body[600], name[300];
	memset(name, 'm', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"id\":1}", name);
	char *got = call(body);
	json_t *r = json_loads(got, 0, NULL);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	CHECK(msg && strlen(msg) < 100 && strncmp(msg, "method \"mmmm", 12) == 0);
	json_decref(r);
	free(got);
}

static void dispatch_sanitises_messages(void)
{
	char *got = call("{\"jsonrpc\":\"2.0\",\"method\":\"badutf8\",\"id\":1}");
	json_t *r = json_loads(got, 0, NULL); /* jansson rejects invalid UTF-8 */
	const char *msg =
	    json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	CHECK(msg && msg[0] == '?' && strlen(msg) == RPC_ERROR_MSG_MAX - 1);
	CHECK(msg && msg[254] == '?'); /* the cut "\xe2" */
	json_decref(r);
	free(got);
}

static void dispatch_params(void)
{
	const char *bad[] = {"\"01\"", "\"-1\"", "-1",   "1.5", "\"18446744073709551616\"",
	                     "\"\"",   "\" 1\"", "true", "[1]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char body[200];
		snprintf(body, sizeof(body),
		         "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[%s],\"id\":1}",
		         bad[i]);
		expect_error(body, RPC_CODE_INVALID_PARAMS,
		             "param \"a\" must be a non-negative integer below 2^64");
	}
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[\"18446744073709551614\",1],"
	       "\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"18446744073709551615\",\"id\":1}");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[\"0\",9223372036854775807],"
	       "\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"result\":\"9223372036854775807\",\"id\":1}");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2,3],\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "too many params: expected at most 2, got 3");
	expect_error(
	    "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":1,\"c\":2},\"id\":1}",
	    RPC_CODE_INVALID_PARAMS, "unknown param \"c\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"b\":1},\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "missing param \"a\" (position 0)");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"id\":1}", RPC_CODE_INVALID_PARAMS,
	             "missing param \"a\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[null],\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "missing param \"a\"");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"params\":[1],\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "param \"name\" must be a string");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"params\":[\"a\",\"b\",1],"
	             "\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "param \"loud\" must be true or false");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"greet\",\"params\":[\"a\",5],\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "param \"greeting\" must be a string");
}

#define NOT_OBJECT                                                                                 \
	"[{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"invalid request: "         \
	"request must be an object\"},\"id\":null}]"

static void dispatch_batch(void)
{
	expect("[{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,1],\"id\":1},"
	       "{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
	       "1,"
	       "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"n\"}]",
	       "[{\"jsonrpc\":\"2.0\",\"result\":\"2\",\"id\":1},"
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"invalid request: "
	       "request must be an object\"},\"id\":null},"
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"method \\\"nope\\\" "
	       "not found\"},\"id\":\"n\"}]");
	expect("[]",
	       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"invalid request: "
	       "empty batch\"},\"id\":null}");
	/* table.max_batch is 4 */
	expect_error("[1,2,3,4,5]", RPC_CODE_INVALID_REQUEST,
	             "batch of 5 requests exceeds the limit of 4");
	expect("[[]]", NOT_OBJECT);
	/* A batch of notifications only gets no response at all. */
	int before = atomic_load(&the_app.counted);
	expect("[{\"jsonrpc\":\"2.0\",\"method\":\"count\"},{\"jsonrpc\":\"2.0\",\"method\":"
	       "\"count\"}]",
	       "");
	CHECK(atomic_load(&the_app.counted) == before + 2);
}

static void dispatch_notifications(void)
{
	int before = atomic_load(&the_app.counted);
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"count\"}", "");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"count\",\"params\":[]}", "");
	CHECK(atomic_load(&the_app.counted) == before + 2);
	/* Errors of notifications are not reported either; an id of null is not a notification. */
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"nope\"}", "");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[\"x\"]}", "");
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":null}",
	             RPC_CODE_METHOD_NOT_FOUND, "nope");
	/* An invalid request cannot be a notification: it is always answered. */
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":3}", RPC_CODE_INVALID_REQUEST, "method");
}

static void dispatch_depth(void)
{
	/* table.max_depth is 8: 8 levels are parsed, 9 are refused before parsing. */
	expect("[[[[[[[[]]]]]]]]", NOT_OBJECT);
	expect_error("[[[[[[[[[]]]]]]]]]", RPC_CODE_PARSE_ERROR, "nested deeper than 8 levels");
	expect("{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[[[[[[\"[[[[[[[[\"]]]]]],"
	       "\"id\":1}",
	       "{\"jsonrpc\":\"2.0\",\"result\":[[[[[[\"[[[[[[[[\"]]]]]],\"id\":1}");
	/* The default limit (32) applies when the table leaves it 0. */
	struct rpc_table t = {methods, NMETHODS, &the_app, 0, 0};
	char deep[80];
	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	deep[66] = '\0';
	char *out;
	size_t len;
	CHECK(rpc_dispatch(&t, deep, 66, &out, &len) == RPC_SERVER_OK);
	CHECK(out && strstr(out, "nested deeper than 32 levels"));
	free(out);
	CHECK(rpc_dispatch(&t, deep + 1, 64, &out, &len) == RPC_SERVER_OK);
	CHECK(out && strstr(out, "-32600"));
	free(out);
}

static void dispatch_builtin_methods(void)
{
	char *got = call("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.methods\",\"id\":1}");
	json_t *r = json_loads(got, 0, NULL);
	json_t *list = json_object_get(r, "result");
	CHECK(json_array_size(list) == NMETHODS);
	for (size_t i = 0; i < NMETHODS && i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);
		CHECK_STR(json_string_value(json_object_get(e, "name")), methods[i].name);
		CHECK_STR(json_string_value(json_object_get(e, "help")), methods[i].help);
	}
	json_decref(r);
	free(got);
	expect_error("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.methods\",\"params\":[1],\"id\":1}",
	             RPC_CODE_INVALID_PARAMS, "too many params");
}

/* ---- a minimal HTTP/1.1 client ---- */

struct http_resp {
	int status;
	char head[2048];
	char *body;
	size_t len;
};

/* Client helpers run on worker threads too, so they report failure (status 0, fd -1) instead of
 * using CHECK, whose counters are not thread-safe; callers check the outcome. */
static int tcp_connect(uint16_t port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return; /* the server may close early (413); the reply says why */
		p += w;
		n -= (size_t)w;
	}
}

/* Decodes a chunked body in place; returns its length, or (size_t)-1 when malformed/incomplete. */
static size_t dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *end;
		unsigned long sz = strtoul(p + in, &end, 16);
		char *crlf = memmem(p + in, n - in, "\r\n", 2);
		if (!crlf || end == p + in)
			return (size_t)-1;
		in = (size_t)(crlf - p) + 2;
		if (sz == 0)
			return out;
		if (in + sz + 2 > n)
			return (size_t)-1;
		memmove(p + out, p + in, sz);
		out += sz;
		in += sz + 2;
	}
}

/* Sends a raw request (which must ask for Connection: close) and reads the whole response. */
static void http_raw(uint16_t port, const char *req, size_t reqlen, struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	int fd = tcp_connect(port, 0);
	if (fd < 0)
		return;
	send_all(fd, req, reqlen);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t got;
	while ((got = recv(fd, buf + n, cap - n, 0)) > 0) {
		n += (size_t)got;
		if (n == cap)
			buf = realloc(buf, (cap *= 2) + 1);
	}
	close(fd);
	buf[n] = '\0';
	char *sep = strstr(buf, "\r\n\r\n");
	size_t hl = sep ? (size_t)(sep - buf) : 0;
	size_t blen = sep ? n - hl - 4 : 0;
	if (sep) {
		*sep = '\0'; /* search the head only */
		if (strcasestr(buf, "Transfer-Encoding: chunked"))
			blen = dechunk(sep + 4, blen);
	}
	if (!sep || blen == (size_t)-1) {
		free(buf);
		return;
	}
	snprintf(r->head, sizeof(r->head), "%.*s", (int)hl, buf);
	sscanf(buf, "HTTP/1.%*d %d", &r->status);
	r->len = blen;
	memmove(buf, sep + 4, blen);
	buf[blen] = '\0';
	r->body = buf;
}

static void http(uint16_t port, const char *method, const char *path, const char *ctype,
                 const char *body, struct http_resp *r)
{
	size_t blen = body ? strlen(body) : 0;
	char *req = malloc(blen + 512);
	int n = snprintf(req, 512,
	                 "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s%s%s"
	                 "Content-Length: %zu\r\n\r\n",
	                 method, path, ctype ? "Content-Type: " : "", ctype ? ctype : "",
	                 ctype ? "\r\n" : "", blen);
	if (body)
		memcpy(req + n, body, blen);
	http_raw(port, req, (size_t)n + blen, r);
	free(req);
}

static void post(uint16_t port, const char *body, struct http_resp *r)
{
	http(port, "POST", "/", "application/json", body, r);
}

/* The body is a JSON-RPC error envelope whose message contains part. */
static bool body_error_has(const struct http_resp *r, const char *part)
{
	json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	bool ok = msg && strstr(msg, part);
	if (!ok)
		fprintf(stderr, "  status %d body %s lacks \"%s\"\n", r->status, r->body, part);
	json_decref(j);
	return ok;
}

/* ---- server fixtures ---- */

static void metrics_get(void *app, struct rpc_get_reply *reply)
{
	struct app *a = app;
	char text[64];
	int n = snprintf(text, sizeof(text), "test_counted %d\n", atomic_load(&a->counted));
	reply->content_type = "text/plain; version=0.0.4";
	reply->body = strdup(text);
	reply->len = (size_t)n;
}

static void health_get(void *app, struct rpc_get_reply *reply)
{
	(void)app;
	reply->status = 503;
	reply->content_type = "application/json";
	reply->body = strdup("{\"ok\":false}");
	reply->len = strlen(reply->body);
}

/* Echoes the body's length and first byte, so the test sees exactly what reached the handler. */
static void blob_post(void *app, const uint8_t *body, size_t len, struct rpc_get_reply *reply)
{
	(void)app;
	char text[64];
	int n = snprintf(text, sizeof(text), "%zu %d", len, len ? body[0] : -1);
	reply->status = 201;
	reply->body = strdup(text);
	reply->len = (size_t)n;
}

static struct rpc_server *start(struct rpc_config *cfg)
{
	struct rpc_server *s = NULL;
	char err[256];
	enum rpc_server_result r =
	    rpc_server_start(&s, cfg, methods, NMETHODS, &the_app, err, sizeof(err));
	if (r != RPC_SERVER_OK)
		fprintf(stderr, "start: %s: %s\n", rpc_server_strerror(r), err);
	CHECK(r == RPC_SERVER_OK && s && rpc_server_port(s) != 0);
	return s;
}

static void http_rpc_and_routes(void)
{
	struct rpc_config cfg = {.max_body = 1024, .threads = 2};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	rpc_add_get(s, "/metrics", metrics_get);
	rpc_add_get(s, "/health", health_get);
	uint16_t port = rpc_server_port(s);
	struct http_resp r;

	post(port, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[40,2],\"id\":1}", &r);
	CHECK(r.status == 200 && strcasestr(r.head, "Content-Type: application/json"));
	CHECK_STR(r.body, "{\"jsonrpc\":\"2.0\",\"result\":\"42\",\"id\":1}");
	free(r.body);

	http(port, "POST", "/", "application/json; charset=utf-8",
	     "[{\"jsonrpc\":\"2.0\",\"method\":\"count\"}]", &r);
	CHECK(r.status == 204 && r.len == 0);
	free(r.body);

	post(port, "{bad", &r);
	CHECK(r.status == 200 && body_error_has(&r, "parse error"));
	free(r.body);

	http(port, "GET", "/", NULL, NULL, &r);
	CHECK(r.status == 405 && strcasestr(r.head, "Allow: POST") &&
	      body_error_has(&r, "HTTP method GET not allowed on /"));
	free(r.body);

	http(port, "POST", "/", "text/plain", "{}", &r);
	CHECK(r.status == 415 && body_error_has(&r, "Content-Type must be application/json"));
	free(r.body);

	http(port, "POST", "/", NULL, "{}", &r);
	CHECK(r.status == 415);
	free(r.body);

	http(port, "GET", "/nope", NULL, NULL, &r);
	CHECK(r.status == 404 && body_error_has(&r, "no route GET /nope"));
	free(r.body);

	http(port, "POST", "/metrics", "application/json", "{}", &r);
	CHECK(r.status == 405 && strcasestr(r.head, "Allow: GET, HEAD"));
	free(r.body);

	http(port, "GET", "/metrics", NULL, NULL, &r);
	CHECK(r.status == 200 && strcasestr(r.head, "Content-Type: text/plain; version=0.0.4"));
	CHECK(r.body && strncmp(r.body, "test_counted ", 13) == 0);
	free(r.body);

	http(port, "HEAD", "/metrics", NULL, NULL, &r);
	CHECK(r.status == 200 && r.len == 0);
	free(r.body);

	http(port, "GET", "/health", NULL, NULL, &r);
	CHECK(r.status == 503 && r.body && strcmp(r.body, "{\"ok\":false}") == 0);
	free(r.body);

	struct rpc_stats st;
	rpc_server_stats(s, &st);
	CHECK(st.http_requests == 11 && st.rpc_calls == 2 && st.rpc_errors == 1);
	rpc_server_free(s);
}

static void http_post_route(void)
{
	struct rpc_config cfg = {.max_body = 1024, .threads = 1};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	rpc_add_post(s, "/blob", "application/octet-stream", blob_post);
	uint16_t port = rpc_server_port(s);
	struct http_resp r;
	http(port, "POST", "/blob", "application/octet-stream", "xyz", &r);
	CHECK(r.status == 201 && r.body && strcmp(r.body, "3 120") == 0);
	free(r.body);
	http(port, "POST", "/blob", "application/json", "{}", &r);
	CHECK(r.status == 415 &&
	      body_error_has(&r, "Content-Type must be application/octet-stream"));
	free(r.body);
	http(port, "GET", "/blob", NULL, NULL, &r);
	CHECK(r.status == 405 && strcasestr(r.head, "Allow: POST") &&
	      body_error_has(&r, "not allowed on /blob"));
	free(r.body);
	char big[1100];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	http(port, "POST", "/blob", "application/octet-stream", big, &r);
	CHECK(r.status == 413);
	free(r.body);
	/* JSON-RPC on "/" is unaffected by the route. */
	post(port, "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[1,2],\"id\":1}", &r);
	CHECK(r.status == 200 && r.body && strstr(r.body, "\"3\""));
	free(r.body);
	rpc_server_free(s);
}

static void http_oversize(void)
{
	struct rpc_config cfg = {.max_body = 1024, .threads = 1};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	uint16_t port = rpc_server_port(s);
	char body[1100];
	memset(body, ' ', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	memcpy(body, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}", 40);
	struct http_resp r;
	post(port, body, &r);
	CHECK(r.status == 413 && body_error_has(&r, "exceeds the limit of 1024"));
	free(r.body);

	/* Exactly at the cap is accepted. */
	body[1024] = '\0';
	post(port, body, &r);
	CHECK(r.status == 200 && strstr(r.body, "\"result\":null"));
	free(r.body);

	/* Chunked bodies have no Content-Length: the cap applies while accumulating. */
	char req[2048];
	int n = snprintf(req, sizeof(req),
	                 "POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: "
	                 "application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "190\r\n%400s\r\n", "");
	n += snprintf(req + n, sizeof(req) - (size_t)n, "0\r\n\r\n");
	http_raw(port, req, (size_t)n, &r);
	CHECK(r.status == 413 && body_error_has(&r, "exceeds the limit of 1024 bytes"));
	free(r.body);
	rpc_server_free(s);
}

/* Reads one Content-Length framed response from a kept-alive connection; returns its body. */
static bool read_framed(int fd, char *buf, size_t cap, const char **body)
{
	size_t n = 0;
	for (;;) {
		ssize_t got = recv(fd, buf + n, cap - 1 - n, 0);
		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		char *sep = strstr(buf, "\r\n\r\n");
		const char *cl = strcasestr(buf, "Content-Length: ");
		if (sep && cl && n - (size_t)(sep + 4 - buf) >= strtoul(cl + 16, NULL, 10)) {
			*body = sep + 4;
			return true;
		}
	}
}

static void http_keep_alive(void)
{
	struct rpc_config cfg = {.threads = 1};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	int fd = tcp_connect(rpc_server_port(s), 0);
	CHECK(fd >= 0);
	for (int i = 0; i < 3 && fd >= 0; i++) {
		char body[100], req[300], buf[1024], want[100];
		snprintf(body, sizeof(body),
		         "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":[%d],\"id\":%d}", i,
		         i);
		int n = snprintf(req, sizeof(req),
		                 "POST / HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
		                 "Content-Length: %zu\r\n\r\n%s",
		                 strlen(body), body);
		send_all(fd, req, (size_t)n);
		const char *got = NULL;
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"result\":\"%d\",\"id\":%d}", i,
		         i);
		CHECK(read_framed(fd, buf, sizeof(buf), &got) && strcmp(got, want) == 0);
	}
	if (fd >= 0)
		close(fd);
	rpc_server_free(s);
}

struct worker {
	uint16_t port;
	uint64_t seed;
	int ok;
	int rounds;
	const char *method;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->rounds; i++) {
		uint64_t a = check_rand(&w->seed) >> 2, b = check_rand(&w->seed) >> 2;
		char body[160], want[160];
		snprintf(body, sizeof(body),
		         "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":[%llu,%llu],\"id\":%d}",
		         w->method, (unsigned long long)a, (unsigned long long)b, i);
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"result\":\"%llu\",\"id\":%d}",
		         (unsigned long long)(a + b), i);
		struct http_resp r;
		post(w->port, body, &r);
		if (strcmp(w->method, "add") == 0)
			w->ok += r.status == 200 && r.body && strcmp(r.body, want) == 0;
		else
			w->ok += r.status == 200;
		free(r.body);
	}
	return NULL;
}

static void run_workers(uint16_t port, const char *method, int nthreads, int rounds, uint64_t seed)
{
	pthread_t th[16];
	struct worker w[16];
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){port, seed + (uint64_t)i, 0, rounds, method};
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].ok == rounds);
	}
}

static void http_concurrent(void)
{
	struct rpc_config cfg = {.threads = 4};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	run_workers(rpc_server_port(s), "add", 8, (int)check_iters(50), check_seed());
	/* Handlers really run at the same time on several pool threads. */
	atomic_store(&the_app.max_inflight, 0);
	run_workers(rpc_server_port(s), "sleep", 8, 2, 1);
	CHECK(atomic_load(&the_app.max_inflight) >= 2);
	rpc_server_free(s);
}

static void lifecycle_errors(void)
{
	struct rpc_config cfg = {.threads = 1};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	struct rpc_config clash = {.port = rpc_server_port(s), .threads = 1};
	struct rpc_server *s2 = (struct rpc_server *)&clash; /* must be reset to NULL */
	char err[256], want[64];
	CHECK(rpc_server_start(&s2, &clash, methods, NMETHODS, NULL, err, sizeof(err)) ==
	      RPC_SERVER_ERR_BIND);
	CHECK(s2 == NULL);
	snprintf(want, sizeof(want), "cannot bind 127.0.0.1:%u: Address already in use",
	         rpc_server_port(s));
	CHECK_STR(err, want);
	struct rpc_config bad = {.host = "no-such-host.invalid", .threads = 1};
	CHECK(rpc_server_start(&s2, &bad, methods, NMETHODS, NULL, err, sizeof(err)) ==
	      RPC_SERVER_ERR_RESOLVE);
	CHECK(strncmp(err, "cannot resolve no-such-host.invalid:0: ", 39) == 0);
	CHECK(rpc_server_start(&s2, &bad, methods, NMETHODS, NULL, NULL, 0) ==
	      RPC_SERVER_ERR_RESOLVE);
	CHECK(strcmp(rpc_server_strerror(RPC_SERVER_ERR_BIND), "cannot bind the RPC address") == 0);
	rpc_server_stop(s);
	rpc_server_stop(s);
	rpc_server_free(s);
	rpc_server_free(NULL);
}

/* ---- Server-Sent Events client ---- */

struct sse_client {
	int fd;
	char raw[1 << 16];
	size_t rawlen;
	char data[1 << 16];
	size_t datalen;
	bool in_body;
};

static void sse_connect(struct sse_client *c, uint16_t port, const char *path, int rcvbuf)
{
	memset(c, 0, sizeof(*c));
	c->fd = tcp_connect(port, rcvbuf);
	CHECK(c->fd >= 0);
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	send_all(c->fd, req, (size_t)n);
}

/* Moves complete chunks from raw to data; false on a malformed stream. */
static bool sse_dechunk(struct sse_client *c)
{
	if (!c->in_body) {
		char *sep = memmem(c->raw, c->rawlen, "\r\n\r\n", 4);
		if (!sep)
			return true;
		if (strncmp(c->raw, "HTTP/1.1 200", 12) != 0)
			return false;
		size_t hl = (size_t)(sep - c->raw) + 4;
		memmove(c->raw, c->raw + hl, c->rawlen - hl);
		c->rawlen -= hl;
		c->in_body = true;
	}
	for (;;) {
		char *crlf = memmem(c->raw, c->rawlen, "\r\n", 2);
		if (!crlf)
			return true;
		size_t sz = strtoul(c->raw, NULL, 16), hl = (size_t)(crlf - c->raw) + 2;
		if (c->rawlen < hl + sz + 2)
			return true;
		if (sz > sizeof(c->data) - c->datalen)
			return false;
		memcpy(c->data + c->datalen, c->raw + hl, sz);
		c->datalen += sz;
		memmove(c->raw, c->raw + hl + sz + 2, c->rawlen - hl - sz - 2);
		c->rawlen -= hl + sz + 2;
	}
}

/* The next "...\n\n" block (without the blank line) into out; false on EOF, timeout or error. */
static bool sse_next(struct sse_client *c, char *out, size_t cap)
{
	for (;;) {
		char *end = memmem(c->data, c->datalen, "\n\n", 2);
		if (end) {
			size_t n = (size_t)(end - c->data);
			snprintf(out, cap, "%.*s", (int)n, c->data);
			memmove(c->data, end + 2, c->datalen - n - 2);
			c->datalen -= n + 2;
			return true;
		}
		ssize_t got = recv(c->fd, c->raw + c->rawlen, sizeof(c->raw) - c->rawlen, 0);
		if (got <= 0)
			return false;
		c->rawlen += (size_t)got;
		if (!sse_dechunk(c))
			return false;
	}
}

static void wait_subscribers(struct rpc_server *s, uint64_t n)
{
	struct rpc_stats st;
	for (int i = 0; i < 500; i++) {
		rpc_server_stats(s, &st);
		if (st.sse_subscribers == n)
			return;
		usleep(10 * 1000);
	}
	CHECK(st.sse_subscribers == n);
}

static void sse_two_subscribers(void)
{
	struct rpc_config cfg = {.threads = 2, .sse_keepalive_ms = 300, .sse_max_subscribers = 2};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	struct rpc_sse *ch = rpc_add_sse(s, "/events/heads");
	CHECK(rpc_sse_publish(ch, "head", "{}") == 0); /* nobody listening yet */
	struct sse_client *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char ev[4096];
	sse_connect(a, rpc_server_port(s), "/events/heads", 0);
	sse_connect(b, rpc_server_port(s), "/events/heads", 0);
	CHECK(sse_next(a, ev, sizeof(ev)) && strcmp(ev, ": connected") == 0);
	CHECK(sse_next(b, ev, sizeof(ev)) && strcmp(ev, ": connected") == 0);

	struct http_resp r; /* a third subscriber is over the cap */
	http(rpc_server_port(s), "GET", "/events/heads", NULL, NULL, &r);
	CHECK(r.status == 503 && body_error_has(&r, "2 subscribers connected"));
	free(r.body);

	for (int i = 0; i < 20; i++) {
		char data[64];
		snprintf(data, sizeof(data), i == 3 ? "{\"height\":\r\n%d}" : "{\"height\":%d}", i);
		CHECK(rpc_sse_publish(ch, "head", data) == 2);
	}
	struct sse_client *cl[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < 20; i++) {
			char want[96];
			snprintf(want, sizeof(want),
			         i == 3 ? "id: %d\nevent: head\ndata: {\"height\":\ndata: %d}"
			                : "id: %d\nevent: head\ndata: {\"height\":%d}",
			         i + 1, i); /* id 0 went to nobody */
			CHECK(sse_next(cl[k], ev, sizeof(ev)) && strcmp(ev, want) == 0);
		}
	}
	/* Idle streams get keep-alive comments. */
	CHECK(sse_next(a, ev, sizeof(ev)) && strcmp(ev, ": keep-alive") == 0);
	/* A subscriber that hangs up is unlinked. */
	close(b->fd);
	CHECK(sse_next(a, ev, sizeof(ev)) && strcmp(ev, ": keep-alive") == 0);
	wait_subscribers(s, 1);
	/* Stopping ends the remaining stream cleanly (MHD refuses to stop while one is waiting). */
	rpc_server_stop(s);
	CHECK(!sse_next(a, ev, sizeof(ev)));
	CHECK(rpc_sse_publish(ch, "head", "{}") == 0);
	close(a->fd);
	free(a);
	free(b);
	rpc_server_free(s);
}

static void sse_idle_stream_survives_timeout(void)
{
	/* The idle timeout is 1 s; keep-alives (clamped below it) hold the stream open. */
	struct rpc_config cfg = {.threads = 1, .timeout_s = 1, .sse_keepalive_ms = 5000};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	struct rpc_sse *ch = rpc_add_sse(s, "/events/heads");
	struct sse_client *c = malloc(sizeof(*c));
	char ev[256];
	sse_connect(c, rpc_server_port(s), "/events/heads", 0);
	CHECK(sse_next(c, ev, sizeof(ev)) && strcmp(ev, ": connected") == 0);
	for (int i = 0; i < 5; i++)
		CHECK(sse_next(c, ev, sizeof(ev)) && strcmp(ev, ": keep-alive") == 0);
	CHECK(rpc_sse_publish(ch, "head", "1") == 1);
	CHECK(sse_next(c, ev, sizeof(ev)) && strcmp(ev, "id: 0\nevent: head\ndata: 1") == 0);
	close(c->fd);
	free(c);
	rpc_server_free(s); /* with the subscriber possibly not yet noticed as gone */
}

struct reader {
	struct sse_client *c;
	atomic_int events;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	static char ev[1 << 16];
	while (sse_next(rd->c, ev, sizeof(ev)))
		if (strncmp(ev, "id: ", 4) == 0)
			atomic_fetch_add(&rd->events, 1);
	return NULL;
}

/* Waits (bounded, 30 s) until the reader has received n events. */
static bool reader_reached(struct reader *rd, int n)
{
	for (int spins = 0; spins < 30000; spins++) {
		if (atomic_load(&rd->events) >= n)
			return true;
		usleep(1000);
	}
	return false;
}

static void sse_slow_subscriber_dropped(void)
{
	struct rpc_config cfg = {.threads = 2, .sse_queue = 8};
	struct rpc_server *s = start(&cfg);
	if (!s)
		return;
	struct rpc_sse *ch = rpc_add_sse(s, "/events/heads");
	struct sse_client *slow = malloc(sizeof(*slow)), *fast = malloc(sizeof(*fast));
	char ev[256];
	sse_connect(slow, rpc_server_port(s), "/events/heads", 4096);
	sse_connect(fast, rpc_server_port(s), "/events/heads", 0);
	CHECK(sse_next(slow, ev, sizeof(ev)) && strcmp(ev, ": connected") == 0);
	CHECK(sse_next(fast, ev, sizeof(ev)) && strcmp(ev, ": connected") == 0);
	struct reader rd = {fast, 0};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &rd);

	size_t big = 16 * 1024;
	char *data = malloc(big + 1);
	memset(data, 'x', big);
	data[big] = '\0';
	int events = 400;
	bool kept_up = true;
	/* The fast reader gets each event before the next is published, so only the slow one (which
	 * never reads) can overflow its queue. Publishing finishing at all shows it never blocked
	 * on the slow client. */
	for (int i = 0; i < events && kept_up; i++) {
		rpc_sse_publish(ch, "blob", data);
		kept_up = reader_reached(&rd, i + 1);
	}
	CHECK(kept_up);
	struct rpc_stats st;
	rpc_server_stats(s, &st);
	CHECK(st.sse_dropped == 1);
	wait_subscribers(s, 1);
	/* The slow client finds its stream cut: EOF or reset after what was buffered. */
	errno = 0;
	while (sse_next(slow, ev, sizeof(ev)))
		;
	CHECK(errno != EAGAIN && errno != EWOULDBLOCK);
	rpc_server_stop(s);
	pthread_join(th, NULL);
	CHECK(atomic_load(&rd.events) == events);
	close(slow->fd);
	close(fast->fd);
	free(slow);
	free(fast);
	free(data);
	rpc_server_free(s);
}

CHECK_MAIN(CASE(dispatch_framing), CASE(dispatch_error_codes), CASE(dispatch_long_method_name),
           CASE(dispatch_sanitises_messages), CASE(dispatch_params), CASE(dispatch_batch),
           CASE(dispatch_notifications), CASE(dispatch_depth), CASE(dispatch_builtin_methods),
           CASE(http_rpc_and_routes), CASE(http_post_route), CASE(http_oversize),
           CASE(http_keep_alive), CASE(http_concurrent), CASE(lifecycle_errors),
           CASE(sse_two_subscribers), CASE(sse_idle_stream_survives_timeout),
           CASE(sse_slow_subscriber_dropped))
