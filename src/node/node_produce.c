/* The block producer: every block time, reap the pool, execute, commit block + state at once. */
#include "node/node_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "chain/merkle.h"
#include "crypto/hash.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* What executing the reaped txs produced: the included ones and their receipts. */
struct exec_result {
	size_t n;
	const uint8_t **txs;
	size_t *lens;
	uint8_t (*txids)[32];
	uint8_t (*receipts)[RECEIPT_LEN];
	/* Views of txids/receipts in the shape the block store takes. */
	const uint8_t **id_ptrs;
	const uint8_t **receipt_ptrs;
	size_t *receipt_lens;
};

static bool exec_alloc(struct exec_result *x, size_t cap)
{
	x->n = 0;
	x->txs = calloc(cap ? cap : 1, sizeof(*x->txs));
	x->lens = calloc(cap ? cap : 1, sizeof(*x->lens));
	x->txids = calloc(cap ? cap : 1, sizeof(*x->txids));
	x->receipts = calloc(cap ? cap : 1, sizeof(*x->receipts));
	x->id_ptrs = calloc(cap ? cap : 1, sizeof(*x->id_ptrs));
	x->receipt_ptrs = calloc(cap ? cap : 1, sizeof(*x->receipt_ptrs));
	x->receipt_lens = calloc(cap ? cap : 1, sizeof(*x->receipt_lens));
	return x->txs && x->lens && x->txids && x->receipts && x->id_ptrs && x->receipt_ptrs &&
	       x->receipt_lens;
}

static void exec_free(struct exec_result *x)
{
	free(x->txs);
	free(x->lens);
	free(x->txids);
	free(x->receipts);
	free(x->id_ptrs);
	free(x->receipt_ptrs);
	free(x->receipt_lens);
}

static void record_included(struct node *n, struct exec_result *x, const uint8_t *bytes, size_t len,
                            const uint8_t txid[32], const struct tx_outcome *o)
{
	struct receipt rc;
	struct enc e;
	memcpy(rc.txid, txid, 32);
	rc.result = (uint8_t)o->result;
	rc.fee = o->fee;
	rc.tip = o->tip;
	enc_init_fixed(&e, x->receipts[x->n], RECEIPT_LEN);
	receipt_encode(&e, &rc);
	x->txs[x->n] = bytes;
	x->lens[x->n] = len;
	memcpy(x->txids[x->n], txid, 32);
	x->id_ptrs[x->n] = x->txids[x->n];
	x->receipt_ptrs[x->n] = x->receipts[x->n];
	x->receipt_lens[x->n] = RECEIPT_LEN;
	x->n++;
	atomic_fetch_add(o->result == TX_OK ? &n->m.txs_applied : &n->m.txs_failed, 1);
}

/* Executes the reaped txs into ov. Returns false if the block must be abandoned. */
static bool execute(struct node *n, struct state_overlay *ov, size_t k, uint64_t height,
                    struct exec_result *x)
{
	for (size_t i = 0; i < k; i++) {
		const uint8_t *bytes = n->reap_buf + n->reap_items[i].offset;
		size_t len = n->reap_items[i].len;
		struct tx tx;
		struct tx_outcome o;
		if (tx_decode(&tx, bytes, len) != CODEC_OK) {
			mempool_remove(n->pool, n->reap_items[i].txid);
			continue;
		}
		enum tx_result r =
		    runtime_apply_tx(&n->params, ov, &tx, len, height, n->validator_pk, &o);
		if (r == TX_OK) {
			record_included(n, x, bytes, len, n->reap_items[i].txid, &o);
		} else if (r == TX_STATE_FULL) {
			break;
		} else if (r == TX_STORAGE || r == TX_NOMEM) {
			log_error("node", "block %llu abandoned: %s", (unsigned long long)height,
			          tx_strerror(r));
			return false;
		} else {
			char why[160];
			log_debug("node", "skipping tx: %s",
			          runtime_describe(why, sizeof(why), r, &o.check));
			atomic_fetch_add(&n->m.txs_skipped, 1);
			mempool_remove(n->pool, n->reap_items[i].txid);
		}
	}
	return true;
}

static void build_header(struct node *n, struct header *h, const struct exec_result *x,
                         uint64_t height, const uint8_t state_root[32])
{
	struct node_head head;
	node_head_get(n, &head);
	memset(h, 0, sizeof(*h));
	h->version = HEADER_VERSION;
	h->height = height;
	h->time_ms = now_ms();
	if (h->time_ms <= head.time_ms)
		h->time_ms = head.time_ms + 1; /* block times strictly increase */
	memcpy(h->chain_id, n->params.chain_id, 32);
	memcpy(h->prev_hash, head.hash, 32);
	block_txs_root(h->txs_root, x->txs, x->lens, x->n);
	merkle_root(h->msgs_root, NULL, 0);
	memcpy(h->state_root, state_root, 32);
	memcpy(h->validators_hash, n->valset_hash, 32);
	memcpy(h->next_validators_hash, n->valset_hash, 32);
	if (n->has_last_commit)
		commit_hash(h->last_commit_hash, &n->last_commit);
	memcpy(h->proposer, n->validator_pk, 32);
}

/* Encodes the block and its commit and writes them with the tx index and receipts. */
static bool store_block(struct node *n, MDB_txn *txn, const struct header *h,
                        const struct exec_result *x, struct commit *c, uint8_t hash[32])
{
	struct block b;
	struct enc eb, ec;
	bool ok = false;
	block_init(&b);
	b.header = *h;
	b.n_txs = x->n;
	b.txs = x->txs;
	b.tx_lens = x->lens;
	b.has_last_commit = n->has_last_commit;
	if (n->has_last_commit)
		b.last_commit = n->last_commit;
	header_hash(hash, h);
	commit_init(c, h->height, 0, hash, n->valset.n);
	commit_sign(c, n->validator_index, n->params.chain_id, n->validator_sk);
	enc_init(&eb, BLOCK_MAX_BYTES);
	enc_init(&ec, COMMIT_MAX_BYTES);
	block_encode(&eb, &b);
	commit_encode(&ec, c);
	if (enc_finish(&eb) == CODEC_OK && enc_finish(&ec) == CODEC_OK) {
		struct bstore_block sb = {h->height,       hash,           eb.buf, eb.len,
		                          ec.buf,          ec.len,         x->n,   x->id_ptrs,
		                          x->receipt_ptrs, x->receipt_lens};
		ok = bstore_put_block(n->store, txn, &sb) == BSTORE_OK;
	}
	enc_release(&eb);
	enc_release(&ec);
	return ok;
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
	return runtime_check_tx(&p->n->params, &p->rd, tx, len, p->next_height, &chk) == TX_OK;
}

void node_pool_refresh(struct node *n, uint64_t next_height)
{
	struct post_block_ctx p = {.n = n, .next_height = next_height};
	p.rc.smt = n->smt;
	if (bstore_begin(n->store, false, &p.rc.txn) != BSTORE_OK) {
		log_warn("node", "cannot read state to refresh the pool");
		return;
	}
	node_reader(&p.rd, &p.rc);
	mempool_update(n->pool, post_nonce, post_recheck, &p, next_height);
	bstore_abort(p.rc.txn);
}

static void after_commit(struct node *n, const struct header *h, const uint8_t hash[32],
                         const struct commit *c)
{
	pthread_mutex_lock(&n->head_lock);
	n->head.height = h->height;
	n->head.time_ms = h->time_ms;
	memcpy(n->head.hash, hash, 32);
	memcpy(n->head.state_root, h->state_root, 32);
	pthread_mutex_unlock(&n->head_lock);
	n->last_commit = *c;
	n->has_last_commit = true;

	node_pool_refresh(n, h->height + 1);
	json_t *j = node_json_header(h, hash);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s)
		rpc_sse_publish(n->heads, "head", s);
	free(s);
	json_decref(j);
}

/* Builds, executes and commits the next block. False on a storage failure (fatal). */
static bool produce_block(struct node *n)
{
	uint64_t t0 = mono_us();
	struct node_head head;
	node_head_get(n, &head);
	uint64_t height = head.height + 1;
	size_t k = mempool_reap(n->pool, n->reap_buf, n->cfg.max_block_bytes, n->reap_items,
	                        n->cfg.max_block_txs);
	struct exec_result x;
	struct state_overlay ov;
	struct node_reader_ctx rc = {n->smt, NULL};
	struct state_reader rd;
	const struct kv_write *w;
	size_t nw;
	uint8_t root[32], hash[32];
	struct header h;
	struct commit c;
	bool ok = false;
	node_reader(&rd, &rc);
	state_overlay_init(&ov, &rd, NULL);
	if (!exec_alloc(&x, k) || bstore_begin(n->store, true, &rc.txn) != BSTORE_OK)
		goto out;
	if (!execute(n, &ov, k, height, &x) || state_overlay_export(&ov, &w, &nw) != STATE_OK ||
	    smt_apply(n->smt, rc.txn, height, w, nw, root) != SMT_OK ||
	    smt_prune(n->smt, rc.txn, n->cfg.prune_per_block, NULL) != SMT_OK)
		goto abort;
	build_header(n, &h, &x, height, root);
	if (!store_block(n, rc.txn, &h, &x, &c, hash))
		goto abort;
	ok = bstore_commit(n->store, rc.txn) == BSTORE_OK;
	rc.txn = NULL;
	if (!ok)
		goto out;
	after_commit(n, &h, hash, &c);
	atomic_fetch_add(&n->m.blocks, 1);
	atomic_store(&n->m.last_block_txs, x.n);
	atomic_store(&n->m.last_block_us, mono_us() - t0);
	atomic_fetch_add(&n->m.block_us_total, mono_us() - t0);
	if (x.n)
		log_info("node", "block %llu: %zu txs, %llu ms", (unsigned long long)height, x.n,
		         (unsigned long long)((mono_us() - t0) / 1000));
	goto out;
abort:
	bstore_abort(rc.txn);
out:
	state_overlay_release(&ov);
	exec_free(&x);
	return ok;
}

/* Waits until deadline_ms (monotonic) or a stop request. True if asked to stop. */
static bool wait_until(struct node *n, uint64_t deadline_us)
{
	for (;;) {
		uint64_t now = mono_us();
		if (atomic_load(&n->stopping))
			return true;
		if (now >= deadline_us)
			return false;
		struct pollfd p = {n->stop_pipe[0], POLLIN, 0};
		int ms = (int)((deadline_us - now + 999) / 1000);
		if (poll(&p, 1, ms) > 0)
			return true;
	}
}

void *node_producer_main(void *arg)
{
	struct node *n = arg;
	uint64_t next = mono_us() + n->block_time_ms * 1000;
	log_info("node", "producing blocks every %llu ms", (unsigned long long)n->block_time_ms);
	while (!wait_until(n, next)) {
		if (!produce_block(n)) {
			log_error("node", "cannot commit block %llu; stopping",
			          (unsigned long long)node_height(n) + 1);
			atomic_store(&n->failed, true);
			node_request_stop(n);
			break;
		}
		uint64_t now = mono_us();
		next += n->block_time_ms * 1000;
		if (next < now)
			next = now; /* overloaded: the next block starts at once */
	}
	return NULL;
}
