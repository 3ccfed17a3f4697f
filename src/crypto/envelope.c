#include "crypto/envelope.h"

#include "crypto/hash.h"
#include "crypto/kdf.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define LABEL_MAX   24 /* the longest info label, "tenebra/v1/keyshare", with room */
#define INFO_MAX    (LABEL_MAX + 32)
#define CMD_AAD_LEN (3 * ENV_ID_LEN + 8)
#define KS_AAD_MAX  (ENV_ID_LEN + 2 * SIG_PK_LEN + 8 + ENV_PURPOSE_MAX)
#define QAAD_LEN    (2 * ENV_ID_LEN + SIG_PK_LEN)
/* The plaintext of a query: request id, expiry, LEB128 length (<= 3 bytes for 1 MiB), request. */
#define QPT_FIXED          (ENV_ID_LEN + 8)
#define QUERY_ENVELOPE_MAX (QPT_FIXED + 3 + ENV_REQUEST_MAX + HPKE_ENVELOPE_OVERHEAD)
#define SIG_MSG_LEN        (sizeof(ENV_SIG_QUERY) - 1 + ENV_ID_LEN + HASH_LEN)
/* The longer of the two certificate messages (the X25519 kind's tag is longer). */
#define CERT_MSG_MAX (sizeof(ENV_SIG_SESSION_CERT_X) - 1 + ENV_ID_LEN + ENV_CERT_LEN - SIG_LEN)
/* A session cache key: chain_id ‖ contract_pk ‖ the certificate's wire bytes. */
#define SESSION_KEY_LEN (ENV_ID_LEN + HPKE_PK_LEN + ENV_CERT_LEN)

static const char *const messages[] = {
    [ENV_OK] = "ok",
    [ENV_ERR_MALFORMED] = "malformed query or certificate",
    [ENV_ERR_VERSION] = "unknown query version",
    [ENV_ERR_AEAD] = "unsupported or unavailable AEAD",
    [ENV_ERR_TRUNCATED] = "envelope or answer too short",
    [ENV_ERR_TOO_LONG] = "plaintext, request or purpose too long",
    [ENV_ERR_INVALID_KEY] = "invalid public key (small order)",
    [ENV_ERR_OPEN] = "envelope fails authentication",
    [ENV_ERR_CONTRACT] = "query is addressed to another contract",
    [ENV_ERR_SIGNATURE] = "bad query signature",
    [ENV_ERR_CERT_SIGNATURE] = "session certificate not signed by its account",
    [ENV_ERR_CERT_EXPIRED] = "session certificate expired",
    [ENV_ERR_EXPIRED] = "query expired",
};

const char *env_strerror(enum env_result r)
{
	if ((size_t)r < sizeof(messages) / sizeof(messages[0]) && messages[r])
		return messages[r];
	return "unknown envelope error";
}

static enum env_result from_hpke(enum hpke_result r)
{
	static const enum env_result map[] = {
	    [HPKE_OK] = ENV_OK,
	    [HPKE_ERR_UNSUPPORTED_AEAD] = ENV_ERR_AEAD,
	    [HPKE_ERR_AEAD_UNAVAILABLE] = ENV_ERR_AEAD,
	    [HPKE_ERR_INVALID_KEY] = ENV_ERR_INVALID_KEY,
	    [HPKE_ERR_OPEN] = ENV_ERR_OPEN,
	    [HPKE_ERR_TRUNCATED] = ENV_ERR_TRUNCATED,
	    [HPKE_ERR_TOO_LONG] = ENV_ERR_TOO_LONG,
	};
	/* A one-message context never reaches the sequence limit. */
	assert((size_t)r < sizeof(map) / sizeof(map[0]));
	return map[r];
}

static enum env_result aead_check(uint16_t aead)
{
	if (aead == HPKE_AEAD_CHACHA20POLY1305)
		return ENV_OK;
	if (aead == HPKE_AEAD_AES256GCM)
		/* CPU features are detected by sodium_init (idempotent and thread-safe). */
		return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() ? ENV_OK
		                                                                  : ENV_ERR_AEAD;
	return ENV_ERR_AEAD;
}

/* label ‖ id: the info strings of all three envelopes. Returns the length. */
static size_t build_info(uint8_t info[INFO_MAX], const char *label, const uint8_t id[32])
{
	size_t n = strlen(label);
	assert(n <= LABEL_MAX);
	memcpy(info, label, n);
	memcpy(info + n, id, 32);
	return n + 32;
}

static void put_u64(uint8_t out[8], uint64_t v)
{
	struct enc e;
	enc_init_fixed(&e, out, 8);
	enc_u64(&e, v);
}

/* --- Commands --------------------------------------------------------------------------------- */

static void command_aad(uint8_t aad[CMD_AAD_LEN], const struct env_command_ctx *c)
{
	memcpy(aad, c->chain_id, ENV_ID_LEN);
	memcpy(aad + ENV_ID_LEN, c->contract_id, ENV_ID_LEN);
	memcpy(aad + 2 * ENV_ID_LEN, c->sender, ENV_ID_LEN);
	put_u64(aad + 3 * ENV_ID_LEN, c->nonce);
}

enum env_result env_command_seal(enum hpke_aead aead, const uint8_t contract_pk[HPKE_PK_LEN],
                                 const struct env_command_ctx *c, const uint8_t *pt, size_t pt_len,
                                 seal_rand_fn rng, void *rng_ctx, uint8_t *out)
{
	assert(contract_pk && c && (pt || !pt_len) && rng && out);
	uint8_t info[INFO_MAX], aad[CMD_AAD_LEN], ikmE[HPKE_IKM_LEN];
	size_t info_len = build_info(info, ENV_INFO_COMMAND, c->contract_id);
	command_aad(aad, c);
	rng(rng_ctx, ikmE, sizeof(ikmE));
	enum hpke_result r = hpke_seal_base_derand(aead, contract_pk, info, info_len, aad,
	                                           sizeof(aad), pt, pt_len, ikmE, out, NULL);
	sodium_memzero(ikmE, sizeof(ikmE));
	return from_hpke(r);
}

enum env_result env_command_open(enum hpke_aead aead, const uint8_t contract_sk[HPKE_SK_LEN],
                                 const uint8_t contract_pk[HPKE_PK_LEN],
                                 const struct env_command_ctx *c, const uint8_t *env,
                                 size_t env_len, uint8_t *pt, size_t *pt_len)
{
	assert(contract_sk && contract_pk && c && env && pt && pt_len);
	uint8_t info[INFO_MAX], aad[CMD_AAD_LEN];
	size_t info_len = build_info(info, ENV_INFO_COMMAND, c->contract_id);
	command_aad(aad, c);
	*pt_len = 0;
	return from_hpke(hpke_open_base(aead, contract_sk, contract_pk, info, info_len, aad,
	                                sizeof(aad), env, env_len, pt, pt_len, NULL));
}

/* --- Session certificates --------------------------------------------------------------------- */

/* The tag ‖ chain_id ‖ account ‖ session_pk ‖ u64 expiry the account signs; returns its length.
 * The two kinds' messages differ in length, so neither can be read as the other. */
static size_t cert_msg(uint8_t msg[CERT_MSG_MAX], const struct env_cert *c,
                       const uint8_t chain_id[ENV_ID_LEN])
{
	assert(c->kind == ENV_CERT_ED25519 || c->kind == ENV_CERT_X25519);
	const char *tag =
	    c->kind == ENV_CERT_X25519 ? ENV_SIG_SESSION_CERT_X : ENV_SIG_SESSION_CERT;
	struct enc e;
	enc_init_fixed(&e, msg, CERT_MSG_MAX);
	enc_raw(&e, tag, strlen(tag));
	enc_raw(&e, chain_id, ENV_ID_LEN);
	enc_raw(&e, c->account, SIG_PK_LEN);
	enc_raw(&e, c->session_pk, SIG_PK_LEN);
	enc_u64(&e, c->expiry);
	assert(enc_finish(&e) == CODEC_OK);
	return e.len;
}

void env_cert_sign(struct env_cert *c, enum env_cert_kind kind, const uint8_t chain_id[ENV_ID_LEN],
                   const uint8_t account_sk[SIG_SK_LEN], const uint8_t session_pk[32],
                   uint64_t expiry)
{
	c->kind = kind;
	memcpy(c->account, account_sk + SIG_SEED_LEN, SIG_PK_LEN);
	memcpy(c->session_pk, session_pk, SIG_PK_LEN);
	c->expiry = expiry;
	uint8_t msg[CERT_MSG_MAX];
	sig_sign(c->sig, msg, cert_msg(msg, c, chain_id), account_sk);
}

static bool cert_signed(const struct env_cert *c, const uint8_t chain_id[ENV_ID_LEN])
{
	uint8_t msg[CERT_MSG_MAX];
	return sig_verify(c->sig, msg, cert_msg(msg, c, chain_id), c->account);
}

enum env_result env_cert_verify(const struct env_cert *c, const uint8_t chain_id[ENV_ID_LEN],
                                uint64_t height)
{
	if (!cert_signed(c, chain_id))
		return ENV_ERR_CERT_SIGNATURE;
	return height <= c->expiry ? ENV_OK : ENV_ERR_CERT_EXPIRED;
}

void env_cert_encode(struct enc *e, const struct env_cert *c)
{
	enc_raw(e, c->account, SIG_PK_LEN);
	enc_raw(e, c->session_pk, SIG_PK_LEN);
	enc_u64(e, c->expiry);
	enc_raw(e, c->sig, SIG_LEN);
}

void env_cert_decode(struct dec *d, struct env_cert *c, enum env_cert_kind kind)
{
	c->kind = kind;
	dec_raw(d, c->account, SIG_PK_LEN);
	dec_raw(d, c->session_pk, SIG_PK_LEN);
	c->expiry = dec_u64(d);
	dec_raw(d, c->sig, SIG_LEN);
}

/* --- Queries: the outer message --------------------------------------------------------------- */

static size_t uleb_len(uint64_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

static size_t query_envelope_len(size_t request_len)
{
	return QPT_FIXED + uleb_len(request_len) + request_len + HPKE_ENVELOPE_OVERHEAD;
}

size_t env_query_len(size_t request_len, enum env_auth auth)
{
	size_t env = query_envelope_len(request_len);
	return 1 + 2 + ENV_ID_LEN + 1 + (auth == ENV_AUTH_ACCOUNT ? SIG_PK_LEN : ENV_CERT_LEN) +
	       uleb_len(env) + env + (auth == ENV_AUTH_SESSION_HPKE ? 0 : SIG_LEN);
}

/* Everything before the envelope; the seal and the encoder share it. */
static void encode_head(struct enc *e, const struct env_query_msg *m)
{
	enc_u8(e, m->version);
	enc_u16(e, m->aead);
	enc_raw(e, m->contract_id, ENV_ID_LEN);
	enc_u8(e, (uint8_t)m->auth);
	if (m->auth == ENV_AUTH_ACCOUNT)
		enc_raw(e, m->account, SIG_PK_LEN);
	else
		env_cert_encode(e, &m->cert);
}

void env_query_encode(struct enc *e, const struct env_query_msg *m)
{
	encode_head(e, m);
	enc_bytes(e, m->envelope, m->envelope_len);
	if (m->auth != ENV_AUTH_SESSION_HPKE)
		enc_raw(e, m->sig, SIG_LEN);
}

enum env_result env_query_decode(struct env_query_msg *m, const uint8_t *msg, size_t len)
{
	memset(m, 0, sizeof(*m));
	struct dec d;
	dec_init(&d, msg, len);
	m->version = dec_u8(&d);
	if (d.err)
		return ENV_ERR_MALFORMED;
	if (m->version != ENV_QUERY_VERSION)
		return ENV_ERR_VERSION;
	m->aead = dec_u16(&d);
	m->contract_id = dec_view(&d, ENV_ID_LEN);
	uint8_t auth = dec_u8(&d);
	if (auth > ENV_AUTH_SESSION_HPKE)
		dec_fail(&d, CODEC_NONCANONICAL);
	m->auth = (enum env_auth)auth;
	if (m->auth == ENV_AUTH_ACCOUNT)
		m->account = dec_view(&d, SIG_PK_LEN);
	else
		env_cert_decode(&d, &m->cert,
		                m->auth == ENV_AUTH_SESSION_HPKE ? ENV_CERT_X25519
		                                                 : ENV_CERT_ED25519);
	m->envelope = dec_bytes(&d, &m->envelope_len, QUERY_ENVELOPE_MAX);
	m->signed_len = d.pos;
	if (m->auth != ENV_AUTH_SESSION_HPKE)
		m->sig = dec_view(&d, SIG_LEN);
	if (dec_finish(&d) != CODEC_OK) {
		memset(m, 0, sizeof(*m));
		return ENV_ERR_MALFORMED;
	}
	return ENV_OK;
}

/* "tenebra/v1/query-sig" ‖ chain_id ‖ BLAKE2b-256(msg[0..signed_len)): fixed-size, so a query of
 * up to a MiB is signed without copying it. */
static void query_sig_msg(uint8_t out[SIG_MSG_LEN], const uint8_t chain_id[ENV_ID_LEN],
                          const uint8_t *msg, size_t signed_len)
{
	size_t tag_len = sizeof(ENV_SIG_QUERY) - 1;
	memcpy(out, ENV_SIG_QUERY, tag_len);
	memcpy(out + tag_len, chain_id, ENV_ID_LEN);
	hash_plain(out + tag_len + ENV_ID_LEN, msg, signed_len);
}

static void query_aad(uint8_t aad[QAAD_LEN], const uint8_t chain_id[ENV_ID_LEN],
                      const uint8_t contract_id[ENV_ID_LEN], const uint8_t account[SIG_PK_LEN])
{
	memcpy(aad, chain_id, ENV_ID_LEN);
	memcpy(aad + ENV_ID_LEN, contract_id, ENV_ID_LEN);
	memcpy(aad + 2 * ENV_ID_LEN, account, SIG_PK_LEN);
}

/* --- Queries: client side --------------------------------------------------------------------- */

/* Writes the query plaintext at pt (where the ciphertext will go: HPKE seals in place). */
static void put_query_pt(uint8_t *pt, size_t pt_len, const uint8_t request_id[ENV_ID_LEN],
                         uint64_t expiry, const uint8_t *request, size_t request_len)
{
	struct enc e;
	enc_init_fixed(&e, pt, pt_len);
	enc_raw(&e, request_id, ENV_ID_LEN);
	enc_u64(&e, expiry);
	enc_bytes(&e, request, request_len);
	assert(enc_finish(&e) == CODEC_OK && e.len == pt_len);
}

/* Seals the plaintext already at env + HPKE_ENC_LEN in place and exports the response key; in
 * auth mode from the X25519 session key session->sk (public half session->cert->session_pk) when
 * session is not NULL, else in base mode. */
static enum env_result seal_query_envelope(enum hpke_aead aead, const uint8_t *contract_pk,
                                           const uint8_t *chain_id, const uint8_t *contract_id,
                                           const uint8_t *origin, const struct env_signer *session,
                                           uint8_t *env, size_t pt_len, seal_rand_fn rng,
                                           void *rng_ctx, uint8_t key[ENV_RESPONSE_KEY_LEN])
{
	uint8_t info[INFO_MAX], aad[QAAD_LEN], ikmE[HPKE_IKM_LEN];
	size_t info_len = build_info(info, ENV_INFO_QUERY, contract_id);
	query_aad(aad, chain_id, contract_id, origin);
	rng(rng_ctx, ikmE, sizeof(ikmE));
	struct hpke_ctx ctx;
	enum hpke_result r =
	    session
	        ? hpke_setup_auth_s_derand(&ctx, env, contract_pk, session->sk,
	                                   session->cert->session_pk, info, info_len, aead, ikmE)
	        : hpke_setup_base_s_derand(&ctx, env, contract_pk, info, info_len, aead, ikmE);
	sodium_memzero(ikmE, sizeof(ikmE));
	if (r == HPKE_OK)
		r = hpke_seal(&ctx, aad, sizeof(aad), env + HPKE_ENC_LEN, pt_len,
		              env + HPKE_ENC_LEN);
	if (r == HPKE_OK)
		r = hpke_export(&ctx, (const uint8_t *)ENV_EXPORT_RESPONSE,
		                sizeof(ENV_EXPORT_RESPONSE) - 1, key, ENV_RESPONSE_KEY_LEN);
	hpke_ctx_release(&ctx);
	return from_hpke(r);
}

static enum env_auth signer_auth(const struct env_signer *s)
{
	if (!s->cert)
		return ENV_AUTH_ACCOUNT;
	return s->cert->kind == ENV_CERT_X25519 ? ENV_AUTH_SESSION_HPKE : ENV_AUTH_SESSION_SIG;
}

/* The outer message of a query to seal: its head and the signer's part. */
static void query_head(struct env_query_msg *m, enum hpke_aead aead, const uint8_t *contract_id,
                       const struct env_signer *s)
{
	memset(m, 0, sizeof(*m));
	m->version = ENV_QUERY_VERSION;
	m->aead = (uint16_t)aead;
	m->contract_id = contract_id;
	m->auth = signer_auth(s);
	if (m->auth == ENV_AUTH_ACCOUNT)
		m->account = s->sk + SIG_SEED_LEN;
	else
		m->cert = *s->cert;
	/* A session signing key must be the certified one (a mismatch would only be refused). */
	assert(m->auth != ENV_AUTH_SESSION_SIG ||
	       memcmp(m->cert.session_pk, s->sk + SIG_SEED_LEN, SIG_PK_LEN) == 0);
}

enum env_result env_query_seal(enum hpke_aead aead, const uint8_t contract_pk[HPKE_PK_LEN],
                               const uint8_t chain_id[ENV_ID_LEN],
                               const uint8_t contract_id[ENV_ID_LEN], uint64_t expiry,
                               const struct env_signer *signer, const uint8_t *request,
                               size_t request_len, seal_rand_fn rng, void *rng_ctx, uint8_t *out,
                               size_t *out_len, struct env_query_client *keep)
{
	assert(contract_pk && chain_id && contract_id && signer && signer->sk);
	assert((request || !request_len) && rng && out && out_len && keep);
	if (aead_check(aead) != ENV_OK)
		return ENV_ERR_AEAD;
	if (request_len > ENV_REQUEST_MAX)
		return ENV_ERR_TOO_LONG;
	struct env_query_msg m;
	query_head(&m, aead, contract_id, signer);
	const uint8_t *origin = m.auth == ENV_AUTH_ACCOUNT ? m.account : m.cert.account;
	size_t env_len = query_envelope_len(request_len),
	       total = env_query_len(request_len, m.auth);
	struct enc e;
	enc_init_fixed(&e, out, total);
	encode_head(&e, &m);
	enc_uleb(&e, env_len);
	uint8_t *env = out + e.len;
	struct env_query_client k = {.aead = aead};
	rng(rng_ctx, k.request_id, ENV_ID_LEN);
	put_query_pt(env + HPKE_ENC_LEN, env_len - HPKE_ENVELOPE_OVERHEAD, k.request_id, expiry,
	             request, request_len);
	enum env_result r =
	    seal_query_envelope(aead, contract_pk, chain_id, contract_id, origin,
	                        m.auth == ENV_AUTH_SESSION_HPKE ? signer : NULL, env,
	                        env_len - HPKE_ENVELOPE_OVERHEAD, rng, rng_ctx, k.response_key);
	if (r != ENV_OK) {
		sodium_memzero(out, total); /* the plaintext request was written there */
		env_query_client_release(&k);
		return r;
	}
	size_t signed_len = (size_t)(env + env_len - out);
	if (m.auth != ENV_AUTH_SESSION_HPKE) {
		uint8_t msg[SIG_MSG_LEN];
		query_sig_msg(msg, chain_id, out, signed_len);
		sig_sign(out + signed_len, msg, sizeof(msg), signer->sk);
	}
	*out_len = total;
	*keep = k;
	sodium_memzero(&k, sizeof(k));
	return ENV_OK;
}

void env_query_client_release(struct env_query_client *k)
{
	sodium_memzero(k, sizeof(*k));
}

/* --- Queries: enclave side -------------------------------------------------------------------- */

/* What env_query_open was given. */
struct opener {
	const uint8_t *sk, *pk, *chain_id, *contract_id;
	uint64_t height;
	struct scache *sessions;
};

/* A session query's certificate, from the cache or verified now, then its expiry. Fills dh_rs
 * with DH(contract_sk, session_pk). Only a certificate whose signature verified enters the
 * cache, and its key holds every certificate byte, so a refused certificate never passes later,
 * nor does a valid one under another chain or contract key. */
static enum env_result check_session(const struct env_query_msg *m, const struct opener *o,
                                     uint8_t dh_rs[HPKE_SECRET_LEN])
{
	uint8_t key[SESSION_KEY_LEN];
	struct enc e;
	enc_init_fixed(&e, key, sizeof(key));
	enc_raw(&e, o->chain_id, ENV_ID_LEN);
	enc_raw(&e, o->pk, HPKE_PK_LEN);
	env_cert_encode(&e, &m->cert);
	assert(enc_finish(&e) == CODEC_OK && e.len == sizeof(key));
	if (!o->sessions || !scache_get(o->sessions, key, sizeof(key), dh_rs)) {
		if (!cert_signed(&m->cert, o->chain_id))
			return ENV_ERR_CERT_SIGNATURE;
		enum env_result r =
		    from_hpke(hpke_auth_static_dh(dh_rs, o->sk, m->cert.session_pk));
		if (r != ENV_OK)
			return r;
		if (o->sessions)
			scache_put(o->sessions, key, sizeof(key), dh_rs);
	}
	return o->height <= m->cert.expiry ? ENV_OK : ENV_ERR_CERT_EXPIRED;
}

/* Everything before the HPKE open: routing, certificate, signature. Sets *origin (and dh_rs for a
 * session query). */
static enum env_result check_query(const struct env_query_msg *m, const struct opener *o,
                                   const uint8_t *msg, const uint8_t **origin,
                                   uint8_t dh_rs[HPKE_SECRET_LEN])
{
	if (aead_check(m->aead) != ENV_OK)
		return ENV_ERR_AEAD;
	if (sodium_memcmp(m->contract_id, o->contract_id, ENV_ID_LEN) != 0)
		return ENV_ERR_CONTRACT;
	*origin = m->auth == ENV_AUTH_ACCOUNT ? m->account : m->cert.account;
	if (m->auth == ENV_AUTH_SESSION_HPKE)
		return check_session(m, o, dh_rs);
	const uint8_t *signer = m->account;
	if (m->auth == ENV_AUTH_SESSION_SIG) {
		enum env_result r = env_cert_verify(&m->cert, o->chain_id, o->height);
		if (r != ENV_OK)
			return r;
		signer = m->cert.session_pk;
	}
	uint8_t sm[SIG_MSG_LEN];
	query_sig_msg(sm, o->chain_id, msg, m->signed_len);
	return sig_verify(m->sig, sm, sizeof(sm), signer) ? ENV_OK : ENV_ERR_SIGNATURE;
}

/* Opens the envelope into buf (base mode, or auth mode from the session key with dh_rs) and
 * exports the response key. */
static enum env_result open_query_envelope(const struct env_query_msg *m, const struct opener *o,
                                           const uint8_t *origin,
                                           const uint8_t dh_rs[HPKE_SECRET_LEN], uint8_t *buf,
                                           size_t *pt_len, uint8_t key[ENV_RESPONSE_KEY_LEN])
{
	if (m->envelope_len < HPKE_ENVELOPE_OVERHEAD)
		return ENV_ERR_TRUNCATED;
	uint8_t info[INFO_MAX], aad[QAAD_LEN];
	size_t info_len = build_info(info, ENV_INFO_QUERY, m->contract_id);
	query_aad(aad, o->chain_id, m->contract_id, origin);
	const uint8_t *enc = m->envelope;
	enum hpke_aead aead = (enum hpke_aead)m->aead;
	struct hpke_ctx ctx;
	enum hpke_result r =
	    m->auth == ENV_AUTH_SESSION_HPKE
	        ? hpke_setup_auth_r_cached(&ctx, enc, o->sk, o->pk, m->cert.session_pk, dh_rs, info,
	                                   info_len, aead)
	        : hpke_setup_base_r(&ctx, enc, o->sk, o->pk, info, info_len, aead);
	if (r == HPKE_OK)
		r = hpke_open(&ctx, aad, sizeof(aad), enc + HPKE_ENC_LEN,
		              m->envelope_len - HPKE_ENC_LEN, buf);
	if (r == HPKE_OK) {
		*pt_len = m->envelope_len - HPKE_ENVELOPE_OVERHEAD;
		r = hpke_export(&ctx, (const uint8_t *)ENV_EXPORT_RESPONSE,
		                sizeof(ENV_EXPORT_RESPONSE) - 1, key, ENV_RESPONSE_KEY_LEN);
	}
	hpke_ctx_release(&ctx);
	return from_hpke(r);
}

static enum env_result decode_query_pt(struct env_query *q, const uint8_t *pt, size_t pt_len,
                                       uint64_t height)
{
	struct dec d;
	dec_init(&d, pt, pt_len);
	dec_raw(&d, q->request_id, ENV_ID_LEN);
	q->expiry = dec_u64(&d);
	q->request = dec_bytes(&d, &q->request_len, ENV_REQUEST_MAX);
	if (dec_finish(&d) != CODEC_OK)
		return ENV_ERR_MALFORMED;
	return height <= q->expiry ? ENV_OK : ENV_ERR_EXPIRED;
}

enum env_result env_query_open(const uint8_t contract_sk[HPKE_SK_LEN],
                               const uint8_t contract_pk[HPKE_PK_LEN],
                               const uint8_t chain_id[ENV_ID_LEN],
                               const uint8_t contract_id[ENV_ID_LEN], uint64_t height,
                               const uint8_t *msg, size_t len, uint8_t *buf, struct env_query *q,
                               struct scache *sessions)
{
	assert(contract_sk && contract_pk && chain_id && contract_id && (msg || !len) && buf && q);
	memset(q, 0, sizeof(*q));
	const struct opener o = {contract_sk, contract_pk, chain_id, contract_id, height, sessions};
	struct env_query_msg m;
	const uint8_t *origin = NULL;
	uint8_t dh_rs[HPKE_SECRET_LEN];
	size_t pt_len = 0;
	enum env_result r = env_query_decode(&m, msg, len);
	if (r == ENV_OK)
		r = check_query(&m, &o, msg, &origin, dh_rs);
	if (r == ENV_OK)
		r = open_query_envelope(&m, &o, origin, dh_rs, buf, &pt_len, q->response_key);
	sodium_memzero(dh_rs, sizeof(dh_rs));
	if (r == ENV_OK)
		r = decode_query_pt(q, buf, pt_len, height);
	if (r != ENV_OK) {
		sodium_memzero(buf, pt_len);
		env_query_release(q);
		return r;
	}
	memcpy(q->account, origin, SIG_PK_LEN);
	q->aead = (enum hpke_aead)m.aead;
	return ENV_OK;
}

void env_query_release(struct env_query *q)
{
	sodium_memzero(q, sizeof(*q));
}

/* --- Responses -------------------------------------------------------------------------------- */

typedef int (*aead_enc_fn)(unsigned char *, unsigned long long *, const unsigned char *,
                           unsigned long long, const unsigned char *, unsigned long long,
                           const unsigned char *, const unsigned char *, const unsigned char *);
typedef int (*aead_dec_fn)(unsigned char *, unsigned long long *, unsigned char *,
                           const unsigned char *, unsigned long long, const unsigned char *,
                           unsigned long long, const unsigned char *, const unsigned char *);

struct aead_impl {
	aead_enc_fn enc;
	aead_dec_fn dec;
};

static const struct aead_impl *aead_impl(enum hpke_aead aead)
{
	static const struct aead_impl chacha = {crypto_aead_chacha20poly1305_ietf_encrypt,
	                                        crypto_aead_chacha20poly1305_ietf_decrypt};
	static const struct aead_impl aes = {crypto_aead_aes256gcm_encrypt,
	                                     crypto_aead_aes256gcm_decrypt};
	if (aead_check(aead) != ENV_OK)
		return NULL;
	return aead == HPKE_AEAD_AES256GCM ? &aes : &chacha;
}

enum env_result env_response_seal(enum hpke_aead aead, const uint8_t key[ENV_RESPONSE_KEY_LEN],
                                  const uint8_t request_id[ENV_ID_LEN], const uint8_t *pt,
                                  size_t pt_len, seal_rand_fn rng, void *rng_ctx, uint8_t *out)
{
	assert(key && request_id && (pt || !pt_len) && rng && out);
	const struct aead_impl *a = aead_impl(aead);
	if (!a)
		return ENV_ERR_AEAD;
	if (pt_len > HPKE_PT_MAX)
		return ENV_ERR_TOO_LONG;
	rng(rng_ctx, out, HPKE_NONCE_LEN);
	unsigned long long n = 0;
	a->enc(out + HPKE_NONCE_LEN, &n, pt, pt_len, request_id, ENV_ID_LEN, NULL, out, key);
	assert(n == pt_len + HPKE_TAG_LEN);
	return ENV_OK;
}

enum env_result env_response_open(enum hpke_aead aead, const uint8_t key[ENV_RESPONSE_KEY_LEN],
                                  const uint8_t request_id[ENV_ID_LEN], const uint8_t *in,
                                  size_t in_len, uint8_t *pt, size_t *pt_len)
{
	assert(key && request_id && (in || !in_len) && pt && pt_len);
	*pt_len = 0;
	const struct aead_impl *a = aead_impl(aead);
	if (!a)
		return ENV_ERR_AEAD;
	if (in_len < ENV_RESPONSE_OVERHEAD)
		return ENV_ERR_TRUNCATED;
	unsigned long long n = 0;
	if (a->dec(pt, &n, NULL, in + HPKE_NONCE_LEN, in_len - HPKE_NONCE_LEN, request_id,
	           ENV_ID_LEN, in, key) != 0) {
		sodium_memzero(pt, in_len - ENV_RESPONSE_OVERHEAD);
		return ENV_ERR_OPEN;
	}
	*pt_len = (size_t)n;
	return ENV_OK;
}

/* --- Key sharing ------------------------------------------------------------------------------ */

static enum env_result keyshare_aad(uint8_t aad[KS_AAD_MAX], size_t *aad_len,
                                    const struct env_keyshare_ctx *c)
{
	assert(c->purpose);
	size_t plen = strlen(c->purpose);
	if (plen == 0 || plen > ENV_PURPOSE_MAX)
		return ENV_ERR_TOO_LONG;
	struct enc e;
	enc_init_fixed(&e, aad, KS_AAD_MAX);
	enc_raw(&e, c->chain_id, ENV_ID_LEN);
	enc_raw(&e, c->sender, SIG_PK_LEN);
	enc_raw(&e, c->recipient, SIG_PK_LEN);
	enc_u64(&e, c->seq);
	enc_raw(&e, c->purpose, plen);
	assert(enc_finish(&e) == CODEC_OK);
	*aad_len = e.len;
	return ENV_OK;
}

/* ikmE = kdf_derive(sender_secret, "tenebra/v1/keyshare-eph", aad ‖ recipient_pk ‖ H(pt)).
 * Binding the plaintext hash makes the ephemeral differ whenever the plaintext does, so even a
 * reused sequence number never encrypts two secrets under one key and nonce (SIV-style). */
static void keyshare_ikm(uint8_t ikmE[HPKE_IKM_LEN], const uint8_t *sender_secret,
                         const uint8_t *aad, size_t aad_len, const uint8_t *recipient_pk,
                         const uint8_t *pt, size_t pt_len)
{
	uint8_t ctx[KS_AAD_MAX + HPKE_PK_LEN + HASH_LEN];
	memcpy(ctx, aad, aad_len);
	memcpy(ctx + aad_len, recipient_pk, HPKE_PK_LEN);
	hash_plain(ctx + aad_len + HPKE_PK_LEN, pt, pt_len);
	size_t n = aad_len + HPKE_PK_LEN + HASH_LEN;
	kdf_derive(ikmE, HPKE_IKM_LEN, sender_secret, ENV_LABEL_KEYSHARE_EPH, ctx, n);
	sodium_memzero(ctx, sizeof(ctx));
}

enum env_result env_keyshare_seal(const uint8_t sender_secret[32],
                                  const uint8_t recipient_pk[HPKE_PK_LEN],
                                  const struct env_keyshare_ctx *c, const uint8_t *pt,
                                  size_t pt_len, uint8_t *out)
{
	assert(sender_secret && recipient_pk && c && (pt || !pt_len) && out);
	uint8_t aad[KS_AAD_MAX], info[INFO_MAX], ikmE[HPKE_IKM_LEN];
	size_t aad_len = 0;
	enum env_result r = keyshare_aad(aad, &aad_len, c);
	if (r != ENV_OK)
		return r;
	if (pt_len > ENV_KEYSHARE_MAX)
		return ENV_ERR_TOO_LONG;
	size_t info_len = build_info(info, ENV_INFO_KEYSHARE, recipient_pk);
	keyshare_ikm(ikmE, sender_secret, aad, aad_len, recipient_pk, pt, pt_len);
	r = from_hpke(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, recipient_pk, info,
	                                    info_len, aad, aad_len, pt, pt_len, ikmE, out, NULL));
	sodium_memzero(ikmE, sizeof(ikmE));
	return r;
}

enum env_result env_keyshare_open(const uint8_t recipient_sk[HPKE_SK_LEN],
                                  const uint8_t recipient_pk[HPKE_PK_LEN],
                                  const struct env_keyshare_ctx *c, const uint8_t *env,
                                  size_t env_len, uint8_t *pt, size_t *pt_len)
{
	assert(recipient_sk && recipient_pk && c && env && pt && pt_len);
	*pt_len = 0;
	uint8_t aad[KS_AAD_MAX], info[INFO_MAX];
	size_t aad_len = 0;
	enum env_result r = keyshare_aad(aad, &aad_len, c);
	if (r != ENV_OK)
		return r;
	if (env_len > ENV_KEYSHARE_MAX + HPKE_ENVELOPE_OVERHEAD)
		return ENV_ERR_TOO_LONG;
	size_t info_len = build_info(info, ENV_INFO_KEYSHARE, recipient_pk);
	return from_hpke(hpke_open_base(HPKE_AEAD_CHACHA20POLY1305, recipient_sk, recipient_pk,
	                                info, info_len, aad, aad_len, env, env_len, pt, pt_len,
	                                NULL));
}
