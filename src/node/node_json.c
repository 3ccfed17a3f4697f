/* JSON views of chain objects for the RPC (shapes documented in docs/rpc.md). */
#include "node/node_int.h"

#include <sodium.h>
#include <stdlib.h>

#include "base/amount.h"
#include "base/ss58.h"
#include "chain/contracts.h"

json_t *node_json_hex(const void *p, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		return NULL;
	sodium_bin2hex(s, 2 * n + 1, p, n);
	json_t *j = json_string(s);
	free(s);
	return j;
}

json_t *node_json_u128(u128 v)
{
	char s[AMOUNT_STR_MAX];
	return json_string(amount_format_units(s, v));
}

json_t *node_json_account(const struct node *n, const uint8_t pk[32])
{
	char a[SS58_ADDR_MAX + 1];
	if (ss58_encode(a, sizeof(a), n->chain.params.ss58_prefix, pk) == 0)
		return NULL;
	return json_string(a);
}

json_t *node_json_header(const struct header *h, const uint8_t hash[32])
{
	return json_pack(
	    "{s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "hash",
	    node_json_hex(hash, 32), "height", (json_int_t)h->height, "time_ms",
	    (json_int_t)h->time_ms, "chain_id", node_json_hex(h->chain_id, 32), "prev_hash",
	    node_json_hex(h->prev_hash, 32), "txs_root", node_json_hex(h->txs_root, 32),
	    "msgs_root", node_json_hex(h->msgs_root, 32), "state_root",
	    node_json_hex(h->state_root, 32), "validators_hash",
	    node_json_hex(h->validators_hash, 32), "next_validators_hash",
	    node_json_hex(h->next_validators_hash, 32), "last_commit_hash",
	    node_json_hex(h->last_commit_hash, 32), "proposer", node_json_hex(h->proposer, 32));
}

json_t *node_json_commit(const struct node *n, const struct commit *c, const struct valset *vs)
{
	json_t *sigs = json_array();
	for (size_t i = 0; sigs && i < c->n; i++) {
		if (c->sigs[i].flag != COMMIT_SIGNED)
			continue;
		const uint8_t *pk = vs && i < vs->n ? vs->v[i].pub_key : NULL;
		json_array_append_new(sigs,
		                      json_pack("{s:o*, s:o}", "validator",
		                                pk ? node_json_account(n, pk) : NULL, "signature",
		                                node_json_hex(c->sigs[i].sig, 64)));
	}
	return json_pack("{s:I, s:i, s:o, s:o}", "height", (json_int_t)c->height, "round",
	                 (int)c->round, "block_hash", node_json_hex(c->block_hash, 32),
	                 "signatures", sigs);
}

/* The arguments of calls whose payload is an account or contract [32] ‖ amount u128: the first
 * field as an SS58 address (an account) or hex (a contract id). */
static json_t *key_amount_args(const struct node *n, const struct tx *tx, const char *key,
                               bool is_account)
{
	struct dec d;
	uint8_t who[32];
	char pha[AMOUNT_STR_MAX];
	dec_init(&d, tx->payload, tx->payload_len);
	dec_raw(&d, who, 32);
	u128 amount = dec_u128(&d);
	if (dec_finish(&d) != CODEC_OK)
		return NULL;
	return json_pack("{s:o, s:o, s:s}", key,
	                 is_account ? node_json_account(n, who) : node_json_hex(who, 32), "amount",
	                 node_json_u128(amount), "amount_pha", amount_format_pha(pha, amount));
}

/* The call's arguments, decoded per call. Unknown calls and payloads that do not decode show
 * the payload as hex. */
static json_t *call_args(const struct node *n, const struct tx *tx)
{
	static const struct {
		uint8_t module, function;
		const char *key; /* the name of the leading 32-byte field */
		bool is_account;
	} calls[] = {
	    {RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, "to", true},
	    {RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, "contract", false},
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (tx->module != calls[i].module || tx->function != calls[i].function)
			continue;
		json_t *j = key_amount_args(n, tx, calls[i].key, calls[i].is_account);
		if (j)
			return j;
	}
	return json_pack("{s:o}", "payload", node_json_hex(tx->payload, tx->payload_len));
}

json_t *node_json_tx(const struct node *n, const struct tx *tx, const uint8_t txid[32],
                     const struct receipt *rc)
{
	const char *call = runtime_call_name(tx->module, tx->function);
	json_t *j = json_pack(
	    "{s:o, s:o, s:I, s:I, s:o, s:o, s:s, s:o}", "txid", node_json_hex(txid, 32), "sender",
	    node_json_account(n, tx->sender), "nonce", (json_int_t)tx->nonce, "valid_until",
	    (json_int_t)tx->valid_until, "max_fee", node_json_u128(tx->max_fee), "tip",
	    node_json_u128(tx->tip), "call", call ? call : "unknown", "args", call_args(n, tx));
	if (j && rc) {
		json_object_set_new(j, "success", json_boolean(rc->result == TX_OK));
		json_object_set_new(j, "fee", node_json_u128(rc->fee));
		if (rc->result != TX_OK)
			json_object_set_new(j, "error",
			                    json_string(tx_strerror((enum tx_result)rc->result)));
	}
	return j;
}
