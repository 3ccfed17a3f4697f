/*
 * The contract host (DESIGN.md §8, §9, §12; developer guide docs/contracts.md; wire formats in
 * docs/protocol/worker.md "Commands"). It keeps one instance per deployed contract whose code this
 * binary carries, in deploy order, and drives the callbacks of enclave/contract.h:
 *
 *   contracts/event (module:contracts)          deploy: a fresh instance
 *   contract/<id>/command (module:contracts)    sender ‖ nonce ‖ HPKE envelope -> on_command
 *   contract/<id>/message (contract|module|worker)  plaintext -> on_message
 *   end of block                                on_block, in deploy order
 *
 * Determinism: every worker of a cluster sees the same messages in the same order and runs the
 * same handlers, so the contract's only inputs are those messages, the verified block's height
 * and time, and contract_random, which is a KDF of the contract's own key, the height and a
 * per-instance per-block counter (nothing another instance or worker does can shift it).
 *
 * Keys: an instance exists only with its keys. They come from the gatekeeper part
 * (enclave_contract_keys) once this worker holds its cluster's key, and are kept per instance in
 * guarded memory (and in the sealed checkpoint) so queries never derive anything. A contract
 * whose keys are not here waits in the backlog (enclave_backlog.c) with its inputs; when the keys
 * come, catch-up creates the instance and replays them with the height and time of their blocks
 * (every handler takes its block from the env, never from the light client directly).
 *
 * Threads: everything here runs under the host's write lock except enclave_contracts_find/
 * _hpke_sk/_hpke_pk/_query, which only read (enclave.h "Threads").
 */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "chain/contracts.h"
#include "chain/mq.h"
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"

#define RANDOM_LABEL "tenebra/v1/contract-random"
#define COMMAND_AEAD HPKE_AEAD_CHACHA20POLY1305 /* the command payload carries no AEAD id */
#define CMD_HEAD_LEN (32 + 8)                   /* sender ‖ nonce before the envelope */
#define ID_HEX_LEN   64
#define TOPIC_PREFIX "contract/"
#define CKPT_SECTION 0x43 /* 'C': the contract host's part of a checkpoint */

struct contract_keys {
	uint8_t hpke_sk[HPKE_SK_LEN];
	uint8_t hpke_pk[HPKE_PK_LEN]; /* kept so opening an envelope never recomputes it */
	uint8_t sign_sk[SIG_SK_LEN];
};

/* What a command's sender can read back (contract.h "Receipts"). */
struct cmd_receipt {
	uint8_t sender[32];
	uint64_t nonce;
	uint64_t height;
	uint32_t result;
	uint16_t reply_len;
	uint8_t reply[CONTRACT_REPLY_MAX];
};

struct contract_instance {
	uint8_t id[32];
	uint32_t cluster;
	const struct contract_code *code;
	void *state;
	struct contract_keys *keys; /* slot in the host's guarded array */
	uint64_t rand_height;       /* contract_random's counter restarts every block */
	uint32_t rand_counter;
	struct cmd_receipt *receipts; /* ring of CONTRACT_RECEIPTS; NULL until the first command */
	size_t n_receipts, next_receipt;
};

/* v has config.max_contracts slots and never moves (queries hold pointers into it); keys[i]
 * (sodium_allocarray) belongs to v[i]; emits holds the messages of the input being handled, each
 * u32 instance ‖ bytes(topic) ‖ bytes(payload). */
struct contract_host {
	size_t n;
	struct contract_instance *v;
	struct contract_keys *keys;
	struct enc emits;
};

/* The block an input belongs to: the verified one, or an earlier one during catch-up. */
struct clock {
	uint64_t height, time_ms;
};

static struct clock live(const struct enclave *e)
{
	return (struct clock){e->lc.height, e->lc.time_ms};
}

/* One frame of the call stack; frames live on the C stack, so concurrent queries share none. */
struct contract_env {
	struct enclave *e;
	struct clock at;
	struct contract_instance *self;
	bool read_only;                    /* a query, or a call made from one */
	unsigned depth;                    /* 0 for the outermost handler */
	const struct contract_env *caller; /* NULL for the outermost handler */
	struct cmd_receipt *reply;         /* the outermost command handler's receipt, else NULL */
	const uint8_t *signer;             /* the command's sender, through nested calls */
};

/* ---- the SDK's services (contract.h) ---------------------------------------------------- */

const uint8_t *contract_self(const struct contract_env *env)
{
	return env->self->id;
}

const uint8_t *contract_signer(const struct contract_env *env)
{
	return env->signer;
}

uint64_t contract_height(const struct contract_env *env)
{
	return env->at.height;
}

uint64_t contract_time_ms(const struct contract_env *env)
{
	return env->at.time_ms;
}

void contract_random(struct contract_env *env, uint8_t *out, size_t n)
{
	assert(!env->read_only);
	struct contract_instance *c = env->self;
	uint64_t h = env->at.height;
	if (c->rand_height != h) {
		c->rand_height = h;
		c->rand_counter = 0;
	}
	/* The signing seed is a secret only the contract's key holders can derive; the label keeps
	 * this output independent of signatures. */
	while (n > 0) {
		uint8_t ctx[12];
		struct enc x;
		enc_init_fixed(&x, ctx, sizeof(ctx));
		enc_u64(&x, h);
		enc_u32(&x, c->rand_counter++);
		size_t k = n < KDF_OUT_MAX ? n : KDF_OUT_MAX;
		kdf_derive(out, k, c->keys->sign_sk, RANDOM_LABEL, ctx, sizeof(ctx));
		out += k;
		n -= k;
	}
}

static bool topic_ok(const char *topic, size_t n)
{
	if (n < 1 || n > CONTRACT_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (topic[i] < 0x21 || topic[i] > 0x7e)
			return false;
	return true;
}

enum contract_result contract_emit(struct contract_env *env, const char *topic,
                                   const uint8_t *payload, size_t len)
{
	assert(!env->read_only && topic && (payload || len == 0));
	struct contract_host *h = env->e->contracts;
	size_t tn = strnlen(topic, CONTRACT_TOPIC_MAX + 1);
	if (!topic_ok(topic, tn))
		return CONTRACT_BAD_REQUEST;
	if (len > CONTRACT_PAYLOAD_MAX || h->emits.len + 4 + 2 * 10 + tn + len > CONTRACT_EMIT_MAX)
		return CONTRACT_TOO_LARGE;
	size_t mark = h->emits.len;
	enc_u32(&h->emits, (uint32_t)(env->self - h->v));
	enc_bytes(&h->emits, topic, tn);
	enc_bytes(&h->emits, payload, len);
	if (enc_finish(&h->emits) == CODEC_OK)
		return CONTRACT_OK;
	/* Only an allocation can fail here (the size was checked): drop the partial entry and
	 * clear the sticky error so the held messages stay whole. */
	h->emits.len = mark;
	h->emits.err = CODEC_OK;
	return CONTRACT_NOMEM;
}

enum contract_result contract_reply(struct contract_env *env, const uint8_t *msg, size_t len)
{
	assert(env->reply && (msg || len == 0));
	if (len > CONTRACT_REPLY_MAX)
		return CONTRACT_TOO_LARGE;
	memcpy(env->reply->reply, msg, len);
	env->reply->reply_len = (uint16_t)len;
	return CONTRACT_OK;
}

static struct contract_instance *host_find(const struct contract_host *h, const uint8_t id[32])
{
	for (size_t i = 0; h && i < h->n; i++)
		if (memcmp(h->v[i].id, id, 32) == 0)
			return &h->v[i];
	return NULL;
}

static bool on_stack(const struct contract_env *env, const struct contract_instance *c)
{
	for (; env; env = env->caller)
		if (env->self == c)
			return true;
	return false;
}

static enum contract_result call_in(struct contract_env *env, struct contract_instance *callee,
                                    const uint8_t *req, size_t len, struct enc *resp)
{
	struct contract_env inner = {env->e,         env->at, callee, env->read_only,
	                             env->depth + 1, env,     NULL,   env->signer};
	struct contract_origin from = {.kind = CONTRACT_FROM_CONTRACT};
	memcpy(from.id, env->self->id, 32);
	const struct contract_code *k = callee->code;
	if (env->read_only)
		return k->on_query ? k->on_query(callee->state, &inner, &from, req, len, resp)
		                   : CONTRACT_NO_SUCH_CONTRACT;
	if (!k->on_call)
		return CONTRACT_NO_SUCH_CONTRACT;
	struct contract_host *h = env->e->contracts;
	size_t mark = h->emits.len;
	enum contract_result r = k->on_call(callee->state, &inner, &from, req, len, resp);
	if (r != CONTRACT_OK)
		h->emits.len = mark; /* its messages go with its refusal */
	return r;
}

enum contract_result contract_call(struct contract_env *env, const uint8_t callee[CONTRACT_ID_LEN],
                                   const uint8_t *req, size_t len, struct enc *resp)
{
	assert(callee && (req || len == 0) && resp);
	struct contract_instance *c = host_find(env->e->contracts, callee);
	/* Another cluster's contract is refused even when this worker happens to host it: every
	 * worker of the caller's cluster must give the same answer. */
	if (!c || c->cluster != env->self->cluster)
		return CONTRACT_NO_SUCH_CONTRACT;
	if (env->depth + 1 > CONTRACT_CALL_DEPTH)
		return CONTRACT_DEPTH;
	if (on_stack(env, c))
		return CONTRACT_REENTRANT;
	return call_in(env, c, req, len, resp);
}

/* ---- the host --------------------------------------------------------------------------- */

static void log_id(char out[17], const uint8_t id[32])
{
	hex_encode(out, id, 8);
}

static enum enclave_result host_get(struct enclave *e, struct contract_host **out)
{
	if (e->contracts) {
		*out = e->contracts;
		return ENCLAVE_OK;
	}
	size_t cap = e->cfg.max_contracts ? e->cfg.max_contracts : 1;
	struct contract_host *h = calloc(1, sizeof(*h));
	if (!h)
		return ENCLAVE_NOMEM;
	h->v = calloc(cap, sizeof(*h->v));
	h->keys = sodium_allocarray(cap, sizeof(*h->keys));
	if (!h->v || !h->keys) {
		free(h->v);
		if (h->keys)
			sodium_free(h->keys);
		free(h);
		return ENCLAVE_NOMEM;
	}
	sodium_memzero(h->keys, cap * sizeof(*h->keys));
	enc_init(&h->emits, CONTRACT_EMIT_MAX);
	e->contracts = *out = h;
	return ENCLAVE_OK;
}

size_t enclave_contracts_count(const struct enclave *e)
{
	return e->contracts ? e->contracts->n : 0;
}

void enclave_contracts_free(struct enclave *e)
{
	struct contract_host *h = e->contracts;
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		h->v[i].code->destroy(h->v[i].state);
		if (h->v[i].receipts)
			sodium_memzero(h->v[i].receipts,
			               CONTRACT_RECEIPTS * sizeof(struct cmd_receipt));
		free(h->v[i].receipts);
	}
	sodium_free(h->keys); /* wipes */
	free(h->v);
	enc_release(&h->emits);
	free(h);
	e->contracts = NULL;
}

const struct contract_code *enclave_code_by_name(const struct enclave *e, const uint8_t *name,
                                                 size_t n)
{
	for (size_t i = 0; i < e->cfg.n_codes; i++) {
		const char *c = e->cfg.codes[i]->name;
		if (strlen(c) == n && memcmp(c, name, n) == 0)
			return e->cfg.codes[i];
	}
	return NULL;
}

/* A fresh instance in the next slot (keys not loaded). */
static enum enclave_result host_add(struct enclave *e, const uint8_t id[32], uint32_t cluster,
                                    const struct contract_code *code,
                                    struct contract_instance **out)
{
	struct contract_host *h;
	enum enclave_result r = host_get(e, &h);
	if (r != ENCLAVE_OK)
		return r;
	if (h->n >= e->cfg.max_contracts)
		return ENCLAVE_TOO_LARGE;
	struct contract_instance *c = &h->v[h->n];
	memset(c, 0, sizeof(*c));
	c->state = code->create();
	if (!c->state)
		return ENCLAVE_NOMEM;
	memcpy(c->id, id, 32);
	c->cluster = cluster;
	c->code = code;
	c->keys = &h->keys[h->n];
	h->n++;
	*out = c;
	return ENCLAVE_OK;
}

/* A new instance of contract id in the next slot, if this worker holds its keys: ENCLAVE_OK with
 * *keyed telling whether it was created (then *out is it), ENCLAVE_TOO_LARGE (the keys are here but
 * max_contracts instances are hosted) or ENCLAVE_NOMEM. */
static enum enclave_result host_open(struct enclave *e, const uint8_t id[32], uint32_t cluster,
                                     const struct contract_code *code, bool *keyed,
                                     struct contract_instance **out)
{
	struct contract_keys k;
	uint8_t sign_pk[SIG_PK_LEN];
	struct contract_instance *c = NULL;
	enum enclave_result r = ENCLAVE_OK;
	*keyed = enclave_contract_keys(e, id, cluster, k.hpke_pk, k.hpke_sk, sign_pk, k.sign_sk);
	if (*keyed)
		r = host_add(e, id, cluster, code, &c);
	if (*keyed && r == ENCLAVE_OK)
		memcpy(c->keys, &k, sizeof(k));
	sodium_memzero(&k, sizeof(k));
	*out = c;
	return r;
}

/* Sends the held messages of the input just handled, each signed by its contract's key. A
 * message the egress queue cannot take would break the contract's sequence on this worker, so
 * that fails the enclave (the host restarts it from its checkpoint). */
static enum enclave_result flush_emits(struct enclave *e)
{
	struct contract_host *h = e->contracts;
	struct dec d;
	enum enclave_result r = ENCLAVE_OK;
	dec_init(&d, h->emits.buf, h->emits.len);
	while (r == ENCLAVE_OK && dec_remaining(&d) > 0) {
		uint32_t i = dec_u32(&d);
		size_t tn, pn;
		const uint8_t *topic = dec_bytes(&d, &tn, CONTRACT_TOPIC_MAX);
		const uint8_t *payload = dec_bytes(&d, &pn, CONTRACT_PAYLOAD_MAX);
		assert(d.err == CODEC_OK && topic && i < h->n); /* contract_emit wrote it */
		char t[CONTRACT_TOPIC_MAX + 1];
		memcpy(t, topic, tn);
		t[tn] = '\0';
		struct mq_origin o = {.kind = MQ_ORIGIN_CONTRACT};
		memcpy(o.id, h->v[i].id, 32);
		r = enclave_egress_push(e, &o, h->v[i].keys->sign_sk, t, payload, pn);
	}
	h->emits.len = 0;
	if (r != ENCLAVE_OK) {
		enclave_log(e, LOG_ERROR, "contracts: egress refused a message (%s); stopping",
		            enclave_strerror(r));
		e->failed = true;
	}
	return r;
}

/* Runs one outermost handler and sends its messages if it succeeded; reply is the receipt of a
 * command (NULL otherwise), whose result is set here. */
typedef enum contract_result (*handler_fn)(struct contract_env *env, void *arg);

static enum enclave_result run(struct enclave *e, struct contract_instance *c, struct clock at,
                               handler_fn fn, void *arg, const char *what,
                               struct cmd_receipt *reply)
{
	struct contract_env env = {e, at, c, false, 0, NULL, reply, reply ? reply->sender : NULL};
	enum contract_result cr = fn(&env, arg);
	if (reply)
		reply->result = (uint32_t)cr;
	if (cr == CONTRACT_OK)
		return flush_emits(e);
	e->contracts->emits.len = 0;
	char hid[17];
	log_id(hid, c->id);
	/* Debug only, and without the result: matched with the block's transactions, an outcome
	 * logged for every command would tell the operator whose commands fail and why, which is
	 * the sender's secret (the receipt tells the sender). */
	enclave_log(e, LOG_DEBUG, "contracts: %s refused a %s", hid, what);
	return ENCLAVE_OK;
}

struct input {
	struct contract_origin from;
	const char *topic; /* messages */
	const uint8_t *p;
	size_t n;
};

static enum contract_result do_command(struct contract_env *env, void *arg)
{
	const struct input *in = arg;
	const struct contract_code *k = env->self->code;
	return k->on_command ? k->on_command(env->self->state, env, &in->from, in->p, in->n)
	                     : CONTRACT_BAD_REQUEST;
}

static enum contract_result do_message(struct contract_env *env, void *arg)
{
	const struct input *in = arg;
	const struct contract_code *k = env->self->code;
	return k->on_message
	           ? k->on_message(env->self->state, env, &in->from, in->topic, in->p, in->n)
	           : CONTRACT_BAD_REQUEST;
}

static enum contract_result do_deploy(struct contract_env *env, void *arg)
{
	const struct input *in = arg;
	const struct contract_code *k = env->self->code;
	return k->on_deploy ? k->on_deploy(env->self->state, env, &in->from, in->p, in->n)
	                    : CONTRACT_OK;
}

static enum contract_result do_block(struct contract_env *env, void *arg)
{
	(void)arg;
	env->self->code->on_block(env->self->state, env);
	return CONTRACT_OK;
}

/* Runs the new instance's on_deploy with the deploy's arguments, at the block of the deploy. */
static enum enclave_result start(struct enclave *e, struct contract_instance *c, struct clock at,
                                 const uint8_t deployer[32], const uint8_t *args, size_t n)
{
	struct input in = {.from = {.kind = CONTRACT_FROM_ACCOUNT}, .p = args, .n = n};
	memcpy(in.from.id, deployer, 32);
	return run(e, c, at, do_deploy, &in, "deploy", NULL);
}

static enum enclave_result on_deploy(struct enclave *e, const uint8_t *p, size_t n)
{
	struct dec d;
	uint8_t id[32], deployer[32];
	size_t len = 0, args_len = 0;
	dec_init(&d, p, n);
	if (dec_u8(&d) != CONTRACTS_EV_DEPLOYED)
		return ENCLAVE_OK; /* an event kind this build does not use */
	dec_raw(&d, id, 32);
	uint32_t cluster = dec_u32(&d);
	dec_raw(&d, deployer, 32);
	const uint8_t *name = dec_bytes(&d, &len, CONTRACTS_CODE_MAX);
	const uint8_t *args = dec_bytes(&d, &args_len, CONTRACT_ARGS_MAX);
	char hid[17];
	log_id(hid, id);
	if (dec_finish(&d) != CODEC_OK) {
		enclave_log(e, LOG_WARN, "contracts: a deploy event that does not decode");
		return ENCLAVE_OK;
	}
	const struct contract_code *code = enclave_code_by_name(e, name, len);
	if (!code) {
		enclave_log(e, LOG_INFO,
		            "contracts: %s uses code \"%.*s\" this worker lacks; skipped", hid,
		            (int)len, (const char *)name);
		return ENCLAVE_OK;
	}
	if (host_find(e->contracts, id))
		return ENCLAVE_OK;
	bool keyed;
	struct contract_instance *c = NULL;
	enum enclave_result r = host_open(e, id, cluster, code, &keyed, &c);
	if (r == ENCLAVE_OK && keyed) {
		enclave_log(e, LOG_INFO, "contracts: hosting %s (code %s, cluster %u)", hid,
		            code->name, cluster);
		r = start(e, c, live(e), deployer, args, args_len);
	} else if (r == ENCLAVE_OK || r == ENCLAVE_TOO_LARGE) { /* its keys may come later */
		struct backlog_deploy dp = {id, cluster, code, deployer, args, args_len};
		r = enclave_backlog_deploy(e, &dp, r == ENCLAVE_TOO_LARGE);
	}
	return r;
}

/* Keeps r as c's newest receipt, dropping the oldest beyond CONTRACT_RECEIPTS. */
static enum enclave_result receipt_add(struct contract_instance *c, const struct cmd_receipt *r)
{
	if (!c->receipts && !(c->receipts = calloc(CONTRACT_RECEIPTS, sizeof(*c->receipts))))
		return ENCLAVE_NOMEM;
	c->receipts[c->next_receipt] = *r;
	c->next_receipt = (c->next_receipt + 1) % CONTRACT_RECEIPTS;
	if (c->n_receipts < CONTRACT_RECEIPTS)
		c->n_receipts++;
	return ENCLAVE_OK;
}

/* The i-th oldest receipt. */
static const struct cmd_receipt *receipt_at(const struct contract_instance *c, size_t i)
{
	return &c->receipts[(c->next_receipt + CONTRACT_RECEIPTS - c->n_receipts + i) %
	                    CONTRACT_RECEIPTS];
}

/* sender ‖ u64 nonce ‖ envelope: decrypted under AAD chain_id ‖ contract id ‖ sender ‖ nonce,
 * so the same envelope in another tx (another nonce or sender) does not open. Every command that
 * reaches an instance leaves a receipt. */
static enum enclave_result on_command(struct enclave *e, struct contract_instance *c,
                                      struct clock at, const uint8_t *p, size_t n)
{
	char hid[17];
	log_id(hid, c->id);
	if (n <= CMD_HEAD_LEN + HPKE_ENVELOPE_OVERHEAD ||
	    n > CMD_HEAD_LEN + CONTRACTS_COMMAND_MAX) {
		enclave_log(e, LOG_WARN, "contracts: %s: a command of %zu bytes refused", hid, n);
		return ENCLAVE_OK;
	}
	struct env_command_ctx ctx;
	memcpy(ctx.chain_id, e->chain_id, 32);
	memcpy(ctx.contract_id, c->id, 32);
	memcpy(ctx.sender, p, 32);
	memcpy(&ctx.nonce, p + 32, 8); /* u64 LE (codec) */
	struct cmd_receipt rc = {.nonce = ctx.nonce, .height = at.height};
	memcpy(rc.sender, p, 32);
	struct input in = {.from = {.kind = CONTRACT_FROM_ACCOUNT}};
	memcpy(in.from.id, p, 32);
	uint8_t pt[CONTRACTS_COMMAND_MAX];
	enum env_result er = env_command_open(COMMAND_AEAD, c->keys->hpke_sk, c->keys->hpke_pk,
	                                      &ctx, p + CMD_HEAD_LEN, n - CMD_HEAD_LEN, pt, &in.n);
	enum enclave_result r = ENCLAVE_OK;
	if (er != ENV_OK) {
		enclave_log(e, LOG_WARN, "contracts: %s: command refused: %s", hid,
		            env_strerror(er));
		rc.result = CONTRACT_NOT_OPENED;
	} else {
		in.p = pt;
		r = run(e, c, at, do_command, &in, "command", &rc);
	}
	if (r == ENCLAVE_OK)
		r = receipt_add(c, &rc);
	sodium_memzero(pt, sizeof(pt));
	sodium_memzero(&rc, sizeof(rc));
	return r;
}

static bool message_origin(const struct mq_origin *o, struct contract_origin *from)
{
	memset(from, 0, sizeof(*from));
	switch (o->kind) {
	case MQ_ORIGIN_CONTRACT:
		from->kind = CONTRACT_FROM_CONTRACT;
		break;
	case MQ_ORIGIN_WORKER:
		from->kind = CONTRACT_FROM_WORKER;
		break;
	case MQ_ORIGIN_MODULE:
		from->kind = CONTRACT_FROM_MODULE;
		memcpy(from->module, o->module, sizeof(from->module) - 1);
		return strlen(o->module) < sizeof(from->module);
	default:
		return false;
	}
	memcpy(from->id, o->id, 32);
	return true;
}

static enum enclave_result on_contract_message(struct enclave *e, struct contract_instance *c,
                                               struct clock at, const struct mq_message *m)
{
	char topic[MQ_TOPIC_MAX + 1];
	memcpy(topic, m->topic, m->topic_len);
	topic[m->topic_len] = '\0';
	struct input in = {.topic = topic, .p = m->payload, .n = m->payload_len};
	bool ok = message_origin(&m->origin, &in.from);
	assert(ok); /* input_kind took only usable origins */
	(void)ok;
	return run(e, c, at, do_message, &in, "message", NULL);
}

static bool from_contracts_module(const struct mq_message *m)
{
	return m->origin.kind == MQ_ORIGIN_MODULE && strcmp(m->origin.module, "contracts") == 0;
}

enum input_kind { INPUT_NONE, INPUT_COMMAND, INPUT_MESSAGE };

/* What m is for the contract host: a command ("contract/<id>/command" from the contracts module:
 * a signed sender relaying a copy of someone's command under its original sender and nonce
 * would otherwise replay it), a contract message ("contract/<id>/message" from a contract, a
 * module or a worker; gatekeeper and cluster origins are ignored), or nothing; id is set for the
 * first two. */
static enum input_kind input_kind(const struct mq_message *m, uint8_t id[32])
{
	size_t pre = strlen(TOPIC_PREFIX);
	if (m->topic_len < pre + ID_HEX_LEN + 1 || memcmp(m->topic, TOPIC_PREFIX, pre) != 0 ||
	    m->topic[pre + ID_HEX_LEN] != '/')
		return INPUT_NONE;
	char hex[ID_HEX_LEN + 1], canon[ID_HEX_LEN + 1];
	memcpy(hex, m->topic + pre, ID_HEX_LEN);
	hex[ID_HEX_LEN] = '\0';
	if (!hex_decode_exact(id, 32, hex) || strcmp(hex_encode(canon, id, 32), hex) != 0)
		return INPUT_NONE;
	const uint8_t *kind = m->topic + pre + ID_HEX_LEN + 1;
	size_t kn = m->topic_len - pre - ID_HEX_LEN - 1;
	struct contract_origin from;
	if (kn == 7 && memcmp(kind, "command", 7) == 0)
		return from_contracts_module(m) ? INPUT_COMMAND : INPUT_NONE;
	if (kn == 7 && memcmp(kind, "message", 7) == 0)
		return message_origin(&m->origin, &from) ? INPUT_MESSAGE : INPUT_NONE;
	return INPUT_NONE;
}

static enum enclave_result host_input(struct enclave *e, struct contract_instance *c,
                                      enum input_kind k, struct clock at,
                                      const struct mq_message *m)
{
	return k == INPUT_COMMAND ? on_command(e, c, at, m->payload, m->payload_len)
	                          : on_contract_message(e, c, at, m);
}

enum enclave_result enclave_contracts_on_message(struct enclave *e, const struct mq_message *m)
{
	if (m->topic_len == strlen(CONTRACTS_EVENT_TOPIC) &&
	    memcmp(m->topic, CONTRACTS_EVENT_TOPIC, m->topic_len) == 0)
		return from_contracts_module(m) ? on_deploy(e, m->payload, m->payload_len)
		                                : ENCLAVE_OK;
	uint8_t id[32];
	enum input_kind k = input_kind(m, id);
	if (k == INPUT_NONE)
		return ENCLAVE_OK;
	struct contract_instance *c = host_find(e->contracts, id);
	return c ? host_input(e, c, k, live(e), m) : enclave_backlog_input(e, id, m);
}

void enclave_contracts_on_block(struct enclave *e)
{
	struct contract_host *h = e->contracts;
	for (size_t i = 0; h && i < h->n && !e->failed; i++)
		if (h->v[i].code->on_block)
			(void)run(e, &h->v[i], live(e), do_block, NULL, "block", NULL);
}

/* ---- catch-up: contracts whose keys arrived late (enclave_backlog.c) ---------------------- */

static bool keys_ready(struct enclave *e, const uint8_t id[32], uint32_t cluster)
{
	struct contract_keys k;
	uint8_t hpke_pk[HPKE_PK_LEN], sign_pk[SIG_PK_LEN];
	bool ok = enclave_contract_keys(e, id, cluster, hpke_pk, k.hpke_sk, sign_pk, k.sign_sk);
	sodium_memzero(&k, sizeof(k));
	return ok;
}

/* The deploy: its instance, and its egress sequences the chain already took (the cluster's
 * other workers sent them) are not queued again. */
static enum enclave_result replay_deploy(struct enclave *e, const struct backlog_item *x)
{
	struct mq_origin o = {.kind = MQ_ORIGIN_CONTRACT};
	memcpy(o.id, x->id, 32);
	bool keyed = false;
	struct contract_instance *c = NULL;
	enum enclave_result r = host_open(e, x->id, x->cluster, x->code, &keyed, &c);
	assert(r != ENCLAVE_OK || keyed); /* keys_ready said so, and no key went since */
	/* The table of origins has a slot for every instance (max_contracts + 8): a refusal here is
	 * a broken invariant that only a restart can clear. */
	if (r == ENCLAVE_OK && sys_egress_acked(e, &o, x->acked) != ENCLAVE_OK)
		r = ENCLAVE_FAILED;
	char hid[17];
	log_id(hid, x->id);
	if (r == ENCLAVE_OK)
		enclave_log(e, LOG_INFO,
		            "contracts: hosting %s (code %s, cluster %u), rebuilt from block %llu",
		            hid, x->code->name, x->cluster, (unsigned long long)x->height);
	/* The deploy entry's message is deployer ‖ args (enclave_backlog_deploy). */
	if (r == ENCLAVE_OK)
		r = start(e, c, (struct clock){x->height, x->time_ms}, x->msg, x->msg + 32,
		          x->len - 32);
	return r;
}

static enum enclave_result replay_input(struct enclave *e, const struct backlog_item *x)
{
	struct mq_message m;
	uint8_t id[32];
	enum codec_result cr = mq_message_decode(&m, x->msg, x->len);
	assert(cr == CODEC_OK); /* the backlog holds what it encoded */
	(void)cr;
	enum input_kind k = input_kind(&m, id);
	struct contract_instance *c = host_find(e->contracts, id);
	assert(k != INPUT_NONE && c); /* its deploy came first */
	return host_input(e, c, k, (struct clock){x->height, x->time_ms}, &m);
}

/* The end of a past block: the hooks of the instances this replay created so far, from `first`
 * on (every other instance ran them then). */
static enum enclave_result replay_tick(struct enclave *e, const struct backlog_item *x,
                                       size_t first)
{
	struct contract_host *h = e->contracts;
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = first; h && i < h->n && r == ENCLAVE_OK; i++)
		if (h->v[i].code->on_block)
			r = run(e, &h->v[i], (struct clock){x->height, x->time_ms}, do_block, NULL,
			        "block", NULL);
	return r;
}

static enum enclave_result replay_one(struct enclave *e, const struct backlog_item *x, void *arg)
{
	const size_t *first = arg;
	switch (x->kind) {
	case BACKLOG_DEPLOY:
		return replay_deploy(e, x);
	case BACKLOG_INPUT:
		return replay_input(e, x);
	default:
		return replay_tick(e, x, *first);
	}
}

enum enclave_result enclave_contracts_catch_up(struct enclave *e, const struct mq_message *m)
{
	(void)m;
	uint32_t mine = e->sys->my_cluster;
	if (mine == UINT32_MAX || !enclave_backlog_waiting(e, mine))
		return ENCLAVE_OK;
	size_t first = enclave_contracts_count(e);
	enum enclave_result r = enclave_backlog_replay(e, keys_ready, replay_one, &first);
	if (r != ENCLAVE_OK) {
		enclave_log(e, LOG_ERROR, "contracts: catch-up failed (%s); stopping",
		            enclave_strerror(r));
		e->failed = true;
	}
	return r;
}

/* ---- queries (read-only; safe to run concurrently with each other) ----------------------- */

const struct contract_instance *enclave_contracts_find(const struct enclave *e,
                                                       const uint8_t id[32])
{
	return host_find(e->contracts, id);
}

const uint8_t *enclave_contracts_hpke_sk(const struct contract_instance *c)
{
	return c->keys->hpke_sk;
}

const uint8_t *enclave_contracts_hpke_pk(const struct contract_instance *c)
{
	return c->keys->hpke_pk;
}

/* The host's own queries (requests starting with 0x00): receipts, the asker's only. */
static enum contract_result host_query(const struct contract_instance *c, const uint8_t account[32],
                                       const uint8_t *req, size_t len, struct enc *resp)
{
	size_t pre = sizeof(CONTRACT_RECEIPT_QUERY) - 1;
	if (len != pre + 8 || memcmp(req, CONTRACT_RECEIPT_QUERY, pre) != 0)
		return CONTRACT_BAD_REQUEST;
	struct dec d;
	dec_init(&d, req + pre, 8);
	uint64_t nonce = dec_u64(&d);
	for (size_t i = c->n_receipts; i-- > 0;) { /* newest first */
		const struct cmd_receipt *r = receipt_at(c, i);
		if (r->nonce == nonce && sodium_memcmp(r->sender, account, 32) == 0) {
			enc_u64(resp, r->height);
			enc_u32(resp, r->result);
			enc_raw(resp, r->reply, r->reply_len);
			return CONTRACT_OK;
		}
	}
	return CONTRACT_NO_RECEIPT;
}

enum contract_result enclave_contracts_query(const struct enclave *e,
                                             const struct contract_instance *c,
                                             const uint8_t account[32], const uint8_t *req,
                                             size_t len, struct enc *resp)
{
	if (len > 0 && req[0] == 0x00)
		return host_query(c, account, req, len, resp);
	if (!c->code->on_query)
		return CONTRACT_NO_SUCH_CONTRACT;
	/* The env is non-const for the SDK's sake; read_only makes every writing service abort and
	 * contract_call reach only on_query, so nothing is written through these pointers. */
	struct contract_env env = {
	    (struct enclave *)e, live(e), (struct contract_instance *)c, true, 0, NULL, NULL, NULL};
	struct contract_origin from = {.kind = CONTRACT_FROM_ACCOUNT};
	memcpy(from.id, account, 32);
	return c->code->on_query(c->state, &env, &from, req, len, resp);
}

/* ---- checkpoint section ------------------------------------------------------------------ */

static enum enclave_result encode_one(const struct enclave *e, const struct contract_instance *c,
                                      struct enc *p)
{
	enc_raw(p, c->id, 32);
	enc_u32(p, c->cluster);
	enc_bytes(p, c->code->name, strlen(c->code->name));
	enc_raw(p, c->keys->hpke_sk, HPKE_SK_LEN);
	enc_raw(p, c->keys->sign_sk, SIG_SEED_LEN); /* the public half is re-derived */
	/* The snapshot is the contract's secret state: built in guarded memory, wiped after. */
	size_t cap = e->cfg.max_state_bytes;
	uint8_t *buf = sodium_malloc(cap ? cap : 1);
	if (!buf)
		return ENCLAVE_NOMEM;
	struct enc s;
	enc_init_fixed(&s, buf, cap);
	enum contract_result cr = c->code->snapshot(c->state, &s);
	enum enclave_result r = ENCLAVE_OK;
	if (cr == CONTRACT_NOMEM)
		r = ENCLAVE_NOMEM;
	else if (cr != CONTRACT_OK || enc_finish(&s) != CODEC_OK)
		r = ENCLAVE_TOO_LARGE;
	else
		enc_bytes(p, s.buf, s.len);
	sodium_free(buf);
	enc_uleb(p, c->n_receipts);
	for (size_t i = 0; i < c->n_receipts; i++) {
		const struct cmd_receipt *rc = receipt_at(c, i);
		enc_raw(p, rc->sender, 32);
		enc_u64(p, rc->nonce);
		enc_u64(p, rc->height);
		enc_u32(p, rc->result);
		enc_bytes(p, rc->reply, rc->reply_len);
	}
	return r;
}

enum enclave_result enclave_contracts_encode(const struct enclave *e, struct enc *p)
{
	const struct contract_host *h = e->contracts;
	size_t n = h ? h->n : 0;
	enc_u8(p, CKPT_SECTION);
	enc_uleb(p, n);
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < n && r == ENCLAVE_OK; i++)
		r = encode_one(e, &h->v[i], p);
	if (r == ENCLAVE_OK && enc_finish(p) != CODEC_OK)
		r = ENCLAVE_TOO_LARGE;
	return r;
}

static void decode_keys(struct dec *d, struct contract_instance *c)
{
	uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN];
	dec_raw(d, c->keys->hpke_sk, HPKE_SK_LEN);
	/* A clamped scalar never gives the identity: this cannot fail. */
	(void)crypto_scalarmult_curve25519_base(c->keys->hpke_pk, c->keys->hpke_sk);
	dec_raw(d, seed, sizeof(seed));
	sig_keypair_from_seed(pk, c->keys->sign_sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

static void decode_receipt(struct dec *d, struct contract_instance *c)
{
	struct cmd_receipt r = {0};
	size_t len = 0;
	dec_raw(d, r.sender, 32);
	r.nonce = dec_u64(d);
	r.height = dec_u64(d);
	r.result = dec_u32(d);
	const uint8_t *reply = dec_bytes(d, &len, CONTRACT_REPLY_MAX);
	if (reply) {
		memcpy(r.reply, reply, len);
		r.reply_len = (uint16_t)len;
	}
	if (d->err == CODEC_OK && receipt_add(c, &r) != ENCLAVE_OK)
		dec_fail(d, CODEC_NOMEM);
	sodium_memzero(&r, sizeof(r));
}

static void decode_one(struct enclave *e, struct dec *d)
{
	uint8_t id[32];
	size_t len = 0, sn = 0;
	dec_raw(d, id, 32);
	uint32_t cluster = dec_u32(d);
	const uint8_t *name = dec_bytes(d, &len, CONTRACTS_CODE_MAX);
	const struct contract_code *code = name ? enclave_code_by_name(e, name, len) : NULL;
	if (!code || host_find(e->contracts, id)) {
		dec_fail(d, CODEC_NONCANONICAL);
		return;
	}
	struct contract_instance *c;
	if (host_add(e, id, cluster, code, &c) != ENCLAVE_OK) {
		dec_fail(d, CODEC_TOO_LARGE);
		return;
	}
	decode_keys(d, c);
	const uint8_t *snap = dec_bytes(d, &sn, e->cfg.max_state_bytes);
	if (!snap || code->restore(c->state, snap, sn) != CONTRACT_OK)
		dec_fail(d, CODEC_NONCANONICAL);
	uint64_t n = dec_uleb(d, CONTRACT_RECEIPTS);
	for (uint64_t i = 0; i < n && d->err == CODEC_OK; i++)
		decode_receipt(d, c);
}

void enclave_contracts_decode(struct enclave *e, struct dec *d)
{
	if (dec_u8(d) != CKPT_SECTION)
		dec_fail(d, CODEC_NONCANONICAL);
	uint64_t n = dec_uleb(d, e->cfg.max_contracts);
	for (uint64_t i = 0; i < n && d->err == CODEC_OK; i++)
		decode_one(e, d);
}
