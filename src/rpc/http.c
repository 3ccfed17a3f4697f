/* The HTTP side: listening socket, libmicrohttpd daemon, routing, body accumulation, lifecycle. */
#include "rpc/rpc_int.h"

#include "base/log.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JSON_TYPE "application/json"

/* A POST / body being received: the access handler is called once with the headers, then once
 * per chunk of body, then once more with no data, when we answer. */
/* A POST body being received, for "/" (JSON-RPC, route NULL) or a POST route. */
struct post_ctx {
	char *buf;
	size_t len;
	size_t cap;
	bool too_large;
	const struct rpc_route *route;
};

const char *rpc_server_strerror(enum rpc_server_result r)
{
	switch (r) {
	case RPC_SERVER_OK:
		return "success";
	case RPC_SERVER_ERR_RESOLVE:
		return "cannot resolve the RPC host";
	case RPC_SERVER_ERR_BIND:
		return "cannot bind the RPC address";
	case RPC_SERVER_ERR_START:
		return "cannot start the RPC server";
	case RPC_SERVER_ERR_NOMEM:
		return "out of memory";
	}
	return "unknown rpc_server_result";
}

/* Queues a response (body taken) with an Allow header when allow is not NULL. */
static enum MHD_Result reply_allow(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                                   const char *allow, const char *content_type, char *body,
                                   size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	enum MHD_Result ret = MHD_YES;
	if (content_type)
		ret = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (allow && ret == MHD_YES)
		ret = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (ret == MHD_YES)
		ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	atomic_fetch_add_explicit(&s->http_requests, 1, memory_order_relaxed);
	return ret;
}

enum MHD_Result rpc_http_reply(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                               const char *content_type, char *body, size_t len)
{
	return reply_allow(s, c, status, NULL, content_type, body, len);
}

static enum MHD_Result error_allow(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                                   const char *allow, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static enum MHD_Result error_allow(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                                   const char *allow, const char *fmt, va_list ap)
{
	char msg[RPC_ERROR_MSG_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len;
	char *body = rpc_error_body(RPC_CODE_INVALID_REQUEST, msg, &len);
	if (!body)
		return MHD_NO;
	return reply_allow(s, c, status, allow, JSON_TYPE, body, len);
}

enum MHD_Result rpc_http_error(struct rpc_server *s, struct MHD_Connection *c, unsigned status,
                               const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = error_allow(s, c, status, NULL, fmt, ap);
	va_end(ap);
	return r;
}

/* 405 with the methods the path accepts. */
static enum MHD_Result not_allowed(struct rpc_server *s, struct MHD_Connection *c,
                                   const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result not_allowed(struct rpc_server *s, struct MHD_Connection *c,
                                   const char *allow, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	enum MHD_Result r = error_allow(s, c, MHD_HTTP_METHOD_NOT_ALLOWED, allow, fmt, ap);
	va_end(ap);
	return r;
}

/* The request's Content-Type is `type`, optionally followed by parameters ("; charset=utf-8"). */
static bool content_type_is(struct MHD_Connection *c, const char *type)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	size_t n = strlen(type);
	return ct && strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Starts receiving a POST body for "/" (route NULL: JSON-RPC) or a POST route. */
static enum MHD_Result post_begin(struct rpc_server *s, struct MHD_Connection *c,
                                  const char *method, const struct rpc_route *route, void **con_cls)
{
	const char *path = route ? route->path : "/";
	const char *type = route ? route->content_type : JSON_TYPE;
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return not_allowed(s, c, "POST", "HTTP method %.32s not allowed on %s: use POST",
		                   method, path);
	if (!content_type_is(c, type))
		return rpc_http_error(s, c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		                      "Content-Type must be %s", type);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
	if (declared > s->cfg.max_body)
		return rpc_http_error(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
		                      "request body of %llu bytes exceeds the limit of %zu",
		                      declared, s->cfg.max_body);
	struct post_ctx *p = calloc(1, sizeof(*p));
	if (!p)
		return MHD_NO;
	p->route = route;
	*con_cls = p;
	return MHD_YES;
}

/* Appends a chunk; a body over the cap is dropped and remembered, answered with 413 at the end. */
static void post_append(struct rpc_server *s, struct post_ctx *p, const char *data, size_t n)
{
	if (p->too_large)
		return;
	if (n > s->cfg.max_body - p->len) {
		p->too_large = true;
		free(p->buf);
		p->buf = NULL;
		return;
	}
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap < p->len + n)
			cap *= 2;
		if (cap > s->cfg.max_body)
			cap = s->cfg.max_body;
		char *b = realloc(p->buf, cap);
		if (!b) {
			p->too_large = true; /* answered as 413 rather than dropping silently */
			free(p->buf);
			p->buf = NULL;
			return;
		}
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
}

static enum MHD_Result post_finish(struct rpc_server *s, struct MHD_Connection *c,
                                   struct post_ctx *p)
{
	if (p->too_large)
		return rpc_http_error(s, c, MHD_HTTP_CONTENT_TOO_LARGE,
		                      "request body exceeds the limit of %zu bytes",
		                      s->cfg.max_body);
	if (p->route) {
		struct rpc_get_reply reply = {MHD_HTTP_OK, "text/plain; charset=utf-8", NULL, 0};
		p->route->post(s->table.app, (const uint8_t *)p->buf, p->len, &reply);
		return rpc_http_reply(s, c, reply.status, reply.content_type, reply.body,
		                      reply.len);
	}
	char *out;
	size_t len;
	if (rpc_dispatch_counted(&s->table, p->buf, p->len, &out, &len, &s->counters) !=
	    RPC_SERVER_OK)
		return rpc_http_error(s, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	if (!out)
		return rpc_http_reply(s, c, MHD_HTTP_NO_CONTENT, NULL, NULL, 0);
	return rpc_http_reply(s, c, MHD_HTTP_OK, JSON_TYPE, out, len);
}

static const struct rpc_route *route_find(struct rpc_server *s, const char *path)
{
	size_t n = atomic_load_explicit(&s->nroutes, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (strcmp(s->routes[i].path, path) == 0)
			return &s->routes[i];
	return NULL;
}

static enum MHD_Result serve_get(struct rpc_server *s, struct MHD_Connection *c,
                                 const struct rpc_route *r)
{
	struct rpc_get_reply reply = {MHD_HTTP_OK, "text/plain; charset=utf-8", NULL, 0};
	r->get(s->table.app, &reply);
	return rpc_http_reply(s, c, reply.status, reply.content_type, reply.body, reply.len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct rpc_server *s = cls;
	(void)version;
	struct post_ctx *p = *con_cls;
	if (p) {
		if (*upload_size) {
			post_append(s, p, upload, *upload_size);
			*upload_size = 0;
			return MHD_YES;
		}
		return post_finish(s, c, p);
	}
	if (strcmp(url, "/") == 0)
		return post_begin(s, c, method, NULL, con_cls);
	const struct rpc_route *r = route_find(s, url);
	if (!r)
		return rpc_http_error(s, c, MHD_HTTP_NOT_FOUND, "no route %.32s %.128s", method,
		                      url);
	if (r->kind == RPC_ROUTE_POST)
		return post_begin(s, c, method, r, con_cls);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return not_allowed(s, c, "GET, HEAD",
		                   "HTTP method %.32s not allowed on %s: use GET", method, r->path);
	if (r->kind == RPC_ROUTE_SSE)
		return rpc_sse_subscribe(r->sse, c);
	return serve_get(s, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	struct post_ctx *p = *con_cls;
	if (p) {
		free(p->buf);
		free(p);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's messages are mostly about misbehaving clients, hence debug level; while the
 * daemon starts, the last one is kept to explain a failure. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rpc_server *s = cls;
	char msg[sizeof(s->start_err)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("rpc", "libmicrohttpd: %s", msg);
	pthread_mutex_lock(&s->routes_lock);
	if (!s->mhd)
		memcpy(s->start_err, msg, sizeof(msg));
	pthread_mutex_unlock(&s->routes_lock);
}

static void config_resolve(struct rpc_config *c, const struct rpc_config *in)
{
	*c = *in;
	if (!c->host)
		c->host = RPC_SERVER_DEFAULT_HOST;
	if (!c->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = n > 0 ? (unsigned)n : 1;
	}
	if (!c->max_connections)
		c->max_connections = RPC_SERVER_DEFAULT_MAX_CONNECTIONS;
	if (c->threads > c->max_connections)
		c->threads = c->max_connections; /* MHD gives each pool thread >= 1 connection */
	if (!c->timeout_s)
		c->timeout_s = RPC_SERVER_DEFAULT_TIMEOUT_S;
	if (!c->max_body)
		c->max_body = RPC_SERVER_DEFAULT_MAX_BODY;
	if (!c->max_batch)
		c->max_batch = RPC_SERVER_DEFAULT_MAX_BATCH;
	if (!c->max_depth)
		c->max_depth = RPC_SERVER_DEFAULT_MAX_DEPTH;
	if (!c->sse_max_subscribers)
		c->sse_max_subscribers = RPC_SERVER_DEFAULT_SSE_SUBSCRIBERS;
	if (!c->sse_queue)
		c->sse_queue = RPC_SERVER_DEFAULT_SSE_QUEUE;
	if (!c->sse_keepalive_ms)
		c->sse_keepalive_ms = RPC_SERVER_DEFAULT_SSE_KEEPALIVE;
	/* An idle event stream must show activity before the idle timeout closes it. */
	if (c->sse_keepalive_ms >= c->timeout_s * 1000u)
		c->sse_keepalive_ms = c->timeout_s * 500u;
}

/* "127.0.0.1:9944" or "[::1]:9944". */
static void format_hostport(char *buf, size_t n, const char *host, unsigned port)
{
	if (strchr(host, ':'))
		snprintf(buf, n, "[%s]:%u", host, port);
	else
		snprintf(buf, n, "%s:%u", host, port);
}

/* Binds and listens ourselves (rather than letting MHD do it) to report the exact system error
 * and to learn the ephemeral port. */
static enum rpc_server_result listen_socket(struct rpc_server *s, int *fd_out, char *errbuf,
                                            size_t errlen)
{
	char where[300], port[8];
	format_hostport(where, sizeof(where), s->cfg.host, s->cfg.port);
	snprintf(port, sizeof(port), "%u", s->cfg.port);
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	                         .ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(s->cfg.host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(errbuf, errlen, "cannot resolve %s: %s", where, gai_strerror(gai));
		return RPC_SERVER_ERR_RESOLVE;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		            a->ai_protocol);
		int one = 1;
		if (fd >= 0 &&
		    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		     bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)) {
			err = errno;
			close(fd);
			fd = -1;
		} else if (fd < 0) {
			err = errno;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		snprintf(errbuf, errlen, "cannot bind %s: %s", where, strerror(err));
		return RPC_SERVER_ERR_BIND;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
	*fd_out = fd;
	return RPC_SERVER_OK;
}

static void *keepalive_main(void *arg)
{
	struct rpc_server *s = arg;
	pthread_mutex_lock(&s->ka_lock);
	while (!s->ka_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)s->cfg.sse_keepalive_ms * 1000000;
		ts.tv_sec += (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		if (pthread_cond_timedwait(&s->ka_cond, &s->ka_lock, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&s->ka_lock);
		size_t n = atomic_load_explicit(&s->nroutes, memory_order_acquire);
		for (size_t i = 0; i < n; i++)
			if (s->routes[i].kind == RPC_ROUTE_SSE)
				rpc_sse_keepalive(s->routes[i].sse);
		pthread_mutex_lock(&s->ka_lock);
	}
	pthread_mutex_unlock(&s->ka_lock);
	return NULL;
}

static enum rpc_server_result start_keepalive(struct rpc_server *s)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0)
		return RPC_SERVER_ERR_START;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int rc = pthread_cond_init(&s->ka_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return RPC_SERVER_ERR_START;
	if (pthread_create(&s->keepalive, NULL, keepalive_main, s) != 0) {
		pthread_cond_destroy(&s->ka_cond);
		return RPC_SERVER_ERR_START;
	}
	s->keepalive_running = true;
	return RPC_SERVER_OK;
}

static enum rpc_server_result start_daemon(struct rpc_server *s, int fd, char *errbuf,
                                           size_t errlen)
{
	/* Suspend/resume lets an idle SSE stream wait for events without a busy loop. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME |
	                 MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads,
	    MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    s->cfg.timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	pthread_mutex_lock(&s->routes_lock);
	s->mhd = d;
	pthread_mutex_unlock(&s->routes_lock);
	if (!s->mhd) {
		char where[300];
		format_hostport(where, sizeof(where), s->cfg.host, s->port);
		snprintf(errbuf, errlen, "cannot start the HTTP server on %s (%u threads): %s",
		         where, s->cfg.threads,
		         s->start_err[0] ? s->start_err : "libmicrohttpd failed");
		close(fd);
		return RPC_SERVER_ERR_START;
	}
	return RPC_SERVER_OK;
}

enum rpc_server_result rpc_server_start(struct rpc_server **out, const struct rpc_config *cfg,
                                        const struct rpc_method *table, size_t n, void *app,
                                        char *errbuf, size_t errlen)
{
	char scratch[1];
	if (!errbuf) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	errbuf[0] = '\0';
	*out = NULL;
	struct rpc_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(errbuf, errlen, "out of memory");
		return RPC_SERVER_ERR_NOMEM;
	}
	config_resolve(&s->cfg, cfg);
	s->table = (struct rpc_table){table, n, app, s->cfg.max_batch, s->cfg.max_depth};
	rpc_table_assert_valid(&s->table);
	/* jansson seeds its hash function on first use; do it before the worker threads race. */
	json_object_seed(0);
	pthread_mutex_init(&s->routes_lock, NULL);
	pthread_mutex_init(&s->ka_lock, NULL);
	int fd;
	enum rpc_server_result r = listen_socket(s, &fd, errbuf, errlen);
	if (r == RPC_SERVER_OK)
		r = start_daemon(s, fd, errbuf, errlen);
	if (r == RPC_SERVER_OK && (r = start_keepalive(s)) != RPC_SERVER_OK)
		snprintf(errbuf, errlen, "cannot start the SSE keep-alive thread");
	if (r != RPC_SERVER_OK) {
		rpc_server_free(s);
		return r;
	}
	*out = s;
	return RPC_SERVER_OK;
}

uint16_t rpc_server_port(const struct rpc_server *s)
{
	return s->port;
}

void rpc_server_stop(struct rpc_server *s)
{
	if (s->stopped)
		return;
	s->stopped = true;
	if (s->keepalive_running) {
		pthread_mutex_lock(&s->ka_lock);
		s->ka_stop = true;
		pthread_cond_signal(&s->ka_cond);
		pthread_mutex_unlock(&s->ka_lock);
		pthread_join(s->keepalive, NULL);
		pthread_cond_destroy(&s->ka_cond);
		s->keepalive_running = false;
	}
	size_t n = atomic_load_explicit(&s->nroutes, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (s->routes[i].kind == RPC_ROUTE_SSE)
			rpc_sse_close(s->routes[i].sse);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
}

void rpc_server_free(struct rpc_server *s)
{
	if (!s)
		return;
	rpc_server_stop(s);
	size_t n = atomic_load_explicit(&s->nroutes, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (s->routes[i].kind == RPC_ROUTE_SSE)
			rpc_sse_free(s->routes[i].sse);
	pthread_mutex_destroy(&s->routes_lock);
	pthread_mutex_destroy(&s->ka_lock);
	free(s);
}

static void route_add(struct rpc_server *s, const char *path, const struct rpc_route *proto)
{
	assert(path[0] == '/' && path[1] != '\0' && strlen(path) < RPC_SERVER_MAX_PATH);
	pthread_mutex_lock(&s->routes_lock);
	size_t n = atomic_load_explicit(&s->nroutes, memory_order_relaxed);
	assert(n < RPC_SERVER_MAX_ROUTES && !route_find(s, path));
	struct rpc_route *r = &s->routes[n];
	*r = *proto;
	snprintf(r->path, sizeof(r->path), "%s", path);
	atomic_store_explicit(&s->nroutes, n + 1, memory_order_release);
	pthread_mutex_unlock(&s->routes_lock);
}

void rpc_get_reply_json(struct rpc_get_reply *r, unsigned status, json_t *j)
{
	r->status = status;
	r->content_type = "application/json";
	r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	r->len = r->body ? strlen(r->body) : 0;
	if (!r->body)
		r->status = 500;
	json_decref(j);
}

json_t *rpc_error_object(int code, const char *msg)
{
	return json_pack("{s:{s:i, s:s}}", "error", "code", code, "message", msg);
}

void rpc_get_reply_error(struct rpc_get_reply *r, unsigned status, int code, const char *msg)
{
	rpc_get_reply_json(r, status, rpc_error_object(code, msg));
}

void rpc_add_get(struct rpc_server *s, const char *path, rpc_get_handler fn)
{
	assert(fn);
	route_add(s, path, &(struct rpc_route){.kind = RPC_ROUTE_GET, .get = fn});
}

void rpc_add_post(struct rpc_server *s, const char *path, const char *content_type,
                  rpc_post_handler fn)
{
	assert(fn && content_type);
	route_add(
	    s, path,
	    &(struct rpc_route){.kind = RPC_ROUTE_POST, .post = fn, .content_type = content_type});
}

struct rpc_sse *rpc_add_sse(struct rpc_server *s, const char *path)
{
	struct rpc_sse *ch = rpc_sse_new(s);
	if (!ch)
		return NULL;
	route_add(s, path, &(struct rpc_route){.kind = RPC_ROUTE_SSE, .sse = ch});
	return ch;
}

void rpc_server_stats(const struct rpc_server *s, struct rpc_stats *out)
{
	out->http_requests = atomic_load_explicit(&s->http_requests, memory_order_relaxed);
	out->rpc_calls = atomic_load_explicit(&s->counters.calls, memory_order_relaxed);
	out->rpc_errors = atomic_load_explicit(&s->counters.errors, memory_order_relaxed);
	out->sse_subscribers = atomic_load_explicit(&s->sse_subscribers, memory_order_relaxed);
	out->sse_dropped = atomic_load_explicit(&s->sse_dropped, memory_order_relaxed);
}
