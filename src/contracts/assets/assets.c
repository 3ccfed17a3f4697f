/* The Assets contract (secret tokens): see assets.h. Every handler checks everything first and
 * changes state last (docs/contracts.md "Atomicity"); the one call that can fail after checks
 * (the issuing fee's CHARGE, COLLECT's PAY or its PAY_OUT message) is the last thing that can
 * fail. */
#include "contracts/assets/assets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "contracts/balances/balances.h"
#include "contracts/kit/kit.h"

#define SNAPSHOT_VERSION 1
#define SYM              ASSETS_SYMBOL_LEN
#define ENTRY_LEN        (1 + SYM + 32 + 16 + 8) /* kind ‖ symbol ‖ counterparty ‖ amount ‖ height */
#define SYM_TEXT         (SYM + 1)
/* The header's result codes as contract results (its enum is anonymous). */
#define R(code) ((enum contract_result)(code))

struct token {
	uint8_t symbol[SYM];
	uint8_t decimals;
	bool hidden;
	uint8_t owner[32];
	u128 supply;             /* == the sum of holders */
	struct kit_book holders; /* holder -> amount */
};

struct assets {
	bool configured;
	uint8_t balances[32];  /* the Balances contract's id */
	u128 fee;              /* issuing fee, PHA units */
	uint8_t collector[32]; /* the deployer */
	/* Fees taken (by CHARGE or from a credit) and not collected yet: they are in this
	 * contract's dark account at Balances, beside the credits (the payers'). */
	u128 fees_held;
	struct token *tok; /* sorted by symbol */
	size_t n_tok, cap_tok;
	size_t n_holdings; /* sum of the holders books' sizes */
	struct kit_book credits;
	struct kit_history history;
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* 1..SYM of [A-Z0-9], then NUL padding. */
static bool symbol_ok(const uint8_t s[SYM])
{
	size_t n = 0;
	while (n < SYM && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9')))
		n++;
	if (n == 0)
		return false;
	for (size_t i = n; i < SYM; i++)
		if (s[i])
			return false;
	return true;
}

static char *symbol_text(char out[SYM_TEXT], const uint8_t s[SYM])
{
	memcpy(out, s, SYM);
	out[SYM] = '\0';
	return out;
}

/* "<amount> <SYMBOL>" for replies. */
static char *token_text(char out[AMOUNT_STR_MAX + SYM_TEXT], const struct token *t, u128 v)
{
	char a[AMOUNT_STR_MAX], s[SYM_TEXT];
	amount_format_decimal(a, v, t->decimals);
	strcpy(out, a);
	strcat(out, " ");
	strcat(out, symbol_text(s, t->symbol));
	return out;
}

/* The token named sym, or NULL; *at is its index or where it would go. */
static struct token *token_find(const struct assets *a, const uint8_t sym[SYM], size_t *at)
{
	size_t lo = 0, hi = a->n_tok;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(a->tok[mid].symbol, sym, SYM);
		if (c == 0) {
			*at = mid;
			return &a->tok[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

/* Room in the token array for one more (allocating now, invisible to readers). */
static bool tokens_room(struct assets *a)
{
	if (a->n_tok < a->cap_tok)
		return true;
	if (a->n_tok >= ASSETS_TOKENS_MAX)
		return false;
	size_t want = a->cap_tok ? a->cap_tok * 2 : 16;
	if (want > ASSETS_TOKENS_MAX)
		want = ASSETS_TOKENS_MAX;
	struct token *p = realloc(a->tok, want * sizeof(*p));
	if (!p)
		return false;
	a->tok = p;
	a->cap_tok = want;
	return true;
}

/* Whether the accounts without a ring yet fit under the cap: counted before any ring is made,
 * so a refusal leaves no empty ring behind. An empty ring would count against the cap here but
 * vanish from the snapshot, and a restored worker would then decide differently. */
static bool history_cap(const struct assets *a, const uint8_t *x, const uint8_t *y)
{
	const struct kit_history *h = &a->history;
	size_t fresh = (kit_history_count(h, x) == 0) + (y && kit_history_count(h, y) == 0);
	return h->n + fresh <= h->max_accounts;
}

static bool history_room(struct assets *a, const uint8_t *x, const uint8_t *y)
{
	return history_cap(a, x, y) && kit_history_room(&a->history, x) &&
	       (!y || kit_history_room(&a->history, y));
}

/* Appends an entry to who's ring, which history_room made sure of. */
static void history_add(struct assets *a, struct contract_env *env, const uint8_t who[32],
                        uint8_t kind, const uint8_t sym[SYM], const uint8_t party[32], u128 amount)
{
	uint8_t entry[ENTRY_LEN];
	struct enc e;
	enc_init_fixed(&e, entry, sizeof(entry));
	enc_u8(&e, kind);
	enc_raw(&e, sym, SYM);
	enc_raw(&e, party, 32);
	enc_u128(&e, amount);
	enc_u64(&e, contract_height(env));
	kit_history_add(&a->history, who, entry);
}

/* Sets who's holding of t, keeping n_holdings; a new holder needs a kit_book_room first. */
static void holding_set(struct assets *a, struct token *t, const uint8_t who[32], u128 v)
{
	u128 old = kit_book_get(&t->holders, who);
	a->n_holdings += (old == 0 && v != 0);
	a->n_holdings -= (old != 0 && v == 0);
	kit_book_set(&t->holders, who, v);
}

/* ---- commands ------------------------------------------------------------------------------ */

/* The token a command names, or a refusal (reply set). */
static enum contract_result known_token(struct assets *a, struct contract_env *env,
                                        const uint8_t sym[SYM], struct token **t)
{
	char s[SYM_TEXT];
	size_t at;
	if (!symbol_ok(sym))
		return kit_reply(env, R(ASSETS_BAD_SYMBOL), "bad symbol: 1 to 12 of A-Z and 0-9");
	*t = token_find(a, sym, &at);
	if (!*t)
		return kit_reply(env, R(ASSETS_UNKNOWN_SYMBOL), "unknown symbol %s",
		                 symbol_text(s, sym));
	return CONTRACT_OK;
}

/* Why Balances did not charge the fee, as a reply. */
static enum contract_result fee_refused(struct assets *a, struct contract_env *env,
                                        const uint8_t who[32], enum contract_result r)
{
	char fee[AMOUNT_STR_MAX], credit[AMOUNT_STR_MAX];
	amount_format_pha(fee, a->fee);
	amount_format_pha(credit, kit_book_get(&a->credits, who));
	if (r == CONTRACT_NO_SUCH_CONTRACT)
		return kit_reply(
		    env, R(ASSETS_FEE_UNPAID),
		    "issuing fee unpaid: Balances is not in this cluster; prepay %s PHA "
		    "with Balances PAY_CONTRACT (your credit here: %s PHA)",
		    fee, credit);
	if (r == R(BALANCES_INSUFFICIENT))
		return kit_reply(env, R(ASSETS_FEE_UNPAID),
		                 "issuing fee unpaid: insufficient dark PHA for the fee of %s PHA",
		                 fee);
	return kit_reply(env, R(ASSETS_FEE_UNPAID),
	                 "issuing fee unpaid: Balances refused to charge %s PHA (result %d)", fee,
	                 (int)r);
}

/* Takes the issuing fee from who: prepaid credit first, else a CHARGE call into Balances. The
 * last step of ISSUE that may fail. */
static enum contract_result pay_fee(struct assets *a, struct contract_env *env,
                                    const uint8_t who[32])
{
	if (a->fee == 0)
		return CONTRACT_OK;
	if (a->fees_held > ~(u128)0 - a->fee)
		return kit_reply(env, R(ASSETS_FULL), "the fee account is full: collect first");
	u128 credit = kit_book_get(&a->credits, who);
	if (credit >= a->fee) {
		kit_book_set(&a->credits, who, credit - a->fee);
		a->fees_held += a->fee;
		return CONTRACT_OK;
	}
	uint8_t req[BALANCES_CALL_LEN], scratch[64];
	req[0] = BALANCES_CALL_CHARGE;
	memcpy(req + 1, who, 32);
	kit_put_u128(req + 33, a->fee);
	struct enc resp;
	enc_init_fixed(&resp, scratch, sizeof(scratch));
	enum contract_result r = contract_call(env, a->balances, req, sizeof(req), &resp);
	if (r != CONTRACT_OK)
		return fee_refused(a, env, who, r);
	a->fees_held += a->fee;
	return CONTRACT_OK;
}

/* Everything about an ISSUE that can be refused before the fee. */
static enum contract_result issue_check(struct assets *a, struct contract_env *env,
                                        const uint8_t who[32], const uint8_t *cmd, size_t *at)
{
	char s[SYM_TEXT];
	if (cmd[30] > 1)
		return kit_reply(env, CONTRACT_BAD_REQUEST,
		                 "malformed command: hide_supply is 0 or 1");
	if (!symbol_ok(cmd + 1))
		return kit_reply(env, R(ASSETS_BAD_SYMBOL), "bad symbol: 1 to 12 of A-Z and 0-9");
	if (cmd[13] > ASSETS_DECIMALS_MAX)
		return kit_reply(env, CONTRACT_BAD_REQUEST, "decimals must be 0 to %d",
		                 ASSETS_DECIMALS_MAX);
	if (kit_get_u128(cmd + 14) == 0)
		return kit_reply(env, R(ASSETS_ZERO_AMOUNT), "the supply must be above zero");
	if (token_find(a, cmd + 1, at))
		return kit_reply(env, R(ASSETS_SYMBOL_EXISTS), "symbol %s exists already",
		                 symbol_text(s, cmd + 1));
	if (a->n_tok >= ASSETS_TOKENS_MAX || a->n_holdings >= ASSETS_HOLDINGS_MAX ||
	    !history_cap(a, who, NULL))
		return kit_reply(env, R(ASSETS_FULL), "no room for another token");
	return CONTRACT_OK;
}

static enum contract_result cmd_issue(struct assets *a, struct contract_env *env,
                                      const uint8_t who[32], const uint8_t *cmd)
{
	size_t at;
	enum contract_result r = issue_check(a, env, who, cmd, &at);
	if (r != CONTRACT_OK)
		return r;
	struct token t = {.decimals = cmd[13], .hidden = cmd[30], .supply = kit_get_u128(cmd + 14)};
	memcpy(t.symbol, cmd + 1, SYM);
	memcpy(t.owner, who, 32);
	kit_book_init(&t.holders, ASSETS_HOLDINGS_MAX);
	if (!tokens_room(a) || !kit_book_room(&t.holders, who))
		r = kit_reply(env, CONTRACT_NOMEM, "out of memory");
	else
		r = pay_fee(a, env, who);
	if (r != CONTRACT_OK) {
		kit_book_release(&t.holders);
		return r;
	}
	kit_book_set(&t.holders, who, t.supply);
	memmove(&a->tok[at + 1], &a->tok[at], (a->n_tok - at) * sizeof(t));
	a->tok[at] = t;
	a->n_tok++;
	a->n_holdings++;
	/* The ring was only counted before the fee; making it can fail only for memory now, and a
	 * missing history line is better than a fee taken for nothing. */
	if (kit_history_room(&a->history, who))
		history_add(a, env, who, ASSETS_H_ISSUED, t.symbol, who, t.supply);
	char text[AMOUNT_STR_MAX + SYM_TEXT];
	return kit_reply(env, CONTRACT_OK, "ok: issued %s%s",
	                 token_text(text, &a->tok[at], t.supply),
	                 t.hidden ? " (supply hidden)" : "");
}

static enum contract_result cmd_transfer(struct assets *a, struct contract_env *env,
                                         const uint8_t who[32], const uint8_t *cmd)
{
	struct token *t;
	enum contract_result r = known_token(a, env, cmd + 1, &t);
	if (r != CONTRACT_OK)
		return r;
	const uint8_t *dest = cmd + 1 + SYM;
	u128 amount = kit_get_u128(cmd + 1 + SYM + 32), have = kit_book_get(&t->holders, who);
	u128 theirs = kit_book_get(&t->holders, dest);
	char x[AMOUNT_STR_MAX + SYM_TEXT], y[AMOUNT_STR_MAX + SYM_TEXT], k[12], s[SYM_TEXT];
	if (amount == 0)
		return kit_reply(env, R(ASSETS_ZERO_AMOUNT), "the amount must be above zero");
	if (kit_zero_key(dest) || memcmp(dest, who, 32) == 0)
		return kit_reply(env, R(ASSETS_BAD_DEST), "bad destination: zero or yourself");
	if (have < amount)
		return kit_reply(env, R(ASSETS_INSUFFICIENT), "insufficient %s: have %s, need %s",
		                 symbol_text(s, t->symbol), token_text(x, t, have),
		                 token_text(y, t, amount));
	bool fresh = theirs == 0 && have != amount; /* one more holder in all */
	if ((fresh && a->n_holdings >= ASSETS_HOLDINGS_MAX) ||
	    (theirs == 0 && !kit_book_room(&t->holders, dest)) || !history_room(a, who, dest))
		return kit_reply(env, R(ASSETS_FULL), "no room for another holder");
	holding_set(a, t, who, have - amount);
	holding_set(a, t, dest, theirs + amount); /* <= supply: cannot overflow */
	history_add(a, env, who, ASSETS_H_SENT, t->symbol, dest, amount);
	history_add(a, env, dest, ASSETS_H_RECEIVED, t->symbol, who, amount);
	return kit_reply(env, CONTRACT_OK, "ok: sent %s to %s, %s left", token_text(x, t, amount),
	                 kit_short(k, dest), token_text(y, t, have - amount));
}

static enum contract_result cmd_burn(struct assets *a, struct contract_env *env,
                                     const uint8_t who[32], const uint8_t *cmd)
{
	struct token *t;
	enum contract_result r = known_token(a, env, cmd + 1, &t);
	if (r != CONTRACT_OK)
		return r;
	u128 amount = kit_get_u128(cmd + 1 + SYM), have = kit_book_get(&t->holders, who);
	char x[AMOUNT_STR_MAX + SYM_TEXT], y[AMOUNT_STR_MAX + SYM_TEXT], s[SYM_TEXT];
	if (amount == 0)
		return kit_reply(env, R(ASSETS_ZERO_AMOUNT), "the amount must be above zero");
	if (have < amount)
		return kit_reply(env, R(ASSETS_INSUFFICIENT), "insufficient %s: have %s, need %s",
		                 symbol_text(s, t->symbol), token_text(x, t, have),
		                 token_text(y, t, amount));
	if (!history_room(a, who, NULL))
		return kit_reply(env, R(ASSETS_FULL), "no room for another history");
	holding_set(a, t, who, have - amount);
	t->supply -= amount;
	history_add(a, env, who, ASSETS_H_BURNED, t->symbol, who, amount);
	return kit_reply(env, CONTRACT_OK, "ok: burned %s, %s left", token_text(x, t, amount),
	                 token_text(y, t, have - amount));
}

static enum contract_result cmd_destroy(struct assets *a, struct contract_env *env,
                                        const uint8_t who[32], const uint8_t *cmd)
{
	struct token *t;
	enum contract_result r = known_token(a, env, cmd + 1, &t);
	if (r != CONTRACT_OK)
		return r;
	char x[AMOUNT_STR_MAX + SYM_TEXT], s[SYM_TEXT];
	u128 mine = kit_book_get(&t->holders, who);
	if (memcmp(t->owner, who, 32) != 0)
		return kit_reply(env, R(ASSETS_NOT_OWNER), "only the owner of %s destroys it",
		                 symbol_text(s, t->symbol));
	if (t->supply > mine)
		return kit_reply(env, R(ASSETS_STILL_HELD), "others still hold %s",
		                 token_text(x, t, t->supply - mine));
	if (!history_room(a, who, NULL))
		return kit_reply(env, R(ASSETS_FULL), "no room for another history");
	history_add(a, env, who, ASSETS_H_DESTROYED, t->symbol, who, mine);
	token_text(x, t, mine);
	a->n_holdings -= t->holders.n;
	kit_book_release(&t->holders);
	size_t at = (size_t)(t - a->tok);
	memmove(t, t + 1, (a->n_tok - at - 1) * sizeof(*t));
	a->n_tok--;
	return kit_reply(env, CONTRACT_OK, "ok: destroyed %s, burning your %s",
	                 symbol_text(s, cmd + 1), x);
}

/* Balances in another cluster cannot be called: the payment goes as a PAY_OUT message through
 * the chain's queue and Balances applies it in a later block, from this contract's dark account
 * there. Only fees already taken are sent (they are in that account), so Balances has them; the
 * emit is the last thing that can fail. */
static enum contract_result collect_by_message(struct assets *a, struct contract_env *env,
                                               const uint8_t *cmd)
{
	char topic[KIT_TOPIC_LEN + 1], x[AMOUNT_STR_MAX], k[12];
	uint8_t msg[1 + 32 + 16];
	u128 amount = kit_get_u128(cmd + 33);
	msg[0] = BALANCES_MSG_PAY_OUT;
	memcpy(msg + 1, cmd + 1, 32 + 16);
	enum contract_result r =
	    contract_emit(env, kit_message_topic(topic, a->balances), msg, sizeof(msg));
	if (r != CONTRACT_OK)
		return kit_reply(env, r, "the message could not be queued (result %d): try later",
		                 (int)r);
	a->fees_held -= amount;
	return kit_reply(
	    env, CONTRACT_OK,
	    "ok: %s PHA sent to %s through the chain's queue (Balances applies it in a "
	    "later block)",
	    amount_format_pha(x, amount), kit_short(k, cmd + 1));
}

/* Everything about a COLLECT that Assets can check itself. Balances would refuse a destination
 * that is Assets (the payer) or Balances; across clusters nobody would be told, so refuse here. */
static enum contract_result collect_check(struct assets *a, struct contract_env *env,
                                          const uint8_t who[32], const uint8_t *dest, u128 amount)
{
	char x[AMOUNT_STR_MAX], y[AMOUNT_STR_MAX];
	if (memcmp(who, a->collector, 32) != 0)
		return kit_reply(env, CONTRACT_DENIED, "only the deployer collects the fees");
	if (amount == 0)
		return kit_reply(env, R(ASSETS_ZERO_AMOUNT), "the amount must be above zero");
	if (kit_zero_key(dest) || memcmp(dest, contract_self(env), 32) == 0 ||
	    memcmp(dest, a->balances, 32) == 0)
		return kit_reply(env, R(ASSETS_BAD_DEST), "bad destination: %s",
		                 kit_zero_key(dest) ? "zero"
		                 : memcmp(dest, contract_self(env), 32) == 0
		                     ? "this contract"
		                     : "the Balances contract");
	if (amount > a->fees_held)
		return kit_reply(env, R(ASSETS_INSUFFICIENT),
		                 "insufficient fees: have %s PHA, need %s PHA",
		                 amount_format_pha(x, a->fees_held), amount_format_pha(y, amount));
	return CONTRACT_OK;
}

/* A synchronous PAY when Balances is in this cluster (it checks the balance), else a PAY_OUT
 * message. */
static enum contract_result cmd_collect(struct assets *a, struct contract_env *env,
                                        const uint8_t who[32], const uint8_t *cmd)
{
	const uint8_t *dest = cmd + 1;
	u128 amount = kit_get_u128(cmd + 33);
	char x[AMOUNT_STR_MAX], y[AMOUNT_STR_MAX], k[12];
	enum contract_result r = collect_check(a, env, who, dest, amount);
	if (r != CONTRACT_OK)
		return r;
	uint8_t req[BALANCES_CALL_LEN], scratch[64];
	req[0] = BALANCES_CALL_PAY;
	memcpy(req + 1, dest, 32 + 16);
	struct enc resp;
	enc_init_fixed(&resp, scratch, sizeof(scratch));
	r = contract_call(env, a->balances, req, sizeof(req), &resp);
	if (r == CONTRACT_NO_SUCH_CONTRACT)
		return collect_by_message(a, env, cmd);
	if (r != CONTRACT_OK) /* Balances' own codes overlap ours: report them in the text only */
		return kit_reply(env, r < CONTRACT_USER ? r : R(ASSETS_INSUFFICIENT),
		                 "Balances refused to pay %s PHA (result %d)",
		                 amount_format_pha(x, amount), (int)r);
	a->fees_held -= amount;
	return kit_reply(env, CONTRACT_OK, "ok: paid %s PHA to %s, %s PHA left to collect",
	                 amount_format_pha(x, amount), kit_short(k, dest),
	                 amount_format_pha(y, a->fees_held));
}

typedef enum contract_result (*command_fn)(struct assets *a, struct contract_env *env,
                                           const uint8_t who[32], const uint8_t *cmd);

static const struct {
	uint8_t kind;
	size_t used; /* bytes before the zero padding */
	command_fn run;
} commands[] = {
    {ASSETS_CMD_ISSUE, 1 + SYM + 1 + 16 + 1, cmd_issue},
    {ASSETS_CMD_TRANSFER, 1 + SYM + 32 + 16, cmd_transfer},
    {ASSETS_CMD_BURN, 1 + SYM + 16, cmd_burn},
    {ASSETS_CMD_DESTROY, 1 + SYM, cmd_destroy},
    {ASSETS_CMD_COLLECT, 1 + 32 + 16, cmd_collect},
};

static enum contract_result assets_command(void *state, struct contract_env *env,
                                           const struct contract_origin *from, const uint8_t *cmd,
                                           size_t len)
{
	struct assets *a = state;
	if (!a->configured)
		return kit_reply(env, R(ASSETS_NOT_CONFIGURED),
		                 "assets is not configured: deployed without balances id and fee");
	for (size_t i = 0; len > 0 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].kind == cmd[0]) {
			if (!kit_fixed(cmd, len, ASSETS_COMMAND_LEN, commands[i].used))
				break;
			return commands[i].run(a, env, from->id, cmd);
		}
	return kit_reply(env, CONTRACT_BAD_REQUEST, "malformed command");
}

/* ---- deploy and messages -------------------------------------------------------------------- */

static enum contract_result assets_deploy(void *state, struct contract_env *env,
                                          const struct contract_origin *from, const uint8_t *args,
                                          size_t len)
{
	struct assets *a = state;
	if (len != ASSETS_ARGS_LEN || kit_zero_key(args) ||
	    memcmp(args, contract_self(env), 32) == 0 || kit_zero_key(from->id))
		return CONTRACT_BAD_REQUEST;
	memcpy(a->balances, args, 32);
	a->fee = kit_get_u128(args + 32);
	memcpy(a->collector, from->id, 32);
	a->configured = true;
	return CONTRACT_OK;
}

/* PAID from the configured Balances: the payer's prepaid credit toward issuing fees. */
static enum contract_result assets_message(void *state, struct contract_env *env,
                                           const struct contract_origin *from, const char *topic,
                                           const uint8_t *p, size_t len)
{
	(void)env;
	(void)topic;
	struct assets *a = state;
	if (!a->configured)
		return R(ASSETS_NOT_CONFIGURED);
	if (from->kind != CONTRACT_FROM_CONTRACT || memcmp(from->id, a->balances, 32) != 0)
		return CONTRACT_DENIED;
	if (len != 1 + 32 + 16 || p[0] != BALANCES_MSG_PAID || kit_zero_key(p + 1))
		return CONTRACT_BAD_REQUEST;
	u128 amount = kit_get_u128(p + 33), credit = kit_book_get(&a->credits, p + 1);
	if (amount == 0 || credit > ~(u128)0 - amount)
		return CONTRACT_BAD_REQUEST;
	if (!kit_book_room(&a->credits, p + 1))
		return R(ASSETS_FULL);
	kit_book_set(&a->credits, p + 1, credit + amount);
	return CONTRACT_OK;
}

/* ---- queries -----------------------------------------------------------------------------------
 */

static enum contract_result q_balance(const void *state, struct contract_env *env,
                                      const uint8_t who[32], const uint8_t *req, struct enc *resp)
{
	const struct assets *a = state;
	size_t at;
	if (!symbol_ok(req + 33))
		return R(ASSETS_BAD_SYMBOL);
	const struct token *t = token_find(a, req + 33, &at);
	if (!t)
		return R(ASSETS_UNKNOWN_SYMBOL);
	enc_u128(resp, kit_book_get(&t->holders, who));
	enc_u8(resp, t->decimals);
	enc_u64(resp, contract_height(env));
	return CONTRACT_OK;
}

static enum contract_result q_holdings(const void *state, struct contract_env *env,
                                       const uint8_t who[32], const uint8_t *req, struct enc *resp)
{
	const struct assets *a = state;
	(void)req; /* the account it names is the asker (kit_query) */
	(void)env;
	size_t n = 0;
	for (size_t i = 0; i < a->n_tok; i++)
		n += kit_book_get(&a->tok[i].holders, who) != 0;
	enc_uleb(resp, n);
	for (size_t i = 0; i < a->n_tok; i++) {
		u128 v = kit_book_get(&a->tok[i].holders, who);
		if (v) {
			enc_raw(resp, a->tok[i].symbol, SYM);
			enc_u8(resp, a->tok[i].decimals);
			enc_u128(resp, v);
		}
	}
	return CONTRACT_OK;
}

static enum contract_result q_list(const void *state, struct contract_env *env,
                                   const uint8_t who[32], const uint8_t *req, struct enc *resp)
{
	const struct assets *a = state;
	(void)env;
	(void)req;
	enc_uleb(resp, a->n_tok);
	for (size_t i = 0; i < a->n_tok; i++) {
		const struct token *t = &a->tok[i];
		enc_raw(resp, t->symbol, SYM);
		enc_u8(resp, t->decimals);
		enc_raw(resp, t->owner, 32);
		enc_u8(resp, t->hidden);
		enc_u128(resp, t->hidden && memcmp(t->owner, who, 32) != 0 ? 0 : t->supply);
	}
	return CONTRACT_OK;
}

static enum contract_result q_history(const void *state, struct contract_env *env,
                                      const uint8_t who[32], const uint8_t *req, struct enc *resp)
{
	const struct assets *a = state;
	(void)req; /* the account it names is the asker (kit_query) */
	(void)env;
	size_t n = kit_history_count(&a->history, who);
	enc_uleb(resp, n);
	for (size_t i = 0; i < n; i++)
		enc_raw(resp, kit_history_at(&a->history, who, i), ENTRY_LEN);
	return CONTRACT_OK;
}

static enum contract_result q_config(const void *state, struct contract_env *env,
                                     const uint8_t who[32], const uint8_t *req, struct enc *resp)
{
	const struct assets *a = state;
	(void)env;
	(void)req;
	enc_raw(resp, a->balances, 32);
	enc_u128(resp, a->fee);
	enc_u128(resp, kit_book_get(&a->credits, who));
	return CONTRACT_OK;
}

static const struct kit_query queries[] = {
    {ASSETS_Q_BALANCE, 1 + 32 + SYM, true, q_balance},
    {ASSETS_Q_HOLDINGS, 1 + 32, true, q_holdings},
    {ASSETS_Q_LIST, 1, false, q_list},
    {ASSETS_Q_HISTORY, 1 + 32, true, q_history},
    {ASSETS_Q_CONFIG, 1, false, q_config},
};

static enum contract_result assets_query(const void *state, struct contract_env *env,
                                         const struct contract_origin *from, const uint8_t *req,
                                         size_t len, struct enc *resp)
{
	if (!((const struct assets *)state)->configured)
		return R(ASSETS_NOT_CONFIGURED);
	return kit_query(queries, sizeof(queries) / sizeof(queries[0]), state, env, from->id, req,
	                 len, resp);
}

/* ---- lifecycle and snapshots --------------------------------------------------------------------
 */

static void *assets_create(void)
{
	struct assets *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	kit_book_init(&a->credits, ASSETS_CREDITS_MAX);
	kit_history_init(&a->history, ASSETS_ACCOUNTS_MAX, ASSETS_HISTORY_MAX, ENTRY_LEN);
	return a;
}

static void assets_destroy(void *state)
{
	struct assets *a = state;
	for (size_t i = 0; i < a->n_tok; i++)
		kit_book_release(&a->tok[i].holders);
	free(a->tok);
	kit_book_release(&a->credits);
	kit_history_release(&a->history);
	free(a);
}

/* Snapshot v1: version u8 ‖ configured bool ‖ balances [32] ‖ fee u128 ‖ collector [32] ‖
 * fees_held u128 ‖ uleb n ‖ n tokens (symbol [12] ‖ decimals u8 ‖ hidden bool ‖ owner [32] ‖
 * supply u128 ‖ holders book), sorted by symbol ‖ credits book ‖ history. */
static enum contract_result assets_snapshot(const void *state, struct enc *out)
{
	const struct assets *a = state;
	enc_u8(out, SNAPSHOT_VERSION);
	enc_bool(out, a->configured);
	enc_raw(out, a->balances, 32);
	enc_u128(out, a->fee);
	enc_raw(out, a->collector, 32);
	enc_u128(out, a->fees_held);
	enc_uleb(out, a->n_tok);
	for (size_t i = 0; i < a->n_tok; i++) {
		const struct token *t = &a->tok[i];
		enc_raw(out, t->symbol, SYM);
		enc_u8(out, t->decimals);
		enc_bool(out, t->hidden);
		enc_raw(out, t->owner, 32);
		enc_u128(out, t->supply);
		kit_book_encode(&t->holders, out);
	}
	kit_book_encode(&a->credits, out);
	kit_history_encode(&a->history, out);
	return enc_finish(out) == CODEC_OK ? CONTRACT_OK : CONTRACT_TOO_LARGE;
}

/* A book whose keys are accounts (never zero); with sum, its amounts must add up to at most ~0
 * and *sum gets the total (credits are separate payers' and need not: sum NULL). */
static bool book_sane(const struct kit_book *b, u128 *sum)
{
	u128 total = 0;
	for (size_t i = 0; i < b->n; i++)
		if (kit_zero_key(b->v[i].key) ||
		    (sum && !amount_add(&total, total, b->v[i].amount)))
			return false;
	if (sum)
		*sum = total;
	return true;
}

/* Reads one token into the next slot of a->tok (reserved), which it takes over even on error so
 * assets_destroy frees it. */
static void token_decode(struct assets *a, struct dec *d)
{
	struct token *t = &a->tok[a->n_tok++];
	memset(t, 0, sizeof(*t));
	kit_book_init(&t->holders, ASSETS_HOLDINGS_MAX);
	dec_raw(d, t->symbol, SYM);
	t->decimals = dec_u8(d);
	t->hidden = dec_bool(d);
	dec_raw(d, t->owner, 32);
	t->supply = dec_u128(d);
	kit_book_decode(&t->holders, d);
	u128 sum;
	a->n_holdings += t->holders.n;
	if (d->err == CODEC_OK && (!symbol_ok(t->symbol) || t->decimals > ASSETS_DECIMALS_MAX ||
	                           kit_zero_key(t->owner) || !book_sane(&t->holders, &sum) ||
	                           sum != t->supply || a->n_holdings > ASSETS_HOLDINGS_MAX ||
	                           (a->n_tok > 1 && memcmp(t[-1].symbol, t->symbol, SYM) >= 0)))
		dec_fail(d, CODEC_NONCANONICAL);
}

static void tokens_decode(struct assets *a, struct dec *d)
{
	size_t n = (size_t)dec_uleb(d, ASSETS_TOKENS_MAX);
	if (d->err != CODEC_OK || n == 0)
		return;
	a->tok = malloc(n * sizeof(*a->tok));
	if (!a->tok) {
		dec_fail(d, CODEC_NOMEM);
		return;
	}
	a->cap_tok = n;
	for (size_t i = 0; i < n && d->err == CODEC_OK; i++)
		token_decode(a, d);
}

/* Every entry names a known kind and a well-formed symbol, every ring an account. */
static bool history_sane(const struct kit_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (kit_zero_key(h->v[i].key))
			return false;
		for (size_t j = 0; j < h->v[i].n; j++) {
			const uint8_t *e = kit_history_at(h, h->v[i].key, j);
			if (e[0] < ASSETS_H_ISSUED || e[0] > ASSETS_H_DESTROYED ||
			    !symbol_ok(e + 1))
				return false;
		}
	}
	return true;
}

/* The header: unconfigured means all zero; configured means a Balances id and a deployer. */
static void config_decode(struct assets *a, struct dec *d)
{
	a->configured = dec_bool(d);
	dec_raw(d, a->balances, 32);
	a->fee = dec_u128(d);
	dec_raw(d, a->collector, 32);
	a->fees_held = dec_u128(d);
	bool zero = kit_zero_key(a->balances) && kit_zero_key(a->collector);
	if (a->configured ? kit_zero_key(a->balances) || kit_zero_key(a->collector)
	                  : !zero || a->fee || a->fees_held)
		dec_fail(d, CODEC_NONCANONICAL);
}

static enum contract_result assets_restore(void *state, const uint8_t *b, size_t n)
{
	struct assets *a = state;
	struct dec d;
	dec_init(&d, b, n);
	if (dec_u8(&d) != SNAPSHOT_VERSION)
		return CONTRACT_BAD_REQUEST;
	config_decode(a, &d);
	tokens_decode(a, &d);
	kit_book_decode(&a->credits, &d);
	kit_history_decode(&a->history, &d);
	if (d.err == CODEC_OK && (!book_sane(&a->credits, NULL) || !history_sane(&a->history) ||
	                          (!a->configured && (a->n_tok || a->credits.n || a->history.n))))
		dec_fail(&d, CODEC_NONCANONICAL);
	return dec_finish(&d) == CODEC_OK ? CONTRACT_OK : CONTRACT_BAD_REQUEST;
}

const struct contract_code assets_code = {
    .name = ASSETS_CODE_NAME,
    .create = assets_create,
    .destroy = assets_destroy,
    .on_deploy = assets_deploy,
    .on_command = assets_command,
    .on_message = assets_message,
    .on_query = assets_query,
    .snapshot = assets_snapshot,
    .restore = assets_restore,
};
