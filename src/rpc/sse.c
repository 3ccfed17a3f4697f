/*
 * Server-Sent Events channels. Each subscriber is a chunked HTTP response fed by a callback from
 * a bounded queue of shared, reference-counted event texts. When its queue is empty the callback
 * suspends the connection; a publish resumes it. A publish never waits for a client: a subscriber
 * whose queue is full is unlinked, its socket shut down, and its connection resumed so MHD closes
 * it.
 *
 * Lifetimes: a subscriber lives until MHD destroys its response (sse_sub_free); while it is linked
 * in its channel (under the channel lock) its connection and socket are therefore still open,
 * which is what makes resuming and shutting it down from a publisher thread safe.
 */
#include "rpc/rpc_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SSE_BLOCK 4096 /* preferred bytes per callback */

struct sse_msg {
	_Atomic unsigned refs;
	size_t len;
	char data[];
};

struct sse_sub {
	struct rpc_sse *ch;
	struct MHD_Connection *conn;
	int fd;
	struct sse_sub *prev, *next;
	bool linked;
	bool suspended;
	unsigned head, count; /* ring of cfg.sse_queue entries */
	size_t off;           /* bytes of q[head] already sent */
	struct sse_msg *q[];
};

struct rpc_sse {
	struct rpc_server *srv;
	pthread_mutex_t lock;
	struct sse_sub *subs;
	unsigned nsubs;
	bool closing;
	uint64_t next_id;
	struct sse_msg *hello;
	struct sse_msg *keepalive;
};

static struct sse_msg *msg_new(size_t len)
{
	struct sse_msg *m = malloc(sizeof(*m) + len);
	if (m) {
		atomic_init(&m->refs, 1);
		m->len = len;
	}
	return m;
}

static struct sse_msg *msg_from(const char *text)
{
	struct sse_msg *m = msg_new(strlen(text));
	if (m)
		memcpy(m->data, text, m->len);
	return m;
}

static void msg_unref(struct sse_msg *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		free(m);
}

/* "id: N\nevent: E\ndata: line\n...\n\n"; each CR, LF or CRLF of data starts a new data line so
 * a client never sees a line break inside a field. */
static struct sse_msg *format_event(uint64_t id, const char *event, const char *data)
{
	size_t lines = 1, dlen = strlen(data);
	for (size_t i = 0; i < dlen; i++)
		lines += data[i] == '\n' || (data[i] == '\r' && data[i + 1] != '\n');
	size_t cap = 48 + strlen(event) + dlen + lines * 7;
	struct sse_msg *m = msg_new(cap);
	if (!m)
		return NULL;
	int n = snprintf(m->data, cap, "id: %" PRIu64 "\nevent: %s\ndata: ", id, event);
	size_t len = (size_t)n;
	for (size_t i = 0; i < dlen; i++) {
		if (data[i] != '\r' && data[i] != '\n') {
			m->data[len++] = data[i];
			continue;
		}
		if (data[i] == '\r' && data[i + 1] == '\n')
			i++;
		memcpy(m->data + len, "\ndata: ", 7);
		len += 7;
	}
	memcpy(m->data + len, "\n\n", 2);
	m->len = len + 2;
	assert(m->len <= cap);
	return m;
}

struct rpc_sse *rpc_sse_new(struct rpc_server *s)
{
	struct rpc_sse *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->srv = s;
	ch->hello = msg_from(": connected\n\n");
	ch->keepalive = msg_from(": keep-alive\n\n");
	if (!ch->hello || !ch->keepalive || pthread_mutex_init(&ch->lock, NULL) != 0) {
		msg_unref(ch->hello);
		msg_unref(ch->keepalive);
		free(ch);
		return NULL;
	}
	return ch;
}

void rpc_sse_free(struct rpc_sse *ch)
{
	assert(ch->nsubs == 0);
	msg_unref(ch->hello);
	msg_unref(ch->keepalive);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

static void queue_push(struct sse_sub *sub, struct sse_msg *m, unsigned cap)
{
	assert(sub->count < cap);
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	sub->q[(sub->head + sub->count) % cap] = m;
	sub->count++;
}

static void queue_clear(struct sse_sub *sub, unsigned cap)
{
	for (; sub->count; sub->count--, sub->head = (sub->head + 1) % cap)
		msg_unref(sub->q[sub->head]);
	sub->off = 0;
}

/* Copies queued bytes into buf; 0 when the queue is empty. Channel lock held. */
static size_t queue_take(struct sse_sub *sub, char *buf, size_t max, unsigned cap)
{
	size_t n = 0;
	while (sub->count && n < max) {
		struct sse_msg *m = sub->q[sub->head];
		size_t take = m->len - sub->off;
		if (take > max - n)
			take = max - n;
		memcpy(buf + n, m->data + sub->off, take);
		n += take;
		sub->off += take;
		if (sub->off == m->len) {
			msg_unref(m);
			sub->head = (sub->head + 1) % cap;
			sub->count--;
			sub->off = 0;
		}
	}
	return n;
}

/* Channel lock held. */
static void sub_wake(struct sse_sub *sub)
{
	if (sub->suspended) {
		sub->suspended = false;
		MHD_resume_connection(sub->conn);
	}
}

static void sub_unlink(struct rpc_sse *ch, struct sse_sub *sub)
{
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		ch->subs = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	sub->linked = false;
	ch->nsubs--;
	atomic_fetch_sub_explicit(&ch->srv->sse_subscribers, 1, memory_order_relaxed);
}

/* Disconnects a subscriber that fell behind. Channel lock held. */
static void sub_drop(struct rpc_sse *ch, struct sse_sub *sub)
{
	sub_unlink(ch, sub);
	queue_clear(sub, ch->srv->cfg.sse_queue);
	/* Without this a client that stopped reading would hold the connection until the idle
	 * timeout, since MHD only calls us back once the socket drains. */
	shutdown(sub->fd, SHUT_RDWR);
	sub_wake(sub);
	atomic_fetch_add_explicit(&ch->srv->sse_dropped, 1, memory_order_relaxed);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_sub *sub = cls;
	struct rpc_sse *ch = sub->ch;
	(void)pos;
	ssize_t ret;
	pthread_mutex_lock(&ch->lock);
	if (!sub->linked) {
		ret = MHD_CONTENT_READER_END_WITH_ERROR; /* dropped */
	} else if (ch->closing) {
		ret = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		ret = (ssize_t)queue_take(sub, buf, max, ch->srv->cfg.sse_queue);
		if (ret == 0) {
			sub->suspended = true;
			MHD_suspend_connection(sub->conn);
		}
	}
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

static void sse_sub_free(void *cls)
{
	struct sse_sub *sub = cls;
	struct rpc_sse *ch = sub->ch;
	pthread_mutex_lock(&ch->lock);
	if (sub->linked)
		sub_unlink(ch, sub);
	pthread_mutex_unlock(&ch->lock);
	queue_clear(sub, ch->srv->cfg.sse_queue);
	free(sub);
}

/* Links sub and queues the greeting; false when the channel is full or closing. */
static bool sub_link(struct rpc_sse *ch, struct sse_sub *sub)
{
	bool ok;
	pthread_mutex_lock(&ch->lock);
	ok = !ch->closing && ch->nsubs < ch->srv->cfg.sse_max_subscribers;
	if (ok) {
		sub->next = ch->subs;
		if (ch->subs)
			ch->subs->prev = sub;
		ch->subs = sub;
		sub->linked = true;
		ch->nsubs++;
		atomic_fetch_add_explicit(&ch->srv->sse_subscribers, 1, memory_order_relaxed);
		queue_push(sub, ch->hello, ch->srv->cfg.sse_queue);
	}
	pthread_mutex_unlock(&ch->lock);
	return ok;
}

static struct MHD_Response *sse_response(struct sse_sub *sub)
{
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
	                                                           sse_read, sub, sse_sub_free);
	if (!r)
		return NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") !=
	        MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") != MHD_YES ||
	    MHD_add_response_header(r, "X-Accel-Buffering", "no") != MHD_YES) {
		MHD_destroy_response(r); /* frees sub through sse_sub_free */
		return NULL;
	}
	return r;
}

enum MHD_Result rpc_sse_subscribe(struct rpc_sse *ch, struct MHD_Connection *conn)
{
	struct rpc_server *s = ch->srv;
	struct sse_sub *sub = calloc(1, sizeof(*sub) + s->cfg.sse_queue * sizeof(sub->q[0]));
	if (!sub)
		return rpc_http_error(s, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	sub->ch = ch;
	sub->conn = conn;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	sub->fd = ci ? ci->connect_fd : -1;
	if (!sub_link(ch, sub)) {
		free(sub);
		return rpc_http_error(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		                      "event stream unavailable: %u subscribers connected (the "
		                      "limit) or the server is stopping",
		                      s->cfg.sse_max_subscribers);
	}
	struct MHD_Response *r = sse_response(sub);
	if (!r)
		return MHD_NO; /* MHD closes the connection; sse_sub_free ran */
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	atomic_fetch_add_explicit(&s->http_requests, 1, memory_order_relaxed);
	return ret;
}

/* Queues m to every subscriber (only the idle ones when idle_only); drops those that are full. */
static int broadcast(struct rpc_sse *ch, struct sse_msg *m, bool idle_only)
{
	unsigned cap = ch->srv->cfg.sse_queue;
	int queued = 0;
	struct sse_sub *next;
	for (struct sse_sub *sub = ch->subs; sub; sub = next) {
		next = sub->next;
		if (idle_only && sub->count)
			continue;
		if (sub->count == cap) {
			sub_drop(ch, sub);
			continue;
		}
		queue_push(sub, m, cap);
		sub_wake(sub);
		queued++;
	}
	return queued;
}

int rpc_sse_publish(struct rpc_sse *ch, const char *event, const char *json_data)
{
	assert(event[0] && !strpbrk(event, "\r\n") && json_data);
	int queued = 0;
	pthread_mutex_lock(&ch->lock);
	uint64_t id = ch->next_id++; /* counts every event, so a gap shows a client missed some */
	if (!ch->closing && ch->nsubs) {
		/* Formatted under the lock so ids reach every subscriber in increasing order. */
		struct sse_msg *m = format_event(id, event, json_data);
		if (m) {
			queued = broadcast(ch, m, false);
			msg_unref(m);
		} else {
			queued = -1;
		}
	}
	pthread_mutex_unlock(&ch->lock);
	return queued;
}

void rpc_sse_keepalive(struct rpc_sse *ch)
{
	pthread_mutex_lock(&ch->lock);
	if (!ch->closing)
		broadcast(ch, ch->keepalive, true);
	pthread_mutex_unlock(&ch->lock);
}

void rpc_sse_close(struct rpc_sse *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->closing = true;
	for (struct sse_sub *sub = ch->subs; sub; sub = sub->next)
		sub_wake(sub);
	pthread_mutex_unlock(&ch->lock);
}
