/*
 * Balances module (id 1): public PHA.
 *   transfer (fn 0): payload = dest [32] ‖ amount u128 (exactly 48 bytes).
 * Rules (docs/protocol/runtime.md "Existential deposit"): amount > 0; dest != sender (a transfer
 * to self would only burn fees, so it is refused at admission); the sender keeps at least ED
 * after the transfer; a transfer that would create dest needs amount >= ED.
 */
#include <string.h>

#include "base/amount.h"
#include "chain/runtime_int.h"

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

static enum tx_result fail(struct runtime_ctx *c, enum tx_result r, u128 need, u128 have)
{
	c->check->need = need;
	c->check->have = have;
	return r;
}

/* The sender must afford amount + fee + tip and keep ED; whether the recipient can receive is
 * left to execution (its state may change before then). need/have are filled as transfer_apply
 * fills them (against the balance after the fee), so the messages read the same. */
static enum tx_result transfer_admit(const struct runtime_params *p, const struct state_reader *r,
                                     const struct tx *tx, struct tx_check *c)
{
	(void)r;
	uint8_t dest[32];
	u128 amount;
	if (!transfer_decode(tx, dest, &amount))
		return TX_BAD_PAYLOAD;
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

static enum tx_result transfer_apply(struct runtime_ctx *c)
{
	uint8_t dest_pk[32];
	u128 amount, ed = c->params->existential_deposit;
	struct account from, to;
	bool exists;
	enum tx_result r;
	if (!transfer_decode(c->tx, dest_pk, &amount))
		return TX_BAD_PAYLOAD; /* validate ran first; kept for safety */
	if ((r = runtime_account_load(c->overlay, c->tx->sender, &from, &exists)) != TX_OK)
		return r;
	if (amount > from.free)
		return fail(c, TX_CALL_INSUFFICIENT_BALANCE, amount, from.free);
	if (from.free - amount < ed) {
		u128 need;
		if (!amount_add(&need, amount, ed))
			need = (u128)-1;
		return fail(c, TX_CALL_KEEP_ALIVE, need, from.free);
	}
	if ((r = runtime_account_load(c->overlay, dest_pk, &to, &exists)) != TX_OK)
		return r;
	if (!exists && amount < ed)
		return fail(c, TX_CALL_BELOW_ED, ed, amount);
	if (!amount_add(&to.free, to.free, amount))
		return fail(c, TX_CALL_OVERFLOW, amount, (u128)-1 - to.free);
	from.free -= amount;
	if ((r = runtime_account_store(c->overlay, c->tx->sender, &from)) != TX_OK)
		return r;
	return runtime_account_store(c->overlay, dest_pk, &to);
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
