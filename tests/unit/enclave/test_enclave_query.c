/* enclave_query: who may read what, refusals with the right enclave_result, caps, answers only
 * the asker can open, session queries (HPKE auth mode) through the enclave's session cache,
 * concurrency, and that no query changes the enclave's state. */
#include <pthread.h>

#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/harness.h"
#include "crypto/seal.h"

#define QUERY_BUF 1024

struct fixture {
	struct harness_world w;
	uint8_t id[32], pk[32], spk[32];
	uint8_t other[32], other_pk[32], other_spk[32];
};

/* A counter with alice 5, bob 2, and a second counter with total 4. */
static void fixture_init(struct fixture *f, const struct enclave_config *cfg)
{
	harness_world_init(&f->w, cfg);
	harness_deploy_counter(&f->w, 0, 1, f->id, f->pk, f->spk);
	harness_deploy_counter(&f->w, 0, 2, f->other, f->other_pk, f->other_spk);
	harness_command(&f->w.chain, &f->w.plat, f->pk, f->id, "alice", 1, "add 5");
	harness_command(&f->w.chain, &f->w.plat, f->pk, f->id, "bob", 1, "add 2");
	harness_command(&f->w.chain, &f->w.plat, f->other_pk, f->other, "bob", 2, "add 4");
	harness_world_block(&f->w);
}

static void fixture_default(struct fixture *f)
{
	struct enclave_config cfg = harness_config(1 << 20);
	fixture_init(f, &cfg);
}

/* Seals a query to f's counter and runs it; the client keys go to k (released by the caller). */
static enum enclave_result run_query(struct fixture *f, const char *who, uint64_t expiry,
                                     const char *req, struct enc *out, struct env_query_client *k)
{
	uint8_t q[QUERY_BUF];
	size_t n =
	    harness_seal_query(&f->w.plat, &f->w.chain, f->pk, f->id, who, expiry, req, q, k);
	return enclave_query(f->w.e, q, n, out);
}

static void the_asker_gets_its_own_data_and_only_it_can_read_it(void)
{
	struct fixture f;
	fixture_default(&f);
	CHECK(harness_ask(&f.w, f.pk, f.id, "alice", "get mine") == 5);
	CHECK(harness_ask(&f.w, f.pk, f.id, "bob", "get mine") == 2);
	CHECK(harness_ask(&f.w, f.pk, f.id, "charlie", "get mine") == 0);
	CHECK(harness_ask(&f.w, f.pk, f.id, "charlie", "get total") == 7);

	/* Two queries: each answer opens with its own client keys only. */
	struct enc a1, a2;
	struct env_query_client k1, k2;
	enc_init(&a1, 4096);
	enc_init(&a2, 4096);
	uint64_t exp = f.w.chain.height + 3;
	CHECK(run_query(&f, "alice", exp, "get mine", &a1, &k1) == ENCLAVE_OK);
	CHECK(run_query(&f, "alice", exp, "get mine", &a2, &k2) == ENCLAVE_OK);
	uint32_t res = 0;
	uint8_t body[64];
	size_t len = 0;
	CHECK(harness_open_answer(&k1, a1.buf, a1.len, &res, body, &len));
	CHECK(res == CONTRACT_OK && len == 8 && body[0] == 5);
	CHECK(!harness_open_answer(&k2, a1.buf, a1.len, &res, body, &len));
	CHECK(!harness_open_answer(&k1, a2.buf, a2.len, &res, body, &len));
	a1.buf[a1.len - 1] ^= 1;
	CHECK(!harness_open_answer(&k1, a1.buf, a1.len, &res, body, &len));
	env_query_client_release(&k1);
	env_query_client_release(&k2);
	enc_release(&a1);
	enc_release(&a2);

	/* A refusal by the contract is an answer too, sealed to the asker. */
	CHECK(harness_ask_raw(&f.w, f.w.e, f.pk, f.id, "alice", "get everything", &res, body,
	                      &len) == ENCLAVE_OK);
	CHECK(res == CONTRACT_BAD_REQUEST && len == 0);
	harness_world_release(&f.w);
}

/* A session key alice certified reads alice's data; an expired certificate does not. */
static void session_keys_act_for_their_account(void)
{
	struct fixture f;
	fixture_default(&f);
	uint8_t apk[32], ask[64], spk[32], ssk[64], seed[32] = {5};
	CHECK(devkeys_keypair("alice", apk, ask));
	sig_keypair_from_seed(spk, ssk, seed);
	uint64_t h = f.w.chain.height;
	for (int expired = 0; expired < 2; expired++) {
		struct env_cert cert;
		env_cert_sign(&cert, ENV_CERT_ED25519, f.w.chain.chain_id, ask, spk,
		              expired ? h - 1 : h + 10);
		struct env_signer s = {.sk = ssk, .cert = &cert};
		uint8_t q[QUERY_BUF];
		size_t n;
		struct env_query_client k;
		CHECK(env_query_seal(HPKE_AEAD_CHACHA20POLY1305, f.pk, f.w.chain.chain_id, f.id,
		                     h + 2, &s, (const uint8_t *)"get mine", 8, testplat_random,
		                     &f.w.plat, q, &n, &k) == ENV_OK);
		struct enc out;
		enc_init(&out, 4096);
		enum enclave_result r = enclave_query(f.w.e, q, n, &out);
		if (expired) {
			CHECK(r == ENCLAVE_QUERY_EXPIRED);
		} else {
			uint32_t res = 0;
			uint8_t body[64];
			size_t len = 0;
			CHECK(r == ENCLAVE_OK);
			CHECK(harness_open_answer(&k, out.buf, out.len, &res, body, &len));
			CHECK(res == CONTRACT_OK && len == 8 && body[0] == 5);
		}
		env_query_client_release(&k);
		enc_release(&out);
	}
	harness_world_release(&f.w);
}

/* An X25519 session key pair from a one-byte seed. */
static void xsession(uint8_t pk[32], uint8_t sk[32], uint8_t seed_byte)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof(seed));
	hpke_keypair_from_seed(pk, sk, seed);
}

/* Runs a session query of `who` through session key (spk, ssk) and sets *value to the answer
 * (-1: none). No CHECK here: threads call it. */
static enum enclave_result run_session(struct fixture *f, const char *who, const uint8_t *spk,
                                       const uint8_t *ssk, uint64_t cert_expiry, int *value)
{
	uint8_t q[QUERY_BUF];
	struct env_query_client k;
	size_t n =
	    harness_seal_session_query(&f->w.plat, &f->w.chain, f->pk, f->id, who, spk, ssk,
	                               cert_expiry, f->w.chain.height + 2, "get mine", q, &k);
	struct enc out;
	enc_init(&out, 4096);
	enum enclave_result r = enclave_query(f->w.e, q, n, &out);
	uint32_t res = 0;
	uint8_t body[64];
	size_t len = 0;
	*value = -1;
	if (r == ENCLAVE_OK && harness_open_answer(&k, out.buf, out.len, &res, body, &len) &&
	    res == CONTRACT_OK && len == 8)
		*value = body[0];
	if (r != ENCLAVE_OK && out.len != 0)
		*value = -2; /* a refusal wrote something */
	env_query_client_release(&k);
	enc_release(&out);
	return r;
}

/* Session queries answer for the certifying account, again and again from the cache; the
 * refusals keep their meaning, and a refused certificate never passes later. */
static void session_queries_act_for_their_account(void)
{
	struct fixture f;
	fixture_default(&f);
	uint8_t spk[32], ssk[32], tpk[32], tsk[32];
	xsession(spk, ssk, 0x31);
	xsession(tpk, tsk, 0x32);
	uint64_t h = f.w.chain.height;
	int v = 0;
	for (int i = 0; i < 3; i++) {
		CHECK(run_session(&f, "alice", spk, ssk, h + 10, &v) == ENCLAVE_OK && v == 5);
		CHECK(run_session(&f, "bob", tpk, tsk, h + 10, &v) == ENCLAVE_OK && v == 2);
	}
	CHECK(run_session(&f, "alice", spk, ssk, h - 1, &v) == ENCLAVE_QUERY_EXPIRED && v == -1);
	CHECK(run_session(&f, "alice", spk, ssk, h, &v) == ENCLAVE_OK && v == 5);

	/* sealed with bob's session key under alice's certificate of another key */
	uint8_t q[QUERY_BUF];
	struct env_query_client k;
	size_t n = harness_seal_session_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice", spk, tsk,
	                                      h + 10, h + 2, "get mine", q, &k);
	env_query_client_release(&k);
	struct enc out;
	enc_init(&out, 4096);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_DECRYPT);
	/* every changed byte of a session query, twice (the cache has seen the first pass) */
	n = harness_seal_session_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice", spk, ssk, h + 10,
	                               h + 2, "get mine", q, &k);
	env_query_client_release(&k);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++) {
			q[i] ^= 0x08;
			CHECK(enclave_query(f.w.e, q, n, &out) != ENCLAVE_OK);
			q[i] ^= 0x08;
		}
	/* a certificate claiming alice, signed by bob: refused now and after */
	uint8_t bpk[32], bsk[64];
	CHECK(devkeys_keypair("bob", bpk, bsk));
	struct env_cert forged;
	env_cert_sign(&forged, ENV_CERT_X25519, f.w.chain.chain_id, bsk, spk, h + 10);
	memcpy(q + 36 + 72, forged.sig, 64);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_SIGNATURE);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_SIGNATURE);
	CHECK(out.len == 0);
	enc_release(&out);
	CHECK(run_session(&f, "alice", spk, ssk, h + 10, &v) == ENCLAVE_OK && v == 5);
	harness_world_release(&f.w);
}

/* A cache of one entry: sessions evict each other and every answer stays right. */
static void session_cache_eviction(void)
{
	struct fixture f;
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_query_sessions = 1;
	fixture_init(&f, &cfg);
	uint8_t spk[32], ssk[32], tpk[32], tsk[32];
	xsession(spk, ssk, 0x41);
	xsession(tpk, tsk, 0x42);
	int v = 0;
	for (int i = 0; i < 4; i++) {
		CHECK(run_session(&f, "alice", spk, ssk, f.w.chain.height + 5, &v) == ENCLAVE_OK);
		CHECK(v == 5);
		CHECK(run_session(&f, "bob", tpk, tsk, f.w.chain.height + 5, &v) == ENCLAVE_OK);
		CHECK(v == 2);
	}
	harness_world_release(&f.w);
}

static void expired_misaddressed_and_malformed_queries_are_refused(void)
{
	struct fixture f;
	fixture_default(&f);
	uint64_t h = f.w.chain.height;
	struct enc out;
	enc_init(&out, 4096);
	struct env_query_client k;
	CHECK(run_query(&f, "alice", h - 1, "get mine", &out, &k) == ENCLAVE_QUERY_EXPIRED);
	env_query_client_release(&k);
	CHECK(run_query(&f, "alice", h, "get mine", &out, &k) ==
	      ENCLAVE_OK); /* last valid height */
	env_query_client_release(&k);
	CHECK(run_query(&f, "alice", h + 100, "get mine", &out, &k) == ENCLAVE_OK);
	env_query_client_release(&k);
	CHECK(run_query(&f, "alice", h + 101, "get mine", &out, &k) == ENCLAVE_QUERY_EXPIRED);
	env_query_client_release(&k);
	CHECK(run_query(&f, "alice", UINT64_MAX, "get mine", &out, &k) == ENCLAVE_QUERY_EXPIRED);
	env_query_client_release(&k);
	out.len = 0; /* the two answers; the refusals below must add nothing */

	/* A contract this worker does not host. */
	uint8_t nowhere[32] = {9}, q[QUERY_BUF];
	size_t n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, nowhere, "alice", h + 1,
	                              "get mine", q, &k);
	env_query_client_release(&k);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_NO_CONTRACT);
	/* Sealed to another contract's key: does not open. */
	n = harness_seal_query(&f.w.plat, &f.w.chain, f.other_pk, f.id, "alice", h + 1, "get mine",
	                       q, &k);
	env_query_client_release(&k);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_DECRYPT);
	/* Signed by bob but claiming alice: the account field is signed, so it fails there. */
	n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, f.id, "bob", h + 1, "get mine", q, &k);
	env_query_client_release(&k);
	struct env_query_msg m;
	CHECK(env_query_decode(&m, q, n) == ENV_OK);
	uint8_t alice[32], ask[64];
	CHECK(devkeys_keypair("alice", alice, ask));
	memcpy((uint8_t *)m.account, alice, 32);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_QUERY_SIGNATURE);
	/* Garbage, and nothing at all. */
	CHECK(enclave_query(f.w.e, (const uint8_t *)"junk", 4, &out) == ENCLAVE_BAD_INPUT);
	CHECK(enclave_query(f.w.e, q, 0, &out) == ENCLAVE_BAD_INPUT);
	CHECK(out.len == 0); /* no refusal wrote anything */
	enc_release(&out);

	struct testplat p = {.quiet = 1};
	struct enclave_config cfg = harness_config(1 << 20);
	struct enclave *cold = testplat_enclave(&p, &cfg);
	CHECK(enclave_query(cold, q, n, &out) == ENCLAVE_NOT_STARTED);
	enclave_free(cold);
	harness_world_release(&f.w);
}

/* Every one-byte change to a valid query is refused, and the refusal writes nothing. */
static void any_changed_byte_is_refused(void)
{
	struct fixture f;
	fixture_default(&f);
	uint8_t q[QUERY_BUF];
	struct env_query_client k;
	size_t n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice",
	                              f.w.chain.height + 2, "get mine", q, &k);
	env_query_client_release(&k);
	struct enc out;
	enc_init(&out, 4096);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			q[i] ^= (uint8_t)(1u << bit);
			CHECK(enclave_query(f.w.e, q, n, &out) != ENCLAVE_OK);
			q[i] ^= (uint8_t)(1u << bit);
		}
	}
	CHECK(out.len == 0);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_OK);
	enc_release(&out);
	harness_world_release(&f.w);
}

static void caps_on_request_and_answer(void)
{
	struct fixture f;
	struct enclave_config cfg = harness_config(1 << 20);
	uint8_t q[QUERY_BUF];
	struct env_query_client k;
	/* A get answer is 4 + 8 bytes under nonce + tag. */
	cfg.max_response_bytes = ENV_RESPONSE_OVERHEAD + 4 + 8;
	fixture_init(&f, &cfg);
	size_t n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice",
	                              f.w.chain.height + 2, "get mine", q, &k);
	env_query_client_release(&k);
	struct enc out;
	enc_init(&out, 4096);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_OK);
	CHECK(out.len == ENV_RESPONSE_OVERHEAD + 12);
	harness_world_release(&f.w);

	cfg.max_response_bytes = ENV_RESPONSE_OVERHEAD + 4 + 7;
	cfg.max_query_bytes = n;
	fixture_init(&f, &cfg);
	n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice", f.w.chain.height + 2,
	                       "get mine", q, &k);
	env_query_client_release(&k);
	out.len = 0;
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_TOO_LARGE);
	n = harness_seal_query(&f.w.plat, &f.w.chain, f.pk, f.id, "alice", f.w.chain.height + 2,
	                       "get mine ", q, &k); /* one byte over max_query_bytes */
	env_query_client_release(&k);
	CHECK(enclave_query(f.w.e, q, n, &out) == ENCLAVE_TOO_LARGE);
	CHECK(out.len == 0);
	enc_release(&out);
	harness_world_release(&f.w);
}

/* The enclave's whole state, unsealed: a checkpoint's plaintext. */
static void state_bytes(struct fixture *f, struct enc *pt)
{
	struct enc ck;
	enc_init(&ck, 1 << 20);
	CHECK(enclave_checkpoint(f->w.e, &ck) == ENCLAVE_OK);
	struct enclave_status st;
	enclave_status(f->w.e, &st);
	enc_init(pt, 1 << 20);
	uint8_t *buf = malloc(ck.len);
	size_t n;
	CHECK(seal_unwrap(f->w.plat.seal_key, st.chain_id, f->w.plat.measurement, "checkpoint",
	                  ck.buf, ck.len, buf, &n) == SEAL_OK);
	enc_raw(pt, buf, n);
	free(buf);
	enc_release(&ck);
}

static void queries_never_change_state(void)
{
	struct fixture f;
	fixture_default(&f);
	struct enc before, after;
	state_bytes(&f, &before);
	char peek[80];
	hex_encode(stpcpy(peek, "peek "), f.other, 32);
	const char *reqs[] = {"get mine", "get total", "get roll", "get blocks", "add 5",
	                      "roll",     "fail",      peek,       "",           "get"};
	const char *who[] = {"alice", "bob", "eve"};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		for (size_t j = 0; j < 3; j++) {
			uint32_t res = 0;
			uint8_t body[64];
			size_t len = 0;
			enum enclave_result r = harness_ask_raw(&f.w, f.w.e, f.pk, f.id, who[j],
			                                        reqs[i], &res, body, &len);
			CHECK(r == ENCLAVE_OK);
			if (reqs[i] == peek)
				CHECK(res == CONTRACT_OK && len == 8 && body[0] == 4);
		}
	state_bytes(&f, &after);
	CHECK(before.len == after.len);
	CHECK_EQ_MEM(before.buf, after.buf, before.len);
	enc_release(&before);
	enc_release(&after);
	harness_world_release(&f.w);
}

#define THREADS    4
#define PER_THREAD 50

struct worker_arg {
	struct fixture *f;
	const char *who;
	uint64_t want;
	int bad;
	uint8_t spk[32], ssk[32]; /* session queries with this key between the signed ones */
};

static void *query_thread(void *p)
{
	struct worker_arg *a = p;
	for (int i = 0; i < PER_THREAD; i++) {
		uint32_t res = 0;
		uint8_t body[64];
		size_t len = 0;
		int v = 0;
		if (harness_ask_raw(&a->f->w, a->f->w.e, a->f->pk, a->f->id, a->who, "get mine",
		                    &res, body, &len) != ENCLAVE_OK ||
		    res != CONTRACT_OK || len != 8 || body[0] != a->want)
			a->bad++;
		if (run_session(a->f, a->who, a->spk, a->ssk, a->f->w.chain.height + 5, &v) !=
		        ENCLAVE_OK ||
		    v != (int)a->want)
			a->bad++;
	}
	return NULL;
}

/* Queries run in parallel (the host's read lock), signed and session ones sharing the session
 * cache, and each gets its own right answer. */
static void concurrent_queries(void)
{
	struct fixture f;
	fixture_default(&f);
	pthread_t t[THREADS];
	struct worker_arg a[THREADS];
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct worker_arg){&f, i % 2 ? "alice" : "bob", i % 2 ? 5 : 2, 0, {0}, {0}};
		xsession(a[i].spk, a[i].ssk,
		         (uint8_t)(0x50 + i % 3)); /* threads 0 and 3: one key, two accounts */
		CHECK(pthread_create(&t[i], NULL, query_thread, &a[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK(a[i].bad == 0);
	}
	harness_world_release(&f.w);
}

CHECK_MAIN(CASE(the_asker_gets_its_own_data_and_only_it_can_read_it),
           CASE(session_keys_act_for_their_account), CASE(session_queries_act_for_their_account),
           CASE(session_cache_eviction),
           CASE(expired_misaddressed_and_malformed_queries_are_refused),
           CASE(any_changed_byte_is_refused), CASE(caps_on_request_and_answer),
           CASE(queries_never_change_state), CASE(concurrent_queries))
