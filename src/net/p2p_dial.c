/*
 * The listener, persistent peers and their redial back-off (p2p_int.h). Loop thread only, except
 * p2p_parse_peer, p2p_entries_init and p2p_listen_start, which run before the loop thread starts.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/hex.h"
#include "base/log.h"
#include "net/p2p_int.h"

/* --- Addresses ---------------------------------------------------------------------------------
 */

static bool parse_port(const char *s, uint16_t *port, bool allow_port0)
{
	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || errno || v > 65535 || (v == 0 && !allow_port0))
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Splits "host:port" or "[v6]:port". */
static bool parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port,
                           bool allow_port0)
{
	const char *colon, *h = s;
	size_t hn;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return false; /* a bare IPv6 address needs brackets */
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= host_cap)
		return false;
	memcpy(host, h, hn);
	host[hn] = '\0';
	return parse_port(colon + 1, port, allow_port0);
}

enum p2p_result p2p_parse_peer(const char *s, uint8_t key[SIG_PK_LEN], bool *has_key, char *host,
                               size_t host_cap, uint16_t *port, bool allow_port0)
{
	const char *at = strchr(s, '@');
	*has_key = at != NULL;
	if (at) {
		char hex[2 * SIG_PK_LEN + 1];
		if ((size_t)(at - s) != 2 * SIG_PK_LEN)
			return P2P_ERR_ADDR;
		memcpy(hex, s, 2 * SIG_PK_LEN);
		hex[2 * SIG_PK_LEN] = '\0';
		if (!hex_decode_exact(key, SIG_PK_LEN, hex))
			return P2P_ERR_ADDR;
		s = at + 1;
	}
	return parse_hostport(s, host, host_cap, port, allow_port0) ? P2P_OK : P2P_ERR_ADDR;
}

enum p2p_result p2p_entries_init(struct p2p *p, const char *const *peers, size_t n)
{
	if (n == 0)
		return P2P_OK;
	p->entries = calloc(n, sizeof(*p->entries));
	if (!p->entries)
		return P2P_ERR_NOMEM;
	p->n_entries = n;
	for (size_t i = 0; i < p->n_entries; i++) {
		struct p2p_entry *e = &p->entries[i];
		e->p = p;
		if (p2p_parse_peer(peers[i], e->key, &e->has_key, e->host, sizeof(e->host),
		                   &e->port, false) != P2P_OK) {
			log_error("p2p",
			          "bad peer \"%s\": expected PUBKEYHEX@host:port or host:port",
			          peers[i]);
			return P2P_ERR_ADDR;
		}
	}
	return P2P_OK;
}

/* --- Listener ----------------------------------------------------------------------------------
 */

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void on_inbound(uv_stream_t *server, int status)
{
	struct p2p *p = server->data;
	if (status < 0)
		return;
	struct p2p_conn *c = p2p_conn_new(p, false);
	if (!c) {
		uv_tcp_t *drop = malloc(sizeof(*drop));
		if (drop && uv_tcp_init(&p->loop, drop) == 0 &&
		    uv_accept(server, (uv_stream_t *)drop) == 0)
			uv_close((uv_handle_t *)drop, free_handle);
		else
			free(drop);
		return;
	}
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		p2p_conn_close(c, P2P_ERR_IO);
		return;
	}
	if (p->n_inbound > p->cfg.max_inbound) {
		P2P_STAT_ADD(p, inbound_refused, 1);
		p2p_conn_close(c, P2P_ERR_TOO_MANY_PEERS);
		return;
	}
	P2P_STAT_ADD(p, accepted, 1);
	p2p_conn_begin(c);
}

/* Resolves host:port synchronously (before the loop runs) into ss. */
static enum p2p_result resolve_now(struct p2p *p, const char *host, uint16_t port,
                                   struct sockaddr_storage *ss)
{
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	uv_getaddrinfo_t req;
	if (uv_getaddrinfo(&p->loop, &req, NULL, host, service, &hints) < 0)
		return P2P_ERR_ADDR;
	memcpy(ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return P2P_OK;
}

enum p2p_result p2p_listen_start(struct p2p *p)
{
	if (!p->listen)
		return P2P_OK;
	char host[256];
	uint16_t port;
	struct sockaddr_storage ss;
	if (!parse_hostport(p->listen, host, sizeof(host), &port, true))
		return P2P_ERR_ADDR;
	enum p2p_result r = resolve_now(p, host, port, &ss);
	if (r != P2P_OK)
		return r;
	uv_tcp_init(&p->loop, &p->listener);
	p->listener.data = p;
	p->listening = true;
	if (uv_tcp_bind(&p->listener, (struct sockaddr *)&ss, 0) < 0 ||
	    uv_listen((uv_stream_t *)&p->listener, 128, on_inbound) < 0) {
		log_error("p2p", "cannot listen on %s", p->listen);
		return P2P_ERR_IO;
	}
	int len = sizeof(ss);
	uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len);
	p->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                         : ((struct sockaddr_in *)&ss)->sin_port);
	if (!p->cfg.advertise && port == 0) { /* advertise the port we got, not 0 */
		char adv[P2P_LISTEN_MAX + 1];
		bool v6 = strchr(host, ':') != NULL;
		snprintf(adv, sizeof(adv), v6 ? "[%s]:%u" : "%s:%u", host, p->port);
		free(p->advertise);
		p->advertise = strdup(adv);
		if (!p->advertise)
			return P2P_ERR_NOMEM;
	}
	log_info("p2p", "listening on %s (port %u)", p->listen, p->port);
	return P2P_OK;
}

/* --- Dialling ----------------------------------------------------------------------------------
 */

static bool entry_connected(const struct p2p *p, const struct p2p_entry *e)
{
	if (!e->has_key)
		return false;
	for (const struct p2p_conn *c = p->conns; c; c = c->next)
		if (c->state == P2P_CONN_ESTABLISHED &&
		    memcmp(c->info.key, e->key, SIG_PK_LEN) == 0)
			return true;
	return false;
}

/* The delay before the next dial: uniform in [d/2, d], d = min(max, min * 2^failures). */
static uint64_t backoff_ms(const struct p2p *p, unsigned failures)
{
	uint64_t d = p->cfg.backoff_min_ms;
	for (unsigned i = 0; i < failures && d < p->cfg.backoff_max_ms; i++)
		d *= 2;
	if (d > p->cfg.backoff_max_ms)
		d = p->cfg.backoff_max_ms;
	return d / 2 + randombytes_uniform((uint32_t)(d / 2 + 1));
}

static void on_dial_timer(uv_timer_t *t);

static void schedule(struct p2p_entry *e, uint64_t delay_ms)
{
	struct p2p *p = e->p;
	if (e->self || e->dial || e->resolving || p->closing ||
	    uv_is_active((uv_handle_t *)&e->timer))
		return;
	uv_timer_start(&e->timer, on_dial_timer, delay_ms, 0);
}

static void dial_failed(struct p2p_entry *e)
{
	e->failures++;
	P2P_STAT_ADD(e->p, dial_failures, 1);
	schedule(e, backoff_ms(e->p, e->failures));
}

static void on_connected(uv_connect_t *req, int status)
{
	struct p2p_conn *c = req->data;
	if (p2p_conn_io_ok(c, status))
		p2p_conn_begin(c);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct p2p_entry *e = req->data;
	struct p2p *p = e->p;
	e->resolving = false;
	if (status < 0 || p->closing) {
		if (status < 0 && !p->closing) {
			log_warn("p2p", "cannot resolve %s", e->host);
			dial_failed(e);
		}
		uv_freeaddrinfo(res);
		return;
	}
	struct p2p_conn *c = p2p_conn_new(p, true);
	if (!c) {
		uv_freeaddrinfo(res);
		dial_failed(e);
		return;
	}
	c->entry = e;
	e->dial = c;
	snprintf(c->info.addr, sizeof(c->info.addr), "%.40s:%u", e->host, e->port);
	int err = uv_tcp_connect(&c->connect, &c->tcp, res->ai_addr, on_connected);
	uv_freeaddrinfo(res);
	if (err < 0)
		p2p_conn_close(c, P2P_ERR_IO);
}

static void on_dial_timer(uv_timer_t *t)
{
	struct p2p_entry *e = t->data;
	struct p2p *p = e->p;
	if (entry_connected(p, e) || p->closing)
		return;
	if (p->n_outbound >= p->cfg.max_outbound) {
		schedule(e, backoff_ms(p, e->failures));
		return;
	}
	P2P_STAT_ADD(p, dials, 1);
	char service[8];
	snprintf(service, sizeof(service), "%u", e->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	e->gai.data = e;
	e->resolving = true;
	if (uv_getaddrinfo(&p->loop, &e->gai, on_resolved, e->host, service, &hints) < 0) {
		e->resolving = false;
		dial_failed(e);
	}
}

void p2p_dial_all(struct p2p *p)
{
	for (size_t i = 0; i < p->n_entries; i++) {
		struct p2p_entry *e = &p->entries[i];
		uv_timer_init(&p->loop, &e->timer);
		e->timer.data = e;
		schedule(e, 0);
	}
}

enum p2p_result p2p_dial_established(struct p2p *p, struct p2p_conn *c)
{
	struct p2p_entry *e = c->entry;
	if (memcmp(c->info.key, p->node_pk, SIG_PK_LEN) == 0) {
		if (e) {
			log_warn("p2p", "peer %s:%u is this node: not dialling it again", e->host,
			         e->port);
			e->self = true;
		}
		return P2P_ERR_SELF;
	}
	if (e && e->has_key && memcmp(e->key, c->info.key, SIG_PK_LEN) != 0) {
		log_warn("p2p", "peer %s:%u presented another node key than configured", e->host,
		         e->port);
		return P2P_ERR_WRONG_KEY;
	}
	if (e && !e->has_key) {
		memcpy(e->key, c->info.key, SIG_PK_LEN);
		e->has_key = true;
	}
	for (size_t i = 0; i < p->n_entries; i++) {
		struct p2p_entry *x = &p->entries[i];
		if (x->has_key && memcmp(x->key, c->info.key, SIG_PK_LEN) == 0) {
			x->failures = 0;
			c->info.persistent = true;
		}
	}
	return P2P_OK;
}

void p2p_dial_closed(struct p2p *p, struct p2p_conn *c, bool was_established)
{
	if (p->closing)
		return;
	for (size_t i = 0; i < p->n_entries; i++) {
		struct p2p_entry *e = &p->entries[i];
		bool mine = e->dial == c;
		if (mine)
			e->dial = NULL;
		if (mine && !was_established) {
			if (!entry_connected(p, e)) /* not lost to a duplicate inbound session */
				dial_failed(e);
			continue;
		}
		bool served = mine || (was_established && e->has_key &&
		                       memcmp(e->key, c->info.key, SIG_PK_LEN) == 0);
		if (served && !entry_connected(p, e))
			schedule(e, backoff_ms(p, e->failures));
	}
}

void p2p_dial_shutdown(struct p2p *p)
{
	if (p->listening)
		uv_close((uv_handle_t *)&p->listener, NULL);
	for (size_t i = 0; i < p->n_entries; i++) {
		struct p2p_entry *e = &p->entries[i];
		uv_close((uv_handle_t *)&e->timer, NULL);
		if (e->resolving)
			uv_cancel((uv_req_t *)&e->gai);
	}
}
