/*
 * Message queue module (id 4): signed messages relayed by any account, per-sender sequences, the
 * consumers of '^' topics and the block's outbound list. API and formats: chain/mq.h and
 * docs/protocol/runtime.md "Message queue".
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_int.h"
#include "chain/feed.h"
#include "chain/merkle.h"
#include "chain/registry_int.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define PUSH_WEIGHT   (MQ_PUSH_MAX * 60000)
#define SEQ_KEY_MAX   (sizeof(MQ_SEQ_PREFIX) - 1 + 1 + MQ_MODULE_NAME_MAX)
#define OUT_KEY_LEN   (sizeof(MQ_OUT_PREFIX) - 1 + 4)
#define OUT_COUNT_LEN (4 + 8)

/* ---- encoding ---- */

static bool has_id(uint8_t kind)
{
	return kind == MQ_ORIGIN_WORKER || kind == MQ_ORIGIN_CONTRACT ||
	       kind == MQ_ORIGIN_GATEKEEPER;
}

void mq_origin_encode(struct enc *e, const struct mq_origin *o)
{
	enc_u8(e, o->kind);
	if (has_id(o->kind))
		enc_raw(e, o->id, 32);
	else if (o->kind == MQ_ORIGIN_CLUSTER)
		enc_u32(e, o->cluster);
	else
		enc_bytes(e, o->module, strlen(o->module));
}

void mq_message_encode(struct enc *e, const struct mq_message *m)
{
	mq_origin_encode(e, &m->origin);
	enc_bytes(e, m->topic, m->topic_len);
	enc_bytes(e, m->payload, m->payload_len);
	enc_u64(e, m->sequence);
}

static bool module_name_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > MQ_MODULE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

static bool topic_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > MQ_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

static void origin_read(struct dec *d, struct mq_origin *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = dec_u8(d);
	if (has_id(o->kind)) {
		dec_raw(d, o->id, 32);
	} else if (o->kind == MQ_ORIGIN_CLUSTER) {
		o->cluster = dec_u32(d);
	} else if (o->kind == MQ_ORIGIN_MODULE) {
		size_t n = 0;
		const uint8_t *s = dec_bytes(d, &n, MQ_MODULE_NAME_MAX);
		if (s && !module_name_ok(s, n))
			dec_fail(d, CODEC_NONCANONICAL);
		else if (s)
			memcpy(o->module, s, n);
	} else {
		dec_fail(d, CODEC_NONCANONICAL);
	}
}

void mq_message_read(struct dec *d, struct mq_message *m)
{
	memset(m, 0, sizeof(*m));
	origin_read(d, &m->origin);
	m->topic = dec_bytes(d, &m->topic_len, MQ_TOPIC_MAX);
	if (m->topic && !topic_ok(m->topic, m->topic_len))
		dec_fail(d, CODEC_NONCANONICAL);
	m->payload = dec_bytes(d, &m->payload_len, MQ_PAYLOAD_MAX);
	m->sequence = dec_u64(d);
}

enum codec_result mq_message_decode(struct mq_message *m, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	mq_message_read(&d, m);
	return dec_finish(&d);
}

void mq_consumed_encode(struct enc *e, const struct mq_consumed *c)
{
	mq_origin_encode(e, &c->origin);
	enc_u64(e, c->sequence);
	enc_bytes(e, c->topic, c->topic_len);
	enc_u32(e, c->result);
}

enum codec_result mq_consumed_decode(struct mq_consumed *c, const uint8_t *b, size_t n)
{
	struct dec d;
	memset(c, 0, sizeof(*c));
	dec_init(&d, b, n);
	origin_read(&d, &c->origin);
	c->sequence = dec_u64(&d);
	c->topic = dec_bytes(&d, &c->topic_len, MQ_TOPIC_MAX);
	if (c->topic && !topic_ok(c->topic, c->topic_len))
		dec_fail(&d, CODEC_NONCANONICAL);
	c->result = dec_u32(&d);
	return dec_finish(&d);
}

/* hash_tagged(MQ_SIGN_TAG, chain_id ‖ msg[0..n)). */
static void signing_hash_bytes(uint8_t out[32], const uint8_t chain_id[32], const uint8_t *msg,
                               size_t n)
{
	struct hash_state h;
	hash_init_tagged(&h, MQ_SIGN_TAG);
	hash_update(&h, chain_id, 32);
	hash_update(&h, msg, n);
	hash_final(&h, out);
}

/* Encodes m into a fresh growable encoder e (the caller releases it); CODEC_OK, or an error when
 * allocation failed. */
static enum codec_result encode_message(struct enc *e, const struct mq_message *m)
{
	enc_init(e, MQ_MESSAGE_MAX);
	mq_message_encode(e, m);
	return enc_finish(e);
}

void mq_signing_hash(uint8_t out[32], const uint8_t chain_id[32], const struct mq_message *m)
{
	struct enc e;
	enum codec_result r = encode_message(&e, m);
	assert(r == CODEC_OK); /* a message within the caps always encodes */
	signing_hash_bytes(out, chain_id, e.buf, e.len);
	enc_release(&e);
}

void mq_sign_encode(struct enc *e, const uint8_t chain_id[32], const struct mq_message *m,
                    const uint8_t sk[64])
{
	uint8_t h[32], sig[64];
	mq_signing_hash(h, chain_id, m);
	sig_sign(sig, h, sizeof(h), sk);
	mq_message_encode(e, m);
	enc_raw(e, sig, sizeof(sig));
}

/* ---- sequences ---- */

static size_t seq_key(uint8_t key[SEQ_KEY_MAX], const struct mq_origin *o)
{
	size_t n = sizeof(MQ_SEQ_PREFIX) - 1;
	memcpy(key, MQ_SEQ_PREFIX, n);
	key[n++] = o->kind;
	if (o->kind == MQ_ORIGIN_WORKER || o->kind == MQ_ORIGIN_CONTRACT) {
		memcpy(key + n, o->id, 32);
		n += 32;
	} else if (o->kind == MQ_ORIGIN_CLUSTER) {
		registry_be32(key + n, o->cluster);
		n += 4;
	} else if (o->kind == MQ_ORIGIN_MODULE) {
		size_t len = strlen(o->module);
		memcpy(key + n, o->module, len);
		n += len;
	} /* gatekeepers share one sequence: the kind alone */
	return n;
}

static enum codec_result decode_u64(void *out, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	*(uint64_t *)out = dec_u64(&d);
	return dec_finish(&d);
}

int mq_next_sequence(const struct state_reader *r, const struct mq_origin *o, uint64_t *seq)
{
	uint8_t key[SEQ_KEY_MAX];
	*seq = 0;
	return registry_read(r, key, seq_key(key, o), decode_u64, seq);
}

static enum tx_result load_seq(struct state_overlay *o, const struct mq_origin *origin,
                               uint64_t *seq)
{
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	return mq_next_sequence(&rd, origin, seq) < 0 ? TX_STORAGE : TX_OK;
}

static enum tx_result store_seq(struct state_overlay *o, const struct mq_origin *origin,
                                uint64_t seq)
{
	uint8_t key[SEQ_KEY_MAX], val[8];
	for (int i = 0; i < 8; i++)
		val[i] = (uint8_t)(seq >> (8 * i));
	return runtime_put(o, key, seq_key(key, origin), val, sizeof(val));
}

/* ---- the block's outbound list ---- */

struct out_count {
	uint32_t n;
	uint64_t bytes;
};

static enum codec_result decode_out_count(void *out, const uint8_t *b, size_t n)
{
	struct out_count *c = out;
	struct dec d;
	dec_init(&d, b, n);
	c->n = dec_u32(&d);
	c->bytes = dec_u64(&d);
	return dec_finish(&d);
}

static int out_count_get(struct state_overlay *o, struct out_count *c)
{
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	memset(c, 0, sizeof(*c));
	return registry_read(&rd, MQ_OUT_COUNT_KEY, strlen(MQ_OUT_COUNT_KEY), decode_out_count, c);
}

static size_t out_key(uint8_t key[OUT_KEY_LEN], uint32_t i)
{
	return registry_key_u32(key, MQ_OUT_PREFIX, i);
}

long mq_outbound_count(struct state_overlay *o)
{
	struct out_count c;
	return out_count_get(o, &c) < 0 ? -1 : (long)c.n;
}

/* Appends one message encoding; TX_STATE_FULL when the block's caps would be passed. */
static enum tx_result outbound_append(struct state_overlay *o, const uint8_t *msg, size_t n)
{
	struct out_count c;
	uint8_t key[OUT_KEY_LEN], val[OUT_COUNT_LEN];
	if (out_count_get(o, &c) < 0)
		return TX_STORAGE;
	if (c.n >= MQ_BLOCK_MAX_MSGS || c.bytes + n > MQ_BLOCK_MAX_BYTES)
		return TX_STATE_FULL;
	enum tx_result r = runtime_put(o, key, out_key(key, c.n), msg, n);
	struct enc e;
	enc_init_fixed(&e, val, sizeof(val));
	enc_u32(&e, c.n + 1);
	enc_u64(&e, c.bytes + n);
	assert(enc_finish(&e) == CODEC_OK);
	return r == TX_OK ? runtime_put(o, MQ_OUT_COUNT_KEY, strlen(MQ_OUT_COUNT_KEY), val, e.len)
	                  : r;
}

enum tx_result mq_emit(struct state_overlay *o, const char *module, const char *topic,
                       const void *payload, size_t len)
{
	struct mq_message m = {.topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = payload,
	                       .payload_len = len};
	struct enc e;
	m.origin.kind = MQ_ORIGIN_MODULE;
	assert(module_name_ok((const uint8_t *)module, strlen(module)) &&
	       topic_ok(m.topic, m.topic_len) && topic[0] != MQ_CONSUMED_PREFIX &&
	       len <= MQ_PAYLOAD_MAX);
	memcpy(m.origin.module, module, strlen(module) + 1);
	enum tx_result r = load_seq(o, &m.origin, &m.sequence);
	if (r != TX_OK)
		return r;
	if (encode_message(&e, &m) != CODEC_OK)
		r = TX_NOMEM;
	else if ((r = outbound_append(o, e.buf, e.len)) == TX_OK)
		r = store_seq(o, &m.origin, m.sequence + 1);
	enc_release(&e);
	return r;
}

enum state_result mq_block_finish(struct state_overlay *o, struct enc *out, uint8_t root[32])
{
	struct out_count c;
	struct merkle_builder mb;
	uint8_t key[OUT_KEY_LEN], leaf[32];
	if (out_count_get(o, &c) < 0)
		return STATE_STORAGE;
	merkle_builder_init(&mb);
	enc_uleb(out, c.n);
	for (uint32_t i = 0; i < c.n; i++) {
		const uint8_t *v;
		size_t n;
		if (state_overlay_get(o, key, out_key(key, i), &v, &n) != 1)
			return STATE_STORAGE;
		enc_bytes(out, v, n);
		merkle_leaf(leaf, v, n);
		merkle_builder_push(&mb, leaf);
	}
	if (enc_finish(out) != CODEC_OK)
		return STATE_NOMEM;
	merkle_builder_root(&mb, root);
	enum state_result r = STATE_OK;
	for (uint32_t i = 0; i < c.n && r == STATE_OK; i++)
		r = state_overlay_delete(o, key, out_key(key, i));
	if (r == STATE_OK && c.n)
		r = state_overlay_delete(o, (const uint8_t *)MQ_OUT_COUNT_KEY,
		                         strlen(MQ_OUT_COUNT_KEY));
	return r;
}

static enum codec_result mq_item_check(const uint8_t *item, size_t len)
{
	struct mq_message m;
	return mq_message_decode(&m, item, len) == CODEC_OK ? CODEC_OK : CODEC_NONCANONICAL;
}

enum codec_result mq_list_root(const uint8_t *b, size_t n, size_t *count, uint8_t root[32])
{
	/* The same list decoder and root as a block feed's messages (chain/feed.h). */
	struct dec d;
	const uint8_t **items;
	size_t *lens;
	dec_init(&d, b, n);
	block_dec_list(&d, MQ_BLOCK_MAX_MSGS, MQ_MESSAGE_MAX, mq_item_check, &items, &lens, count);
	enum codec_result r = dec_finish(&d);
	if (r == CODEC_OK)
		block_msgs_root(root, items, lens, *count);
	free(items);
	free(lens);
	return r;
}

/* ---- mq.push ---- */

/* One signed message of a push: the message (borrowed) and where its encoding lies. */
struct signed_msg {
	struct mq_message m;
	const uint8_t *bytes; /* the message encoding (without the signature) */
	size_t len;
	const uint8_t *sig;
};

/* Reads the next signed message of a push payload; false when d failed. */
static bool read_signed(struct dec *d, struct signed_msg *s)
{
	size_t start = d->pos;
	mq_message_read(d, &s->m);
	s->bytes = d->p + start;
	s->len = d->pos - start;
	s->sig = dec_view(d, SIG_LEN);
	return d->err == CODEC_OK;
}

/* Checks the whole payload's shape. */
static enum tx_result push_validate(const struct tx *tx)
{
	struct dec d;
	struct signed_msg s;
	dec_init(&d, tx->payload, tx->payload_len);
	size_t n = (size_t)dec_uleb(&d, MQ_PUSH_MAX);
	if (d.err == CODEC_OK && n == 0)
		dec_fail(&d, CODEC_NONCANONICAL);
	for (size_t i = 0; i < n; i++)
		if (!read_signed(&d, &s))
			break;
	return dec_finish(&d) == CODEC_OK ? TX_OK : TX_BAD_PAYLOAD;
}

/* The sender's key signed s, and *next is the sender's next sequence in r. */
static enum tx_result authenticate(const struct runtime_params *p, const struct state_reader *r,
                                   const struct signed_msg *s, uint64_t *next)
{
	uint8_t pk[32], h[32];
	if (s->m.origin.kind == MQ_ORIGIN_MODULE)
		return TX_CALL_MQ_BAD_ORIGIN;
	enum tx_result res = registry_origin_key(r, &s->m.origin, pk);
	if (res != TX_OK)
		return res;
	signing_hash_bytes(h, p->chain_id, s->bytes, s->len);
	if (!sig_verify(s->sig, h, sizeof(h), pk))
		return TX_CALL_MQ_BAD_SIGNATURE;
	return mq_next_sequence(r, &s->m.origin, next) < 0 ? TX_STORAGE : TX_OK;
}

/* Every message must be signed by its sender and not already consumed, so a relayer's stale
 * resubmission or a forged message is refused instead of paying a fee for a call that fails. A
 * sequence above the sender's next passes: earlier messages may wait in the pool, and execution
 * checks the exact order. */
static enum tx_result push_admit(const struct runtime_params *p, const struct state_reader *r,
                                 const struct tx *tx, struct tx_check *c)
{
	(void)c;
	struct dec d;
	struct signed_msg s;
	uint64_t next;
	enum tx_result res = TX_OK;
	dec_init(&d, tx->payload, tx->payload_len);
	size_t n = (size_t)dec_uleb(&d, MQ_PUSH_MAX);
	for (size_t i = 0; i < n && res == TX_OK; i++) {
		if (!read_signed(&d, &s))
			return TX_BAD_PAYLOAD;
		if ((res = authenticate(p, r, &s, &next)) == TX_OK && s.m.sequence < next)
			res = TX_CALL_MQ_WRONG_SEQUENCE;
	}
	return res;
}

struct consumer {
	const char *topic;
	enum tx_result (*consume)(struct runtime_ctx *c, const struct mq_message *m);
};

static const struct consumer consumers[] = {
    {REGISTRY_TOPIC_MASTER_KEY, registry_on_master_key},
    {REGISTRY_TOPIC_CLUSTER_KEY, registry_on_cluster_key},
    {REGISTRY_TOPIC_CONTRACT_KEY, registry_on_contract_key},
    {CONTRACTS_TOPIC_WITHDRAW, contracts_on_withdraw},
};

static enum tx_result run_consumer(struct runtime_ctx *c, const struct mq_message *m)
{
	for (size_t i = 0; i < sizeof(consumers) / sizeof(consumers[0]); i++)
		if (strlen(consumers[i].topic) == m->topic_len &&
		    memcmp(consumers[i].topic, m->topic, m->topic_len) == 0)
			return consumers[i].consume(c, m);
	return TX_CALL_MQ_UNKNOWN_TOPIC;
}

/* Hands m to its consumer in a savepoint: a refusal (a call error) reverts the consumer's writes
 * but not m's sequence, and is recorded in the consumed notice like a success. Only node errors
 * (storage, a full block) escape. */
static enum tx_result consume(struct runtime_ctx *c, const struct mq_message *m)
{
	state_overlay_savepoint(c->overlay);
	enum tx_result r = run_consumer(c, m);
	if (r == TX_OK) {
		state_overlay_release_savepoint(c->overlay);
	} else {
		state_overlay_rollback(c->overlay);
		if (!tx_result_is_call_error(r))
			return r;
	}
	uint8_t buf[1 + 32 + 8 + 2 + MQ_TOPIC_MAX + 4];
	struct enc e;
	struct mq_consumed n = {m->origin, m->sequence, m->topic, m->topic_len, (uint32_t)r};
	enc_init_fixed(&e, buf, sizeof(buf));
	mq_consumed_encode(&e, &n);
	assert(enc_finish(&e) == CODEC_OK); /* the buffer holds the largest notice */
	return mq_emit(c->overlay, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, buf, e.len);
}

static enum tx_result deliver(struct runtime_ctx *c, const struct signed_msg *s)
{
	if (s->m.topic[0] != MQ_CONSUMED_PREFIX)
		return outbound_append(c->overlay, s->bytes, s->len);
	return consume(c, &s->m);
}

/* Authenticates, sequences and delivers one message. */
static enum tx_result accept_one(struct runtime_ctx *c, const struct signed_msg *s)
{
	struct state_reader rd;
	uint64_t next;
	state_overlay_reader(c->overlay, &rd);
	enum tx_result r = authenticate(c->params, &rd, s, &next);
	if (r != TX_OK)
		return r;
	if (s->m.sequence != next || next == UINT64_MAX)
		return TX_CALL_MQ_WRONG_SEQUENCE;
	if ((r = store_seq(c->overlay, &s->m.origin, next + 1)) != TX_OK)
		return r;
	return deliver(c, s);
}

static enum tx_result push_apply(struct runtime_ctx *c)
{
	struct dec d;
	struct signed_msg s;
	enum tx_result r = TX_OK;
	dec_init(&d, c->tx->payload, c->tx->payload_len);
	size_t n = (size_t)dec_uleb(&d, MQ_PUSH_MAX);
	for (size_t i = 0; i < n && r == TX_OK; i++)
		r = read_signed(&d, &s) ? accept_one(c, &s) : TX_BAD_PAYLOAD;
	return r;
}

static const struct runtime_call mq_calls[] = {
    {MQ_FN_PUSH, "mq.push", PUSH_WEIGHT, push_validate, push_admit, push_apply},
};

const struct runtime_module mq_module = {
    RUNTIME_MODULE_MQ,
    "mq",
    mq_calls,
    sizeof(mq_calls) / sizeof(mq_calls[0]),
};
