/* Peers' heights and block sync: a node that is behind (a peer reports a higher committed
 * height) fetches blocks with their commits by height, checks each like any block on top of its
 * head (node_chain_execute: the last commit against the previous set, the header, every
 * signature, the state root) and commits it only if the commit verifies against the set its
 * own state names (node_chain_commit). Full nodes that are not validators work the same way. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/node_int.h"

static struct node_peer_status *peer_find(struct node_engine *e, uint64_t peer, bool create)
{
	struct node_peer_status *free_slot = NULL;
	for (size_t i = 0; i < NODE_PEERS_MAX; i++) {
		if (e->peers[i].peer == peer)
			return &e->peers[i];
		if (!e->peers[i].peer && !free_slot)
			free_slot = &e->peers[i];
	}
	if (!create || !free_slot)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->peer = peer;
	return free_slot;
}

/* Copies the peers' heights for net_info. */
static void publish_peers(struct node *n)
{
	pthread_mutex_lock(&n->status_lock);
	memcpy(n->peer_heights, n->eng->peers, sizeof(n->peer_heights));
	pthread_mutex_unlock(&n->status_lock);
}

void node_peer_connected(struct node *n, const struct node_event *ev)
{
	struct node_peer_status *p = peer_find(n->eng, ev->peer, true);
	if (!p || ev->len < 32)
		return;
	memcpy(p->key, ev->data, 32);
	uint64_t h;
	if (node_msg_hello_decode(ev->data + 32, ev->len - 32, &h))
		p->height = h;
	publish_peers(n);
}

void node_peer_gone(struct node *n, uint64_t peer)
{
	struct node_peer_status *p = peer_find(n->eng, peer, false);
	if (p)
		memset(p, 0, sizeof(*p));
	if (n->eng->sync_peer == peer)
		n->eng->sync_peer = 0;
	publish_peers(n);
}

/* The hello blob and STATUS body: our committed height. */
void node_status_broadcast(struct node *n)
{
	uint8_t buf[9];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	node_msg_encode(&e, &(struct node_msg){.channel = NODE_CH_SYNC,
	                                       .type = NODE_MSG_STATUS,
	                                       .height = n->chain.head.height});
	if (enc_finish(&e) != CODEC_OK || !n->p2p)
		return;
	node_broadcast(n, NODE_CH_SYNC, buf, e.len);
	p2p_set_app(n->p2p, buf + 1, 8);
}

/* Asks the most advanced peer for the blocks after our head, when it is two or more ahead, or
 * one ahead for longer than NODE_SYNC_GRACE_MS (consensus would normally get us there first). */
void node_sync_check(struct node *n)
{
	struct node_engine *e = n->eng;
	uint64_t now = node_mono_us(), head = n->chain.head.height;
	struct node_peer_status *best = NULL;
	if (e->sync_peer && now < e->sync_due_us)
		return;
	e->sync_peer = 0;
	for (size_t i = 0; i < NODE_PEERS_MAX; i++) {
		struct node_peer_status *p = &e->peers[i];
		if (!p->peer || p->height <= head) {
			p->behind_since_us = 0;
			continue;
		}
		if (!p->behind_since_us)
			p->behind_since_us = now;
		if (!best || p->height > best->height)
			best = p;
	}
	if (!best || (best->height < head + 2 &&
	              now - best->behind_since_us < (uint64_t)NODE_SYNC_GRACE_MS * 1000))
		return;
	uint64_t count =
	    best->height - head < NODE_SYNC_BATCH ? best->height - head : NODE_SYNC_BATCH;
	uint8_t buf[11];
	struct enc enc;
	enc_init_fixed(&enc, buf, sizeof(buf));
	node_msg_encode(&enc, &(struct node_msg){.channel = NODE_CH_SYNC,
	                                         .type = NODE_MSG_GET_BLOCKS,
	                                         .height = head + 1,
	                                         .count = (uint16_t)count});
	if (enc_finish(&enc) != CODEC_OK)
		return;
	e->sync_peer = best->peer;
	e->sync_to = head + count;
	e->sync_due_us = now + (uint64_t)NODE_SYNC_TIMEOUT_MS * 1000;
	log_info("sync", "behind: asking peer %llu for blocks %llu..%llu",
	         (unsigned long long)best->peer, (unsigned long long)head + 1,
	         (unsigned long long)e->sync_to);
	node_send(n, best->peer, NODE_CH_SYNC, buf, enc.len);
}

/* Sends one stored block: type ‖ height u64 ‖ uleb len ‖ block ‖ commit. */
static bool send_block(struct node *n, MDB_txn *txn, uint64_t peer, uint64_t height)
{
	MDB_val blk, com;
	struct enc e;
	if (bstore_get_block(n->chain.store, txn, height, &blk, &com) != BSTORE_OK)
		return false;
	struct node_msg m = {.channel = NODE_CH_SYNC, .type = NODE_MSG_BLOCK, .height = height};
	m.block = blk.mv_data;
	m.block_len = blk.mv_size;
	m.commit_bytes = com.mv_data;
	m.commit_len = com.mv_size;
	enc_init(&e, 32 + blk.mv_size + com.mv_size);
	node_msg_encode(&e, &m);
	bool ok = enc_finish(&e) == CODEC_OK;
	if (ok)
		node_send(n, peer, NODE_CH_SYNC, e.buf, e.len);
	enc_release(&e);
	return ok;
}

static void serve_blocks(struct node *n, uint64_t peer, const struct node_msg *m)
{
	MDB_txn *txn;
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return;
	for (uint64_t h = m->height; h < m->height + m->count && h <= n->chain.head.height; h++)
		if (!send_block(n, txn, peer, h))
			break;
	bstore_abort(txn);
}

/* Applies a block a peer sent, if it is the next one; then starts the height after it. */
static void apply_block(struct node *n, uint64_t peer, const struct node_msg *m)
{
	struct node_engine *e = n->eng;
	if (m->height != n->chain.head.height + 1)
		return;
	node_chain_discard(&e->pending);
	struct node_chain_expect exp = {NULL, 0};
	enum node_chain_result r =
	    node_chain_execute(&n->chain, m->block, m->block_len, &exp, &e->pending);
	if (r == NODE_CHAIN_OK)
		r = node_commit_pending(n, &e->pending, &m->commit);
	if (r != NODE_CHAIN_OK) {
		node_chain_discard(&e->pending);
		if (r == NODE_CHAIN_STORE || r == NODE_CHAIN_NOMEM)
			return node_engine_fail(n, node_chain_strerror(r));
		log_warn("sync", "peer %llu sent a bad block %llu: %s", (unsigned long long)peer,
		         (unsigned long long)m->height, node_chain_strerror(r));
		e->sync_peer = 0;
		return;
	}
	log_info("sync", "applied block %llu from peer %llu", (unsigned long long)m->height,
	         (unsigned long long)peer);
	node_height_done(n);
	node_start_height(n);
	if (n->chain.head.height >= e->sync_to)
		e->sync_peer = 0; /* the batch is in: ask for more at once if still behind */
	node_sync_check(n);
}

void node_on_sync_msg(struct node *n, const struct node_event *ev)
{
	struct node_msg m;
	struct node_peer_status *p;
	if (!node_msg_decode(&m, NODE_CH_SYNC, ev->data, ev->len))
		return;
	switch (m.type) {
	case NODE_MSG_STATUS:
		if ((p = peer_find(n->eng, ev->peer, true))) {
			p->height = m.height;
			publish_peers(n);
		}
		return;
	case NODE_MSG_GET_BLOCKS:
		return serve_blocks(n, ev->peer, &m);
	case NODE_MSG_BLOCK:
		return apply_block(n, ev->peer, &m);
	}
}

/* Housekeeping every NODE_TICK_MS: status, re-sends when stuck, sync. */
void node_tick(struct node *n)
{
	struct node_engine *e = n->eng;
	struct cons_status st;
	node_status_broadcast(n);
	if (e->height_started) {
		cons_status(e->cons, &st);
		if (st.height == e->tick_height && st.round == e->tick_round &&
		    st.step == e->tick_step)
			node_kept_resend(n, st.round);
		e->tick_height = st.height;
		e->tick_round = st.round;
		e->tick_step = st.step;
	}
	node_sync_check(n);
}
