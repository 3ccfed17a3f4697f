/*
 * Envelopes (src/crypto/envelope.h): each envelope rebuilt through hpke.h with info and AAD spelled
 * out by hand (the documented bytes), round trips for both AEADs, the query message layouts
 * (signed and session queries), and every refusal: wrong chain, contract, sender, nonce, account,
 * signer, session key, expiry, certificate, request id, key; a flipped bit at every position;
 * truncation at every length; and the session cache, which never lets a refused certificate pass.
 */
#include "check.h"

#include "crypto/envelope.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"

#include <sodium.h>

struct counter_rng {
	uint8_t next;
};

static void counter_fill(void *ctx, uint8_t *buf, size_t n)
{
	struct counter_rng *r = ctx;
	for (size_t i = 0; i < n; i++)
		buf[i] = r->next++;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* A contract on a chain, with two accounts, an Ed25519 session key and two X25519 session keys. */
struct world {
	uint8_t chain_id[32], contract_id[32];
	uint8_t contract_pk[32], contract_sk[32];
	uint8_t alice_pk[32], alice_sk[64], bob_pk[32], bob_sk[64], sess_pk[32], sess_sk[64];
	uint8_t xs_pk[32], xs_sk[32], xt_pk[32], xt_sk[32];
};

static void world_init(struct world *w)
{
	uint8_t seed[32];
	memset(w->chain_id, 0xc1, 32);
	memset(w->contract_id, 0xc7, 32);
	memset(seed, 0x01, 32);
	kdf_hpke_keypair(w->contract_pk, w->contract_sk, seed);
	memset(seed, 0xa1, 32);
	sig_keypair_from_seed(w->alice_pk, w->alice_sk, seed);
	memset(seed, 0xb0, 32);
	sig_keypair_from_seed(w->bob_pk, w->bob_sk, seed);
	memset(seed, 0x5e, 32);
	sig_keypair_from_seed(w->sess_pk, w->sess_sk, seed);
	memset(seed, 0x65, 32);
	hpke_keypair_from_seed(w->xs_pk, w->xs_sk, seed);
	memset(seed, 0x66, 32);
	hpke_keypair_from_seed(w->xt_pk, w->xt_sk, seed);
}

static enum hpke_aead aeads[2] = {HPKE_AEAD_CHACHA20POLY1305, HPKE_AEAD_AES256GCM};

static size_t n_aeads(void)
{
	return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() ? 2 : 1;
}

/* --- Commands --------------------------------------------------------------------------------- */

static const uint8_t cmd[] = "transfer 5 PHA to bob";
#define CMD_LEN (sizeof(cmd) - 1)

static void command_ctx(struct env_command_ctx *c, const struct world *w)
{
	memcpy(c->chain_id, w->chain_id, 32);
	memcpy(c->contract_id, w->contract_id, 32);
	memcpy(c->sender, w->alice_pk, 32);
	c->nonce = 0x0102030405060708ull;
}

/* env_command_seal is hpke_seal_base_derand with the documented info and AAD. */
static void test_command_bytes(void)
{
	struct world w;
	world_init(&w);
	struct env_command_ctx c;
	command_ctx(&c, &w);
	uint8_t got[CMD_LEN + HPKE_ENVELOPE_OVERHEAD], want[sizeof(got)];
	struct counter_rng rng = {0};
	CHECK(env_command_seal(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, &c, cmd, CMD_LEN,
	                       counter_fill, &rng, got) == ENV_OK);

	uint8_t info[18 + 32], aad[104], ikmE[32];
	memcpy(info, "tenebra/v1/command", 18);
	memcpy(info + 18, w.contract_id, 32);
	memcpy(aad, w.chain_id, 32);
	memcpy(aad + 32, w.contract_id, 32);
	memcpy(aad + 64, w.alice_pk, 32);
	const uint8_t nonce_le[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	memcpy(aad + 96, nonce_le, 8);
	for (int i = 0; i < 32; i++)
		ikmE[i] = (uint8_t)i;
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, info, sizeof(info),
	                            aad, sizeof(aad), cmd, CMD_LEN, ikmE, want, NULL) == HPKE_OK);
	CHECK_EQ_MEM(got, want, sizeof(got));
}

static enum env_result open_cmd(const struct world *w, enum hpke_aead aead,
                                const struct env_command_ctx *c, const uint8_t *env, size_t n)
{
	uint8_t pt[256];
	size_t pt_len = 77;
	memset(pt, 0xee, sizeof(pt));
	enum env_result r =
	    env_command_open(aead, w->contract_sk, w->contract_pk, c, env, n, pt, &pt_len);
	if (r == ENV_OK)
		CHECK(pt_len == CMD_LEN && memcmp(pt, cmd, CMD_LEN) == 0);
	else
		CHECK(pt_len == 0 &&
		      (r != ENV_ERR_OPEN || all_zero(pt, n - HPKE_ENVELOPE_OVERHEAD)));
	return r;
}

static void test_command_refusals(void)
{
	struct world w;
	world_init(&w);
	for (size_t a = 0; a < n_aeads(); a++) {
		struct env_command_ctx c, x;
		command_ctx(&c, &w);
		uint8_t env[CMD_LEN + HPKE_ENVELOPE_OVERHEAD];
		struct counter_rng rng = {.next = 9};
		CHECK(env_command_seal(aeads[a], w.contract_pk, &c, cmd, CMD_LEN, counter_fill,
		                       &rng, env) == ENV_OK);
		CHECK(open_cmd(&w, aeads[a], &c, env, sizeof(env)) == ENV_OK);
		CHECK(open_cmd(&w, aeads[1 - a], &c, env, sizeof(env)) != ENV_OK);
		x = c;
		x.contract_id[0] ^= 1;
		CHECK(open_cmd(&w, aeads[a], &x, env, sizeof(env)) == ENV_ERR_OPEN);
		x = c;
		memcpy(x.sender, w.bob_pk, 32);
		CHECK(open_cmd(&w, aeads[a], &x, env, sizeof(env)) == ENV_ERR_OPEN);
		x = c;
		x.nonce++;
		CHECK(open_cmd(&w, aeads[a], &x, env, sizeof(env)) == ENV_ERR_OPEN);
		x = c;
		x.chain_id[31] ^= 0x40;
		CHECK(open_cmd(&w, aeads[a], &x, env, sizeof(env)) == ENV_ERR_OPEN);
		for (size_t i = 0; i < sizeof(env); i++) {
			env[i] ^= 0x01;
			enum env_result r = open_cmd(&w, aeads[a], &c, env, sizeof(env));
			CHECK(r == ENV_ERR_OPEN || r == ENV_ERR_INVALID_KEY);
			env[i] ^= 0x01;
		}
		for (size_t len = 0; len < sizeof(env); len++) {
			enum env_result r = open_cmd(&w, aeads[a], &c, env, len);
			CHECK(len < HPKE_ENVELOPE_OVERHEAD ? r == ENV_ERR_TRUNCATED
			                                   : r == ENV_ERR_OPEN);
		}
	}
	/* A small-order contract key is refused on the sealing side. */
	struct env_command_ctx c;
	command_ctx(&c, &w);
	uint8_t zero_pk[32] = {0}, env[CMD_LEN + HPKE_ENVELOPE_OVERHEAD];
	struct counter_rng rng = {0};
	CHECK(env_command_seal(HPKE_AEAD_CHACHA20POLY1305, zero_pk, &c, cmd, CMD_LEN, counter_fill,
	                       &rng, env) == ENV_ERR_INVALID_KEY);
	CHECK(env_command_seal((enum hpke_aead)1, w.contract_pk, &c, cmd, CMD_LEN, counter_fill,
	                       &rng, env) == ENV_ERR_AEAD);
}

/* --- Queries ---------------------------------------------------------------------------------- */

static const uint8_t req[] = "balance?";
#define REQ_LEN (sizeof(req) - 1)
#define EXPIRY  1000

struct sealed_query {
	uint8_t msg[512];
	size_t len;
	struct env_query_client keep;
};

static void seal_query(struct sealed_query *q, const struct world *w, enum hpke_aead aead,
                       const struct env_signer *s, uint8_t rng_start)
{
	struct counter_rng rng = {.next = rng_start};
	CHECK(env_query_seal(aead, w->contract_pk, w->chain_id, w->contract_id, EXPIRY, s, req,
	                     REQ_LEN, counter_fill, &rng, q->msg, &q->len, &q->keep) == ENV_OK);
	CHECK(q->len == env_query_len(REQ_LEN, !s->cert ? ENV_AUTH_ACCOUNT
	                                       : s->cert->kind == ENV_CERT_X25519
	                                           ? ENV_AUTH_SESSION_HPKE
	                                           : ENV_AUTH_SESSION_SIG));
}

/* The query alice signs with her account key (ChaCha20-Poly1305, the generator from 0). */
static void seal_alice_query(struct sealed_query *q, const struct world *w)
{
	struct env_signer s = {w->alice_sk, NULL};
	seal_query(q, w, HPKE_AEAD_CHACHA20POLY1305, &s, 0);
}

/* Opens through the session cache c (may be NULL). */
static enum env_result open_query_c(const struct world *w, const uint8_t *msg, size_t len,
                                    uint64_t height, struct env_query *out, struct scache *c)
{
	uint8_t buf[512];
	memset(buf, 0xee, sizeof(buf));
	struct env_query q;
	enum env_result r = env_query_open(w->contract_sk, w->contract_pk, w->chain_id,
	                                   w->contract_id, height, msg, len, buf, &q, c);
	if (r == ENV_OK) {
		CHECK(q.request_len == REQ_LEN && memcmp(q.request, req, REQ_LEN) == 0);
		CHECK(q.expiry == EXPIRY);
	} else {
		CHECK(all_zero((const uint8_t *)&q, sizeof(q)));
		/* Nothing decrypted survives: each byte is wiped (0) or never written (0xee). */
		bool clean = true;
		for (size_t i = 0; i < sizeof(buf); i++)
			clean = clean && (buf[i] == 0 || buf[i] == 0xee);
		CHECK(clean);
	}
	if (out)
		*out = q;
	else
		env_query_release(&q);
	return r;
}

static enum env_result open_query(const struct world *w, const uint8_t *msg, size_t len,
                                  uint64_t height, struct env_query *out)
{
	return open_query_c(w, msg, len, height, out, NULL);
}

/* The message layout of docs/protocol/envelopes.md, byte by byte, and the HPKE part rebuilt. */
/* A query envelope's HPKE info ("tenebra/v1/query" ‖ contract) and AAD (chain ‖ contract ‖
 * account) in w, rebuilt by hand. */
static void query_info_aad(const struct world *w, uint8_t info[48], uint8_t aad[96])
{
	memcpy(info, "tenebra/v1/query", 16);
	memcpy(info + 16, w->contract_id, 32);
	memcpy(aad, w->chain_id, 32);
	memcpy(aad + 32, w->contract_id, 32);
	memcpy(aad + 64, w->alice_pk, 32);
}

/* The plaintext of the query for req valid until block 1000 (request id ‖ u64 expiry ‖ length ‖
 * req) and the ephemeral seed (the generator's bytes 32..63) seal_query and seal_session use. */
static void query_pt_seed(const uint8_t request_id[32], uint8_t pt[41 + REQ_LEN], uint8_t ikmE[32])
{
	memcpy(pt, request_id, 32);
	const uint8_t exp_le[8] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0};
	memcpy(pt + 32, exp_le, 8);
	pt[40] = REQ_LEN;
	memcpy(pt + 41, req, REQ_LEN);
	for (int i = 0; i < 32; i++)
		ikmE[i] = (uint8_t)(32 + i);
}

/* The client keeps the context's "tenebra/v1/response" export as the response key. Releases
 * ctx. */
static void check_response_key(struct hpke_ctx *ctx, const uint8_t kept[32])
{
	uint8_t key[32];
	CHECK(hpke_export(ctx, (const uint8_t *)"tenebra/v1/response", 19, key, 32) == HPKE_OK);
	hpke_ctx_release(ctx);
	CHECK_EQ_MEM(key, kept, 32);
}

static void test_query_layout(void)
{
	struct world w;
	world_init(&w);
	struct sealed_query q;
	seal_alice_query(&q, &w);
	const uint8_t *m = q.msg;
	size_t pt_len = 32 + 8 + 1 + REQ_LEN, env_len = pt_len + 48;
	CHECK(q.len == 1 + 2 + 32 + 1 + 32 + 1 + env_len + 64);
	CHECK(m[0] == 1 && m[1] == 3 && m[2] == 0);
	CHECK_EQ_MEM(m + 3, w.contract_id, 32);
	CHECK(m[35] == 0);
	CHECK_EQ_MEM(m + 36, w.alice_pk, 32);
	CHECK(m[68] == env_len);
	/* The request id is the generator's first 32 bytes, the ephemeral seed the next 32. */
	for (int i = 0; i < 32; i++)
		CHECK(q.keep.request_id[i] == i);

	uint8_t info[48], aad[96], ikmE[32], pt[41 + REQ_LEN], want[128];
	query_info_aad(&w, info, aad);
	query_pt_seed(q.keep.request_id, pt, ikmE);
	struct hpke_ctx ctx;
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, info, sizeof(info),
	                            aad, sizeof(aad), pt, pt_len, ikmE, want, &ctx) == HPKE_OK);
	CHECK_EQ_MEM(m + 69, want, env_len);
	check_response_key(&ctx, q.keep.response_key);

	/* Signature over "tenebra/v1/query-sig" ‖ chain_id ‖ BLAKE2b-256(everything before it). */
	uint8_t sm[20 + 32 + 32];
	memcpy(sm, "tenebra/v1/query-sig", 20);
	memcpy(sm + 20, w.chain_id, 32);
	crypto_generichash(sm + 52, 32, m, q.len - 64, NULL, 0);
	CHECK(crypto_sign_ed25519_verify_detached(m + q.len - 64, sm, sizeof(sm), w.alice_pk) == 0);

	/* decode → encode is the identity. */
	struct env_query_msg d;
	CHECK(env_query_decode(&d, q.msg, q.len) == ENV_OK);
	struct enc e;
	enc_init(&e, 4096);
	env_query_encode(&e, &d);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == q.len && memcmp(e.buf, q.msg, q.len) == 0);
	enc_release(&e);
	env_query_client_release(&q.keep);
}

/* The enclave answers an opened query; the client opens it with what it kept. */
static void check_answer(const struct env_query *q, const struct env_query_client *k)
{
	static const uint8_t answer[] = "42 PHA";
	enum { N = 6, LEN = N + ENV_RESPONSE_OVERHEAD };
	uint8_t ct[LEN], ct2[LEN], back[64];
	size_t back_len = 0;
	struct counter_rng rng = {.next = 0x40};
	CHECK(env_response_seal(q->aead, q->response_key, q->request_id, answer, N, counter_fill,
	                        &rng, ct) == ENV_OK);
	CHECK(env_response_open(k->aead, k->response_key, k->request_id, ct, LEN, back,
	                        &back_len) == ENV_OK);
	CHECK(back_len == N && memcmp(back, answer, N) == 0);
	for (int i = 0; i < HPKE_NONCE_LEN; i++)
		CHECK(ct[i] == 0x40 + i); /* the nonce leads, drawn from the generator */
	if (k->aead == HPKE_AEAD_CHACHA20POLY1305) {
		unsigned long long n = 0;
		CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(back, &n, NULL, ct + 12, LEN - 12,
		                                                k->request_id, 32, ct,
		                                                k->response_key) == 0 &&
		      n == N);
	}
	/* A second answer under the same key gets another nonce. */
	CHECK(env_response_seal(q->aead, q->response_key, q->request_id, answer, N, counter_fill,
	                        &rng, ct2) == ENV_OK);
	CHECK(memcmp(ct, ct2, HPKE_NONCE_LEN) != 0 && memcmp(ct, ct2, LEN) != 0);

	/* Under another request id, another key, the other AEAD, any flipped bit, or short. */
	uint8_t other_id[32], other_key[32];
	memcpy(other_id, k->request_id, 32);
	other_id[3] ^= 1;
	CHECK(env_response_open(k->aead, k->response_key, other_id, ct, LEN, back, &back_len) ==
	      ENV_ERR_OPEN);
	CHECK(back_len == 0 && all_zero(back, N));
	memcpy(other_key, k->response_key, 32);
	other_key[0] ^= 1;
	CHECK(env_response_open(k->aead, other_key, k->request_id, ct, LEN, back, &back_len) ==
	      ENV_ERR_OPEN);
	enum hpke_aead other =
	    k->aead == HPKE_AEAD_AES256GCM ? HPKE_AEAD_CHACHA20POLY1305 : HPKE_AEAD_AES256GCM;
	CHECK(env_response_open(other, k->response_key, k->request_id, ct, LEN, back, &back_len) !=
	      ENV_OK);
	for (size_t i = 0; i < LEN; i++) {
		ct[i] ^= 0x80;
		CHECK(env_response_open(k->aead, k->response_key, k->request_id, ct, LEN, back,
		                        &back_len) == ENV_ERR_OPEN);
		ct[i] ^= 0x80;
	}
	for (size_t len = 0; len < LEN; len++)
		CHECK(env_response_open(k->aead, k->response_key, k->request_id, ct, len, back,
		                        &back_len) ==
		      (len < ENV_RESPONSE_OVERHEAD ? ENV_ERR_TRUNCATED : ENV_ERR_OPEN));
}

static void test_query_roundtrip(void)
{
	struct world w;
	world_init(&w);
	struct env_cert cert;
	env_cert_sign(&cert, ENV_CERT_ED25519, w.chain_id, w.alice_sk, w.sess_pk, 2000);
	struct env_signer by_account = {w.alice_sk, NULL}, by_session = {w.sess_sk, &cert};
	const struct env_signer *signers[] = {&by_account, &by_session};
	for (size_t a = 0; a < n_aeads(); a++) {
		for (size_t si = 0; si < 2; si++) {
			struct sealed_query sq;
			seal_query(&sq, &w, aeads[a], signers[si], (uint8_t)(7 * a + si));
			struct env_query q;
			CHECK(open_query(&w, sq.msg, sq.len, EXPIRY, &q) == ENV_OK);
			CHECK_EQ_MEM(q.account, w.alice_pk, 32); /* the origin, also via session */
			CHECK_EQ_MEM(q.request_id, sq.keep.request_id, 32);
			CHECK_EQ_MEM(q.response_key, sq.keep.response_key, 32);
			CHECK(q.aead == aeads[a]);

			check_answer(&q, &sq.keep);
			env_query_release(&q);
			CHECK(all_zero(q.response_key, 32));
			env_query_client_release(&sq.keep);
		}
	}
}

/* Re-signs a query message after editing it (what an attacker holding some key can do). */
static void resign(uint8_t *msg, size_t len, const uint8_t chain_id[32], const uint8_t sk[64])
{
	uint8_t sm[20 + 32 + 32];
	memcpy(sm, "tenebra/v1/query-sig", 20);
	memcpy(sm + 20, chain_id, 32);
	hash_plain(sm + 52, msg, len - 64);
	sig_sign(msg + len - 64, sm, sizeof(sm), sk);
}

static void test_query_refusals(void)
{
	struct world w;
	world_init(&w);
	struct sealed_query sq;
	seal_alice_query(&sq, &w);
	uint8_t m[512];

	CHECK(open_query(&w, sq.msg, sq.len, EXPIRY, NULL) == ENV_OK);
	CHECK(open_query(&w, sq.msg, sq.len, 0, NULL) == ENV_OK);
	CHECK(open_query(&w, sq.msg, sq.len, EXPIRY + 1, NULL) == ENV_ERR_EXPIRED);

	struct world v = w;
	v.contract_id[0] ^= 1;
	CHECK(open_query(&v, sq.msg, sq.len, 1, NULL) == ENV_ERR_CONTRACT);
	v = w;
	v.chain_id[0] ^= 1; /* the signature binds the chain */
	CHECK(open_query(&v, sq.msg, sq.len, 1, NULL) == ENV_ERR_SIGNATURE);
	v = w;
	v.contract_sk[5] ^= 1;
	CHECK(open_query(&v, sq.msg, sq.len, 1, NULL) == ENV_ERR_OPEN);

	/* Signed by bob while claiming alice. */
	memcpy(m, sq.msg, sq.len);
	resign(m, sq.len, w.chain_id, w.bob_sk);
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_SIGNATURE);
	/* Bob takes alice's ciphertext as his own (his key, his signature): the AAD binds alice. */
	memcpy(m + 36, w.bob_pk, 32);
	resign(m, sq.len, w.chain_id, w.bob_sk);
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_OPEN);

	/* Every byte flipped: always refused. */
	memcpy(m, sq.msg, sq.len);
	for (size_t i = 0; i < sq.len; i++) {
		m[i] ^= 0x20;
		CHECK(open_query(&w, m, sq.len, 1, NULL) != ENV_OK);
		m[i] ^= 0x20;
	}
	for (size_t len = 0; len < sq.len; len++)
		CHECK(open_query(&w, m, len, 1, NULL) == ENV_ERR_MALFORMED);
	uint8_t longer[513];
	memcpy(longer, sq.msg, sq.len);
	longer[sq.len] = 0;
	CHECK(open_query(&w, longer, sq.len + 1, 1, NULL) == ENV_ERR_MALFORMED);
	m[0] = 2;
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_VERSION);
	m[0] = 1;
	m[1] = 1; /* AEAD id 1 (AES-128-GCM) is outside the profile */
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_AEAD);
	m[1] = 3;
	m[35] = 3; /* auth kind */
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_MALFORMED);
	m[35] = 0;
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_OK);
	env_query_client_release(&sq.keep);
}

/* A query whose plaintext is not request_id ‖ expiry ‖ request is refused after decryption. */
static void test_query_bad_plaintext(void)
{
	struct world w;
	world_init(&w);
	/* Build a query by hand whose envelope carries 40 bytes (no request length). */
	uint8_t m[512], info[48], aad[96], pt[40] = {0}, ikmE[32] = {1};
	struct enc e;
	enc_init_fixed(&e, m, sizeof(m));
	enc_u8(&e, 1);
	enc_u16(&e, HPKE_AEAD_CHACHA20POLY1305);
	enc_raw(&e, w.contract_id, 32);
	enc_u8(&e, 0);
	enc_raw(&e, w.alice_pk, 32);
	enc_uleb(&e, sizeof(pt) + 48);
	query_info_aad(&w, info, aad);
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, info, 48, aad, 96,
	                            pt, sizeof(pt), ikmE, m + e.len, NULL) == HPKE_OK);
	size_t len = e.len + sizeof(pt) + 48 + 64;
	resign(m, len, w.chain_id, w.alice_sk);
	uint8_t buf[512];
	struct env_query q;
	CHECK(env_query_open(w.contract_sk, w.contract_pk, w.chain_id, w.contract_id, 1, m, len,
	                     buf, &q, NULL) == ENV_ERR_MALFORMED);
	CHECK(all_zero(buf, sizeof(pt)) && all_zero((const uint8_t *)&q, sizeof(q)));
}

static void test_session_cert(void)
{
	struct world w;
	world_init(&w);
	struct env_cert cert;
	env_cert_sign(&cert, ENV_CERT_ED25519, w.chain_id, w.alice_sk, w.sess_pk, 2000);
	CHECK(env_cert_verify(&cert, w.chain_id, 2000) == ENV_OK);
	CHECK(env_cert_verify(&cert, w.chain_id, 2001) == ENV_ERR_CERT_EXPIRED);
	uint8_t other_chain[32];
	memset(other_chain, 0x99, 32);
	CHECK(env_cert_verify(&cert, other_chain, 1) == ENV_ERR_CERT_SIGNATURE);

	struct env_signer s = {w.sess_sk, &cert};
	struct sealed_query sq;
	seal_query(&sq, &w, HPKE_AEAD_CHACHA20POLY1305, &s, 3);
	CHECK(open_query(&w, sq.msg, sq.len, 2000, NULL) == ENV_ERR_EXPIRED); /* query: 1000 */

	/* An expired certificate refuses even a query that has not expired. */
	struct env_cert old;
	env_cert_sign(&old, ENV_CERT_ED25519, w.chain_id, w.alice_sk, w.sess_pk, 500);
	struct env_signer s_old = {w.sess_sk, &old};
	struct sealed_query sq_old;
	seal_query(&sq_old, &w, HPKE_AEAD_CHACHA20POLY1305, &s_old, 4);
	CHECK(open_query(&w, sq_old.msg, sq_old.len, 500, NULL) == ENV_OK);
	CHECK(open_query(&w, sq_old.msg, sq_old.len, 501, NULL) == ENV_ERR_CERT_EXPIRED);

	/* A certificate claiming alice but signed by bob (a cert "for another account"). */
	uint8_t m[512];
	memcpy(m, sq.msg, sq.len);
	struct env_cert forged;
	env_cert_sign(&forged, ENV_CERT_ED25519, w.chain_id, w.bob_sk, w.sess_pk, 2000);
	memcpy(m + 36 + 64 + 8, forged.sig, 64); /* keep account = alice, bob's signature */
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_CERT_SIGNATURE);
	/* Bob's genuine certificate for the session key swapped in: the AAD still says alice. */
	struct enc e;
	enc_init_fixed(&e, m + 36, ENV_CERT_LEN);
	env_cert_encode(&e, &forged);
	resign(m, sq.len, w.chain_id, w.sess_sk);
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_OPEN);
	/* The query signed with alice's account key although it names the session key. */
	memcpy(m, sq.msg, sq.len);
	resign(m, sq.len, w.chain_id, w.alice_sk);
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_SIGNATURE);
	/* A certificate edited to extend its expiry. */
	memcpy(m, sq.msg, sq.len);
	m[36 + 64] ^= 0x10;
	resign(m, sq.len, w.chain_id, w.sess_sk);
	CHECK(open_query(&w, m, sq.len, 1, NULL) == ENV_ERR_CERT_SIGNATURE);

	/* Certificate codec round trip. */
	uint8_t raw[ENV_CERT_LEN];
	enc_init_fixed(&e, raw, sizeof(raw));
	env_cert_encode(&e, &cert);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == ENV_CERT_LEN);
	struct dec d;
	struct env_cert back;
	dec_init(&d, raw, sizeof(raw));
	env_cert_decode(&d, &back, ENV_CERT_ED25519);
	CHECK(dec_finish(&d) == CODEC_OK && back.kind == cert.kind && back.expiry == cert.expiry);
	CHECK(memcmp(back.account, cert.account, 32) == 0 && memcmp(back.sig, cert.sig, 64) == 0);
	CHECK(memcmp(back.session_pk, cert.session_pk, 32) == 0);
	dec_init(&d, raw, sizeof(raw) - 1);
	env_cert_decode(&d, &back, ENV_CERT_ED25519);
	CHECK(dec_finish(&d) == CODEC_TRUNCATED);
	env_query_client_release(&sq.keep);
	env_query_client_release(&sq_old.keep);
}

/* --- Session queries (auth 2) ----------------------------------------------------------------- */

/* A session query by alice's X25519 session key xs, certified until cert_expiry. */
static void seal_session(struct sealed_query *q, struct env_cert *cert, const struct world *w,
                         enum hpke_aead aead, uint64_t cert_expiry, uint8_t rng_start)
{
	env_cert_sign(cert, ENV_CERT_X25519, w->chain_id, w->alice_sk, w->xs_pk, cert_expiry);
	struct env_signer s = {w->xs_sk, cert};
	seal_query(q, w, aead, &s, rng_start);
}

/* The session query of docs/protocol/envelopes.md byte by byte: the certificate signed under its
 * own tag, the envelope rebuilt with SetupAuthS, no signature. */
static void test_session_layout(void)
{
	struct world w;
	world_init(&w);
	struct env_cert cert;
	struct sealed_query q;
	seal_session(&q, &cert, &w, HPKE_AEAD_CHACHA20POLY1305, 2000, 0);
	const uint8_t *m = q.msg;
	size_t pt_len = 32 + 8 + 1 + REQ_LEN, env_len = pt_len + 48;
	CHECK(q.len == 1 + 2 + 32 + 1 + 136 + 1 + env_len);
	CHECK(m[0] == 1 && m[1] == 3 && m[2] == 0 && m[35] == 2);
	CHECK_EQ_MEM(m + 36, w.alice_pk, 32);
	CHECK_EQ_MEM(m + 68, w.xs_pk, 32);
	const uint8_t exp_le[8] = {0xd0, 0x07, 0, 0, 0, 0, 0, 0};
	CHECK_EQ_MEM(m + 100, exp_le, 8);
	CHECK(m[172] == env_len);

	/* cert.sig = Ed25519(alice, "tenebra/v1/session-cert-x25519" ‖ chain ‖ account ‖ pk ‖ u64)
	 */
	uint8_t cm[30 + 32 + 32 + 32 + 8];
	memcpy(cm, "tenebra/v1/session-cert-x25519", 30);
	memcpy(cm + 30, w.chain_id, 32);
	memcpy(cm + 62, m + 36, 72);
	CHECK(crypto_sign_ed25519_verify_detached(m + 108, cm, sizeof(cm), w.alice_pk) == 0);

	uint8_t info[48], aad[96], ikmE[32], pt[41 + REQ_LEN], want[128];
	query_info_aad(&w, info, aad);
	query_pt_seed(q.keep.request_id, pt, ikmE);
	struct hpke_ctx ctx;
	CHECK(hpke_setup_auth_s_derand(&ctx, want, w.contract_pk, w.xs_sk, w.xs_pk, info,
	                               sizeof(info), HPKE_AEAD_CHACHA20POLY1305, ikmE) == HPKE_OK);
	CHECK(hpke_seal(&ctx, aad, sizeof(aad), pt, pt_len, want + 32) == HPKE_OK);
	CHECK_EQ_MEM(m + 173, want, env_len);
	check_response_key(&ctx, q.keep.response_key);

	struct env_query_msg d;
	CHECK(env_query_decode(&d, q.msg, q.len) == ENV_OK);
	CHECK(d.auth == ENV_AUTH_SESSION_HPKE && d.sig == NULL && d.cert.kind == ENV_CERT_X25519);
	struct enc e;
	enc_init(&e, 4096);
	env_query_encode(&e, &d);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == q.len && memcmp(e.buf, q.msg, q.len) == 0);
	enc_release(&e);
	env_query_client_release(&q.keep);
}

static struct scache *new_cache(size_t cap)
{
	uint8_t secret[32];
	randombytes_buf(secret, sizeof(secret));
	struct scache *c = scache_new(cap, secret);
	CHECK(c != NULL);
	return c;
}

static void test_session_roundtrip(void)
{
	struct world w;
	world_init(&w);
	struct scache *c = new_cache(8);
	for (size_t a = 0; a < n_aeads(); a++) {
		for (int i = 0; i < 3;
		     i++) { /* first through the cache, then from it; and without */
			struct env_cert cert;
			struct sealed_query sq;
			seal_session(&sq, &cert, &w, aeads[a], 2000, (uint8_t)(40 * a + 9 * i));
			struct env_query q;
			CHECK(open_query_c(&w, sq.msg, sq.len, EXPIRY, &q, i < 2 ? c : NULL) ==
			      ENV_OK);
			CHECK_EQ_MEM(q.account, w.alice_pk, 32); /* the certifying account */
			CHECK_EQ_MEM(q.request_id, sq.keep.request_id, 32);
			CHECK_EQ_MEM(q.response_key, sq.keep.response_key, 32);
			CHECK(q.aead == aeads[a]);
			check_answer(&q, &sq.keep);
			env_query_release(&q);
			env_query_client_release(&sq.keep);
		}
	}
	/* one certificate verified once: one entry, every later query a hit */
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.inserts == 1 && st.entries == 1 && st.hits == 2 * n_aeads() - 1);
	scache_free(c);
}

/* Every refusal of a session query, with a cache that must never let a refused one pass. */
static void test_session_refusals(void)
{
	struct world w;
	world_init(&w);
	struct scache *c = new_cache(8);
	struct env_cert cert;
	struct sealed_query sq;
	seal_session(&sq, &cert, &w, HPKE_AEAD_CHACHA20POLY1305, 2000, 0);
	uint8_t m[512];

	/* the certificate's expiry, then the query's (1000) */
	CHECK(open_query_c(&w, sq.msg, sq.len, EXPIRY, NULL, c) == ENV_OK);
	CHECK(open_query_c(&w, sq.msg, sq.len, EXPIRY + 1, NULL, c) == ENV_ERR_EXPIRED);
	struct env_cert old;
	struct sealed_query sq_old;
	seal_session(&sq_old, &old, &w, HPKE_AEAD_CHACHA20POLY1305, 500, 1);
	for (int i = 0; i < 2; i++) { /* expired, also once it is cached */
		CHECK(open_query_c(&w, sq_old.msg, sq_old.len, 500, NULL, c) == ENV_OK);
		CHECK(open_query_c(&w, sq_old.msg, sq_old.len, 501, NULL, c) ==
		      ENV_ERR_CERT_EXPIRED);
	}
	/* another chain: the certificate's signature binds it, also when cached for this one */
	struct world v = w;
	v.chain_id[3] ^= 1;
	CHECK(open_query_c(&v, sq.msg, sq.len, 1, NULL, c) == ENV_ERR_CERT_SIGNATURE);
	CHECK(open_query_c(&v, sq.msg, sq.len, 1, NULL, NULL) == ENV_ERR_CERT_SIGNATURE);
	/* another contract key (same id): the cached DH is not reused, the envelope fails */
	v = w;
	v.contract_sk[0] ^= 0x40;
	CHECK(crypto_scalarmult_base(v.contract_pk, v.contract_sk) == 0);
	CHECK(open_query_c(&v, sq.msg, sq.len, 1, NULL, c) == ENV_ERR_OPEN);

	/* sealed with another session key than the certified one */
	struct sealed_query sq_t;
	struct env_signer wrong = {w.xt_sk, &cert};
	seal_query(&sq_t, &w, HPKE_AEAD_CHACHA20POLY1305, &wrong, 2);
	CHECK(open_query_c(&w, sq_t.msg, sq_t.len, 1, NULL, c) == ENV_ERR_OPEN);
	/* a certificate claiming alice but signed by bob */
	memcpy(m, sq.msg, sq.len);
	struct env_cert forged;
	env_cert_sign(&forged, ENV_CERT_X25519, w.chain_id, w.bob_sk, w.xs_pk, 2000);
	memcpy(m + 108, forged.sig, 64);
	for (int i = 0; i < 2; i++)
		CHECK(open_query_c(&w, m, sq.len, 1, NULL, c) == ENV_ERR_CERT_SIGNATURE);
	/* bob's genuine certificate of the same session key: the AAD still names alice */
	struct enc e;
	enc_init_fixed(&e, m + 36, ENV_CERT_LEN);
	env_cert_encode(&e, &forged);
	CHECK(open_query_c(&w, m, sq.len, 1, NULL, c) == ENV_ERR_OPEN);
	/* an Ed25519-kind certificate of the same key does not certify an X25519 session */
	struct env_cert ed;
	env_cert_sign(&ed, ENV_CERT_ED25519, w.chain_id, w.alice_sk, w.xs_pk, 2000);
	memcpy(m, sq.msg, sq.len);
	memcpy(m + 108, ed.sig, 64);
	CHECK(open_query_c(&w, m, sq.len, 1, NULL, c) == ENV_ERR_CERT_SIGNATURE);
	/* and the X25519 certificate is no Ed25519 one: auth byte 1 with a signature appended */
	memcpy(m, sq.msg, sq.len);
	m[35] = 1;
	memset(m + sq.len, 0, 64);
	CHECK(open_query_c(&w, m, sq.len + 64, 1, NULL, c) == ENV_ERR_CERT_SIGNATURE);
	/* a validly signed certificate of a small-order session key */
	struct env_cert zero_cert;
	uint8_t zero_pk[32] = {0};
	env_cert_sign(&zero_cert, ENV_CERT_X25519, w.chain_id, w.alice_sk, zero_pk, 2000);
	memcpy(m, sq.msg, sq.len);
	enc_init_fixed(&e, m + 36, ENV_CERT_LEN);
	env_cert_encode(&e, &zero_cert);
	CHECK(open_query_c(&w, m, sq.len, 1, NULL, c) == ENV_ERR_INVALID_KEY);

	/* every byte flipped, twice (the second time the cache has seen it): always refused */
	memcpy(m, sq.msg, sq.len);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < sq.len; i++) {
			m[i] ^= 0x20;
			CHECK(open_query_c(&w, m, sq.len, 1, NULL, c) != ENV_OK);
			m[i] ^= 0x01;
			CHECK(open_query_c(&w, m, sq.len, 1, NULL, pass ? NULL : c) != ENV_OK);
			m[i] ^= 0x21;
		}
	for (size_t len = 0; len < sq.len; len++)
		CHECK(open_query_c(&w, m, len, 1, NULL, c) == ENV_ERR_MALFORMED);
	/* only genuine certificates ever entered the cache: alice's two, alice's under v's contract
	 * key, and bob's (genuine, though it could not open alice's envelope); the query still
	 * opens */
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.inserts == 4 && st.entries == 4);
	CHECK(open_query_c(&w, sq.msg, sq.len, 1, NULL, c) == ENV_OK);
	env_query_client_release(&sq.keep);
	env_query_client_release(&sq_old.keep);
	env_query_client_release(&sq_t.keep);
	scache_free(c);
}

static void test_query_limits(void)
{
	struct world w;
	world_init(&w);
	struct env_signer s = {w.alice_sk, NULL};
	size_t big = ENV_REQUEST_MAX, cap = env_query_len(big, ENV_AUTH_ACCOUNT);
	uint8_t *reqb = calloc(1, big + 1), *msg = malloc(cap + 64), *buf = malloc(cap + 64);
	CHECK(reqb && msg && buf);
	struct env_query_client keep;
	struct counter_rng rng = {0};
	size_t len = 0;
	CHECK(env_query_seal(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, w.chain_id, w.contract_id,
	                     10, &s, reqb, big, counter_fill, &rng, msg, &len, &keep) == ENV_OK);
	CHECK(len == cap);
	struct env_query q;
	CHECK(env_query_open(w.contract_sk, w.contract_pk, w.chain_id, w.contract_id, 10, msg, len,
	                     buf, &q, NULL) == ENV_OK);
	CHECK(q.request_len == big);
	env_query_release(&q);
	env_query_client_release(&keep);
	CHECK(env_query_seal(HPKE_AEAD_CHACHA20POLY1305, w.contract_pk, w.chain_id, w.contract_id,
	                     10, &s, reqb, big + 1, counter_fill, &rng, msg, &len,
	                     &keep) == ENV_ERR_TOO_LONG);
	uint8_t zero_pk[32] = {0};
	CHECK(env_query_seal(HPKE_AEAD_CHACHA20POLY1305, zero_pk, w.chain_id, w.contract_id, 10, &s,
	                     reqb, 4, counter_fill, &rng, msg, &len, &keep) == ENV_ERR_INVALID_KEY);
	CHECK(all_zero(msg, env_query_len(4, ENV_AUTH_ACCOUNT)));
	free(reqb);
	free(msg);
	free(buf);
}

/* --- Key sharing ------------------------------------------------------------------------------ */

struct ks_world {
	uint8_t master[32], rcpt_pk[32], rcpt_sk[32];
	struct env_keyshare_ctx c;
};

static void ks_init(struct ks_world *k)
{
	uint8_t seed[32];
	memset(k->master, 0x4d, 32);
	memset(seed, 0x77, 32);
	kdf_hpke_keypair(k->rcpt_pk, k->rcpt_sk, seed);
	memset(k->c.chain_id, 0xc1, 32);
	struct kdf_identity id;
	kdf_public_identity(&id, k->master);
	memcpy(k->c.sender, id.sign_pk, 32);
	memset(k->c.recipient, 0x3a, 32);
	k->c.seq = 5;
	k->c.purpose = "cluster";
}

static const uint8_t secret[32] = "a cluster key of 32 bytes......";

static void test_keyshare_bytes(void)
{
	struct ks_world k;
	ks_init(&k);
	uint8_t a[32 + 48], b[32 + 48], want[32 + 48];
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &k.c, secret, 32, a) == ENV_OK);
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &k.c, secret, 32, b) == ENV_OK);
	CHECK_EQ_MEM(a, b, sizeof(a)); /* two gatekeepers, one master: identical bytes */

	/* Rebuilt by hand: info, AAD, and the ephemeral seed's context. */
	uint8_t info[19 + 32], aad[32 + 32 + 32 + 8 + 7], ctx[sizeof(aad) + 32 + 32], ikmE[32];
	memcpy(info, "tenebra/v1/keyshare", 19);
	memcpy(info + 19, k.rcpt_pk, 32);
	memcpy(aad, k.c.chain_id, 32);
	memcpy(aad + 32, k.c.sender, 32);
	memcpy(aad + 64, k.c.recipient, 32);
	const uint8_t seq_le[8] = {5, 0, 0, 0, 0, 0, 0, 0};
	memcpy(aad + 96, seq_le, 8);
	memcpy(aad + 104, "cluster", 7);
	memcpy(ctx, aad, sizeof(aad));
	memcpy(ctx + sizeof(aad), k.rcpt_pk, 32);
	crypto_generichash(ctx + sizeof(aad) + 32, 32, secret, 32, NULL, 0);
	kdf_derive(ikmE, 32, k.master, "tenebra/v1/keyshare-eph", ctx, sizeof(ctx));
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, k.rcpt_pk, info, sizeof(info), aad,
	                            sizeof(aad), secret, 32, ikmE, want, NULL) == HPKE_OK);
	CHECK_EQ_MEM(a, want, sizeof(a));

	/* Another sequence number, purpose or plaintext: another ephemeral key (enc). */
	struct env_keyshare_ctx c2 = k.c;
	c2.seq = 6;
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &c2, secret, 32, b) == ENV_OK);
	CHECK(memcmp(a, b, 32) != 0);
	uint8_t secret2[32];
	memcpy(secret2, secret, 32);
	secret2[31] ^= 1;
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &k.c, secret2, 32, b) == ENV_OK);
	CHECK(memcmp(a, b, 32) != 0);
}

static enum env_result ks_open(const struct ks_world *k, const struct env_keyshare_ctx *c,
                               const uint8_t *env, size_t n)
{
	uint8_t pt[64];
	size_t pt_len = 3;
	enum env_result r = env_keyshare_open(k->rcpt_sk, k->rcpt_pk, c, env, n, pt, &pt_len);
	if (r == ENV_OK)
		CHECK(pt_len == 32 && memcmp(pt, secret, 32) == 0);
	else
		CHECK(pt_len == 0);
	return r;
}

static void test_keyshare_refusals(void)
{
	struct ks_world k;
	ks_init(&k);
	uint8_t env[32 + 48];
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &k.c, secret, 32, env) == ENV_OK);
	CHECK(ks_open(&k, &k.c, env, sizeof(env)) == ENV_OK);
	struct env_keyshare_ctx x = k.c;
	x.chain_id[0] ^= 1;
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_OPEN);
	x = k.c;
	x.sender[0] ^= 1;
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_OPEN);
	x = k.c;
	x.recipient[0] ^= 1;
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_OPEN);
	x = k.c;
	x.seq = 4;
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_OPEN);
	x = k.c;
	x.purpose = "master";
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_OPEN);
	x.purpose = "";
	CHECK(ks_open(&k, &x, env, sizeof(env)) == ENV_ERR_TOO_LONG);
	struct ks_world other = k;
	other.rcpt_sk[0] ^= 0x80;
	CHECK(ks_open(&other, &k.c, env, sizeof(env)) == ENV_ERR_OPEN);
	for (size_t i = 0; i < sizeof(env); i++) {
		env[i] ^= 4;
		enum env_result r = ks_open(&k, &k.c, env, sizeof(env));
		CHECK(r == ENV_ERR_OPEN || r == ENV_ERR_INVALID_KEY);
		env[i] ^= 4;
	}
	CHECK(ks_open(&k, &k.c, env, 47) == ENV_ERR_TRUNCATED);
	char longp[ENV_PURPOSE_MAX + 2];
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	x = k.c;
	x.purpose = longp;
	CHECK(env_keyshare_seal(k.master, k.rcpt_pk, &x, secret, 32, env) == ENV_ERR_TOO_LONG);
}

static void test_strerror(void)
{
	for (int r = ENV_OK; r <= ENV_ERR_EXPIRED; r++)
		CHECK(strlen(env_strerror((enum env_result)r)) > 0);
	CHECK(strlen(env_strerror((enum env_result)99)) > 0);
}

CHECK_MAIN(CASE(test_command_bytes), CASE(test_command_refusals), CASE(test_query_layout),
           CASE(test_query_roundtrip), CASE(test_query_refusals), CASE(test_query_bad_plaintext),
           CASE(test_session_cert), CASE(test_session_layout), CASE(test_session_roundtrip),
           CASE(test_session_refusals), CASE(test_query_limits), CASE(test_keyshare_bytes),
           CASE(test_keyshare_refusals), CASE(test_strerror))
