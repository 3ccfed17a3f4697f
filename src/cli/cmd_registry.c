/*
 * tenebra registry: the registry's gatekeepers, master key and clusters (info), and the sudo
 * governance calls of chain/registry.h that tests and dev need (add-gatekeeper, create-cluster,
 * assign-worker). tenebra call: any call with a raw payload (for tools and tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "chain/registry.h"
#include "chain/tx.h"
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"

static int registry_info(struct cli_ctx *ctx, const char *cluster)
{
	json_t *res;
	char *end;
	unsigned long long cl = cluster ? strtoull(cluster, &end, 10) : 0;
	if (cluster && (*end || end == cluster || cl > UINT32_MAX))
		return cli_usage_fail(ctx, "CLUSTER must be a cluster number");
	int r =
	    cli_call(ctx, "registry_info", cluster ? json_pack("[I]", (json_int_t)cl) : NULL, &res);
	if (r != CLI_EXIT_OK || ctx->json)
		return r != CLI_EXIT_OK ? r : cli_emit_json(res);
	json_t *gks = json_object_get(res, "gatekeepers"), *mk = json_object_get(res, "master_key");
	cli_kv("gatekeepers", "%zu", json_array_size(gks));
	for (size_t i = 0; i < json_array_size(gks); i++)
		printf("  %s\n", json_string_value(json_array_get(gks, i)));
	cli_kv("master epoch", "%lld", (long long)json_integer_value(json_object_get(mk, "epoch")));
	cli_kv("master key", "%s",
	       json_is_true(json_object_get(mk, "published")) ? cli_json_str(mk, "pubkey")
	                                                      : "not published");
	json_t *c = json_object_get(res, "cluster");
	if (cluster) {
		json_t *k = json_object_get(c, "keys");
		cli_kv("cluster", "%s", json_is_object(c) ? cluster : "does not exist");
		if (json_is_object(c))
			cli_kv("cluster key", "%s",
			       json_is_object(k) ? cli_json_str(k, "x25519") : "not published");
	}
	json_decref(res);
	return CLI_EXIT_OK;
}

/* A sudo call with the given payload, signed by --from. */
static int sudo_call(struct cli_ctx *ctx, const char *from, uint8_t fn, const uint8_t *p, size_t n)
{
	struct cli_tx t = {0};
	json_t *st = NULL;
	int r = cli_tx_open(ctx, &t, from);
	if (r == CLI_EXIT_OK)
		r = cli_tx_send(&t, RUNTIME_MODULE_REGISTRY, fn, p, n, &st);
	cli_tx_close(&t);
	if (r != CLI_EXIT_OK) {
		json_decref(st);
		return r;
	}
	return cli_tx_report(ctx, st);
}

/* Parses the positionals of a governance call into its payload: ID (64 hex) and/or N (u32). */
static int gov_payload(struct cli_ctx *ctx, const char *id, const char *num, struct enc *e)
{
	uint8_t b[32];
	char *end;
	if (id && !hex_decode_exact(b, 32, id))
		return cli_usage_fail(ctx, "the worker id must be 64 hex digits");
	unsigned long long n = num ? strtoull(num, &end, 10) : 0;
	if (num && (*end || end == num || num[0] == '-' || n > UINT32_MAX))
		return cli_usage_fail(ctx, "the cluster must be a number (0..4294967295)");
	if (id)
		enc_raw(e, b, 32);
	if (num)
		enc_u32(e, (uint32_t)n);
	return CLI_EXIT_OK;
}

static const struct {
	const char *name;
	uint8_t fn;
	bool id, num;
} gov_calls[] = {
    {"add-gatekeeper", REGISTRY_FN_ADD_GATEKEEPER, true, false},
    {"remove-gatekeeper", REGISTRY_FN_REMOVE_GATEKEEPER, true, false},
    {"create-cluster", REGISTRY_FN_CREATE_CLUSTER, false, true},
    {"assign-worker", REGISTRY_FN_ASSIGN_WORKER, true, true},
};

static int registry_gov(struct cli_ctx *ctx, size_t k, int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL}, *from = NULL;
	const struct cli_opt opts[] = {{"from", &from, NULL}, {NULL, NULL, NULL}};
	int want = gov_calls[k].id + gov_calls[k].num;
	uint8_t buf[36];
	struct enc e;
	if (!cli_parse(ctx, opts, argc, argv, pos, want, want))
		return CLI_EXIT_USAGE;
	enc_init_fixed(&e, buf, sizeof(buf));
	int r = gov_payload(ctx, gov_calls[k].id ? pos[0] : NULL,
	                    gov_calls[k].num ? pos[want - 1] : NULL, &e);
	return r != CLI_EXIT_OK ? r : sudo_call(ctx, from, gov_calls[k].fn, e.buf, e.len);
}

int cmd_registry(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_opt none[] = {{NULL, NULL, NULL}};
	const char *pos[1] = {NULL};
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "info") == 0)
		return cli_parse(ctx, none, argc - 1, argv + 1, pos, 0, 1)
		           ? registry_info(ctx, pos[0])
		           : CLI_EXIT_USAGE;
	for (size_t k = 0; k < sizeof(gov_calls) / sizeof(gov_calls[0]); k++)
		if (strcmp(sub, gov_calls[k].name) == 0)
			return registry_gov(ctx, k, argc - 1, argv + 1);
	return cli_usage_fail(ctx, "unknown or missing subcommand '%s'", sub);
}

/* ---- tenebra call ------------------------------------------------------------------------- */

/* "module.function" back to its numbers (runtime_call_name is the other direction). */
static bool call_lookup(const char *name, uint8_t *module, uint8_t *function)
{
	for (unsigned m = 0; m < 256; m++)
		for (unsigned f = 0; f < 256; f++) {
			const char *n = runtime_call_name((uint8_t)m, (uint8_t)f);
			if (n && strcmp(n, name) == 0) {
				*module = (uint8_t)m;
				*function = (uint8_t)f;
				return true;
			}
		}
	return false;
}

int cmd_call(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2], *from = NULL;
	const struct cli_opt opts[] = {{"from", &from, NULL}, {NULL, NULL, NULL}};
	uint8_t module, function, *payload = NULL;
	size_t len = 0;
	struct cli_tx t = {0};
	json_t *st = NULL;
	if (!cli_parse(ctx, opts, argc, argv, pos, 2, 2))
		return CLI_EXIT_USAGE;
	if (!call_lookup(pos[0], &module, &function))
		return cli_usage_fail(ctx, "unknown call '%s' (e.g. contracts.push_command)",
		                      pos[0]);
	if (!hex_decode_alloc(&payload, &len, pos[1], TX_MAX_PAYLOAD))
		return cli_usage_fail(ctx, "PAYLOAD_HEX must be hex of at most %d bytes",
		                      (int)TX_MAX_PAYLOAD);
	int r = cli_tx_open(ctx, &t, from);
	if (r == CLI_EXIT_OK)
		r = cli_tx_send(&t, module, function, payload, len, &st);
	cli_tx_close(&t);
	free(payload);
	if (r != CLI_EXIT_OK) {
		if (st && ctx->json) /* the failed call's status, for scripts */
			cli_emit_json(st);
		else
			json_decref(st);
		return r;
	}
	return cli_tx_report(ctx, st);
}
