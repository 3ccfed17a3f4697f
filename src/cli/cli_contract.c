/* Contracts from the CLI: keys, commands, queries, receipts, polling (cli_contract.h). */
#include "cli/cli_contract.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "chain/contracts.h"

static void rand_bytes(void *arg, uint8_t *buf, size_t n)
{
	(void)arg;
	randombytes_buf(buf, n);
}

uint64_t cli_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool cli_parse_timeout(struct cli_ctx *ctx, const char *s, long *out)
{
	u128 t = CLI_WAIT_DEFAULT_S;
	if ((s != NULL && !amount_parse_units(&t, s)) || t == 0 || t > CLI_WAIT_MAX_S)
		return cli_usage_fail(ctx, "invalid timeout '%s': expected 1..%d seconds", s,
		                      CLI_WAIT_MAX_S),
		       false;
	*out = (long)t;
	return true;
}

/* ---- the contract's key ------------------------------------------------------------------- */

/* Fills c from a contract_get object (stolen); false when its key is not published. */
static bool contract_take(struct cli_contract *c, json_t *info)
{
	const char *id = json_string_value(json_object_get(info, "id"));
	const char *x = json_string_value(json_object_get(json_object_get(info, "keys"), "x25519"));
	if (!id || !x || !hex_decode_exact(c->id, 32, id) || !hex_decode_exact(c->pk, 32, x)) {
		json_decref(info);
		return false;
	}
	hex_encode(c->hex, c->id, 32);
	c->info = info;
	return true;
}

int cli_contract_get(struct cli_ctx *ctx, const char *idhex, struct cli_contract *c)
{
	uint8_t id[32];
	json_t *info;
	memset(c, 0, sizeof(*c));
	if (!hex_decode_exact(id, 32, idhex))
		return cli_usage_fail(ctx, "the contract id must be 64 hex digits, got '%s'",
		                      idhex);
	int r = cli_call(ctx, "contract_get", json_pack("[s]", idhex), &info);
	if (r != CLI_EXIT_OK)
		return r;
	if (!contract_take(c, info))
		return cli_fail("contract %s has no published key yet (is a gatekeeper running and "
		                "is its cluster's key published?)",
		                idhex);
	return CLI_EXIT_OK;
}

int cli_contract_find(struct cli_ctx *ctx, const char *code, const char *idhex,
                      struct cli_contract *c)
{
	json_t *res;
	int r;
	if (idhex != NULL) {
		if ((r = cli_contract_get(ctx, idhex, c)) != CLI_EXIT_OK)
			return r;
		if (strcmp(cli_json_str(c->info, "code"), code) == 0)
			return CLI_EXIT_OK;
		r = cli_fail("contract %s runs '%s', not '%s'", idhex,
		             cli_json_str(c->info, "code"), code);
		cli_contract_release(c);
		return r;
	}
	memset(c, 0, sizeof(*c));
	r = cli_call(ctx, "contract_list", json_pack("[i, i]", 0, CLI_CONTRACT_LIST_MAX), &res);
	if (r != CLI_EXIT_OK)
		return r;
	json_t *cs = json_object_get(res, "contracts");
	bool found = false;
	for (size_t i = 0; i < json_array_size(cs) && !found; i++) {
		json_t *e = json_array_get(cs, i);
		if (strcmp(cli_json_str(e, "code"), code) == 0)
			found = contract_take(c, json_incref(e));
	}
	json_decref(res);
	if (!found)
		return cli_fail(
		    "no deployed '%s' contract with a published key (run `tenebra dev`, "
		    "or name one with --contract ID)",
		    code);
	return CLI_EXIT_OK;
}

void cli_contract_release(struct cli_contract *c)
{
	json_decref(c->info);
	c->info = NULL;
}

/* ---- deploy, commands
 * ----------------------------------------------------------------------------- */

int cli_contract_deploy(struct cli_tx *t, uint32_t cluster, const char *code, const uint8_t *salt,
                        size_t salt_len, const uint8_t *args, size_t args_len, uint8_t id[32],
                        json_t **status)
{
	struct enc e;
	enc_init(&e, 64 + CONTRACTS_CODE_MAX + CONTRACTS_SALT_MAX + CONTRACTS_ARGS_MAX);
	contracts_deploy_payload(&e, cluster, code, salt, salt_len, args, args_len);
	contracts_id(id, t->signer.ref.pk, cluster, code, salt, salt_len);
	*status = NULL;
	int r = enc_finish(&e) == CODEC_OK ? cli_tx_send(t, RUNTIME_MODULE_CONTRACTS,
	                                                 CONTRACTS_FN_DEPLOY, e.buf, e.len, status)
	                                   : cli_fail("deploy payload too large");
	enc_release(&e);
	return r;
}

/* The sealed command and its push_command payload, for t's next nonce. */
static int command_seal(struct cli_tx *t, const struct cli_contract *c, const uint8_t *pt,
                        size_t len, uint8_t *ct, struct enc *e)
{
	struct env_command_ctx cc;
	memcpy(cc.chain_id, t->chain.params.chain_id, 32);
	memcpy(cc.contract_id, c->id, 32);
	memcpy(cc.sender, t->signer.ref.pk, 32);
	cc.nonce = t->chain.nonce;
	if (env_command_seal(CLI_CONTRACT_AEAD, c->pk, &cc, pt, len, rand_bytes, NULL, ct) !=
	    ENV_OK)
		return cli_fail("cannot seal the command to the contract's key");
	contracts_push_payload(e, c->id, ct, len + HPKE_ENVELOPE_OVERHEAD);
	if (enc_finish(e) != CODEC_OK)
		return cli_fail("command too large");
	return CLI_EXIT_OK;
}

int cli_contract_send(struct cli_tx *t, const struct cli_contract *c, const uint8_t *pt, size_t len,
                      uint64_t *nonce, json_t **status)
{
	size_t ctlen = len + HPKE_ENVELOPE_OVERHEAD;
	uint8_t *ct = malloc(ctlen);
	char *hx = malloc(2 * ctlen + 1);
	struct enc e;
	enc_init(&e, 64 + 16 + ctlen);
	*status = NULL;
	*nonce = t->chain.nonce;
	int r = ct && hx ? command_seal(t, c, pt, len, ct, &e) : cli_fail("out of memory");
	if (r == CLI_EXIT_OK)
		r = cli_tx_send(t, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, e.buf,
		                e.len, status);
	if (*status != NULL) {
		json_object_set_new(*status, "ciphertext", json_string(hex_encode(hx, ct, ctlen)));
		json_object_set_new(*status, "nonce", json_integer((json_int_t)*nonce));
	}
	free(ct);
	free(hx);
	enc_release(&e);
	return r;
}

/* ---- queries ------------------------------------------------------------------------------ */

int cli_query_open(struct cli_query *q, struct cli_ctx *ctx, const struct cli_contract *c,
                   const char *worker, const uint8_t *sk, long timeout_s)
{
	json_t *info = NULL;
	uint8_t pk[32];
	memset(q, 0, sizeof(*q));
	q->ctx = ctx;
	q->c = c;
	q->worker = worker ? worker : CLI_WORKER_URL;
	q->ahead = CLI_QUERY_AHEAD;
	q->timeout_s = timeout_s;
	q->deadline_ms = cli_now_ms() + (uint64_t)timeout_s * 1000;
	if (sk == NULL)
		crypto_sign_keypair(pk, q->anon_sk);
	q->sk = sk ? sk : q->anon_sk;
	if (!cli_rpc_open(ctx, &q->rpc))
		return CLI_EXIT_FAIL;
	if (rpc_call(&q->rpc, "chain_info", NULL, &info) != RPC_OK)
		return cli_rpc_fail(&q->rpc);
	bool ok = hex_decode_exact(q->chain_id, 32, cli_json_str(info, "chain_id"));
	json_decref(info);
	return ok ? CLI_EXIT_OK : cli_fail("chain_info lacks chain_id");
}

void cli_query_close(struct cli_query *q)
{
	sodium_memzero(q->anon_sk, sizeof(q->anon_sk));
	rpc_client_release(&q->rpc);
}

void cli_answer_free(struct cli_answer *a)
{
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

/* How one attempt went; err holds the reason unless OK. */
enum query_try {
	QUERY_OK,
	QUERY_RETRY, /* transient: the worker is busy, restarting or not hosting the contract yet */
	QUERY_FAIL,
};

static enum query_try query_seal(struct cli_query *q, const uint8_t *req, size_t len, uint8_t **msg,
                                 size_t *n, struct env_query_client *keep, char *err)
{
	json_t *info = NULL;
	uint64_t head = 0;
	*msg = NULL;
	if (rpc_call(&q->rpc, "chain_info", NULL, &info) != RPC_OK) {
		snprintf(err, CLI_QUERY_ERR_MAX, "%s", rpc_client_error(&q->rpc));
		return QUERY_FAIL;
	}
	bool ok = jsonx_u64(info, "height", &head);
	json_decref(info);
	if (!ok)
		return snprintf(err, CLI_QUERY_ERR_MAX, "chain_info lacks height"), QUERY_FAIL;
	struct env_signer sg = {q->sk, NULL};
	if (!(*msg = malloc(env_query_len(len, ENV_AUTH_ACCOUNT))))
		return snprintf(err, CLI_QUERY_ERR_MAX, "out of memory"), QUERY_FAIL;
	if (env_query_seal(CLI_CONTRACT_AEAD, q->c->pk, q->chain_id, q->c->id, head + q->ahead, &sg,
	                   req, len, rand_bytes, NULL, *msg, n, keep) == ENV_OK)
		return QUERY_OK;
	free(*msg);
	*msg = NULL;
	snprintf(err, CLI_QUERY_ERR_MAX, "cannot seal the query to the contract's key");
	return QUERY_FAIL;
}

int cli_query_seal(struct cli_query *q, const uint8_t *req, size_t len, uint8_t **msg, size_t *n,
                   struct env_query_client *keep)
{
	char err[CLI_QUERY_ERR_MAX];
	return query_seal(q, req, len, msg, n, keep, err) == QUERY_OK ? CLI_EXIT_OK
	                                                              : cli_fail("%s", err);
}

/* A worker's refusal (a JSON error body): transient for 503 (busy, restarting, contract not
 * loaded) and 404 (the worker does not host the contract yet). */
static enum query_try query_refused(const struct cli_http_reply *rep, char *err)
{
	json_t *j = json_loadb((const char *)rep->body, rep->len, 0, NULL);
	json_t *e = json_object_get(j, "error");
	snprintf(err, CLI_QUERY_ERR_MAX, "worker refused the query (HTTP %ld): %s: %s", rep->status,
	         cli_json_str(e, "code"), cli_json_str(e, "message"));
	json_decref(j);
	return rep->status == 503 || rep->status == 404 ? QUERY_RETRY : QUERY_FAIL;
}

/* Opens a 200 answer: u32 result ‖ the handler's bytes. */
static enum query_try query_open_answer(const struct cli_http_reply *rep,
                                        const struct env_query_client *keep, struct cli_answer *a,
                                        char *err)
{
	uint8_t *pt = malloc(rep->len ? rep->len : 1);
	size_t n = 0;
	if (!pt)
		return snprintf(err, CLI_QUERY_ERR_MAX, "out of memory"), QUERY_FAIL;
	if (env_response_open(keep->aead, keep->response_key, keep->request_id, rep->body, rep->len,
	                      pt, &n) != ENV_OK ||
	    n < 4) {
		free(pt);
		snprintf(err, CLI_QUERY_ERR_MAX,
		         "the worker's answer does not open with our "
		         "response key");
		return QUERY_FAIL;
	}
	struct dec d;
	dec_init(&d, pt, 4);
	a->result = dec_u32(&d);
	a->len = n - 4;
	memmove(pt, pt + 4, a->len);
	a->body = pt;
	return QUERY_OK;
}

static enum query_try query_try(struct cli_query *q, const uint8_t *req, size_t len,
                                struct cli_answer *a, char *err)
{
	struct env_query_client keep;
	struct cli_http_reply rep;
	uint8_t *msg;
	size_t n = 0;
	memset(a, 0, sizeof(*a));
	enum query_try t = query_seal(q, req, len, &msg, &n, &keep, err);
	if (t != QUERY_OK)
		return t;
	if (!cli_http(q->worker, "/query", msg, n, &rep, err, CLI_QUERY_ERR_MAX))
		t = QUERY_RETRY; /* unreachable: maybe restarting */
	else if (rep.status != 200)
		t = query_refused(&rep, err);
	else
		t = query_open_answer(&rep, &keep, a, err);
	free(rep.body);
	env_query_client_release(&keep);
	free(msg);
	return t;
}

int cli_query_run(struct cli_query *q, const uint8_t *req, size_t len, struct cli_answer *a)
{
	char err[CLI_QUERY_ERR_MAX];
	return query_try(q, req, len, a, err) == QUERY_OK ? CLI_EXIT_OK : cli_fail("%s", err);
}

int cli_query_poll(struct cli_query *q, const uint8_t *req, size_t len, const char *what,
                   cli_poll_fn fn, void *arg)
{
	const struct timespec pause = {0, CLI_POLL_MS * 1000000L};
	char err[CLI_QUERY_ERR_MAX] = "";
	struct cli_answer a;
	for (;;) {
		char now[CLI_QUERY_ERR_MAX];
		enum query_try t = query_try(q, req, len, &a, now);
		if (t == QUERY_FAIL)
			return cli_fail("%s", now);
		enum cli_poll p = CLI_POLL_WAIT;
		if (t == QUERY_OK) {
			p = fn(arg, &a);
			cli_answer_free(&a);
		} else {
			memcpy(err, now, sizeof(err));
		}
		if (p != CLI_POLL_WAIT)
			return p == CLI_POLL_DONE ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		if (cli_now_ms() >= q->deadline_ms)
			return cli_fail("timed out after %ld s waiting for %s%s%s%s", q->timeout_s,
			                what, err[0] ? " (last error: " : "", err,
			                err[0] ? ")" : "");
		nanosleep(&pause, NULL);
	}
}

/* ---- receipts ----------------------------------------------------------------------------- */

static enum cli_poll receipt_seen(void *arg, const struct cli_answer *a)
{
	struct cli_receipt *r = arg;
	if (a->result == CONTRACT_NO_RECEIPT)
		return CLI_POLL_WAIT;
	if (a->result != CONTRACT_OK || a->len < 12 || a->len - 12 > CONTRACT_REPLY_MAX)
		return cli_fail("the worker answered the receipt query with result %u (%zu bytes)",
		                a->result, a->len),
		       CLI_POLL_FAIL;
	struct dec d;
	dec_init(&d, a->body, 12);
	r->height = dec_u64(&d);
	r->result = dec_u32(&d);
	size_t n = a->len - 12;
	memcpy(r->reply, a->body + 12, n);
	r->reply[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r->reply[i] < 0x20 || r->reply[i] == 0x7f)
			r->reply[i] = ' ';
	return CLI_POLL_DONE;
}

int cli_query_receipt(struct cli_query *q, uint64_t nonce, struct cli_receipt *r)
{
	uint8_t req[sizeof(CONTRACT_RECEIPT_QUERY) - 1 + 8];
	char what[96];
	struct enc e;
	enc_init_fixed(&e, req, sizeof(req));
	enc_raw(&e, CONTRACT_RECEIPT_QUERY, sizeof(CONTRACT_RECEIPT_QUERY) - 1);
	enc_u64(&e, nonce);
	snprintf(what, sizeof(what), "the contract to apply the command (receipt of nonce %llu)",
	         (unsigned long long)nonce);
	memset(r, 0, sizeof(*r));
	return cli_query_poll(q, req, sizeof(req), what, receipt_seen, r);
}
