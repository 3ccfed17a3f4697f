/* Transaction admission: the one path into the pool, for RPC submissions, peers' gossip and the
 * node's own evidence reports. Admitted txs are queued for gossip. */
#include "node/node_int.h"

/* Checks one decoded tx against committed state and adds it to the pool. */
static int check_and_add(struct node *n, const uint8_t *b, size_t len, const struct tx *tx,
                         const uint8_t txid[32], enum mempool_status *where, struct rpc_error *err)
{
	struct node_reader_ctx rc = {n->chain.smt, NULL};
	struct state_reader rd;
	struct tx_check chk;
	struct node_head h;
	node_head_get(n, &h);
	if (bstore_begin(n->chain.store, false, &rc.txn) != BSTORE_OK)
		return rpc_error_set(err, RPC_STORAGE, "database read failed");
	node_reader(&rd, &rc);
	enum tx_result tr = runtime_check_tx(&n->chain.params, &rd, tx, len, h.height + 1, &chk);
	bstore_abort(rc.txn);
	if (tr != TX_OK) {
		char why[200];
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: %s",
		                     runtime_describe(why, sizeof(why), tr, &chk));
	}
	enum mempool_result mr =
	    mempool_add(n->pool, b, len, tx, txid, chk.account_nonce, chk.fee + chk.tip, where);
	if (mr != MEMPOOL_OK)
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: %s", mempool_strerror(mr));
	return 0;
}

static int admit(struct node *n, const uint8_t *b, size_t len, bool sig_checked, uint8_t txid[32],
                 enum mempool_status *where, struct rpc_error *err)
{
	struct tx tx;
	struct mempool_info info;
	enum codec_result cr = tx_decode(&tx, b, len);
	if (cr != CODEC_OK)
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: malformed: %s",
		                     codec_strerror(cr));
	tx_id(txid, b, tx.body_len);
	if (mempool_get(n->pool, txid, &info, NULL, 0))
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: %s",
		                     mempool_strerror(MEMPOOL_DUPLICATE));
	if (!sig_checked && !tx_verify_sig(&tx, b, len))
		return rpc_error_set(err, RPC_TX_REJECTED, "tx rejected: bad signature");
	return check_and_add(n, b, len, &tx, txid, where, err);
}

int node_admit(struct node *n, const uint8_t *b, size_t len, uint8_t txid[32],
               enum mempool_status *where, struct rpc_error *err)
{
	return node_admit_checked(n, b, len, false, txid, where, err);
}

int node_admit_checked(struct node *n, const uint8_t *b, size_t len, bool sig_checked,
                       uint8_t txid[32], enum mempool_status *where, struct rpc_error *err)
{
	int r = admit(n, b, len, sig_checked, txid, where, err);
	atomic_fetch_add(r == 0 ? &n->m.txs_accepted : &n->m.txs_rejected, 1);
	if (r == 0 && n->p2p) {
		p2p_seen_add(&n->tx_seen, txid); /* its echo from a peer is dropped unverified */
		node_gossip_tx(n, b, len);
	}
	return r;
}
