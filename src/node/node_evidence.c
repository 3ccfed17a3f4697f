/* Equivocation evidence: the machine reports two conflicting votes of one validator; the node
 * turns them into the chain's evidence type and submits validators.report_evidence, signed by
 * its validator key, which also pays the fee (docs/operator.md "Evidence"). A node without a
 * validator key, or whose key holds no funds, logs the offence and submits nothing. */
#include <string.h>

#include "base/log.h"
#include "chain/validators.h"
#include "node/node_int.h"

/* The chain's form of the machine's evidence (keys from the height's set). */
static void to_chain(const struct node *n, const struct cons_evidence *ce,
                     struct dup_vote_evidence *ev)
{
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->pub_key, n->chain.head.next.v[ce->a.validator].pub_key, 32);
	ev->type = ce->a.type;
	ev->height = ce->a.height;
	ev->round = ce->a.round;
	memcpy(ev->block_hash_a, ce->a.block_hash, 32);
	memcpy(ev->sig_a, ce->a.sig, 64);
	memcpy(ev->block_hash_b, ce->b.block_hash, 32);
	memcpy(ev->sig_b, ce->b.sig, 64);
}

/* True the first time an offence is seen (the memory is a ring). */
static bool first_time(struct node_engine *e, const uint8_t id[32])
{
	for (size_t i = 0; i < NODE_EVIDENCE_MEMORY; i++)
		if (memcmp(e->evidence_done[i], id, 32) == 0)
			return false;
	memcpy(e->evidence_done[e->evidence_next++ % NODE_EVIDENCE_MEMORY], id, 32);
	return true;
}

/* The next nonce of our validator account (committed nonce, then what the pool holds). */
static bool next_nonce(struct node *n, uint64_t *nonce)
{
	struct node_reader_ctx rc = {n->chain.smt, NULL};
	struct state_reader rd;
	struct account a;
	if (bstore_begin(n->chain.store, false, &rc.txn) != BSTORE_OK)
		return false;
	node_reader(&rd, &rc);
	int r = runtime_account_get(&rd, n->validator_pk, &a);
	bstore_abort(rc.txn);
	if (r != 1)
		return false;
	*nonce = mempool_sender_next_nonce(n->pool, n->validator_pk, a.nonce);
	return true;
}

/* Signs the report tx into buf; returns its length, 0 on failure. */
static size_t build_report(struct node *n, const struct dup_vote_evidence *ev, uint64_t nonce,
                           uint8_t *buf, size_t cap)
{
	uint8_t payload[VALIDATORS_EVIDENCE_LEN];
	struct enc e;
	struct tx tx = {.version = TX_VERSION,
	                .nonce = nonce,
	                .valid_until = n->chain.head.height + 64,
	                .module = RUNTIME_MODULE_VALIDATORS,
	                .function = VALIDATORS_FN_REPORT_EVIDENCE,
	                .payload = payload,
	                .payload_len = sizeof(payload)};
	u128 fee;
	uint64_t weight;
	enc_init_fixed(&e, payload, sizeof(payload));
	validators_evidence_encode(&e, ev);
	memcpy(tx.chain_id, n->chain.params.chain_id, 32);
	memcpy(tx.sender, n->validator_pk, 32);
	enc_init_fixed(&e, buf, cap);
	tx_encode(&e, &tx); /* fixed-width fields: the length does not depend on the fee */
	if (enc_finish(&e) != CODEC_OK ||
	    runtime_fee(&n->chain.params, &tx, e.len, &fee, &weight) != TX_OK)
		return 0;
	tx.max_fee = fee;
	if (!tx_sign(&tx, n->validator_sk))
		return 0;
	enc_init_fixed(&e, buf, cap);
	tx_encode(&e, &tx);
	return enc_finish(&e) == CODEC_OK ? e.len : 0;
}

static void remember(struct node *n, const struct dup_vote_evidence *ev, const uint8_t id[32],
                     const uint8_t txid[32])
{
	pthread_mutex_lock(&n->status_lock);
	struct node_evidence_note *note = &n->evidence[n->n_evidence++ % NODE_EVIDENCE_MEMORY];
	memcpy(note->id, id, 32);
	memcpy(note->txid, txid, 32);
	memcpy(note->pub_key, ev->pub_key, 32);
	note->type = ev->type;
	note->height = ev->height;
	note->round = ev->round;
	pthread_mutex_unlock(&n->status_lock);
}

void node_evidence_report(struct node *n, const struct cons_evidence *ce)
{
	struct dup_vote_evidence ev;
	uint8_t id[32], txid[32] = {0}, buf[1024];
	uint64_t nonce;
	struct rpc_error err = {0};
	enum mempool_status where;
	to_chain(n, ce, &ev);
	validators_evidence_id(id, &ev);
	if (!first_time(n->eng, id))
		return;
	log_warn("consensus", "validator %u equivocated at %llu/%u (%s)", ce->a.validator,
	         (unsigned long long)ev.height, ev.round,
	         ev.type == VOTE_PREVOTE ? "prevote" : "precommit");
	if (!n->has_validator_key || !next_nonce(n, &nonce)) {
		log_warn("consensus", "no funded validator account to report the equivocation");
		return remember(n, &ev, id, txid);
	}
	size_t len = build_report(n, &ev, nonce, buf, sizeof(buf));
	if (len && node_admit(n, buf, len, txid, &where, &err) == 0)
		log_info("consensus", "reported the equivocation in a transaction");
	else
		log_warn("consensus", "cannot report the equivocation: %s",
		         len ? err.message : "cannot build the transaction");
	remember(n, &ev, id, txid);
}
