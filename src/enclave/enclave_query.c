/*
 * Queries (enclave.h enclave_query; wire format in docs/protocol/worker.md "Queries" and
 * docs/protocol/envelopes.md): decode → route by contract id → verify and open with the
 * contract's HPKE key at the verified height → run on_query read-only → seal the answer under
 * the request's response key.
 *
 * Concurrency: the host runs queries in parallel with each other and never with anything else
 * (its reader-writer lock). This file therefore writes no shared state but the session cache
 * (e->sessions, locked inside scache): every buffer is per call, instances and keys are only read,
 * and contract_call frames live on this call's stack. The other shared service used is
 * platform.random (answer nonces), which must be thread-safe.
 *
 * Replays: a replayed query gets a fresh answer under a fresh random nonce, and reads only, so
 * no replay cache is kept (envelopes.md "Answer").
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/envelope.h"
#include "enclave/enclave_int.h"

#define RESULT_LEN 4 /* u32 contract result before the handler's bytes */

static const enum enclave_result from_env[] = {
    [ENV_OK] = ENCLAVE_OK,
    [ENV_ERR_MALFORMED] = ENCLAVE_BAD_INPUT,
    [ENV_ERR_VERSION] = ENCLAVE_BAD_INPUT,
    [ENV_ERR_AEAD] = ENCLAVE_QUERY_DECRYPT,
    [ENV_ERR_TRUNCATED] = ENCLAVE_QUERY_DECRYPT,
    [ENV_ERR_TOO_LONG] = ENCLAVE_TOO_LARGE,
    [ENV_ERR_INVALID_KEY] = ENCLAVE_QUERY_DECRYPT,
    [ENV_ERR_OPEN] = ENCLAVE_QUERY_DECRYPT,
    [ENV_ERR_CONTRACT] = ENCLAVE_QUERY_NO_CONTRACT,
    [ENV_ERR_SIGNATURE] = ENCLAVE_QUERY_SIGNATURE,
    [ENV_ERR_CERT_SIGNATURE] = ENCLAVE_QUERY_SIGNATURE,
    [ENV_ERR_CERT_EXPIRED] = ENCLAVE_QUERY_EXPIRED,
    [ENV_ERR_EXPIRED] = ENCLAVE_QUERY_EXPIRED,
};

static enum enclave_result map_env(enum env_result r)
{
	return (size_t)r < sizeof(from_env) / sizeof(from_env[0]) ? from_env[r] : ENCLAVE_BAD_INPUT;
}

static void query_rand(void *ctx, uint8_t *buf, size_t n)
{
	const struct enclave *e = ctx;
	e->plat.random(e->plat.ctx, buf, n);
}

/* Runs the handler and seals u32 result ‖ its bytes into out. pt is secret scratch of pt_cap. */
static enum enclave_result answer(struct enclave *e, const struct contract_instance *c,
                                  const struct env_query *q, uint8_t *pt, size_t pt_cap,
                                  struct enc *out)
{
	struct enc body;
	enc_init_fixed(&body, pt + RESULT_LEN, pt_cap - RESULT_LEN);
	enum contract_result cr =
	    enclave_contracts_query(e, c, q->account, q->request, q->request_len, &body);
	size_t n = RESULT_LEN + body.len;
	enum enclave_result r = ENCLAVE_TOO_LARGE;
	uint8_t *sealed = NULL;
	if (enc_finish(&body) != CODEC_OK)
		goto out;
	uint32_t code = (uint32_t)cr;
	for (size_t i = 0; i < RESULT_LEN; i++)
		pt[i] = (uint8_t)(code >> (8 * i));
	r = ENCLAVE_NOMEM;
	sealed = malloc(n + ENV_RESPONSE_OVERHEAD); /* ciphertext: nothing to wipe */
	if (!sealed)
		goto out;
	r = map_env(env_response_seal(q->aead, q->response_key, q->request_id, pt, n, query_rand, e,
	                              sealed));
	if (r == ENCLAVE_OK) {
		enc_raw(out, sealed, n + ENV_RESPONSE_OVERHEAD);
		if (enc_finish(out) != CODEC_OK)
			r = ENCLAVE_TOO_LARGE;
	}
out:
	sodium_memzero(pt, n);
	free(sealed);
	return r;
}

enum enclave_result enclave_query(struct enclave *e, const uint8_t *envelope, size_t len,
                                  struct enc *out)
{
	if (!e->started)
		return ENCLAVE_NOT_STARTED;
	if (e->failed)
		return ENCLAVE_FAILED;
	size_t pt_cap = e->cfg.max_response_bytes;
	if (len > e->cfg.max_query_bytes || pt_cap < ENV_RESPONSE_OVERHEAD + RESULT_LEN)
		return ENCLAVE_TOO_LARGE;
	pt_cap -= ENV_RESPONSE_OVERHEAD;
	struct env_query_msg m;
	if (env_query_decode(&m, envelope, len) != ENV_OK)
		return ENCLAVE_BAD_INPUT;
	const struct contract_instance *c = enclave_contracts_find(e, m.contract_id);
	if (!c)
		return enclave_backlog_unavailable(e, m.contract_id) ? ENCLAVE_QUERY_UNAVAILABLE
		                                                     : ENCLAVE_QUERY_NO_CONTRACT;
	/* Secret scratch: the request's plaintext and the answer's. */
	uint8_t *buf = malloc(len ? len : 1), *pt = malloc(pt_cap);
	struct env_query q;
	memset(&q, 0, sizeof(q));
	enum enclave_result r = ENCLAVE_NOMEM;
	if (!buf || !pt)
		goto out;
	r = map_env(env_query_open(enclave_contracts_hpke_sk(c), enclave_contracts_hpke_pk(c),
	                           e->chain_id, m.contract_id, e->lc.height, envelope, len, buf, &q,
	                           e->sessions));
	if (r == ENCLAVE_OK && q.expiry - e->lc.height > e->cfg.max_query_ahead)
		r = ENCLAVE_QUERY_EXPIRED; /* a signed query must not stay replayable for long */
	if (r == ENCLAVE_OK)
		r = answer(e, c, &q, pt, pt_cap, out);
out:
	if (buf)
		sodium_memzero(buf, len);
	env_query_release(&q);
	free(buf);
	free(pt);
	return r;
}
