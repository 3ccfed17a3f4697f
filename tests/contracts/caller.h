/*
 * The test caller contract (code "test.caller"), for tests and fuzz targets of contracts that
 * other contracts call (tests/unit/contracts/test_balances.c, fuzz/contracts/fuzz_balances.c):
 *
 *   command / deploy args  callee [32] ‖ request: a contract_call (on a command the callee sees
 *                          the command's signer); the result and answer are kept, whatever the
 *                          result (a deploy is never refused)
 *                          32 zero bytes ‖ topic ‖ 0x00 ‖ payload: contract_emit of payload on
 *                          topic (no contract id is zero); its result kept, no answer
 *   message                counted; its origin and payload (<= 64 bytes) kept
 *   query "r"              last result u32 ‖ last answer
 *   query "m"              count u32 ‖ last origin [32] ‖ last payload
 *   other queries          callee [32] ‖ request: a read-only call from the query
 *
 * Everything is static so each includer takes only what it uses.
 */
#ifndef TN_TESTS_CONTRACTS_CALLER_H
#define TN_TESTS_CONTRACTS_CALLER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enclave/contract.h"

#define CALLER_CODE "test.caller"

struct caller {
	uint32_t last, msgs;
	uint8_t answer[64], from[32], msg[64];
	size_t answer_len, msg_len;
};

static void *caller_create(void)
{
	return calloc(1, sizeof(struct caller));
}

static void caller_destroy(void *s)
{
	free(s);
}

/* The emit form: topic ‖ 0x00 ‖ payload at p[0..n). */
static enum contract_result caller_emit(struct contract_env *env, const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);
	char topic[CONTRACT_TOPIC_MAX + 1];
	if (!nul || (size_t)(nul - p) > CONTRACT_TOPIC_MAX)
		return CONTRACT_BAD_REQUEST;
	memcpy(topic, p, (size_t)(nul - p));
	topic[nul - p] = '\0';
	return contract_emit(env, topic, nul + 1, n - (size_t)(nul - p) - 1);
}

static enum contract_result caller_apply(struct caller *c, struct contract_env *env,
                                         const uint8_t *p, size_t n)
{
	static const uint8_t zero[32];
	if (n < 32)
		return CONTRACT_BAD_REQUEST;
	if (memcmp(p, zero, 32) == 0) {
		c->last = caller_emit(env, p + 32, n - 32);
		c->answer_len = 0;
		return c->last;
	}
	struct enc resp;
	enc_init_fixed(&resp, c->answer, sizeof(c->answer));
	enum contract_result r = contract_call(env, p, p + 32, n - 32, &resp);
	c->last = r;
	c->answer_len = r == CONTRACT_OK ? resp.len : 0;
	return r;
}

static enum contract_result caller_deploy(void *s, struct contract_env *env,
                                          const struct contract_origin *from, const uint8_t *args,
                                          size_t n)
{
	(void)from;
	if (n) /* kept whatever the result: a refused deploy would reset the instance */
		(void)caller_apply(s, env, args, n);
	return CONTRACT_OK;
}

static enum contract_result caller_command(void *s, struct contract_env *env,
                                           const struct contract_origin *from, const uint8_t *p,
                                           size_t n)
{
	(void)from;
	enum contract_result r = caller_apply(s, env, p, n);
	char text[32];
	int len = snprintf(text, sizeof(text), "r=%d", (int)r);
	(void)contract_reply(env, (const uint8_t *)text, (size_t)len);
	return r;
}

static enum contract_result caller_message(void *s, struct contract_env *env,
                                           const struct contract_origin *from, const char *topic,
                                           const uint8_t *p, size_t n)
{
	(void)env;
	(void)topic;
	struct caller *c = s;
	if (n > sizeof(c->msg))
		return CONTRACT_TOO_LARGE;
	c->msgs++;
	memcpy(c->from, from->id, 32);
	memcpy(c->msg, p, n);
	c->msg_len = n;
	return CONTRACT_OK;
}

static enum contract_result caller_query(const void *s, struct contract_env *env,
                                         const struct contract_origin *from, const uint8_t *req,
                                         size_t n, struct enc *resp)
{
	(void)from;
	const struct caller *c = s;
	if (n == 1 && req[0] == 'r') {
		enc_u32(resp, c->last);
		enc_raw(resp, c->answer, c->answer_len);
	} else if (n == 1 && req[0] == 'm') {
		enc_u32(resp, c->msgs);
		enc_raw(resp, c->from, 32);
		enc_raw(resp, c->msg, c->msg_len);
	} else {
		return n < 32 ? CONTRACT_BAD_REQUEST
		              : contract_call(env, req, req + 32, n - 32, resp);
	}
	return CONTRACT_OK;
}

static enum contract_result caller_snapshot(const void *s, struct enc *out)
{
	const struct caller *c = s;
	enc_u32(out, c->last);
	enc_u32(out, c->msgs);
	enc_bytes(out, c->answer, c->answer_len);
	enc_raw(out, c->from, 32);
	enc_bytes(out, c->msg, c->msg_len);
	return enc_finish(out) == CODEC_OK ? CONTRACT_OK : CONTRACT_TOO_LARGE;
}

static enum contract_result caller_restore(void *s, const uint8_t *p, size_t n)
{
	struct caller *c = s;
	struct dec d;
	dec_init(&d, p, n);
	c->last = dec_u32(&d);
	c->msgs = dec_u32(&d);
	const uint8_t *a = dec_bytes(&d, &c->answer_len, sizeof(c->answer));
	if (a)
		memcpy(c->answer, a, c->answer_len);
	dec_raw(&d, c->from, 32);
	const uint8_t *m = dec_bytes(&d, &c->msg_len, sizeof(c->msg));
	if (m)
		memcpy(c->msg, m, c->msg_len);
	return dec_finish(&d) == CODEC_OK ? CONTRACT_OK : CONTRACT_BAD_REQUEST;
}

static const struct contract_code caller_code = {
    .name = CALLER_CODE,
    .create = caller_create,
    .destroy = caller_destroy,
    .on_deploy = caller_deploy,
    .on_command = caller_command,
    .on_message = caller_message,
    .on_query = caller_query,
    .snapshot = caller_snapshot,
    .restore = caller_restore,
};

#endif
