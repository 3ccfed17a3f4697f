/* The node on the network: the p2p layer's callbacks, and transaction gossip (admitted txs go out
 * in batches; batches from peers are admitted in parallel and relayed once, by tx id). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "node/node_int.h"

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- p2p callbacks (the network thread: copy and hand off, never block) -------------------- */

static void on_msg(void *ctx, uint64_t peer, const uint8_t key[SIG_PK_LEN], uint8_t channel,
                   const uint8_t *msg, size_t len)
{
	struct node *n = ctx;
	(void)key;
	if (channel == NODE_CH_TX)
		node_inbox_push(&n->txbox, NODE_EV_MSG, peer, channel, msg, len, NULL, 0);
	else if (channel == NODE_CH_CONS || channel == NODE_CH_SYNC)
		node_inbox_push(&n->inbox, NODE_EV_MSG, peer, channel, msg, len, NULL, 0);
}

static void on_connect(void *ctx, const struct p2p_peer_info *peer, const uint8_t *app,
                       size_t app_len)
{
	struct node *n = ctx;
	log_info("net", "peer %llu connected (%s, %s)", (unsigned long long)peer->id, peer->addr,
	         peer->outbound ? "outbound" : "inbound");
	node_inbox_push(&n->inbox, NODE_EV_CONNECT, peer->id, 0, peer->key, SIG_PK_LEN, app,
	                app_len);
}

static void on_disconnect(void *ctx, const struct p2p_peer_info *peer, enum p2p_result why)
{
	struct node *n = ctx;
	log_info("net", "peer %llu disconnected (%s)", (unsigned long long)peer->id, peer->addr);
	(void)why;
	node_inbox_push(&n->inbox, NODE_EV_DISCONNECT, peer->id, 0, NULL, 0, NULL, 0);
}

/* Splits cfg->peers ("a,b,c") into an array of strings in n->peer_strs. */
static bool split_peers(struct node *n)
{
	const char *s = n->cfg.peers;
	size_t count = 0;
	if (!s || !*s)
		return true;
	n->peer_buf = strdup(s);
	if (!n->peer_buf)
		return false;
	for (char *tok = strtok(n->peer_buf, ","); tok && count < NODE_PEERS_MAX;
	     tok = strtok(NULL, ","))
		if (*tok)
			n->peer_strs[count++] = tok;
	n->n_peer_strs = count;
	return true;
}

enum node_result node_net_start(struct node *n, char *err, size_t errlen)
{
	struct p2p_config pc;
	if (!n->cfg.p2p_listen && !(n->cfg.peers && *n->cfg.peers))
		return NODE_OK; /* a lone node: no networking at all */
	if (!split_peers(n))
		return NODE_NOMEM;
	p2p_config_default(&pc);
	memcpy(pc.node_sk, n->node_sk, SIG_SK_LEN);
	memcpy(pc.chain_id, n->chain.params.chain_id, 32);
	pc.listen = n->cfg.p2p_listen;
	pc.peers = (const char *const *)n->peer_strs;
	pc.n_peers = n->n_peer_strs;
	pc.msg_max = BLOCK_MAX_BYTES + COMMIT_MAX_BYTES + 1024; /* a full block + proposal/commit */
	pc.queue_max_bytes = (size_t)64 << 20;
	pc.cmd_max_bytes = (size_t)128 << 20;
	pc.on_msg = on_msg;
	pc.on_connect = on_connect;
	pc.on_disconnect = on_disconnect;
	pc.ctx = n;
	enum p2p_result r = p2p_new(&pc, &n->p2p);
	sodium_memzero(pc.node_sk, sizeof(pc.node_sk));
	if (r == P2P_OK)
		r = p2p_start(n->p2p);
	if (r != P2P_OK) {
		snprintf(err, errlen, "cannot start the p2p network (--p2p %s): %s",
		         n->cfg.p2p_listen ? n->cfg.p2p_listen : "-", p2p_strerror(r));
		return NODE_BAD_CONFIG;
	}
	log_info("net", "p2p listening on port %u with %zu configured peers",
	         (unsigned)p2p_listen_port(n->p2p), n->n_peer_strs);
	return NODE_OK;
}

void node_broadcast(struct node *n, uint8_t channel, const uint8_t *msg, size_t len)
{
	if (n->p2p)
		p2p_broadcast(n->p2p, channel, msg, len, 0);
}

void node_send(struct node *n, uint64_t peer, uint8_t channel, const uint8_t *msg, size_t len)
{
	if (n->p2p)
		p2p_send(n->p2p, peer, channel, msg, len);
}

/* ---- transaction gossip ------------------------------------------------------------------ */

void node_gossip_tx(struct node *n, const uint8_t *b, size_t len)
{
	if (!n->p2p)
		return;
	pthread_mutex_lock(&n->gossip_lock);
	if (n->gossip_out.len + len + 8 <= NODE_TX_BATCH_BYTES * 4) { /* else dropped: peers will
		                                                         get it in a block */
		enc_uleb(&n->gossip_out, len);
		enc_raw(&n->gossip_out, b, len);
	}
	pthread_mutex_unlock(&n->gossip_lock);
}

static void flush_gossip(struct node *n)
{
	struct enc e;
	pthread_mutex_lock(&n->gossip_lock);
	e = n->gossip_out;
	enc_init(&n->gossip_out, NODE_TX_BATCH_BYTES * 4 + 64);
	pthread_mutex_unlock(&n->gossip_lock);
	if (e.len && enc_finish(&e) == CODEC_OK)
		node_broadcast(n, NODE_CH_TX, e.buf, e.len);
	enc_release(&e);
}

/* One peer batch being admitted. */
struct tx_batch {
	struct node *n;
	size_t count;
	const uint8_t *txs[NODE_MAX_BULK];
	size_t lens[NODE_MAX_BULK];
	bool verified[NODE_MAX_BULK];
};

/* The costly part, in parallel: decode, drop what was seen, verify the signature. */
static void verify_peer_tx(void *ctx, size_t i)
{
	struct tx_batch *b = ctx;
	struct tx tx;
	uint8_t txid[32];
	b->verified[i] = false;
	if (tx_decode(&tx, b->txs[i], b->lens[i]) != CODEC_OK)
		return;
	tx_id(txid, b->txs[i], tx.body_len);
	if (!p2p_seen_add(&b->n->tx_seen, txid))
		return; /* seen before: verified (or refused) already */
	b->verified[i] = tx_verify_sig(&tx, b->txs[i], b->lens[i]);
}

/* Then the pool, in the batch's order: a sender's nonces arrive in order and stay ready
 * (admitting them in parallel would park later nonces in the small future queue). */
static void admit_verified(struct tx_batch *b)
{
	uint8_t txid[32];
	struct rpc_error err;
	enum mempool_status where;
	for (size_t i = 0; i < b->count; i++) /* refusals (mostly txs already in a block) count */
		if (b->verified[i])
			node_admit_checked(b->n, b->txs[i], b->lens[i], true, txid, &where, &err);
}

/* Admits one batch from a peer (uleb len ‖ tx, repeated), NODE_MAX_BULK txs at a time. A
 * malformed batch is admitted up to the first bad length. */
static void admit_batch(struct node *n, const uint8_t *p, size_t len)
{
	struct tx_batch *b = malloc(sizeof(*b));
	struct dec d;
	if (!b)
		return;
	b->n = n;
	dec_init(&d, p, len);
	while (dec_remaining(&d) > 0 && !d.err) {
		b->count = node_msg_tx_batch(&d, b->txs, b->lens, NODE_MAX_BULK);
		node_par_for(n->par, b->count, verify_peer_tx, b);
		admit_verified(b);
	}
	free(b);
}

void *node_tx_main(void *arg)
{
	struct node *n = arg;
	while (!atomic_load(&n->stopping)) {
		struct node_event *ev =
		    node_inbox_take(&n->txbox, mono_us() + NODE_TX_FLUSH_MS * 1000);
		while (ev) {
			struct node_event *next = ev->next;
			admit_batch(n, ev->data, ev->len);
			free(ev);
			ev = next;
		}
		flush_gossip(n);
	}
	return NULL;
}
