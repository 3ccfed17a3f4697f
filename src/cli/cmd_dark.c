/*
 * tenebra dark: the Balances contract's secret PHA (contracts/balances/balances.h; docs/wallet.md).
 * Deposit is a public chain call (contracts.deposit); transfer, withdraw and pay (a contract,
 * possibly in another cluster) are encrypted commands; balance, history and info are signed queries
 * through a worker. Every command waits until its effect is visible in the contract.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "chain/contracts.h"
#include "chain/runtime.h"
#include "cli/cli_wallet.h"
#include "contracts/balances/balances.h"

#define DARK_AMOUNT_HINT "expected PHA above 0 with at most 12 decimals, such as 1.5"

/* The common shape of a dark subcommand's command line. */
struct dark_args {
	struct cli_wallet_opts o;
	const char *from, *to;
	const char *pos[1];
	u128 amount;
};

enum {
	DARK_FROM = 1 << 0,        /* --from NAME */
	DARK_TO = 1 << 1,          /* --to ACCOUNT */
	DARK_AMOUNT = 1 << 2,      /* the positional is an AMOUNT */
	DARK_TO_CONTRACT = 1 << 3, /* --to-contract ID (into the same field as --to) */
};

/* Parses the wallet options, the options in flags, and exactly npos positionals. */
static bool dark_parse(struct cli_ctx *ctx, int argc, char **argv, struct dark_args *a,
                       unsigned flags, int npos)
{
	struct cli_opt opts[6] = {CLI_WALLET_OPTS(&a->o)};
	size_t n = 3;
	if (flags & DARK_FROM)
		opts[n++] = (struct cli_opt){"from", &a->from, NULL};
	if (flags & DARK_TO)
		opts[n++] = (struct cli_opt){"to", &a->to, NULL};
	if (flags & DARK_TO_CONTRACT)
		opts[n++] = (struct cli_opt){"to-contract", &a->to, NULL};
	if (!cli_parse(ctx, opts, argc, argv, a->pos, npos, npos))
		return false;
	if ((flags & DARK_FROM) && !a->from)
		return cli_usage_fail(ctx, "missing --from NAME (the account that signs)"), false;
	if ((flags & DARK_AMOUNT) &&
	    (!amount_parse_decimal(&a->amount, a->pos[0], AMOUNT_DECIMALS) || a->amount == 0))
		return cli_usage_fail(ctx, "invalid amount '%s': " DARK_AMOUNT_HINT, a->pos[0]),
		       false;
	return true;
}

static char *pha_text(char out[AMOUNT_STR_MAX + 4], u128 v)
{
	return strcat(amount_format_decimal(out, v, AMOUNT_DECIMALS), " PHA");
}

/* ---- deposit ------------------------------------------------------------------------------ */

struct dark_balance {
	uint64_t min_height; /* wait until the answer is at least this recent */
	u128 balance;
	uint64_t height;
};

static bool balance_decode(const struct cli_answer *a, struct dark_balance *b)
{
	struct dec d;
	dec_init(&d, a->body, a->len);
	b->balance = dec_u128(&d);
	b->height = dec_u64(&d);
	return dec_finish(&d) == CODEC_OK;
}

static enum cli_poll balance_fresh(void *arg, const struct cli_answer *a)
{
	struct dark_balance *b = arg;
	if (a->result != CONTRACT_OK || !balance_decode(a, b))
		return cli_fail("the contract answered the balance query with result %u",
		                a->result),
		       CLI_POLL_FAIL;
	return b->height >= b->min_height ? CLI_POLL_DONE : CLI_POLL_WAIT;
}

static int deposit_report(struct cli_wallet *w, const json_t *st, u128 amount,
                          const struct dark_balance *b)
{
	char text[AMOUNT_STR_MAX + 4];
	if (!w->ctx->json) {
		cli_kv("contract", "%s", w->c.hex);
		cli_kv("tx", "%s", cli_json_str(st, "txid"));
		cli_kv("deposited", "%s (public: block %llu)", pha_text(text, amount),
		       (unsigned long long)b->min_height);
		cli_kv("dark balance", "%s (secret)", pha_text(text, b->balance));
		return CLI_EXIT_OK;
	}
	json_t *j = json_pack("{s:s, s:s, s:I}", "contract", w->c.hex, "tx",
	                      cli_json_str(st, "txid"), "height", (json_int_t)b->min_height);
	cli_wallet_amount_set(j, "amount", amount, AMOUNT_DECIMALS);
	cli_wallet_amount_set(j, "dark_balance", b->balance, AMOUNT_DECIMALS);
	return cli_emit_json(j);
}

static int dark_deposit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct dark_args a = {0};
	struct cli_wallet w;
	struct dark_balance b = {0};
	uint8_t payload[CONTRACTS_DEPOSIT_PAYLOAD_LEN], req[33];
	json_t *st = NULL;
	if (!dark_parse(ctx, argc, argv, &a, DARK_FROM | DARK_AMOUNT, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "dark deposit", BALANCES_CODE_NAME, &a.o, a.from,
	                        CLI_WALLET_SEND);
	if (r == CLI_EXIT_OK) {
		contracts_deposit_payload(payload, w.c.id, a.amount);
		r = cli_tx_send(&w.t, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPOSIT, payload,
		                sizeof(payload), &st);
	}
	if (r == CLI_EXIT_OK && !jsonx_u64(st, "height", &b.min_height))
		r = cli_fail("tx_status lacks the deposit's height");
	if (r == CLI_EXIT_OK) {
		req[0] = BALANCES_Q_BALANCE;
		memcpy(req + 1, w.pk, 32);
		r = cli_query_poll(&w.q, req, sizeof(req), "the contract to credit the deposit",
		                   balance_fresh, &b);
	}
	if (r == CLI_EXIT_OK)
		r = deposit_report(&w, st, a.amount, &b);
	json_decref(st);
	cli_wallet_close(&w);
	return r;
}

/* ---- transfer ----------------------------------------------------------------------------- */

/* Sends TRANSFER / WITHDRAW / PAY_CONTRACT kind to dest and waits for the receipt. */
static int dark_send(struct cli_wallet *w, uint8_t kind, const uint8_t dest[32], u128 amount,
                     struct cli_wallet_sent *s)
{
	uint8_t cmd[BALANCES_COMMAND_LEN];
	struct enc e;
	enc_init_fixed(&e, cmd, sizeof(cmd));
	enc_u8(&e, kind);
	enc_raw(&e, dest, 32);
	enc_u128(&e, amount);
	int r = cli_wallet_command(w, cmd, sizeof(cmd), s);
	sodium_memzero(cmd, sizeof(cmd));
	return r;
}

/* ---- withdraw ----------------------------------------------------------------------------- */

struct withdrawal {
	uint8_t state;
	uint8_t dest[32];
	u128 amount;
	uint32_t result;
};

static enum cli_poll withdrawal_settled(void *arg, const struct cli_answer *a)
{
	struct withdrawal *wd = arg;
	struct dec d;
	dec_init(&d, a->body, a->len);
	wd->state = dec_u8(&d);
	dec_raw(&d, wd->dest, 32);
	wd->amount = dec_u128(&d);
	wd->result = dec_u32(&d);
	if (a->result != CONTRACT_OK || dec_finish(&d) != CODEC_OK)
		return cli_fail("the contract answered the withdrawal query with result %u",
		                a->result),
		       CLI_POLL_FAIL;
	return wd->state == BALANCES_WD_PENDING ? CLI_POLL_WAIT : CLI_POLL_DONE;
}

/* The withdrawal's ref from the reply "ok withdrawal <ref>". */
static bool withdraw_ref(const char *reply, uint64_t *ref)
{
	static const char prefix[] = "ok withdrawal ";
	char *end;
	if (strncmp(reply, prefix, sizeof(prefix) - 1) != 0)
		return false;
	const char *n = reply + sizeof(prefix) - 1;
	*ref = strtoull(n, &end, 10);
	return *n >= '0' && *n <= '9' && *end == '\0';
}

static int withdraw_report(struct cli_wallet *w, const struct cli_wallet_sent *s, uint64_t ref,
                           const struct withdrawal *wd, const struct accounts_ref *to)
{
	bool released = wd->state == BALANCES_WD_RELEASED;
	int r = CLI_EXIT_OK;
	if (w->ctx->json) {
		json_t *j = cli_wallet_sent_json(w, s);
		json_object_set_new(j, "ref", json_integer((json_int_t)ref));
		json_object_set_new(j, "released", json_boolean(released));
		json_object_set_new(j, "chain_result", json_integer((json_int_t)wd->result));
		json_object_set_new(j, "to", json_string(to->address));
		r = cli_emit_json(j);
	} else if (released) {
		char text[AMOUNT_STR_MAX + 4];
		cli_wallet_sent_print(w, s);
		cli_kv("withdrawal", "%llu", (unsigned long long)ref);
		cli_kv("released", "%s to %s (public)", pha_text(text, wd->amount), to->address);
	}
	if (!released)
		r = cli_fail("dark withdraw refused by the chain: %s (refunded: the amount is back "
		             "in your dark balance)",
		             tx_strerror((enum tx_result)wd->result));
	return r;
}

static int withdraw_wait(struct cli_wallet *w, const struct cli_wallet_sent *s,
                         const struct accounts_ref *to)
{
	uint64_t ref;
	uint8_t req[9];
	struct withdrawal wd;
	struct enc e;
	if (!withdraw_ref(s->receipt.reply, &ref))
		return cli_fail("dark withdraw: unexpected reply from the contract: %s",
		                s->receipt.reply);
	enc_init_fixed(&e, req, sizeof(req));
	enc_u8(&e, BALANCES_Q_WITHDRAWAL);
	enc_u64(&e, ref);
	int r = cli_query_poll(&w->q, req, sizeof(req), "the chain to release the withdrawal",
	                       withdrawal_settled, &wd);
	return r == CLI_EXIT_OK ? withdraw_report(w, s, ref, &wd, to) : r;
}

/* A PAY_CONTRACT's destination must be a contract the node knows (with a published key, so some
 * cluster hosts it): Balances cannot tell, and PHA paid to any other id would be stranded. */
static int contract_dest(struct cli_ctx *ctx, const char *idhex, struct accounts_ref *to)
{
	struct cli_contract c;
	int r = cli_contract_get(ctx, idhex, &c);
	if (r == CLI_EXIT_OK)
		memcpy(to->pk, c.id, 32);
	cli_contract_release(&c);
	return r;
}

static const char *const move_what[] = {
    [BALANCES_CMD_TRANSFER] = "dark transfer",
    [BALANCES_CMD_WITHDRAW] = "dark withdraw",
    [BALANCES_CMD_PAY_CONTRACT] = "dark pay",
};

/* transfer, withdraw and pay: a command to an account (withdraw: by default the sender's own
 * public account) or to a contract (pay), then for a withdrawal the wait until the chain settles
 * it. */
static int dark_move(struct cli_ctx *ctx, int argc, char **argv, uint8_t kind)
{
	struct dark_args a = {0};
	struct cli_wallet w;
	struct cli_wallet_sent s;
	struct accounts_ref to;
	bool withdraw = kind == BALANCES_CMD_WITHDRAW, pay = kind == BALANCES_CMD_PAY_CONTRACT;
	if (!dark_parse(ctx, argc, argv, &a,
	                DARK_FROM | DARK_AMOUNT | (pay ? DARK_TO_CONTRACT : DARK_TO), 1))
		return CLI_EXIT_USAGE;
	if (!a.to && !withdraw)
		return cli_usage_fail(ctx,
		                      pay ? "missing --to-contract ID" : "missing --to ACCOUNT");
	int r = pay ? contract_dest(ctx, a.to, &to)
	            : cli_wallet_account(ctx, a.to ? a.to : a.from, &to);
	if (r != CLI_EXIT_OK)
		return r;
	r = cli_wallet_open(&w, ctx, move_what[kind], BALANCES_CODE_NAME, &a.o, a.from,
	                    CLI_WALLET_SEND);
	if (r == CLI_EXIT_OK)
		r = dark_send(&w, kind, to.pk, a.amount, &s);
	if (r == CLI_EXIT_OK && withdraw)
		r = withdraw_wait(&w, &s, &to);
	else if (r == CLI_EXIT_OK)
		r = cli_wallet_sent_report(&w, &s);
	cli_wallet_close(&w);
	return r;
}

static int dark_transfer(struct cli_ctx *ctx, int argc, char **argv)
{
	return dark_move(ctx, argc, argv, BALANCES_CMD_TRANSFER);
}

static int dark_withdraw(struct cli_ctx *ctx, int argc, char **argv)
{
	return dark_move(ctx, argc, argv, BALANCES_CMD_WITHDRAW);
}

static int dark_pay(struct cli_ctx *ctx, int argc, char **argv)
{
	return dark_move(ctx, argc, argv, BALANCES_CMD_PAY_CONTRACT);
}

/* ---- balance ------------------------------------------------------------------------------ */

static int dark_balance(struct cli_ctx *ctx, int argc, char **argv)
{
	struct dark_args a = {0};
	struct cli_wallet w;
	struct cli_answer ans = {0};
	struct dark_balance b;
	char text[AMOUNT_STR_MAX + 4], pkhex[65];
	if (!dark_parse(ctx, argc, argv, &a, 0, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "dark balance", BALANCES_CODE_NAME, &a.o, a.pos[0],
	                        CLI_WALLET_ASK);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_query_own(&w, BALANCES_Q_BALANCE, &ans);
	if (r == CLI_EXIT_OK && !balance_decode(&ans, &b))
		r = cli_fail("dark balance: malformed answer from the contract");
	if (r == CLI_EXIT_OK && !ctx->json) {
		cli_kv("account", "%s", w.address);
		cli_kv("dark balance", "%s", pha_text(text, b.balance));
		cli_kv("height", "%llu", (unsigned long long)b.height);
	} else if (r == CLI_EXIT_OK) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "contract", w.c.hex, "account",
		                      hex_encode(pkhex, w.pk, 32), "address", w.address, "height",
		                      (json_int_t)b.height);
		cli_wallet_amount_set(j, "dark_balance", b.balance, AMOUNT_DECIMALS);
		r = cli_emit_json(j);
	}
	cli_answer_free(&ans);
	cli_wallet_close(&w);
	return r;
}

/* ---- history ------------------------------------------------------------------------------ */

static const char *const history_kinds[] = {
    [BALANCES_H_DEPOSIT] = "deposit",           [BALANCES_H_SENT] = "sent",
    [BALANCES_H_RECEIVED] = "received",         [BALANCES_H_WITHDRAW] = "withdraw",
    [BALANCES_H_RELEASED] = "released",         [BALANCES_H_REFUND] = "refund",
    [BALANCES_H_CHARGED] = "charged",           [BALANCES_H_PAID_BY] = "paid_by",
    [BALANCES_H_PAY_CONTRACT] = "pay_contract",
};
#define HISTORY_NKINDS (sizeof(history_kinds) / sizeof(history_kinds[0]))

/* A contract is the other side of CHARGE, PAY and PAY_CONTRACT: shown as its id (hex), an account
 * as its address. */
static const char *counterparty_text(char out[SS58_ADDR_MAX + 65], uint8_t kind,
                                     const uint8_t who[32])
{
	if (kind >= BALANCES_H_CHARGED)
		return hex_encode(out, who, 32);
	ss58_encode(out, SS58_ADDR_MAX + 65, ACCOUNTS_PREFIX, who);
	return out;
}

/* One history entry into an array element (or a human line). False when malformed. */
static bool history_entry(struct dec *d, json_t *entries, bool human)
{
	uint8_t who[32];
	char cp[SS58_ADDR_MAX + 65], text[AMOUNT_STR_MAX + 4];
	uint8_t kind = dec_u8(d);
	dec_raw(d, who, 32);
	u128 amount = dec_u128(d);
	uint64_t height = dec_u64(d), ref = dec_u64(d);
	if (d->err != CODEC_OK || kind == 0 || kind >= HISTORY_NKINDS)
		return false;
	counterparty_text(cp, kind, who);
	if (human) {
		printf("  %-8llu %-12s %-22s %s", (unsigned long long)height, history_kinds[kind],
		       pha_text(text, amount), cp);
		if (ref != 0)
			printf("  (withdrawal %llu)", (unsigned long long)ref);
		putchar('\n');
		return true;
	}
	json_t *e = json_pack("{s:s, s:s, s:I, s:I}", "kind", history_kinds[kind], "counterparty",
	                      cp, "height", (json_int_t)height, "ref", (json_int_t)ref);
	cli_wallet_amount_set(e, "amount", amount, AMOUNT_DECIMALS);
	return json_array_append_new(entries, e) == 0;
}

/* Prints (or adds to j's "entries") the HISTORY answer: uleb n ‖ n entries. */
static int history_print(const struct cli_answer *a, json_t *j, bool human)
{
	struct dec d;
	dec_init(&d, a->body, a->len);
	uint64_t n = dec_uleb(&d, BALANCES_HISTORY_MAX);
	json_t *entries = json_array();
	bool ok = entries != NULL && d.err == CODEC_OK;
	if (human && ok)
		printf("%llu entr%s, oldest first (height, kind, amount, counterparty)\n",
		       (unsigned long long)n, n == 1 ? "y" : "ies");
	for (uint64_t i = 0; ok && i < n; i++)
		ok = history_entry(&d, entries, human);
	ok = ok && dec_finish(&d) == CODEC_OK;
	if (ok && j)
		json_object_set_new(j, "entries", entries);
	else
		json_decref(entries);
	return ok ? CLI_EXIT_OK : cli_fail("dark history: malformed answer from the contract");
}

static int dark_history(struct cli_ctx *ctx, int argc, char **argv)
{
	struct dark_args a = {0};
	struct cli_wallet w;
	struct cli_answer ans = {0};
	char pkhex[65];
	json_t *j = NULL;
	if (!dark_parse(ctx, argc, argv, &a, 0, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "dark history", BALANCES_CODE_NAME, &a.o, a.pos[0],
	                        CLI_WALLET_ASK);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_query_own(&w, BALANCES_Q_HISTORY, &ans);
	if (r == CLI_EXIT_OK && ctx->json)
		j = json_pack("{s:s, s:s}", "contract", w.c.hex, "account",
		              hex_encode(pkhex, w.pk, 32));
	if (r == CLI_EXIT_OK)
		r = history_print(&ans, j, !ctx->json);
	if (r == CLI_EXIT_OK && j)
		r = cli_emit_json(json_incref(j));
	json_decref(j);
	cli_answer_free(&ans);
	cli_wallet_close(&w);
	return r;
}

/* ---- info --------------------------------------------------------------------------------- */

struct dark_issuance {
	u128 issuance, pending, custody;
	uint64_t height;
};

static void info_print(const struct cli_wallet *w, const struct dark_issuance *is,
                       const json_t *custody)
{
	char text[AMOUNT_STR_MAX + 4];
	cli_kv("contract", "%s", w->c.hex);
	cli_kv("issuance", "%s (in the contract at height %llu)", pha_text(text, is->issuance),
	       (unsigned long long)is->height);
	cli_kv("pending", "%s (withdrawals not yet released)", pha_text(text, is->pending));
	cli_kv("custody", "%s", cli_json_str(custody, "address"));
	cli_kv("custody bal.", "%s (public, on chain)", pha_text(text, is->custody));
}

static int info_report(struct cli_wallet *w, const struct cli_answer *ans)
{
	struct dark_issuance is;
	struct dec d;
	const json_t *custody = json_object_get(w->c.info, "custody");
	dec_init(&d, ans->body, ans->len);
	is.issuance = dec_u128(&d);
	is.pending = dec_u128(&d);
	is.height = dec_u64(&d);
	if (dec_finish(&d) != CODEC_OK)
		return cli_fail("dark info: malformed answer from the contract");
	if (!jsonx_units(custody, "balance_units", &is.custody))
		return cli_fail("the node's contract_get lacks the custody account's balance");
	if (!w->ctx->json) {
		info_print(w, &is, custody);
		return CLI_EXIT_OK;
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "contract", w->c.hex, "custody_account",
	                      cli_json_str(custody, "account"), "custody_address",
	                      cli_json_str(custody, "address"), "height", (json_int_t)is.height);
	cli_wallet_amount_set(j, "issuance", is.issuance, AMOUNT_DECIMALS);
	cli_wallet_amount_set(j, "pending", is.pending, AMOUNT_DECIMALS);
	cli_wallet_amount_set(j, "custody_balance", is.custody, AMOUNT_DECIMALS);
	return cli_emit_json(j);
}

static int dark_info(struct cli_ctx *ctx, int argc, char **argv)
{
	struct dark_args a = {0};
	struct cli_wallet w;
	struct cli_answer ans = {0};
	const uint8_t req[1] = {BALANCES_Q_ISSUANCE};
	if (!dark_parse(ctx, argc, argv, &a, 0, 0))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "dark info", BALANCES_CODE_NAME, &a.o, NULL,
	                        CLI_WALLET_ANYONE);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_query(&w, req, sizeof(req), &ans);
	if (r == CLI_EXIT_OK)
		r = info_report(&w, &ans);
	cli_answer_free(&ans);
	cli_wallet_close(&w);
	return r;
}

int cmd_dark(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"deposit", dark_deposit, DARK_USAGE_DEPOSIT CLI_WALLET_USAGE_OPTS},
	    {"transfer", dark_transfer, DARK_USAGE_TRANSFER CLI_WALLET_USAGE_OPTS},
	    {"withdraw", dark_withdraw, DARK_USAGE_WITHDRAW CLI_WALLET_USAGE_OPTS},
	    {"pay", dark_pay, DARK_USAGE_PAY CLI_WALLET_USAGE_OPTS},
	    {"balance", dark_balance, DARK_USAGE_ACCOUNT CLI_WALLET_USAGE_OPTS},
	    {"history", dark_history, DARK_USAGE_ACCOUNT CLI_WALLET_USAGE_OPTS},
	    {"info", dark_info, DARK_USAGE_INFO CLI_WALLET_USAGE_OPTS},
	    {NULL, NULL, NULL},
	};
	return cli_dispatch(ctx, subs, argc, argv);
}
