/*
 * Balances module (id 1): public PHA.
 *   transfer (fn 0): payload = dest [32] ‖ amount u128 (exactly 48 bytes).
 * Rules (docs/protocol/runtime.md "Existential deposit"): amount > 0; dest != sender (a transfer
 * to self would only burn fees, so it is refused at admission); the sender keeps at least ED
 * after the transfer; a transfer that would create dest needs amount >= ED; dest is not a
 * contract's custody account (chain/contracts.h "Custody").
 * The balance moves of contracts.deposit and of the custody releases go through balances_move
 * (registry_int.h) too, so every move follows the same rules and messages.
 */
#include <assert.h>
#include <string.h>

#include "base/amount.h"
#include "chain/registry_int.h"

#define TRANSFER_WEIGHT 50000

void balances_transfer_payload(uint8_t out[BALANCES_TRANSFER_PAYLOAD_LEN], const uint8_t dest[32],
                               u128 amount)
{
	struct enc e;
	enc_init_fixed(&e, out, BALANCES_TRANSFER_PAYLOAD_LEN);
	enc_raw(&e, dest, 32);
	enc_u128(&e, amount);
	(void)enc_finish(&e); /* exactly fits by construction */
}

static bool transfer_decode(const struct tx *tx, uint8_t dest[32], u128 *amount)
{
	struct dec d;
	dec_init(&d, tx->payload, tx->payload_len);
	dec_raw(&d, dest, 32);
	*amount = dec_u128(&d);
	return dec_finish(&d) == CODEC_OK;
}

static enum tx_result transfer_validate(const struct tx *tx)
{
	uint8_t dest[32];
	u128 amount;
	if (!transfer_decode(tx, dest, &amount))
		return TX_BAD_PAYLOAD;
	if (amount == 0)
		return TX_ZERO_AMOUNT;
	if (memcmp(dest, tx->sender, 32) == 0)
		return TX_SELF_TRANSFER;
	return TX_OK;
}

static enum tx_result fail(struct tx_check *c, enum tx_result r, u128 need, u128 have)
{
	if (c) {
		c->need = need;
		c->have = have;
	}
	return r;
}

enum tx_result balances_admit_spend(const struct runtime_params *p, u128 amount, struct tx_check *c)
{
	u128 after_fee = c->balance - c->fee - c->tip; /* check_sender ensured it is >= ED */
	c->have = after_fee;
	if (amount > after_fee) {
		c->need = amount;
		return TX_CALL_INSUFFICIENT_BALANCE;
	}
	if (after_fee - amount < p->existential_deposit) {
		if (!amount_add(&c->need, amount, p->existential_deposit))
			c->need = (u128)-1;
		return TX_CALL_KEEP_ALIVE;
	}
	c->need = c->have = 0;
	return TX_OK;
}

enum tx_result balances_move(struct runtime_ctx *c, const uint8_t from_pk[32],
                             const uint8_t to_pk[32], u128 amount, unsigned flags,
                             struct tx_check *chk)
{
	u128 ed = c->params->existential_deposit;
	struct account from, to;
	bool exists;
	enum tx_result r;
	assert(memcmp(from_pk, to_pk, 32) != 0);
	if ((r = runtime_account_load(c->overlay, from_pk, &from, &exists)) != TX_OK)
		return r;
	if (amount > from.free)
		return fail(chk, TX_CALL_INSUFFICIENT_BALANCE, amount, from.free);
	if ((flags & BALANCES_MOVE_KEEP_ALIVE) && from.free - amount < ed) {
		u128 need;
		if (!amount_add(&need, amount, ed))
			need = (u128)-1;
		return fail(chk, TX_CALL_KEEP_ALIVE, need, from.free);
	}
	if ((r = runtime_account_load(c->overlay, to_pk, &to, &exists)) != TX_OK)
		return r;
	if (!exists && amount < ed && !(flags & BALANCES_MOVE_TO_CUSTODY))
		return fail(chk, TX_CALL_BELOW_ED, ed, amount);
	if (!amount_add(&to.free, to.free, amount))
		return fail(chk, TX_CALL_OVERFLOW, amount, (u128)-1 - to.free);
	from.free -= amount;
	if ((r = runtime_account_store(c->overlay, from_pk, &from)) != TX_OK)
		return r;
	return runtime_account_store(c->overlay, to_pk, &to);
}

/* TX_CALL_CUSTODY_ACCOUNT when dest is a contract's custody account (only deposits may fill one,
 * or custody could exceed what the contract issued), TX_STORAGE when r fails. */
static enum tx_result dest_not_custody(const struct state_reader *r, const uint8_t dest[32])
{
	int rc = contracts_custody_of(r, dest, NULL);
	if (rc < 0)
		return TX_STORAGE;
	return rc ? TX_CALL_CUSTODY_ACCOUNT : TX_OK;
}

/* The sender must afford amount + fee + tip and keep ED, and dest must not be a custody account;
 * whether the recipient can receive is left to execution (its state may change before then).
 * need/have are filled as transfer_apply fills them (against the balance after the fee), so the
 * messages read the same. */
static enum tx_result transfer_admit(const struct runtime_params *p, const struct state_reader *r,
                                     const struct tx *tx, struct tx_check *c)
{
	uint8_t dest[32];
	u128 amount;
	if (!transfer_decode(tx, dest, &amount))
		return TX_BAD_PAYLOAD;
	enum tx_result res = dest_not_custody(r, dest);
	return res == TX_OK ? balances_admit_spend(p, amount, c) : res;
}

static enum tx_result transfer_apply(struct runtime_ctx *c)
{
	uint8_t dest[32];
	u128 amount;
	struct state_reader rd;
	if (!transfer_decode(c->tx, dest, &amount))
		return TX_BAD_PAYLOAD; /* validate ran first; kept for safety */
	state_overlay_reader(c->overlay, &rd);
	enum tx_result r = dest_not_custody(&rd, dest);
	if (r != TX_OK)
		return r;
	return balances_move(c, c->tx->sender, dest, amount, BALANCES_MOVE_KEEP_ALIVE, c->check);
}

static const struct runtime_call balances_calls[] = {
    {BALANCES_FN_TRANSFER, "balances.transfer", TRANSFER_WEIGHT, transfer_validate, transfer_admit,
     transfer_apply},
};

const struct runtime_module balances_module = {
    RUNTIME_MODULE_BALANCES,
    "balances",
    balances_calls,
    sizeof(balances_calls) / sizeof(balances_calls[0]),
};
