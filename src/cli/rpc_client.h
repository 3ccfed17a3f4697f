/*
 * JSON-RPC 2.0 client over HTTP (libcurl), for the CLI talking to a node (docs/rpc.md).
 *
 * One client holds one curl handle (connections are reused between calls) and the text of the last
 * error, always a single line that names the node: "cannot reach node at http://127.0.0.1:9944:
 * Connection refused", "node at ... did not answer within 10 s", "account_get: invalid params
 * (code -32602)". Responses are capped (RPC_MAX_RESPONSE) and validated: "jsonrpc" is "2.0", the
 * id matches the request, exactly one of "result" and "error" is present.
 */
#ifndef TN_CLI_RPC_CLIENT_H
#define TN_CLI_RPC_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_DEFAULT_URL        "http://127.0.0.1:9944"
#define RPC_DEFAULT_TIMEOUT_MS 10000L
#define RPC_CONNECT_TIMEOUT_MS 5000L
#define RPC_MAX_RESPONSE       (16u * 1024 * 1024)
#define RPC_MAX_BATCH          16
#define RPC_ERR_MAX            320

enum rpc_result {
	RPC_OK = 0,
	RPC_UNREACHABLE,  /* connection refused, host unknown, TLS failure, connect timeout */
	RPC_TIMEOUT,      /* connected but no complete answer in time */
	RPC_HTTP,         /* an HTTP status other than 200 without a JSON-RPC body */
	RPC_BAD_RESPONSE, /* not JSON, or not a JSON-RPC 2.0 response to our request */
	RPC_TOO_LARGE,    /* answer above RPC_MAX_RESPONSE */
	RPC_ERROR,        /* the node answered with a JSON-RPC error object (see rpc_client.code) */
	RPC_NOMEM,
};

struct rpc_client {
	void *curl; /* CURL * */
	char *url;
	long timeout_ms;
	uint64_t next_id;
	long code; /* JSON-RPC error code of the last RPC_ERROR, else 0 */
	char err[RPC_ERR_MAX];
};

/* One request of a batch: method and params (params stolen by rpc_batch, may be NULL = no params);
 * result is set (new reference, caller json_decref's) when the whole batch succeeds. */
struct rpc_req {
	const char *method;
	json_t *params;
	json_t *result;
};

/* Sets up a client for url ("http://host:port[/path]", "https://...", or "host:port" which means
 * http://host:port). timeout_ms bounds every call (> 0). Returns RPC_OK, RPC_NOMEM, or
 * RPC_BAD_RESPONSE with c->err set when the URL has another scheme. Release with
 * rpc_client_release even on failure. */
enum rpc_result rpc_client_init(struct rpc_client *c, const char *url, long timeout_ms);
/* Frees the client's handle and strings; safe on a zeroed or failed client. */
void rpc_client_release(struct rpc_client *c);

/* Calls method with params (a JSON array or NULL; stolen: always released, even on failure). On
 * RPC_OK *result is a new reference the caller releases; otherwise *result is NULL and c->err holds
 * a one-line message (and c->code the JSON-RPC error code for RPC_ERROR). */
enum rpc_result rpc_call(struct rpc_client *c, const char *method, json_t *params, json_t **result);

/* Sends n (1..RPC_MAX_BATCH) requests in one HTTP round trip. Succeeds only if every request
 * succeeded; on failure no result is set and c->err describes the first failing request (by
 * position). All params are stolen. */
enum rpc_result rpc_batch(struct rpc_client *c, struct rpc_req *reqs, size_t n);

/* POSTs body[0..len) as application/octet-stream to path ("/feeds") on the client's node. On
 * HTTP 200: RPC_OK with *reply (malloc'ed, NUL-terminated beyond *reply_len; the caller frees
 * it). Otherwise *reply is NULL and c->err one line: RPC_HTTP for another status (with the
 * node's message and c->code when its body is a JSON error object), or the transport results
 * of rpc_call. */
enum rpc_result rpc_post_bytes(struct rpc_client *c, const char *path, const uint8_t *body,
                               size_t len, uint8_t **reply, size_t *reply_len);

/* The last error message (one line, "" after success). */
const char *rpc_client_error(const struct rpc_client *c);

#endif
