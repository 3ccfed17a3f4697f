/* Sessions, commands and output shared by `dark` and `token` (cli_wallet.h). */
#include "cli/cli_wallet.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/hex.h"

int cli_wallet_account(struct cli_ctx *ctx, const char *arg, struct accounts_ref *out)
{
	char err[ACCOUNTS_ERR_MAX];
	const char *dir = cli_keystore_dir(ctx);
	if (!dir)
		return CLI_EXIT_FAIL;
	if (accounts_resolve(out, dir, arg, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	return CLI_EXIT_OK;
}

/* The signer: a tx sender, or only a query signer. */
static int wallet_signer(struct cli_wallet *w, const char *from, enum cli_wallet_role role)
{
	char err[ACCOUNTS_ERR_MAX];
	const char *dir;
	if (role == CLI_WALLET_ANYONE)
		return CLI_EXIT_OK;
	if (role == CLI_WALLET_SEND) {
		int r = cli_tx_open(w->ctx, &w->t, from);
		w->tx_open = true;
		w->pk = w->t.signer.ref.pk;
		w->address = w->t.signer.ref.address;
		return r;
	}
	if (!(dir = cli_keystore_dir(w->ctx)))
		return CLI_EXIT_FAIL;
	if (accounts_signer_open(&w->signer, dir, from, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	w->signer_open = true;
	w->pk = w->signer.ref.pk;
	w->address = w->signer.ref.address;
	return CLI_EXIT_OK;
}

int cli_wallet_open(struct cli_wallet *w, struct cli_ctx *ctx, const char *what, const char *code,
                    const struct cli_wallet_opts *o, const char *from, enum cli_wallet_role role)
{
	long timeout_s;
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	w->what = what;
	if (!cli_parse_timeout(ctx, o->timeout, &timeout_s))
		return CLI_EXIT_USAGE;
	if (role != CLI_WALLET_ANYONE && from == NULL)
		return cli_usage_fail(ctx, "missing --from NAME (the account that signs)");
	int r = cli_contract_find(ctx, code, o->contract, &w->c);
	if (r == CLI_EXIT_OK)
		r = wallet_signer(w, from, role);
	if (r != CLI_EXIT_OK)
		return r;
	const uint8_t *sk = role == CLI_WALLET_SEND  ? w->t.signer.sk
	                    : role == CLI_WALLET_ASK ? w->signer.sk
	                                             : NULL;
	w->q_open = true;
	return cli_query_open(&w->q, ctx, &w->c, o->worker, sk, timeout_s);
}

void cli_wallet_close(struct cli_wallet *w)
{
	if (w->q_open)
		cli_query_close(&w->q);
	if (w->tx_open)
		cli_tx_close(&w->t);
	if (w->signer_open)
		accounts_signer_wipe(&w->signer);
	cli_contract_release(&w->c);
	w->q_open = w->tx_open = w->signer_open = false;
}

int cli_wallet_command(struct cli_wallet *w, const uint8_t *cmd, size_t len,
                       struct cli_wallet_sent *out)
{
	json_t *st = NULL;
	memset(out, 0, sizeof(*out));
	int r = cli_contract_send(&w->t, &w->c, cmd, len, &out->nonce, &st);
	snprintf(out->txid, sizeof(out->txid), "%s", cli_json_str(st, "txid"));
	json_decref(st);
	if (r != CLI_EXIT_OK)
		return r;
	if ((r = cli_query_receipt(&w->q, out->nonce, &out->receipt)) != CLI_EXIT_OK)
		return r;
	if (out->receipt.result == CONTRACT_NOT_OPENED)
		return cli_fail(
		    "%s: the contract could not open the command (sealed to another key?)",
		    w->what);
	if (out->receipt.result != CONTRACT_OK)
		return cli_fail("%s refused: %s", w->what,
		                out->receipt.reply[0] ? out->receipt.reply : "no reason given");
	return CLI_EXIT_OK;
}

json_t *cli_wallet_sent_json(const struct cli_wallet *w, const struct cli_wallet_sent *s)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:i, s:s}", "contract", w->c.hex, "tx", s->txid,
	                 "nonce", (json_int_t)s->nonce, "height", (json_int_t)s->receipt.height,
	                 "result", 0, "reply", s->receipt.reply);
}

void cli_wallet_sent_print(const struct cli_wallet *w, const struct cli_wallet_sent *s)
{
	cli_kv("contract", "%s", w->c.hex);
	cli_kv("tx", "%s", s->txid);
	cli_kv("nonce", "%llu", (unsigned long long)s->nonce);
	cli_kv("applied", "block %llu", (unsigned long long)s->receipt.height);
	cli_kv("reply", "%s", s->receipt.reply);
}

int cli_wallet_sent_report(const struct cli_wallet *w, const struct cli_wallet_sent *s)
{
	if (w->ctx->json)
		return cli_emit_json(cli_wallet_sent_json(w, s));
	cli_wallet_sent_print(w, s);
	return CLI_EXIT_OK;
}

static const char *query_refusal(uint32_t result)
{
	switch (result) {
	case CONTRACT_BAD_REQUEST:
		return "bad request";
	case CONTRACT_DENIED:
		return "denied: only the account itself may ask";
	case CONTRACT_NO_RECEIPT:
		return "not found";
	default:
		return NULL;
	}
}

int cli_wallet_query(struct cli_wallet *w, const uint8_t *req, size_t len, struct cli_answer *a)
{
	int r = cli_query_run(&w->q, req, len, a);
	if (r != CLI_EXIT_OK || a->result == CONTRACT_OK)
		return r;
	const char *why = query_refusal(a->result);
	uint32_t code = a->result;
	cli_answer_free(a);
	if (why)
		return cli_fail("%s: the contract refused the query: %s", w->what, why);
	return cli_fail("%s: the contract refused the query (result %u)", w->what, code);
}

int cli_wallet_query_own(struct cli_wallet *w, uint8_t kind, struct cli_answer *a)
{
	uint8_t req[33];
	req[0] = kind;
	memcpy(req + 1, w->pk, 32);
	return cli_wallet_query(w, req, sizeof(req), a);
}

void cli_wallet_amount_set(json_t *obj, const char *key, u128 v, unsigned decimals)
{
	char text[AMOUNT_STR_MAX], units[AMOUNT_STR_MAX], ukey[64];
	snprintf(ukey, sizeof(ukey), "%s_units", key);
	json_object_set_new(obj, key, json_string(amount_format_decimal(text, v, decimals)));
	json_object_set_new(obj, ukey, json_string(amount_format_units(units, v)));
}
