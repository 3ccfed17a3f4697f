/*
 * Registry module and attestation: registration and idempotent re-registration, every policy
 * refusal (backend, measurement, report data, freshness, sim key, signature, SGX quote checks,
 * confidence), the operator rule, governance calls and their refusals, the master key published
 * through mq by a gatekeeper and its rotation with history, and the events enclaves read.
 */
#include "check.h"

#include <jansson.h>

#include "base/hex.h"
#include "chain/genesis.h"
#include "chain/modfix.h"

/* ---- helpers ---- */

static struct attest_policy stored_policy(struct mfx *f)
{
	struct attest_policy p;
	struct state_reader r = mfx_reader(f);
	CHECK(registry_policy_get(&r, &p) == 1);
	return p;
}

static enum tx_result set_policy(struct mfx *f, int who, const struct attest_policy *p)
{
	uint8_t buf[ATTEST_POLICY_MAX];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	attest_policy_encode(&e, p);
	CHECK(enc_finish(&e) == CODEC_OK);
	return mfx_call(f, who, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_SET_POLICY, buf, e.len);
}

static struct registry_worker worker_of(struct mfx *f, const uint8_t id[32])
{
	struct registry_worker w;
	struct state_reader r = mfx_reader(f);
	CHECK(registry_worker_get(&r, id, &w) == 1);
	return w;
}

/* The last block's only registry event (mq's consumed notice may follow it): kind and the bytes
 * after it. */
static const uint8_t *event(struct mfx *f, uint8_t kind, size_t len)
{
	struct mq_message m;
	const uint8_t *found = NULL;
	size_t n = mfx_out_count(f), events = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(mfx_out_msg(f, i, &m));
		if (m.origin.kind == MQ_ORIGIN_MODULE &&
		    strcmp(m.origin.module, MQ_MODULE_NAME) == 0)
			continue;
		events++;
		CHECK(m.origin.kind == MQ_ORIGIN_MODULE &&
		      strcmp(m.origin.module, "registry") == 0);
		CHECK(mfx_topic_is(&m, REGISTRY_EVENT_TOPIC));
		CHECK(m.payload_len == 1 + len && m.payload[0] == kind);
		found = m.payload_len == 1 + len ? m.payload + 1 : NULL;
	}
	CHECK(events == 1);
	return events == 1 ? found : NULL;
}

/* A well-formed SGX DCAP v3 quote (signature data zeroed) with the given fields. */
#define QUOTE_LEN (ATTEST_SGX_HEADER_LEN + ATTEST_SGX_BODY_LEN + 4 + ATTEST_SGX_MIN_SIG_DATA)
static void make_quote(uint8_t q[QUOTE_LEN], const uint8_t mrenclave[32], const uint8_t rd[64],
                       uint64_t flags)
{
	memset(q, 0, QUOTE_LEN);
	q[0] = 3; /* version */
	q[2] = 2; /* ECDSA-256-with-P-256 */
	memcpy(q + 12, attest_intel_qe_vendor_id, 16);
	uint8_t *body = q + ATTEST_SGX_HEADER_LEN;
	for (int i = 0; i < 8; i++)
		body[48 + i] = (uint8_t)(flags >> (8 * i));
	memcpy(body + 64, mrenclave, 32);
	memcpy(body + 320, rd, 64);
	uint32_t sl = ATTEST_SGX_MIN_SIG_DATA;
	for (int i = 0; i < 4; i++)
		q[432 + i] = (uint8_t)(sl >> (8 * i));
}

static void sgx_report(struct mfx *f, struct attest_report *rep, uint8_t q[QUOTE_LEN],
                       const struct mfx_worker *w, int op, uint64_t flags)
{
	uint8_t rd[64];
	memset(rep, 0, sizeof(*rep));
	rep->backend = ATTEST_BACKEND_GRAMINE_SGX;
	memcpy(rep->measurement, f->measurement, 32);
	registry_registration_data(rep->report_data, w->id.pk, w->hpke, f->acct[op].pk,
	                           f->p.chain_id);
	rep->height = f->height - 1;
	attest_sgx_expected_report_data(rd, rep->report_data, rep->height);
	make_quote(q, f->measurement, rd, flags);
	rep->quote = q;
	rep->quote_len = QUOTE_LEN;
}

/* ---- attestation unit ---- */

static void report_codec(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep, back;
	uint8_t q[QUOTE_LEN];
	mfx_init(&f);
	mfx_worker_init(&w, "w");
	for (int backend = 1; backend <= 2; backend++) {
		if (backend == 1)
			mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, 7, &f.sim);
		else
			sgx_report(&f, &rep, q, &w, BOB, 0);
		struct enc e;
		enc_init(&e, ATTEST_REPORT_MAX);
		attest_report_encode(&e, &rep);
		CHECK(enc_finish(&e) == CODEC_OK);
		CHECK(attest_report_decode(&back, e.buf, e.len) == CODEC_OK);
		CHECK(back.backend == rep.backend && back.height == rep.height);
		CHECK_EQ_MEM(back.report_data, rep.report_data, 32);
		CHECK(attest_report_decode(&back, e.buf, e.len - 1) != CODEC_OK);
		e.buf[0] = 2; /* version */
		CHECK(attest_report_decode(&back, e.buf, e.len) == CODEC_NONCANONICAL);
		e.buf[0] = 1;
		e.buf[1] = 3; /* backend */
		CHECK(attest_report_decode(&back, e.buf, e.len) == CODEC_NONCANONICAL);
		enc_release(&e);
	}
	/* The sim message is pinned to its definition. */
	uint8_t m[32], buf[74], want[32];
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, 0x0102030405060708ull, &f.sim);
	attest_sim_message(m, &rep);
	buf[0] = 1;
	buf[1] = 1;
	memcpy(buf + 2, rep.measurement, 32);
	memcpy(buf + 34, rep.report_data, 32);
	for (int i = 0; i < 8; i++)
		buf[66 + i] = (uint8_t)(0x0807060504030201ull >> (8 * (7 - i)));
	hash_tagged(want, ATTEST_SIM_TAG, buf, sizeof(buf));
	CHECK_EQ_MEM(m, want, 32);
	CHECK(attest_backend_from_name("sim") == 1 && attest_backend_from_name("gramine-sgx") == 2);
	CHECK(attest_backend_from_name("sgx") == 0 && attest_backend_name(3) == NULL);
	mfx_release(&f);
}

static void policy_codec(void)
{
	struct mfx f;
	struct attest_policy p, back;
	mfx_init(&f);
	mfx_policy(&f, &p);
	uint8_t buf[ATTEST_POLICY_MAX];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	attest_policy_encode(&e, &p);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(attest_policy_decode(&back, buf, e.len) == CODEC_OK);
	CHECK(memcmp(&back, &p, sizeof(p)) == 0);
	buf[1] = 0x08; /* an unknown backend bit */
	CHECK(attest_policy_decode(&back, buf, e.len) == CODEC_NONCANONICAL);
	buf[1] = 0x06;
	buf[3] = ATTEST_MAX_MEASUREMENTS + 1; /* count above the cap */
	CHECK(attest_policy_decode(&back, buf, e.len) == CODEC_TOO_LARGE);
	CHECK(stored_policy(&f).max_report_age == MFX_MAX_REPORT_AGE);
	mfx_release(&f);
}

/* attest_verify's checks one by one, each with its own result. */
static void verify_order(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep;
	struct attest_policy p;
	uint8_t expected[32], level, q[QUOTE_LEN];
	mfx_init(&f);
	mfx_worker_init(&w, "w");
	mfx_policy(&f, &p);
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, 50, &f.sim);
	memcpy(expected, rep.report_data, 32);
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_OK && level == 128);
	CHECK(attest_verify(&p, &rep, expected, 60, &level) == ATTEST_OK);
	CHECK(attest_verify(&p, &rep, expected, 61, &level) == ATTEST_STALE);
	CHECK(attest_verify(&p, &rep, expected, 49, &level) == ATTEST_FROM_FUTURE);
	expected[0] ^= 1;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_REPORT_DATA_MISMATCH);
	expected[0] ^= 1;
	rep.sim_sig[5] ^= 1;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_BAD_SIGNATURE);
	attest_sim_sign(&rep, f.acct[EVE].pk, f.acct[EVE].sk);
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_UNKNOWN_SIM_KEY);
	rep.measurement[0] ^= 1;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_MEASUREMENT_NOT_ALLOWED);
	p.any_measurement = true;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_UNKNOWN_SIM_KEY);
	p.backends = 1u << ATTEST_BACKEND_GRAMINE_SGX;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_BACKEND_NOT_ALLOWED);
	/* SGX: a structurally valid quote gets the unverified level. */
	mfx_policy(&f, &p);
	f.height = 51;
	sgx_report(&f, &rep, q, &w, BOB, 0);
	memcpy(expected, rep.report_data, 32);
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_OK &&
	      level == ATTEST_LEVEL_SGX_UNVERIFIED);
	p.max_confidence_level = 5;
	CHECK(attest_verify(&p, &rep, expected, 55, &level) == ATTEST_LOW_CONFIDENCE);
	mfx_release(&f);
}

static void sgx_quote_checks(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep;
	struct attest_policy p;
	uint8_t level, q[QUOTE_LEN];
	mfx_init(&f);
	mfx_worker_init(&w, "w");
	mfx_policy(&f, &p);
	struct attest_sgx_quote parsed;
	sgx_report(&f, &rep, q, &w, BOB, 0);
	CHECK(attest_sgx_quote_parse(&parsed, q, QUOTE_LEN));
	CHECK_EQ_MEM(parsed.mrenclave, f.measurement, 32);
	const uint8_t *exp = rep.report_data;
	/* debug enclave */
	sgx_report(&f, &rep, q, &w, BOB, ATTEST_SGX_DEBUG_FLAG);
	CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_DEBUG_ENCLAVE);
	/* MRENCLAVE differs from the claimed measurement */
	sgx_report(&f, &rep, q, &w, BOB, 0);
	q[ATTEST_SGX_HEADER_LEN + 64] ^= 1;
	CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_QUOTE_MISMATCH);
	/* REPORTDATA binds another height */
	sgx_report(&f, &rep, q, &w, BOB, 0);
	q[ATTEST_SGX_HEADER_LEN + 320 + 32] ^= 1;
	CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_QUOTE_MISMATCH);
	/* structure: version, key type, vendor, signature length, truncation */
	static const size_t bad_at[] = {0, 2, 12, 432};
	for (size_t i = 0; i < sizeof(bad_at) / sizeof(bad_at[0]); i++) {
		sgx_report(&f, &rep, q, &w, BOB, 0);
		q[bad_at[i]] ^= 0x40;
		CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_BAD_QUOTE);
	}
	sgx_report(&f, &rep, q, &w, BOB, 0);
	rep.quote_len--;
	CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_BAD_QUOTE);
	rep.quote_len = 100;
	CHECK(attest_verify(&p, &rep, exp, f.height, &level) == ATTEST_BAD_QUOTE);
	mfx_release(&f);
}

/* ---- registration ---- */

static void register_and_reregister(void)
{
	struct mfx f;
	struct mfx_worker w;
	mfx_init(&f);
	mfx_worker_init(&w, "w1");
	uint64_t h1 = f.height;
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	struct registry_worker rec = worker_of(&f, w.id.pk);
	CHECK_EQ_MEM(rec.hpke_pk, w.hpke, 32);
	CHECK_EQ_MEM(rec.operator_, f.acct[BOB].pk, 32);
	CHECK_EQ_MEM(rec.measurement, f.measurement, 32);
	CHECK(rec.backend == ATTEST_BACKEND_SIM && rec.confidence_level == ATTEST_LEVEL_SIM);
	CHECK(rec.registered_height == h1 && rec.updated_height == h1);
	CHECK(rec.report_height == h1 - 1 && !rec.has_cluster && !rec.is_gatekeeper);
	const uint8_t *ev = event(&f, REGISTRY_EV_WORKER_REGISTERED, REGISTRY_WORKER_LEN);
	struct registry_worker from_ev;
	CHECK(ev && registry_worker_decode(&from_ev, ev, REGISTRY_WORKER_LEN) == CODEC_OK);
	CHECK(memcmp(&from_ev, &rec, sizeof(rec)) == 0);
	/* A restart: same identity, a new report (and a new HPKE key) updates, no duplicate. */
	f.height += 5;
	hash_tagged(w.hpke, "tenebra/v1/test-hpke", "rotated", 7);
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	rec = worker_of(&f, w.id.pk);
	CHECK(rec.registered_height == h1 && rec.updated_height == f.height - 1);
	CHECK_EQ_MEM(rec.hpke_pk, w.hpke, 32);
	uint32_t n;
	uint8_t id[32];
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_worker_count(&r, &n) == 1 && n == 1);
	CHECK(registry_worker_at(&r, 0, id) == 1 && memcmp(id, w.id.pk, 32) == 0);
	CHECK(registry_worker_at(&r, 1, id) == 0);
	/* Same report twice in a row is accepted too (idempotent). */
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	CHECK(registry_worker_count(&r, &n) == 1 && n == 1);
	/* A second worker is another entry. */
	struct mfx_worker w2;
	mfx_worker_init(&w2, "w2");
	CHECK(mfx_register(&f, &w2, CHARLIE) == TX_OK);
	CHECK(registry_worker_count(&r, &n) == 1 && n == 2);
	mfx_release(&f);
}

static void register_refusals(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep;
	mfx_init(&f);
	mfx_worker_init(&w, "w1");
	uint64_t now = f.height;
	/* sent by another account than the operator: refused at admission and at execution */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, now - 1, &f.sim);
	CHECK(mfx_register_report(&f, CHARLIE, &w, f.acct[BOB].pk, &rep) ==
	      TX_CALL_REG_NOT_OPERATOR);
	/* stale and future reports */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - MFX_MAX_REPORT_AGE - 1, &f.sim);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_CALL_REG_STALE_REPORT);
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - MFX_MAX_REPORT_AGE, &f.sim);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_OK);
	mfx_worker_init(&w, "w2");
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height + 1, &f.sim);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_CALL_REG_STALE_REPORT);
	/* unknown sim key, bad signature */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.acct[EVE]);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) ==
	      TX_CALL_REG_UNKNOWN_SIM_KEY);
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.sim);
	rep.sim_sig[0] ^= 1;
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_CALL_REG_BAD_REPORT_SIG);
	/* measurement not allowed (correctly signed by the sim key) */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.sim);
	rep.measurement[3] ^= 1;
	attest_sim_sign(&rep, f.sim.pk, f.sim.sk);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) ==
	      TX_CALL_REG_MEASUREMENT_NOT_ALLOWED);
	/* the report binds other keys: a host swapping the HPKE key is caught */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.sim);
	struct mfx_worker swapped = w;
	swapped.hpke[0] ^= 1;
	CHECK(mfx_register_report(&f, BOB, &swapped, f.acct[BOB].pk, &rep) ==
	      TX_CALL_REG_REPORT_DATA_MISMATCH);
	/* a report made for another chain */
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.sim);
	uint8_t other_chain[32];
	hash_tagged(other_chain, "tenebra/v1/test-chain", "other", 5);
	registry_registration_data(rep.report_data, w.id.pk, w.hpke, f.acct[BOB].pk, other_chain);
	attest_sim_sign(&rep, f.sim.pk, f.sim.sk);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) ==
	      TX_CALL_REG_REPORT_DATA_MISMATCH);
	/* nothing of the refused registrations was stored */
	struct registry_worker rec;
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_worker_get(&r, w.id.pk, &rec) == 0);
	/* the operator cannot change on re-registration */
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	CHECK(mfx_register(&f, &w, CHARLIE) == TX_CALL_REG_OPERATOR_CHANGED);
	/* malformed payloads are not includable */
	uint8_t junk[100] = {0};
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER, junk, 95) ==
	      TX_BAD_PAYLOAD);
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER, junk, 100) ==
	      TX_BAD_PAYLOAD);
	mfx_release(&f);
}

static void admission_operator_rule(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep;
	mfx_init(&f);
	mfx_worker_init(&w, "w1");
	mfx_sim_report(&f, &rep, &w, f.acct[BOB].pk, f.height - 1, &f.sim);
	struct enc er, ep;
	enc_init(&er, ATTEST_REPORT_MAX);
	attest_report_encode(&er, &rep);
	enc_init(&ep, TX_MAX_PAYLOAD);
	registry_register_payload(&ep, w.id.pk, w.hpke, f.acct[BOB].pk, er.buf, er.len);
	CHECK(mfx_admit(&f, CHARLIE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER, ep.buf,
	                ep.len) == TX_CALL_REG_NOT_OPERATOR);
	CHECK(mfx_admit(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_REGISTER_WORKER, ep.buf,
	                ep.len) == TX_OK);
	enc_release(&er);
	enc_release(&ep);
	mfx_release(&f);
}

static void sgx_registration(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_report rep;
	uint8_t q[QUOTE_LEN];
	mfx_init(&f);
	mfx_worker_init(&w, "sgx");
	sgx_report(&f, &rep, q, &w, BOB, ATTEST_SGX_DEBUG_FLAG);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_CALL_REG_BAD_QUOTE);
	sgx_report(&f, &rep, q, &w, BOB, 0);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_OK);
	CHECK(worker_of(&f, w.id.pk).confidence_level == ATTEST_LEVEL_SGX_UNVERIFIED);
	CHECK(worker_of(&f, w.id.pk).backend == ATTEST_BACKEND_GRAMINE_SGX);
	mfx_release(&f);
}

/* Policy changes by governance decide who can register next. */
static void policy_governance(void)
{
	struct mfx f;
	struct mfx_worker w;
	struct attest_policy p;
	uint8_t q[QUOTE_LEN];
	struct attest_report rep;
	mfx_init(&f);
	mfx_worker_init(&w, "w");
	mfx_policy(&f, &p);
	p.backends = 1u << ATTEST_BACKEND_GRAMINE_SGX;
	CHECK(set_policy(&f, BOB, &p) == TX_CALL_NOT_SUDO);
	uint8_t buf[ATTEST_POLICY_MAX];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	attest_policy_encode(&e, &p);
	CHECK(mfx_admit(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_SET_POLICY, buf, e.len) ==
	      TX_CALL_NOT_SUDO);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_SET_POLICY, buf,
	               e.len - 1) == TX_BAD_PAYLOAD);
	CHECK(set_policy(&f, ALICE, &p) == TX_OK);
	CHECK(stored_policy(&f).backends == p.backends);
	CHECK(mfx_register(&f, &w, BOB) == TX_CALL_REG_BACKEND_NOT_ALLOWED);
	/* SGX allowed but only at confidence 1..5: an unverified quote is too weak */
	p.max_confidence_level = 5;
	CHECK(set_policy(&f, ALICE, &p) == TX_OK);
	sgx_report(&f, &rep, q, &w, BOB, 0);
	CHECK(mfx_register_report(&f, BOB, &w, f.acct[BOB].pk, &rep) == TX_CALL_REG_LOW_CONFIDENCE);
	/* the closed policy (what a chain without "attestation" has) accepts nothing */
	attest_policy_closed(&p);
	CHECK(set_policy(&f, ALICE, &p) == TX_OK);
	CHECK(mfx_register(&f, &w, BOB) == TX_CALL_REG_BACKEND_NOT_ALLOWED);
	mfx_release(&f);
}

/* ---- gatekeepers, clusters, master key ---- */

static void gatekeepers(void)
{
	struct mfx f;
	struct mfx_worker w1, w2, stranger;
	uint8_t ids[REGISTRY_MAX_GATEKEEPERS][32];
	size_t n;
	mfx_init(&f);
	mfx_worker_init(&w1, "g1");
	mfx_worker_init(&w2, "g2");
	mfx_worker_init(&stranger, "nobody");
	CHECK(mfx_register(&f, &w1, BOB) == TX_OK);
	CHECK(mfx_register(&f, &w2, BOB) == TX_OK);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, stranger.id.pk) ==
	      TX_CALL_REG_UNKNOWN_WORKER);
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ADD_GATEKEEPER, w1.id.pk,
	               32) == TX_CALL_NOT_SUDO);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ADD_GATEKEEPER, w1.id.pk,
	               31) == TX_BAD_PAYLOAD);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, w1.id.pk) == TX_OK);
	const uint8_t *ev = event(&f, REGISTRY_EV_GATEKEEPER_ADDED, 64);
	CHECK(ev && memcmp(ev, w1.id.pk, 32) == 0 && memcmp(ev + 32, w1.hpke, 32) == 0);
	CHECK(worker_of(&f, w1.id.pk).is_gatekeeper);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, w1.id.pk) ==
	      TX_CALL_REG_ALREADY_GATEKEEPER);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, w2.id.pk) == TX_OK);
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_gatekeepers_get(&r, ids, &n) == 1 && n == 2);
	CHECK(memcmp(ids[0], w1.id.pk, 32) == 0 && memcmp(ids[1], w2.id.pk, 32) == 0);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, stranger.id.pk) ==
	      TX_CALL_REG_UNKNOWN_WORKER);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, w1.id.pk) == TX_OK);
	ev = event(&f, REGISTRY_EV_GATEKEEPER_REMOVED, 32);
	CHECK(ev && memcmp(ev, w1.id.pk, 32) == 0);
	CHECK(!worker_of(&f, w1.id.pk).is_gatekeeper);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, w1.id.pk) ==
	      TX_CALL_REG_NOT_GATEKEEPER);
	CHECK(registry_gatekeepers_get(&r, ids, &n) == 1 && n == 1);
	CHECK(memcmp(ids[0], w2.id.pk, 32) == 0);
	/* the last gatekeeper may go while no master key exists */
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, w2.id.pk) == TX_OK);
	CHECK(registry_gatekeepers_get(&r, ids, &n) == 1 && n == 0);
	mfx_release(&f);
}

static void gatekeeper_cap(void)
{
	struct mfx f;
	struct mfx_worker w;
	mfx_init(&f);
	for (int i = 0; i <= REGISTRY_MAX_GATEKEEPERS; i++) {
		char label[16];
		snprintf(label, sizeof(label), "gk%d", i);
		mfx_worker_init(&w, label);
		CHECK(mfx_register(&f, &w, BOB) == TX_OK);
		enum tx_result want = i < REGISTRY_MAX_GATEKEEPERS ? TX_OK : TX_CALL_REG_FULL;
		CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, w.id.pk) == want);
	}
	mfx_release(&f);
}

static void clusters(void)
{
	struct mfx f;
	struct mfx_worker w, stranger;
	uint64_t created;
	bool has_keys;
	struct registry_keys k;
	mfx_init(&f);
	mfx_worker_init(&w, "w");
	mfx_worker_init(&stranger, "nobody");
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	uint8_t b[4] = {7, 0, 0, 0};
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_CREATE_CLUSTER, b, 4) ==
	      TX_CALL_NOT_SUDO);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_CREATE_CLUSTER, b, 3) ==
	      TX_BAD_PAYLOAD);
	uint64_t h = f.height;
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 7) == TX_OK);
	const uint8_t *ev = event(&f, REGISTRY_EV_CLUSTER_CREATED, 4);
	CHECK(ev && ev[0] == 7 && ev[1] == 0);
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_cluster_get(&r, 7, &created, &has_keys, &k) == 1 && created == h &&
	      !has_keys);
	CHECK(registry_cluster_get(&r, 8, &created, &has_keys, &k) == 0);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 7) == TX_CALL_REG_CLUSTER_EXISTS);
	CHECK(mfx_assign(&f, w.id.pk, 8) == TX_CALL_REG_UNKNOWN_CLUSTER);
	CHECK(mfx_assign(&f, stranger.id.pk, 7) == TX_CALL_REG_UNKNOWN_WORKER);
	CHECK(mfx_assign(&f, w.id.pk, 7) == TX_OK);
	ev = event(&f, REGISTRY_EV_WORKER_ASSIGNED, 68);
	CHECK(ev && memcmp(ev, w.id.pk, 32) == 0 && memcmp(ev + 32, w.hpke, 32) == 0 &&
	      ev[64] == 7);
	struct registry_worker rec = worker_of(&f, w.id.pk);
	CHECK(rec.has_cluster && rec.cluster == 7);
	/* re-registration keeps the assignment */
	CHECK(mfx_register(&f, &w, BOB) == TX_OK);
	CHECK(worker_of(&f, w.id.pk).cluster == 7);
	mfx_release(&f);
}

static enum tx_result publish_master(struct mfx *f, const struct mfx_worker *gk, uint8_t kind,
                                     uint32_t epoch, const uint8_t pub[32], uint64_t seq)
{
	uint8_t pl[36];
	registry_master_key_payload(pl, epoch, pub);
	struct mq_message m = mfx_msg(kind, gk->id.pk, REGISTRY_TOPIC_MASTER_KEY, pl, 36, seq);
	return mfx_push_consumed(f, CHARLIE, &m, gk->id.sk);
}

static uint64_t next_seq(struct mfx *f, uint8_t kind, const uint8_t id[32])
{
	struct mq_origin o = {.kind = kind};
	uint64_t seq;
	memcpy(o.id, id, 32);
	struct state_reader r = mfx_reader(f);
	CHECK(mq_next_sequence(&r, &o, &seq) >= 0);
	return seq;
}

/* Publications arrive through mq: a refusal by the registry is recorded in mq's consumed notice
 * and still takes the sender's sequence (mfx_push_consumed checks the notice). */
static void master_key_and_rotation(void)
{
	struct mfx f;
	struct mfx_worker gk, plain;
	struct registry_master m;
	uint8_t k0[32], k1[32], got[32];
	uint64_t h;
	mfx_init(&f);
	mfx_worker_init(&gk, "gk");
	mfx_worker_init(&plain, "plain");
	hash_tagged(k0, "tenebra/v1/test", "k0", 2);
	hash_tagged(k1, "tenebra/v1/test", "k1", 2);
	CHECK(mfx_register(&f, &gk, BOB) == TX_OK);
	CHECK(mfx_register(&f, &plain, BOB) == TX_OK);
	/* only a current gatekeeper may publish (mq refuses the push: no sequence is taken), and
	 * only with the gatekeeper origin (the registry refuses: the worker's sequence is taken) */
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, k0, 0) ==
	      TX_CALL_REG_NOT_GATEKEEPER);
	CHECK(next_seq(&f, MQ_ORIGIN_GATEKEEPER, gk.id.pk) == 0);
	CHECK(publish_master(&f, &plain, MQ_ORIGIN_WORKER, 0, k0, 0) == TX_CALL_MQ_BAD_ORIGIN);
	CHECK(next_seq(&f, MQ_ORIGIN_WORKER, plain.id.pk) == 1);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, NULL,
	               0) == TX_CALL_REG_NO_MASTER_KEY);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, gk.id.pk) == TX_OK);
	/* an epoch ahead of the chain's is refused; the refusal writes nothing but takes seq 0 */
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 1, k0, 0) == TX_CALL_REG_KEY_CONFLICT);
	CHECK(mfx_out_count(&f) == 1); /* the notice only: no registry event */
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_master_get(&r, &m) == 0 && !m.published);
	CHECK(next_seq(&f, MQ_ORIGIN_GATEKEEPER, gk.id.pk) == 1);
	h = f.height;
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, k0, 1) == TX_OK);
	const uint8_t *ev = event(&f, REGISTRY_EV_MASTER_KEY, 36);
	CHECK(ev && ev[0] == 0 && memcmp(ev + 4, k0, 32) == 0);
	uint64_t ph;
	CHECK(registry_master_get(&r, &m) == 1 && m.epoch == 0 && m.published);
	CHECK(registry_master_key_get(&r, 0, got, &ph) == 1 && memcmp(got, k0, 32) == 0 && ph == h);
	/* the same key again is a no-op; another key for epoch 0 is refused */
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, k0, 2) == TX_OK);
	CHECK(mfx_out_count(&f) == 1);
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, k1, 3) == TX_CALL_REG_KEY_CONFLICT);
	CHECK(registry_master_key_get(&r, 0, got, &ph) == 1 && memcmp(got, k0, 32) == 0);
	/* the last gatekeeper holding a key cannot be removed */
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_REMOVE_GATEKEEPER, gk.id.pk) ==
	      TX_CALL_REG_LAST_GATEKEEPER);
	/* rotation: sudo only; moves to epoch 1; its key must be published before the next */
	CHECK(mfx_call(&f, BOB, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, NULL, 0) ==
	      TX_CALL_NOT_SUDO);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, "x", 1) ==
	      TX_BAD_PAYLOAD);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, NULL,
	               0) == TX_OK);
	ev = event(&f, REGISTRY_EV_MASTER_KEY_ROTATION, 4);
	CHECK(ev && ev[0] == 1);
	CHECK(registry_master_get(&r, &m) == 1 && m.epoch == 1 && !m.published);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, NULL,
	               0) == TX_CALL_REG_NO_MASTER_KEY);
	/* a publication for an epoch the rotation left behind is a no-op, even another key */
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, k1, 4) == TX_OK);
	CHECK(mfx_out_count(&f) == 1);
	CHECK(registry_master_get(&r, &m) == 1 && m.epoch == 1 && !m.published);
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 1, k1, 5) == TX_OK);
	/* history: both keys readable */
	CHECK(registry_master_key_get(&r, 0, got, &ph) == 1 && memcmp(got, k0, 32) == 0);
	CHECK(registry_master_key_get(&r, 1, got, &ph) == 1 && memcmp(got, k1, 32) == 0);
	CHECK(registry_master_key_get(&r, 2, got, &ph) == 0);
	/* malformed payload: refused, sequence taken */
	struct mq_message bad =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, gk.id.pk, REGISTRY_TOPIC_MASTER_KEY, k0, 32, 6);
	CHECK(mfx_push_consumed(&f, CHARLIE, &bad, gk.id.sk) == TX_CALL_MQ_BAD_MESSAGE);
	CHECK(next_seq(&f, MQ_ORIGIN_GATEKEEPER, gk.id.pk) == 7);
	mfx_release(&f);
}

/* Cluster keys; and the rule that keeps the shared gatekeeper sequence moving: whatever the
 * registry refuses, the next gatekeeper message (here the one that matters) is taken. */
static void cluster_keys(void)
{
	struct mfx f;
	struct mfx_worker gk;
	struct registry_keys k = {.cluster = 3, .epoch = 0}, got;
	uint8_t pl[72], mk[32];
	uint64_t seq = 0, created;
	bool has_keys;
	mfx_init(&f);
	mfx_worker_init(&gk, "gk");
	memset(k.x25519, 0x11, 32);
	memset(k.ed25519, 0x22, 32);
	memset(mk, 0x33, 32);
	CHECK(mfx_register(&f, &gk, BOB) == TX_OK);
	CHECK(mfx_sudo_id(&f, REGISTRY_FN_ADD_GATEKEEPER, gk.id.pk) == TX_OK);
	registry_cluster_key_payload(pl, &k);
	struct mq_message m =
	    mfx_msg(MQ_ORIGIN_GATEKEEPER, gk.id.pk, REGISTRY_TOPIC_CLUSTER_KEY, pl, 72, seq++);
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_REG_UNKNOWN_CLUSTER);
	CHECK(mfx_sudo_u32(&f, REGISTRY_FN_CREATE_CLUSTER, 3) == TX_OK);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_REG_NO_MASTER_KEY);
	struct state_reader r = mfx_reader(&f);
	CHECK(registry_cluster_get(&r, 3, &created, &has_keys, &got) == 1 && !has_keys);
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 0, mk, seq++) == TX_OK);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_OK);
	const uint8_t *ev = event(&f, REGISTRY_EV_CLUSTER_KEY, 72);
	CHECK(ev && memcmp(ev, pl, 72) == 0);
	CHECK(registry_cluster_get(&r, 3, &created, &has_keys, &got) == 1 && has_keys);
	CHECK(got.epoch == 0 && memcmp(got.ed25519, k.ed25519, 32) == 0);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_OK); /* same keys: no-op */
	CHECK(mfx_out_count(&f) == 1);
	k.ed25519[0] ^= 1;
	registry_cluster_key_payload(pl, &k);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_REG_KEY_CONFLICT);
	/* a rotation lands between queueing epoch 0's keys and their inclusion: a no-op, and the
	 * sequence moves on to the next epoch's publications */
	uint8_t mk1[32];
	memset(mk1, 0x44, 32);
	CHECK(mfx_call(&f, ALICE, RUNTIME_MODULE_REGISTRY, REGISTRY_FN_ROTATE_MASTER_KEY, NULL,
	               0) == TX_OK);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_OK);
	CHECK(mfx_out_count(&f) == 1);
	CHECK(publish_master(&f, &gk, MQ_ORIGIN_GATEKEEPER, 1, mk1, seq++) == TX_OK);
	k.epoch = 1;
	registry_cluster_key_payload(pl, &k);
	m.sequence = seq++;
	CHECK(mfx_push_consumed(&f, CHARLIE, &m, gk.id.sk) == TX_OK);
	CHECK(registry_cluster_get(&r, 3, &created, &has_keys, &got) == 1 && got.epoch == 1);
	CHECK(next_seq(&f, MQ_ORIGIN_GATEKEEPER, gk.id.pk) == seq);
	/* the same sequence again is a replay: refused by mq, nothing consumed */
	CHECK(mfx_push(&f, CHARLIE, &m, gk.id.sk) == TX_CALL_MQ_WRONG_SEQUENCE);
	mfx_release(&f);
}

/* ---- genesis ---- */

/* Parses the dev genesis with "attestation" replaced by patch (a JSON object of fields to set;
 * a field set to null is removed; patch NULL removes the whole section). */
static enum genesis_result parse_patched(const char *patch, struct genesis *g)
{
	char *json = genesis_dev_json(1000);
	json_t *root = json_loads(json, 0, NULL);
	json_t *att = json_object_get(root, "attestation");
	if (!patch) {
		json_object_del(root, "attestation");
	} else {
		json_t *p = json_loads(patch, 0, NULL);
		const char *k;
		json_t *v;
		CHECK(p != NULL);
		json_object_foreach(p, k, v)
		{
			if (json_is_null(v))
				json_object_del(att, k);
			else
				json_object_set(att, k, v);
		}
		json_decref(p);
	}
	char *out = json_dumps(root, 0);
	char err[256];
	enum genesis_result r = genesis_parse(g, out, strlen(out), err, sizeof(err));
	if (r != GENESIS_OK)
		fprintf(stderr, "  (expected) %s\n", err);
	free(out);
	json_decref(root);
	free(json);
	return r;
}

static void genesis_policy(void)
{
	struct genesis g;
	uint8_t pk[32], sk[64], with[32], without[32];
	char hex[65];
	attest_dev_sim_keypair(pk, sk);
	CHECK_STR(hex_encode(hex, pk, 32),
	          "97efc5da26bd0f983aba16ac3e0cd651d5c2e62dde9009d7e3fdd464b72c1565"); /* docs */
	CHECK(parse_patched("{}", &g) == GENESIS_OK);
	CHECK(g.has_attestation && g.attestation.backends == (1u << ATTEST_BACKEND_SIM));
	CHECK(g.attestation.any_measurement && g.attestation.n_measurements == 0);
	CHECK(g.attestation.n_sim_keys == 1 && memcmp(g.attestation.sim_keys[0], pk, 32) == 0);
	CHECK(g.attestation.max_report_age == 600 && g.attestation.max_confidence_level == 128);
	genesis_hash(with, &g);
	/* the policy lands in state */
	struct memstate m = {0};
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	struct attest_policy p;
	state_overlay_init(&o, &r, NULL);
	CHECK(genesis_build_state(&g, &o) == STATE_OK);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);
	CHECK(registry_policy_get(&r, &p) == 1 && memcmp(&p, &g.attestation, sizeof(p)) == 0);
	genesis_release(&g);
	mem_release(&m);
	/* without the section: another chain, and a closed policy */
	CHECK(parse_patched(NULL, &g) == GENESIS_OK && !g.has_attestation);
	genesis_hash(without, &g);
	CHECK(memcmp(with, without, 32) != 0);
	r = mem_reader(&m);
	state_overlay_init(&o, &r, NULL);
	CHECK(genesis_build_state(&g, &o) == STATE_OK);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);
	CHECK(registry_policy_get(&r, &p) == 0 && p.backends == 0);
	genesis_release(&g);
	mem_release(&m);
	/* an explicit measurement list and both backends */
	CHECK(
	    parse_patched("{\"any_measurement\": false, \"backends\": [\"gramine-sgx\", \"sim\"], "
	                  "\"measurements\": [\"0x"
	                  "aa"
	                  "00000000000000000000000000000000"
	                  "000000000000000000000000000000\"]}",
	                  &g) == GENESIS_OK);
	CHECK(g.attestation.backends == 6 && g.attestation.n_measurements == 1);
	CHECK(g.attestation.measurements[0][0] == 0xaa);
	genesis_release(&g);
}

static void genesis_policy_refusals(void)
{
	static const struct {
		const char *patch;
		enum genesis_result want;
	} cases[] = {
	    {"{\"backends\": [\"sgx\"]}", GENESIS_BAD_VALUE},
	    {"{\"backends\": [\"sim\", \"sim\"]}", GENESIS_DUPLICATE},
	    {"{\"backends\": \"sim\"}", GENESIS_BAD_TYPE},
	    {"{\"backends\": [\"sim\", \"gramine-sgx\", \"sim\"]}", GENESIS_TOO_LARGE},
	    {"{\"sim_attestation_keys\": [\"12\"]}", GENESIS_BAD_VALUE},
	    {"{\"sim_attestation_keys\": [1]}", GENESIS_BAD_VALUE},
	    {"{\"sim_attestation_keys\": []}", GENESIS_RULE},
	    {"{\"any_measurement\": 1}", GENESIS_BAD_TYPE},
	    {"{\"any_measurement\": false}", GENESIS_RULE},
	    {"{\"measurements\": [\""
	     "1111111111111111111111111111111111111111111111111111111111111111"
	     "\"]}",
	     GENESIS_RULE},
	    {"{\"max_confidence_level\": 0}", GENESIS_BAD_VALUE},
	    {"{\"max_report_age\": 0}", GENESIS_BAD_VALUE},
	    {"{\"max_report_age\": null}", GENESIS_MISSING_FIELD},
	    {"{\"max_reprot_age\": 5}", GENESIS_UNKNOWN_FIELD},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct genesis g;
		enum genesis_result r = parse_patched(cases[i].patch, &g);
		CHECK(r == cases[i].want);
		if (r == GENESIS_OK)
			genesis_release(&g);
	}
	/* duplicate and too many keys */
	char keys[2048] = "{\"sim_attestation_keys\": [";
	for (int i = 0; i <= ATTEST_MAX_SIM_KEYS; i++) {
		char one[80];
		snprintf(one, sizeof(one), "%s\"%064d\"", i ? ", " : "", i);
		strcat(keys, one);
	}
	strcat(keys, "]}");
	struct genesis g;
	CHECK(parse_patched(keys, &g) == GENESIS_TOO_LARGE);
	CHECK(parse_patched("{\"sim_attestation_keys\": [\""
	                    "00000000000000000000000000000000"
	                    "00000000000000000000000000000001\", \""
	                    "000000000000000000000000000000"
	                    "0000000000000000000000000000000001\"]}",
	                    &g) == GENESIS_DUPLICATE);
}

CHECK_MAIN(CASE(report_codec), CASE(policy_codec), CASE(verify_order), CASE(sgx_quote_checks),
           CASE(register_and_reregister), CASE(register_refusals), CASE(admission_operator_rule),
           CASE(sgx_registration), CASE(policy_governance), CASE(gatekeepers), CASE(gatekeeper_cap),
           CASE(clusters), CASE(master_key_and_rotation), CASE(cluster_keys), CASE(genesis_policy),
           CASE(genesis_policy_refusals))
