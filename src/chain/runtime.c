#include "chain/runtime.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/amount.h"
#include "chain/contracts.h"
#include "chain/runtime_int.h"
#include "crypto/hash.h"

/* The module table, indexed by module id. New modules are added here. */
static const struct runtime_module *const modules[] = {
    [RUNTIME_MODULE_SYSTEM] = &system_module,
    [RUNTIME_MODULE_BALANCES] = &balances_module,
    [RUNTIME_MODULE_VALIDATORS] = &validators_module,
    [RUNTIME_MODULE_REGISTRY] = &registry_module,
    [RUNTIME_MODULE_MQ] = &mq_module,
    [RUNTIME_MODULE_CONTRACTS] = &contracts_module,
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static const char *const tx_messages[] = {
    [TX_OK] = "ok",
    [TX_WRONG_CHAIN] = "wrong chain id (the tx was signed for another genesis)",
    [TX_EXPIRED] = "tx expired (valid_until is below the block height)",
    [TX_VALID_UNTIL_TOO_FAR] = "valid_until is more than 4096 blocks ahead",
    [TX_UNKNOWN_MODULE] = "unknown module",
    [TX_UNKNOWN_FUNCTION] = "unknown function",
    [TX_BAD_PAYLOAD] = "malformed payload for the call",
    [TX_ZERO_AMOUNT] = "transfer amount is zero",
    [TX_SELF_TRANSFER] = "transfer to self is not allowed",
    [TX_FEE_OVERFLOW] = "fee overflows",
    [TX_FEE_ABOVE_MAX] = "fee + tip exceeds max_fee",
    [TX_NO_ACCOUNT] = "sender account does not exist",
    [TX_NONCE_STALE] = "nonce is stale (already used)",
    [TX_NONCE_FUTURE] = "nonce is in the future",
    [TX_CANNOT_PAY_FEE] = "free balance cannot pay fee + tip",
    [TX_FEE_KEEP_ALIVE] = "paying fee + tip would leave less than the existential deposit",
    [TX_BALANCE_OVERFLOW] = "a balance or nonce would overflow",
    [TX_STORAGE] = "storage error or malformed state",
    [TX_STATE_FULL] = "the block's state write set is full",
    [TX_NOMEM] = "out of memory",
    [TX_EVIDENCE_BAD_SIG] = "evidence carries a vote signature that does not verify",
    [TX_CALL_INSUFFICIENT_BALANCE] = "amount exceeds the free balance",
    [TX_CALL_KEEP_ALIVE] = "transfer would leave the sender below the existential deposit",
    [TX_CALL_BELOW_ED] = "amount is below the existential deposit needed to create the account",
    [TX_CALL_OVERFLOW] = "the destination balance would overflow",
    [TX_CALL_NOT_SUDO] = "only the sudo account may make this call",
    [TX_CALL_NOT_VALIDATOR] = "the key is not in the validator set",
    [TX_CALL_VALSET_EMPTY] = "the change would leave the validator set empty",
    [TX_CALL_VALSET_FULL] = "the validator set is full (128 validators)",
    [TX_CALL_VALSET_OVERFLOW] = "the validator set's total power would be too large",
    [TX_CALL_REG_NOT_OPERATOR] = "a worker is registered by its operator account only",
    [TX_CALL_REG_OPERATOR_CHANGED] = "the worker is registered with another operator",
    [TX_CALL_REG_BACKEND_NOT_ALLOWED] = "the attestation policy does not allow this backend",
    [TX_CALL_REG_MEASUREMENT_NOT_ALLOWED] = "the measurement is not allowed by the policy",
    [TX_CALL_REG_REPORT_DATA_MISMATCH] =
        "report data is not the hash of the registration info (keys, operator, chain)",
    [TX_CALL_REG_STALE_REPORT] = "the report is not within max_report_age blocks of now",
    [TX_CALL_REG_UNKNOWN_SIM_KEY] = "sim report signed by a key the policy does not list",
    [TX_CALL_REG_BAD_REPORT_SIG] = "sim report signature does not verify",
    [TX_CALL_REG_BAD_QUOTE] = "SGX quote malformed, not matching the report, or debug",
    [TX_CALL_REG_LOW_CONFIDENCE] = "confidence level is weaker than the policy accepts",
    [TX_CALL_REG_UNKNOWN_WORKER] = "no registered worker has this identity",
    [TX_CALL_REG_ALREADY_GATEKEEPER] = "the worker is already a gatekeeper",
    [TX_CALL_REG_NOT_GATEKEEPER] = "not a gatekeeper",
    [TX_CALL_REG_LAST_GATEKEEPER] = "cannot remove the last gatekeeper holding the master key",
    [TX_CALL_REG_CLUSTER_EXISTS] = "the cluster already exists",
    [TX_CALL_REG_UNKNOWN_CLUSTER] = "no such cluster",
    [TX_CALL_REG_NO_MASTER_KEY] = "the current epoch's master key is not published yet",
    [TX_CALL_REG_KEY_CONFLICT] = "a different key is already published for this epoch",
    [TX_CALL_REG_FULL] = "the gatekeeper list or the master key history is full",
    [TX_CALL_MQ_BAD_ORIGIN] = "unknown message sender, or one that may not send this",
    [TX_CALL_MQ_BAD_SIGNATURE] = "a message signature does not verify",
    [TX_CALL_MQ_WRONG_SEQUENCE] = "message sequence is not the sender's next one",
    [TX_CALL_MQ_UNKNOWN_TOPIC] = "no chain module consumes this '^' topic",
    [TX_CALL_MQ_BAD_MESSAGE] = "the payload of a message to a chain module is malformed",
    [TX_CALL_CONTRACT_EXISTS] = "a contract with this id is already deployed",
    [TX_CALL_CONTRACT_UNKNOWN] = "no contract with this id",
    [TX_CALL_CONTRACT_NO_DEPOSITS] =
        "the contract does not take deposits (only \"" CONTRACTS_DEPOSIT_CODE "\" contracts do)",
    [TX_CALL_CUSTODY_ACCOUNT] = "the destination is a contract's custody account, which only "
                                "contracts.deposit may pay into",
    [TX_CALL_EVIDENCE_TOO_OLD] =
        "evidence too old: over the age limit, or the set of that height is no longer kept",
    [TX_CALL_EVIDENCE_FUTURE] = "evidence is for a height above the block's",
    [TX_CALL_EVIDENCE_DUPLICATE] = "this equivocation is already recorded",
};

const char *tx_strerror(enum tx_result r)
{
	if ((size_t)r < sizeof(tx_messages) / sizeof(tx_messages[0]) && tx_messages[r])
		return tx_messages[r];
	return "unknown tx result";
}

bool tx_result_is_call_error(enum tx_result r)
{
	return r >= TX_CALL_ERRORS;
}

enum tx_result runtime_from_state(enum state_result r)
{
	switch (r) {
	case STATE_OK:
		return TX_OK;
	case STATE_FULL:
		return TX_STATE_FULL;
	case STATE_NOMEM:
		return TX_NOMEM;
	case STATE_STORAGE:
		break;
	}
	return TX_STORAGE;
}

enum tx_result runtime_found(int rc, bool *found)
{
	*found = rc == 1;
	return rc < 0 ? TX_STORAGE : TX_OK;
}

enum tx_result runtime_get(struct state_overlay *o, const void *key, size_t klen, const uint8_t **v,
                           size_t *n, bool *found)
{
	return runtime_found(state_overlay_get(o, key, klen, v, n), found);
}

enum tx_result runtime_put(struct state_overlay *o, const void *key, size_t klen, const void *v,
                           size_t n)
{
	return runtime_from_state(state_overlay_put(o, key, klen, v, n));
}

enum tx_result runtime_require_sudo(const struct runtime_params *p, const struct tx *tx)
{
	return memcmp(tx->sender, p->sudo, 32) == 0 ? TX_OK : TX_CALL_NOT_SUDO;
}

enum tx_result runtime_admit_sudo(const struct runtime_params *p, const struct state_reader *r,
                                  const struct tx *tx, struct tx_check *c)
{
	(void)r;
	(void)c;
	return runtime_require_sudo(p, tx);
}

/* ---- accounts ---- */

void runtime_account_key(uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], const uint8_t pk[32])
{
	memcpy(key, RUNTIME_ACCOUNT_PREFIX, 5);
	memcpy(key + 5, pk, 32);
}

void runtime_account_encode(uint8_t out[RUNTIME_ACCOUNT_VALUE_LEN], const struct account *a)
{
	struct enc e;
	enc_init_fixed(&e, out, RUNTIME_ACCOUNT_VALUE_LEN);
	enc_u64(&e, a->nonce);
	enc_u128(&e, a->free);
	assert(enc_finish(&e) == CODEC_OK && e.len == RUNTIME_ACCOUNT_VALUE_LEN);
}

bool runtime_account_decode(struct account *a, const uint8_t *v, size_t n)
{
	struct dec d;
	dec_init(&d, v, n);
	a->nonce = dec_u64(&d);
	a->free = dec_u128(&d);
	return dec_finish(&d) == CODEC_OK;
}

int runtime_account_get(const struct state_reader *r, const uint8_t pk[32], struct account *a)
{
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN];
	const uint8_t *v = NULL;
	size_t n = 0;
	memset(a, 0, sizeof(*a));
	runtime_account_key(key, pk);
	int rc = r->get ? r->get(r->ctx, key, sizeof(key), &v, &n) : 0;
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	if (!runtime_account_decode(a, v, n)) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 1;
}

enum tx_result runtime_account_load(struct state_overlay *o, const uint8_t pk[32],
                                    struct account *a, bool *exists)
{
	struct state_reader r;
	state_overlay_reader(o, &r);
	return runtime_found(runtime_account_get(&r, pk, a), exists);
}

enum tx_result runtime_account_store(struct state_overlay *o, const uint8_t pk[32],
                                     const struct account *a)
{
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], val[RUNTIME_ACCOUNT_VALUE_LEN];
	runtime_account_key(key, pk);
	runtime_account_encode(val, a);
	return runtime_from_state(state_overlay_put(o, key, sizeof(key), val, sizeof(val)));
}

void runtime_module_account(uint8_t pk[32], const char *name)
{
	hash_tagged(pk, RUNTIME_MODULE_ACCOUNT_TAG, name, strlen(name));
}

/* ---- parameters ---- */

void runtime_params_encode(struct enc *e, const struct runtime_params *p)
{
	enc_u8(e, RUNTIME_PARAMS_VERSION);
	enc_raw(e, p->chain_id, 32);
	enc_u16(e, p->ss58_prefix);
	enc_u64(e, p->block_time_ms);
	enc_u128(e, p->existential_deposit);
	enc_u128(e, p->fee_base);
	enc_u128(e, p->fee_per_byte);
	enc_u128(e, p->fee_per_weight);
	enc_raw(e, p->treasury, 32);
	enc_raw(e, p->mining_reward_pool, 32);
	enc_raw(e, p->sudo, 32);
}

enum codec_result runtime_params_decode(struct runtime_params *p, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	if (dec_u8(&d) != RUNTIME_PARAMS_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	dec_raw(&d, p->chain_id, 32);
	p->ss58_prefix = dec_u16(&d);
	p->block_time_ms = dec_u64(&d);
	p->existential_deposit = dec_u128(&d);
	p->fee_base = dec_u128(&d);
	p->fee_per_byte = dec_u128(&d);
	p->fee_per_weight = dec_u128(&d);
	dec_raw(&d, p->treasury, 32);
	dec_raw(&d, p->mining_reward_pool, 32);
	dec_raw(&d, p->sudo, 32);
	return dec_finish(&d);
}

int runtime_params_load(const struct state_reader *r, struct runtime_params *p)
{
	const uint8_t *v = NULL;
	size_t n = 0;
	int rc = r->get ? r->get(r->ctx, (const uint8_t *)RUNTIME_PARAMS_KEY,
	                         strlen(RUNTIME_PARAMS_KEY), &v, &n)
	                : 0;
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	return runtime_params_decode(p, v, n) == CODEC_OK ? 1 : -1;
}

enum state_result runtime_params_store(struct state_overlay *o, const struct runtime_params *p)
{
	uint8_t buf[256];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	runtime_params_encode(&e, p);
	assert(enc_finish(&e) == CODEC_OK);
	return state_overlay_put(o, (const uint8_t *)RUNTIME_PARAMS_KEY, strlen(RUNTIME_PARAMS_KEY),
	                         buf, e.len);
}

/* ---- calls and fees ---- */

static enum tx_result find_call(uint8_t module, uint8_t function, const struct runtime_call **out)
{
	if (module >= N_MODULES || !modules[module])
		return TX_UNKNOWN_MODULE;
	const struct runtime_module *m = modules[module];
	for (size_t i = 0; i < m->n_calls; i++) {
		if (m->calls[i].function == function) {
			*out = &m->calls[i];
			return TX_OK;
		}
	}
	return TX_UNKNOWN_FUNCTION;
}

const char *runtime_call_name(uint8_t module, uint8_t function)
{
	const struct runtime_call *call;
	return find_call(module, function, &call) == TX_OK ? call->name : NULL;
}

static bool fee_of(u128 *fee, const struct runtime_params *p, size_t tx_len, uint64_t weight)
{
	u128 by_len, by_weight;
	return amount_mul(&by_len, p->fee_per_byte, tx_len) &&
	       amount_mul(&by_weight, p->fee_per_weight, weight) &&
	       amount_add(fee, p->fee_base, by_len) && amount_add(fee, *fee, by_weight);
}

enum tx_result runtime_fee(const struct runtime_params *p, const struct tx *tx, size_t tx_len,
                           u128 *fee, uint64_t *weight)
{
	const struct runtime_call *call;
	enum tx_result r = find_call(tx->module, tx->function, &call);
	if (r != TX_OK)
		return r;
	*weight = call->weight;
	return fee_of(fee, p, tx_len, call->weight) ? TX_OK : TX_FEE_OVERFLOW;
}

/* ---- admission ---- */

/* Checks that need no state; leaves the call in *call. */
static enum tx_result check_stateless(const struct runtime_params *p, const struct tx *tx,
                                      size_t tx_len, uint64_t height, struct tx_check *c,
                                      const struct runtime_call **call)
{
	*c = (struct tx_check){.height = height,
	                       .valid_until = tx->valid_until,
	                       .tx_nonce = tx->nonce,
	                       .module = tx->module,
	                       .function = tx->function,
	                       .tip = tx->tip,
	                       .max_fee = tx->max_fee,
	                       .existential_deposit = p->existential_deposit};
	if (memcmp(tx->chain_id, p->chain_id, 32) != 0)
		return TX_WRONG_CHAIN;
	if (tx->valid_until < height)
		return TX_EXPIRED;
	if (tx->valid_until - height > TX_MAX_MORTALITY)
		return TX_VALID_UNTIL_TOO_FAR;
	enum tx_result r = find_call(tx->module, tx->function, call);
	if (r != TX_OK)
		return r;
	if ((r = (*call)->validate(tx)) != TX_OK)
		return r;
	c->weight = (*call)->weight;
	u128 total;
	if (!fee_of(&c->fee, p, tx_len, c->weight) || !amount_add(&total, c->fee, tx->tip))
		return TX_FEE_OVERFLOW;
	if (total > tx->max_fee) {
		c->need = total;
		c->have = tx->max_fee;
		return TX_FEE_ABOVE_MAX;
	}
	return TX_OK;
}

static enum tx_result check_sender(const struct runtime_params *p, const struct state_reader *r,
                                   const struct tx *tx, bool exact_nonce, struct tx_check *c)
{
	struct account a;
	int rc = runtime_account_get(r, tx->sender, &a);
	if (rc < 0)
		return TX_STORAGE;
	if (rc == 0)
		return TX_NO_ACCOUNT;
	c->account_exists = true;
	c->account_nonce = a.nonce;
	c->balance = a.free;
	c->ready = tx->nonce == a.nonce;
	if (tx->nonce < a.nonce)
		return TX_NONCE_STALE;
	if (exact_nonce && tx->nonce > a.nonce)
		return TX_NONCE_FUTURE;
	u128 total = c->fee + c->tip; /* checked by check_stateless */
	c->have = a.free;
	if (a.free < total) {
		c->need = total;
		return TX_CANNOT_PAY_FEE;
	}
	if (a.free - total < p->existential_deposit) {
		if (!amount_add(&c->need, total, p->existential_deposit))
			c->need = (u128)-1;
		return TX_FEE_KEEP_ALIVE;
	}
	c->need = 0;
	c->have = 0;
	return TX_OK;
}

enum tx_result runtime_check_tx(const struct runtime_params *p, const struct state_reader *r,
                                const struct tx *tx, size_t tx_len, uint64_t height,
                                struct tx_check *out)
{
	const struct runtime_call *call;
	enum tx_result res = check_stateless(p, tx, tx_len, height, out, &call);
	if (res == TX_OK)
		res = check_sender(p, r, tx, false, out);
	if (res == TX_OK && call->admit)
		res = call->admit(p, r, tx, out);
	return res;
}

/* ---- execution ---- */

static enum tx_result credit(struct state_overlay *o, const uint8_t pk[32], u128 amount)
{
	struct account a;
	bool exists;
	enum tx_result r = runtime_account_load(o, pk, &a, &exists);
	if (r != TX_OK)
		return r;
	if (!amount_add(&a.free, a.free, amount))
		return TX_BALANCE_OVERFLOW;
	return runtime_account_store(o, pk, &a);
}

/* Debits fee + tip and bumps the nonce; the fee goes to the treasury (which exists from genesis;
 * as a keyless module account it is exempt from ED), the tip to the author unless that would
 * create an account below ED, in which case it goes to the treasury too. */
static enum tx_result charge(const struct runtime_params *p, struct state_overlay *o,
                             const struct tx *tx, const uint8_t author[32],
                             const struct tx_check *c)
{
	struct account a;
	bool exists;
	enum tx_result r = runtime_account_load(o, tx->sender, &a, &exists);
	if (r != TX_OK)
		return r;
	assert(exists && a.nonce == tx->nonce && a.free >= c->fee + c->tip);
	if (a.nonce == UINT64_MAX)
		return TX_BALANCE_OVERFLOW;
	a.nonce++;
	a.free -= c->fee + c->tip;
	if ((r = runtime_account_store(o, tx->sender, &a)) != TX_OK)
		return r;
	if (c->fee && (r = credit(o, p->treasury, c->fee)) != TX_OK)
		return r;
	if (!c->tip)
		return TX_OK;
	struct account au;
	if ((r = runtime_account_load(o, author, &au, &exists)) != TX_OK)
		return r;
	bool to_author = exists || c->tip >= p->existential_deposit;
	return credit(o, to_author ? author : p->treasury, c->tip);
}

/* Runs the call in its own savepoint. A call error is reported in *call_result (and its writes
 * reverted) with TX_OK returned; other failures are returned. */
static enum tx_result dispatch(const struct runtime_params *p, struct state_overlay *o,
                               const struct tx *tx, uint64_t height,
                               const struct runtime_call *call, struct tx_check *c,
                               enum tx_result *call_result)
{
	struct runtime_ctx ctx = {p, o, tx, height, c};
	state_overlay_savepoint(o);
	enum tx_result r = call->apply(&ctx);
	if (r == TX_OK) {
		state_overlay_release_savepoint(o);
	} else {
		state_overlay_rollback(o);
		if (!tx_result_is_call_error(r))
			return r;
	}
	*call_result = r;
	return TX_OK;
}

enum tx_result runtime_apply_tx(const struct runtime_params *p, struct state_overlay *o,
                                const struct tx *tx, size_t tx_len, uint64_t height,
                                const uint8_t author[32], struct tx_outcome *out)
{
	memset(out, 0, sizeof(*out));
	const struct runtime_call *call;
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	enum tx_result r = check_stateless(p, tx, tx_len, height, &out->check, &call);
	if (r == TX_OK)
		r = check_sender(p, &rd, tx, true, &out->check);
	if (r != TX_OK)
		return r;
	state_overlay_savepoint(o);
	r = charge(p, o, tx, author, &out->check);
	if (r == TX_OK)
		r = dispatch(p, o, tx, height, call, &out->check, &out->result);
	if (r != TX_OK) {
		state_overlay_rollback(o);
		return r;
	}
	state_overlay_release_savepoint(o);
	out->fee = out->check.fee;
	out->tip = out->check.tip;
	return TX_OK;
}

/* ---- blocks ---- */

enum tx_result runtime_end_block(struct state_overlay *o, uint64_t height, struct valset *next,
                                 bool *changed)
{
	return validators_end_block(o, height, next, changed);
}

/* ---- messages ---- */

/* Messages about amounts; everything else falls back to tx_strerror. c may be NULL. */
static char *describe_balance(char *buf, size_t len, enum tx_result r, const struct tx_check *c)
{
	if (!c) {
		snprintf(buf, len, "%s", tx_strerror(r));
		return buf;
	}
	char need[AMOUNT_STR_MAX], have[AMOUNT_STR_MAX], ed[AMOUNT_STR_MAX];
	amount_format_pha(need, c->need);
	amount_format_pha(have, c->have);
	amount_format_pha(ed, c->existential_deposit);
	switch (r) {
	case TX_FEE_ABOVE_MAX:
		snprintf(buf, len, "fee + tip is %s PHA but max_fee is %s PHA", need, have);
		break;
	case TX_CANNOT_PAY_FEE:
		snprintf(buf, len, "cannot pay fee + tip of %s PHA: free balance is %s PHA", need,
		         have);
		break;
	case TX_FEE_KEEP_ALIVE:
	case TX_CALL_KEEP_ALIVE:
		snprintf(buf, len,
		         "%s: needs %s PHA (existential deposit %s PHA included), free balance is "
		         "%s PHA",
		         tx_strerror(r), need, ed, have);
		break;
	case TX_CALL_INSUFFICIENT_BALANCE:
		snprintf(buf, len, "amount %s PHA exceeds the free balance %s PHA (after the fee)",
		         need, have);
		break;
	case TX_CALL_BELOW_ED:
		snprintf(buf, len,
		         "amount %s PHA is below the existential deposit %s PHA needed to create "
		         "the destination account",
		         have, need);
		break;
	case TX_NO_ACCOUNT:
		snprintf(buf, len,
		         "sender account does not exist (an account is created by receiving at "
		         "least the existential deposit, %s PHA)",
		         ed);
		break;
	default:
		snprintf(buf, len, "%s", tx_strerror(r));
		break;
	}
	return buf;
}

char *runtime_describe(char *buf, size_t len, enum tx_result r, const struct tx_check *c)
{
	assert(len > 0);
	const char *name = c ? runtime_call_name(c->module, c->function) : NULL;
	switch (c ? r : TX_OK) {
	case TX_NONCE_STALE:
	case TX_NONCE_FUTURE:
		snprintf(buf, len, "nonce %" PRIu64 " is %s: account nonce is %" PRIu64,
		         c->tx_nonce, r == TX_NONCE_STALE ? "stale" : "in the future",
		         c->account_nonce);
		return buf;
	case TX_EXPIRED:
	case TX_VALID_UNTIL_TOO_FAR:
		snprintf(buf, len,
		         "%s: valid_until is %" PRIu64 ", block height %" PRIu64
		         " (at most %d blocks ahead)",
		         r == TX_EXPIRED ? "tx expired" : "valid_until too far ahead",
		         c->valid_until, c->height, TX_MAX_MORTALITY);
		return buf;
	case TX_UNKNOWN_MODULE:
	case TX_UNKNOWN_FUNCTION:
		snprintf(buf, len, "%s: module %u function %u", tx_strerror(r), c->module,
		         c->function);
		return buf;
	case TX_BAD_PAYLOAD:
		snprintf(buf, len, "malformed payload for %s", name ? name : "the call");
		return buf;
	default:
		return describe_balance(buf, len, r, c);
	}
}
