/* What follows a commit, whoever decided it (consensus or block sync): the head snapshot for the
 * RPC threads, the pool, metrics, the head event and our status for peers. */
#include "node/node_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

uint64_t node_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t node_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* mempool_update callbacks: read the state just committed. */
struct post_block_ctx {
	struct node *n;
	struct node_reader_ctx rc;
	struct state_reader rd;
	uint64_t next_height;
};

static bool post_nonce(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce)
{
	struct post_block_ctx *p = ctx;
	struct account a;
	if (runtime_account_get(&p->rd, sender, &a) != 1)
		return false;
	*nonce = a.nonce;
	return true;
}

static bool post_recheck(void *ctx, const uint8_t *bytes, size_t len, const struct tx *tx)
{
	struct post_block_ctx *p = ctx;
	struct tx_check chk;
	(void)bytes;
	return runtime_check_tx(&p->n->chain.params, &p->rd, tx, len, p->next_height, &chk) ==
	       TX_OK;
}

void node_pool_refresh(struct node *n, uint64_t next_height)
{
	struct post_block_ctx p = {.n = n, .next_height = next_height};
	p.rc.smt = n->chain.smt;
	if (bstore_begin(n->chain.store, false, &p.rc.txn) != BSTORE_OK) {
		log_warn("node", "cannot read state to refresh the pool");
		return;
	}
	node_reader(&p.rd, &p.rc);
	mempool_update(n->pool, post_nonce, post_recheck, &p, next_height);
	bstore_abort(p.rc.txn);
}

static void publish_head_event(struct node *n, const struct header *h, const uint8_t hash[32])
{
	json_t *j = node_json_header(h, hash);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s)
		rpc_sse_publish(n->heads, "head", s);
	free(s);
	json_decref(j);
}

enum node_chain_result node_commit_pending(struct node *n, struct node_pending *p,
                                           const struct commit *c)
{
	uint64_t t0 = node_mono_us();
	struct header h = p->header;
	uint8_t hash[32];
	size_t n_txs = p->n_txs;
	uint64_t failed = p->txs_failed, skipped = p->txs_skipped;
	memcpy(hash, p->hash, 32);
	enum node_chain_result r = node_chain_commit(&n->chain, p, c);
	if (r == NODE_CHAIN_STORE || r == NODE_CHAIN_NOMEM) {
		node_engine_fail(n, "cannot commit a block");
		return r;
	}
	if (r != NODE_CHAIN_OK)
		return r;
	node_head_publish(n);
	node_pool_refresh(n, h.height + 1);
	atomic_fetch_add(&n->m.blocks, 1);
	atomic_fetch_add(&n->m.txs_applied, n_txs - failed);
	atomic_fetch_add(&n->m.txs_failed, failed);
	atomic_fetch_add(&n->m.txs_skipped, skipped);
	atomic_store(&n->m.last_block_txs, n_txs);
	publish_head_event(n, &h, hash);
	node_status_broadcast(n);
	uint64_t us = node_mono_us() - t0;
	atomic_store(&n->m.last_block_us, us);
	atomic_fetch_add(&n->m.block_us_total, us);
	if (n_txs)
		log_info("node", "block %llu: %zu txs, commit %llu ms",
		         (unsigned long long)h.height, n_txs, (unsigned long long)(us / 1000));
	return NODE_CHAIN_OK;
}

/* The consensus view for RPC (the engine thread, after each batch of outputs). */
void node_status_publish(struct node *n)
{
	struct cons_status st;
	cons_status(n->eng->cons, &st);
	pthread_mutex_lock(&n->status_lock);
	n->cs.height = st.height;
	n->cs.round = st.round;
	n->cs.step = st.step;
	pthread_mutex_unlock(&n->status_lock);
}
