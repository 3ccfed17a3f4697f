/*
 * A test chain for the enclave's system side (test_gk.c, test_egress.c): enclaves on an in-test
 * platform, and a miniature chain that builds dev-chain blocks signed by alice (the dev genesis
 * validator) whose outbound messages the test chooses: registry and contract events from
 * module:registry / module:contracts, and the egress of enclaves, accepted as the chain's mq
 * module would (signature by the origin's key, the exact next sequence; "^registry/..." topics
 * consumed into the registry event the chain emits and mq's consumed notice, other topics
 * forwarded).
 */
#ifndef TN_TEST_SYSFIX_H
#define TN_TEST_SYSFIX_H

#include <stdlib.h>
#include <string.h>

#include "chain/contracts.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "check.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "enclave/enclave_int.h"

#define FIX_MAX_MSGS 64
#define FIX_MAX_SEQS 16

struct fix_platform {
	uint8_t measurement[32];
	uint8_t seal_key[32];
	uint64_t rand_counter;
	uint8_t rand_tag; /* distinct randomness per enclave */
};

static inline void fix_measurement(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct fix_platform *)ctx)->measurement, 32);
}

static inline int fix_seal_key(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct fix_platform *)ctx)->seal_key, 32);
	return 0;
}

static inline int fix_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out,
                             size_t cap, size_t *len)
{
	(void)ctx;
	(void)height;
	if (cap < 32)
		return -1;
	memcpy(out, rd, 32);
	*len = 32;
	return 0;
}

static inline void fix_random(void *ctx, uint8_t *buf, size_t n)
{
	struct fix_platform *tp = ctx;
	for (size_t i = 0; i < n; i += 32) {
		uint8_t in[9], h[32];
		uint64_t c = tp->rand_counter++;
		memcpy(in, &c, 8);
		in[8] = tp->rand_tag;
		hash_tagged(h, "test-random", in, sizeof(in));
		memcpy(buf + i, h, n - i < 32 ? n - i : 32);
	}
}

static inline void fix_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static inline struct enclave *fix_enclave(struct fix_platform *tp, size_t max_egress)
{
	struct enclave_platform p = {.ctx = tp,
	                             .backend = ENCLAVE_BACKEND_SIM,
	                             .measurement = fix_measurement,
	                             .seal_key = fix_seal_key,
	                             .attest = fix_attest,
	                             .random = fix_random,
	                             .log = fix_log};
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = max_egress, .max_state_bytes = 4 << 20};
	struct enclave *e = enclave_new(&p, &cfg);
	CHECK(e != NULL);
	return e;
}

/* A started enclave (keys from the platform) and restarts from a checkpoint. */
static inline void fix_start(struct enclave *e, const uint8_t *sealed, size_t len)
{
	char *g = genesis_dev_json(1000);
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), sealed, len) == ENCLAVE_OK);
	free(g);
}

struct fix_seq {
	struct mq_origin o;
	uint64_t next;
};

struct fix_chain {
	uint8_t chain_id[32];
	struct valset vs;
	uint8_t alice_sk[64];
	uint64_t height;
	uint8_t prev[32];
	uint64_t module_seq[3]; /* registry, contracts, mq */
	struct fix_seq seqs[FIX_MAX_SEQS];
	size_t n_seqs;
	uint8_t gks[8][32]; /* current gatekeepers, as the registry knows them */
	size_t n_gks;
	uint8_t *msgs[FIX_MAX_MSGS]; /* the next block's outbound messages */
	size_t lens[FIX_MAX_MSGS];
	size_t n_msgs;
};

static inline void fix_chain_init(struct fix_chain *c)
{
	memset(c, 0, sizeof(*c));
	char *g = genesis_dev_json(1000);
	struct genesis gen;
	char err[128];
	CHECK(genesis_parse(&gen, g, strlen(g), err, sizeof(err)) == GENESIS_OK);
	genesis_hash(c->chain_id, &gen);
	c->vs.n = 1;
	memcpy(c->vs.v[0].pub_key, gen.validators[0].public_key, 32);
	c->vs.v[0].power = gen.validators[0].power;
	genesis_release(&gen);
	free(g);
	uint8_t pk[32];
	CHECK(devkeys_keypair("alice", pk, c->alice_sk));
}

/* Appends a message's encoding to the next block. */
static inline void fix_out(struct fix_chain *c, const struct mq_message *m)
{
	CHECK(c->n_msgs < FIX_MAX_MSGS);
	struct enc e;
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, m);
	CHECK(enc_finish(&e) == CODEC_OK);
	c->msgs[c->n_msgs] = e.buf;
	c->lens[c->n_msgs++] = e.len;
}

/* A message from module:<module> on topic (which: 0 registry, 1 contracts, 2 mq). */
static inline void fix_module_msg(struct fix_chain *c, int which, const char *topic,
                                  const uint8_t *p, size_t n)
{
	struct mq_message m = {.topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = n,
	                       .sequence = c->module_seq[which]++};
	m.origin.kind = MQ_ORIGIN_MODULE;
	static const char *const names[] = {"registry", "contracts", MQ_MODULE_NAME};
	strcpy(m.origin.module, names[which]);
	fix_out(c, &m);
}

/* A registry event: kind ‖ body. */
static inline void fix_event(struct fix_chain *c, uint8_t kind, const uint8_t *body, size_t n)
{
	uint8_t p[1 + 256];
	CHECK(n <= 256);
	p[0] = kind;
	memcpy(p + 1, body, n);
	fix_module_msg(c, 0, REGISTRY_EVENT_TOPIC, p, n + 1);
}

static inline void fix_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Who an enclave is, as its registration says. */
struct fix_worker {
	uint8_t id[32];
	uint8_t hpke[32];
};

static inline void fix_identity(struct enclave *e, struct fix_worker *w)
{
	struct enclave_registration reg;
	uint8_t op[32] = {7};
	CHECK(enclave_registration(e, op, &reg) == ENCLAVE_OK);
	memcpy(w->id, reg.identity, 32);
	memcpy(w->hpke, reg.hpke_pk, 32);
}

static inline void fix_ev_registered(struct fix_chain *c, const struct fix_worker *w)
{
	struct registry_worker r = {.backend = ENCLAVE_BACKEND_SIM, .confidence_level = 1};
	memcpy(r.identity, w->id, 32);
	memcpy(r.hpke_pk, w->hpke, 32);
	r.registered_height = r.updated_height = c->height + 1;
	uint8_t b[REGISTRY_WORKER_LEN];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	registry_worker_encode(&e, &r);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == sizeof(b));
	fix_event(c, REGISTRY_EV_WORKER_REGISTERED, b, sizeof(b));
}

static inline void fix_ev_gk_added(struct fix_chain *c, const struct fix_worker *w)
{
	uint8_t b[64];
	memcpy(b, w->id, 32);
	memcpy(b + 32, w->hpke, 32);
	memcpy(c->gks[c->n_gks++], w->id, 32);
	fix_event(c, REGISTRY_EV_GATEKEEPER_ADDED, b, sizeof(b));
}

static inline void fix_ev_cluster(struct fix_chain *c, uint32_t cluster)
{
	uint8_t b[4];
	fix_put_u32(b, cluster);
	fix_event(c, REGISTRY_EV_CLUSTER_CREATED, b, sizeof(b));
}

static inline void fix_ev_assigned(struct fix_chain *c, const struct fix_worker *w,
                                   uint32_t cluster)
{
	uint8_t b[68];
	memcpy(b, w->id, 32);
	memcpy(b + 32, w->hpke, 32);
	fix_put_u32(b + 64, cluster);
	fix_event(c, REGISTRY_EV_WORKER_ASSIGNED, b, sizeof(b));
}

static inline void fix_ev_rotation(struct fix_chain *c, uint32_t epoch)
{
	uint8_t b[4];
	fix_put_u32(b, epoch);
	fix_event(c, REGISTRY_EV_MASTER_KEY_ROTATION, b, sizeof(b));
}

/* contracts.deploy of `code` in cluster; the contract id is returned in id. */
static inline void fix_deploy(struct fix_chain *c, uint32_t cluster, const char *code,
                              uint8_t id[32])
{
	uint8_t deployer[32] = {0xde}, salt[1] = {(uint8_t)c->height};
	contracts_id(id, deployer, cluster, code, salt, sizeof(salt));
	uint8_t p[1 + 32 + 4 + 32 + 1 + CONTRACTS_CODE_MAX];
	struct enc e;
	enc_init_fixed(&e, p, sizeof(p));
	enc_u8(&e, CONTRACTS_EV_DEPLOYED);
	enc_raw(&e, id, 32);
	enc_u32(&e, cluster);
	enc_raw(&e, deployer, 32);
	enc_bytes(&e, code, strlen(code));
	CHECK(enc_finish(&e) == CODEC_OK);
	fix_module_msg(c, 1, CONTRACTS_EVENT_TOPIC, p, e.len);
}

/* The feed of the next block with the queued messages (out: a growable encoder the caller
 * releases); the chain moves on to it. */
static inline void fix_block_feed(struct fix_chain *c, struct enc *out)
{
	struct block_feed f;
	memset(&f, 0, sizeof(f));
	f.header.version = HEADER_VERSION;
	f.header.height = ++c->height;
	f.header.time_ms = GENESIS_DEV_TIME_MS + c->height * 1000;
	memcpy(f.header.chain_id, c->chain_id, 32);
	memcpy(f.header.prev_hash, c->prev, 32);
	valset_hash(f.header.validators_hash, &c->vs);
	memcpy(f.header.next_validators_hash, f.header.validators_hash, 32);
	f.msgs = (const uint8_t **)c->msgs;
	f.msg_lens = c->lens;
	f.n_msgs = c->n_msgs;
	block_msgs_root(f.header.msgs_root, f.msgs, f.msg_lens, f.n_msgs);
	header_hash(c->prev, &f.header);
	commit_init(&f.commit, c->height, 0, c->prev, 1);
	commit_sign(&f.commit, 0, c->chain_id, c->alice_sk);
	enc_init(out, FEED_MAX_BYTES);
	block_feed_encode(out, &f);
	CHECK(enc_finish(out) == CODEC_OK);
	for (size_t i = 0; i < c->n_msgs; i++)
		free(c->msgs[i]);
	c->n_msgs = 0;
}

/* The next block, fed to every enclave of es (NULL entries skipped). */
static inline void fix_block(struct fix_chain *c, struct enclave **es, size_t n)
{
	struct enc out;
	fix_block_feed(c, &out);
	for (size_t i = 0; i < n; i++) {
		char err[256] = "";
		if (es[i] &&
		    enclave_feed_block(es[i], out.buf, out.len, err, sizeof(err)) != ENCLAVE_OK) {
			fprintf(stderr, "feed: %s\n", err);
			CHECK(0);
		}
	}
	enc_release(&out);
}

/* The chain's sequence slot of an origin (gatekeepers share one). */
static inline uint64_t *fix_seq(struct fix_chain *c, const struct mq_origin *o)
{
	for (size_t i = 0; i < c->n_seqs; i++) {
		const struct mq_origin *s = &c->seqs[i].o;
		if (s->kind == o->kind &&
		    (o->kind == MQ_ORIGIN_GATEKEEPER || memcmp(s->id, o->id, 32) == 0))
			return &c->seqs[i].next;
	}
	CHECK(c->n_seqs < FIX_MAX_SEQS);
	c->seqs[c->n_seqs].o = *o;
	c->seqs[c->n_seqs].next = 0;
	return &c->seqs[c->n_seqs++].next;
}

/* mq's notice that it consumed m, with the consumer's result (0: applied). */
static inline void fix_notice(struct fix_chain *c, const struct mq_message *m, uint32_t result)
{
	struct mq_consumed n = {m->origin, m->sequence, m->topic, m->topic_len, result};
	uint8_t b[256];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	mq_consumed_encode(&e, &n);
	CHECK(enc_finish(&e) == CODEC_OK);
	fix_module_msg(c, 2, MQ_CONSUMED_TOPIC, b, e.len);
}

/* What the registry emits when it consumes a gatekeeper's "^registry/..." message (every
 * publication is applied here), then mq's notice. */
static inline void fix_consume(struct fix_chain *c, const struct mq_message *m)
{
	static const struct {
		const char *topic;
		uint8_t ev;
	} consumers[] = {{REGISTRY_TOPIC_MASTER_KEY, REGISTRY_EV_MASTER_KEY},
	                 {REGISTRY_TOPIC_CLUSTER_KEY, REGISTRY_EV_CLUSTER_KEY},
	                 {REGISTRY_TOPIC_CONTRACT_KEY, REGISTRY_EV_CONTRACT_KEY}};
	for (size_t i = 0; i < 3; i++)
		if (m->topic_len == strlen(consumers[i].topic) &&
		    memcmp(m->topic, consumers[i].topic, m->topic_len) == 0)
			fix_event(c, consumers[i].ev, m->payload, m->payload_len);
	fix_notice(c, m, 0);
}

/* Whether the chain would take this signed message now: a gatekeeper or worker origin signed by
 * its identity (a gatekeeper must be a current one; contract and cluster origins are taken on
 * trust here), the exact next sequence. */
static inline bool fix_accept(struct fix_chain *c, const struct mq_message *m, const uint8_t *sig)
{
	if (m->origin.kind == MQ_ORIGIN_GATEKEEPER || m->origin.kind == MQ_ORIGIN_WORKER) {
		uint8_t h[32];
		mq_signing_hash(h, c->chain_id, m);
		if (!sig_verify(sig, h, 32, m->origin.id))
			return false;
	}
	if (m->origin.kind == MQ_ORIGIN_GATEKEEPER) {
		bool gk = false;
		for (size_t i = 0; i < c->n_gks; i++)
			gk |= memcmp(c->gks[i], m->origin.id, 32) == 0;
		if (!gk)
			return false;
	}
	uint64_t *next = fix_seq(c, &m->origin);
	if (m->sequence != *next)
		return false;
	++*next;
	if (m->topic[0] == MQ_CONSUMED_PREFIX)
		fix_consume(c, m);
	else
		fix_out(c, m);
	return true;
}

/* The host's job: submits the enclave's pending egress to the chain; returns how many the chain
 * took (the rest are duplicates or out of order). */
static inline size_t fix_submit(struct fix_chain *c, struct enclave *e)
{
	struct enc out;
	enc_init(&out, 1 << 24);
	CHECK(enclave_egress(e, 1000, &out) == ENCLAVE_OK);
	struct dec d;
	dec_init(&d, out.buf, out.len);
	size_t n = (size_t)dec_uleb(&d, 1000), taken = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *b = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		CHECK(b && len > 64 && mq_message_decode(&m, b, len - 64) == CODEC_OK);
		if (b && len > 64)
			taken += fix_accept(c, &m, b + len - 64);
	}
	CHECK(dec_finish(&d) == CODEC_OK);
	enc_release(&out);
	return taken;
}

/* The pending egress of e, decoded: up to max messages (borrowing from *out, which the caller
 * releases) and their signatures. */
static inline size_t fix_egress(struct enclave *e, struct enc *out, struct mq_message *msgs,
                                const uint8_t **sigs, size_t max)
{
	enc_init(out, 1 << 24);
	CHECK(enclave_egress(e, max, out) == ENCLAVE_OK);
	struct dec d;
	dec_init(&d, out->buf, out->len);
	size_t n = (size_t)dec_uleb(&d, max);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const uint8_t *b = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		CHECK(b && len > 64 && mq_message_decode(&msgs[i], b, len - 64) == CODEC_OK);
		if (sigs)
			sigs[i] = b + len - 64;
	}
	CHECK(dec_finish(&d) == CODEC_OK);
	return n;
}

static inline bool fix_topic_is(const struct mq_message *m, const char *topic)
{
	return m->topic_len == strlen(topic) && memcmp(m->topic, topic, m->topic_len) == 0;
}

#endif
