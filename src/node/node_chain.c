/* The chain on disk: opening it from genesis, the committed head, committing a pending block. */
#include "node/node_chain.h"

#include <assert.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chain/validators.h"
#include "node/node_feed.h"

const char *node_chain_strerror(enum node_chain_result r)
{
	static const char *const msg[] = {
	    [NODE_CHAIN_OK] = "ok",
	    [NODE_CHAIN_MALFORMED] = "malformed block",
	    [NODE_CHAIN_WRONG_CHAIN] = "block of another chain or header version",
	    [NODE_CHAIN_WRONG_HEIGHT] = "block is not at the next height",
	    [NODE_CHAIN_WRONG_PREV] = "block does not extend our head",
	    [NODE_CHAIN_TIME_NOT_AFTER] = "block time is not after the previous block's",
	    [NODE_CHAIN_TIME_FUTURE] = "block time is too far in the future",
	    [NODE_CHAIN_WRONG_VALSET] = "block names another validator set",
	    [NODE_CHAIN_WRONG_PROPOSER] = "block is not from the expected proposer",
	    [NODE_CHAIN_BAD_LAST_COMMIT] = "block's last commit does not verify",
	    [NODE_CHAIN_BAD_TX_SIG] = "a transaction signature does not verify",
	    [NODE_CHAIN_BAD_TX] = "a transaction is not includable",
	    [NODE_CHAIN_WRONG_STATE_ROOT] = "executing the block gives another state root",
	    [NODE_CHAIN_WRONG_NEXT_VALSET] = "executing the block gives another next validator set",
	    [NODE_CHAIN_WRONG_MSGS_ROOT] = "executing the block gives another messages root",
	    [NODE_CHAIN_BAD_COMMIT] = "commit does not verify for the block",
	    [NODE_CHAIN_STORE] = "storage failure",
	    [NODE_CHAIN_NOMEM] = "out of memory",
	};
	if ((size_t)r < sizeof(msg) / sizeof(msg[0]) && msg[r])
		return msg[r];
	return "unknown chain error";
}

static int reader_get(void *ctx, const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen)
{
	struct node_reader_ctx *c = ctx;
	MDB_val v;
	enum smt_result r = smt_get(c->smt, c->txn, key, klen, &v);
	if (r == SMT_NOT_FOUND)
		return 0;
	if (r != SMT_OK)
		return -1;
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 1;
}

void node_reader(struct state_reader *out, struct node_reader_ctx *ctx)
{
	out->ctx = ctx;
	out->get = reader_get;
}

/* The sets around the head: meta "vsets" = set(head) ‖ set(head + 1) ‖ the priorities of
 * set(head + 1), written with each block. */
static bool put_vsets(struct node_chain *c, MDB_txn *txn, const struct valset *set,
                      const struct cons_valset *next)
{
	struct enc e;
	enc_init(&e, 2 * VALSET_MAX_BYTES + 16 + VALSET_MAX * 10);
	valset_encode(&e, set);
	valset_encode(&e, &next->set);
	cons_priorities_encode(&e, next);
	bool ok = enc_finish(&e) == CODEC_OK &&
	          bstore_meta_put(c->store, txn, "vsets", e.buf, e.len) == BSTORE_OK;
	enc_release(&e);
	return ok;
}

/* The length of the valset encoding at the start of p[0..n), or 0 if it does not parse. */
static size_t valset_len(const uint8_t *p, size_t n)
{
	struct dec d;
	dec_init(&d, p, n);
	size_t count = (size_t)dec_uleb(&d, VALSET_MAX);
	size_t len = d.pos + count * 40; /* key [32] ‖ power u64 each */
	return d.err || len > n ? 0 : len;
}

static bool get_vsets(struct node_chain *c, MDB_txn *txn)
{
	MDB_val v;
	if (bstore_meta_get(c->store, txn, "vsets", &v) != BSTORE_OK)
		return false;
	const uint8_t *p = v.mv_data;
	size_t n1 = valset_len(p, v.mv_size);
	size_t n2 = n1 ? valset_len(p + n1, v.mv_size - n1) : 0;
	if (!n2 || valset_decode(&c->head.set, p, n1) != BLOCK_OK ||
	    valset_decode(&c->head.next, p + n1, n2) != BLOCK_OK)
		return false;
	c->head.cv_next.set = c->head.next;
	return cons_priorities_decode(&c->head.cv_next, p + n1 + n2, v.mv_size - n1 - n2) ==
	       CODEC_OK;
}

/* Writes the genesis state as version 0 of the tree and records the chain's identity. */
static enum node_result init_chain(struct node_chain *c, const struct genesis *g, MDB_txn *txn,
                                   char *err, size_t errlen)
{
	struct node_reader_ctx rc = {c->smt, txn};
	struct state_reader rd;
	struct state_overlay ov;
	const struct kv_write *w;
	size_t nw = 0;
	uint8_t root[32];
	enum node_result ret = NODE_NOMEM;
	node_reader(&rd, &rc);
	state_overlay_init(&ov, &rd, NULL);
	if (genesis_build_state(g, &ov) != STATE_OK ||
	    state_overlay_export(&ov, &w, &nw) != STATE_OK) {
		ret = node_fail(err, errlen, NODE_NOMEM, "cannot build the genesis state");
		goto out;
	}
	enum smt_result sr = smt_apply(c->smt, txn, 0, w, nw, root);
	if (sr != SMT_OK) {
		ret = node_fail(err, errlen, NODE_STORE, "cannot write the genesis state: %s",
		                smt_strerror(sr));
		goto out;
	}
	bool ok =
	    bstore_meta_put(c->store, txn, "genesis_hash", c->params.chain_id, 32) == BSTORE_OK &&
	    put_vsets(c, txn, &c->head.set, &c->head.cv_next);
	ret = ok ? NODE_OK : node_fail(err, errlen, NODE_STORE, "cannot record the chain identity");
	log_info("node", "initialised chain %s: %zu genesis state entries", g->chain_name, nw);
out:
	state_overlay_release(&ov);
	return ret;
}

/* Checks that the stored chain is this genesis's, or initialises it on first start. */
static enum node_result open_chain(struct node_chain *c, const struct genesis *g, char *err,
                                   size_t errlen)
{
	MDB_txn *txn;
	MDB_val v;
	enum node_result ret = NODE_STORE;
	if (bstore_begin(c->store, true, &txn) != BSTORE_OK)
		return node_fail(err, errlen, NODE_STORE, "cannot begin a database transaction");
	struct smt_config sc = {.keep_versions = c->cfg.keep_versions};
	enum smt_result sr = smt_open(&c->smt, txn, &sc);
	if (sr != SMT_OK) {
		ret = node_fail(err, errlen, NODE_STORE, "cannot open the state tree: %s",
		                smt_strerror(sr));
		goto abort;
	}
	enum bstore_result br = bstore_meta_get(c->store, txn, "genesis_hash", &v);
	if (br == BSTORE_NOT_FOUND) {
		ret = init_chain(c, g, txn, err, errlen);
	} else if (br == BSTORE_OK && v.mv_size == 32 &&
	           memcmp(v.mv_data, c->params.chain_id, 32) == 0) {
		ret = NODE_OK;
	} else {
		char have[65] = "?";
		if (br == BSTORE_OK && v.mv_size == 32)
			sodium_bin2hex(have, sizeof(have), v.mv_data, 32);
		ret = node_fail(
		    err, errlen, NODE_WRONG_CHAIN,
		    "data directory %s holds chain %s, not this genesis; use another --data",
		    c->cfg.dir, have);
	}
	if (ret != NODE_OK)
		goto abort;
	if (bstore_commit(c->store, txn) != BSTORE_OK)
		return node_fail(err, errlen, NODE_STORE, "cannot commit the chain identity");
	return NODE_OK;
abort:
	bstore_abort(txn);
	return ret;
}

/* Reads the head block's header and commit. */
static bool load_head_block(struct node_chain *c, MDB_txn *txn)
{
	MDB_val blk, com;
	struct header h;
	if (bstore_get_block(c->store, txn, c->head.height, &blk, &com) != BSTORE_OK ||
	    blk.mv_size < HEADER_LEN || header_decode(&h, blk.mv_data, HEADER_LEN) != BLOCK_OK ||
	    commit_decode(&c->head.commit, com.mv_data, com.mv_size) != BLOCK_OK)
		return false;
	c->head.time_ms = h.time_ms;
	c->head.has_commit = true;
	return true;
}

/* Reads the head, its state root, its commit and the sets around it. */
static enum node_result load_head(struct node_chain *c, char *err, size_t errlen)
{
	MDB_txn *txn;
	uint64_t version;
	enum node_result ret = NODE_STORE;
	if (bstore_begin(c->store, false, &txn) != BSTORE_OK)
		return node_fail(err, errlen, NODE_STORE, "cannot begin a read transaction");
	if (bstore_head(c->store, txn, &c->head.height, c->head.hash) != BSTORE_OK ||
	    smt_root(c->smt, txn, &version, c->head.state_root) != SMT_OK) {
		ret = node_fail(err, errlen, NODE_STORE, "cannot read the chain head");
		goto out;
	}
	if (version != c->head.height) {
		ret = node_fail(err, errlen, NODE_STORE,
		                "state version %llu does not match head %llu",
		                (unsigned long long)version, (unsigned long long)c->head.height);
		goto out;
	}
	if (c->head.height > 0 && !load_head_block(c, txn)) {
		ret = node_fail(err, errlen, NODE_STORE, "stored head block is unreadable");
		goto out;
	}
	MDB_val probe;
	if (bstore_meta_get(c->store, txn, "vsets", &probe) == BSTORE_NOT_FOUND) {
		ret = node_fail(
		    err, errlen, NODE_WRONG_CHAIN,
		    "data directory %s was written before validator sets were kept in state "
		    "and cannot be continued; start a new one (tenebra dev --reset)",
		    c->cfg.dir);
		goto out;
	}
	if (!get_vsets(c, txn)) {
		ret = node_fail(err, errlen, NODE_STORE, "stored validator sets are unreadable");
		goto out;
	}
	valset_hash(c->head.next_hash, &c->head.next);
	ret = NODE_OK;
out:
	bstore_abort(txn);
	return ret;
}

static void genesis_set(struct node_chain *c, const struct genesis *g)
{
	genesis_valset(&c->head.set, g);
	c->head.next = c->head.set;
	cons_valset_init(&c->head.cv_next, &c->head.next);
}

static enum node_result alloc_scratch(struct node_chain *c, char *err, size_t errlen)
{
	c->reap_buf = malloc(c->cfg.max_block_bytes);
	c->reap_items = calloc(c->cfg.max_block_txs, sizeof(*c->reap_items));
	if (!c->reap_buf || !c->reap_items)
		return node_fail(err, errlen, NODE_NOMEM, "cannot allocate the block buffers");
	return NODE_OK;
}

enum node_result node_chain_open(struct node_chain *c, const struct node_chain_config *cfg,
                                 const struct genesis *g, char *err, size_t errlen)
{
	struct bstore_config bc;
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (!c->cfg.max_future_ms)
		c->cfg.max_future_ms = NODE_CHAIN_MAX_FUTURE_MS;
	genesis_params(&c->params, g);
	genesis_set(c, g);
	enum node_result ret = alloc_scratch(c, err, errlen);
	if (ret != NODE_OK)
		return ret;
	bstore_config_default(&bc);
	bc.map_size = cfg->map_size;
	enum bstore_result br = bstore_open(&c->store, cfg->dir, &bc);
	if (br != BSTORE_OK)
		return node_fail(err, errlen, NODE_STORE, "cannot open the database in %s: %s",
		                 cfg->dir, bstore_strerror(br));
	ret = open_chain(c, g, err, errlen);
	if (ret == NODE_OK)
		ret = load_head(c, err, errlen);
	return ret;
}

void node_chain_close(struct node_chain *c)
{
	smt_free(c->smt);
	bstore_free(c->store);
	free(c->reap_buf);
	free(c->reap_items);
	c->smt = NULL;
	c->store = NULL;
	c->reap_buf = NULL;
	c->reap_items = NULL;
}

void node_chain_discard(struct node_pending *p)
{
	if (p->txn)
		bstore_abort(p->txn);
	free(p->bytes);
	free(p->txids);
	free(p->receipts);
	free(p->txid_ptrs);
	free(p->receipt_ptrs);
	free(p->receipt_lens);
	enc_release(&p->msgs);
	memset(p, 0, sizeof(*p));
}

static bool put_block(struct node_chain *c, struct node_pending *p, const struct commit *commit,
                      struct cons_valset *next_cv)
{
	struct enc ec;
	enc_init(&ec, COMMIT_MAX_BYTES);
	commit_encode(&ec, commit);
	bool ok = enc_finish(&ec) == CODEC_OK;
	if (ok) {
		struct bstore_block sb = {p->header.height, p->hash,        p->bytes, p->len,
		                          ec.buf,           ec.len,         p->n_txs, p->txid_ptrs,
		                          p->receipt_ptrs,  p->receipt_lens};
		cons_valset_next(next_cv, &c->head.cv_next, &p->next);
		ok = bstore_put_block(c->store, p->txn, &sb) == BSTORE_OK &&
		     node_feed_put(c->store, p->txn, &p->header, &p->next, p->msgs.buf,
		                   p->msgs.len) == BSTORE_OK &&
		     put_vsets(c, p->txn, &c->head.next, next_cv);
	}
	enc_release(&ec);
	return ok;
}

static void advance_head(struct node_chain *c, const struct node_pending *p,
                         const struct commit *commit, const struct cons_valset *next_cv)
{
	c->head.height = p->header.height;
	c->head.time_ms = p->header.time_ms;
	memcpy(c->head.hash, p->hash, 32);
	memcpy(c->head.state_root, p->header.state_root, 32);
	c->head.commit = *commit;
	c->head.has_commit = true;
	c->head.set = c->head.next;
	c->head.next = p->next;
	memcpy(c->head.next_hash, p->header.next_validators_hash, 32);
	c->head.cv_next = *next_cv;
}

enum node_chain_result node_chain_commit(struct node_chain *c, struct node_pending *p,
                                         const struct commit *commit)
{
	assert(p->txn && p->header.height == c->head.height + 1);
	if (commit_verify(&c->head.next, c->params.chain_id, p->header.height, p->hash, commit) !=
	    BLOCK_OK)
		return NODE_CHAIN_BAD_COMMIT;
	struct cons_valset next_cv;
	bool ok = put_block(c, p, commit, &next_cv);
	if (!ok) {
		node_chain_discard(p);
		return NODE_CHAIN_STORE;
	}
	ok = bstore_commit(c->store, p->txn) == BSTORE_OK;
	p->txn = NULL;
	if (ok)
		advance_head(c, p, commit, &next_cv);
	node_chain_discard(p);
	return ok ? NODE_CHAIN_OK : NODE_CHAIN_STORE;
}
