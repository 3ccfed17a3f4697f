/* Blocks on top of the head: (a) build one as proposer, (b) check and execute one from a peer.
 * Both end in the same place: the state applied inside an open write transaction, pending. */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chain/mq.h"
#include "node/node_chain.h"

static bool pending_alloc(struct node_pending *p, size_t cap)
{
	cap = cap ? cap : 1;
	p->n_txs = 0;
	p->txids = calloc(cap, sizeof(*p->txids));
	p->receipts = calloc(cap, sizeof(*p->receipts));
	p->txid_ptrs = calloc(cap, sizeof(*p->txid_ptrs));
	p->receipt_ptrs = calloc(cap, sizeof(*p->receipt_ptrs));
	p->receipt_lens = calloc(cap, sizeof(*p->receipt_lens));
	return p->txids && p->receipts && p->txid_ptrs && p->receipt_ptrs && p->receipt_lens;
}

/* Records included tx number p->n_txs (its id already in p->txids) with its receipt. */
static void record_included(struct node_pending *p, const struct tx_outcome *o)
{
	size_t i = p->n_txs++;
	struct receipt rc;
	struct enc e;
	memcpy(rc.txid, p->txids[i], 32);
	rc.result = (uint8_t)o->result;
	rc.fee = o->fee;
	rc.tip = o->tip;
	enc_init_fixed(&e, p->receipts[i], RECEIPT_LEN);
	receipt_encode(&e, &rc);
	p->txid_ptrs[i] = p->txids[i];
	p->receipt_ptrs[i] = p->receipts[i];
	p->receipt_lens[i] = RECEIPT_LEN;
	if (o->result != TX_OK)
		p->txs_failed++;
}

/* Ends the block (runtime_end_block: the next set), applies ov's writes as version `height` in
 * p->txn and gives the state root. */
static enum node_chain_result finish_state(struct node_chain *c, struct node_pending *p,
                                           struct state_overlay *ov, uint64_t height,
                                           uint8_t root[32])
{
	const struct kv_write *w;
	size_t nw;
	bool changed;
	enum tx_result tr = runtime_end_block(ov, height, &p->next, &changed);
	if (tr != TX_OK) {
		log_error("node", "cannot end block %llu: %s", (unsigned long long)height,
		          tx_strerror(tr));
		return tr == TX_NOMEM        ? NODE_CHAIN_NOMEM
		       : tr == TX_STATE_FULL ? NODE_CHAIN_BAD_TX /* the block writes too much */
		                             : NODE_CHAIN_STORE;
	}
	enc_init(&p->msgs, MQ_BLOCK_MAX_BYTES + 16);
	enum state_result mr = mq_block_finish(ov, &p->msgs, p->msgs_root);
	if (mr != STATE_OK)
		return mr == STATE_NOMEM     ? NODE_CHAIN_NOMEM
		       : mr == STATE_STORAGE ? NODE_CHAIN_STORE
		                             : NODE_CHAIN_BAD_TX; /* over the block's message cap */
	if (changed)
		log_info("node", "block %llu changes the validator set (%zu validators next)",
		         (unsigned long long)height, p->next.n);
	if (state_overlay_export(ov, &w, &nw) != STATE_OK)
		return NODE_CHAIN_NOMEM;
	enum smt_result sr = smt_apply(c->smt, p->txn, height, w, nw, root);
	if (sr == SMT_OK)
		sr = smt_prune(c->smt, p->txn, c->cfg.prune_per_block, NULL);
	if (sr != SMT_OK) {
		log_error("node", "cannot apply the state of block %llu: %s",
		          (unsigned long long)height, smt_strerror(sr));
		return sr == SMT_NOMEM ? NODE_CHAIN_NOMEM : NODE_CHAIN_STORE;
	}
	return NODE_CHAIN_OK;
}

/* Opens p's write transaction and an overlay reading through it. */
static enum node_chain_result begin_exec(struct node_chain *c, struct node_pending *p,
                                         struct node_reader_ctx *rc, struct state_overlay *ov)
{
	struct state_reader rd;
	rc->smt = c->smt;
	rc->txn = NULL;
	node_reader(&rd, rc);
	state_overlay_init(ov, &rd, NULL);
	if (bstore_begin(c->store, true, &p->txn) != BSTORE_OK) {
		p->txn = NULL;
		return NODE_CHAIN_STORE;
	}
	rc->txn = p->txn;
	return NODE_CHAIN_OK;
}

/* ---- (a) build --------------------------------------------------------------------------- */

/* Executes the reaped txs, skipping (and dropping from the pool) those not includable now. */
static enum node_chain_result build_txs(struct node_chain *c, struct node_pending *p,
                                        struct state_overlay *ov, size_t k, uint64_t height,
                                        const uint8_t proposer[32])
{
	for (size_t i = 0; i < k; i++) {
		const struct mempool_item *it = &c->reap_items[i];
		struct tx tx;
		struct tx_outcome o;
		if (tx_decode(&tx, c->reap_buf + it->offset, it->len) != CODEC_OK) {
			mempool_remove(c->pool, it->txid);
			continue;
		}
		enum tx_result r =
		    runtime_apply_tx(&c->params, ov, &tx, it->len, height, proposer, &o);
		if (r == TX_OK) {
			memcpy(p->txids[p->n_txs], it->txid, 32);
			record_included(p, &o);
		} else if (r == TX_STATE_FULL) {
			break;
		} else if (r == TX_STORAGE || r == TX_NOMEM) {
			log_error("node", "block %llu abandoned: %s", (unsigned long long)height,
			          tx_strerror(r));
			return r == TX_NOMEM ? NODE_CHAIN_NOMEM : NODE_CHAIN_STORE;
		} else {
			char why[160];
			log_debug("node", "skipping tx: %s",
			          runtime_describe(why, sizeof(why), r, &o.check));
			p->txs_skipped++;
			mempool_remove(c->pool, it->txid);
		}
	}
	return NODE_CHAIN_OK;
}

static void build_header(const struct node_chain *c, struct header *h, const struct block *b,
                         const uint8_t proposer[32], uint64_t time_ms)
{
	h->version = HEADER_VERSION;
	h->height = c->head.height + 1;
	h->time_ms = time_ms > c->head.time_ms ? time_ms : c->head.time_ms + 1;
	memcpy(h->chain_id, c->params.chain_id, 32);
	memcpy(h->prev_hash, c->head.hash, 32);
	block_txs_root(h->txs_root, b->txs, b->tx_lens, b->n_txs);
	memcpy(h->validators_hash, c->head.next_hash, 32);
	block_last_commit_hash(h->last_commit_hash, b);
	memcpy(h->proposer, proposer, 32);
}

/* Fills the block's header and encodes it into p->bytes. */
static enum node_chain_result seal(struct node_chain *c, struct node_pending *p,
                                   const uint8_t proposer[32], uint64_t time_ms,
                                   const uint8_t root[32])
{
	struct block b;
	struct enc e;
	const uint8_t **txs = calloc(p->n_txs ? p->n_txs : 1, sizeof(*txs));
	size_t *lens = calloc(p->n_txs ? p->n_txs : 1, sizeof(*lens));
	enum node_chain_result ret = NODE_CHAIN_NOMEM;
	block_init(&b);
	if (!txs || !lens)
		goto out;
	for (size_t i = 0, j = 0; i < p->n_txs; j++) { /* included txs keep the reap order */
		assert(j < c->cfg.max_block_txs);
		if (memcmp(c->reap_items[j].txid, p->txids[i], 32) == 0) {
			txs[i] = c->reap_buf + c->reap_items[j].offset;
			lens[i++] = c->reap_items[j].len;
		}
	}
	b.n_txs = p->n_txs;
	b.txs = txs;
	b.tx_lens = lens;
	b.has_last_commit = c->head.has_commit;
	if (c->head.has_commit)
		b.last_commit = c->head.commit;
	memset(&b.header, 0, sizeof(b.header));
	build_header(c, &b.header, &b, proposer, time_ms);
	memcpy(b.header.state_root, root, 32);
	memcpy(b.header.msgs_root, p->msgs_root, 32);
	valset_hash(b.header.next_validators_hash, &p->next);
	enc_init(&e, BLOCK_MAX_BYTES);
	block_encode(&e, &b);
	if (enc_finish(&e) == CODEC_OK) {
		p->header = b.header;
		header_hash(p->hash, &p->header);
		p->bytes = e.buf; /* the encoder's buffer becomes the pending block's */
		p->len = e.len;
		ret = NODE_CHAIN_OK;
	} else {
		enc_release(&e);
	}
out:
	free(txs);
	free(lens);
	return ret;
}

enum node_chain_result node_chain_build(struct node_chain *c, const uint8_t proposer[32],
                                        uint64_t time_ms, struct node_pending *out)
{
	struct node_reader_ctx rc;
	struct state_overlay ov;
	uint8_t root[32];
	uint64_t height = c->head.height + 1;
	assert(!out->txn && c->pool);
	memset(out, 0, sizeof(*out));
	size_t k = mempool_reap(c->pool, c->reap_buf, c->cfg.max_block_bytes, c->reap_items,
	                        c->cfg.max_block_txs);
	enum node_chain_result r = NODE_CHAIN_NOMEM;
	if (!pending_alloc(out, k)) {
		state_overlay_init(&ov, NULL, NULL);
		goto out;
	}
	r = begin_exec(c, out, &rc, &ov);
	if (r == NODE_CHAIN_OK)
		r = build_txs(c, out, &ov, k, height, proposer);
	if (r == NODE_CHAIN_OK)
		r = finish_state(c, out, &ov, height, root);
	if (r == NODE_CHAIN_OK)
		r = seal(c, out, proposer, time_ms, root);
out:
	state_overlay_release(&ov);
	if (r != NODE_CHAIN_OK)
		node_chain_discard(out);
	return r;
}

/* ---- (b) check and execute a block from a peer -------------------------------------------- */

/* What the head alone says about the header. */
static enum node_chain_result check_header(const struct node_chain *c, const struct header *h,
                                           const struct node_chain_expect *exp)
{
	if (memcmp(h->chain_id, c->params.chain_id, 32) != 0)
		return NODE_CHAIN_WRONG_CHAIN;
	if (h->height != c->head.height + 1)
		return NODE_CHAIN_WRONG_HEIGHT;
	if (memcmp(h->prev_hash, c->head.hash, 32) != 0)
		return NODE_CHAIN_WRONG_PREV;
	if (h->time_ms <= c->head.time_ms)
		return NODE_CHAIN_TIME_NOT_AFTER;
	if (exp->now_ms && h->time_ms > exp->now_ms + c->cfg.max_future_ms)
		return NODE_CHAIN_TIME_FUTURE;
	if (memcmp(h->validators_hash, c->head.next_hash, 32) != 0)
		return NODE_CHAIN_WRONG_VALSET;
	size_t idx;
	if (exp->proposer ? memcmp(h->proposer, exp->proposer, 32) != 0
	                  : !valset_find(&c->head.next, h->proposer, &idx))
		return NODE_CHAIN_WRONG_PROPOSER;
	return NODE_CHAIN_OK;
}

/* Structure, roots, header rules and the last commit (the light-client rule against the set
 * that signed the head). */
static enum node_chain_result check_block(const struct node_chain *c, const struct block *b,
                                          const struct node_chain_expect *exp)
{
	if (block_check_roots(b) != BLOCK_OK)
		return NODE_CHAIN_MALFORMED;
	enum node_chain_result r = check_header(c, &b->header, exp);
	if (r != NODE_CHAIN_OK || b->header.height == 1)
		return r;
	if (commit_verify(&c->head.set, c->params.chain_id, c->head.height, c->head.hash,
	                  &b->last_commit) != BLOCK_OK)
		return NODE_CHAIN_BAD_LAST_COMMIT;
	return NODE_CHAIN_OK;
}

struct sig_check {
	const struct block *b;
	struct node_pending *p;
	struct mempool *pool;
	atomic_bool bad;
};

/* True if the pool holds exactly these bytes under this id: admission verified them. */
static bool admitted_before(struct mempool *pool, const uint8_t txid[32], const uint8_t *bytes,
                            size_t len)
{
	uint8_t buf[1024];
	struct mempool_info info;
	return pool && len <= sizeof(buf) && mempool_get(pool, txid, &info, buf, sizeof(buf)) &&
	       info.len == len && memcmp(buf, bytes, len) == 0;
}

/* Computes tx i's id and verifies its signature (unless admission did). */
static void sig_check_one(void *ctx, size_t i)
{
	struct sig_check *s = ctx;
	struct tx tx;
	const uint8_t *bytes = s->b->txs[i];
	size_t len = s->b->tx_lens[i];
	if (tx_decode(&tx, bytes, len) != CODEC_OK) { /* block_decode decoded it already */
		atomic_store(&s->bad, true);
		return;
	}
	tx_id(s->p->txids[i], bytes, tx.body_len);
	if (!admitted_before(s->pool, s->p->txids[i], bytes, len) &&
	    !tx_verify_sig(&tx, bytes, len))
		atomic_store(&s->bad, true);
}

static enum node_chain_result check_sigs(struct node_chain *c, const struct block *b,
                                         struct node_pending *p)
{
	struct sig_check s = {b, p, c->pool, false};
	if (c->par)
		node_par_for(c->par, b->n_txs, sig_check_one, &s);
	else
		for (size_t i = 0; i < b->n_txs; i++)
			sig_check_one(&s, i);
	return atomic_load(&s.bad) ? NODE_CHAIN_BAD_TX_SIG : NODE_CHAIN_OK;
}

/* Executes every tx: each must be includable (the proposer had to skip any that was not). */
static enum node_chain_result exec_txs(struct node_chain *c, struct node_pending *p,
                                       struct state_overlay *ov, const struct block *b)
{
	for (size_t i = 0; i < b->n_txs; i++) {
		struct tx tx;
		struct tx_outcome o;
		if (tx_decode(&tx, b->txs[i], b->tx_lens[i]) != CODEC_OK)
			return NODE_CHAIN_MALFORMED;
		enum tx_result r = runtime_apply_tx(&c->params, ov, &tx, b->tx_lens[i],
		                                    b->header.height, b->header.proposer, &o);
		if (r == TX_STORAGE || r == TX_NOMEM)
			return r == TX_NOMEM ? NODE_CHAIN_NOMEM : NODE_CHAIN_STORE;
		if (r != TX_OK) {
			char why[160];
			log_warn("node", "block %llu tx %zu not includable: %s",
			         (unsigned long long)b->header.height, i,
			         runtime_describe(why, sizeof(why), r, &o.check));
			return NODE_CHAIN_BAD_TX;
		}
		record_included(p, &o);
	}
	return NODE_CHAIN_OK;
}

/* Compares what execution produced with what the header claims. */
static enum node_chain_result check_results(const struct header *h, const struct node_pending *p,
                                            const uint8_t root[32])
{
	uint8_t want[32];
	if (memcmp(root, h->state_root, 32) != 0)
		return NODE_CHAIN_WRONG_STATE_ROOT;
	valset_hash(want, &p->next);
	if (memcmp(want, h->next_validators_hash, 32) != 0)
		return NODE_CHAIN_WRONG_NEXT_VALSET;
	if (memcmp(p->msgs_root, h->msgs_root, 32) != 0)
		return NODE_CHAIN_WRONG_MSGS_ROOT;
	return NODE_CHAIN_OK;
}

static enum node_chain_result execute_block(struct node_chain *c, const struct block *b,
                                            struct node_pending *p)
{
	struct node_reader_ctx rc;
	struct state_overlay ov;
	uint8_t root[32];
	enum node_chain_result r = NODE_CHAIN_NOMEM;
	if (!pending_alloc(p, b->n_txs)) {
		state_overlay_init(&ov, NULL, NULL);
		goto out;
	}
	r = check_sigs(c, b, p);
	if (r == NODE_CHAIN_OK)
		r = begin_exec(c, p, &rc, &ov);
	else
		state_overlay_init(&ov, NULL, NULL);
	if (r == NODE_CHAIN_OK)
		r = exec_txs(c, p, &ov, b);
	if (r == NODE_CHAIN_OK)
		r = finish_state(c, p, &ov, b->header.height, root);
	if (r == NODE_CHAIN_OK)
		r = check_results(&b->header, p, root);
out:
	state_overlay_release(&ov);
	return r;
}

enum node_chain_result node_chain_execute(struct node_chain *c, const uint8_t *bytes, size_t len,
                                          const struct node_chain_expect *exp,
                                          struct node_pending *out)
{
	struct block b;
	assert(!out->txn);
	memset(out, 0, sizeof(*out));
	block_init(&b);
	if (len > BLOCK_MAX_BYTES)
		return NODE_CHAIN_MALFORMED;
	out->bytes = malloc(len ? len : 1);
	if (!out->bytes)
		return NODE_CHAIN_NOMEM;
	memcpy(out->bytes, bytes, len);
	out->len = len;
	enum node_chain_result r = block_decode(&b, out->bytes, len) == BLOCK_OK
	                               ? check_block(c, &b, exp)
	                               : NODE_CHAIN_MALFORMED;
	if (r == NODE_CHAIN_OK)
		r = execute_block(c, &b, out);
	if (r == NODE_CHAIN_OK) {
		out->header = b.header;
		header_hash(out->hash, &out->header);
	}
	block_release(&b);
	if (r != NODE_CHAIN_OK)
		node_chain_discard(out);
	return r;
}
