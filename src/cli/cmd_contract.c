/*
 * tenebra contract: list and show deployed contracts (public keys from the chain), deploy one,
 * send it an encrypted command (contracts.push_command, sealed to its published key with the
 * sender and nonce in the AAD) and query it through a worker (POST /query, answer opened here).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "chain/contracts.h"
#include "cli/cli_contract.h"

/* A request: --text TEXT, or hex bytes (positional). *buf is malloc'ed (free it). */
static int read_request(struct cli_ctx *ctx, const char *text, const char *hexarg, uint8_t **buf,
                        size_t *len)
{
	if ((text != NULL) == (hexarg != NULL))
		return cli_usage_fail(ctx,
		                      "give the request as HEX or with --text TEXT (one of them)");
	if (text) {
		*len = strlen(text);
		*buf = malloc(*len ? *len : 1);
		if (!*buf)
			return cli_fail("out of memory");
		memcpy(*buf, text, *len);
		return CLI_EXIT_OK;
	}
	if (!hex_decode_alloc(buf, len, hexarg, CONTRACTS_COMMAND_MAX))
		return cli_usage_fail(ctx, "the request must be hex (at most %d bytes)",
		                      CONTRACTS_COMMAND_MAX);
	return CLI_EXIT_OK;
}

/* ---- list, show --------------------------------------------------------------------------- */

static void print_contract(const json_t *c)
{
	const json_t *k = json_object_get(c, "keys");
	cli_kv("id", "%s", cli_json_str(c, "id"));
	cli_kv("code", "%s", cli_json_str(c, "code"));
	cli_kv("cluster", "%lld", (long long)json_integer_value(json_object_get(c, "cluster")));
	cli_kv("deployer", "%s", cli_json_str(c, "deployer"));
	cli_kv("deployed", "block %lld",
	       (long long)json_integer_value(json_object_get(c, "deployed_height")));
	cli_kv("key (x25519)", "%s",
	       json_is_object(k) ? cli_json_str(k, "x25519") : "not published");
	if (json_is_object(k)) {
		cli_kv("key (ed25519)", "%s", cli_json_str(k, "ed25519"));
		cli_kv("key epoch", "%lld",
		       (long long)json_integer_value(json_object_get(k, "epoch")));
	}
	const json_t *cu = json_object_get(c, "custody");
	char pha[AMOUNT_STR_MAX + 4];
	if (json_is_object(cu)) {
		cli_kv("custody", "%s", cli_json_str(cu, "address"));
		cli_kv("custody bal.", "%s", cli_pha(pha, cu, "balance_units"));
	}
}

static int contract_list(struct cli_ctx *ctx)
{
	json_t *res;
	int r = cli_call(ctx, "contract_list", json_pack("[i, i]", 0, 1000), &res);
	if (r != CLI_EXIT_OK || ctx->json)
		return r != CLI_EXIT_OK ? r : cli_emit_json(res);
	json_t *cs = json_object_get(res, "contracts");
	printf("%lld contract(s)\n", (long long)json_integer_value(json_object_get(res, "total")));
	for (size_t i = 0; i < json_array_size(cs); i++) {
		const json_t *c = json_array_get(cs, i);
		printf("  %s  %-16s cluster %-5lld %s\n", cli_json_str(c, "id"),
		       cli_json_str(c, "code"),
		       (long long)json_integer_value(json_object_get(c, "cluster")),
		       json_is_object(json_object_get(c, "keys")) ? "key published" : "no key yet");
	}
	json_decref(res);
	return CLI_EXIT_OK;
}

static int contract_show(struct cli_ctx *ctx, const char *id)
{
	json_t *res;
	int r = cli_call(ctx, "contract_get", json_pack("[s]", id), &res);
	if (r != CLI_EXIT_OK || ctx->json)
		return r != CLI_EXIT_OK ? r : cli_emit_json(res);
	print_contract(res);
	json_decref(res);
	return CLI_EXIT_OK;
}

/* ---- deploy ------------------------------------------------------------------------------- */

static int contract_deploy(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1], *cluster = NULL, *salt = NULL, *from = NULL, *args_hex = NULL;
	const struct cli_opt opts[] = {{"cluster", &cluster, NULL},
	                               {"salt", &salt, NULL},
	                               {"from", &from, NULL},
	                               {"args", &args_hex, NULL},
	                               {NULL, NULL, NULL}};
	struct cli_tx t = {0};
	json_t *st = NULL;
	char *end;
	uint8_t id[32], *args = NULL;
	size_t args_len = 0;
	char idhex[65];
	if (!cli_parse(ctx, opts, argc, argv, pos, 1, 1))
		return CLI_EXIT_USAGE;
	salt = salt ? salt : "";
	unsigned long cl = cluster ? strtoul(cluster, &end, 10) : 0;
	if (!cluster || *end || end == cluster || cl > UINT32_MAX)
		return cli_usage_fail(ctx, "--cluster N is required (a cluster number)");
	if (strlen(pos[0]) > CONTRACTS_CODE_MAX || strlen(salt) > CONTRACTS_SALT_MAX)
		return cli_usage_fail(ctx, "CODE is at most %d bytes and --salt at most %d",
		                      CONTRACTS_CODE_MAX, CONTRACTS_SALT_MAX);
	if (args_hex && !hex_decode_alloc(&args, &args_len, args_hex, CONTRACTS_ARGS_MAX))
		return cli_usage_fail(ctx, "--args must be hex (at most %d bytes)",
		                      CONTRACTS_ARGS_MAX);
	int r = cli_tx_open(ctx, &t, from);
	if (r == CLI_EXIT_OK)
		r = cli_contract_deploy(&t, (uint32_t)cl, pos[0], (const uint8_t *)salt,
		                        strlen(salt), args, args_len, id, &st);
	cli_tx_close(&t);
	free(args);
	if (r != CLI_EXIT_OK) {
		json_decref(st);
		return r;
	}
	hex_encode(idhex, id, 32);
	if (!ctx->json)
		cli_kv("contract", "%s", idhex);
	json_object_set_new(st, "contract", json_string(idhex));
	return cli_tx_report(ctx, st);
}

/* ---- command ------------------------------------------------------------------------------ */

static int contract_command(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2], *text = NULL, *from = NULL;
	const struct cli_opt opts[] = {
	    {"text", &text, NULL}, {"from", &from, NULL}, {NULL, NULL, NULL}};
	uint8_t *pt = NULL;
	size_t len = 0;
	uint64_t nonce;
	struct cli_contract c = {0};
	struct cli_tx t = {0};
	json_t *st = NULL;
	if (!cli_parse(ctx, opts, argc, argv, pos, 1, 2))
		return CLI_EXIT_USAGE;
	int r = read_request(ctx, text, pos[1], &pt, &len);
	if (r == CLI_EXIT_OK)
		r = cli_contract_get(ctx, pos[0], &c);
	if (r == CLI_EXIT_OK && (r = cli_tx_open(ctx, &t, from)) == CLI_EXIT_OK)
		r = cli_contract_send(&t, &c, pt, len, &nonce, &st);
	if (r == CLI_EXIT_OK)
		r = cli_tx_report(ctx, st);
	else
		json_decref(st);
	cli_tx_close(&t);
	cli_contract_release(&c);
	if (pt)
		sodium_memzero(pt, len);
	free(pt);
	return r;
}

/* ---- query -------------------------------------------------------------------------------- */

struct query_args {
	const char *text, *from, *worker, *expiry, *envelope_out;
	const char *pos[2];
};

/* Prints the opened answer: the contract's result and the handler's bytes. */
static int query_print(struct cli_ctx *ctx, const struct cli_answer *a)
{
	char *hx = malloc(2 * a->len + 1);
	if (!hx)
		return cli_fail("out of memory");
	hex_encode(hx, a->body, a->len);
	uint64_t u = 0;
	for (size_t i = 0; a->len == 8 && i < 8; i++)
		u |= (uint64_t)a->body[i] << (8 * i);
	int r = CLI_EXIT_OK;
	if (ctx->json) {
		json_t *j = json_pack("{s:I, s:s}", "result", (json_int_t)a->result, "answer", hx);
		if (j && a->len == 8) {
			char dec[24];
			snprintf(dec, sizeof(dec), "%llu", (unsigned long long)u);
			json_object_set_new(j, "u64", json_string(dec));
		}
		r = cli_emit_json(j);
	} else {
		cli_kv("result", "%u%s", a->result, a->result == 0 ? " (ok)" : "");
		cli_kv("answer", "%s", hx);
		if (a->len == 8)
			cli_kv("as u64", "%llu", (unsigned long long)u);
	}
	free(hx);
	return r;
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(b, 1, n, f) == n;
	ok = f && fclose(f) == 0 && ok;
	return ok ? CLI_EXIT_OK : cli_fail("cannot write %s", path);
}

/* Seals the query and posts it, or writes it to a file. */
static int query_run(struct cli_ctx *ctx, const struct query_args *a, struct cli_query *q,
                     const uint8_t *req, size_t len)
{
	char *end;
	if (a->expiry && ((q->ahead = strtoull(a->expiry, &end, 10)) == 0 || *end))
		return cli_usage_fail(ctx, "--expiry takes a number of blocks");
	if (a->envelope_out) {
		struct env_query_client keep;
		uint8_t *msg;
		size_t n;
		int r = cli_query_seal(q, req, len, &msg, &n, &keep);
		if (r == CLI_EXIT_OK) {
			r = write_file(a->envelope_out, msg, n);
			env_query_client_release(&keep);
			free(msg);
		}
		return r;
	}
	struct cli_answer ans;
	int r = cli_query_run(q, req, len, &ans);
	if (r == CLI_EXIT_OK)
		r = query_print(ctx, &ans);
	cli_answer_free(&ans);
	return r;
}

static int contract_query(struct cli_ctx *ctx, int argc, char **argv)
{
	struct query_args a = {0};
	const struct cli_opt opts[] = {{"text", &a.text, NULL},
	                               {"from", &a.from, NULL},
	                               {"worker", &a.worker, NULL},
	                               {"expiry", &a.expiry, NULL},
	                               {"envelope-out", &a.envelope_out, NULL},
	                               {NULL, NULL, NULL}};
	uint8_t *req = NULL;
	size_t len = 0;
	struct cli_contract c = {0};
	struct cli_query q;
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX];
	if (!cli_parse(ctx, opts, argc, argv, a.pos, 1, 2))
		return CLI_EXIT_USAGE;
	if (!a.from)
		return cli_usage_fail(ctx,
		                      "missing --from NAME (the account that signs the query)");
	int r = read_request(ctx, a.text, a.pos[1], &req, &len);
	if (r == CLI_EXIT_OK)
		r = cli_contract_get(ctx, a.pos[0], &c);
	const char *dir = r == CLI_EXIT_OK ? cli_keystore_dir(ctx) : NULL;
	if (r == CLI_EXIT_OK && !dir)
		r = CLI_EXIT_FAIL;
	if (r == CLI_EXIT_OK && accounts_signer_open(&s, dir, a.from, err) != ACCOUNTS_OK)
		r = cli_fail("%s", err);
	else if (r == CLI_EXIT_OK) {
		r = cli_query_open(&q, ctx, &c, a.worker, s.sk, CLI_WAIT_DEFAULT_S);
		if (r == CLI_EXIT_OK)
			r = query_run(ctx, &a, &q, req, len);
		cli_query_close(&q);
		accounts_signer_wipe(&s);
	}
	cli_contract_release(&c);
	free(req);
	return r;
}

/* ---- list, show as subcommands ------------------------------------------------------------ */

static int contract_list_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	return cli_parse(ctx, NULL, argc, argv, pos, 0, 0) ? contract_list(ctx) : CLI_EXIT_USAGE;
}

static int contract_show_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[1];
	return cli_parse(ctx, NULL, argc, argv, pos, 1, 1) ? contract_show(ctx, pos[0])
	                                                   : CLI_EXIT_USAGE;
}

int cmd_contract(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
	    {"list", contract_list_cmd, ""},
	    {"show", contract_show_cmd, "ID"},
	    {"deploy", contract_deploy, "CODE --cluster N [--salt S] [--args HEX] --from NAME"},
	    {"command", contract_command, "ID (HEX | --text T) --from NAME"},
	    {"query", contract_query,
	     "ID (HEX | --text T) --from NAME [--worker URL] [--expiry BLOCKS] [--envelope-out "
	     "FILE]"},
	    {NULL, NULL, NULL},
	};
	return cli_dispatch(ctx, subs, argc, argv);
}
