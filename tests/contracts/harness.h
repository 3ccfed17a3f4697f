/*
 * Test harness for the contract host (tests/unit/enclave/test_contracts.c, test_query.c,
 * fuzz/enclave/fuzz_enclave_query.c, bench/query.c): an in-test platform, a dev chain whose
 * blocks (signed by alice, the dev genesis validator) carry the outbound messages a test
 * chooses, and the client side of commands and queries.
 *
 * Everything is `static inline` so each includer takes only what it uses.
 */
#ifndef TN_TESTS_CONTRACTS_HARNESS_H
#define TN_TESTS_CONTRACTS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "chain/contracts.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "crypto/devkeys.h"
#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "enclave/enclave.h"

#ifndef HARNESS_FAIL
#define HARNESS_FAIL(what)                                                                         \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: harness: %s\n", __FILE__, __LINE__, what);                 \
		abort();                                                                           \
	} while (0)
#endif

/* ---- platform ---------------------------------------------------------------------------- */

struct harness_platform {
	uint8_t measurement[32];
	uint8_t seal_key[32];
	uint64_t rand_counter; /* atomic: queries call random concurrently */
	uint64_t rand_stream;  /* distinguishes two enclaves' randomness */
	int logs;
	int quiet; /* do not print log lines */
};

static inline void harness_measurement(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct harness_platform *)ctx)->measurement, 32);
}

static inline int harness_seal_key(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct harness_platform *)ctx)->seal_key, 32);
	return 0;
}

static inline int harness_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out,
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

/* Reproducible (a hash of stream and counter), thread-safe. */
static inline void harness_random(void *ctx, uint8_t *buf, size_t n)
{
	struct harness_platform *p = ctx;
	for (size_t i = 0; i < n; i += 32) {
		uint64_t in[2] = {p->rand_stream,
		                  __atomic_fetch_add(&p->rand_counter, 1, __ATOMIC_RELAXED)};
		uint8_t h[32];
		hash_tagged(h, "test-random", in, sizeof(in));
		memcpy(buf + i, h, n - i < 32 ? n - i : 32);
	}
}

static inline void harness_log(void *ctx, int level, const char *line)
{
	struct harness_platform *p = ctx;
	__atomic_fetch_add(&p->logs, 1, __ATOMIC_RELAXED);
	if (!p->quiet && getenv("HARNESS_LOG"))
		fprintf(stderr, "enclave[%d]: %s\n", level, line);
}

static inline struct enclave_platform harness_platform_table(struct harness_platform *p)
{
	struct enclave_platform t = {.ctx = p,
	                             .backend = ENCLAVE_BACKEND_SIM,
	                             .measurement = harness_measurement,
	                             .seal_key = harness_seal_key,
	                             .attest = harness_attest,
	                             .random = harness_random,
	                             .log = harness_log};
	return t;
}

/* ---- the chain ---------------------------------------------------------------------------- */

#define HARNESS_BLOCK_MAX_MSGS 64

/* The dev chain as the enclave sees it: alice signs every block. */
struct harness_chain {
	char *genesis;
	uint8_t chain_id[32];
	struct valset vs;
	uint8_t alice_sk[64];
	uint64_t height;
	uint8_t prev[32];
	uint64_t contracts_seq; /* sequences of module:contracts, module:registry, module:mq */
	uint64_t registry_seq;
	uint64_t mq_seq;
	/* the next block's outbound messages (encoded) */
	struct enc msgs[HARNESS_BLOCK_MAX_MSGS];
	size_t n_msgs;
};

static inline void harness_chain_init(struct harness_chain *c)
{
	memset(c, 0, sizeof(*c));
	c->genesis = genesis_dev_json(1000);
	struct genesis g;
	char err[128];
	if (genesis_parse(&g, c->genesis, strlen(c->genesis), err, sizeof(err)) != GENESIS_OK)
		HARNESS_FAIL(err);
	genesis_hash(c->chain_id, &g);
	c->vs.n = 1;
	memcpy(c->vs.v[0].pub_key, g.validators[0].public_key, 32);
	c->vs.v[0].power = g.validators[0].power;
	genesis_release(&g);
	uint8_t pk[32];
	if (!devkeys_keypair("alice", pk, c->alice_sk))
		HARNESS_FAIL("alice");
}

static inline void harness_chain_release(struct harness_chain *c)
{
	for (size_t i = 0; i < c->n_msgs; i++)
		enc_release(&c->msgs[i]);
	free(c->genesis);
}

static inline enum enclave_result harness_start(struct enclave *e, struct harness_chain *c,
                                                const uint8_t *sealed, size_t sealed_len)
{
	return enclave_start(e, (const uint8_t *)c->genesis, strlen(c->genesis), sealed,
	                     sealed_len);
}

/* Queues message m for the next block (a module message gets its module's next sequence here;
 * any other keeps the one it carries). */
static inline void harness_queue(struct harness_chain *c, struct mq_message *m)
{
	if (c->n_msgs == HARNESS_BLOCK_MAX_MSGS)
		HARNESS_FAIL("too many messages in one block");
	if (m->origin.kind == MQ_ORIGIN_MODULE)
		m->sequence = strcmp(m->origin.module, "registry") == 0       ? c->registry_seq++
		              : strcmp(m->origin.module, MQ_MODULE_NAME) == 0 ? c->mq_seq++
		                                                              : c->contracts_seq++;
	struct enc *e = &c->msgs[c->n_msgs++];
	enc_init(e, MQ_MESSAGE_MAX);
	mq_message_encode(e, m);
	if (enc_finish(e) != CODEC_OK)
		HARNESS_FAIL("message encoding");
}

static inline void harness_module_message(struct harness_chain *c, const char *module,
                                          const char *topic, const uint8_t *payload, size_t len)
{
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_MODULE},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = payload,
	                       .payload_len = len};
	strcpy(m.origin.module, module);
	harness_queue(c, &m);
}

/* A contracts.deploy of `code` by deployer in cluster; the contract id is written to id. */
static inline void harness_deploy(struct harness_chain *c, const uint8_t deployer[32],
                                  uint32_t cluster, const char *code, uint8_t salt, uint8_t id[32])
{
	contracts_id(id, deployer, cluster, code, &salt, 1);
	uint8_t ev[1 + 32 + 4 + 32 + 1 + CONTRACTS_CODE_MAX];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, CONTRACTS_EV_DEPLOYED);
	enc_raw(&e, id, 32);
	enc_u32(&e, cluster);
	enc_raw(&e, deployer, 32);
	enc_bytes(&e, code, strlen(code));
	if (enc_finish(&e) != CODEC_OK)
		HARNESS_FAIL("deploy event");
	harness_module_message(c, "contracts", CONTRACTS_EVENT_TOPIC, ev, e.len);
}

/* What contracts.push_command emits for tx (sender, nonce) carrying envelope ct. */
static inline void harness_command_message(struct harness_chain *c, const uint8_t id[32],
                                           const uint8_t sender[32], uint64_t nonce,
                                           const uint8_t *ct, size_t n)
{
	struct enc e;
	enc_init(&e, 32 + 8 + CONTRACTS_COMMAND_MAX + 64);
	enc_raw(&e, sender, 32);
	enc_u64(&e, nonce);
	enc_raw(&e, ct, n);
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_command_topic(topic, id);
	harness_module_message(c, "contracts", topic, e.buf, e.len);
	enc_release(&e);
}

/* The feed of the next block with the queued messages; clears the queue. */
static inline void harness_next_feed(struct harness_chain *c, struct enc *out)
{
	struct block_feed f;
	const uint8_t *msgs[HARNESS_BLOCK_MAX_MSGS];
	size_t lens[HARNESS_BLOCK_MAX_MSGS];
	for (size_t i = 0; i < c->n_msgs; i++) {
		msgs[i] = c->msgs[i].buf;
		lens[i] = c->msgs[i].len;
	}
	memset(&f, 0, sizeof(f));
	f.header.version = HEADER_VERSION;
	f.header.height = ++c->height;
	f.header.time_ms = GENESIS_DEV_TIME_MS + c->height * 1000;
	memcpy(f.header.chain_id, c->chain_id, 32);
	memcpy(f.header.prev_hash, c->prev, 32);
	valset_hash(f.header.validators_hash, &c->vs);
	memcpy(f.header.next_validators_hash, f.header.validators_hash, 32);
	block_msgs_root(f.header.msgs_root, msgs, lens, c->n_msgs);
	header_hash(c->prev, &f.header);
	commit_init(&f.commit, c->height, 0, c->prev, 1);
	commit_sign(&f.commit, 0, c->chain_id, c->alice_sk);
	f.n_msgs = c->n_msgs;
	f.msgs = msgs;
	f.msg_lens = lens;
	enc_init(out, FEED_MAX_BYTES);
	block_feed_encode(out, &f);
	if (enc_finish(out) != CODEC_OK)
		HARNESS_FAIL("feed encoding");
	for (size_t i = 0; i < c->n_msgs; i++)
		enc_release(&c->msgs[i]);
	c->n_msgs = 0;
}

/* Builds the next block and feeds it to each of the n enclaves; returns the first error. */
static inline enum enclave_result harness_block(struct harness_chain *c, struct enclave **es,
                                                size_t n)
{
	struct enc f;
	harness_next_feed(c, &f);
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < n; i++) {
		char err[256];
		enum enclave_result ri = enclave_feed_block(es[i], f.buf, f.len, err, sizeof(err));
		if (ri != ENCLAVE_OK && r == ENCLAVE_OK) {
			r = ri;
			fprintf(stderr, "harness: feed refused: %s\n", err);
		}
	}
	enc_release(&f);
	return r;
}

/* ---- keys: the gatekeeper protocol run for real ---------------------------------------------- */

static inline void harness_registry_event(struct harness_chain *c, uint8_t kind, const void *body,
                                          size_t len)
{
	uint8_t ev[1 + 256];
	if (len >= sizeof(ev))
		HARNESS_FAIL("registry event");
	ev[0] = kind;
	memcpy(ev + 1, body, len);
	harness_module_message(c, "registry", REGISTRY_EVENT_TOPIC, ev, 1 + len);
}

/* Relays es[0]'s pending egress whose topic starts with `prefix` into the next block, as the
 * chain would deliver it after mq.push. Returns the count. */
static inline size_t harness_relay(struct harness_chain *c, struct enclave *e, const char *prefix)
{
	struct enc out;
	enc_init(&out, 1 << 22);
	if (enclave_egress(e, 1024, &out) != ENCLAVE_OK)
		HARNESS_FAIL("enclave_egress");
	struct dec d;
	dec_init(&d, out.buf, out.len);
	uint64_t n = dec_uleb(&d, 1024), relayed = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len = 0;
		const uint8_t *sm = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		if (!sm || len < 64 || mq_message_decode(&m, sm, len - 64) != CODEC_OK)
			HARNESS_FAIL("egress message");
		if (m.topic_len >= strlen(prefix) && memcmp(m.topic, prefix, strlen(prefix)) == 0) {
			harness_queue(c, &m);
			relayed++;
		}
	}
	enc_release(&out);
	return (size_t)relayed;
}

/* What the registry and mq modules do with the gatekeeper's pending "^registry/<kind>" messages:
 * each becomes a registry event whose body is the message's payload, then mq's notice that it
 * consumed the message. Returns the count. */
static inline size_t harness_publish(struct harness_chain *c, struct enclave *e)
{
	static const struct {
		const char *topic;
		uint8_t kind;
	} pubs[] = {{REGISTRY_TOPIC_MASTER_KEY, REGISTRY_EV_MASTER_KEY},
	            {REGISTRY_TOPIC_CLUSTER_KEY, REGISTRY_EV_CLUSTER_KEY},
	            {REGISTRY_TOPIC_CONTRACT_KEY, REGISTRY_EV_CONTRACT_KEY}};
	struct enc out;
	enc_init(&out, 1 << 22);
	if (enclave_egress(e, 1024, &out) != ENCLAVE_OK)
		HARNESS_FAIL("enclave_egress");
	struct dec d;
	dec_init(&d, out.buf, out.len);
	uint64_t n = dec_uleb(&d, 1024);
	size_t published = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len = 0;
		const uint8_t *sm = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		if (!sm || len < 64 || mq_message_decode(&m, sm, len - 64) != CODEC_OK)
			HARNESS_FAIL("egress message");
		for (size_t k = 0; k < sizeof(pubs) / sizeof(pubs[0]); k++)
			if (m.topic_len == strlen(pubs[k].topic) &&
			    memcmp(m.topic, pubs[k].topic, m.topic_len) == 0) {
				harness_registry_event(c, pubs[k].kind, m.payload, m.payload_len);
				struct mq_consumed nc = {m.origin, m.sequence, m.topic, m.topic_len,
				                         0};
				uint8_t nb[256];
				struct enc ne;
				enc_init_fixed(&ne, nb, sizeof(nb));
				mq_consumed_encode(&ne, &nc);
				if (enc_finish(&ne) != CODEC_OK)
					HARNESS_FAIL("consumed notice");
				harness_module_message(c, MQ_MODULE_NAME, MQ_CONSUMED_TOPIC, nb,
				                       ne.len);
				published++;
			}
	}
	enc_release(&out);
	return published;
}

/* Queues the registration of e and its assignment to `cluster` for the next block. */
static inline void harness_register_assign(struct harness_chain *c, struct enclave *e,
                                           uint32_t cluster)
{
	uint8_t op[32] = {0};
	struct enclave_registration reg;
	if (enclave_registration(e, op, &reg) != ENCLAVE_OK)
		HARNESS_FAIL("registration");
	struct registry_worker w = {.backend = ENCLAVE_BACKEND_SIM, .confidence_level = 1};
	memcpy(w.identity, reg.identity, 32);
	memcpy(w.hpke_pk, reg.hpke_pk, 32);
	uint8_t rec[REGISTRY_WORKER_LEN], b[68];
	struct enc re;
	enc_init_fixed(&re, rec, sizeof(rec));
	registry_worker_encode(&re, &w);
	harness_registry_event(c, REGISTRY_EV_WORKER_REGISTERED, rec, re.len);
	memcpy(b, reg.identity, 32);
	memcpy(b + 32, reg.hpke_pk, 32);
	memcpy(b + 64, &cluster, 4);
	harness_registry_event(c, REGISTRY_EV_WORKER_ASSIGNED, b, 68);
}

/* Registers es[0..assigned), elects es[0] the first gatekeeper, creates `cluster` and assigns
 * them to it, then delivers the cluster key shares es[0] sends; all n enclaves follow the
 * blocks (es[assigned..n) are not registered: workers that join later). Afterwards es[0..
 * assigned) hold the cluster key, and contracts deployed in `cluster` get keys. Two blocks. */
static inline void harness_provision_some(struct harness_chain *c, struct enclave **es, size_t n,
                                          size_t assigned, uint32_t cluster)
{
	uint8_t op[32] = {0}, b[64];
	struct enclave_registration gk;
	if (assigned < 1 || assigned > n || enclave_registration(es[0], op, &gk) != ENCLAVE_OK)
		HARNESS_FAIL("provisioning");
	memcpy(b, &cluster, 4);
	harness_registry_event(c, REGISTRY_EV_CLUSTER_CREATED, b, 4);
	for (size_t i = 0; i < assigned; i++)
		harness_register_assign(c, es[i], cluster);
	memcpy(b, gk.identity, 32);
	memcpy(b + 32, gk.hpke_pk, 32);
	harness_registry_event(c, REGISTRY_EV_GATEKEEPER_ADDED, b, 64);
	if (harness_block(c, es, n) != ENCLAVE_OK)
		HARNESS_FAIL("provisioning block");
	harness_publish(c, es[0]);
	harness_relay(c, es[0], "worker/");
	if (harness_block(c, es, n) != ENCLAVE_OK)
		HARNESS_FAIL("key share block");
}

/* Registers every es[i] (at most 4), elects es[0] the first gatekeeper, creates `cluster` and
 * assigns them all to it, then delivers the cluster key shares es[0] sends: afterwards every
 * es[i] holds the cluster key, and contracts deployed in `cluster` get keys. Two blocks. */
static inline void harness_provision(struct harness_chain *c, struct enclave **es, size_t n,
                                     uint32_t cluster)
{
	harness_provision_some(c, es, n, n, cluster);
}

/* The public keys of contract id as the gatekeeper es[0] publishes them (its pending
 * "^registry/contract-key" message). */
static inline void harness_contract_keys(struct enclave *e, const uint8_t id[32],
                                         uint8_t hpke_pk[32], uint8_t sign_pk[32])
{
	struct enc out;
	enc_init(&out, 1 << 22);
	if (enclave_egress(e, 1024, &out) != ENCLAVE_OK)
		HARNESS_FAIL("enclave_egress");
	struct dec d;
	dec_init(&d, out.buf, out.len);
	uint64_t n = dec_uleb(&d, 1024);
	bool found = false;
	for (uint64_t i = 0; i < n && !found; i++) {
		size_t len = 0;
		const uint8_t *sm = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		if (!sm || len < 64 || mq_message_decode(&m, sm, len - 64) != CODEC_OK)
			HARNESS_FAIL("egress message");
		const char *t = REGISTRY_TOPIC_CONTRACT_KEY;
		if (m.topic_len == strlen(t) && memcmp(m.topic, t, m.topic_len) == 0 &&
		    m.payload_len == 104 && memcmp(m.payload, id, 32) == 0) {
			memcpy(hpke_pk, m.payload + 40, 32);
			memcpy(sign_pk, m.payload + 72, 32);
			found = true;
		}
	}
	enc_release(&out);
	if (!found)
		HARNESS_FAIL("no published contract key");
}

/* ---- client side ---------------------------------------------------------------------------- */

static inline void harness_rng(void *ctx, uint8_t *buf, size_t n)
{
	harness_random(ctx, buf, n);
}

/* The envelope a client puts in contracts.push_command (ChaCha20-Poly1305). out holds
 * n + HPKE_ENVELOPE_OVERHEAD bytes. */
static inline void harness_seal_command(struct harness_platform *rng, const struct harness_chain *c,
                                        const uint8_t pk[32], const uint8_t id[32],
                                        const uint8_t sender[32], uint64_t nonce, const char *cmd,
                                        uint8_t *out)
{
	struct env_command_ctx ctx;
	memcpy(ctx.chain_id, c->chain_id, 32);
	memcpy(ctx.contract_id, id, 32);
	memcpy(ctx.sender, sender, 32);
	ctx.nonce = nonce;
	if (env_command_seal(HPKE_AEAD_CHACHA20POLY1305, pk, &ctx, (const uint8_t *)cmd,
	                     strlen(cmd), harness_rng, rng, out) != ENV_OK)
		HARNESS_FAIL("command seal");
}

/* Seals and queues a command from dev account `who` with tx nonce. */
static inline void harness_command(struct harness_chain *c, struct harness_platform *rng,
                                   const uint8_t pk[32], const uint8_t id[32], const char *who,
                                   uint64_t nonce, const char *cmd)
{
	uint8_t apk[32], ask[64], ct[256];
	if (!devkeys_keypair(who, apk, ask) || strlen(cmd) + HPKE_ENVELOPE_OVERHEAD > sizeof(ct))
		HARNESS_FAIL("command");
	harness_seal_command(rng, c, pk, id, apk, nonce, cmd, ct);
	harness_command_message(c, id, apk, nonce, ct, strlen(cmd) + HPKE_ENVELOPE_OVERHEAD);
}

/* A query from dev account `who` (signed by its key) valid until `expiry`, for request
 * req[0..len). out holds env_query_len(len, false) bytes. */
static inline size_t harness_seal_query_n(struct harness_platform *rng,
                                          const struct harness_chain *c, const uint8_t pk[32],
                                          const uint8_t id[32], const char *who, uint64_t expiry,
                                          const uint8_t *req, size_t len, uint8_t *out,
                                          struct env_query_client *keep)
{
	uint8_t apk[32], ask[64];
	if (!devkeys_keypair(who, apk, ask))
		HARNESS_FAIL("query signer");
	struct env_signer s = {.sk = ask, .cert = NULL};
	size_t n;
	if (env_query_seal(HPKE_AEAD_CHACHA20POLY1305, pk, c->chain_id, id, expiry, &s, req, len,
	                   harness_rng, rng, out, &n, keep) != ENV_OK)
		HARNESS_FAIL("query seal");
	return n;
}

/* The same for a text request. */
static inline size_t harness_seal_query(struct harness_platform *rng, const struct harness_chain *c,
                                        const uint8_t pk[32], const uint8_t id[32], const char *who,
                                        uint64_t expiry, const char *req, uint8_t *out,
                                        struct env_query_client *keep)
{
	return harness_seal_query_n(rng, c, pk, id, who, expiry, (const uint8_t *)req, strlen(req),
	                            out, keep);
}

/* A session query (HPKE auth mode, docs/protocol/envelopes.md "Session queries") from dev
 * account `who` through the X25519 session key pair (session_pk, session_sk) that it certifies
 * until block cert_expiry, valid until `expiry`, for the text request req. The certificate is
 * deterministic (Ed25519), so every query of one session carries the same one. out holds
 * env_query_len(strlen(req), ENV_AUTH_SESSION_HPKE) bytes. */
static inline size_t harness_seal_session_query(struct harness_platform *rng,
                                                const struct harness_chain *c, const uint8_t pk[32],
                                                const uint8_t id[32], const char *who,
                                                const uint8_t session_pk[32],
                                                const uint8_t session_sk[32], uint64_t cert_expiry,
                                                uint64_t expiry, const char *req, uint8_t *out,
                                                struct env_query_client *keep)
{
	uint8_t apk[32], ask[64];
	if (!devkeys_keypair(who, apk, ask))
		HARNESS_FAIL("session account");
	struct env_cert cert;
	env_cert_sign(&cert, ENV_CERT_X25519, c->chain_id, ask, session_pk, cert_expiry);
	struct env_signer s = {.sk = session_sk, .cert = &cert};
	size_t n;
	if (env_query_seal(HPKE_AEAD_CHACHA20POLY1305, pk, c->chain_id, id, expiry, &s,
	                   (const uint8_t *)req, strlen(req), harness_rng, rng, out, &n,
	                   keep) != ENV_OK)
		HARNESS_FAIL("session query seal");
	return n;
}

/* Opens an answer: *result = the contract's result, body[0..*len) its bytes. false if the answer
 * does not open or is shorter than the result. */
static inline bool harness_open_answer(const struct env_query_client *k, const uint8_t *ans,
                                       size_t n, uint32_t *result, uint8_t *body, size_t *len)
{
	uint8_t pt[4096];
	size_t pn;
	if (n > sizeof(pt) ||
	    env_response_open(k->aead, k->response_key, k->request_id, ans, n, pt, &pn) != ENV_OK ||
	    pn < 4)
		return false;
	*result =
	    (uint32_t)pt[0] | (uint32_t)pt[1] << 8 | (uint32_t)pt[2] << 16 | (uint32_t)pt[3] << 24;
	memcpy(body, pt + 4, pn - 4);
	*len = pn - 4;
	return true;
}

/* ---- a world: the chain and one enclave hosting the counter --------------------------------- */

#ifdef TN_TESTS_CONTRACTS_COUNTER_H
static const struct contract_code *const harness_codes[] = {&counter_code};

static inline struct enclave_config harness_config(size_t state_cap)
{
	struct enclave_config cfg = {.codes = harness_codes,
	                             .n_codes = 1,
	                             .max_contracts = 8,
	                             .max_egress = 64,
	                             .max_query_bytes = 4096,
	                             .max_response_bytes = 4096,
	                             .max_query_ahead = 100,
	                             .max_state_bytes = state_cap};
	return cfg;
}

static inline struct enclave *harness_enclave_new(struct harness_platform *p,
                                                  const struct enclave_config *cfg)
{
	struct enclave_platform t = harness_platform_table(p);
	struct enclave *e = enclave_new(&t, cfg);
	if (!e)
		HARNESS_FAIL("enclave_new");
	return e;
}

struct harness_world {
	struct harness_chain chain;
	struct harness_platform plat;
	struct enclave *e;
};

static inline void harness_world_init(struct harness_world *w, const struct enclave_config *cfg)
{
	memset(w, 0, sizeof(*w));
	harness_chain_init(&w->chain);
	w->plat.measurement[0] = 1;
	w->plat.seal_key[0] = 2;
	w->e = harness_enclave_new(&w->plat, cfg);
	if (harness_start(w->e, &w->chain, NULL, 0) != ENCLAVE_OK)
		HARNESS_FAIL("enclave_start");
	harness_provision(&w->chain, &w->e, 1, 0);
}

static inline void harness_world_release(struct harness_world *w)
{
	enclave_free(w->e);
	harness_chain_release(&w->chain);
}

static inline void harness_world_block(struct harness_world *w)
{
	if (harness_block(&w->chain, &w->e, 1) != ENCLAVE_OK)
		HARNESS_FAIL("block refused");
}

/* Deploys a counter by alice in `cluster` and returns its id and keys. */
static inline void harness_deploy_counter(struct harness_world *w, uint32_t cluster, uint8_t salt,
                                          uint8_t id[32], uint8_t pk[32], uint8_t spk[32])
{
	uint8_t alice[32], sk[64];
	if (!devkeys_keypair("alice", alice, sk))
		HARNESS_FAIL("alice");
	harness_deploy(&w->chain, alice, cluster, COUNTER_CODE_NAME, salt, id);
	harness_world_block(w);
	harness_contract_keys(w->e, id, pk, spk);
}

/* Query req[0..req_len) by dev account `who` to contract id (pk) on enclave e, valid for 5 more
 * blocks. On ENCLAVE_OK the answer must open: *result and body[0..*len) are the contract's. */
static inline enum enclave_result harness_ask_n(struct harness_world *w, struct enclave *e,
                                                const uint8_t pk[32], const uint8_t id[32],
                                                const char *who, const uint8_t *req, size_t req_len,
                                                uint32_t *result, uint8_t *body, size_t *len)
{
	uint8_t q[512];
	struct env_query_client k;
	size_t n = harness_seal_query_n(&w->plat, &w->chain, pk, id, who, w->chain.height + 5, req,
	                                req_len, q, &k);
	struct enc out;
	enc_init(&out, 4096);
	enum enclave_result r = enclave_query(e, q, n, &out);
	if (r == ENCLAVE_OK && !harness_open_answer(&k, out.buf, out.len, result, body, len))
		HARNESS_FAIL("the answer does not open");
	env_query_client_release(&k);
	enc_release(&out);
	return r;
}

static inline enum enclave_result harness_ask_raw(struct harness_world *w, struct enclave *e,
                                                  const uint8_t pk[32], const uint8_t id[32],
                                                  const char *who, const char *req,
                                                  uint32_t *result, uint8_t *body, size_t *len)
{
	return harness_ask_n(w, e, pk, id, who, (const uint8_t *)req, strlen(req), result, body,
	                     len);
}

/* The receipt of `who`'s command with tx nonce: the receipt query's result (CONTRACT_OK or
 * CONTRACT_NO_RECEIPT); on CONTRACT_OK the command's height, result and reply (NUL-terminated). */
static inline uint32_t harness_receipt(struct harness_world *w, struct enclave *e,
                                       const uint8_t pk[32], const uint8_t id[32], const char *who,
                                       uint64_t nonce, uint64_t *height, uint32_t *result,
                                       char reply[CONTRACT_REPLY_MAX + 1])
{
	uint8_t req[10] = {0x00, 0x01}, body[12 + CONTRACT_REPLY_MAX];
	memcpy(req + 2, &nonce, 8);
	uint32_t r = 99;
	size_t len = 0;
	if (harness_ask_n(w, e, pk, id, who, req, sizeof(req), &r, body, &len) != ENCLAVE_OK)
		HARNESS_FAIL("receipt query refused");
	if (r == CONTRACT_OK) {
		if (len < 12)
			HARNESS_FAIL("short receipt");
		memcpy(height, body, 8);
		memcpy(result, body + 8, 4);
		memcpy(reply, body + 12, len - 12);
		reply[len - 12] = '\0';
	}
	return r;
}

/* A query whose answer is CONTRACT_OK and a u64. */
static inline uint64_t harness_ask_on(struct harness_world *w, struct enclave *e,
                                      const uint8_t pk[32], const uint8_t id[32], const char *who,
                                      const char *req)
{
	uint32_t result = 99;
	uint8_t body[64];
	size_t len = 0;
	if (harness_ask_raw(w, e, pk, id, who, req, &result, body, &len) != ENCLAVE_OK ||
	    result != CONTRACT_OK || len != 8)
		HARNESS_FAIL(req);
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | body[i];
	return v;
}

static inline uint64_t harness_ask(struct harness_world *w, const uint8_t pk[32],
                                   const uint8_t id[32], const char *who, const char *req)
{
	return harness_ask_on(w, w->e, pk, id, who, req);
}
#endif

#endif
