/*
 * Generic JSON-RPC 2.0 server over HTTP (libmicrohttpd + jansson), knowing nothing about the chain
 * (docs/rpc-protocol.md). The application registers its methods as a table of
 * {name, handler, help}; the server parses requests, validates the JSON-RPC envelope, dispatches
 * single and batch calls, and frames results and errors.
 *
 * Routes: POST / carries JSON-RPC; GET routes added with rpc_add_get serve text bodies (/metrics,
 * /health); rpc_add_sse adds Server-Sent Events channels (/events/heads).
 *
 * Threading: the HTTP server runs libmicrohttpd's internal polling with a pool of cfg->threads
 * worker threads. Method handlers, GET handlers and rpc_sse_publish may run concurrently on
 * several threads: the application synchronises its own state. A handler that blocks holds up the
 * other connections of its worker thread, so handlers should be quick.
 *
 * The parsing and dispatch core (rpc_dispatch) needs no HTTP and is used directly by the fuzz
 * target and tests.
 */
#ifndef TN_RPC_RPC_H
#define TN_RPC_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JSON-RPC 2.0 error codes. Handlers may return RPC_CODE_INVALID_PARAMS, RPC_CODE_INTERNAL_ERROR,
 * a code in [RPC_CODE_SERVER_MIN, RPC_CODE_SERVER_MAX] (application errors such as "tx rejected"),
 * or any code outside the reserved range -32768..-32000. */
enum {
	RPC_CODE_PARSE_ERROR = -32700,
	RPC_CODE_INVALID_REQUEST = -32600,
	RPC_CODE_METHOD_NOT_FOUND = -32601,
	RPC_CODE_INVALID_PARAMS = -32602,
	RPC_CODE_INTERNAL_ERROR = -32603,
	RPC_CODE_SERVER_MIN = -32099,
	RPC_CODE_SERVER_MAX = -32000,
};

#define RPC_ERROR_MSG_MAX 256

/* What a failing handler reports: a code and a message saying what was wrong ("param \"height\"
 * must be a non-negative integer"). The message is truncated to fit and sanitised to valid UTF-8
 * before it is sent. */
struct rpc_error {
	int code;
	char message[RPC_ERROR_MSG_MAX];
};

/*
 * A method handler. params is the request's "params" (borrowed; an array, an object, or NULL when
 * absent). On success it returns 0 and sets *result to a new reference the server then owns (NULL
 * is sent as JSON null). On failure it returns -1 with err->code and err->message set (use
 * rpc_error_set or the rpc_param_* helpers) and leaves *result NULL. Called concurrently from
 * several threads.
 */
typedef int (*rpc_handler)(void *app, json_t *params, json_t **result, struct rpc_error *err);

struct rpc_method {
	const char *name; /* unique; names starting with "rpc." are reserved for the server */
	rpc_handler fn;
	const char *help; /* one line: "[height|\"latest\"] -> block"; listed by "rpc.methods" */
};

/* A method table as rpc_dispatch sees it. Zero caps mean the defaults below. */
struct rpc_table {
	const struct rpc_method *methods;
	size_t n;
	void *app;          /* passed to every handler */
	size_t max_batch;   /* requests in one batch; 0 = RPC_SERVER_DEFAULT_MAX_BATCH */
	unsigned max_depth; /* JSON nesting depth of a body; 0 = RPC_SERVER_DEFAULT_MAX_DEPTH */
};

#define RPC_SERVER_DEFAULT_HOST            "127.0.0.1"
#define RPC_SERVER_DEFAULT_MAX_BATCH       1000
#define RPC_SERVER_DEFAULT_MAX_DEPTH       32
#define RPC_SERVER_DEFAULT_MAX_BODY        (8u * 1024 * 1024)
#define RPC_SERVER_DEFAULT_MAX_CONNECTIONS 256
#define RPC_SERVER_DEFAULT_TIMEOUT_S       30
#define RPC_SERVER_DEFAULT_SSE_SUBSCRIBERS 64
#define RPC_SERVER_DEFAULT_SSE_QUEUE       256
#define RPC_SERVER_DEFAULT_SSE_KEEPALIVE   15000
#define RPC_SERVER_MAX_ROUTES              16 /* GET and SSE routes together */
#define RPC_SERVER_MAX_PATH                64 /* bytes of a route path, NUL included */

enum rpc_server_result {
	RPC_SERVER_OK = 0,
	RPC_SERVER_ERR_RESOLVE, /* host is not an address or resolvable name */
	RPC_SERVER_ERR_BIND,    /* socket, bind or listen failed (address in use, permission) */
	RPC_SERVER_ERR_START,   /* libmicrohttpd or a server thread failed to start */
	RPC_SERVER_ERR_NOMEM,   /* allocation failed */
};

/* A static English message for r; never NULL. */
const char *rpc_server_strerror(enum rpc_server_result r);

/*
 * Handles one HTTP body of JSON-RPC (a request or a batch) against table t and returns the body
 * to send back. On RPC_SERVER_OK, *out is a fresh NUL-terminated malloc'ed string the caller
 * frees, with its length in *out_len, or NULL (and 0) when nothing is to be sent (only
 * notifications). Every malformed input yields a JSON-RPC error response, never a failure:
 * -32700 for bad JSON (invalid UTF-8, duplicate keys, nesting deeper than max_depth, integers
 * beyond 64 bits), -32600 for a bad envelope or batch, -32601 for an unknown method.
 * Returns RPC_SERVER_ERR_NOMEM (with *out NULL) only when the response cannot be built.
 * Thread-safe: any number of calls may run at once on the same table.
 */
enum rpc_server_result rpc_dispatch(const struct rpc_table *t, const char *body, size_t len,
                                    char **out, size_t *out_len);

/* Sets err->code = code and formats err->message (truncated to fit); returns -1 so a handler can
 * `return rpc_error_set(err, RPC_CODE_SERVER_MIN + 10, "tx rejected: %s", why);`. */
int rpc_error_set(struct rpc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Parameter helpers: a parameter is looked up at position index when params is an array and by
 * name when it is an object; absent params (NULL), a missing entry and JSON null all count as
 * "not given". Each returns 0 with *out set, or -1 with err set to RPC_CODE_INVALID_PARAMS and a
 * message naming the parameter and what was expected ("missing param \"address\" (position 0)",
 * "param \"height\" must be a non-negative integer below 2^64").
 */

/* Rejects positional params beyond n and named params other than names[0..n-1] (the method's
 * whole signature), so a typo is not silently ignored. */
int rpc_params_check(json_t *params, const char *const *names, size_t n, struct rpc_error *err);

/* A required string; *out is borrowed from params (valid while the handler runs). */
int rpc_param_string(json_t *params, size_t index, const char *name, const char **out,
                     struct rpc_error *err);
/* An optional string: *out = dflt when not given. */
int rpc_param_string_opt(json_t *params, size_t index, const char *name, const char *dflt,
                         const char **out, struct rpc_error *err);
/* A required unsigned 64-bit integer, given as a JSON integer >= 0 or as a decimal string (for
 * values above 2^63-1, which JSON parsers lose): "18446744073709551615". No sign, no leading
 * zeros, no spaces. */
int rpc_param_u64(json_t *params, size_t index, const char *name, uint64_t *out,
                  struct rpc_error *err);
/* An optional u64: *out = dflt when not given. */
int rpc_param_u64_opt(json_t *params, size_t index, const char *name, uint64_t dflt, uint64_t *out,
                      struct rpc_error *err);
/* An optional JSON boolean: *out = dflt when not given. */
int rpc_param_bool(json_t *params, size_t index, const char *name, bool dflt, bool *out,
                   struct rpc_error *err);

/* Server configuration; zero fields take the defaults above. */
struct rpc_config {
	const char *host;             /* address or name to bind; NULL = 127.0.0.1 */
	uint16_t port;                /* 0 = an ephemeral port (see rpc_server_port) */
	unsigned threads;             /* worker threads; 0 = number of online CPUs */
	unsigned max_connections;     /* open connections at once (SSE subscribers included) */
	unsigned timeout_s;           /* a connection idle this long is closed */
	size_t max_body;              /* bytes of a request body; larger ones get HTTP 413 */
	size_t max_batch;             /* requests in one batch */
	unsigned max_depth;           /* JSON nesting depth */
	unsigned sse_max_subscribers; /* per SSE channel; more get HTTP 503 */
	unsigned sse_queue;           /* events queued per subscriber before it is dropped */
	unsigned sse_keepalive_ms;    /* interval of ": keep-alive" comments (made shorter than
	                                 timeout_s when it is not, so idle streams stay open) */
};

struct rpc_server;
struct rpc_sse;

/*
 * Binds cfg->host:cfg->port, starts the worker threads and serves table[0..n-1] (borrowed, must
 * outlive the server; names unique, handlers non-NULL; app is passed to every handler). On
 * RPC_SERVER_OK *out is the running server. Otherwise *out is NULL and, when errbuf is not NULL,
 * errbuf[0..errlen-1] holds one line saying what failed, naming host:port and the system error
 * ("cannot bind 127.0.0.1:9944: Address already in use"). Errors: RPC_SERVER_ERR_RESOLVE,
 * RPC_SERVER_ERR_BIND, RPC_SERVER_ERR_START, RPC_SERVER_ERR_NOMEM.
 */
enum rpc_server_result rpc_server_start(struct rpc_server **out, const struct rpc_config *cfg,
                                        const struct rpc_method *table, size_t n, void *app,
                                        char *errbuf, size_t errlen);

/* The bound TCP port (the ephemeral one when cfg->port was 0). */
uint16_t rpc_server_port(const struct rpc_server *s);

/* Stops accepting, ends SSE streams, closes every connection and joins the threads; no handler
 * runs after it returns. Idempotent; not to be called from a handler (it waits for them).
 * Publishing to a channel of a stopped server is a no-op. */
void rpc_server_stop(struct rpc_server *s);
/* Stops the server if running and frees it and its channels; NULL is ignored. */
void rpc_server_free(struct rpc_server *s);

/* What a GET handler fills. status defaults to 200, content_type (a static string) to
 * "text/plain; charset=utf-8"; body is malloc'ed by the handler and freed by the server (NULL =
 * empty). A handler that cannot allocate sets status 500. */
struct rpc_get_reply {
	unsigned status;
	const char *content_type;
	char *body;
	size_t len;
};
typedef void (*rpc_get_handler)(void *app, struct rpc_get_reply *reply);
/* Fills r with j serialised compactly as application/json and status, taking j's reference
 * (NULL or a serialisation failure gives status 500 and no body). */
void rpc_get_reply_json(struct rpc_get_reply *r, unsigned status, json_t *j);
/* {"error":{"code":code,"message":msg}}: the error shape of the binary routes and of each
 * refused entry in their answers. A new reference, NULL when out of memory. */
json_t *rpc_error_object(int code, const char *msg);
/* Fills r with status and rpc_error_object(code, msg) (status 500 without a body when out of
 * memory). */
void rpc_get_reply_error(struct rpc_get_reply *r, unsigned status, int code, const char *msg);

/* Serves GET (and HEAD) on path (exact match, "/metrics"; not "/", at most RPC_SERVER_MAX_PATH-1
 * bytes, not already registered) with fn, called concurrently with the server's app. May be
 * called while the server runs; at most RPC_SERVER_MAX_ROUTES routes (misuse aborts). */
void rpc_add_get(struct rpc_server *s, const char *path, rpc_get_handler fn);

/* A POST route's handler: body[0..len) is the whole request body (borrowed, at most cfg.max_body
 * bytes, already checked to carry the route's content type); fills reply as a GET handler does.
 * Called concurrently with the server's app. */
typedef void (*rpc_post_handler)(void *app, const uint8_t *body, size_t len,
                                 struct rpc_get_reply *reply);
/* Serves POST on path (same path rules as rpc_add_get) with fn, for requests whose Content-Type
 * is content_type (a static string, e.g. "application/octet-stream"); other types get 415 and
 * other methods 405, with JSON error bodies. At most RPC_SERVER_MAX_ROUTES routes in all. */
void rpc_add_post(struct rpc_server *s, const char *path, const char *content_type,
                  rpc_post_handler fn);
/* Adds a Server-Sent Events route on path (same rules as rpc_add_get) and returns its channel,
 * owned by the server and valid until rpc_server_free (NULL, with no route added, when out of
 * memory). A subscriber first receives the comment
 * ": connected", then every event published after it connected, in order, and a ": keep-alive"
 * comment every cfg->sse_keepalive_ms while idle. */
struct rpc_sse *rpc_add_sse(struct rpc_server *s, const char *path);

/* Queues "id: <n>\nevent: <event>\ndata: <json_data>\n\n" to every subscriber of ch, where n
 * counts every publish on the channel from 0 (json_data may span lines; each becomes a data:
 * line). Never blocks on a client: a subscriber whose queue already
 * holds cfg->sse_queue events is disconnected instead. event is a non-empty name without CR or
 * LF (misuse aborts). Returns the number of subscribers the event was queued to, or -1 when
 * memory ran out (nobody received it). */
int rpc_sse_publish(struct rpc_sse *ch, const char *event, const char *json_data);

/* Counters for /metrics; read with relaxed atomics, so only roughly consistent with each other. */
struct rpc_stats {
	uint64_t http_requests;   /* HTTP requests answered (any route) */
	uint64_t rpc_calls;       /* JSON-RPC requests handled (each batch element counts) */
	uint64_t rpc_errors;      /* JSON-RPC error responses sent */
	uint64_t sse_subscribers; /* currently connected, all channels */
	uint64_t sse_dropped;     /* subscribers disconnected for being too slow */
};
void rpc_server_stats(const struct rpc_server *s, struct rpc_stats *out);

#endif
