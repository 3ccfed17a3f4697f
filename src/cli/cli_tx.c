/* Signed calls for the worker, contract, registry and call commands (cmd_worker.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "chain/tx.h"
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"

#define CLI_TX_WAIT_MS 30000
#define CLI_TX_POLL_MS 200

int cli_tx_open(struct cli_ctx *ctx, struct cli_tx *t, const char *from)
{
	char err[ACCOUNTS_ERR_MAX];
	memset(t, 0, sizeof(*t));
	const char *dir = cli_keystore_dir(ctx);
	if (!from)
		return cli_usage_fail(ctx, "missing --from NAME (the account that signs)");
	if (!dir)
		return CLI_EXIT_FAIL;
	if (accounts_signer_open(&t->signer, dir, from, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	if (!cli_rpc_open(ctx, &t->rpc))
		return CLI_EXIT_FAIL;
	t->rpc_open = true;
	struct rpc_req reqs[2] = {{"chain_info", NULL, NULL},
	                          {"account_get", json_pack("[s]", t->signer.ref.address), NULL}};
	if (rpc_batch(&t->rpc, reqs, 2) != RPC_OK)
		return cli_rpc_fail(&t->rpc);
	bool ok = worker_tx_chain_read(&t->chain, reqs[0].result, reqs[1].result);
	json_decref(reqs[0].result);
	json_decref(reqs[1].result);
	if (!ok)
		return cli_fail("node at %s sent chain_info or account_get without the expected "
		                "fields",
		                t->rpc.url);
	return CLI_EXIT_OK;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls tx_status until txid is in a block. */
static int wait_included(struct cli_tx *t, const char *txid, json_t **st)
{
	uint64_t deadline = now_ms() + CLI_TX_WAIT_MS;
	const struct timespec pause = {0, CLI_TX_POLL_MS * 1000000L};
	for (;;) {
		json_decref(*st);
		*st = NULL;
		if (rpc_call(&t->rpc, "tx_status", json_pack("[s]", txid), st) != RPC_OK)
			return cli_rpc_fail(&t->rpc);
		const char *s = cli_json_str(*st, "status");
		if (strcmp(s, "included") == 0)
			return CLI_EXIT_OK;
		if (now_ms() >= deadline)
			return cli_fail("transaction %s is not in a block after %d s (status: %s)",
			                txid, CLI_TX_WAIT_MS / 1000, s);
		nanosleep(&pause, NULL);
	}
}

int cli_tx_send(struct cli_tx *t, uint8_t module, uint8_t function, const uint8_t *payload,
                size_t len, json_t **status)
{
	struct enc e;
	uint8_t id[32];
	char txid[65], *hx = NULL;
	int ret = CLI_EXIT_FAIL;
	*status = NULL;
	enc_init(&e, TX_MAX_BYTES);
	if (!worker_tx_build(&e, &t->chain, t->signer.sk, module, function, payload, len, 0, id) ||
	    !(hx = malloc(2 * e.len + 1))) {
		cli_fail("cannot build the transaction (payload of %zu bytes too large?)", len);
		goto out;
	}
	hex_encode(txid, id, 32);
	if (rpc_call(&t->rpc, "tx_submit", json_pack("[s]", hex_encode(hx, e.buf, e.len)),
	             status) != RPC_OK) {
		cli_rpc_fail(&t->rpc);
		goto out;
	}
	t->chain.nonce++;
	ret = wait_included(t, txid, status);
	if (ret == CLI_EXIT_OK && !json_is_true(json_object_get(*status, "success")))
		ret = cli_fail("%s failed in block %lld: %s", txid,
		               (long long)json_integer_value(json_object_get(*status, "height")),
		               cli_json_str(*status, "error"));
out:
	free(hx);
	enc_release(&e);
	return ret;
}

void cli_tx_close(struct cli_tx *t)
{
	accounts_signer_wipe(&t->signer);
	if (t->rpc_open)
		rpc_client_release(&t->rpc);
	t->rpc_open = false;
}

int cli_tx_report(struct cli_ctx *ctx, json_t *st)
{
	if (ctx->json)
		return cli_emit_json(st);
	cli_kv("txid", "%s", cli_json_str(st, "txid"));
	cli_kv("status", "%s", cli_json_str(st, "status"));
	cli_kv("height", "%lld", (long long)json_integer_value(json_object_get(st, "height")));
	cli_kv("block_hash", "%s", cli_json_str(st, "block_hash"));
	json_decref(st);
	return CLI_EXIT_OK;
}
