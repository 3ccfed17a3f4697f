/*
 * tenebra token: the Assets contract's secret tokens (contracts/assets/assets.h; docs/wallet.md).
 * issue, transfer, burn and destroy are encrypted commands (waited for through their receipts);
 * balance and history are queries only the holder may ask; list is public; credit shows the
 * issuing fee and the asker's prepaid credit (paid with `dark pay` when Balances runs in another
 * cluster).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "cli/cli_wallet.h"
#include "contracts/assets/assets.h"

/* Everything a token subcommand may take; each takes a subset (token_parse's flags). */
struct token_args {
	struct cli_wallet_opts o;
	const char *from, *to, *symbol, *supply, *decimals;
	bool hide;
	const char *pos[1];
	uint8_t sym[ASSETS_SYMBOL_LEN];
};

enum {
	TOKEN_FROM = 1 << 0,       /* --from NAME, required */
	TOKEN_FROM_OPT = 1 << 1,   /* --from NAME, optional */
	TOKEN_TO = 1 << 2,         /* --to ACCOUNT, required */
	TOKEN_SYMBOL = 1 << 3,     /* --symbol SYM, required */
	TOKEN_SYMBOL_OPT = 1 << 4, /* --symbol SYM, optional */
	TOKEN_ISSUE = 1 << 5,      /* --supply N, --decimals D, --hide-supply */
};

/* SYM: 1..12 of [A-Z0-9], NUL-padded. */
static bool token_symbol(uint8_t out[ASSETS_SYMBOL_LEN], const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > ASSETS_SYMBOL_LEN ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
		return false;
	memset(out, 0, ASSETS_SYMBOL_LEN);
	memcpy(out, s, n);
	return true;
}

/* The symbol of a list entry as text. */
static char *symbol_text(char out[ASSETS_SYMBOL_LEN + 1], const uint8_t sym[ASSETS_SYMBOL_LEN])
{
	memcpy(out, sym, ASSETS_SYMBOL_LEN);
	out[ASSETS_SYMBOL_LEN] = '\0';
	for (char *c = out; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			*c = '?';
	return out;
}

static bool token_parse(struct cli_ctx *ctx, int argc, char **argv, struct token_args *a,
                        unsigned flags, int npos)
{
	struct cli_opt opts[10] = {CLI_WALLET_OPTS(&a->o)};
	size_t n = 3;
	if (flags & (TOKEN_FROM | TOKEN_FROM_OPT))
		opts[n++] = (struct cli_opt){"from", &a->from, NULL};
	if (flags & TOKEN_TO)
		opts[n++] = (struct cli_opt){"to", &a->to, NULL};
	if (flags & (TOKEN_SYMBOL | TOKEN_SYMBOL_OPT))
		opts[n++] = (struct cli_opt){"symbol", &a->symbol, NULL};
	if (flags & TOKEN_ISSUE) {
		opts[n++] = (struct cli_opt){"supply", &a->supply, NULL};
		opts[n++] = (struct cli_opt){"decimals", &a->decimals, NULL};
		opts[n++] = (struct cli_opt){"hide-supply", NULL, &a->hide};
	}
	if (!cli_parse(ctx, opts, argc, argv, a->pos, npos, npos))
		return false;
	if ((flags & TOKEN_FROM) && !a->from)
		return cli_usage_fail(ctx, "missing --from NAME (the account that signs)"), false;
	if ((flags & TOKEN_TO) && !a->to)
		return cli_usage_fail(ctx, "missing --to ACCOUNT"), false;
	if ((flags & TOKEN_SYMBOL) && !a->symbol)
		return cli_usage_fail(ctx, "missing --symbol SYM"), false;
	if (a->symbol && !token_symbol(a->sym, a->symbol))
		return cli_usage_fail(
		           ctx,
		           "invalid symbol '%s': 1 to %d capital letters or digits, such as "
		           "GOLD",
		           a->symbol, ASSETS_SYMBOL_LEN),
		       false;
	return true;
}

/* An AMOUNT in the token's decimals, above 0. */
static int token_amount(struct cli_ctx *ctx, const char *s, unsigned decimals, u128 *out)
{
	if (amount_parse_decimal(out, s, decimals) && *out != 0)
		return CLI_EXIT_OK;
	return cli_usage_fail(ctx,
	                      "invalid amount '%s': expected a number above 0 with at most %u "
	                      "decimals (the token's)",
	                      s, decimals);
}

/* ---- the public list ---------------------------------------------------------------------- */

struct token_entry {
	uint8_t sym[ASSETS_SYMBOL_LEN];
	uint8_t decimals;
	uint8_t owner[32];
	bool hidden;
	u128 supply;
};

/* Decodes entry i of a LIST answer walk; false when malformed. */
static bool list_entry(struct dec *d, struct token_entry *t)
{
	dec_raw(d, t->sym, ASSETS_SYMBOL_LEN);
	t->decimals = dec_u8(d);
	dec_raw(d, t->owner, 32);
	t->hidden = dec_bool(d);
	t->supply = dec_u128(d);
	return d->err == CODEC_OK && t->decimals <= ASSETS_DECIMALS_MAX;
}

/* Calls fn for every entry of the public list (LIST query); stops when fn returns true. Returns
 * an exit status; *found tells whether fn stopped the walk. */
static int list_walk(struct cli_wallet *w, bool (*fn)(void *arg, const struct token_entry *t),
                     void *arg, bool *found)
{
	const uint8_t req[1] = {ASSETS_Q_LIST};
	struct cli_answer ans;
	struct token_entry t;
	struct dec d;
	*found = false;
	int r = cli_wallet_query(w, req, sizeof(req), &ans);
	if (r != CLI_EXIT_OK)
		return r;
	dec_init(&d, ans.body, ans.len);
	uint64_t n = dec_uleb(&d, ASSETS_TOKENS_MAX);
	bool ok = d.err == CODEC_OK;
	for (uint64_t i = 0; ok && i < n && !*found; i++)
		if ((ok = list_entry(&d, &t)))
			*found = fn(arg, &t);
	ok = ok && (*found || dec_finish(&d) == CODEC_OK);
	cli_answer_free(&ans);
	return ok ? CLI_EXIT_OK : cli_fail("%s: malformed token list from the contract", w->what);
}

static bool list_match(void *arg, const struct token_entry *t)
{
	struct token_entry *want = arg;
	if (memcmp(want->sym, t->sym, ASSETS_SYMBOL_LEN) != 0)
		return false;
	*want = *t;
	return true;
}

/* The token's entry (its decimals) from the public list. */
static int token_lookup(struct cli_wallet *w, const struct token_args *a, struct token_entry *t)
{
	bool found;
	memcpy(t->sym, a->sym, ASSETS_SYMBOL_LEN);
	int r = list_walk(w, list_match, t, &found);
	if (r == CLI_EXIT_OK && !found)
		r = cli_fail("%s: unknown symbol '%s' (see tenebra token list)", w->what,
		             a->symbol);
	return r;
}

/* ---- commands ----------------------------------------------------------------------------- */

/* Sends the command (zero-padded to ASSETS_COMMAND_LEN) and prints the outcome. */
static int token_send(struct cli_wallet *w, struct enc *e)
{
	struct cli_wallet_sent s;
	int r = cli_wallet_command(w, e->buf, ASSETS_COMMAND_LEN, &s);
	sodium_memzero(e->buf, ASSETS_COMMAND_LEN);
	return r == CLI_EXIT_OK ? cli_wallet_sent_report(w, &s) : r;
}

/* The command's prefix: kind ‖ symbol, into a zeroed fixed buffer. */
static void token_cmd(struct enc *e, uint8_t buf[ASSETS_COMMAND_LEN], uint8_t kind,
                      const uint8_t sym[ASSETS_SYMBOL_LEN])
{
	memset(buf, 0, ASSETS_COMMAND_LEN);
	enc_init_fixed(e, buf, ASSETS_COMMAND_LEN);
	enc_u8(e, kind);
	enc_raw(e, sym, ASSETS_SYMBOL_LEN);
}

static int token_issue(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	uint8_t buf[ASSETS_COMMAND_LEN];
	struct enc e;
	u128 supply, dec = 0;
	if (!token_parse(ctx, argc, argv, &a, TOKEN_FROM | TOKEN_SYMBOL | TOKEN_ISSUE, 0))
		return CLI_EXIT_USAGE;
	if (a.decimals && (!amount_parse_units(&dec, a.decimals) || dec > ASSETS_DECIMALS_MAX))
		return cli_usage_fail(ctx, "invalid --decimals '%s': expected 0..%d", a.decimals,
		                      ASSETS_DECIMALS_MAX);
	if (!a.supply)
		return cli_usage_fail(ctx, "missing --supply N");
	if (!amount_parse_decimal(&supply, a.supply, (unsigned)dec) || supply == 0)
		return cli_usage_fail(
		    ctx,
		    "invalid supply '%s': expected a number above 0 with at most %u "
		    "decimals",
		    a.supply, (unsigned)dec);
	int r = cli_wallet_open(&w, ctx, "token issue", ASSETS_CODE_NAME, &a.o, a.from,
	                        CLI_WALLET_SEND);
	if (r == CLI_EXIT_OK) {
		token_cmd(&e, buf, ASSETS_CMD_ISSUE, a.sym);
		enc_u8(&e, (uint8_t)dec);
		enc_u128(&e, supply);
		enc_u8(&e, a.hide ? 1 : 0);
		r = token_send(&w, &e);
	}
	cli_wallet_close(&w);
	return r;
}

static int token_transfer(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	struct token_entry t;
	struct accounts_ref to;
	uint8_t buf[ASSETS_COMMAND_LEN];
	struct enc e;
	u128 amount;
	if (!token_parse(ctx, argc, argv, &a, TOKEN_FROM | TOKEN_TO | TOKEN_SYMBOL, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_account(ctx, a.to, &to);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_open(&w, ctx, "token transfer", ASSETS_CODE_NAME, &a.o, a.from,
		                    CLI_WALLET_SEND);
	else
		return r;
	if (r == CLI_EXIT_OK)
		r = token_lookup(&w, &a, &t);
	if (r == CLI_EXIT_OK)
		r = token_amount(ctx, a.pos[0], t.decimals, &amount);
	if (r == CLI_EXIT_OK) {
		token_cmd(&e, buf, ASSETS_CMD_TRANSFER, a.sym);
		enc_raw(&e, to.pk, 32);
		enc_u128(&e, amount);
		r = token_send(&w, &e);
	}
	cli_wallet_close(&w);
	return r;
}

/* burn (with an AMOUNT) and destroy (without). */
static int token_burn_or_destroy(struct cli_ctx *ctx, int argc, char **argv, bool burn)
{
	struct token_args a = {0};
	struct cli_wallet w;
	struct token_entry t;
	uint8_t buf[ASSETS_COMMAND_LEN];
	struct enc e;
	u128 amount = 0;
	if (!token_parse(ctx, argc, argv, &a, TOKEN_FROM | TOKEN_SYMBOL, burn ? 1 : 0))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, burn ? "token burn" : "token destroy", ASSETS_CODE_NAME,
	                        &a.o, a.from, CLI_WALLET_SEND);
	if (r == CLI_EXIT_OK && burn) /* destroy needs no decimals: the contract judges it */
		r = token_lookup(&w, &a, &t);
	if (r == CLI_EXIT_OK && burn)
		r = token_amount(ctx, a.pos[0], t.decimals, &amount);
	if (r == CLI_EXIT_OK) {
		token_cmd(&e, buf, burn ? ASSETS_CMD_BURN : ASSETS_CMD_DESTROY, a.sym);
		if (burn)
			enc_u128(&e, amount);
		r = token_send(&w, &e);
	}
	cli_wallet_close(&w);
	return r;
}

static int token_burn(struct cli_ctx *ctx, int argc, char **argv)
{
	return token_burn_or_destroy(ctx, argc, argv, true);
}

static int token_destroy(struct cli_ctx *ctx, int argc, char **argv)
{
	return token_burn_or_destroy(ctx, argc, argv, false);
}

/* ---- balance ------------------------------------------------------------------------------ */

/* One holding into j's "tokens" array, or a human line. */
static void holding_out(json_t *tokens, const uint8_t sym[ASSETS_SYMBOL_LEN], uint8_t decimals,
                        u128 amount)
{
	char st[ASSETS_SYMBOL_LEN + 1], text[AMOUNT_STR_MAX];
	symbol_text(st, sym);
	if (!tokens) {
		printf("  %-12s %s\n", st, amount_format_decimal(text, amount, decimals));
		return;
	}
	json_t *e = json_pack("{s:s, s:i}", "symbol", st, "decimals", (int)decimals);
	cli_wallet_amount_set(e, "amount", amount, decimals);
	json_array_append_new(tokens, e);
}

/* BALANCE of one symbol: amount u128 ‖ decimals u8 ‖ height u64. */
static int balance_one(struct cli_wallet *w, const struct token_args *a, json_t *tokens,
                       uint64_t *height)
{
	uint8_t req[1 + 32 + ASSETS_SYMBOL_LEN];
	struct cli_answer ans;
	struct dec d;
	req[0] = ASSETS_Q_BALANCE;
	memcpy(req + 1, w->pk, 32);
	memcpy(req + 33, a->sym, ASSETS_SYMBOL_LEN);
	int r = cli_wallet_query(w, req, sizeof(req), &ans);
	if (r != CLI_EXIT_OK)
		return r;
	dec_init(&d, ans.body, ans.len);
	u128 amount = dec_u128(&d);
	uint8_t decimals = dec_u8(&d);
	*height = dec_u64(&d);
	if (dec_finish(&d) == CODEC_OK && decimals <= ASSETS_DECIMALS_MAX)
		holding_out(tokens, a->sym, decimals, amount);
	else
		r = cli_fail("token balance: malformed answer from the contract");
	cli_answer_free(&ans);
	return r;
}

/* HOLDINGS: uleb n ‖ n × (symbol ‖ decimals u8 ‖ amount u128). */
static int balance_all(struct cli_wallet *w, json_t *tokens)
{
	uint8_t sym[ASSETS_SYMBOL_LEN];
	struct cli_answer ans;
	struct dec d;
	int r = cli_wallet_query_own(w, ASSETS_Q_HOLDINGS, &ans);
	if (r != CLI_EXIT_OK)
		return r;
	dec_init(&d, ans.body, ans.len);
	uint64_t n = dec_uleb(&d, ASSETS_TOKENS_MAX);
	for (uint64_t i = 0; i < n && d.err == CODEC_OK; i++) {
		dec_raw(&d, sym, sizeof(sym));
		uint8_t decimals = dec_u8(&d);
		u128 amount = dec_u128(&d);
		if (d.err == CODEC_OK && decimals > ASSETS_DECIMALS_MAX)
			dec_fail(&d, CODEC_TOO_LARGE);
		if (d.err == CODEC_OK)
			holding_out(tokens, sym, decimals, amount);
	}
	if (dec_finish(&d) != CODEC_OK)
		r = cli_fail("token balance: malformed answer from the contract");
	cli_answer_free(&ans);
	return r;
}

static int token_balance(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	char pkhex[65];
	uint64_t height = 0;
	if (!token_parse(ctx, argc, argv, &a, TOKEN_SYMBOL_OPT, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "token balance", ASSETS_CODE_NAME, &a.o, a.pos[0],
	                        CLI_WALLET_ASK);
	json_t *j = ctx->json ? json_object() : NULL, *tokens = ctx->json ? json_array() : NULL;
	if (r == CLI_EXIT_OK && !ctx->json)
		printf("%s holds (secret: only this account can ask)\n", w.address);
	if (r == CLI_EXIT_OK)
		r = a.symbol ? balance_one(&w, &a, tokens, &height) : balance_all(&w, tokens);
	if (r == CLI_EXIT_OK && j) {
		json_object_set_new(j, "contract", json_string(w.c.hex));
		json_object_set_new(j, "account", json_string(hex_encode(pkhex, w.pk, 32)));
		json_object_set_new(j, "tokens", json_incref(tokens));
		/* HOLDINGS carries no height; BALANCE of one symbol does. */
		json_object_set_new(j, "height",
		                    a.symbol ? json_integer((json_int_t)height) : json_null());
		r = cli_emit_json(json_incref(j));
	}
	json_decref(tokens);
	json_decref(j);
	cli_wallet_close(&w);
	return r;
}

/* ---- list --------------------------------------------------------------------------------- */

struct list_out {
	json_t *tokens; /* NULL: human output */
	const uint8_t *asker;
};

static bool list_print(void *arg, const struct token_entry *t)
{
	struct list_out *o = arg;
	char st[ASSETS_SYMBOL_LEN + 1], owner[SS58_ADDR_MAX], text[AMOUNT_STR_MAX];
	/* A hidden supply reads 0 except for its owner. */
	bool shown = !t->hidden || (o->asker && memcmp(o->asker, t->owner, 32) == 0);
	symbol_text(st, t->sym);
	ss58_encode(owner, sizeof(owner), ACCOUNTS_PREFIX, t->owner);
	if (!o->tokens) {
		char supply[AMOUNT_STR_MAX + 16];
		snprintf(supply, sizeof(supply), "%s%s",
		         shown ? amount_format_decimal(text, t->supply, t->decimals) : "hidden",
		         t->hidden && shown ? " (hidden)" : "");
		printf("  %-12s %-8u %-40s %s\n", st, t->decimals, supply, owner);
		return false;
	}
	json_t *e = json_pack("{s:s, s:i, s:s, s:b}", "symbol", st, "decimals", (int)t->decimals,
	                      "owner", owner, "hidden", t->hidden);
	if (shown) {
		cli_wallet_amount_set(e, "supply", t->supply, t->decimals);
	} else {
		json_object_set_new(e, "supply", json_null());
		json_object_set_new(e, "supply_units", json_null());
	}
	json_array_append_new(o->tokens, e);
	return false;
}

static int token_list(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	bool stopped;
	if (!token_parse(ctx, argc, argv, &a, TOKEN_FROM_OPT, 0))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "token list", ASSETS_CODE_NAME, &a.o, a.from,
	                        a.from ? CLI_WALLET_ASK : CLI_WALLET_ANYONE);
	struct list_out o = {ctx->json ? json_array() : NULL, w.pk};
	if (r == CLI_EXIT_OK && !ctx->json)
		printf("  %-12s %-8s %-40s %s\n", "symbol", "decimals", "supply", "owner");
	if (r == CLI_EXIT_OK)
		r = list_walk(&w, list_print, &o, &stopped);
	if (r == CLI_EXIT_OK && ctx->json)
		r = cli_emit_json(json_pack("{s:s, s:O}", "contract", w.c.hex, "tokens", o.tokens));
	json_decref(o.tokens);
	cli_wallet_close(&w);
	return r;
}

/* ---- history ------------------------------------------------------------------------------ */

static const char *const history_kinds[] = {
    [ASSETS_H_ISSUED] = "issued",       [ASSETS_H_SENT] = "sent",
    [ASSETS_H_RECEIVED] = "received",   [ASSETS_H_BURNED] = "burned",
    [ASSETS_H_DESTROYED] = "destroyed",
};
#define HISTORY_NKINDS (sizeof(history_kinds) / sizeof(history_kinds[0]))

/* One entry: kind u8 ‖ symbol ‖ counterparty [32] ‖ amount u128 ‖ height u64. */
static bool history_entry(struct dec *d, json_t *entries)
{
	uint8_t sym[ASSETS_SYMBOL_LEN], who[32];
	char st[ASSETS_SYMBOL_LEN + 1], cp[SS58_ADDR_MAX], units[AMOUNT_STR_MAX];
	uint8_t kind = dec_u8(d);
	dec_raw(d, sym, sizeof(sym));
	dec_raw(d, who, 32);
	u128 amount = dec_u128(d);
	uint64_t height = dec_u64(d);
	if (d->err != CODEC_OK || kind == 0 || kind >= HISTORY_NKINDS)
		return false;
	symbol_text(st, sym);
	ss58_encode(cp, sizeof(cp), ACCOUNTS_PREFIX, who);
	amount_format_units(units, amount);
	if (!entries) {
		printf("  %-8llu %-10s %-12s %-40s %s\n", (unsigned long long)height,
		       history_kinds[kind], st, units, cp);
		return true;
	}
	return json_array_append_new(entries, json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind",
	                                                history_kinds[kind], "symbol", st,
	                                                "counterparty", cp, "amount_units", units,
	                                                "height", (json_int_t)height)) == 0;
}

static int history_out(const struct cli_wallet *w, const struct cli_answer *ans)
{
	struct dec d;
	char pkhex[65];
	json_t *entries = w->ctx->json ? json_array() : NULL;
	dec_init(&d, ans->body, ans->len);
	uint64_t n = dec_uleb(&d, ASSETS_HISTORY_MAX);
	if (!entries && d.err == CODEC_OK)
		printf("%llu entr%s, oldest first (height, kind, symbol, amount in units, "
		       "counterparty)\n",
		       (unsigned long long)n, n == 1 ? "y" : "ies");
	bool ok = d.err == CODEC_OK;
	for (uint64_t i = 0; ok && i < n; i++)
		ok = history_entry(&d, entries);
	if (!ok || dec_finish(&d) != CODEC_OK) {
		json_decref(entries);
		return cli_fail("token history: malformed answer from the contract");
	}
	if (!entries)
		return CLI_EXIT_OK;
	return cli_emit_json(json_pack("{s:s, s:s, s:o}", "contract", w->c.hex, "account",
	                               hex_encode(pkhex, w->pk, 32), "entries", entries));
}

static int token_history(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	struct cli_answer ans = {0};
	if (!token_parse(ctx, argc, argv, &a, 0, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "token history", ASSETS_CODE_NAME, &a.o, a.pos[0],
	                        CLI_WALLET_ASK);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_query_own(&w, ASSETS_Q_HISTORY, &ans);
	if (r == CLI_EXIT_OK)
		r = history_out(&w, &ans);
	cli_answer_free(&ans);
	cli_wallet_close(&w);
	return r;
}

/* ---- credit ------------------------------------------------------------------------------- */

/* CONFIG: balances id [32] ‖ fee u128 ‖ the asker's credit u128, all in PHA. */
static int credit_out(const struct cli_wallet *w, const struct cli_answer *ans)
{
	uint8_t bal[32];
	char balhex[65], text[AMOUNT_STR_MAX];
	struct dec d;
	dec_init(&d, ans->body, ans->len);
	dec_raw(&d, bal, sizeof(bal));
	u128 fee = dec_u128(&d), credit = dec_u128(&d);
	if (dec_finish(&d) != CODEC_OK)
		return cli_fail("token credit: malformed answer from the contract");
	hex_encode(balhex, bal, sizeof(bal));
	if (!w->ctx->json) {
		cli_kv("contract", "%s", w->c.hex);
		cli_kv("balances", "%s", balhex);
		cli_kv("fee", "%s PHA (per issue)",
		       amount_format_decimal(text, fee, AMOUNT_DECIMALS));
		cli_kv("credit", "%s PHA (prepaid by %s; secret)",
		       amount_format_decimal(text, credit, AMOUNT_DECIMALS), w->address);
		return CLI_EXIT_OK;
	}
	json_t *j = json_pack("{s:s, s:s}", "contract", w->c.hex, "balances", balhex);
	cli_wallet_amount_set(j, "fee", fee, AMOUNT_DECIMALS);
	cli_wallet_amount_set(j, "credit", credit, AMOUNT_DECIMALS);
	return cli_emit_json(j);
}

static int token_credit(struct cli_ctx *ctx, int argc, char **argv)
{
	struct token_args a = {0};
	struct cli_wallet w;
	struct cli_answer ans = {0};
	const uint8_t req[1] = {ASSETS_Q_CONFIG};
	if (!token_parse(ctx, argc, argv, &a, 0, 1))
		return CLI_EXIT_USAGE;
	int r = cli_wallet_open(&w, ctx, "token credit", ASSETS_CODE_NAME, &a.o, a.pos[0],
	                        CLI_WALLET_ASK);
	if (r == CLI_EXIT_OK)
		r = cli_wallet_query(&w, req, sizeof(req), &ans);
	if (r == CLI_EXIT_OK)
		r = credit_out(&w, &ans);
	cli_answer_free(&ans);
	cli_wallet_close(&w);
	return r;
}

int cmd_token(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"issue", token_issue, TOKEN_USAGE_ISSUE CLI_WALLET_USAGE_OPTS},
	    {"transfer", token_transfer, TOKEN_USAGE_TRANSFER CLI_WALLET_USAGE_OPTS},
	    {"burn", token_burn, TOKEN_USAGE_BURN CLI_WALLET_USAGE_OPTS},
	    {"destroy", token_destroy, TOKEN_USAGE_DESTROY CLI_WALLET_USAGE_OPTS},
	    {"balance", token_balance, TOKEN_USAGE_BALANCE CLI_WALLET_USAGE_OPTS},
	    {"list", token_list, TOKEN_USAGE_LIST CLI_WALLET_USAGE_OPTS},
	    {"history", token_history, TOKEN_USAGE_HISTORY CLI_WALLET_USAGE_OPTS},
	    {"credit", token_credit, TOKEN_USAGE_CREDIT CLI_WALLET_USAGE_OPTS},
	    {NULL, NULL, NULL},
	};
	return cli_dispatch(ctx, subs, argc, argv);
}
