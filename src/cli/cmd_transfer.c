/*
 * tenebra transfer: builds a balances.transfer, pays exactly the fee the runtime will charge
 * (runtime_fee over the encoded length, with the node's fee parameters), signs, submits and waits
 * for inclusion.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/amount.h"
#include "base/hex.h"
#include "chain/runtime.h"
#include "chain/tx.h"
#include "cli/accounts.h"
#include "cli/cli_int.h"
#include "worker/worker_tx.h"

#define TRANSFER_MORTALITY  64 /* blocks the tx stays valid for */
#define TRANSFER_WAIT_S     30 /* default --timeout */
#define TRANSFER_WAIT_MAX_S 3600
#define TRANSFER_POLL_MS    200

struct transfer_args {
	const char *from, *to;
	u128 amount, tip;
	long timeout_s;
	bool no_wait;
};

/* What the node told us before signing. */
struct transfer_chain {
	struct worker_tx_chain tx; /* chain id, fees, head height, the sender's next nonce */
	uint64_t mortality;
};

static int transfer_parse(struct cli_ctx *ctx, int argc, char **argv, struct transfer_args *a)
{
	const char *pos[1], *tip = NULL, *timeout = NULL;
	const struct cli_opt opts[] = {
	    {"from", &a->from, NULL},    {"to", &a->to, NULL},           {"tip", &tip, NULL},
	    {"timeout", &timeout, NULL}, {"no-wait", NULL, &a->no_wait}, {NULL, NULL, NULL}};
	u128 t = TRANSFER_WAIT_S;
	if (!cli_parse(ctx, opts, argc, argv, pos, 1, 1))
		return CLI_EXIT_USAGE;
	if (a->from == NULL || a->to == NULL)
		return cli_usage_fail(ctx, "missing %s",
		                      a->from == NULL ? "--from NAME" : "--to ACCOUNT");
	if (!amount_parse_pha(&a->amount, pos[0]) || a->amount == 0)
		return cli_usage_fail(ctx,
		                      "invalid amount '%s': expected PHA above 0 with at most 12 "
		                      "decimals, such as 1.5",
		                      pos[0]);
	if (tip != NULL && !amount_parse_pha(&a->tip, tip))
		return cli_usage_fail(
		    ctx, "invalid tip '%s': expected PHA with at most 12 decimals", tip);
	if ((timeout != NULL && !amount_parse_units(&t, timeout)) || t == 0 ||
	    t > TRANSFER_WAIT_MAX_S)
		return cli_usage_fail(ctx, "invalid timeout '%s': expected 1..3600 seconds",
		                      timeout);
	a->timeout_s = (long)t;
	return CLI_EXIT_OK;
}

/* Reads chain_info and the sender's account_get answers into *ch. */
static bool transfer_read_chain(struct transfer_chain *ch, const json_t *info, const json_t *acct)
{
	ch->mortality = TRANSFER_MORTALITY;
	uint64_t max_mortality = TRANSFER_MORTALITY;
	if (jsonx_u64(info, "max_mortality", &max_mortality) && max_mortality < ch->mortality)
		ch->mortality = max_mortality;
	return worker_tx_chain_read(&ch->tx, info, acct);
}

/* chain_info and account_get in one round trip. */
static int transfer_fetch(struct rpc_client *c, const char *sender, struct transfer_chain *ch)
{
	struct rpc_req reqs[2] = {{"chain_info", NULL, NULL},
	                          {"account_get", json_pack("[s]", sender), NULL}};
	int ret = CLI_EXIT_OK;
	if (rpc_batch(c, reqs, 2) != RPC_OK)
		return cli_rpc_fail(c);
	if (!transfer_read_chain(ch, reqs[0].result, reqs[1].result))
		ret = cli_fail(
		    "node at %s sent chain_info or account_get without the expected fields",
		    c->url);
	json_decref(reqs[0].result);
	json_decref(reqs[1].result);
	return ret;
}

/* Fills tx (sender, nonce, validity, exact max_fee = fee + tip) and signs it. The payload buffer
 * must outlive tx. */
static int transfer_build(struct tx *tx, const struct transfer_chain *ch,
                          const struct accounts_signer *s, const struct transfer_args *a,
                          const uint8_t payload[BALANCES_TRANSFER_PAYLOAD_LEN])
{
	if (!worker_tx_fill(tx, &ch->tx, s->sk, ch->tx.height + ch->mortality,
	                    RUNTIME_MODULE_BALANCES, BALANCES_FN_TRANSFER, payload,
	                    BALANCES_TRANSFER_PAYLOAD_LEN, a->tip))
		return cli_fail("fee overflows with the node's fee parameters");
	return CLI_EXIT_OK;
}

/* Submits the signed tx; *status gets the node's answer (new reference). Checks that the node
 * computed the same txid as we did. */
static int transfer_submit(struct rpc_client *c, const struct tx *tx, char txid[65],
                           json_t **status)
{
	struct enc e;
	uint8_t id[TX_ID_LEN];
	char *hx = NULL;
	int ret = CLI_EXIT_FAIL;
	enc_init(&e, TX_MAX_BYTES);
	tx_encode(&e, tx);
	*status = NULL;
	if (enc_finish(&e) != CODEC_OK || (hx = malloc(2 * e.len + 1)) == NULL) {
		cli_fail("cannot encode the transaction");
		goto out;
	}
	tx_id(id, e.buf, e.len - TX_SIG_LEN);
	hex_encode(txid, id, sizeof(id));
	if (rpc_call(c, "tx_submit", json_pack("[s]", hex_encode(hx, e.buf, e.len)), status) !=
	    RPC_OK) {
		cli_rpc_fail(c);
		goto out;
	}
	if (strcmp(cli_json_str(*status, "txid"), txid) != 0) {
		cli_fail("node reported txid %s for transaction %s", cli_json_str(*status, "txid"),
		         txid);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	free(hx);
	enc_release(&e);
	return ret;
}

static uint64_t transfer_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls tx_status until the tx is in a block or timeout_s pass; *st holds the last answer. A
 * transient "unknown" (between leaving the pool and being indexed) is waited out like "pending". */
static int transfer_wait(struct rpc_client *c, const char *txid, long timeout_s, json_t **st)
{
	uint64_t deadline = transfer_now_ms() + (uint64_t)timeout_s * 1000;
	const struct timespec pause = {0, TRANSFER_POLL_MS * 1000000L};
	for (;;) {
		json_decref(*st);
		*st = NULL;
		if (rpc_call(c, "tx_status", json_pack("[s]", txid), st) != RPC_OK)
			return cli_rpc_fail(c);
		const char *status = cli_json_str(*st, "status");
		if (strcmp(status, "included") == 0)
			return CLI_EXIT_OK;
		if (transfer_now_ms() >= deadline)
			return cli_fail("transaction %s is not in a block after %ld s (status: %s)",
			                txid, timeout_s, status);
		nanosleep(&pause, NULL);
	}
}

static void transfer_print(const json_t *st)
{
	char buf[AMOUNT_STR_MAX + 4];
	uint64_t height = 0;
	cli_kv("txid", "%s", cli_json_str(st, "txid"));
	cli_kv("status", "%s", cli_json_str(st, "status"));
	if (!jsonx_u64(st, "height", &height))
		return;
	cli_kv("height", "%llu", (unsigned long long)height);
	cli_kv("block_hash", "%s", cli_json_str(st, "block_hash"));
	cli_kv("fee", "%s", cli_pha(buf, st, "fee"));
	cli_kv("tip", "%s", cli_pha(buf, st, "tip"));
}

/* Prints the outcome; a call that failed inside its block is an error (the fee was charged). With
 * --json the status object is printed in that case too, so scripts see the txid and error. */
static int transfer_report(struct cli_ctx *ctx, json_t *st, const struct accounts_ref *from,
                           const struct accounts_ref *to, u128 amount)
{
	char units[AMOUNT_STR_MAX], fee[AMOUNT_STR_MAX + 4];
	bool failed = strcmp(cli_json_str(st, "status"), "included") == 0 &&
	              !json_is_true(json_object_get(st, "success"));
	int ret = CLI_EXIT_OK;
	if (ctx->json) {
		json_object_set_new(st, "from", json_string(from->address));
		json_object_set_new(st, "to", json_string(to->address));
		json_object_set_new(st, "amount", json_string(amount_format_units(units, amount)));
		ret = cli_emit_json(json_incref(st));
	} else if (!failed) {
		transfer_print(st);
	}
	if (failed) {
		uint64_t height = 0;
		jsonx_u64(st, "height", &height);
		ret = cli_fail("transfer %s failed in block %llu: %s (fee %s charged)",
		               cli_json_str(st, "txid"), (unsigned long long)height,
		               cli_json_str(st, "error"), cli_pha(fee, st, "fee"));
	}
	return ret;
}

/* Resolves both ends; the sender must be a key or dev account (its address is needed before the
 * password is asked, which happens only once the node has answered). */
static int transfer_accounts(struct cli_ctx *ctx, const struct transfer_args *a,
                             struct accounts_ref *from, struct accounts_ref *to)
{
	char err[ACCOUNTS_ERR_MAX];
	const char *dir = cli_keystore_dir(ctx);
	if (dir == NULL)
		return CLI_EXIT_FAIL;
	if (accounts_resolve(from, dir, a->from, err) != ACCOUNTS_OK ||
	    accounts_resolve(to, dir, a->to, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	if (from->kind != ACCOUNTS_KEY && from->kind != ACCOUNTS_DEV)
		return cli_usage_fail(ctx, "--from '%s' is not a key name or dev account", a->from);
	if (sodium_memcmp(from->pk, to->pk, 32) == 0)
		return cli_usage_fail(ctx, "cannot transfer from '%s' to itself", a->from);
	return CLI_EXIT_OK;
}

/* Unlocks the signer and signs; the secret key is wiped before returning on every path. */
static int transfer_sign(struct cli_ctx *ctx, const struct transfer_args *a,
                         const struct transfer_chain *ch, const struct accounts_ref *to,
                         uint8_t payload[BALANCES_TRANSFER_PAYLOAD_LEN], struct tx *tx)
{
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX];
	int ret;
	const char *dir = cli_keystore_dir(ctx);
	if (accounts_signer_open(&s, dir, a->from, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	balances_transfer_payload(payload, to->pk, a->amount);
	ret = transfer_build(tx, ch, &s, a, payload);
	accounts_signer_wipe(&s);
	return ret;
}

int cmd_transfer(struct cli_ctx *ctx, int argc, char **argv)
{
	struct transfer_args a = {0};
	struct accounts_ref from, to;
	struct transfer_chain ch;
	struct rpc_client c;
	uint8_t payload[BALANCES_TRANSFER_PAYLOAD_LEN];
	struct tx tx;
	char txid[65];
	json_t *st = NULL;
	int ret = transfer_parse(ctx, argc, argv, &a);
	if (ret == CLI_EXIT_OK)
		ret = transfer_accounts(ctx, &a, &from, &to);
	if (ret != CLI_EXIT_OK || !cli_rpc_open(ctx, &c))
		return ret != CLI_EXIT_OK ? ret : CLI_EXIT_FAIL;
	ret = transfer_fetch(&c, from.address, &ch);
	if (ret == CLI_EXIT_OK)
		ret = transfer_sign(ctx, &a, &ch, &to, payload, &tx);
	if (ret == CLI_EXIT_OK)
		ret = transfer_submit(&c, &tx, txid, &st);
	if (ret == CLI_EXIT_OK && !a.no_wait)
		ret = transfer_wait(&c, txid, a.timeout_s, &st);
	if (ret == CLI_EXIT_OK)
		ret = transfer_report(ctx, st, &from, &to, a.amount);
	json_decref(st);
	rpc_client_release(&c);
	return ret;
}
