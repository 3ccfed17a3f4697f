/*
 * Fixture for the registry, mq and contracts tests: a chain state in a memstate with funded dev
 * accounts (alice is sudo) and an attestation policy, where every call runs as its own block
 * through runtime_apply_tx, then mq_block_finish (the block's outbound list and msgs_root are
 * kept), then a commit. Include check.h first.
 */
#ifndef TN_TEST_MODFIX_H
#define TN_TEST_MODFIX_H

#include <sodium.h>

#include "chainfix.h"

#include "base/amount.h"
#include "chain/attest.h"
#include "chain/contracts.h"
#include "chain/memstate.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "chain/runtime.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define MFX_MAX_REPORT_AGE 10

struct mfx_key {
	uint8_t pk[32], sk[64];
};

struct mfx {
	struct memstate mem;
	struct runtime_params p;
	struct mfx_key acct[DEVKEYS_COUNT]; /* alice (sudo), bob, charlie, dave, eve, ferdie */
	struct mfx_key sim;                 /* the policy's sim attestation key */
	uint8_t measurement[32];            /* the policy's allowed measurement */
	uint64_t height;                    /* the next block's height */
	struct tx_outcome last;             /* outcome of the last included tx */
	uint8_t *out;                       /* the last block's outbound list (malloc'ed) */
	size_t out_len;
	uint8_t root[32]; /* its msgs_root */
};

enum { ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE };

static inline void mfx_key_seed(struct mfx_key *k, const char *label)
{
	uint8_t seed[32];
	hash_tagged(seed, "tenebra/v1/test-key", label, strlen(label));
	sig_keypair_from_seed(k->pk, k->sk, seed);
}

static inline void mfx_policy(struct mfx *f, struct attest_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->backends = (1u << ATTEST_BACKEND_SIM) | (1u << ATTEST_BACKEND_GRAMINE_SGX);
	pol->n_measurements = 1;
	memcpy(pol->measurements[0], f->measurement, 32);
	pol->n_sim_keys = 1;
	memcpy(pol->sim_keys[0], f->sim.pk, 32);
	pol->max_report_age = MFX_MAX_REPORT_AGE;
	pol->max_confidence_level = ATTEST_LEVEL_SIM;
}

static inline void mfx_init(struct mfx *f)
{
	memset(f, 0, sizeof(*f));
	chainfix_params(&f->p, "modules");
	for (size_t i = 0; i < DEVKEYS_COUNT; i++) {
		CHECK(devkeys_keypair(devkeys_names[i], f->acct[i].pk, f->acct[i].sk));
		chainfix_put_account(&f->mem, f->acct[i].pk, 0, 1000 * AMOUNT_ONE_PHA);
	}
	memcpy(f->p.sudo, f->acct[ALICE].pk, 32);
	chainfix_put_account(&f->mem, f->p.treasury, 0, AMOUNT_ONE_PHA);
	mfx_key_seed(&f->sim, "sim attestation");
	hash_tagged(f->measurement, "tenebra/v1/test-measurement", "good", 4);
	struct attest_policy pol;
	mfx_policy(f, &pol);
	struct state_reader r = mem_reader(&f->mem);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	CHECK(registry_policy_store(&o, &pol) == STATE_OK);
	CHECK(mem_commit(&f->mem, &o));
	state_overlay_release(&o);
	f->height = 100;
}

static inline void mfx_release(struct mfx *f)
{
	free(f->out);
	mem_release(&f->mem);
}

static inline struct state_reader mfx_reader(struct mfx *f)
{
	return mem_reader(&f->mem);
}

/* An unsigned tx from sender at its next nonce, valid for 10 blocks. */
static inline struct tx mfx_tx(struct mfx *f, const uint8_t sender[32], uint8_t module,
                               uint8_t function, const void *payload, size_t len)
{
	struct state_reader r = mem_reader(&f->mem);
	struct account a;
	CHECK(runtime_account_get(&r, sender, &a) >= 0);
	struct tx tx = {.version = TX_VERSION,
	                .nonce = a.nonce,
	                .valid_until = f->height + 10,
	                .max_fee = AMOUNT_ONE_PHA,
	                .module = module,
	                .function = function,
	                .payload = payload,
	                .payload_len = len};
	memcpy(tx.chain_id, f->p.chain_id, 32);
	memcpy(tx.sender, sender, 32);
	return tx;
}

/* Runs one tx from account `who` as block f->height (then height++). Returns what
 * runtime_apply_tx returned if the tx was not included, else the call's result (TX_OK or a call
 * error). On inclusion the block's outbound list and root are kept in f. */
static inline enum tx_result mfx_call_as(struct mfx *f, const struct mfx_key *who, uint8_t module,
                                         uint8_t function, const void *payload, size_t len)
{
	struct state_reader r = mem_reader(&f->mem);
	struct tx tx = mfx_tx(f, who->pk, module, function, payload, len);
	CHECK(tx_sign(&tx, who->sk));
	struct enc e;
	enc_init(&e, TX_MAX_BYTES);
	tx_encode(&e, &tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	struct state_overlay o;
	state_overlay_init(&o, &r, NULL);
	enum tx_result res =
	    runtime_apply_tx(&f->p, &o, &tx, e.len, f->height, f->acct[ALICE].pk, &f->last);
	if (res == TX_OK) {
		struct enc out;
		enc_init(&out, MQ_BLOCK_MAX_BYTES + 16);
		CHECK(mq_block_finish(&o, &out, f->root) == STATE_OK);
		free(f->out);
		f->out = malloc(out.len ? out.len : 1);
		memcpy(f->out, out.buf, out.len);
		f->out_len = out.len;
		enc_release(&out);
		CHECK(mem_commit(&f->mem, &o));
		res = f->last.result;
		f->height++;
	}
	state_overlay_release(&o);
	enc_release(&e);
	return res;
}

static inline enum tx_result mfx_call(struct mfx *f, int who, uint8_t module, uint8_t function,
                                      const void *payload, size_t len)
{
	return mfx_call_as(f, &f->acct[who], module, function, payload, len);
}

/* Admission of the same tx (runtime_check_tx) without running it. */
static inline enum tx_result mfx_admit(struct mfx *f, int who, uint8_t module, uint8_t function,
                                       const void *payload, size_t len)
{
	struct state_reader r = mem_reader(&f->mem);
	struct tx_check c;
	struct tx tx = mfx_tx(f, f->acct[who].pk, module, function, payload, len);
	return runtime_check_tx(&f->p, &r, &tx, 300 + len, f->height, &c);
}

/* A worker's keys. */
struct mfx_worker {
	struct mfx_key id;
	uint8_t hpke[32];
};

static inline void mfx_worker_init(struct mfx_worker *w, const char *label)
{
	mfx_key_seed(&w->id, label);
	hash_tagged(w->hpke, "tenebra/v1/test-hpke", label, strlen(label));
}

/* A sim report for worker w with operator op, signed by signer, made at report_height. */
static inline void mfx_sim_report(struct mfx *f, struct attest_report *rep,
                                  const struct mfx_worker *w, const uint8_t op[32],
                                  uint64_t report_height, const struct mfx_key *signer)
{
	memset(rep, 0, sizeof(*rep));
	rep->backend = ATTEST_BACKEND_SIM;
	memcpy(rep->measurement, f->measurement, 32);
	registry_registration_data(rep->report_data, w->id.pk, w->hpke, op, f->p.chain_id);
	rep->height = report_height;
	attest_sim_sign(rep, signer->pk, signer->sk);
}

static inline enum tx_result mfx_register_report(struct mfx *f, int sender,
                                                 const struct mfx_worker *w, const uint8_t op[32],
                                                 const struct attest_report *rep)
{
	struct enc er, ep;
	enc_init(&er, ATTEST_REPORT_MAX);
	attest_report_encode(&er, rep);
	CHECK(enc_finish(&er) == CODEC_OK);
	enc_init(&ep, TX_MAX_PAYLOAD);
	registry_register_payload(&ep, w->id.pk, w->hpke, op, er.buf, er.len);
	CHECK(enc_finish(&ep) == CODEC_OK);
	enum tx_result r = mfx_call(f, sender, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER,
	                            ep.buf, ep.len);
	enc_release(&er);
	enc_release(&ep);
	return r;
}

/* Registers w with operator `op_idx` and a fresh, valid sim report. */
static inline enum tx_result mfx_register(struct mfx *f, const struct mfx_worker *w, int op_idx)
{
	struct attest_report rep;
	mfx_sim_report(f, &rep, w, f->acct[op_idx].pk, f->height - 1, &f->sim);
	return mfx_register_report(f, op_idx, w, f->acct[op_idx].pk, &rep);
}

static inline enum tx_result mfx_sudo_id(struct mfx *f, uint8_t fn, const uint8_t id[32])
{
	return mfx_call(f, ALICE, RUNTIME_MODULE_REGISTRY, fn, id, 32);
}

static inline enum tx_result mfx_sudo_u32(struct mfx *f, uint8_t fn, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return mfx_call(f, ALICE, RUNTIME_MODULE_REGISTRY, fn, b, 4);
}

static inline enum tx_result mfx_assign(struct mfx *f, const uint8_t id[32], uint32_t cluster)
{
	uint8_t b[36];
	memcpy(b, id, 32);
	for (int i = 0; i < 4; i++)
		b[32 + i] = (uint8_t)(cluster >> (8 * i));
	return mfx_call(f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ASSIGN_WORKER, b, 36);
}

/* Pushes one message (signed by sk, or with the given raw signed bytes) relayed by `relayer`. */
static inline enum tx_result mfx_push(struct mfx *f, int relayer, const struct mq_message *m,
                                      const uint8_t sk[64])
{
	struct enc e;
	enc_init(&e, TX_MAX_PAYLOAD);
	enc_uleb(&e, 1);
	mq_sign_encode(&e, f->p.chain_id, m, sk);
	CHECK(enc_finish(&e) == CODEC_OK);
	enum tx_result r = mfx_call(f, relayer, RUNTIME_MODULE_MQ, MQ_FN_PUSH, e.buf, e.len);
	enc_release(&e);
	return r;
}

static inline struct mq_message mfx_msg(uint8_t kind, const uint8_t id[32], const char *topic,
                                        const void *payload, size_t len, uint64_t seq)
{
	struct mq_message m;
	memset(&m, 0, sizeof(m));
	m.origin.kind = kind;
	if (id)
		memcpy(m.origin.id, id, 32);
	m.topic = (const uint8_t *)topic;
	m.topic_len = strlen(topic);
	m.payload = payload;
	m.payload_len = len;
	m.sequence = seq;
	return m;
}

/* The i-th message of the last block's outbound list, decoded (borrowing f->out). Checks the
 * list's root against f->root on the way. False when there is no such message. */
static inline bool mfx_out_msg(struct mfx *f, size_t index, struct mq_message *m)
{
	size_t count;
	uint8_t root[32];
	CHECK(mq_list_root(f->out, f->out_len, &count, root) == CODEC_OK);
	CHECK_EQ_MEM(root, f->root, 32);
	if (index >= count)
		return false;
	struct dec d;
	size_t len = 0;
	const uint8_t *item = NULL;
	dec_init(&d, f->out, f->out_len);
	(void)dec_uleb(&d, MQ_BLOCK_MAX_MSGS);
	for (size_t i = 0; i <= index; i++)
		item = dec_bytes(&d, &len, MQ_MESSAGE_MAX);
	return item && mq_message_decode(m, item, len) == CODEC_OK;
}

static inline size_t mfx_out_count(struct mfx *f)
{
	size_t count;
	uint8_t root[32];
	CHECK(mq_list_root(f->out, f->out_len, &count, root) == CODEC_OK);
	return count;
}

static inline bool mfx_topic_is(const struct mq_message *m, const char *topic)
{
	return m->topic_len == strlen(topic) && memcmp(m->topic, topic, m->topic_len) == 0;
}

/* Pushes m (signed by sk) like mfx_push. A push that is refused (origin, signature, sequence) or
 * whose message is forwarded returns the push's result. A '^' message that mq accepted was handed
 * to its consumer: then the block must end with mq's consumed notice for exactly m, and the
 * consumer's result it records (TX_OK or its refusal) is returned; m's sequence is taken
 * either way. */
static inline enum tx_result mfx_push_consumed(struct mfx *f, int relayer,
                                               const struct mq_message *m, const uint8_t sk[64])
{
	enum tx_result r = mfx_push(f, relayer, m, sk);
	if (r != TX_OK || m->topic[0] != MQ_CONSUMED_PREFIX)
		return r;
	size_t n = mfx_out_count(f);
	struct mq_message last;
	struct mq_consumed c;
	CHECK(n > 0 && mfx_out_msg(f, n - 1, &last));
	CHECK(last.origin.kind == MQ_ORIGIN_MODULE &&
	      strcmp(last.origin.module, MQ_MODULE_NAME) == 0);
	CHECK(mfx_topic_is(&last, MQ_CONSUMED_TOPIC));
	CHECK(mq_consumed_decode(&c, last.payload, last.payload_len) == CODEC_OK);
	CHECK(c.sequence == m->sequence && c.origin.kind == m->origin.kind);
	CHECK(memcmp(c.origin.id, m->origin.id, 32) == 0 && c.topic_len == m->topic_len);
	CHECK(memcmp(c.topic, m->topic, m->topic_len) == 0);
	return (enum tx_result)c.result;
}

#endif
