/* The counter test contract: see counter.h. Written the way docs/contracts.md asks: check
 * everything first, then change state; no clock, no platform randomness. */
#include "counter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

#define SNAPSHOT_VERSION 1
#define ROLL_LEN         8

struct counter_entry {
	uint8_t who[32];
	uint64_t n;
};

struct counter {
	uint64_t total;
	uint64_t blocks;
	uint64_t messages;
	uint8_t roll[ROLL_LEN];
	size_t n;
	struct counter_entry v[COUNTER_MAX_ACCOUNTS];
};

/* A request, split into a verb and up to two arguments. */
struct request {
	char buf[COUNTER_REQUEST_MAX + 1];
	const char *verb, *arg1, *arg2;
};

static bool parse_request(struct request *r, const uint8_t *p, size_t n)
{
	if (n == 0 || n > COUNTER_REQUEST_MAX || memchr(p, '\0', n))
		return false;
	char *save = NULL; /* strtok_r: queries run concurrently */
	memcpy(r->buf, p, n);
	r->buf[n] = '\0';
	r->verb = strtok_r(r->buf, " ", &save);
	r->arg1 = strtok_r(NULL, " ", &save);
	r->arg2 = strtok_r(NULL, " ", &save);
	return r->verb && !strtok_r(NULL, " ", &save);
}

/* Decimal 0..2^64-1: digits only, no sign, no leading zero. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static bool parse_id(const char *s, uint8_t id[CONTRACT_ID_LEN])
{
	return s && strlen(s) == 2 * CONTRACT_ID_LEN && hex_decode_exact(id, CONTRACT_ID_LEN, s);
}

static struct counter_entry *find(const struct counter *c, const uint8_t who[32])
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->v[i].who, who, 32) == 0)
			return (struct counter_entry *)&c->v[i];
	return NULL;
}

static enum contract_result add(struct counter *c, const uint8_t who[32], uint64_t n)
{
	struct counter_entry *e = find(c, who);
	if (c->total > UINT64_MAX - n) /* every counter is <= total */
		return CONTRACT_BAD_REQUEST;
	if (!e && c->n == COUNTER_MAX_ACCOUNTS)
		return COUNTER_FULL;
	if (!e) {
		e = &c->v[c->n++];
		memcpy(e->who, who, 32);
		e->n = 0;
	}
	e->n += n;
	c->total += n;
	return CONTRACT_OK;
}

static enum contract_result call_add(struct contract_env *env, const char *id_hex,
                                     const char *amount, struct enc *resp)
{
	uint8_t callee[CONTRACT_ID_LEN];
	uint64_t n;
	if (!parse_id(id_hex, callee) || !parse_u64(amount, &n))
		return CONTRACT_BAD_REQUEST;
	char req[32 + 4];
	int len = snprintf(req, sizeof(req), "add %llu", (unsigned long long)n);
	return contract_call(env, callee, (const uint8_t *)req, (size_t)len, resp);
}

static enum contract_result send_add(struct contract_env *env, const char *id_hex,
                                     const char *amount)
{
	uint8_t callee[CONTRACT_ID_LEN];
	uint64_t n;
	if (!parse_id(id_hex, callee) || !parse_u64(amount, &n))
		return CONTRACT_BAD_REQUEST;
	char topic[CONTRACT_TOPIC_MAX], req[32 + 4];
	snprintf(topic, sizeof(topic), "contract/%s/message", id_hex);
	int len = snprintf(req, sizeof(req), "add %llu", (unsigned long long)n);
	return contract_emit(env, topic, (const uint8_t *)req, (size_t)len);
}

/* Commands, sync calls and messages share one grammar; origin is whoever is credited. */
static enum contract_result apply(struct counter *c, struct contract_env *env,
                                  const uint8_t who[32], const uint8_t *p, size_t n,
                                  struct enc *resp)
{
	struct request r;
	uint64_t v;
	if (!parse_request(&r, p, n))
		return CONTRACT_BAD_REQUEST;
	if (strcmp(r.verb, "add") == 0 && !r.arg2)
		return parse_u64(r.arg1, &v) ? add(c, who, v) : CONTRACT_BAD_REQUEST;
	if (strcmp(r.verb, "call") == 0 && r.arg2) {
		uint8_t scratch[64];
		struct enc sink;
		enc_init_fixed(&sink, scratch, sizeof(scratch));
		return call_add(env, r.arg1, r.arg2, resp ? resp : &sink);
	}
	if (strcmp(r.verb, "send") == 0 && r.arg2)
		return send_add(env, r.arg1, r.arg2);
	if (strcmp(r.verb, "roll") == 0 && !r.arg1) {
		contract_random(env, c->roll, ROLL_LEN);
		return CONTRACT_OK;
	}
	if (strcmp(r.verb, "fail") == 0 && !r.arg1) {
		char topic[CONTRACT_TOPIC_MAX], hex[2 * CONTRACT_ID_LEN + 1];
		snprintf(topic, sizeof(topic), "contract/%s/message",
		         hex_encode(hex, contract_self(env), CONTRACT_ID_LEN));
		(void)contract_emit(env, topic, (const uint8_t *)"add 1", 5);
		return CONTRACT_USER + 1;
	}
	return CONTRACT_BAD_REQUEST;
}

static void *counter_create(void)
{
	return calloc(1, sizeof(struct counter));
}

static void counter_destroy(void *state)
{
	free(state);
}

/* Tells the sender what happened, through its receipt: "mine=N" or why it was refused. */
static void reply(struct contract_env *env, const struct counter *c, const uint8_t who[32],
                  enum contract_result r)
{
	char msg[64];
	const struct counter_entry *e = find(c, who);
	int n;
	if (r == CONTRACT_OK)
		n = snprintf(msg, sizeof(msg), "mine=%llu", (unsigned long long)(e ? e->n : 0));
	else if (r == CONTRACT_BAD_REQUEST)
		n = snprintf(msg, sizeof(msg), "refused: bad request");
	else if (r == COUNTER_FULL)
		n = snprintf(msg, sizeof(msg), "refused: no room for another account");
	else
		n = snprintf(msg, sizeof(msg), "refused: result %d", (int)r);
	(void)contract_reply(env, (const uint8_t *)msg, (size_t)n);
}

static enum contract_result counter_command(void *state, struct contract_env *env,
                                            const struct contract_origin *from, const uint8_t *cmd,
                                            size_t len)
{
	enum contract_result r = apply(state, env, from->id, cmd, len, NULL);
	reply(env, state, from->id, r);
	return r;
}

/* Deploy arguments are one request applied for the deployer (e.g. "add 7"); none is fine. */
static enum contract_result counter_deploy(void *state, struct contract_env *env,
                                           const struct contract_origin *from, const uint8_t *args,
                                           size_t len)
{
	return len ? apply(state, env, from->id, args, len, NULL) : CONTRACT_OK;
}

static enum contract_result counter_message(void *state, struct contract_env *env,
                                            const struct contract_origin *from, const char *topic,
                                            const uint8_t *payload, size_t len)
{
	(void)topic;
	struct counter *c = state;
	enum contract_result r = apply(c, env, from->id, payload, len, NULL);
	if (r == CONTRACT_OK)
		c->messages++;
	return r;
}

static enum contract_result counter_call(void *state, struct contract_env *env,
                                         const struct contract_origin *from, const uint8_t *req,
                                         size_t len, struct enc *resp)
{
	return apply(state, env, from->id, req, len, resp);
}

static enum contract_result counter_query(const void *state, struct contract_env *env,
                                          const struct contract_origin *from, const uint8_t *req,
                                          size_t len, struct enc *resp)
{
	const struct counter *c = state;
	struct request r;
	if (!parse_request(&r, req, len))
		return CONTRACT_BAD_REQUEST;
	if (strcmp(r.verb, "peek") == 0 && r.arg1 && !r.arg2) {
		uint8_t callee[CONTRACT_ID_LEN];
		if (!parse_id(r.arg1, callee))
			return CONTRACT_BAD_REQUEST;
		return contract_call(env, callee, (const uint8_t *)"get total", 9, resp);
	}
	if (strcmp(r.verb, "get") != 0 || !r.arg1 || r.arg2)
		return CONTRACT_BAD_REQUEST;
	if (strcmp(r.arg1, "roll") == 0) {
		enc_raw(resp, c->roll, ROLL_LEN);
		return CONTRACT_OK;
	}
	const struct counter_entry *e = find(c, from->id);
	uint64_t v;
	if (strcmp(r.arg1, "mine") == 0)
		v = e ? e->n : 0;
	else if (strcmp(r.arg1, "total") == 0)
		v = c->total;
	else if (strcmp(r.arg1, "blocks") == 0)
		v = c->blocks;
	else if (strcmp(r.arg1, "messages") == 0)
		v = c->messages;
	else
		return CONTRACT_BAD_REQUEST;
	enc_u64(resp, v);
	return CONTRACT_OK;
}

static void counter_block(void *state, struct contract_env *env)
{
	(void)env;
	((struct counter *)state)->blocks++;
}

static enum contract_result counter_snapshot(const void *state, struct enc *out)
{
	const struct counter *c = state;
	enc_u8(out, SNAPSHOT_VERSION);
	enc_u64(out, c->total);
	enc_u64(out, c->blocks);
	enc_u64(out, c->messages);
	enc_raw(out, c->roll, ROLL_LEN);
	enc_uleb(out, c->n);
	for (size_t i = 0; i < c->n; i++) {
		enc_raw(out, c->v[i].who, 32);
		enc_u64(out, c->v[i].n);
	}
	return enc_finish(out) == CODEC_OK ? CONTRACT_OK : CONTRACT_TOO_LARGE;
}

/* Into a fresh instance; anything snapshot would not write (a duplicate account, a counter above
 * the total) is refused. */
static enum contract_result counter_restore(void *state, const uint8_t *b, size_t n)
{
	struct counter *c = state;
	struct dec d;
	dec_init(&d, b, n);
	if (dec_u8(&d) != SNAPSHOT_VERSION)
		return CONTRACT_BAD_REQUEST;
	c->total = dec_u64(&d);
	c->blocks = dec_u64(&d);
	c->messages = dec_u64(&d);
	dec_raw(&d, c->roll, ROLL_LEN);
	c->n = (size_t)dec_uleb(&d, COUNTER_MAX_ACCOUNTS);
	for (size_t i = 0; i < c->n && d.err == CODEC_OK; i++) {
		dec_raw(&d, c->v[i].who, 32);
		c->v[i].n = dec_u64(&d);
		if (c->v[i].n > c->total || find(c, c->v[i].who) != &c->v[i])
			dec_fail(&d, CODEC_NONCANONICAL);
	}
	return dec_finish(&d) == CODEC_OK ? CONTRACT_OK : CONTRACT_BAD_REQUEST;
}

const struct contract_code counter_code = {
    .name = COUNTER_CODE_NAME,
    .create = counter_create,
    .destroy = counter_destroy,
    .on_deploy = counter_deploy,
    .on_command = counter_command,
    .on_message = counter_message,
    .on_call = counter_call,
    .on_query = counter_query,
    .on_block = counter_block,
    .snapshot = counter_snapshot,
    .restore = counter_restore,
};
