/* Read-only chain commands: balance, block, tx, info. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/amount.h"
#include "base/hex.h"
#include "cli/accounts.h"
#include "cli/cli_int.h"

/* "2026-11-23T22:10:00.123Z" for a time in ms since the epoch. */
static const char *chain_time(char out[32], uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return strcpy(out, "?");
	snprintf(out + strlen(out), 32 - strlen(out), ".%03uZ", (unsigned)(ms % 1000));
	return out;
}

static void chain_kv_u64(const char *label, const json_t *obj, const char *key)
{
	uint64_t v;
	if (jsonx_u64(obj, key, &v))
		cli_kv(label, "%llu", (unsigned long long)v);
	else
		cli_kv(label, "?");
}

static void chain_kv_pha(const char *label, const json_t *obj, const char *key)
{
	char buf[AMOUNT_STR_MAX + 4];
	cli_kv(label, "%s", cli_pha(buf, obj, key));
}

static int balance_print(const json_t *acct)
{
	cli_kv("address", "%s", cli_json_str(acct, "address"));
	chain_kv_pha("balance", acct, "balance");
	chain_kv_u64("nonce", acct, "nonce");
	chain_kv_u64("next_nonce", acct, "next_nonce");
	chain_kv_u64("height", acct, "height");
	return CLI_EXIT_OK;
}

/* The CLI's own --json shape for balance, independent of extra fields the node may add. */
static json_t *balance_json(const json_t *acct)
{
	static const char *const keys[] = {"address",     "public_key", "exists",     "balance",
	                                   "balance_pha", "nonce",      "next_nonce", "height"};
	json_t *o = json_object();
	for (size_t i = 0; o != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(acct, keys[i]);
		if (v != NULL && json_object_set(o, keys[i], v) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int cmd_balance(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	char err[ACCOUNTS_ERR_MAX];
	struct accounts_ref ref;
	json_t *acct = NULL;
	int ret;
	if (!cli_parse(ctx, NULL, argc, argv, pos, 1, 1))
		return CLI_EXIT_USAGE;
	const char *dir = cli_keystore_dir(ctx);
	if (dir == NULL)
		return CLI_EXIT_FAIL;
	if (accounts_resolve(&ref, dir, pos[0], err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	ret = cli_call(ctx, "account_get", json_pack("[s]", ref.address), &acct);
	if (ret == CLI_EXIT_OK)
		ret = ctx->json ? cli_emit_json(balance_json(acct)) : balance_print(acct);
	json_decref(acct);
	return ret;
}

/* The block_get parameter for "latest" (or none), a height or a hash; NULL if arg is none. */
static json_t *block_which(const char *arg)
{
	uint8_t hash[32];
	u128 height;
	if (arg == NULL || strcmp(arg, "latest") == 0)
		return json_string("latest");
	if (amount_parse_units(&height, arg) && height <= (u128)INT64_MAX)
		return json_integer((json_int_t)height);
	if (hex_decode_exact(hash, sizeof(hash), arg)) {
		char hx[65];
		return json_string(hex_encode(hx, hash, sizeof(hash)));
	}
	return NULL;
}

static void block_print_tx(const json_t *tx)
{
	char fee[AMOUNT_STR_MAX + 4];
	const json_t *ok = json_object_get(tx, "success");
	uint64_t nonce = 0;
	jsonx_u64(tx, "nonce", &nonce);
	cli_kv("tx", "%s %s from %s nonce %llu fee %s %s", cli_json_str(tx, "txid"),
	       cli_json_str(tx, "call"), cli_json_str(tx, "sender"), (unsigned long long)nonce,
	       cli_pha(fee, tx, "fee"), json_is_true(ok) ? "ok" : "failed");
}

static int block_print(const json_t *blk)
{
	const json_t *hdr = json_object_get(blk, "header");
	const json_t *txs = json_object_get(blk, "txs");
	uint64_t ms = 0;
	char when[32];
	cli_kv("hash", "%s", cli_json_str(blk, "hash"));
	chain_kv_u64("height", hdr, "height");
	cli_kv("time", "%s", jsonx_u64(hdr, "time_ms", &ms) ? chain_time(when, ms) : "?");
	cli_kv("proposer", "%s", cli_json_str(hdr, "proposer"));
	cli_kv("prev_hash", "%s", cli_json_str(hdr, "prev_hash"));
	cli_kv("state_root", "%s", cli_json_str(hdr, "state_root"));
	cli_kv("txs_root", "%s", cli_json_str(hdr, "txs_root"));
	chain_kv_u64("size", blk, "size");
	cli_kv("txs", "%zu", json_array_size(txs));
	for (size_t i = 0; i < json_array_size(txs); i++)
		block_print_tx(json_array_get(txs, i));
	return CLI_EXIT_OK;
}

int cmd_block(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	json_t *blk = NULL;
	if (!cli_parse(ctx, NULL, argc, argv, pos, 0, 1))
		return CLI_EXIT_USAGE;
	json_t *which = block_which(pos[0]);
	if (which == NULL)
		return cli_usage_fail(
		    ctx, "invalid block '%s': not a height, latest or 64-hex hash", pos[0]);
	int ret = cli_call(ctx, "block_get", json_pack("[o]", which), &blk);
	if (ret == CLI_EXIT_OK)
		ret = ctx->json ? cli_emit_json(json_incref(blk)) : block_print(blk);
	json_decref(blk);
	return ret;
}

static int tx_print(const json_t *t)
{
	const char *status = cli_json_str(t, "status");
	cli_kv("txid", "%s", cli_json_str(t, "txid"));
	cli_kv("status", "%s", status);
	if (strcmp(status, "included") != 0)
		return CLI_EXIT_OK;
	chain_kv_u64("height", t, "height");
	chain_kv_u64("index", t, "index");
	cli_kv("block_hash", "%s", cli_json_str(t, "block_hash"));
	if (json_is_true(json_object_get(t, "success")))
		cli_kv("result", "ok");
	else
		cli_kv("result", "failed: %s", cli_json_str(t, "error"));
	chain_kv_pha("fee", t, "fee");
	chain_kv_pha("tip", t, "tip");
	cli_kv("sender", "%s", cli_json_str(t, "sender"));
	chain_kv_u64("nonce", t, "nonce");
	cli_kv("call", "%s", cli_json_str(t, "call"));
	char *args = json_dumps(json_object_get(t, "args"), JSON_COMPACT | JSON_ENCODE_ANY);
	cli_kv("args", "%s", args ? args : "?");
	free(args);
	return CLI_EXIT_OK;
}

/* tx_status, then for an included tx also tx_get, merged into one object (*out). */
static int tx_fetch(struct cli_ctx *ctx, const char *txid, json_t **out)
{
	json_t *get = NULL;
	int ret = cli_call(ctx, "tx_status", json_pack("[s]", txid), out);
	if (ret != CLI_EXIT_OK)
		return ret;
	const char *status = cli_json_str(*out, "status");
	if (strcmp(status, "unknown") == 0)
		ret = cli_fail(
		    "transaction %s is unknown to the node (neither pending nor in a block)", txid);
	else if (strcmp(status, "included") == 0 &&
	         (ret = cli_call(ctx, "tx_get", json_pack("[s]", txid), &get)) == CLI_EXIT_OK)
		json_object_update_missing(*out, get);
	json_decref(get);
	return ret;
}

int cmd_tx(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	uint8_t id[32];
	char hx[65];
	json_t *t = NULL;
	if (!cli_parse(ctx, NULL, argc, argv, pos, 1, 1))
		return CLI_EXIT_USAGE;
	if (!hex_decode_exact(id, sizeof(id), pos[0]))
		return cli_usage_fail(ctx, "invalid txid '%s': expected 64 hex digits", pos[0]);
	int ret = tx_fetch(ctx, hex_encode(hx, id, sizeof(id)), &t);
	if (ret == CLI_EXIT_OK)
		ret = ctx->json ? cli_emit_json(json_incref(t)) : tx_print(t);
	json_decref(t);
	return ret;
}

static int info_print(const json_t *ci)
{
	const json_t *token = json_object_get(ci, "token");
	const json_t *fees = json_object_get(ci, "fees");
	uint64_t decimals = 0;
	jsonx_u64(token, "decimals", &decimals);
	cli_kv("chain", "%s", cli_json_str(ci, "chain_name"));
	cli_kv("chain_id", "%s", cli_json_str(ci, "chain_id"));
	chain_kv_u64("height", ci, "height");
	cli_kv("head_hash", "%s", cli_json_str(ci, "head_hash"));
	cli_kv("state_root", "%s", cli_json_str(ci, "state_root"));
	chain_kv_u64("block_time_ms", ci, "block_time_ms");
	chain_kv_u64("ss58_prefix", ci, "ss58_prefix");
	cli_kv("token", "%s (%llu decimals)", cli_json_str(token, "symbol"),
	       (unsigned long long)decimals);
	chain_kv_pha("fee_base", fees, "base");
	chain_kv_pha("fee_per_byte", fees, "per_byte");
	chain_kv_pha("fee_per_weight", fees, "per_weight");
	chain_kv_pha("existential", ci, "existential_deposit");
	cli_kv("validators", "%zu", json_array_size(json_object_get(ci, "validators")));
	return CLI_EXIT_OK;
}

int cmd_info(struct cli_ctx *ctx, int argc, char **argv)
{
	json_t *ci = NULL;
	if (!cli_parse(ctx, NULL, argc, argv, NULL, 0, 0))
		return CLI_EXIT_USAGE;
	int ret = cli_call(ctx, "chain_info", NULL, &ci);
	if (ret == CLI_EXIT_OK)
		ret = ctx->json ? cli_emit_json(json_incref(ci)) : info_print(ci);
	json_decref(ci);
	return ret;
}
