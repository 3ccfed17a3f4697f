/*
 * Custody of public PHA by contracts (part of the contracts module, id 5): the custody accounts
 * and their markers, contracts.deposit (public PHA into a contract's custody, told to the contract
 * by a message) and the consumer of CONTRACTS_TOPIC_WITHDRAW (the contract releases PHA from its
 * custody). API: chain/contracts.h "Custody"; formats: docs/protocol/runtime.md "Contracts".
 *
 * The contract keeps the dark balances; the chain keeps only the custody account, so the
 * invariant "custody balance == what the contract issued" holds because custody is filled only
 * by deposits (balances.transfer to it is refused) and emptied only by the contract's own signed
 * withdraw messages, each consumed once (the message queue's per-sender sequence).
 */
#include <string.h>

#include "chain/registry_int.h"
#include "crypto/hash.h"

#define CUSTODY_PREFIX "custody/"
#define CUSTODY_KEY    (8 + 32)
#define MODULE_NAME    "contracts"

/* ---- custody accounts ---- */

void contracts_custody_account(uint8_t out[32], const uint8_t id[32])
{
	hash_tagged(out, CONTRACTS_CUSTODY_TAG, id, 32);
}

static enum codec_result decode_id(void *out, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	dec_raw(&d, out, 32);
	return dec_finish(&d);
}

int contracts_custody_of(const struct state_reader *r, const uint8_t account[32],
                         uint8_t id_out[32])
{
	uint8_t key[CUSTODY_KEY], id[32], check[32];
	int rc =
	    registry_read(r, key, registry_key_id(key, CUSTODY_PREFIX, account), decode_id, id);
	if (rc != 1)
		return rc;
	contracts_custody_account(check, id);
	if (memcmp(check, account, 32) != 0)
		return -1; /* a marker names the contract whose custody account it is keyed by */
	if (id_out)
		memcpy(id_out, id, 32);
	return 1;
}

enum tx_result contracts_custody_record(struct state_overlay *o, const uint8_t id[32])
{
	uint8_t key[CUSTODY_KEY], account[32];
	contracts_custody_account(account, id);
	return runtime_put(o, key, registry_key_id(key, CUSTODY_PREFIX, account), id, 32);
}

/* ---- contracts.deposit ---- */

void contracts_deposit_payload(uint8_t out[CONTRACTS_DEPOSIT_PAYLOAD_LEN], const uint8_t id[32],
                               u128 amount)
{
	struct enc e;
	enc_init_fixed(&e, out, CONTRACTS_DEPOSIT_PAYLOAD_LEN);
	enc_raw(&e, id, 32);
	enc_u128(&e, amount);
	(void)enc_finish(&e); /* exactly fits by construction */
}

static bool deposit_decode(const struct tx *tx, uint8_t id[32], u128 *amount)
{
	struct dec d;
	dec_init(&d, tx->payload, tx->payload_len);
	dec_raw(&d, id, 32);
	*amount = dec_u128(&d);
	return dec_finish(&d) == CODEC_OK;
}

enum tx_result contracts_deposit_validate(const struct tx *tx)
{
	uint8_t id[32];
	u128 amount;
	if (!deposit_decode(tx, id, &amount))
		return TX_BAD_PAYLOAD;
	return amount ? TX_OK : TX_ZERO_AMOUNT;
}

/* The contract must exist and run the code that keeps deposits (another code would never credit
 * the depositor, and its custody could never be released as deposited). */
static enum tx_result deposit_target(const struct state_reader *r, const uint8_t id[32])
{
	struct contracts_info info;
	int rc = contracts_get(r, id, &info);
	if (rc < 0)
		return TX_STORAGE;
	if (rc == 0)
		return TX_CALL_CONTRACT_UNKNOWN;
	return strcmp(info.code, CONTRACTS_DEPOSIT_CODE) == 0 ? TX_OK
	                                                      : TX_CALL_CONTRACT_NO_DEPOSITS;
}

enum tx_result contracts_deposit_admit(const struct runtime_params *p, const struct state_reader *r,
                                       const struct tx *tx, struct tx_check *c)
{
	uint8_t id[32];
	u128 amount;
	if (!deposit_decode(tx, id, &amount))
		return TX_BAD_PAYLOAD;
	enum tx_result res = deposit_target(r, id);
	return res == TX_OK ? balances_admit_spend(p, amount, c) : res;
}

static enum tx_result emit_deposit(struct runtime_ctx *c, const uint8_t id[32], u128 amount)
{
	uint8_t msg[CONTRACTS_MSG_DEPOSIT_LEN];
	char topic[CONTRACTS_TOPIC_LEN + 1];
	struct enc e;
	enc_init_fixed(&e, msg, sizeof(msg));
	enc_u8(&e, CONTRACTS_MSG_DEPOSIT);
	enc_raw(&e, c->tx->sender, 32);
	enc_u128(&e, amount);
	(void)enc_finish(&e); /* exactly fits by construction */
	contracts_message_topic(topic, id);
	return mq_emit(c->overlay, MODULE_NAME, topic, msg, sizeof(msg));
}

enum tx_result contracts_deposit_apply(struct runtime_ctx *c)
{
	uint8_t id[32], custody[32];
	u128 amount;
	struct state_reader rd;
	if (!deposit_decode(c->tx, id, &amount))
		return TX_BAD_PAYLOAD;
	state_overlay_reader(c->overlay, &rd);
	enum tx_result r = deposit_target(&rd, id);
	if (r != TX_OK)
		return r;
	contracts_custody_account(custody, id);
	r = balances_move(c, c->tx->sender, custody, amount,
	                  BALANCES_MOVE_KEEP_ALIVE | BALANCES_MOVE_TO_CUSTODY, c->check);
	return r == TX_OK ? emit_deposit(c, id, amount) : r;
}

/* ---- the withdraw consumer ---- */

void contracts_withdraw_payload(uint8_t out[CONTRACTS_WITHDRAW_PAYLOAD_LEN], uint64_t ref,
                                const uint8_t dest[32], u128 amount)
{
	struct enc e;
	enc_init_fixed(&e, out, CONTRACTS_WITHDRAW_PAYLOAD_LEN);
	enc_u64(&e, ref);
	enc_raw(&e, dest, 32);
	enc_u128(&e, amount);
	(void)enc_finish(&e); /* exactly fits by construction */
}

bool contracts_withdraw_decode(const uint8_t *p, size_t n, uint64_t *ref, uint8_t dest[32],
                               u128 *amount)
{
	struct dec d;
	dec_init(&d, p, n);
	*ref = dec_u64(&d);
	dec_raw(&d, dest, 32);
	*amount = dec_u128(&d);
	return dec_finish(&d) == CODEC_OK;
}

static bool node_error(enum tx_result r)
{
	return r == TX_STORAGE || r == TX_STATE_FULL || r == TX_NOMEM;
}

/* Moves amount from contract's custody to dest: TX_OK, the refusal, or a node error. */
static enum tx_result release(struct runtime_ctx *c, const uint8_t contract[32],
                              const uint8_t dest[32], u128 amount)
{
	uint8_t custody[32];
	struct state_reader rd;
	if (amount == 0)
		return TX_ZERO_AMOUNT;
	contracts_custody_account(custody, contract);
	state_overlay_reader(c->overlay, &rd);
	int rc = contracts_custody_of(&rd, dest, NULL);
	if (rc < 0)
		return TX_STORAGE;
	if (rc || memcmp(dest, custody, 32) == 0)
		return TX_CALL_CUSTODY_ACCOUNT;
	return balances_move(c, custody, dest, amount, 0, NULL);
}

static enum tx_result answer(struct runtime_ctx *c, const uint8_t contract[32], uint64_t ref,
                             enum tx_result result)
{
	uint8_t msg[CONTRACTS_MSG_WITHDRAWN_LEN];
	char topic[CONTRACTS_TOPIC_LEN + 1];
	struct enc e;
	enc_init_fixed(&e, msg, sizeof(msg));
	enc_u8(&e, CONTRACTS_MSG_WITHDRAWN);
	enc_u64(&e, ref);
	enc_u32(&e, (uint32_t)result);
	(void)enc_finish(&e); /* exactly fits by construction */
	contracts_message_topic(topic, contract);
	return mq_emit(c->overlay, MODULE_NAME, topic, msg, sizeof(msg));
}

/* A refused release still returns TX_OK: the answer must be kept (the contract refunds on it),
 * and a consumer's call error would revert it with the consumer's other writes. */
enum tx_result contracts_on_withdraw(struct runtime_ctx *c, const struct mq_message *m)
{
	uint64_t ref;
	uint8_t dest[32];
	u128 amount;
	if (m->origin.kind != MQ_ORIGIN_CONTRACT)
		return TX_CALL_MQ_BAD_ORIGIN;
	if (!contracts_withdraw_decode(m->payload, m->payload_len, &ref, dest, &amount))
		return TX_CALL_MQ_BAD_MESSAGE;
	enum tx_result r = release(c, m->origin.id, dest, amount);
	if (node_error(r))
		return r;
	return answer(c, m->origin.id, ref, r);
}
