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
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"
#include "crypto/envelope.h"

#define QUERY_EXPIRY_BLOCKS 100 /* default validity of a query */
#define CONTRACT_AEAD       HPKE_AEAD_CHACHA20POLY1305

static void rand_bytes(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

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

/* The contract's id and published HPKE key (contract_get). */
static int contract_key(struct cli_ctx *ctx, const char *idhex, uint8_t id[32], uint8_t pk[32])
{
	json_t *c;
	if (!hex_decode_exact(id, 32, idhex))
		return cli_usage_fail(ctx, "the contract id must be 64 hex digits");
	int r = cli_call(ctx, "contract_get", json_pack("[s]", idhex), &c);
	if (r != CLI_EXIT_OK)
		return r;
	const char *x = json_string_value(json_object_get(json_object_get(c, "keys"), "x25519"));
	bool ok = x && hex_decode_exact(pk, 32, x);
	json_decref(c);
	if (!ok)
		return cli_fail("contract %s has no published key yet (is a gatekeeper running and "
		                "is its cluster's key published?)",
		                idhex);
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
	const char *pos[1], *cluster = NULL, *salt = "", *from = NULL;
	const struct cli_opt opts[] = {{"cluster", &cluster, NULL},
	                               {"salt", &salt, NULL},
	                               {"from", &from, NULL},
	                               {NULL, NULL, NULL}};
	struct cli_tx t = {0};
	json_t *st = NULL;
	char *end;
	uint8_t id[32], buf[4 + 2 * 80];
	char idhex[65];
	if (!cli_parse(ctx, opts, argc, argv, pos, 1, 1))
		return CLI_EXIT_USAGE;
	unsigned long cl = cluster ? strtoul(cluster, &end, 10) : 0;
	if (!cluster || *end || end == cluster || cl > UINT32_MAX)
		return cli_usage_fail(ctx, "--cluster N is required (a cluster number)");
	if (strlen(pos[0]) > CONTRACTS_CODE_MAX || strlen(salt) > CONTRACTS_SALT_MAX)
		return cli_usage_fail(ctx, "CODE is at most %d bytes and --salt at most %d",
		                      CONTRACTS_CODE_MAX, CONTRACTS_SALT_MAX);
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	contracts_deploy_payload(&e, (uint32_t)cl, pos[0], (const uint8_t *)salt, strlen(salt));
	int r = cli_tx_open(ctx, &t, from);
	if (r == CLI_EXIT_OK) {
		contracts_id(id, t.signer.ref.pk, (uint32_t)cl, pos[0], (const uint8_t *)salt,
		             strlen(salt));
		r = cli_tx_send(&t, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, e.buf, e.len,
		                &st);
	}
	cli_tx_close(&t);
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

/* Seals the command for the signer's next nonce and sends it. */
static int command_send(struct cli_ctx *ctx, struct cli_tx *t, const uint8_t id[32],
                        const uint8_t pk[32], const uint8_t *pt, size_t len)
{
	struct env_command_ctx cc;
	json_t *st = NULL;
	size_t ctlen = len + HPKE_ENVELOPE_OVERHEAD;
	uint8_t *ct = malloc(ctlen);
	struct enc e;
	enc_init(&e, 64 + 16 + ctlen);
	memcpy(cc.chain_id, t->chain.params.chain_id, 32);
	memcpy(cc.contract_id, id, 32);
	memcpy(cc.sender, t->signer.ref.pk, 32);
	cc.nonce = t->chain.nonce;
	int r = CLI_EXIT_FAIL;
	if (!ct)
		r = cli_fail("out of memory");
	else if (env_command_seal(CONTRACT_AEAD, pk, &cc, pt, len, rand_bytes, NULL, ct) != ENV_OK)
		r = cli_fail("cannot seal the command to the contract's key");
	else {
		contracts_push_payload(&e, id, ct, ctlen);
		r = enc_finish(&e) == CODEC_OK
		        ? cli_tx_send(t, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, e.buf,
		                      e.len, &st)
		        : cli_fail("command too large");
	}
	if (r == CLI_EXIT_OK) {
		char *hx = malloc(2 * ctlen + 1);
		if (hx)
			json_object_set_new(st, "ciphertext",
			                    json_string(hex_encode(hx, ct, ctlen)));
		json_object_set_new(st, "nonce", json_integer((json_int_t)cc.nonce));
		free(hx);
		r = cli_tx_report(ctx, st);
	} else {
		json_decref(st);
	}
	free(ct);
	enc_release(&e);
	return r;
}

static int contract_command(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2], *text = NULL, *from = NULL;
	const struct cli_opt opts[] = {
	    {"text", &text, NULL}, {"from", &from, NULL}, {NULL, NULL, NULL}};
	uint8_t id[32], pk[32], *pt = NULL;
	size_t len = 0;
	struct cli_tx t = {0};
	if (!cli_parse(ctx, opts, argc, argv, pos, 1, 2))
		return CLI_EXIT_USAGE;
	int r = read_request(ctx, text, pos[1], &pt, &len);
	if (r == CLI_EXIT_OK)
		r = contract_key(ctx, pos[0], id, pk);
	if (r == CLI_EXIT_OK && (r = cli_tx_open(ctx, &t, from)) == CLI_EXIT_OK)
		r = command_send(ctx, &t, id, pk, pt, len);
	cli_tx_close(&t);
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

/* Prints the opened answer: u32 contract result ‖ the handler's bytes. */
static int query_print(struct cli_ctx *ctx, const uint8_t *pt, size_t n)
{
	if (n < 4)
		return cli_fail("the worker's answer is shorter than its result code");
	uint32_t code =
	    (uint32_t)pt[0] | (uint32_t)pt[1] << 8 | (uint32_t)pt[2] << 16 | (uint32_t)pt[3] << 24;
	char *hx = malloc(2 * (n - 4) + 1);
	if (!hx)
		return cli_fail("out of memory");
	hex_encode(hx, pt + 4, n - 4);
	uint64_t u = 0;
	for (size_t i = 0; n - 4 == 8 && i < 8; i++)
		u |= (uint64_t)pt[4 + i] << (8 * i);
	int r = CLI_EXIT_OK;
	if (ctx->json) {
		json_t *j = json_pack("{s:I, s:s}", "result", (json_int_t)code, "answer", hx);
		if (j && n - 4 == 8) {
			char dec[24];
			snprintf(dec, sizeof(dec), "%llu", (unsigned long long)u);
			json_object_set_new(j, "u64", json_string(dec));
		}
		r = cli_emit_json(j);
	} else {
		cli_kv("result", "%u%s", code, code == 0 ? " (ok)" : "");
		cli_kv("answer", "%s", hx);
		if (n - 4 == 8)
			cli_kv("as u64", "%llu", (unsigned long long)u);
	}
	free(hx);
	return r;
}

/* Posts the query and opens the answer with keep's response key. */
static int query_post(struct cli_ctx *ctx, const char *url, const uint8_t *msg, size_t len,
                      const struct env_query_client *keep)
{
	struct cli_http_reply rep;
	char err[512];
	if (!cli_http(url, "/query", msg, len, &rep, err, sizeof(err)))
		return cli_fail("%s", err);
	int r;
	if (rep.status != 200) {
		json_t *j = json_loadb((const char *)rep.body, rep.len, 0, NULL);
		json_t *e = json_object_get(j, "error");
		r = cli_fail("worker refused the query (HTTP %ld): %s: %s", rep.status,
		             cli_json_str(e, "code"), cli_json_str(e, "message"));
		json_decref(j);
	} else {
		uint8_t *pt = malloc(rep.len ? rep.len : 1);
		size_t n = 0;
		if (!pt)
			r = cli_fail("out of memory");
		else if (env_response_open(keep->aead, keep->response_key, keep->request_id,
		                           rep.body, rep.len, pt, &n) != ENV_OK)
			r = cli_fail("the worker's answer does not open with our response key");
		else
			r = query_print(ctx, pt, n);
		free(pt);
	}
	free(rep.body);
	return r;
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(b, 1, n, f) == n;
	ok = f && fclose(f) == 0 && ok;
	return ok ? CLI_EXIT_OK : cli_fail("cannot write %s", path);
}

/* Seals the query for the head + expiry blocks and posts it (or writes it to a file). */
static int query_run(struct cli_ctx *ctx, const struct query_args *a, const uint8_t id[32],
                     const uint8_t pk[32], const struct accounts_signer *s, const uint8_t *req,
                     size_t len)
{
	json_t *info;
	uint8_t chain_id[32];
	uint64_t head = 0, ahead = QUERY_EXPIRY_BLOCKS;
	char *end;
	if (a->expiry && ((ahead = strtoull(a->expiry, &end, 10)) == 0 || *end))
		return cli_usage_fail(ctx, "--expiry takes a number of blocks");
	int r = cli_call(ctx, "chain_info", NULL, &info);
	if (r != CLI_EXIT_OK)
		return r;
	const char *cid = cli_json_str(info, "chain_id");
	bool ok = hex_decode_exact(chain_id, 32, cid) && jsonx_u64(info, "height", &head);
	json_decref(info);
	if (!ok)
		return cli_fail("chain_info lacks chain_id or height");
	struct env_signer sg = {s->sk, NULL};
	struct env_query_client keep;
	size_t cap = env_query_len(len, ENV_AUTH_ACCOUNT), n = 0;
	uint8_t *msg = malloc(cap);
	if (!msg)
		return cli_fail("out of memory");
	if (env_query_seal(CONTRACT_AEAD, pk, chain_id, id, head + ahead, &sg, req, len, rand_bytes,
	                   NULL, msg, &n, &keep) != ENV_OK)
		r = cli_fail("cannot seal the query to the contract's key");
	else if (a->envelope_out)
		r = write_file(a->envelope_out, msg, n);
	else
		r = query_post(ctx, a->worker ? a->worker : CLI_WORKER_URL, msg, n, &keep);
	env_query_client_release(&keep);
	free(msg);
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
	uint8_t id[32], pk[32], *req = NULL;
	size_t len = 0;
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX];
	if (!cli_parse(ctx, opts, argc, argv, a.pos, 1, 2))
		return CLI_EXIT_USAGE;
	if (!a.from)
		return cli_usage_fail(ctx,
		                      "missing --from NAME (the account that signs the query)");
	int r = read_request(ctx, a.text, a.pos[1], &req, &len);
	if (r == CLI_EXIT_OK)
		r = contract_key(ctx, a.pos[0], id, pk);
	const char *dir = r == CLI_EXIT_OK ? cli_keystore_dir(ctx) : NULL;
	if (r == CLI_EXIT_OK && !dir)
		r = CLI_EXIT_FAIL;
	if (r == CLI_EXIT_OK && accounts_signer_open(&s, dir, a.from, err) != ACCOUNTS_OK)
		r = cli_fail("%s", err);
	else if (r == CLI_EXIT_OK) {
		r = query_run(ctx, &a, id, pk, &s, req, len);
		accounts_signer_wipe(&s);
	}
	free(req);
	return r;
}

int cmd_contract(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_opt none[] = {{NULL, NULL, NULL}};
	const char *pos[1];
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "list") == 0)
		return cli_parse(ctx, none, argc - 1, argv + 1, pos, 0, 0) ? contract_list(ctx)
		                                                           : CLI_EXIT_USAGE;
	if (strcmp(sub, "show") == 0)
		return cli_parse(ctx, none, argc - 1, argv + 1, pos, 1, 1)
		           ? contract_show(ctx, pos[0])
		           : CLI_EXIT_USAGE;
	if (strcmp(sub, "deploy") == 0)
		return contract_deploy(ctx, argc - 1, argv + 1);
	if (strcmp(sub, "command") == 0)
		return contract_command(ctx, argc - 1, argv + 1);
	if (strcmp(sub, "query") == 0)
		return contract_query(ctx, argc - 1, argv + 1);
	return cli_usage_fail(ctx, "unknown or missing subcommand '%s'", sub);
}
