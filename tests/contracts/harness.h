/*
 * Test harness for the contract host (tests/unit/enclave/test_enclave_contracts.c,
 * test_enclave_query.c, test_enclave_backlog.c, fuzz/enclave/fuzz_enclave_query.c,
 * bench/query.c), on the in-test platform and dev chain of testplat.h: the gatekeeper protocol
 * run for real to give enclaves cluster and contract keys, the client side of commands and
 * queries, and a world of the chain and one enclave hosting the counter.
 *
 * Everything is `static inline` so each includer takes only what it uses.
 */
#ifndef TN_TESTS_CONTRACTS_HARNESS_H
#define TN_TESTS_CONTRACTS_HARNESS_H

#include "crypto/envelope.h"
#include "crypto/seal.h"
#include "testplat.h"

/* ---- the chain ---------------------------------------------------------------------------- */

/* What contracts.push_command emits for tx (sender, nonce) carrying envelope ct. */
static inline void harness_command_message(struct testplat_chain *c, const uint8_t id[32],
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
	testplat_module_msg(c, "contracts", topic, e.buf, e.len);
	enc_release(&e);
}

/* ---- keys: the gatekeeper protocol run for real ---------------------------------------------- */

/* Relays e's pending egress whose topic starts with `prefix` into the next block, as the chain
 * would deliver it after mq.push. Returns the count. */
static inline size_t harness_relay(struct testplat_chain *c, struct enclave *e, const char *prefix)
{
	struct testplat_egress it;
	size_t relayed = 0;
	testplat_egress_begin(&it, e, 1024);
	while (testplat_egress_next(&it))
		if (it.m.topic_len >= strlen(prefix) &&
		    memcmp(it.m.topic, prefix, strlen(prefix)) == 0) {
			testplat_queue(c, &it.m);
			relayed++;
		}
	testplat_egress_end(&it);
	return relayed;
}

/* What the registry and mq modules do with the gatekeeper's pending "^registry/<kind>" messages:
 * each becomes a registry event whose body is the message's payload, then mq's notice that it
 * consumed the message. Returns the count. */
static inline size_t harness_publish(struct testplat_chain *c, struct enclave *e)
{
	struct testplat_egress it;
	size_t published = 0;
	testplat_egress_begin(&it, e, 1024);
	while (testplat_egress_next(&it))
		if (testplat_publication(c, &it.m)) {
			testplat_notice(c, &it.m, 0);
			published++;
		}
	testplat_egress_end(&it);
	return published;
}

/* Queues the registration of e and its assignment to `cluster` for the next block. */
static inline void harness_register_assign(struct testplat_chain *c, struct enclave *e,
                                           uint32_t cluster)
{
	struct testplat_worker w;
	testplat_identity(e, &w);
	testplat_ev_registered(c, &w);
	testplat_ev_assigned(c, &w, cluster);
}

/* Registers es[0..assigned), elects es[0] the first gatekeeper, creates `cluster` and assigns
 * them to it, then delivers the cluster key shares es[0] sends; all n enclaves follow the
 * blocks (es[assigned..n) are not registered: workers that join later). Afterwards es[0..
 * assigned) hold the cluster key, and contracts deployed in `cluster` get keys. Two blocks. */
static inline void harness_provision_some(struct testplat_chain *c, struct enclave **es, size_t n,
                                          size_t assigned, uint32_t cluster)
{
	struct testplat_worker gk;
	if (assigned < 1 || assigned > n)
		TESTPLAT_FAIL("provisioning");
	testplat_identity(es[0], &gk);
	testplat_ev_cluster(c, cluster);
	for (size_t i = 0; i < assigned; i++)
		harness_register_assign(c, es[i], cluster);
	testplat_ev_gk_added(c, &gk);
	if (testplat_block(c, es, n) != ENCLAVE_OK)
		TESTPLAT_FAIL("provisioning block");
	harness_publish(c, es[0]);
	harness_relay(c, es[0], "worker/");
	if (testplat_block(c, es, n) != ENCLAVE_OK)
		TESTPLAT_FAIL("key share block");
}

/* Registers every es[i] (at most 4), elects es[0] the first gatekeeper, creates `cluster` and
 * assigns them all to it, then delivers the cluster key shares es[0] sends: afterwards every
 * es[i] holds the cluster key, and contracts deployed in `cluster` get keys. Two blocks. */
static inline void harness_provision(struct testplat_chain *c, struct enclave **es, size_t n,
                                     uint32_t cluster)
{
	harness_provision_some(c, es, n, n, cluster);
}

/* The public keys of contract id as the gatekeeper es[0] publishes them (its pending
 * "^registry/contract-key" message). */
static inline void harness_contract_keys(struct enclave *e, const uint8_t id[32],
                                         uint8_t hpke_pk[32], uint8_t sign_pk[32])
{
	struct testplat_egress it;
	bool found = false;
	testplat_egress_begin(&it, e, 1024);
	while (testplat_egress_next(&it))
		if (!found && testplat_topic_is(&it.m, REGISTRY_TOPIC_CONTRACT_KEY) &&
		    it.m.payload_len == 104 && memcmp(it.m.payload, id, 32) == 0) {
			memcpy(hpke_pk, it.m.payload + 40, 32);
			memcpy(sign_pk, it.m.payload + 72, 32);
			found = true;
		}
	testplat_egress_end(&it);
	if (!found)
		TESTPLAT_FAIL("no published contract key");
}

/* ---- client side ---------------------------------------------------------------------------- */

/* The envelope a client puts in contracts.push_command (ChaCha20-Poly1305). out holds
 * n + HPKE_ENVELOPE_OVERHEAD bytes. */
static inline void harness_seal_command(struct testplat *rng, const struct testplat_chain *c,
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
	                     strlen(cmd), testplat_random, rng, out) != ENV_OK)
		TESTPLAT_FAIL("command seal");
}

/* Seals and queues a command from dev account `who` with tx nonce. */
static inline void harness_command(struct testplat_chain *c, struct testplat *rng,
                                   const uint8_t pk[32], const uint8_t id[32], const char *who,
                                   uint64_t nonce, const char *cmd)
{
	uint8_t apk[32], ask[64], ct[256];
	if (!devkeys_keypair(who, apk, ask) || strlen(cmd) + HPKE_ENVELOPE_OVERHEAD > sizeof(ct))
		TESTPLAT_FAIL("command");
	harness_seal_command(rng, c, pk, id, apk, nonce, cmd, ct);
	harness_command_message(c, id, apk, nonce, ct, strlen(cmd) + HPKE_ENVELOPE_OVERHEAD);
}

/* harness_command for a binary command cmd[0..len) (at most 1024 bytes). */
static inline void harness_command_bin(struct testplat_chain *c, struct testplat *rng,
                                       const uint8_t pk[32], const uint8_t id[32], const char *who,
                                       uint64_t nonce, const uint8_t *cmd, size_t len)
{
	uint8_t apk[32], ask[64], ct[1024 + HPKE_ENVELOPE_OVERHEAD];
	struct env_command_ctx ctx;
	if (!devkeys_keypair(who, apk, ask) || len > 1024)
		TESTPLAT_FAIL("binary command");
	memcpy(ctx.chain_id, c->chain_id, 32);
	memcpy(ctx.contract_id, id, 32);
	memcpy(ctx.sender, apk, 32);
	ctx.nonce = nonce;
	if (env_command_seal(HPKE_AEAD_CHACHA20POLY1305, pk, &ctx, cmd, len, testplat_random, rng,
	                     ct) != ENV_OK)
		TESTPLAT_FAIL("command seal");
	harness_command_message(c, id, apk, nonce, ct, len + HPKE_ENVELOPE_OVERHEAD);
}

/* A query from dev account `who` (signed by its key) valid until `expiry`, for request
 * req[0..len). out holds env_query_len(len, false) bytes. */
static inline size_t harness_seal_query_n(struct testplat *rng, const struct testplat_chain *c,
                                          const uint8_t pk[32], const uint8_t id[32],
                                          const char *who, uint64_t expiry, const uint8_t *req,
                                          size_t len, uint8_t *out, struct env_query_client *keep)
{
	uint8_t apk[32], ask[64];
	if (!devkeys_keypair(who, apk, ask))
		TESTPLAT_FAIL("query signer");
	struct env_signer s = {.sk = ask, .cert = NULL};
	size_t n;
	if (env_query_seal(HPKE_AEAD_CHACHA20POLY1305, pk, c->chain_id, id, expiry, &s, req, len,
	                   testplat_random, rng, out, &n, keep) != ENV_OK)
		TESTPLAT_FAIL("query seal");
	return n;
}

/* The same for a text request. */
static inline size_t harness_seal_query(struct testplat *rng, const struct testplat_chain *c,
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
static inline size_t harness_seal_session_query(struct testplat *rng,
                                                const struct testplat_chain *c,
                                                const uint8_t pk[32], const uint8_t id[32],
                                                const char *who, const uint8_t session_pk[32],
                                                const uint8_t session_sk[32], uint64_t cert_expiry,
                                                uint64_t expiry, const char *req, uint8_t *out,
                                                struct env_query_client *keep)
{
	uint8_t apk[32], ask[64];
	if (!devkeys_keypair(who, apk, ask))
		TESTPLAT_FAIL("session account");
	struct env_cert cert;
	env_cert_sign(&cert, ENV_CERT_X25519, c->chain_id, ask, session_pk, cert_expiry);
	struct env_signer s = {.sk = session_sk, .cert = &cert};
	size_t n;
	if (env_query_seal(HPKE_AEAD_CHACHA20POLY1305, pk, c->chain_id, id, expiry, &s,
	                   (const uint8_t *)req, strlen(req), testplat_random, rng, out, &n,
	                   keep) != ENV_OK)
		TESTPLAT_FAIL("session query seal");
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

/* The test enclaves' config, hosting codes[0..n) (borrowed). */
static inline struct enclave_config harness_config_codes(const struct contract_code *const *codes,
                                                         size_t n, size_t state_cap)
{
	struct enclave_config cfg = {.codes = codes,
	                             .n_codes = n,
	                             .max_contracts = 8,
	                             .max_egress = 64,
	                             .max_query_bytes = 4096,
	                             .max_response_bytes = 4096,
	                             .max_query_ahead = 100,
	                             .max_state_bytes = state_cap};
	return cfg;
}

static inline struct enclave_config harness_config(size_t state_cap)
{
	return harness_config_codes(harness_codes, 1, state_cap);
}

struct harness_world {
	struct testplat_chain chain;
	struct testplat plat;
	struct enclave *e;
};

/* A world of n enclaves (at most 4) following one chain: es[0] = w->e on w->plat, es[i] on ps[i -
 * 1] (another machine: the same measurement and sealing key, its own randomness); es[0..assigned)
 * are provisioned in cluster 0, es[0] its gatekeeper. */
static inline void harness_world_many(struct harness_world *w, const struct enclave_config *cfg,
                                      struct testplat *ps, struct enclave **es, size_t n,
                                      size_t assigned)
{
	memset(w, 0, sizeof(*w));
	testplat_chain_init(&w->chain);
	w->plat.measurement[0] = 1;
	w->plat.seal_key[0] = 2;
	es[0] = w->e = testplat_started(&w->plat, cfg, NULL);
	for (size_t i = 1; i < n; i++) {
		ps[i - 1] = (struct testplat){.rand_stream = 20 + i};
		memcpy(ps[i - 1].measurement, w->plat.measurement, 32);
		memcpy(ps[i - 1].seal_key, w->plat.seal_key, 32);
		es[i] = testplat_started(&ps[i - 1], cfg, NULL);
	}
	harness_provision_some(&w->chain, es, n, assigned, 0);
}

/* The chain and one enclave, w->e, the gatekeeper of cluster 0. */
static inline void harness_world_init(struct harness_world *w, const struct enclave_config *cfg)
{
	harness_world_many(w, cfg, NULL, &w->e, 1, 1);
}

static inline void harness_world_release(struct harness_world *w)
{
	enclave_free(w->e);
	testplat_chain_release(&w->chain);
}

static inline void harness_world_block(struct harness_world *w)
{
	if (testplat_block(&w->chain, &w->e, 1) != ENCLAVE_OK)
		TESTPLAT_FAIL("block refused");
}

/* Deploys a counter by alice in `cluster` and returns its id and keys. */
static inline void harness_deploy_counter(struct harness_world *w, uint32_t cluster, uint8_t salt,
                                          uint8_t id[32], uint8_t pk[32], uint8_t spk[32])
{
	uint8_t alice[32], sk[64];
	if (!devkeys_keypair("alice", alice, sk))
		TESTPLAT_FAIL("alice");
	testplat_deploy(&w->chain, alice, cluster, COUNTER_CODE_NAME, salt, id);
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
		TESTPLAT_FAIL("the answer does not open");
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
		TESTPLAT_FAIL("receipt query refused");
	if (r == CONTRACT_OK) {
		if (len < 12)
			TESTPLAT_FAIL("short receipt");
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
		TESTPLAT_FAIL(req);
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

/* ---- a contract's snapshot ------------------------------------------------------------------ */

/* The snapshot (malloc'ed, *n bytes) of contract id of code `code` in the checkpoint of e, an
 * enclave on platform p; NULL when it is not there. In the checkpoint plaintext each contract is
 * id ‖ cluster u32 ‖ bytes(code) ‖ hpke sk [32] ‖ sign seed [32] ‖ bytes(snapshot) ‖ receipts
 * (enclave_contracts.c encode_one): a test of a contract's snapshot follows that layout. */
static inline uint8_t *harness_contract_snapshot(const struct testplat *p, struct enclave *e,
                                                 const uint8_t id[32], const char *code, size_t *n)
{
	struct enc ck;
	struct enclave_status st;
	size_t pn = 0, cn = strlen(code), head = 32 + 4 + 1 + cn + 64;
	enc_init(&ck, 1 << 28);
	enclave_status(e, &st);
	uint8_t *pt = NULL, *out = NULL;
	if (cn >= 0x80 || enclave_checkpoint(e, &ck) != ENCLAVE_OK || !(pt = malloc(ck.len)) ||
	    seal_unwrap(p->seal_key, st.chain_id, p->measurement, "checkpoint", ck.buf, ck.len, pt,
	                &pn) != SEAL_OK)
		TESTPLAT_FAIL("checkpoint");
	enc_release(&ck);
	for (size_t i = 0; i + head < pn && !out; i++) {
		if (memcmp(pt + i, id, 32) != 0 || pt[i + 36] != cn ||
		    memcmp(pt + i + 37, code, cn) != 0)
			continue;
		struct dec d;
		dec_init(&d, pt + i + head, pn - i - head);
		const uint8_t *s = dec_bytes(&d, n, pn);
		if (s && (out = malloc(*n ? *n : 1)) != NULL)
			memcpy(out, s, *n);
	}
	free(pt);
	return out;
}

#endif
