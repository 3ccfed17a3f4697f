/* Internals shared by jsonrpc.c (dispatch), http.c (server, routes) and sse.c (event streams). */
#ifndef TN_RPC_RPC_INT_H
#define TN_RPC_RPC_INT_H

#include "rpc/rpc.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

struct rpc_counters {
	_Atomic uint64_t calls;
	_Atomic uint64_t errors;
};

/* rpc_dispatch that also counts calls and error responses into c (may be NULL). */
enum rpc_server_result rpc_dispatch_counted(const struct rpc_table *t, const char *body, size_t len,
                                            char **out, size_t *out_len, struct rpc_counters *c);

/* Asserts that the table is usable: non-NULL names and handlers, unique names, none reserved. */
void rpc_table_assert_valid(const struct rpc_table *t);

/* Replaces every byte of s that is not part of a valid UTF-8 sequence by '?', in place, so text
 * derived from client input (or truncated by snprintf) can go into a JSON string. */
void rpc_utf8_sanitize(char *s);

/* Builds {"jsonrpc":"2.0","error":{"code":code,"message":msg},"id":null} as a malloc'ed string
 * (msg is sanitised to UTF-8); NULL when out of memory. */
char *rpc_error_body(int code, const char *msg, size_t *len);

enum rpc_route_kind { RPC_ROUTE_GET, RPC_ROUTE_SSE, RPC_ROUTE_POST };

struct rpc_route {
	char path[RPC_SERVER_MAX_PATH];
	enum rpc_route_kind kind;
	rpc_get_handler get;
	struct rpc_sse *sse;
	rpc_post_handler post;
	const char *content_type; /* the body type a POST route accepts */
};

struct rpc_server {
	struct MHD_Daemon *mhd;
	struct rpc_table table;
	struct rpc_config cfg; /* with defaults filled in */
	uint16_t port;
	bool stopped;
	char start_err[160]; /* last libmicrohttpd message before the daemon ran (routes_lock) */

	struct rpc_counters counters;
	_Atomic uint64_t http_requests;
	_Atomic uint64_t sse_subscribers;
	_Atomic uint64_t sse_dropped;

	/* Routes are appended while worker threads read them: an entry is written completely
	 * before nroutes is published with release order, and readers load nroutes with acquire.
	 * routes_lock serialises writers (and guards mhd/start_err while the daemon starts). */
	pthread_mutex_t routes_lock;
	struct rpc_route routes[RPC_SERVER_MAX_ROUTES];
	_Atomic size_t nroutes;

	pthread_t keepalive;
	bool keepalive_running;
	pthread_mutex_t ka_lock;
	pthread_cond_t ka_cond;
	bool ka_stop;
};

/* sse.c */
struct rpc_sse *rpc_sse_new(struct rpc_server *s);
/* Frees a channel; every subscriber must be gone (the MHD daemon stopped). */
void rpc_sse_free(struct rpc_sse *ch);
/* Answers a GET on the channel's route: subscribes the connection (200 text/event-stream), or 503
 * when the channel is full or closing. */
enum MHD_Result rpc_sse_subscribe(struct rpc_sse *ch, struct MHD_Connection *conn);
/* Queues a keep-alive comment to every idle subscriber. */
void rpc_sse_keepalive(struct rpc_sse *ch);
/* Ends every stream and refuses new subscribers, so the daemon can stop (MHD refuses to stop
 * while a connection is suspended). */
void rpc_sse_close(struct rpc_sse *ch);

/* http.c: queues a response whose body is taken (freed by MHD); counts it. */
enum MHD_Result rpc_http_reply(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                               const char *content_type, char *body, size_t len);
/* Queues a JSON error body (rpc_error_body with RPC_CODE_INVALID_REQUEST) with HTTP status. */
enum MHD_Result rpc_http_error(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
