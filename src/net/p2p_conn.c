/*
 * One connection (p2p_int.h): the handshake, reading and dispatching frames, the send queue and
 * the writer, keepalive, and teardown. Loop thread only.
 *
 * Writer: at most one uv_write is in flight. While it runs, frames accumulate in the other
 * buffer, but only up to P2P_BATCH_LEN: messages stay in the capped queue until the socket takes
 * them, so a slow peer fills its queue (and then loses messages) rather than our memory.
 */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/p2p_int.h"

/* --- Teardown ----------------------------------------------------------------------------------
 */

static void conn_free(struct p2p_conn *c)
{
	while (c->q_len) {
		p2p_msg_unref(c->q[c->q_head]);
		c->q_head = (c->q_head + 1) % c->p->cfg.queue_max_msgs;
		c->q_len--;
	}
	free(c->q);
	free(c->rbuf);
	free(c->out[0].b);
	free(c->out[1].b);
	p2p_reader_release(&c->rd);
	p2p_assembly_release(&c->as);
	p2p_handshake_release(&c->hs);
	p2p_cipher_release(&c->tx);
	p2p_cipher_release(&c->rx);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct p2p_conn *c = h->data;
	if (--c->handles == 0)
		conn_free(c);
}

static void unlink_conn(struct p2p *p, struct p2p_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	if (c->info.outbound)
		p->n_outbound--;
	else
		p->n_inbound--;
}

static void count_close(struct p2p *p, const struct p2p_conn *c, enum p2p_result why)
{
	if (c->state == P2P_CONN_ESTABLISHED) {
		if (why != P2P_ERR_CLOSED && why != P2P_ERR_IO && why != P2P_ERR_SHUTDOWN &&
		    why != P2P_ERR_KICKED && why != P2P_ERR_DUPLICATE && why != P2P_ERR_TIMEOUT)
			P2P_STAT_ADD(p, protocol_errors, 1);
		return;
	}
	if (c->state == P2P_CONN_HANDSHAKE)
		P2P_STAT_ADD(p, handshake_failures, 1);
}

void p2p_conn_close(struct p2p_conn *c, enum p2p_result why)
{
	struct p2p *p = c->p;
	if (c->state == P2P_CONN_CLOSING)
		return;
	bool established = c->state == P2P_CONN_ESTABLISHED;
	count_close(p, c, why);
	c->state = P2P_CONN_CLOSING;
	unlink_conn(p, c);
	if (established) {
		log_info("p2p", "peer %llu (%s) disconnected: %s", (unsigned long long)c->info.id,
		         c->info.addr, p2p_strerror(why));
		if (p->cfg.on_disconnect)
			p->cfg.on_disconnect(p->cfg.ctx, &c->info, why);
	} else {
		log_debug("p2p", "connection %s failed: %s", c->info.addr, p2p_strerror(why));
	}
	p2p_dial_closed(p, c, established);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* --- Writer ------------------------------------------------------------------------------------
 */

static bool buf_reserve(struct p2p_buf *b, size_t extra)
{
	return p2p_grow(&b->b, &b->cap, b->len + extra);
}

/* Seals the plaintext hdr[0..hn) ‖ body[0..bn) as one frame at the end of the accumulating
 * buffer. */
static enum p2p_result put_frame(struct p2p_conn *c, const uint8_t *hdr, size_t hn,
                                 const uint8_t *body, size_t bn)
{
	struct p2p_buf *b = &c->out[!c->w];
	if (!buf_reserve(b, hn + bn + P2P_FRAME_OVERHEAD))
		return P2P_ERR_NOMEM;
	uint8_t *f = b->b + b->len;
	memcpy(f + P2P_LEN_LEN, hdr, hn);
	if (bn)
		memcpy(f + P2P_LEN_LEN + hn, body, bn);
	enum p2p_result r = p2p_frame_seal(&c->tx, f, hn + bn);
	if (r == P2P_OK)
		b->len += hn + bn + P2P_FRAME_OVERHEAD;
	return r;
}

/* Frames the next part of the queue's head message. */
static enum p2p_result put_part(struct p2p_conn *c)
{
	struct p2p *p = c->p;
	struct p2p_msg *m = c->q[c->q_head];
	size_t left = m->len - c->head_off, chunk = p->cfg.frame_max - 2;
	if (chunk > left)
		chunk = left;
	uint8_t hdr[2] = {chunk < left ? P2P_KIND_MORE : P2P_KIND_LAST, m->channel};
	enum p2p_result r = put_frame(c, hdr, 2, m->data + c->head_off, chunk);
	if (r != P2P_OK)
		return r;
	c->head_off += chunk;
	if (c->head_off == m->len) {
		c->q_head = (c->q_head + 1) % p->cfg.queue_max_msgs;
		c->q_len--;
		c->q_bytes -= m->len;
		c->head_off = 0;
		c->info.msgs_out++;
		P2P_STAT_ADD(p, msgs_out, 1);
		p2p_msg_unref(m);
	}
	return P2P_OK;
}

/* Moves control frames, then queued messages, into the accumulating buffer up to the batch. */
static enum p2p_result fill(struct p2p_conn *c)
{
	enum p2p_result r = P2P_OK;
	uint8_t ctl[9];
	while (r == P2P_OK && c->out[!c->w].len < P2P_BATCH_LEN &&
	       c->state == P2P_CONN_ESTABLISHED) {
		if (c->pong_due) {
			c->pong_due = false;
			r = put_frame(c, ctl, p2p_frame_control(ctl, P2P_KIND_PONG, c->pong_nonce),
			              NULL, 0);
		} else if (c->ping_due) {
			c->ping_due = false;
			r = put_frame(c, ctl,
			              p2p_frame_control(ctl, P2P_KIND_PING, ++c->ping_nonce), NULL,
			              0);
		} else if (c->q_len) {
			r = put_part(c);
		} else {
			break;
		}
	}
	return r;
}

static void flush(struct p2p_conn *c);

bool p2p_conn_io_ok(struct p2p_conn *c, int status)
{
	if (c->state == P2P_CONN_CLOSING)
		return false;
	if (status < 0) {
		p2p_conn_close(c, P2P_ERR_IO);
		return false;
	}
	return true;
}

static void on_written(uv_write_t *req, int status)
{
	struct p2p_conn *c = req->data;
	c->writing = false;
	if (!p2p_conn_io_ok(c, status))
		return;
	struct p2p_buf *done = &c->out[c->w];
	done->len = 0;
	if (done->cap > 4 * P2P_BATCH_LEN) { /* a large frame went out: give the memory back */
		free(done->b);
		done->b = NULL;
		done->cap = 0;
	}
	flush(c);
}

/* Starts a write of everything accumulated (after topping it up), unless one is in flight. */
static void flush(struct p2p_conn *c)
{
	if (c->writing || c->state == P2P_CONN_CLOSING)
		return;
	enum p2p_result r = fill(c);
	if (r != P2P_OK) {
		p2p_conn_close(c, r);
		return;
	}
	struct p2p_buf *b = &c->out[!c->w];
	if (b->len == 0)
		return;
	c->w = !c->w;
	uv_buf_t ub = uv_buf_init((char *)b->b, (unsigned)b->len);
	c->info.bytes_out += b->len;
	P2P_STAT_ADD(c->p, bytes_out, b->len);
	int e = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1, on_written);
	if (e < 0) {
		p2p_conn_close(c, P2P_ERR_IO);
		return;
	}
	c->writing = true;
	c->write_start_ms = uv_now(&c->p->loop);
}

enum p2p_result p2p_conn_enqueue(struct p2p_conn *c, struct p2p_msg *m)
{
	const struct p2p_config *cfg = &c->p->cfg;
	if (c->q_len == cfg->queue_max_msgs || m->len > cfg->queue_max_bytes - c->q_bytes) {
		c->info.dropped++;
		P2P_STAT_ADD(c->p, dropped, 1);
		return P2P_ERR_QUEUE_FULL;
	}
	c->q[(c->q_head + c->q_len) % cfg->queue_max_msgs] = m;
	c->q_len++;
	c->q_bytes += m->len;
	m->refs++;
	flush(c);
	return P2P_OK;
}

/* --- Handshake ---------------------------------------------------------------------------------
 */

static enum p2p_result send_raw(struct p2p_conn *c, const uint8_t *p, size_t n)
{
	struct p2p_buf *b = &c->out[!c->w];
	if (!buf_reserve(b, n))
		return P2P_ERR_NOMEM;
	memcpy(b->b + b->len, p, n);
	b->len += n;
	flush(c);
	return P2P_OK;
}

/* The peer's init message: derive the session and send our AUTH frame. */
static enum p2p_result on_init(struct p2p_conn *c, const uint8_t *peer_init)
{
	struct p2p *p = c->p;
	enum p2p_result r = p2p_handshake_derive(&c->hs, peer_init, &c->tx, &c->rx);
	if (r != P2P_OK)
		return r;
	p2p_reader_set_cap(&c->rd, P2P_AUTH_PT_MAX);
	uint8_t pt[P2P_LEN_LEN + P2P_AUTH_PT_MAX + P2P_TAG_LEN];
	size_t n;
	struct p2p_hello hello = {.version = P2P_VERSION};
	memcpy(hello.chain_id, p->cfg.chain_id, P2P_CHAIN_ID_LEN);
	hello.listen = p->advertise;
	hello.listen_len = p->advertise ? strlen(p->advertise) : 0;
	uint8_t app[P2P_APP_MAX];
	pthread_mutex_lock(&p->mu);
	memcpy(app, p->app, p->app_len);
	hello.app_len = p->app_len;
	pthread_mutex_unlock(&p->mu);
	hello.app = app;
	p2p_handshake_auth_encode(&c->hs, pt + P2P_LEN_LEN, &n, p->node_sk, &hello);
	r = p2p_frame_seal(&c->tx, pt, n);
	if (r == P2P_OK)
		r = send_raw(c, pt, n + P2P_FRAME_OVERHEAD);
	return r;
}

static void on_keepalive(uv_timer_t *t)
{
	struct p2p_conn *c = t->data;
	struct p2p *p = c->p;
	if (c->state != P2P_CONN_ESTABLISHED) {
		p2p_conn_close(c, P2P_ERR_TIMEOUT);
		return;
	}
	uint64_t now = uv_now(&p->loop);
	/* Silent for too long, or not reading what we write (a write stuck that long). */
	if (now - c->last_rx_ms >= p->cfg.idle_timeout_ms ||
	    (c->writing && now - c->write_start_ms >= p->cfg.idle_timeout_ms)) {
		p2p_conn_close(c, P2P_ERR_TIMEOUT);
		return;
	}
	c->ping_due = true;
	flush(c);
}

static void announce(struct p2p_conn *c, const struct p2p_auth *a)
{
	struct p2p *p = c->p;
	c->state = P2P_CONN_ESTABLISHED;
	c->info.id = ++p->next_id;
	p2p_reader_set_cap(&c->rd, p->cfg.frame_max);
	P2P_STAT_ADD(p, handshakes, 1);
	uv_timer_start(&c->timer, on_keepalive, p->cfg.ping_interval_ms, p->cfg.ping_interval_ms);
	log_info("p2p", "peer %llu (%s, %s) connected", (unsigned long long)c->info.id,
	         c->info.addr, c->info.outbound ? "outbound" : "inbound");
	if (p->cfg.on_connect)
		p->cfg.on_connect(p->cfg.ctx, &c->info, a->hello.app, a->hello.app_len);
	if (c->state == P2P_CONN_ESTABLISHED)
		flush(c); /* anything queued by the callback */
}

/* Of two sessions with one node key, keeps the same one on both ends (see p2p.h). Returns the
 * connection to close, or NULL. */
static struct p2p_conn *duplicate_loser(struct p2p_conn *c)
{
	struct p2p *p = c->p;
	for (struct p2p_conn *e = p->conns; e; e = e->next) {
		if (e == c || e->state != P2P_CONN_ESTABLISHED ||
		    memcmp(e->info.key, c->info.key, SIG_PK_LEN) != 0)
			continue;
		if (e->info.outbound == c->info.outbound)
			return e;
		bool keep_outbound = memcmp(p->node_pk, c->info.key, SIG_PK_LEN) < 0;
		return c->info.outbound == keep_outbound ? e : c;
	}
	return NULL;
}

/* The peer's AUTH frame: check who it is, then go live. */
static enum p2p_result on_auth(struct p2p_conn *c, const uint8_t *pt, size_t n)
{
	struct p2p_auth a;
	enum p2p_result r = p2p_handshake_auth_decode(&c->hs, pt, n, &a);
	if (r != P2P_OK)
		return r;
	memcpy(c->info.key, a.node_pk, SIG_PK_LEN);
	/* Opaque to us, but it ends up in logs: keep it printable. */
	for (size_t i = 0; i < a.hello.listen_len; i++) {
		char ch = a.hello.listen[i];
		c->info.listen[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
	c->info.listen[a.hello.listen_len] = '\0';
	r = p2p_dial_established(c->p, c);
	if (r != P2P_OK)
		return r;
	struct p2p_conn *loser = duplicate_loser(c);
	if (loser == c)
		return P2P_ERR_DUPLICATE;
	if (loser)
		p2p_conn_close(loser, P2P_ERR_DUPLICATE);
	announce(c, &a);
	return P2P_OK;
}

/* --- Reader ------------------------------------------------------------------------------------
 */

static enum p2p_result on_body(struct p2p_conn *c, const struct p2p_body *b)
{
	struct p2p *p = c->p;
	const uint8_t *msg;
	size_t len;
	bool done;
	switch (b->kind) {
	case P2P_KIND_PING:
		c->pong_due = true; /* only the latest ping is answered: pongs cannot pile up */
		c->pong_nonce = b->nonce;
		flush(c);
		return P2P_OK;
	case P2P_KIND_PONG:
		return P2P_OK;
	default: {
		enum p2p_result r = p2p_assembly_add(&c->as, b, &msg, &len, &done);
		if (r != P2P_OK || !done)
			return r;
		c->info.msgs_in++;
		P2P_STAT_ADD(p, msgs_in, 1);
		p->cfg.on_msg(p->cfg.ctx, c->info.id, c->info.key, b->channel, msg, len);
		return P2P_OK;
	}
	}
}

/* One complete unit from the reader. */
static enum p2p_result on_unit(struct p2p_conn *c)
{
	if (!c->rd.in_frames)
		return on_init(c, c->rd.buf);
	uint8_t *pt;
	size_t n;
	enum p2p_result r = p2p_frame_open(&c->rx, c->rd.buf, c->rd.len, &pt, &n);
	if (r != P2P_OK)
		return r;
	c->last_rx_ms = uv_now(&c->p->loop);
	if (c->state == P2P_CONN_HANDSHAKE)
		return on_auth(c, pt, n);
	struct p2p_body b;
	r = p2p_frame_parse(&b, pt, n);
	return r == P2P_OK ? on_body(c, &b) : r;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct p2p_conn *c = h->data;
	*buf = uv_buf_init((char *)c->rbuf, (unsigned)P2P_RBUF_LEN);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct p2p_conn *c = s->data;
	if (c->state == P2P_CONN_CLOSING || nread == 0)
		return;
	if (nread < 0) {
		p2p_conn_close(c, nread == UV_EOF ? P2P_ERR_CLOSED : P2P_ERR_IO);
		return;
	}
	c->info.bytes_in += (uint64_t)nread;
	P2P_STAT_ADD(c->p, bytes_in, (uint64_t)nread);
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t left = (size_t)nread;
	while (left > 0 && c->state != P2P_CONN_CLOSING) {
		enum p2p_result r;
		size_t used = p2p_reader_push(&c->rd, p, left, &r);
		p += used;
		left -= used;
		if (r == P2P_OK && c->rd.ready) {
			r = on_unit(c);
			p2p_reader_next(&c->rd);
		}
		if (r != P2P_OK)
			p2p_conn_close(c, r);
	}
}

void p2p_conn_begin(struct p2p_conn *c)
{
	struct p2p *p = c->p;
	c->state = P2P_CONN_HANDSHAKE;
	c->last_rx_ms = uv_now(&p->loop);
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char ip[INET6_ADDRSTRLEN] = "?";
		uint16_t port;
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a6, ip, sizeof(ip));
			port = ntohs(a6->sin6_port);
			snprintf(c->info.addr, sizeof(c->info.addr), "[%s]:%u", ip, port);
		} else {
			struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
			uv_ip4_name(a4, ip, sizeof(ip));
			port = ntohs(a4->sin_port);
			snprintf(c->info.addr, sizeof(c->info.addr), "%s:%u", ip, port);
		}
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uint8_t init[P2P_INIT_LEN];
	p2p_handshake_init_msg(&c->hs, init);
	enum p2p_result r = send_raw(c, init, sizeof(init));
	if (r == P2P_OK && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		r = P2P_ERR_IO;
	if (r != P2P_OK)
		p2p_conn_close(c, r);
}

struct p2p_conn *p2p_conn_new(struct p2p *p, bool outbound)
{
	struct p2p_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rbuf = malloc(P2P_RBUF_LEN);
	c->q = calloc(p->cfg.queue_max_msgs, sizeof(*c->q));
	if (!c->rbuf || !c->q) {
		free(c->rbuf);
		free(c->q);
		free(c);
		return NULL;
	}
	c->p = p;
	c->info.outbound = outbound;
	c->state = P2P_CONN_CONNECTING;
	snprintf(c->info.addr, sizeof(c->info.addr), "?");
	p2p_handshake_init(&c->hs, p->cfg.chain_id);
	p2p_reader_init(&c->rd, P2P_AUTH_PT_MAX);
	p2p_assembly_init(&c->as, p->cfg.msg_max);
	uv_tcp_init(&p->loop, &c->tcp);
	uv_timer_init(&p->loop, &c->timer);
	c->tcp.data = c->timer.data = c->connect.data = c->wreq.data = c;
	c->handles = 2;
	uv_timer_start(&c->timer, on_keepalive, p->cfg.handshake_timeout_ms, 0);
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	if (outbound)
		p->n_outbound++;
	else
		p->n_inbound++;
	return c;
}

struct p2p_conn *p2p_conn_find(struct p2p *p, uint64_t id)
{
	for (struct p2p_conn *c = p->conns; c; c = c->next)
		if (c->info.id == id && c->state == P2P_CONN_ESTABLISHED)
			return c;
	return NULL;
}
