/* The JSON-RPC client against the project's own JSON-RPC server (rpc/rpc.h) on an ephemeral
 * loopback port, with a small method table: results, batches, error objects, timeouts and non-JSON
 * HTTP answers. */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/rpc_client.h"
#include "rpc/rpc.h"

static int m_echo(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	(void)err;
	*result = params ? json_incref(params) : json_null();
	return 0;
}

static int m_reject(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	(void)params;
	(void)result;
	return rpc_error_set(err, -32010, "tx rejected: nonce 3 is stale:\naccount nonce is 5");
}

static int m_slow(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	(void)app;
	(void)params;
	(void)err;
	usleep(1500 * 1000);
	*result = json_true();
	return 0;
}

static const struct rpc_method methods[] = {
    {"echo", m_echo, "params -> params"},
    {"reject", m_reject, "-> error -32010"},
    {"slow", m_slow, "-> true after 1.5 s"},
};

static struct rpc_server *server;
static char url[64];

static void start_server(void)
{
	struct rpc_config cfg = {.threads = 2};
	char err[128];
	CHECK(rpc_server_start(&server, &cfg, methods, 3, NULL, err, sizeof(err)) == RPC_SERVER_OK);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", rpc_server_port(server));
}

static void calls_and_batches(void)
{
	struct rpc_client c;
	json_t *res = NULL;
	CHECK(rpc_client_init(&c, url + 7, 5000) == RPC_OK); /* "host:port" form */
	CHECK(rpc_call(&c, "echo", json_pack("[s, i]", "x", 7), &res) == RPC_OK);
	CHECK(json_is_array(res) && json_integer_value(json_array_get(res, 1)) == 7);
	CHECK(strcmp(rpc_client_error(&c), "") == 0);
	json_decref(res);

	struct rpc_req reqs[3] = {{"echo", json_pack("[i]", 1), NULL},
	                          {"echo", json_pack("[i]", 2), NULL},
	                          {"echo", NULL, NULL}};
	CHECK(rpc_batch(&c, reqs, 3) == RPC_OK);
	CHECK(json_integer_value(json_array_get(reqs[0].result, 0)) == 1);
	CHECK(json_integer_value(json_array_get(reqs[1].result, 0)) == 2);
	CHECK(json_is_null(reqs[2].result));
	for (int i = 0; i < 3; i++)
		json_decref(reqs[i].result);
	rpc_client_release(&c);
}

static void error_objects(void)
{
	struct rpc_client c;
	json_t *res = NULL;
	CHECK(rpc_client_init(&c, url, 5000) == RPC_OK);
	CHECK(rpc_call(&c, "reject", NULL, &res) == RPC_ERROR && res == NULL);
	CHECK(c.code == -32010);
	/* The node's newline must not split the one-line message. */
	CHECK_STR(rpc_client_error(&c),
	          "reject: tx rejected: nonce 3 is stale: account nonce is 5 (code -32010)");
	CHECK(rpc_call(&c, "nope", NULL, &res) == RPC_ERROR && c.code == -32601);
	CHECK(strncmp(rpc_client_error(&c), "nope: ", 6) == 0);

	/* One failing request fails the batch, names it, and leaves no results behind. */
	struct rpc_req reqs[2] = {{"echo", json_pack("[i]", 1), NULL}, {"reject", NULL, NULL}};
	CHECK(rpc_batch(&c, reqs, 2) == RPC_ERROR);
	CHECK(reqs[0].result == NULL && reqs[1].result == NULL);
	CHECK(strncmp(rpc_client_error(&c), "reject: tx rejected", 19) == 0);
	rpc_client_release(&c);
}

static void timeouts_and_http_errors(void)
{
	struct rpc_client c;
	json_t *res = NULL;
	char want[128], other[96];
	CHECK(rpc_client_init(&c, url, 300) == RPC_OK);
	CHECK(rpc_call(&c, "slow", NULL, &res) == RPC_TIMEOUT && res == NULL);
	snprintf(want, sizeof(want), "node at %s did not answer within 1 s", url);
	CHECK_STR(rpc_client_error(&c), want);
	rpc_client_release(&c);

	/* The server's HTTP 404 carries a JSON-RPC error object (id null): reported as such. */
	snprintf(other, sizeof(other), "%s/no-such-route", url);
	CHECK(rpc_client_init(&c, other, 5000) == RPC_OK);
	CHECK(rpc_call(&c, "echo", NULL, &res) == RPC_ERROR && c.code == -32600);
	CHECK(strstr(rpc_client_error(&c), "no route") != NULL);
	rpc_client_release(&c);

	CHECK(rpc_client_init(&c, "ws://127.0.0.1:1", 5000) == RPC_BAD_RESPONSE);
	CHECK_STR(rpc_client_error(&c),
	          "unsupported RPC URL 'ws://127.0.0.1:1' (use http://HOST:PORT)");
	rpc_client_release(&c);
}

/* ---- a raw HTTP peer answering each connection with the next canned response ---- */

static const char *const canned[] = {
    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops",
    "HTTP/1.1 200 OK\r\nContent-Length: 36\r\nConnection: close\r\n\r\n"
    "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":1}",
    "HTTP/1.1 200 OK\r\nContent-Length: 24\r\nConnection: close\r\n\r\n"
    "{\"id\":1,\"result\":\"x\"}   ",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
};
#define NCANNED (sizeof(canned) / sizeof(canned[0]))
static int raw_fd;

static void *raw_serve(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < NCANNED; i++) {
		char req[4096];
		int c = accept(raw_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		ssize_t n = read(c, req, sizeof(req)); /* one small request: header and body */
		(void)n;
		n = write(c, canned[i], strlen(canned[i]));
		(void)n;
		close(c);
	}
	return NULL;
}

static void rejects_malformed_answers(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	pthread_t th;
	char raw_url[64];
	raw_fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(raw_fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(raw_fd, 4) == 0);
	CHECK(getsockname(raw_fd, (struct sockaddr *)&a, &len) == 0);
	snprintf(raw_url, sizeof(raw_url), "http://127.0.0.1:%u", ntohs(a.sin_port));
	CHECK(pthread_create(&th, NULL, raw_serve, NULL) == 0);
	static const enum rpc_result want[NCANNED] = {RPC_HTTP, RPC_BAD_RESPONSE, RPC_BAD_RESPONSE,
	                                              RPC_BAD_RESPONSE, RPC_BAD_RESPONSE};
	for (size_t i = 0; i < NCANNED; i++) {
		struct rpc_client c;
		json_t *res = NULL;
		CHECK(rpc_client_init(&c, raw_url, 5000) == RPC_OK);
		enum rpc_result r = rpc_call(&c, "echo", NULL, &res);
		CHECK(r == want[i] && res == NULL);
		CHECK(strstr(rpc_client_error(&c), raw_url) != NULL);
		if (r != want[i])
			fprintf(stderr, "  canned %zu: %d %s\n", i, r, rpc_client_error(&c));
		rpc_client_release(&c);
	}
	pthread_join(th, NULL);
	close(raw_fd);
}

static void stop_server(void)
{
	rpc_server_free(server);
}

CHECK_MAIN(CASE(start_server), CASE(calls_and_batches), CASE(error_objects),
           CASE(timeouts_and_http_errors), CASE(rejects_malformed_answers), CASE(stop_server))
