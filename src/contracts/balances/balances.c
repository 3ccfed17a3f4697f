/*
 * The Balances contract (secret PHA): see balances.h. Every handler decodes and checks
 * everything, then changes state (docs/contracts.md "Atomicity"), so that after each one
 *
 *     issuance == sum of balances + sum of pending withdrawals
 *
 * Every credit and debit leaves a history entry, so every account with a balance has a ring:
 * the rings are the accounts (BALANCES_ACCOUNTS_MAX), and a ring is made only as the last check
 * of a handler, so a refusal never leaves an empty one behind.
 */
#include "contracts/balances/balances.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "contracts/kit/kit.h"

#define SNAPSHOT_VERSION 1
/* balances.h's results, as the SDK's result type. */
#define R(x) ((enum contract_result)(x))

/* The chain's side (chain/contracts.h CONTRACTS_TOPIC_WITHDRAW, CONTRACTS_MSG_*): a contract sees
 * only the SDK, so the bytes are repeated here and the unit test checks they agree. */
#define CHAIN_MODULE      "contracts"
#define TOPIC_WITHDRAW    "^contracts/withdraw"
#define MSG_DEPOSIT       0x00
#define MSG_WITHDRAWN     0x01
#define MSG_DEPOSIT_LEN   (1 + 32 + 16)
#define MSG_WITHDRAWN_LEN (1 + 8 + 4)
#define WITHDRAW_PAYLOAD  (8 + 32 + 16)
#define PAID_LEN          (1 + 32 + 16)
#define PAY_OUT_LEN       (1 + 32 + 16)

/* A history entry as kept: the HISTORY answer's bytes (kind ‖ counterparty ‖ amount ‖ height ‖
 * ref), then the chain's result u32 of a refund, so that the WITHDRAWAL query can answer for a
 * settled withdrawal from its owner's history. */
#define ENTRY_PUBLIC (1 + 32 + 16 + 8 + 8)
#define ENTRY_LEN    (ENTRY_PUBLIC + 4)

struct pending {
	uint64_t ref;
	uint8_t owner[32];
	uint8_t dest[32];
	u128 amount;
};

struct balances {
	u128 issuance;       /* balances + pending: what custody holds on chain */
	u128 balances_total; /* sum of the book's amounts */
	u128 pending_total;  /* sum of pending[].amount */
	uint64_t next_ref;   /* the next withdrawal's ref, from 1 */
	struct kit_book book;
	struct kit_history history; /* one ring per account ever credited or debited */
	struct pending *pending;    /* sorted by ref: refs only grow */
	size_t n_pending, cap_pending;
};

/* One history entry to write. */
struct line {
	uint8_t kind;
	const uint8_t *party;
	u128 amount;
	uint64_t ref;
	uint32_t result;
};

/* Money moving between two dark accounts, with the kind each side records. */
struct move {
	const uint8_t *from, *to;
	u128 amount;
	uint8_t from_kind, to_kind;
};

/* ---- state ------------------------------------------------------------------------------- */

static void *balances_create(void)
{
	struct balances *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	kit_book_init(&b->book, BALANCES_ACCOUNTS_MAX);
	kit_history_init(&b->history, BALANCES_ACCOUNTS_MAX, BALANCES_HISTORY_MAX, ENTRY_LEN);
	b->next_ref = 1;
	return b;
}

/* Back to what create made. */
static void balances_clear(struct balances *b)
{
	kit_book_release(&b->book);
	kit_history_release(&b->history);
	free(b->pending);
	b->pending = NULL;
	b->n_pending = b->cap_pending = 0;
	b->issuance = b->balances_total = b->pending_total = 0;
	b->next_ref = 1;
}

static void balances_destroy(void *state)
{
	if (!state)
		return;
	balances_clear(state);
	free(state);
}

/* The invariant, kept by every handler (asserted after each: cheap, the totals are kept). */
static bool totals_hold(const struct balances *b)
{
	u128 sum;
	return amount_add(&sum, b->balances_total, b->pending_total) && sum == b->issuance;
}

/* Whether key can take a history entry and a balance: CONTRACT_OK (it has a ring, or one was
 * made now), BALANCES_FULL (BALANCES_ACCOUNTS_MAX rings) or CONTRACT_NOMEM. The book's keys are
 * among the rings', so the book has room whenever the rings do. Call it last among the checks of
 * a handler, for at most one account without a ring. */
static enum contract_result account_room(struct balances *b, const uint8_t key[32])
{
	if (kit_history_count(&b->history, key) == 0 && b->history.n >= b->history.max_accounts)
		return R(BALANCES_FULL);
	if (!kit_book_room(&b->book, key))
		return CONTRACT_NOMEM;
	return kit_history_room(&b->history, key) ? CONTRACT_OK : CONTRACT_NOMEM;
}

static void history_add(struct balances *b, struct contract_env *env, const uint8_t who[32],
                        const struct line *l)
{
	uint8_t entry[ENTRY_LEN];
	struct enc e;
	enc_init_fixed(&e, entry, sizeof(entry));
	enc_u8(&e, l->kind);
	enc_raw(&e, l->party, 32);
	enc_u128(&e, l->amount);
	enc_u64(&e, contract_height(env));
	enc_u64(&e, l->ref);
	enc_u32(&e, l->result);
	assert(enc_finish(&e) == CODEC_OK && e.len == ENTRY_LEN);
	kit_history_add(&b->history, who, entry);
}

/* Credits a balance; by the invariant no balance can pass the issuance, which fits. */
static void credit(struct balances *b, const uint8_t who[32], u128 amount)
{
	kit_book_set(&b->book, who, kit_book_get(&b->book, who) + amount);
	b->balances_total += amount;
}

/* Debits a balance the caller checked holds amount. */
static void debit(struct balances *b, const uint8_t who[32], u128 amount)
{
	u128 have = kit_book_get(&b->book, who);
	assert(have >= amount);
	kit_book_set(&b->book, who, have - amount);
	b->balances_total -= amount;
}

static size_t pending_find(const struct balances *b, uint64_t ref, bool *found)
{
	size_t lo = 0, hi = b->n_pending;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->pending[mid].ref < ref)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < b->n_pending && b->pending[lo].ref == ref;
	return lo;
}

/* Room for one more pending withdrawal (allocated now): CONTRACT_OK, BALANCES_FULL or
 * CONTRACT_NOMEM. */
static enum contract_result pending_room(struct balances *b)
{
	if (b->n_pending >= BALANCES_PENDING_MAX || b->next_ref == UINT64_MAX)
		return R(BALANCES_FULL);
	if (b->n_pending < b->cap_pending)
		return CONTRACT_OK;
	size_t want = b->cap_pending ? b->cap_pending * 2 : 16;
	if (want > BALANCES_PENDING_MAX)
		want = BALANCES_PENDING_MAX;
	struct pending *p = realloc(b->pending, want * sizeof(*p));
	if (!p)
		return CONTRACT_NOMEM;
	b->pending = p;
	b->cap_pending = want;
	return CONTRACT_OK;
}

static void pending_remove(struct balances *b, size_t i)
{
	b->pending_total -= b->pending[i].amount;
	memmove(&b->pending[i], &b->pending[i + 1], (b->n_pending - i - 1) * sizeof(*b->pending));
	b->n_pending--;
}

/* Asks the chain to pay amount from custody to dest, as a pending withdrawal owned by `owner`
 * (all zero: nobody's, a returned deposit). The request is emitted first: if it cannot be queued
 * nothing changes. */
static enum contract_result pending_open(struct balances *b, struct contract_env *env,
                                         const uint8_t owner[32], const uint8_t dest[32],
                                         u128 amount, uint64_t *ref)
{
	enum contract_result r = pending_room(b);
	struct pending p = {.ref = b->next_ref, .amount = amount};
	if (r == CONTRACT_OK) {
		uint8_t msg[WITHDRAW_PAYLOAD];
		struct enc e;
		enc_init_fixed(&e, msg, sizeof(msg));
		enc_u64(&e, p.ref);
		enc_raw(&e, dest, 32);
		enc_u128(&e, amount);
		r = contract_emit(env, TOPIC_WITHDRAW, msg, sizeof(msg));
	}
	if (r != CONTRACT_OK)
		return r;
	memcpy(p.owner, owner, 32);
	memcpy(p.dest, dest, 32);
	b->pending[b->n_pending++] = p;
	b->pending_total += amount;
	b->next_ref++;
	*ref = p.ref;
	return CONTRACT_OK;
}

/* ---- moves between dark accounts (commands and calls) ------------------------------------ */

/* Every check of a move but the room for its destination (which may make a ring: last). */
static enum contract_result move_precheck(struct balances *b, struct contract_env *env,
                                          const struct move *m)
{
	if (m->amount == 0)
		return R(BALANCES_ZERO_AMOUNT);
	if (kit_zero_key(m->to) || memcmp(m->to, m->from, 32) == 0 ||
	    memcmp(m->to, contract_self(env), 32) == 0)
		return R(BALANCES_BAD_DEST);
	if (kit_book_get(&b->book, m->from) < m->amount)
		return R(BALANCES_INSUFFICIENT);
	return account_room(b, m->from); /* a payer has a balance, so a ring */
}

static enum contract_result move_check(struct balances *b, struct contract_env *env,
                                       const struct move *m)
{
	enum contract_result r = move_precheck(b, env, m);
	return r == CONTRACT_OK ? account_room(b, m->to) : r;
}

static void move_apply(struct balances *b, struct contract_env *env, const struct move *m)
{
	debit(b, m->from, m->amount);
	credit(b, m->to, m->amount);
	history_add(b, env, m->from, &(struct line){m->from_kind, m->to, m->amount, 0, 0});
	history_add(b, env, m->to, &(struct line){m->to_kind, m->from, m->amount, 0, 0});
}

/* ---- commands ------------------------------------------------------------------------------ */

/* The receipt's reply for a refusal r of `amount` from who to dest. */
static enum contract_result refuse(struct balances *b, struct contract_env *env,
                                   enum contract_result r, const uint8_t who[32],
                                   const uint8_t dest[32], u128 amount)
{
	char have[AMOUNT_STR_MAX], need[AMOUNT_STR_MAX];
	switch ((int)r) {
	case BALANCES_ZERO_AMOUNT:
		return kit_reply(env, r, "the amount must be more than 0 PHA");
	case BALANCES_BAD_DEST:
		return kit_reply(env, r, "bad destination: %s",
		                 kit_zero_key(dest)           ? "the all-zero account"
		                 : memcmp(dest, who, 32) == 0 ? "that is the sender"
		                                              : "that is this contract");
	case BALANCES_INSUFFICIENT:
		return kit_reply(env, r, "insufficient dark balance: have %s PHA, need %s PHA",
		                 amount_format_pha(have, kit_book_get(&b->book, who)),
		                 amount_format_pha(need, amount));
	case BALANCES_FULL:
		return kit_reply(env, r, "the contract is full: no room for another account");
	case CONTRACT_NOMEM:
		return kit_reply(env, r, "out of memory");
	default:
		return kit_reply(env, r, "the message could not be queued (result %d): try later",
		                 (int)r);
	}
}

static enum contract_result cmd_transfer(struct balances *b, struct contract_env *env,
                                         const uint8_t who[32], const uint8_t dest[32], u128 amount)
{
	struct move m = {who, dest, amount, BALANCES_H_SENT, BALANCES_H_RECEIVED};
	enum contract_result r = move_check(b, env, &m);
	if (r != CONTRACT_OK)
		return refuse(b, env, r, who, dest, amount);
	move_apply(b, env, &m);
	return kit_reply(env, CONTRACT_OK, "ok");
}

/* Emits the PAID message before the last check (the room for dest, which may make its ring):
 * a message emitted by a handler that fails is dropped. */
static enum contract_result cmd_pay_contract(struct balances *b, struct contract_env *env,
                                             const uint8_t who[32], const uint8_t dest[32],
                                             u128 amount)
{
	struct move m = {who, dest, amount, BALANCES_H_PAY_CONTRACT, BALANCES_H_RECEIVED};
	enum contract_result r = move_precheck(b, env, &m);
	if (r == CONTRACT_OK) {
		char topic[KIT_TOPIC_LEN + 1];
		uint8_t msg[PAID_LEN];
		kit_message_topic(topic, dest);
		struct enc e;
		enc_init_fixed(&e, msg, sizeof(msg));
		enc_u8(&e, BALANCES_MSG_PAID);
		enc_raw(&e, who, 32);
		enc_u128(&e, amount);
		r = contract_emit(env, topic, msg, sizeof(msg));
	}
	if (r == CONTRACT_OK)
		r = account_room(b, dest);
	if (r != CONTRACT_OK)
		return refuse(b, env, r, who, dest, amount);
	move_apply(b, env, &m);
	return kit_reply(env, CONTRACT_OK, "ok");
}

static enum contract_result withdraw_check(struct balances *b, struct contract_env *env,
                                           const uint8_t who[32], const uint8_t dest[32],
                                           u128 amount)
{
	if (amount == 0)
		return R(BALANCES_ZERO_AMOUNT);
	/* Withdrawing to one's own public account is the usual case; the chain refuses custody
	 * accounts, and that refusal is refunded. */
	if (kit_zero_key(dest) || memcmp(dest, contract_self(env), 32) == 0)
		return R(BALANCES_BAD_DEST);
	if (kit_book_get(&b->book, who) < amount)
		return R(BALANCES_INSUFFICIENT);
	enum contract_result r = pending_room(b);
	return r == CONTRACT_OK ? account_room(b, who) : r;
}

static enum contract_result cmd_withdraw(struct balances *b, struct contract_env *env,
                                         const uint8_t who[32], const uint8_t dest[32], u128 amount)
{
	uint64_t ref = 0;
	enum contract_result r = withdraw_check(b, env, who, dest, amount);
	if (r == CONTRACT_OK)
		r = pending_open(b, env, who, dest, amount, &ref);
	if (r == R(BALANCES_FULL))
		return kit_reply(env, r, "too many pending withdrawals: try again later");
	if (r != CONTRACT_OK)
		return refuse(b, env, r, who, dest, amount);
	debit(b, who, amount);
	history_add(b, env, who, &(struct line){BALANCES_H_WITHDRAW, dest, amount, ref, 0});
	return kit_reply(env, CONTRACT_OK, "ok withdrawal %llu", (unsigned long long)ref);
}

typedef enum contract_result (*command_fn)(struct balances *, struct contract_env *,
                                           const uint8_t *, const uint8_t *, u128);

static const command_fn commands[] = {
    [BALANCES_CMD_TRANSFER] = cmd_transfer,
    [BALANCES_CMD_WITHDRAW] = cmd_withdraw,
    [BALANCES_CMD_PAY_CONTRACT] = cmd_pay_contract,
};

static enum contract_result balances_command(void *state, struct contract_env *env,
                                             const struct contract_origin *from, const uint8_t *cmd,
                                             size_t len)
{
	if (len != BALANCES_COMMAND_LEN)
		return kit_reply(env, CONTRACT_BAD_REQUEST,
		                 "malformed command: %zu bytes, expected %d", len,
		                 BALANCES_COMMAND_LEN);
	if (cmd[0] >= sizeof(commands) / sizeof(commands[0]) || !commands[cmd[0]])
		return kit_reply(env, CONTRACT_BAD_REQUEST, "unknown command 0x%02x", cmd[0]);
	enum contract_result r =
	    commands[cmd[0]](state, env, from->id, cmd + 1, kit_get_u128(cmd + 33));
	assert(totals_hold(state));
	return r;
}

/* ---- synchronous calls ------------------------------------------------------------------- */

/* The caller takes from the account that signed the command being handled, and only from it:
 * a contract cannot charge anyone who did not ask it to act. */
static enum contract_result call_charge(struct balances *b, struct contract_env *env,
                                        const uint8_t caller[32], const uint8_t *req,
                                        struct enc *resp)
{
	(void)resp;
	const uint8_t *signer = contract_signer(env);
	if (!signer || memcmp(signer, req + 1, 32) != 0)
		return CONTRACT_DENIED;
	struct move m = {req + 1, caller, kit_get_u128(req + 33), BALANCES_H_CHARGED,
	                 BALANCES_H_RECEIVED};
	enum contract_result r = move_check(b, env, &m);
	if (r == CONTRACT_OK)
		move_apply(b, env, &m);
	return r;
}

/* A contract pays from its own dark account (PAY, PAY_OUT): p is dest [32] ‖ amount u128. */
static enum contract_result contract_pays(struct balances *b, struct contract_env *env,
                                          const uint8_t payer[32], const uint8_t *p)
{
	struct move m = {payer, p, kit_get_u128(p + 32), BALANCES_H_SENT, BALANCES_H_PAID_BY};
	enum contract_result r = move_check(b, env, &m);
	if (r == CONTRACT_OK)
		move_apply(b, env, &m);
	return r;
}

static enum contract_result call_pay(struct balances *b, struct contract_env *env,
                                     const uint8_t caller[32], const uint8_t *req, struct enc *resp)
{
	(void)resp;
	return contract_pays(b, env, caller, req + 1);
}

static enum contract_result call_balance(struct balances *b, struct contract_env *env,
                                         const uint8_t caller[32], const uint8_t *req,
                                         struct enc *resp)
{
	(void)env;
	if (!kit_fixed(req, BALANCES_CALL_LEN, BALANCES_CALL_LEN, 1))
		return CONTRACT_BAD_REQUEST;
	enc_u128(resp, kit_book_get(&b->book, caller));
	return enc_finish(resp) == CODEC_OK ? CONTRACT_OK : CONTRACT_TOO_LARGE;
}

typedef enum contract_result (*call_fn)(struct balances *, struct contract_env *, const uint8_t *,
                                        const uint8_t *, struct enc *);

static const call_fn calls[] = {
    [BALANCES_CALL_CHARGE] = call_charge,
    [BALANCES_CALL_PAY] = call_pay,
    [BALANCES_CALL_BALANCE] = call_balance,
};

static enum contract_result balances_call(void *state, struct contract_env *env,
                                          const struct contract_origin *from, const uint8_t *req,
                                          size_t len, struct enc *resp)
{
	if (from->kind != CONTRACT_FROM_CONTRACT || len != BALANCES_CALL_LEN ||
	    req[0] >= sizeof(calls) / sizeof(calls[0]) || !calls[req[0]])
		return CONTRACT_BAD_REQUEST;
	enum contract_result r = calls[req[0]](state, env, from->id, req, resp);
	assert(totals_hold(state));
	return r;
}

/* ---- messages: from the chain, and PAY_OUT from contracts ---------------------------------- */

/* A deposit the contract has no room for (BALANCES_ACCOUNTS_MAX accounts, or no memory) goes
 * straight back to the depositor's public account: custody keeps matching the issuance instead
 * of holding PHA nobody owns. Only when the pending table is full too is it refused (and then
 * custody holds more than the issuance). */
static enum contract_result deposit_return(struct balances *b, struct contract_env *env,
                                           const uint8_t who[32], u128 amount, u128 issuance)
{
	static const uint8_t nobody[32];
	uint64_t ref;
	enum contract_result r = pending_open(b, env, nobody, who, amount, &ref);
	if (r == CONTRACT_OK)
		b->issuance = issuance;
	return r;
}

/* contracts.deposit moved amount into custody: the depositor's dark balance grows by it. */
static enum contract_result msg_deposit(struct balances *b, struct contract_env *env,
                                        const uint8_t *from, const uint8_t *p)
{
	(void)from;
	const uint8_t *who = p + 1;
	u128 amount = kit_get_u128(p + 33), issuance;
	if (amount == 0)
		return R(BALANCES_ZERO_AMOUNT);
	if (!amount_add(&issuance, b->issuance, amount))
		return R(BALANCES_OVERFLOW);
	enum contract_result r = account_room(b, who);
	if (r == R(BALANCES_FULL) || r == CONTRACT_NOMEM)
		return deposit_return(b, env, who, amount, issuance);
	if (r != CONTRACT_OK)
		return r;
	credit(b, who, amount);
	b->issuance = issuance;
	history_add(b, env, who, &(struct line){BALANCES_H_DEPOSIT, who, amount, 0, 0});
	return CONTRACT_OK;
}

/* The chain's answer to a withdrawal: released (custody paid dest, so the issuance shrinks) or
 * refused (nothing left custody: the owner gets the amount back). A returned deposit has no owner
 * to refund: refused, it stays pending (still in custody, still counted). */
static enum contract_result msg_withdrawn(struct balances *b, struct contract_env *env,
                                          const uint8_t *from, const uint8_t *p)
{
	(void)from;
	bool found;
	size_t i = pending_find(b, kit_get_u64(p + 1), &found);
	if (!found)
		return CONTRACT_BAD_REQUEST;
	struct pending w = b->pending[i];
	uint32_t result = kit_get_u32(p + 9);
	if (kit_zero_key(w.owner)) {
		if (result)
			return R(BALANCES_NOT_CHAIN);
		b->issuance -= w.amount;
		pending_remove(b, i);
		return CONTRACT_OK;
	}
	struct line l = {result ? BALANCES_H_REFUND : BALANCES_H_RELEASED, w.dest, w.amount, w.ref,
	                 result};
	enum contract_result r = account_room(b, w.owner); /* the owner has a ring: its WITHDRAW */
	if (r != CONTRACT_OK)
		return r;
	if (result)
		credit(b, w.owner, w.amount);
	else
		b->issuance -= w.amount;
	pending_remove(b, i);
	history_add(b, env, w.owner, &l);
	return CONTRACT_OK;
}

/* A contract in another cluster cannot call PAY: it asks by message, and spends only its own
 * dark account (the origin's id, which the chain checked against the contract's key). Nobody
 * answers a message, so a PAY_OUT that every check passed but the room for a new dest
 * (BALANCES_ACCOUNTS_MAX accounts) is paid to dest's public account instead, as a returned
 * deposit is: refusing it would leave the sender believing the PHA had gone. */
static enum contract_result msg_pay_out(struct balances *b, struct contract_env *env,
                                        const uint8_t *from, const uint8_t *p)
{
	enum contract_result r = contract_pays(b, env, from, p + 1);
	if (r != R(BALANCES_FULL) && r != CONTRACT_NOMEM)
		return r;
	static const uint8_t nobody[32];
	const uint8_t *dest = p + 1;
	u128 amount = kit_get_u128(p + 33);
	uint64_t ref;
	if ((r = pending_open(b, env, nobody, dest, amount, &ref)) != CONTRACT_OK)
		return r;
	debit(b, from, amount);
	history_add(b, env, from, &(struct line){BALANCES_H_WITHDRAW, dest, amount, ref, 0});
	return CONTRACT_OK;
}

static const struct {
	uint8_t kind;
	size_t len;
	bool from_contract; /* else from the chain (module "contracts") only */
	enum contract_result (*fn)(struct balances *, struct contract_env *, const uint8_t *,
	                           const uint8_t *);
} messages[] = {
    {MSG_DEPOSIT, MSG_DEPOSIT_LEN, false, msg_deposit},
    {MSG_WITHDRAWN, MSG_WITHDRAWN_LEN, false, msg_withdrawn},
    {BALANCES_MSG_PAY_OUT, PAY_OUT_LEN, true, msg_pay_out},
};

static enum contract_result balances_message(void *state, struct contract_env *env,
                                             const struct contract_origin *from, const char *topic,
                                             const uint8_t *payload, size_t len)
{
	(void)topic;
	bool chain = from->kind == CONTRACT_FROM_MODULE && strcmp(from->module, CHAIN_MODULE) == 0;
	if (!chain && from->kind != CONTRACT_FROM_CONTRACT)
		return R(BALANCES_NOT_CHAIN);
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		if (len != messages[i].len || payload[0] != messages[i].kind)
			continue;
		if (messages[i].from_contract == chain)
			return chain ? CONTRACT_BAD_REQUEST : R(BALANCES_NOT_CHAIN);
		enum contract_result r = messages[i].fn(state, env, from->id, payload);
		assert(totals_hold(state));
		return r;
	}
	return CONTRACT_BAD_REQUEST;
}

/* ---- queries ------------------------------------------------------------------------------- */

static enum contract_result q_balance(const void *state, struct contract_env *env,
                                      const uint8_t asker[32], const uint8_t *req, struct enc *resp)
{
	const struct balances *b = state;
	(void)req; /* the account it names is the asker (kit_query) */
	enc_u128(resp, kit_book_get(&b->book, asker));
	enc_u64(resp, contract_height(env));
	return CONTRACT_OK;
}

static enum contract_result q_issuance(const void *state, struct contract_env *env,
                                       const uint8_t asker[32], const uint8_t *req,
                                       struct enc *resp)
{
	const struct balances *b = state;
	(void)asker;
	(void)req;
	enc_u128(resp, b->issuance);
	enc_u128(resp, b->pending_total);
	enc_u64(resp, contract_height(env));
	return CONTRACT_OK;
}

static enum contract_result q_history(const void *state, struct contract_env *env,
                                      const uint8_t asker[32], const uint8_t *req, struct enc *resp)
{
	const struct balances *b = state;
	(void)req; /* the account it names is the asker (kit_query) */
	(void)env;
	size_t n = kit_history_count(&b->history, asker);
	enc_uleb(resp, n);
	for (size_t i = 0; i < n; i++)
		enc_raw(resp, kit_history_at(&b->history, asker, i), ENTRY_PUBLIC);
	return CONTRACT_OK;
}

/* Pending: from the table. Settled: from the owner's (the asker's) history while it holds the
 * RELEASED or REFUND entry; anyone else's settled withdrawal is unknown to the asker. */
static enum contract_result q_withdrawal(const void *state, struct contract_env *env,
                                         const uint8_t asker[32], const uint8_t *req,
                                         struct enc *resp)
{
	const struct balances *b = state;
	(void)env;
	uint64_t ref = kit_get_u64(req + 1);
	bool found;
	size_t i = pending_find(b, ref, &found);
	if (found) {
		const struct pending *w = &b->pending[i];
		if (memcmp(w->owner, asker, 32) != 0)
			return CONTRACT_DENIED;
		enc_u8(resp, BALANCES_WD_PENDING);
		enc_raw(resp, w->dest, 32);
		enc_u128(resp, w->amount);
		enc_u32(resp, 0);
		return CONTRACT_OK;
	}
	for (size_t k = kit_history_count(&b->history, asker); k-- > 0;) {
		const uint8_t *x = kit_history_at(&b->history, asker, k);
		if ((x[0] != BALANCES_H_RELEASED && x[0] != BALANCES_H_REFUND) ||
		    kit_get_u64(x + 57) != ref)
			continue;
		enc_u8(resp,
		       x[0] == BALANCES_H_RELEASED ? BALANCES_WD_RELEASED : BALANCES_WD_REFUNDED);
		enc_raw(resp, x + 1, 32 + 16); /* dest ‖ amount */
		enc_raw(resp, x + ENTRY_PUBLIC, 4);
		return CONTRACT_OK;
	}
	return CONTRACT_NO_RECEIPT;
}

static const struct kit_query queries[] = {
    {BALANCES_Q_BALANCE, 1 + 32, true, q_balance},
    {BALANCES_Q_ISSUANCE, 1, false, q_issuance},
    {BALANCES_Q_HISTORY, 1 + 32, true, q_history},
    {BALANCES_Q_WITHDRAWAL, 1 + 8, false, q_withdrawal},
};

static enum contract_result balances_query(const void *state, struct contract_env *env,
                                           const struct contract_origin *from, const uint8_t *req,
                                           size_t len, struct enc *resp)
{
	return kit_query(queries, sizeof(queries) / sizeof(queries[0]), state, env, from->id, req,
	                 len, resp);
}

/* ---- snapshots ----------------------------------------------------------------------------
 * version u8 ‖ issuance u128 ‖ next_ref u64 ‖ book ‖ uleb n ‖ n × (ref u64 ‖ owner [32] ‖
 * dest [32] ‖ amount u128), refs increasing ‖ history (entries of ENTRY_LEN bytes) */

static enum contract_result balances_snapshot(const void *state, struct enc *out)
{
	const struct balances *b = state;
	enc_u8(out, SNAPSHOT_VERSION);
	enc_u128(out, b->issuance);
	enc_u64(out, b->next_ref);
	kit_book_encode(&b->book, out);
	enc_uleb(out, b->n_pending);
	for (size_t i = 0; i < b->n_pending; i++) {
		const struct pending *w = &b->pending[i];
		enc_u64(out, w->ref);
		enc_raw(out, w->owner, 32);
		enc_raw(out, w->dest, 32);
		enc_u128(out, w->amount);
	}
	kit_history_encode(&b->history, out);
	return enc_finish(out) == CODEC_OK ? CONTRACT_OK : CONTRACT_TOO_LARGE;
}

/* One pending withdrawal, as a later one than those already read. */
static void restore_pending(struct balances *b, struct dec *d)
{
	struct pending w;
	w.ref = dec_u64(d);
	dec_raw(d, w.owner, 32);
	dec_raw(d, w.dest, 32);
	w.amount = dec_u128(d);
	if (d->err != CODEC_OK)
		return;
	if (w.ref == 0 || w.ref >= b->next_ref ||
	    (b->n_pending && w.ref <= b->pending[b->n_pending - 1].ref) || w.amount == 0 ||
	    kit_zero_key(w.dest))
		dec_fail(d, CODEC_NONCANONICAL);
	else if (pending_room(b) != CONTRACT_OK)
		dec_fail(d, CODEC_NOMEM);
	else
		b->pending[b->n_pending++] = w;
}

/* The totals from the entries: false when they overflow. */
static bool restore_totals(struct balances *b)
{
	for (size_t i = 0; i < b->book.n; i++)
		if (!amount_add(&b->balances_total, b->balances_total, b->book.v[i].amount))
			return false;
	for (size_t i = 0; i < b->n_pending; i++)
		if (!amount_add(&b->pending_total, b->pending_total, b->pending[i].amount))
			return false;
	return totals_hold(b);
}

/* What only the handlers could have written: known kinds, a result on refunds only, a ring for
 * every balance and every pending owner, and totals that add up. */
static bool restored_consistent(struct balances *b)
{
	const struct kit_history *h = &b->history;
	for (size_t i = 0; i < h->n; i++)
		for (size_t k = 0; k < h->v[i].n; k++) {
			const uint8_t *x = kit_history_at(h, h->v[i].key, k);
			if (x[0] < BALANCES_H_DEPOSIT || x[0] > BALANCES_H_PAY_CONTRACT ||
			    (x[0] != BALANCES_H_REFUND && kit_get_u32(x + ENTRY_PUBLIC) != 0))
				return false;
		}
	for (size_t i = 0; i < b->book.n; i++)
		if (kit_history_count(h, b->book.v[i].key) == 0)
			return false;
	for (size_t i = 0; i < b->n_pending; i++)
		if (!kit_zero_key(b->pending[i].owner) &&
		    kit_history_count(h, b->pending[i].owner) == 0)
			return false;
	return restore_totals(b);
}

static enum contract_result balances_restore(void *state, const uint8_t *p, size_t n)
{
	struct balances *b = state;
	struct dec d;
	dec_init(&d, p, n);
	if (dec_u8(&d) != SNAPSHOT_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	b->issuance = dec_u128(&d);
	b->next_ref = dec_u64(&d);
	if (b->next_ref == 0)
		dec_fail(&d, CODEC_NONCANONICAL);
	kit_book_decode(&b->book, &d);
	size_t count = (size_t)dec_uleb(&d, BALANCES_PENDING_MAX);
	for (size_t i = 0; i < count && d.err == CODEC_OK; i++)
		restore_pending(b, &d);
	kit_history_decode(&b->history, &d);
	if (dec_finish(&d) == CODEC_OK && restored_consistent(b))
		return CONTRACT_OK;
	balances_clear(b);
	return CONTRACT_BAD_REQUEST;
}

const struct contract_code balances_code = {
    .name = BALANCES_CODE_NAME,
    .create = balances_create,
    .destroy = balances_destroy,
    .on_command = balances_command,
    .on_message = balances_message,
    .on_call = balances_call,
    .on_query = balances_query,
    .snapshot = balances_snapshot,
    .restore = balances_restore,
};
