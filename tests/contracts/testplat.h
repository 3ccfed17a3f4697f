/*
 * The in-test enclave platform and dev chain, shared by the enclave's unit tests
 * (tests/unit/enclave), the contract harness (harness.h), the enclave fuzz targets and
 * bench/query: a platform with a chosen measurement and sealing key and a reproducible random
 * stream, and the dev chain as an enclave sees it, whose blocks (signed by alice, the dev genesis
 * validator) carry the outbound messages a test chooses.
 *
 * Everything is `static inline` so each includer takes only what it uses. A helper that cannot
 * do its job (a message that does not encode, a full block, an egress list that does not decode)
 * aborts with a line on stderr: that is a broken test or enclave, not a result to check.
 */
#ifndef TN_TESTS_CONTRACTS_TESTPLAT_H
#define TN_TESTS_CONTRACTS_TESTPLAT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "chain/contracts.h"
#include "enclave/contract.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "enclave/enclave.h"

#define TESTPLAT_FAIL(what)                                                                        \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: testplat: %s\n", __FILE__, __LINE__, what);                \
		abort();                                                                           \
	} while (0)

/* ---- platform ---------------------------------------------------------------------------- */

struct testplat {
	uint8_t measurement[32];
	uint8_t seal_key[32];
	uint64_t rand_counter; /* atomic: queries call random concurrently */
	uint64_t rand_stream;  /* distinguishes two enclaves' randomness */
	int logs;              /* lines logged (atomic) */
	int quiet;             /* never print log lines, even with TESTPLAT_LOG set */
};

static inline void testplat_measurement(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct testplat *)ctx)->measurement, 32);
}

static inline int testplat_seal_key(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct testplat *)ctx)->seal_key, 32);
	return 0;
}

/* A report that is just the report data and height: the chain side is tested in chain/. */
static inline int testplat_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out,
                                  size_t cap, size_t *len)
{
	(void)ctx;
	if (cap < 40)
		return -1;
	memcpy(out, rd, 32);
	memcpy(out + 32, &height, 8);
	*len = 40;
	return 0;
}

/* Reproducible (a hash of stream and counter), thread-safe. Also a client's envelope rng. */
static inline void testplat_random(void *ctx, uint8_t *buf, size_t n)
{
	struct testplat *p = ctx;
	for (size_t i = 0; i < n; i += 32) {
		uint64_t in[2] = {p->rand_stream,
		                  __atomic_fetch_add(&p->rand_counter, 1, __ATOMIC_RELAXED)};
		uint8_t h[32];
		hash_tagged(h, "test-random", in, sizeof(in));
		memcpy(buf + i, h, n - i < 32 ? n - i : 32);
	}
}

static inline void testplat_log(void *ctx, int level, const char *line)
{
	struct testplat *p = ctx;
	__atomic_fetch_add(&p->logs, 1, __ATOMIC_RELAXED);
	if (!p->quiet && getenv("TESTPLAT_LOG"))
		fprintf(stderr, "enclave[%d]: %s\n", level, line);
}

/* A new enclave on platform p (which must outlive it). */
static inline struct enclave *testplat_enclave(struct testplat *p, const struct enclave_config *cfg)
{
	struct enclave_platform t = {.ctx = p,
	                             .backend = ENCLAVE_BACKEND_SIM,
	                             .measurement = testplat_measurement,
	                             .seal_key = testplat_seal_key,
	                             .attest = testplat_attest,
	                             .random = testplat_random,
	                             .log = testplat_log};
	struct enclave *e = enclave_new(&t, cfg);
	if (!e)
		TESTPLAT_FAIL("enclave_new");
	return e;
}

/* enclave_start on the dev genesis, from sealed[0..len) if len. */
static inline enum enclave_result testplat_start(struct enclave *e, const uint8_t *sealed,
                                                 size_t len)
{
	char *g = genesis_dev_json(1000);
	if (!g)
		TESTPLAT_FAIL("dev genesis");
	enum enclave_result r = enclave_start(e, (const uint8_t *)g, strlen(g), sealed, len);
	free(g);
	return r;
}

/* A new enclave on p, started on the dev chain: fresh, or (from not NULL) restored from a
 * checkpoint of from. */
static inline struct enclave *testplat_started(struct testplat *p, const struct enclave_config *cfg,
                                               struct enclave *from)
{
	struct enclave *e = testplat_enclave(p, cfg);
	struct enc ck;
	enc_init(&ck, 64 << 20);
	if (from && enclave_checkpoint(from, &ck) != ENCLAVE_OK)
		TESTPLAT_FAIL("enclave_checkpoint");
	if (testplat_start(e, from ? ck.buf : NULL, ck.len) != ENCLAVE_OK)
		TESTPLAT_FAIL("enclave_start");
	enc_release(&ck);
	return e;
}

/* ---- the chain ---------------------------------------------------------------------------- */

#define TESTPLAT_MAX_MSGS 64

/* The dev chain as the enclave sees it: alice signs every block. */
struct testplat_chain {
	uint8_t chain_id[32];
	struct valset vs;
	uint8_t alice_sk[64];
	uint64_t height;
	uint8_t prev[32];
	uint64_t module_seq[4]; /* module:registry, module:contracts, module:mq, any other module */
	uint8_t *msgs[TESTPLAT_MAX_MSGS]; /* the next block's outbound messages, encoded */
	size_t lens[TESTPLAT_MAX_MSGS];
	size_t n_msgs;
};

static inline void testplat_chain_init(struct testplat_chain *c)
{
	memset(c, 0, sizeof(*c));
	char *js = genesis_dev_json(1000);
	struct genesis g;
	char err[128];
	if (!js || genesis_parse(&g, js, strlen(js), err, sizeof(err)) != GENESIS_OK)
		TESTPLAT_FAIL("dev genesis");
	genesis_hash(c->chain_id, &g);
	c->vs.n = 1;
	memcpy(c->vs.v[0].pub_key, g.validators[0].public_key, 32);
	c->vs.v[0].power = g.validators[0].power;
	genesis_release(&g);
	free(js);
	uint8_t pk[32];
	if (!devkeys_keypair("alice", pk, c->alice_sk))
		TESTPLAT_FAIL("alice");
}

/* Drops the messages queued for a block that was never built. */
static inline void testplat_chain_release(struct testplat_chain *c)
{
	for (size_t i = 0; i < c->n_msgs; i++)
		free(c->msgs[i]);
	c->n_msgs = 0;
}

/* Queues message m, with the sequence it carries, for the next block. */
static inline void testplat_queue(struct testplat_chain *c, const struct mq_message *m)
{
	if (c->n_msgs == TESTPLAT_MAX_MSGS)
		TESTPLAT_FAIL("too many messages in one block");
	struct enc e;
	enc_init(&e, MQ_MESSAGE_MAX);
	mq_message_encode(&e, m);
	if (enc_finish(&e) != CODEC_OK)
		TESTPLAT_FAIL("message encoding");
	c->msgs[c->n_msgs] = e.buf;
	c->lens[c->n_msgs++] = e.len;
}

/* Queues a message from module:<module> on topic, with that module's next sequence. */
static inline void testplat_module_msg(struct testplat_chain *c, const char *module,
                                       const char *topic, const uint8_t *p, size_t n)
{
	static const char *const names[] = {"registry", "contracts", MQ_MODULE_NAME};
	size_t slot = 0;
	while (slot < 3 && strcmp(module, names[slot]) != 0)
		slot++;
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_MODULE},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = p,
	                       .payload_len = n,
	                       .sequence = c->module_seq[slot]++};
	strcpy(m.origin.module, module);
	testplat_queue(c, &m);
}

/* A registry event: kind ‖ body. */
static inline void testplat_registry_event(struct testplat_chain *c, uint8_t kind, const void *body,
                                           size_t n)
{
	uint8_t p[1 + 256];
	if (n >= sizeof(p))
		TESTPLAT_FAIL("registry event");
	p[0] = kind;
	memcpy(p + 1, body, n);
	testplat_module_msg(c, "registry", REGISTRY_EVENT_TOPIC, p, n + 1);
}

/* A contracts.deploy of `code` by deployer in cluster with deploy arguments args[0..n); the
 * contract id is written to id. */
static inline void testplat_deploy_args(struct testplat_chain *c, const uint8_t deployer[32],
                                        uint32_t cluster, const char *code, uint8_t salt,
                                        const uint8_t *args, size_t n, uint8_t id[32])
{
	contracts_id(id, deployer, cluster, code, &salt, 1);
	uint8_t ev[1 + 32 + 4 + 32 + 1 + CONTRACTS_CODE_MAX + 2 + CONTRACT_ARGS_MAX];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, CONTRACTS_EV_DEPLOYED);
	enc_raw(&e, id, 32);
	enc_u32(&e, cluster);
	enc_raw(&e, deployer, 32);
	enc_bytes(&e, code, strlen(code));
	enc_bytes(&e, args, n);
	if (enc_finish(&e) != CODEC_OK)
		TESTPLAT_FAIL("deploy event");
	testplat_module_msg(c, "contracts", CONTRACTS_EVENT_TOPIC, ev, e.len);
}

/* testplat_deploy_args with no arguments. */
static inline void testplat_deploy(struct testplat_chain *c, const uint8_t deployer[32],
                                   uint32_t cluster, const char *code, uint8_t salt, uint8_t id[32])
{
	testplat_deploy_args(c, deployer, cluster, code, salt, NULL, 0, id);
}

/* mq's notice that it consumed m, with the consumer's result (0: applied). */
static inline void testplat_notice(struct testplat_chain *c, const struct mq_message *m,
                                   uint32_t result)
{
	struct mq_consumed n = {m->origin, m->sequence, m->topic, m->topic_len, result};
	uint8_t b[256];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	mq_consumed_encode(&e, &n);
	if (enc_finish(&e) != CODEC_OK)
		TESTPLAT_FAIL("consumed notice");
	testplat_module_msg(c, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, b, e.len);
}

/* If m is a gatekeeper's "^registry/<kind>" publication, queues the registry event the registry
 * emits when it consumes it (its body is m's payload) and returns true. */
static inline bool testplat_publication(struct testplat_chain *c, const struct mq_message *m)
{
	static const struct {
		const char *topic;
		uint8_t kind;
	} pubs[] = {{REGISTRY_TOPIC_MASTER_KEY, REGISTRY_EV_MASTER_KEY},
	            {REGISTRY_TOPIC_CLUSTER_KEY, REGISTRY_EV_CLUSTER_KEY},
	            {REGISTRY_TOPIC_CONTRACT_KEY, REGISTRY_EV_CONTRACT_KEY}};
	for (size_t k = 0; k < sizeof(pubs) / sizeof(pubs[0]); k++)
		if (m->topic_len == strlen(pubs[k].topic) &&
		    memcmp(m->topic, pubs[k].topic, m->topic_len) == 0) {
			testplat_registry_event(c, pubs[k].kind, m->payload, m->payload_len);
			return true;
		}
	return false;
}

/* The feed of the next block with the queued messages (out: a growable encoder the caller
 * releases); the chain moves on to it and the queue is emptied. */
static inline void testplat_feed(struct testplat_chain *c, struct enc *out)
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
	if (enc_finish(out) != CODEC_OK)
		TESTPLAT_FAIL("feed encoding");
	testplat_chain_release(c);
}

/* Builds the next block and feeds it to each of the n enclaves of es (NULL entries skipped);
 * returns the first error, whose reason goes to stderr. */
static inline enum enclave_result testplat_block(struct testplat_chain *c, struct enclave **es,
                                                 size_t n)
{
	struct enc f;
	testplat_feed(c, &f);
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < n; i++) {
		char err[256] = "";
		enum enclave_result ri =
		    es[i] ? enclave_feed_block(es[i], f.buf, f.len, err, sizeof(err)) : ENCLAVE_OK;
		if (ri != ENCLAVE_OK && r == ENCLAVE_OK) {
			r = ri;
			fprintf(stderr, "testplat: feed refused: %s\n", err);
		}
	}
	enc_release(&f);
	return r;
}

/* ---- registry events about workers ---------------------------------------------------------- */

static inline void testplat_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Who an enclave is, as its registration says. */
struct testplat_worker {
	uint8_t id[32];
	uint8_t hpke[32];
};

static inline void testplat_identity(struct enclave *e, struct testplat_worker *w)
{
	struct enclave_registration reg;
	uint8_t op[32] = {7};
	if (enclave_registration(e, op, &reg) != ENCLAVE_OK)
		TESTPLAT_FAIL("registration");
	memcpy(w->id, reg.identity, 32);
	memcpy(w->hpke, reg.hpke_pk, 32);
}

static inline void testplat_ev_registered(struct testplat_chain *c, const struct testplat_worker *w)
{
	struct registry_worker r = {.backend = ENCLAVE_BACKEND_SIM, .confidence_level = 1};
	memcpy(r.identity, w->id, 32);
	memcpy(r.hpke_pk, w->hpke, 32);
	r.registered_height = r.updated_height = c->height + 1;
	uint8_t b[REGISTRY_WORKER_LEN];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	registry_worker_encode(&e, &r);
	if (enc_finish(&e) != CODEC_OK || e.len != sizeof(b))
		TESTPLAT_FAIL("worker record");
	testplat_registry_event(c, REGISTRY_EV_WORKER_REGISTERED, b, sizeof(b));
}

static inline void testplat_ev_gk_added(struct testplat_chain *c, const struct testplat_worker *w)
{
	uint8_t b[64];
	memcpy(b, w->id, 32);
	memcpy(b + 32, w->hpke, 32);
	testplat_registry_event(c, REGISTRY_EV_GATEKEEPER_ADDED, b, sizeof(b));
}

static inline void testplat_ev_cluster(struct testplat_chain *c, uint32_t cluster)
{
	uint8_t b[4];
	testplat_put_u32(b, cluster);
	testplat_registry_event(c, REGISTRY_EV_CLUSTER_CREATED, b, sizeof(b));
}

static inline void testplat_ev_assigned(struct testplat_chain *c, const struct testplat_worker *w,
                                        uint32_t cluster)
{
	uint8_t b[68];
	memcpy(b, w->id, 32);
	memcpy(b + 32, w->hpke, 32);
	testplat_put_u32(b + 64, cluster);
	testplat_registry_event(c, REGISTRY_EV_WORKER_ASSIGNED, b, sizeof(b));
}

/* ---- egress ---------------------------------------------------------------------------------- */

/* Reading an enclave's pending egress list: each entry is an encoded message ‖ its signature. */
struct testplat_egress {
	struct enc out; /* the list; the current message borrows from it */
	struct dec d;
	uint64_t left;
	struct mq_message m; /* the current entry: its message, signature and bytes */
	const uint8_t *sig;
	const uint8_t *entry;
	size_t entry_len;
};

/* Fetches up to max of e's pending messages; release with testplat_egress_end. */
static inline void testplat_egress_begin(struct testplat_egress *it, struct enclave *e, size_t max)
{
	enc_init(&it->out, 1 << 24);
	if (enclave_egress(e, max, &it->out) != ENCLAVE_OK)
		TESTPLAT_FAIL("enclave_egress");
	dec_init(&it->d, it->out.buf, it->out.len);
	it->left = dec_uleb(&it->d, max);
}

/* Moves to the next entry; false after the last one. */
static inline bool testplat_egress_next(struct testplat_egress *it)
{
	if (!it->left) {
		if (dec_finish(&it->d) != CODEC_OK)
			TESTPLAT_FAIL("egress list");
		return false;
	}
	it->left--;
	it->entry = dec_bytes(&it->d, &it->entry_len, MQ_MESSAGE_MAX + 64);
	if (!it->entry || it->entry_len <= 64 ||
	    mq_message_decode(&it->m, it->entry, it->entry_len - 64) != CODEC_OK)
		TESTPLAT_FAIL("egress message");
	it->sig = it->entry + it->entry_len - 64;
	return true;
}

static inline void testplat_egress_end(struct testplat_egress *it)
{
	enc_release(&it->out);
}

static inline bool testplat_topic_is(const struct mq_message *m, const char *topic)
{
	return m->topic_len == strlen(topic) && memcmp(m->topic, topic, m->topic_len) == 0;
}

#endif
