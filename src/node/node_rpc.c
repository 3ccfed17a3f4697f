/* The node's JSON-RPC methods, GET routes and head subscription (docs/rpc.md). */
#include "node/node_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/hex.h"
#include "base/ss58.h"
#include "chain/tx.h"
#include "chain/validators.h"
#include "node/node_feed.h"

static int no_memory(struct rpc_error *err)
{
	return rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
}

static int storage_error(struct rpc_error *err)
{
	return rpc_error_set(err, RPC_STORAGE, "database read failed");
}

static int reply(json_t **result, json_t *j, struct rpc_error *err)
{
	if (!j)
		return no_memory(err);
	*result = j;
	return 0;
}

/* An account argument: SS58 with this chain's prefix, or a 64-hex public key. */
static int parse_account(struct node *n, const char *s, uint8_t pk[32], struct rpc_error *err)
{
	if (hex_decode_exact(pk, 32, s))
		return 0;
	enum ss58_result r = ss58_decode_expect(pk, n->chain.params.ss58_prefix, s);
	if (r == SS58_OK)
		return 0;
	return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "invalid account \"%.64s\": %s", s,
	                     ss58_strerror(r));
}

static int parse_hash(const char *s, const char *what, uint8_t out[32], struct rpc_error *err)
{
	if (hex_decode_exact(out, 32, s))
		return 0;
	return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "%s must be 64 hex digits", what);
}

static int m_chain_info(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	struct node_head h;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	node_head_get(n, &h);
	json_t *vals = node_json_validators(n);
	json_t *j = json_pack(
	    "{s:s, s:o, s:o, s:I, s:o, s:o, s:I, s:i, s:{s:s, s:i}, s:o, s:{s:o, s:o, s:o}, s:o, "
	    "s:o, s:o, s:i, s:i, s:o, s:I}",
	    "chain_name", n->chain_name, "chain_id", node_json_hex(n->chain.params.chain_id, 32),
	    "genesis_hash", node_json_hex(n->chain.params.chain_id, 32), "height",
	    (json_int_t)h.height, "head_hash", node_json_hex(h.hash, 32), "state_root",
	    node_json_hex(h.state_root, 32), "block_time_ms", (json_int_t)n->block_time_ms,
	    "ss58_prefix", (int)n->chain.params.ss58_prefix, "token", "symbol", n->token_symbol,
	    "decimals", (int)n->token_decimals, "validators", vals, "fees", "base",
	    node_json_u128(n->chain.params.fee_base), "per_byte",
	    node_json_u128(n->chain.params.fee_per_byte), "per_weight",
	    node_json_u128(n->chain.params.fee_per_weight), "existential_deposit",
	    node_json_u128(n->chain.params.existential_deposit), "treasury",
	    node_json_account(n, n->chain.params.treasury), "mining_reward_pool",
	    node_json_account(n, n->chain.params.mining_reward_pool), "max_mortality",
	    TX_MAX_MORTALITY, "max_tx_bytes", TX_MAX_BYTES, "consensus", node_json_consensus(n),
	    "peers", (json_int_t)node_peer_count(n));
	return reply(result, j, err);
}

static json_t *submitted_json(const uint8_t txid[32], enum mempool_status where)
{
	return json_pack("{s:o, s:s}", "txid", node_json_hex(txid, 32), "status",
	                 where == MEMPOOL_READY ? "ready" : "future");
}

static int m_tx_submit(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"tx"};
	struct node *n = app;
	const char *hex;
	uint8_t *b = NULL;
	size_t len = 0;
	uint8_t txid[32];
	enum mempool_status where = MEMPOOL_READY;
	if (rpc_params_check(params, names, 1, err) || rpc_param_string(params, 0, "tx", &hex, err))
		return -1;
	if (strlen(hex) > NODE_MAX_TX_HEX) {
		atomic_fetch_add(&n->m.txs_rejected, 1);
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: larger than %d bytes",
		                     TX_MAX_BYTES);
	}
	if (!hex_decode_alloc(&b, &len, hex, TX_MAX_BYTES)) {
		atomic_fetch_add(&n->m.txs_rejected, 1);
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "param \"tx\" must be hex");
	}
	int r = node_admit(n, b, len, txid, &where, err);
	free(b);
	if (r != 0)
		return -1;
	return reply(result, submitted_json(txid, where), err);
}

/* Splits a POST /txs body (the channel-1 batch framing: uleb length ‖ tx bytes, repeated) into
 * at most NODE_MAX_BULK txs. Returns the count, or -1 with a reason in why when the framing is
 * bad. */
static long split_bulk(const uint8_t *body, size_t len, const uint8_t **txs, size_t *lens,
                       char *why, size_t whylen)
{
	struct dec d;
	dec_init(&d, body, len);
	size_t k = node_msg_tx_batch(&d, txs, lens, NODE_MAX_BULK);
	if (d.err) {
		snprintf(why, whylen, "transaction %zu (byte %zu): %s", k, d.pos,
		         codec_strerror(d.err));
		return -1;
	}
	if (dec_remaining(&d) > 0) {
		snprintf(why, whylen, "more than %d transactions in one request", NODE_MAX_BULK);
		return -1;
	}
	return (long)k;
}

/* One bulk submission's txs and, per tx, the admission verdict. */
struct bulk {
	struct node *n;
	const uint8_t *txs[NODE_MAX_BULK];
	size_t lens[NODE_MAX_BULK];
	uint8_t txids[NODE_MAX_BULK][32];
	enum mempool_status where[NODE_MAX_BULK];
	struct rpc_error err[NODE_MAX_BULK];
	bool ok[NODE_MAX_BULK];
};

static void bulk_admit_one(void *ctx, size_t i)
{
	struct bulk *b = ctx;
	b->ok[i] =
	    node_admit(b->n, b->txs[i], b->lens[i], b->txids[i], &b->where[i], &b->err[i]) == 0;
}

static json_t *bulk_results(const struct bulk *b, size_t k)
{
	json_t *results = json_array();
	for (size_t i = 0; results && i < k; i++) {
		json_t *one = b->ok[i] ? submitted_json(b->txids[i], b->where[i])
		                       : rpc_error_object(b->err[i].code, b->err[i].message);
		if (json_array_append_new(results, one) != 0) {
			json_decref(results);
			return NULL;
		}
	}
	return results ? json_pack("{s:o}", "results", results) : NULL;
}

/* POST /txs: binary bulk submission, the same admission as tx_submit without the JSON and hex
 * encoding of each tx (docs/rpc.md). The txs are admitted in parallel on every CPU; each
 * sender's txs are still ordered by the pool by nonce. */
static void post_txs(void *app, const uint8_t *body, size_t len, struct rpc_get_reply *r)
{
	struct node *n = app;
	char why[160];
	struct bulk *b = malloc(sizeof(*b));
	if (!b) {
		r->status = 500;
		return;
	}
	b->n = n;
	long k = split_bulk(body, len, b->txs, b->lens, why, sizeof(why));
	if (k < 0) {
		rpc_get_reply_error(r, 400, RPC_CODE_INVALID_PARAMS, why);
	} else {
		node_par_for(n->par, (size_t)k, bulk_admit_one, b);
		rpc_get_reply_json(r, 200, bulk_results(b, (size_t)k));
	}
	free(b);
}

/* Reads the receipt and block hash of an included tx. 1 found, 0 not included, -1 error. */
static int find_included(struct node *n, MDB_txn *txn, const uint8_t txid[32], uint64_t *height,
                         uint32_t *index, struct receipt *rc)
{
	MDB_val v;
	enum bstore_result r = bstore_tx_location(n->chain.store, txn, txid, height, index);
	if (r == BSTORE_NOT_FOUND)
		return 0;
	if (r != BSTORE_OK ||
	    bstore_get_receipt(n->chain.store, txn, *height, *index, &v) != BSTORE_OK ||
	    receipt_decode(rc, v.mv_data, v.mv_size) != BLOCK_OK)
		return -1;
	return 1;
}

static int block_hash_at(struct node *n, MDB_txn *txn, uint64_t height, uint8_t hash[32])
{
	MDB_val blk;
	struct header h;
	if (bstore_get_block(n->chain.store, txn, height, &blk, NULL) != BSTORE_OK ||
	    blk.mv_size < HEADER_LEN || header_decode(&h, blk.mv_data, HEADER_LEN) != BLOCK_OK)
		return -1;
	header_hash(hash, &h);
	return 0;
}

static int m_tx_status(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"txid"};
	struct node *n = app;
	const char *s;
	uint8_t txid[32], bh[32];
	uint64_t height;
	uint32_t index;
	struct receipt rc;
	struct mempool_info info;
	MDB_txn *txn;
	if (rpc_params_check(params, names, 1, err) ||
	    rpc_param_string(params, 0, "txid", &s, err) || parse_hash(s, "txid", txid, err))
		return -1;
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return storage_error(err);
	int found = find_included(n, txn, txid, &height, &index, &rc);
	if (found == 1 && block_hash_at(n, txn, height, bh) != 0)
		found = -1;
	bstore_abort(txn);
	if (found < 0)
		return storage_error(err);
	if (found == 0) {
		bool pending = mempool_get(n->pool, txid, &info, NULL, 0);
		return reply(
		    result,
		    json_pack("{s:s, s:s}", "txid", s, "status", pending ? "pending" : "unknown"),
		    err);
	}
	json_t *j =
	    json_pack("{s:o, s:s, s:I, s:i, s:o, s:b, s:o, s:o}", "txid", node_json_hex(txid, 32),
	              "status", "included", "height", (json_int_t)height, "index", (int)index,
	              "block_hash", node_json_hex(bh, 32), "success", rc.result == TX_OK, "fee",
	              node_json_u128(rc.fee), "tip", node_json_u128(rc.tip));
	if (j && rc.result != TX_OK)
		json_object_set_new(j, "error",
		                    json_string(tx_strerror((enum tx_result)rc.result)));
	return reply(result, j, err);
}

/* The JSON of the index-th tx of the stored block at height, with its receipt. */
static json_t *stored_tx_json(struct node *n, MDB_txn *txn, const struct block *b, uint64_t height,
                              uint32_t index, bool raw)
{
	struct tx tx;
	struct receipt rc;
	MDB_val v;
	uint8_t txid[32];
	if (tx_decode(&tx, b->txs[index], b->tx_lens[index]) != CODEC_OK ||
	    bstore_get_receipt(n->chain.store, txn, height, index, &v) != BSTORE_OK ||
	    receipt_decode(&rc, v.mv_data, v.mv_size) != BLOCK_OK)
		return NULL;
	tx_id(txid, b->txs[index], tx.body_len);
	json_t *j = node_json_tx(n, &tx, txid, &rc);
	if (j && raw) {
		json_object_set_new(j, "height", json_integer((json_int_t)height));
		json_object_set_new(j, "index", json_integer(index));
		json_object_set_new(j, "raw", node_json_hex(b->txs[index], b->tx_lens[index]));
	}
	return j;
}

static int m_tx_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"txid"};
	struct node *n = app;
	const char *s;
	uint8_t txid[32];
	uint64_t height;
	uint32_t index;
	struct receipt rc;
	MDB_txn *txn;
	MDB_val blk;
	struct block b;
	json_t *j = NULL;
	if (rpc_params_check(params, names, 1, err) ||
	    rpc_param_string(params, 0, "txid", &s, err) || parse_hash(s, "txid", txid, err))
		return -1;
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return storage_error(err);
	block_init(&b);
	int found = find_included(n, txn, txid, &height, &index, &rc);
	if (found == 1 && bstore_get_block(n->chain.store, txn, height, &blk, NULL) == BSTORE_OK &&
	    block_decode(&b, blk.mv_data, blk.mv_size) == BLOCK_OK && index < b.n_txs)
		j = stored_tx_json(n, txn, &b, height, index, true);
	block_release(&b);
	bstore_abort(txn);
	if (found == 0)
		return rpc_error_set(err, RPC_NOT_FOUND, "transaction %s is not in any block", s);
	if (found < 0 || !j)
		return storage_error(err);
	*result = j;
	return 0;
}

/* Resolves a block argument (height, "latest", or hash) to a height. */
static int resolve_block(struct node *n, MDB_txn *txn, json_t *params, uint64_t *height,
                         struct rpc_error *err)
{
	json_t *v = json_is_array(params)    ? json_array_get(params, 0)
	            : json_is_object(params) ? json_object_get(params, "block")
	                                     : NULL;
	uint8_t hash[32];
	if (!v || json_is_null(v) ||
	    (json_is_string(v) && !strcmp(json_string_value(v), "latest"))) {
		struct node_head h;
		node_head_get(n, &h);
		*height = h.height;
	} else if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*height = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v) && hex_decode_exact(hash, 32, json_string_value(v))) {
		if (bstore_height_of(n->chain.store, txn, hash, height) != BSTORE_OK)
			return rpc_error_set(err, RPC_NOT_FOUND, "no block with hash %s",
			                     json_string_value(v));
	} else {
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "param \"block\" must be a "
		                     "height, \"latest\" or a block hash");
	}
	if (*height == 0)
		return rpc_error_set(err, RPC_NOT_FOUND,
		                     "no block at height 0 (the first block is 1)");
	return 0;
}

static json_t *block_json(struct node *n, MDB_txn *txn, uint64_t height, const MDB_val *blk,
                          const MDB_val *com, bool full)
{
	struct block b;
	struct commit c;
	uint8_t hash[32];
	json_t *j = NULL, *txs = NULL;
	block_init(&b);
	if (block_decode(&b, blk->mv_data, blk->mv_size) != BLOCK_OK ||
	    commit_decode(&c, com->mv_data, com->mv_size) != BLOCK_OK)
		goto out;
	header_hash(hash, &b.header);
	if (!full) {
		j = node_json_header(&b.header, hash);
		goto out;
	}
	txs = json_array();
	for (uint32_t i = 0; txs && i < b.n_txs; i++)
		if (json_array_append_new(txs, stored_tx_json(n, txn, &b, height, i, false)) != 0)
			goto out;
	struct node_reader_ctx rc = {n->chain.smt, txn};
	struct state_reader rd;
	struct valset vs;
	node_reader(&rd, &rc);
	bool known = validators_set_at(&rd, height, &vs) == 1;
	j = json_pack("{s:o, s:o, s:O, s:o, s:I}", "hash", node_json_hex(hash, 32), "header",
	              node_json_header(&b.header, hash), "txs", txs, "commit",
	              node_json_commit(n, &c, known ? &vs : NULL), "size",
	              (json_int_t)blk->mv_size);
out:
	json_decref(txs);
	block_release(&b);
	return j;
}

static int get_block_common(struct node *n, json_t *params, json_t **result, bool full,
                            struct rpc_error *err)
{
	static const char *const names[] = {"block"};
	MDB_txn *txn;
	MDB_val blk, com;
	uint64_t height;
	json_t *j = NULL;
	if (rpc_params_check(params, names, 1, err))
		return -1;
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return storage_error(err);
	int r = resolve_block(n, txn, params, &height, err);
	enum bstore_result br = BSTORE_NOT_FOUND;
	if (r == 0) {
		br = bstore_get_block(n->chain.store, txn, height, &blk, &com);
		if (br == BSTORE_OK)
			j = block_json(n, txn, height, &blk, &com, full);
	}
	bstore_abort(txn);
	if (r != 0)
		return -1;
	if (br == BSTORE_NOT_FOUND)
		return rpc_error_set(err, RPC_NOT_FOUND, "no block at height %llu",
		                     (unsigned long long)height);
	if (!j)
		return storage_error(err);
	*result = j;
	return 0;
}

static int m_block_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	return get_block_common(app, params, result, true, err);
}

static int m_header_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	return get_block_common(app, params, result, false, err);
}

/* Adds the state proof of key to j. */
static int add_proof(struct node *n, MDB_txn *txn, json_t *j, const uint8_t *key, size_t klen,
                     const MDB_val *val)
{
	struct enc e;
	enc_init(&e, SMT_PROOF_MAX);
	enum smt_result r = smt_prove(n->chain.smt, txn, key, klen, &e);
	if (r == SMT_OK) {
		json_object_set_new(j, "proof", node_json_hex(e.buf, e.len));
		json_object_set_new(j, "key", node_json_hex(key, klen));
		json_object_set_new(j, "value",
		                    val ? node_json_hex(val->mv_data, val->mv_size) : json_null());
	}
	enc_release(&e);
	return r == SMT_OK ? 0 : -1;
}

static int m_account_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"address", "prove"};
	struct node *n = app;
	const char *addr;
	bool prove;
	uint8_t pk[32], key[RUNTIME_ACCOUNT_KEY_LEN], root[32];
	struct account a = {0, 0};
	MDB_txn *txn;
	MDB_val v;
	uint64_t version;
	if (rpc_params_check(params, names, 2, err) ||
	    rpc_param_string(params, 0, "address", &addr, err) ||
	    rpc_param_bool(params, 1, "prove", false, &prove, err) ||
	    parse_account(n, addr, pk, err))
		return -1;
	runtime_account_key(key, pk);
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return storage_error(err);
	enum smt_result sr = smt_get(n->chain.smt, txn, key, sizeof(key), &v);
	bool exists = sr == SMT_OK;
	bool ok = (sr == SMT_OK || sr == SMT_NOT_FOUND) &&
	          smt_root(n->chain.smt, txn, &version, root) == SMT_OK &&
	          (!exists || runtime_account_decode(&a, v.mv_data, v.mv_size));
	char pha[AMOUNT_STR_MAX];
	json_t *j =
	    !ok ? NULL
	        : json_pack("{s:o, s:o, s:b, s:I, s:I, s:o, s:s, s:I, s:o}", "address",
	                    node_json_account(n, pk), "public_key", node_json_hex(pk, 32), "exists",
	                    exists, "nonce", (json_int_t)a.nonce, "next_nonce",
	                    (json_int_t)mempool_sender_next_nonce(n->pool, pk, a.nonce), "balance",
	                    node_json_u128(a.free), "balance_pha", amount_format_pha(pha, a.free),
	                    "height", (json_int_t)version, "state_root", node_json_hex(root, 32));
	if (j && prove && add_proof(n, txn, j, key, sizeof(key), exists ? &v : NULL) != 0) {
		json_decref(j);
		j = NULL;
	}
	bstore_abort(txn);
	if (!ok || !j)
		return storage_error(err);
	*result = j;
	return 0;
}

static int m_mempool_status(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	struct mempool_stats st;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	mempool_stats(n->pool, &st);
	return reply(result,
	             json_pack("{s:I, s:I, s:I, s:I, s:I}", "ready", (json_int_t)st.ready_txs,
	                       "future", (json_int_t)st.future_txs, "ready_bytes",
	                       (json_int_t)st.ready_bytes, "future_bytes",
	                       (json_int_t)st.future_bytes, "senders", (json_int_t)st.senders),
	             err);
}

static const struct rpc_method node_methods[] = {
    {"chain_info", m_chain_info, "-> chain identity, head, fees"},
    {"tx_submit", m_tx_submit, "[tx_hex] -> {txid, status}"},
    {"tx_status", m_tx_status, "[txid] -> pending | included (+ receipt) | unknown"},
    {"tx_get", m_tx_get, "[txid] -> the included tx decoded"},
    {"block_get", m_block_get, "[height | \"latest\" | hash] -> block with txs and commit"},
    {"header_get", m_header_get, "[height | \"latest\" | hash] -> header"},
    {"account_get", m_account_get, "[address, prove?] -> balance, nonce (+ state proof)"},
    {"mempool_status", m_mempool_status, "-> pool counts and bytes"},
    {"net_info", node_m_net_info, "-> node key, peers with their heights, consensus position"},
    {"evidence_reported", node_m_evidence_reported, "-> equivocations this node saw and reported"},
    {"evidence_get", node_m_evidence_get, "[id] -> evidence committed on chain"},
    NODE_FEED_METHODS,
};

void node_rpc_table(struct node *n, struct rpc_table *out)
{
	*out = (struct rpc_table){node_methods, sizeof(node_methods) / sizeof(node_methods[0]), n,
	                          0, 0};
}

static void get_health(void *app, struct rpc_get_reply *r)
{
	struct node *n = app;
	struct node_head h;
	node_head_get(n, &h);
	bool ok = !atomic_load(&n->stopping);
	r->status = ok ? 200 : 503;
	r->content_type = "application/json";
	r->body = malloc(96);
	if (!r->body) {
		r->status = 500;
		return;
	}
	r->len = (size_t)snprintf(r->body, 96, "{\"ok\":%s,\"height\":%llu}\n",
	                          ok ? "true" : "false", (unsigned long long)h.height);
}

struct metric_row {
	const char *name;
	const char *type;
	const char *help;
	double value;
};

static void get_metrics(void *app, struct rpc_get_reply *r)
{
	struct node *n = app;
	struct node_stats st;
	struct rpc_stats rs;
	size_t len = 0;
	FILE *f = open_memstream(&r->body, &len);
	if (!f) {
		r->status = 500;
		return;
	}
	node_stats(n, &st);
	rpc_server_stats(n->rpc, &rs);
	const struct metric_row rows[] = {
	    {"tenebra_height", "gauge", "Height of the committed head.", (double)st.height},
	    {"tenebra_blocks_total", "counter", "Blocks committed by this node.",
	     (double)st.blocks},
	    {"tenebra_txs_applied_total", "counter", "Included txs whose call succeeded.",
	     (double)st.txs_applied},
	    {"tenebra_txs_failed_total", "counter", "Included txs whose call failed.",
	     (double)st.txs_failed},
	    {"tenebra_txs_skipped_total", "counter", "Reaped txs not includable at execution.",
	     (double)st.txs_skipped},
	    {"tenebra_txs_accepted_total", "counter", "Txs admitted to the pool.",
	     (double)st.txs_accepted},
	    {"tenebra_txs_rejected_total", "counter", "Txs refused at admission.",
	     (double)st.txs_rejected},
	    {"tenebra_mempool_ready_txs", "gauge", "Ready txs in the pool.", (double)st.pool_ready},
	    {"tenebra_mempool_future_txs", "gauge", "Future txs in the pool.",
	     (double)st.pool_future},
	    {"tenebra_mempool_bytes", "gauge", "Bytes of txs in the pool.", (double)st.pool_bytes},
	    {"tenebra_last_block_seconds", "gauge", "Time to commit the last block.",
	     (double)st.last_block_us / 1e6},
	    {"tenebra_block_seconds_total", "counter", "Time spent committing blocks.",
	     (double)st.block_us_total / 1e6},
	    {"tenebra_last_block_txs", "gauge", "Txs in the last block.",
	     (double)st.last_block_txs},
	    {"tenebra_db_bytes", "gauge", "Bytes used by the database.", (double)st.db_bytes},
	    {"tenebra_rpc_calls_total", "counter", "JSON-RPC calls handled.", (double)rs.rpc_calls},
	    {"tenebra_rpc_errors_total", "counter", "JSON-RPC error responses.",
	     (double)rs.rpc_errors},
	    {"tenebra_sse_subscribers", "gauge", "Connected head subscribers.",
	     (double)rs.sse_subscribers},
	    {"tenebra_peers", "gauge", "Connected peers.", (double)node_peer_count(n)},
	    {"tenebra_consensus_round", "gauge", "Round of the height being decided.",
	     (double)node_cs_round(n)},
	    {"tenebra_consensus_extra_rounds_total", "counter",
	     "Rounds beyond round 0 that decided heights needed.", (double)st.rounds_extra},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", rows[i].name, rows[i].help,
		        rows[i].name, rows[i].type, rows[i].name, rows[i].value);
	fclose(f);
	r->len = len;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

enum node_result node_rpc_start(struct node *n, char *err, size_t errlen)
{
	struct rpc_config rc;
	char rerr[256] = "";
	memset(&rc, 0, sizeof(rc));
	rc.host = n->cfg.rpc_host;
	rc.port = n->cfg.rpc_port;
	rc.threads = n->cfg.rpc_threads;
	if (rpc_server_start(&n->rpc, &rc, node_methods,
	                     sizeof(node_methods) / sizeof(node_methods[0]), n, rerr,
	                     sizeof(rerr)) != RPC_SERVER_OK) {
		snprintf(err, errlen, "%s", rerr);
		return NODE_RPC;
	}
	rpc_add_get(n->rpc, "/health", get_health);
	rpc_add_get(n->rpc, "/metrics", get_metrics);
	rpc_add_post(n->rpc, "/txs", "application/octet-stream", post_txs);
	rpc_add_post(n->rpc, "/feeds", "application/octet-stream", node_post_feeds);
	n->heads = rpc_add_sse(n->rpc, "/events/heads");
	return NODE_OK;
}
