/*
 * The p2p runtime's lifecycle, its API and the command queue that carries calls from other
 * threads to the loop thread (p2p.h, p2p_int.h).
 */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/p2p_int.h"

/* The struct p2p whose loop runs on this thread, if any. */
static __thread const struct p2p *loop_owner;

bool p2p_on_loop(const struct p2p *p)
{
	return loop_owner == p;
}

void p2p_config_default(struct p2p_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_inbound = 40;
	cfg->max_outbound = 10;
	cfg->frame_max = (size_t)1 << 20;
	cfg->msg_max = (size_t)4 << 20;
	cfg->queue_max_msgs = 4096;
	cfg->queue_max_bytes = (size_t)16 << 20;
	cfg->cmd_max_bytes = (size_t)64 << 20;
	cfg->handshake_timeout_ms = 10000;
	cfg->ping_interval_ms = 10000;
	cfg->idle_timeout_ms = 40000;
	cfg->backoff_min_ms = 200;
	cfg->backoff_max_ms = 30000;
}

/* --- Messages and commands ---------------------------------------------------------------------
 */

static struct p2p_msg *msg_new(uint8_t channel, const uint8_t *data, size_t len)
{
	struct p2p_msg *m = malloc(sizeof(*m) + len);
	if (!m)
		return NULL;
	m->refs = 1;
	m->channel = channel;
	m->len = len;
	if (len)
		memcpy(m->data, data, len);
	return m;
}

void p2p_msg_unref(struct p2p_msg *m)
{
	assert(m->refs > 0);
	if (--m->refs == 0)
		free(m);
}

static enum p2p_result send_now(struct p2p *p, uint64_t peer, struct p2p_msg *m)
{
	struct p2p_conn *c = p2p_conn_find(p, peer);
	if (!c) {
		P2P_STAT_ADD(p, dropped, 1);
		return P2P_ERR_NO_PEER;
	}
	return p2p_conn_enqueue(c, m);
}

static enum p2p_result broadcast_now(struct p2p *p, struct p2p_msg *m, uint64_t except)
{
	for (struct p2p_conn *c = p->conns, *next; c; c = next) {
		next = c->next; /* enqueue can close c (a write error) and unlink it */
		if (c->state == P2P_CONN_ESTABLISHED && c->info.id != except)
			(void)p2p_conn_enqueue(c, m);
	}
	return P2P_OK;
}

static size_t peers_now(struct p2p *p, struct p2p_peer_info *out, size_t max)
{
	size_t n = 0;
	for (struct p2p_conn *c = p->conns; c; c = c->next) {
		if (c->state != P2P_CONN_ESTABLISHED)
			continue;
		if (n < max) {
			out[n] = c->info;
			out[n].queued_msgs = c->q_len;
			out[n].queued_bytes = c->q_bytes;
		}
		n++;
	}
	return n;
}

static void run_cmd(struct p2p *p, struct p2p_cmd *cmd)
{
	switch (cmd->type) {
	case P2P_CMD_SEND:
		(void)send_now(p, cmd->peer, cmd->msg);
		break;
	case P2P_CMD_BROADCAST:
		(void)broadcast_now(p, cmd->msg, cmd->peer);
		break;
	case P2P_CMD_KICK: {
		struct p2p_conn *c = p2p_conn_find(p, cmd->peer);
		if (c)
			p2p_conn_close(c, P2P_ERR_KICKED);
		break;
	}
	case P2P_CMD_PEERS:
		cmd->req->total = peers_now(p, cmd->req->out, cmd->req->max);
		break;
	}
}

/* Runs (or, when stopping, just completes) every queued command. */
static void drain(struct p2p *p, struct p2p_cmd *list, bool run)
{
	while (list) {
		struct p2p_cmd *cmd = list;
		list = cmd->next;
		if (run)
			run_cmd(p, cmd);
		if (cmd->msg) {
			pthread_mutex_lock(&p->mu);
			p->cmd_bytes -= cmd->msg->len;
			pthread_mutex_unlock(&p->mu);
			p2p_msg_unref(cmd->msg);
		}
		if (cmd->req) {
			pthread_mutex_lock(&p->mu);
			cmd->req->done = true;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
		free(cmd);
	}
}

static void shutdown_loop(struct p2p *p)
{
	p->closing = true;
	while (p->conns)
		p2p_conn_close(p->conns, P2P_ERR_SHUTDOWN);
	p2p_dial_shutdown(p);
	uv_close((uv_handle_t *)&p->async, NULL);
}

static void on_async(uv_async_t *a)
{
	struct p2p *p = a->data;
	pthread_mutex_lock(&p->mu);
	struct p2p_cmd *list = p->cmd_head;
	p->cmd_head = p->cmd_tail = NULL;
	bool stop = p->stopping;
	pthread_mutex_unlock(&p->mu);
	drain(p, list, true);
	if (stop && !p->closing)
		shutdown_loop(p);
}

/* Appends cmd for the loop. Errors: P2P_ERR_STOPPED, P2P_ERR_BUSY (cmd is then freed by the
 * caller). */
static enum p2p_result push_cmd(struct p2p *p, struct p2p_cmd *cmd)
{
	size_t bytes = cmd->msg ? cmd->msg->len : 0;
	enum p2p_result r = P2P_OK;
	pthread_mutex_lock(&p->mu);
	if (!p->running || p->stopping)
		r = P2P_ERR_STOPPED;
	else if (bytes > p->cfg.cmd_max_bytes - p->cmd_bytes)
		r = P2P_ERR_BUSY;
	if (r == P2P_OK) {
		p->cmd_bytes += bytes;
		if (p->cmd_tail)
			p->cmd_tail->next = cmd;
		else
			p->cmd_head = cmd;
		p->cmd_tail = cmd;
	}
	pthread_mutex_unlock(&p->mu);
	if (r == P2P_OK)
		uv_async_send(&p->async);
	return r;
}

/* Hands a message command to the loop; consumes m either way. */
static enum p2p_result post(struct p2p *p, enum p2p_cmd_type type, uint64_t peer, struct p2p_msg *m)
{
	struct p2p_cmd *cmd = calloc(1, sizeof(*cmd));
	if (!cmd) {
		if (m)
			p2p_msg_unref(m);
		return P2P_ERR_NOMEM;
	}
	cmd->type = type;
	cmd->peer = peer;
	cmd->msg = m;
	enum p2p_result r = push_cmd(p, cmd);
	if (r != P2P_OK) {
		if (m)
			p2p_msg_unref(m);
		free(cmd);
	}
	if (r == P2P_ERR_BUSY)
		P2P_STAT_ADD(p, dropped, 1);
	return r;
}

/* --- API: messages -----------------------------------------------------------------------------
 */

/* p2p_send (P2P_CMD_SEND to peer) and p2p_broadcast (P2P_CMD_BROADCAST to all but peer): run at
 * once on the loop thread, posted to the loop from any other. */
static enum p2p_result submit_msg(struct p2p *p, enum p2p_cmd_type type, uint64_t peer,
                                  uint8_t channel, const uint8_t *msg, size_t len)
{
	assert(p && (msg || len == 0));
	if (len > p->cfg.msg_max)
		return P2P_ERR_MSG_TOO_LARGE;
	struct p2p_msg *m = msg_new(channel, msg, len);
	if (!m)
		return P2P_ERR_NOMEM;
	if (!p2p_on_loop(p))
		return post(p, type, peer, m);
	enum p2p_result r = P2P_ERR_STOPPED;
	if (!p->closing)
		r = type == P2P_CMD_SEND ? send_now(p, peer, m) : broadcast_now(p, m, peer);
	p2p_msg_unref(m);
	return r;
}

enum p2p_result p2p_send(struct p2p *p, uint64_t peer_id, uint8_t channel, const uint8_t *msg,
                         size_t len)
{
	return submit_msg(p, P2P_CMD_SEND, peer_id, channel, msg, len);
}

enum p2p_result p2p_broadcast(struct p2p *p, uint8_t channel, const uint8_t *msg, size_t len,
                              uint64_t except_peer)
{
	return submit_msg(p, P2P_CMD_BROADCAST, except_peer, channel, msg, len);
}

enum p2p_result p2p_disconnect(struct p2p *p, uint64_t peer_id)
{
	assert(p);
	if (!p2p_on_loop(p))
		return post(p, P2P_CMD_KICK, peer_id, NULL);
	struct p2p_conn *c = p2p_conn_find(p, peer_id);
	if (c)
		p2p_conn_close(c, P2P_ERR_KICKED);
	return P2P_OK;
}

enum p2p_result p2p_set_app(struct p2p *p, const uint8_t *app, size_t app_len)
{
	assert(p && (app || app_len == 0));
	if (app_len > P2P_APP_MAX)
		return P2P_ERR_MALFORMED;
	pthread_mutex_lock(&p->mu);
	if (app_len)
		memcpy(p->app, app, app_len);
	p->app_len = app_len;
	pthread_mutex_unlock(&p->mu);
	return P2P_OK;
}

size_t p2p_peers(struct p2p *p, struct p2p_peer_info *out, size_t max)
{
	assert(p && (out || max == 0));
	if (p2p_on_loop(p))
		return peers_now(p, out, max);
	struct p2p_peers_req req = {.out = out, .max = max};
	struct p2p_cmd *cmd = calloc(1, sizeof(*cmd));
	if (!cmd)
		return 0;
	cmd->type = P2P_CMD_PEERS;
	cmd->req = &req;
	if (push_cmd(p, cmd) != P2P_OK) {
		free(cmd);
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	while (!req.done)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return req.total;
}

void p2p_stats(struct p2p *p, struct p2p_stats *out)
{
	/* All fields are uint64_t counters. */
	const uint64_t *src = (const uint64_t *)&p->stats;
	uint64_t *dst = (uint64_t *)out;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

uint16_t p2p_listen_port(const struct p2p *p)
{
	return p->port;
}

const uint8_t *p2p_node_key(const struct p2p *p)
{
	return p->node_pk;
}

/* --- Lifecycle ---------------------------------------------------------------------------------
 */

static enum p2p_result check_config(const struct p2p_config *cfg)
{
	bool ok = cfg->frame_max >= P2P_FRAME_MIN_CAP && cfg->frame_max <= P2P_FRAME_MAX_CAP &&
	          cfg->msg_max <= ((size_t)1 << 30) && cfg->queue_max_msgs >= 1 &&
	          cfg->queue_max_bytes >= cfg->msg_max && cfg->cmd_max_bytes >= cfg->msg_max &&
	          cfg->app_len <= P2P_APP_MAX && cfg->handshake_timeout_ms > 0 &&
	          cfg->ping_interval_ms > 0 && cfg->idle_timeout_ms > 0 &&
	          cfg->backoff_min_ms >= 1 && cfg->backoff_max_ms >= cfg->backoff_min_ms &&
	          cfg->backoff_max_ms <= 3600 * 1000 && (cfg->n_peers == 0 || cfg->peers);
	const char *adv = cfg->advertise ? cfg->advertise : cfg->listen;
	if (adv && strlen(adv) > P2P_LISTEN_MAX)
		ok = false;
	return ok ? P2P_OK : P2P_ERR_MALFORMED;
}

static enum p2p_result copy_config(struct p2p *p, const struct p2p_config *cfg)
{
	p->cfg = *cfg;
	sodium_memzero(p->cfg.node_sk, sizeof(p->cfg.node_sk));
	p->cfg.peers = NULL; /* parsed into entries */
	p->cfg.listen = p->cfg.advertise = NULL;
	p->cfg.app = NULL;
	p->node_sk = sodium_malloc(SIG_SK_LEN);
	if (!p->node_sk)
		return P2P_ERR_NOMEM;
	memcpy(p->node_sk, cfg->node_sk, SIG_SK_LEN);
	sodium_mprotect_readonly(p->node_sk);
	memcpy(p->node_pk, cfg->node_sk + SIG_SEED_LEN, SIG_PK_LEN);
	const char *adv = cfg->advertise ? cfg->advertise : cfg->listen;
	p->listen = cfg->listen ? strdup(cfg->listen) : NULL;
	p->advertise = adv ? strdup(adv) : NULL;
	if ((cfg->listen && !p->listen) || (adv && !p->advertise))
		return P2P_ERR_NOMEM;
	p->cfg.listen = p->listen;
	p->cfg.advertise = cfg->advertise ? p->advertise : NULL; /* NULL: derived from listen */
	if (cfg->app_len)
		memcpy(p->app, cfg->app, cfg->app_len);
	p->app_len = cfg->app_len;
	return p2p_entries_init(p, cfg->peers, cfg->n_peers);
}

enum p2p_result p2p_new(const struct p2p_config *cfg, struct p2p **out)
{
	assert(cfg && cfg->on_msg && out);
	*out = NULL;
	enum p2p_result r = check_config(cfg);
	if (r != P2P_OK)
		return r;
	if (sodium_init() < 0) /* idempotent; guarded memory needs it */
		return P2P_ERR_NOMEM;
	struct p2p *p = calloc(1, sizeof(*p));
	if (!p)
		return P2P_ERR_NOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	uv_loop_init(&p->loop);
	r = copy_config(p, cfg);
	if (r != P2P_OK) {
		p2p_free(p);
		return r;
	}
	*out = p;
	return P2P_OK;
}

static void *loop_main(void *arg)
{
	struct p2p *p = arg;
	loop_owner = p;
	uv_run(&p->loop, UV_RUN_DEFAULT);
	loop_owner = NULL;
	return NULL;
}

enum p2p_result p2p_start(struct p2p *p)
{
	assert(p && !p->started);
	p->started = true;
	enum p2p_result r = p2p_listen_start(p);
	if (r != P2P_OK)
		return r;
	uv_async_init(&p->loop, &p->async, on_async);
	p->async.data = p;
	p2p_dial_all(p);
	pthread_mutex_lock(&p->mu);
	p->running = true;
	pthread_mutex_unlock(&p->mu);
	if (pthread_create(&p->thread, NULL, loop_main, p) != 0) {
		pthread_mutex_lock(&p->mu);
		p->running = false;
		pthread_mutex_unlock(&p->mu);
		shutdown_loop(p);
		return P2P_ERR_NOMEM;
	}
	return P2P_OK;
}

void p2p_stop(struct p2p *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_mutex_unlock(&p->mu);
	uv_async_send(&p->async);
	pthread_join(p->thread, NULL);
	pthread_mutex_lock(&p->mu);
	p->running = false;
	struct p2p_cmd *left = p->cmd_head;
	p->cmd_head = p->cmd_tail = NULL;
	pthread_mutex_unlock(&p->mu);
	assert(!left); /* nothing is queued once stopping is set */
}

void p2p_free(struct p2p *p)
{
	if (!p)
		return;
	p2p_stop(p);
	if (p->started && !p->closing) { /* p2p_start failed: close what it opened */
		if (p->listening)
			uv_close((uv_handle_t *)&p->listener, NULL);
	}
	uv_run(&p->loop, UV_RUN_DEFAULT);
	int e = uv_loop_close(&p->loop);
	assert(e == 0);
	(void)e;
	sodium_free(p->node_sk);
	free(p->listen);
	free(p->advertise);
	free(p->entries);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	sodium_memzero(p->app, sizeof(p->app));
	free(p);
}
