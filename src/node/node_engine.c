/* The engine's resources and threads: the machine, the WAL and the signer guard in
 * DATA/consensus, the queues from the network, and the engine and gossip threads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/node_int.h"

static enum node_result open_wal_and_signer(struct node *n, const char *dir, char *err,
                                            size_t errlen)
{
	struct wal_config wc;
	wal_config_default(&wc);
	enum wal_result wr = wal_open(&n->eng->wal, dir, &wc);
	if (wr != WAL_OK)
		return node_fail(err, errlen, NODE_STORE, "cannot open the consensus WAL in %s: %s",
		                 dir, wal_strerror(wr));
	if (!n->has_validator_key)
		return NODE_OK;
	enum signer_result sr = signer_open(&n->eng->signer, dir, n->validator_sk, NULL);
	if (sr != SIGNER_OK)
		return node_fail(err, errlen, NODE_KEY, "cannot open the signer state in %s: %s",
		                 dir, signer_strerror(sr));
	return NODE_OK;
}

enum node_result node_engine_open(struct node *n, char *err, size_t errlen)
{
	char dir[4200];
	struct cons_timeouts t = n->cfg.timeouts;
	snprintf(dir, sizeof(dir), "%s/consensus", n->data_dir);
	n->eng = calloc(1, sizeof(*n->eng));
	if (!n->eng || !(n->eng->cons = cons_new(&t)) ||
	    !node_ring_init(&n->eng->own, NODE_OWN_MSGS) ||
	    !node_ring_init(&n->eng->relayed_proposals, NODE_RELAY_PROPOSALS) ||
	    !node_ring_init(&n->eng->relayed_votes, NODE_RELAY_VOTES))
		return node_fail(err, errlen, NODE_NOMEM, "cannot allocate the consensus engine");
	if (!node_inbox_init(&n->inbox, NODE_INBOX_MAX_BYTES) ||
	    !node_inbox_init(&n->txbox, NODE_TXBOX_MAX_BYTES) ||
	    !p2p_seen_init(&n->tx_seen, 1 << 18) || pthread_mutex_init(&n->gossip_lock, NULL))
		return node_fail(err, errlen, NODE_NOMEM, "cannot allocate the network queues");
	enc_init(&n->gossip_out, NODE_TX_BATCH_BYTES * 4 + 64);
	n->eng->queues_ready = true;
	size_t idx;
	if (n->has_validator_key && !valset_find(&n->chain.head.next, n->validator_pk, &idx))
		log_warn("node", "the validator key is not in the validator set: this node follows "
		                 "the chain until a set change adds it");
	return open_wal_and_signer(n, dir, err, errlen);
}

void node_engine_close(struct node *n)
{
	struct node_engine *e = n->eng;
	if (!e)
		return;
	node_chain_discard(&e->pending);
	for (size_t i = 0; i < NODE_BLOCK_CACHE; i++)
		free(e->blocks[i].bytes);
	for (size_t i = 0; i < e->n_future; i++)
		free(e->future[i]);
	node_ring_release(&e->own);
	node_ring_release(&e->relayed_proposals);
	node_ring_release(&e->relayed_votes);
	signer_free(e->signer);
	wal_free(e->wal);
	cons_free(e->cons);
	if (e->queues_ready) {
		node_inbox_release(&n->inbox);
		node_inbox_release(&n->txbox);
		p2p_seen_release(&n->tx_seen);
		enc_release(&n->gossip_out);
		pthread_mutex_destroy(&n->gossip_lock);
	}
	free(e);
	n->eng = NULL;
}

enum node_result node_threads_start(struct node *n, char *err, size_t errlen)
{
	if (pthread_create(&n->engine_thread, NULL, node_engine_main, n) != 0)
		return node_fail(err, errlen, NODE_NOMEM, "cannot start the consensus thread");
	n->engine_running = true;
	pthread_setname_np(n->engine_thread, "tn-consensus");
	if (pthread_create(&n->tx_thread, NULL, node_tx_main, n) != 0)
		return node_fail(err, errlen, NODE_NOMEM, "cannot start the gossip thread");
	n->tx_running = true;
	pthread_setname_np(n->tx_thread, "tn-gossip");
	return NODE_OK;
}

void node_threads_stop(struct node *n)
{
	if (!n->eng || !n->eng->queues_ready)
		return;
	node_inbox_close(&n->inbox);
	node_inbox_close(&n->txbox);
	if (n->engine_running)
		pthread_join(n->engine_thread, NULL);
	if (n->tx_running)
		pthread_join(n->tx_thread, NULL);
	n->engine_running = n->tx_running = false;
}
