/*
 * HPKE base and auth modes over libsodium (see hpke.h). HKDF-SHA256 is written here over
 * libsodium's HMAC-SHA256 because crypto_kdf_hkdf_sha256_* only exists from libsodium 1.0.19 and
 * Debian 12 ships 1.0.18. Labeled inputs are fed to HMAC piece by piece, so no labeled buffer is
 * ever built and nothing is allocated.
 */
#include "crypto/hpke.h"
#include "crypto/hpke_int.h"

#include <assert.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum { ROLE_NONE = 0, ROLE_SENDER = 1, ROLE_RECEIVER = 2 };

/* --- Labeled HKDF (RFC 9180 §4) --------------------------------------------------------------- */

static const uint8_t hpke_v1[] = {'H', 'P', 'K', 'E', '-', 'v', '1'};

struct suite_id {
	uint8_t b[10];
	size_t n;
};

struct part {
	const uint8_t *p;
	size_t n;
};

/* "KEM" ‖ I2OSP(kem_id, 2), the suite of the DHKEM's own derivations (RFC 9180 §4.1). */
static void suite_kem(struct suite_id *s)
{
	static const uint8_t id[] = {'K', 'E', 'M', 0x00, 0x20};
	memcpy(s->b, id, sizeof(id));
	s->n = sizeof(id);
}

/* "HPKE" ‖ kem_id ‖ kdf_id ‖ aead_id (RFC 9180 §5.1). */
static void suite_hpke(struct suite_id *s, uint16_t aead_id)
{
	static const uint8_t id[] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01};
	memcpy(s->b, id, sizeof(id));
	s->b[8] = (uint8_t)(aead_id >> 8);
	s->b[9] = (uint8_t)aead_id;
	s->n = 10;
}

static void hmac_parts(uint8_t out[HPKE_SECRET_LEN], const uint8_t *key, size_t key_len,
                       const struct part *parts, size_t n)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, key_len);
	for (size_t i = 0; i < n; i++)
		if (parts[i].n)
			crypto_auth_hmacsha256_update(&st, parts[i].p, parts[i].n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm). A
 * NULL salt is the RFC's empty salt, i.e. Nh zero bytes (RFC 5869 §2.2). */
static void labeled_extract(uint8_t prk[HPKE_SECRET_LEN], const struct suite_id *sid,
                            const uint8_t *salt, const char *label, const uint8_t *ikm,
                            size_t ikm_len)
{
	static const uint8_t zeros[HPKE_SECRET_LEN];
	const struct part parts[] = {
	    {hpke_v1, sizeof(hpke_v1)},
	    {sid->b, sid->n},
	    {(const uint8_t *)label, strlen(label)},
	    {ikm, ikm_len},
	};
	hmac_parts(prk, salt ? salt : zeros, HPKE_SECRET_LEN, parts, 4);
}

/* LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖
 * label ‖ info, L). */
static void labeled_expand(uint8_t *out, size_t len, const uint8_t prk[HPKE_SECRET_LEN],
                           const struct suite_id *sid, const char *label, const uint8_t *info,
                           size_t info_len)
{
	assert(len <= HPKE_EXPORT_MAX);
	const uint8_t len2[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	uint8_t t[HPKE_SECRET_LEN];
	size_t t_len = 0;
	for (size_t done = 0, block = 1; done < len; block++) {
		const uint8_t ctr = (uint8_t)block;
		const struct part parts[] = {
		    {t, t_len},
		    {len2, 2},
		    {hpke_v1, sizeof(hpke_v1)},
		    {sid->b, sid->n},
		    {(const uint8_t *)label, strlen(label)},
		    {info, info_len},
		    {&ctr, 1},
		};
		hmac_parts(t, prk, HPKE_SECRET_LEN, parts, 7);
		t_len = HPKE_SECRET_LEN;
		size_t take = len - done < t_len ? len - done : t_len;
		memcpy(out + done, t, take);
		done += take;
	}
	sodium_memzero(t, sizeof(t));
}

/* --- DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1, §7.1) ----------------------------------------- */

/* The X25519 points of order 1, 2, 4 and 8 and their non-canonical encodings, compared with bit
 * 255 masked (RFC 7748 §5 ignores it). Any of them makes every shared secret all-zero, which RFC
 * 9180 §7.1.4 requires rejecting; refusing them up front keeps that independent of the libsodium
 * backend. */
static const uint8_t small_order[][HPKE_PK_LEN] = {
    {0},
    {1},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

/* Public keys are public: a plain comparison is fine. */
static bool has_small_order(const uint8_t pk[HPKE_PK_LEN])
{
	for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++)
		if (memcmp(pk, small_order[i], HPKE_PK_LEN - 1) == 0 &&
		    (pk[HPKE_PK_LEN - 1] & 0x7f) == small_order[i][HPKE_PK_LEN - 1])
			return true;
	return false;
}

static enum hpke_result dh(uint8_t out[HPKE_SECRET_LEN], const uint8_t sk[HPKE_SK_LEN],
                           const uint8_t pk[HPKE_PK_LEN])
{
	/* libsodium also fails on an all-zero result: the RFC's check, kept as a second line. */
	if (has_small_order(pk) || crypto_scalarmult_curve25519(out, sk, pk) != 0) {
		sodium_memzero(out, HPKE_SECRET_LEN);
		return HPKE_ERR_INVALID_KEY;
	}
	return HPKE_OK;
}

/* ExtractAndExpand(dh, kem_context) with kem_context = enc ‖ pkR, and ‖ pkS in auth mode (pkS
 * not NULL); dh_len is 32 (base) or 64 (auth: DH(skE, pkR) ‖ DH(skS, pkR)). */
static void extract_and_expand(uint8_t shared_secret[HPKE_SECRET_LEN], const uint8_t *dh_out,
                               size_t dh_len, const uint8_t enc[HPKE_ENC_LEN],
                               const uint8_t pkR[HPKE_PK_LEN], const uint8_t *pkS)
{
	struct suite_id sid;
	suite_kem(&sid);
	uint8_t kem_context[HPKE_ENC_LEN + 2 * HPKE_PK_LEN];
	memcpy(kem_context, enc, HPKE_ENC_LEN);
	memcpy(kem_context + HPKE_ENC_LEN, pkR, HPKE_PK_LEN);
	if (pkS)
		memcpy(kem_context + HPKE_ENC_LEN + HPKE_PK_LEN, pkS, HPKE_PK_LEN);
	uint8_t prk[HPKE_SECRET_LEN];
	labeled_extract(prk, &sid, NULL, "eae_prk", dh_out, dh_len);
	labeled_expand(shared_secret, HPKE_SECRET_LEN, prk, &sid, "shared_secret", kem_context,
	               HPKE_ENC_LEN + (pkS ? 2 : 1) * HPKE_PK_LEN);
	sodium_memzero(prk, sizeof(prk));
}

void hpke_keypair_from_seed(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN],
                            const uint8_t ikm[HPKE_IKM_LEN])
{
	struct suite_id sid;
	suite_kem(&sid);
	uint8_t prk[HPKE_SECRET_LEN];
	labeled_extract(prk, &sid, NULL, "dkp_prk", ikm, HPKE_IKM_LEN);
	labeled_expand(sk, HPKE_SK_LEN, prk, &sid, "sk", NULL, 0);
	sodium_memzero(prk, sizeof(prk));
	/* A clamped scalar is a non-zero multiple of 8 below the group order: never the identity.
	 */
	int rc = crypto_scalarmult_curve25519_base(pk, sk);
	assert(rc == 0);
	(void)rc;
}

void hpke_keygen(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN])
{
	uint8_t ikm[HPKE_IKM_LEN];
	randombytes_buf(ikm, sizeof(ikm));
	hpke_keypair_from_seed(pk, sk, ikm);
	sodium_memzero(ikm, sizeof(ikm));
}

/* Encap and AuthEncap: skS NULL in base mode. */
static enum hpke_result kem_encap(uint8_t shared_secret[HPKE_SECRET_LEN], uint8_t enc[HPKE_ENC_LEN],
                                  const uint8_t pkR[HPKE_PK_LEN], const uint8_t *skS,
                                  const uint8_t *pkS, const uint8_t ikmE[HPKE_IKM_LEN])
{
	uint8_t skE[HPKE_SK_LEN], dh_out[2 * HPKE_SECRET_LEN];
	hpke_keypair_from_seed(enc, skE, ikmE);
	enum hpke_result r = dh(dh_out, skE, pkR);
	if (r == HPKE_OK && skS)
		r = dh(dh_out + HPKE_SECRET_LEN, skS, pkR);
	if (r == HPKE_OK)
		extract_and_expand(shared_secret, dh_out, (skS ? 2 : 1) * HPKE_SECRET_LEN, enc, pkR,
		                   pkS);
	sodium_memzero(skE, sizeof(skE));
	sodium_memzero(dh_out, sizeof(dh_out));
	return r;
}

enum hpke_result hpke_kem_encap_derand(uint8_t shared_secret[HPKE_SECRET_LEN],
                                       uint8_t enc[HPKE_ENC_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                       const uint8_t ikmE[HPKE_IKM_LEN])
{
	return kem_encap(shared_secret, enc, pkR, NULL, NULL, ikmE);
}

enum hpke_result
hpke_kem_auth_encap_derand(uint8_t shared_secret[HPKE_SECRET_LEN], uint8_t enc[HPKE_ENC_LEN],
                           const uint8_t pkR[HPKE_PK_LEN], const uint8_t skS[HPKE_SK_LEN],
                           const uint8_t pkS[HPKE_PK_LEN], const uint8_t ikmE[HPKE_IKM_LEN])
{
	assert(skS && pkS);
	return kem_encap(shared_secret, enc, pkR, skS, pkS, ikmE);
}

/* Decap and AuthDecap: pkS and dh_rs NULL in base mode. */
static enum hpke_result kem_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                  const uint8_t enc[HPKE_ENC_LEN], const uint8_t skR[HPKE_SK_LEN],
                                  const uint8_t pkR[HPKE_PK_LEN], const uint8_t *pkS,
                                  const uint8_t *dh_rs)
{
	uint8_t dh_out[2 * HPKE_SECRET_LEN];
	enum hpke_result r = dh(dh_out, skR, enc);
	if (r == HPKE_OK && pkS)
		memcpy(dh_out + HPKE_SECRET_LEN, dh_rs, HPKE_SECRET_LEN);
	if (r == HPKE_OK)
		extract_and_expand(shared_secret, dh_out, (pkS ? 2 : 1) * HPKE_SECRET_LEN, enc, pkR,
		                   pkS);
	sodium_memzero(dh_out, sizeof(dh_out));
	return r;
}

enum hpke_result hpke_kem_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                const uint8_t enc[HPKE_ENC_LEN], const uint8_t skR[HPKE_SK_LEN],
                                const uint8_t pkR[HPKE_PK_LEN])
{
	return kem_decap(shared_secret, enc, skR, pkR, NULL, NULL);
}

enum hpke_result hpke_kem_auth_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                     const uint8_t enc[HPKE_ENC_LEN],
                                     const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                     const uint8_t pkS[HPKE_PK_LEN],
                                     const uint8_t dh_rs[HPKE_SECRET_LEN])
{
	assert(pkS && dh_rs);
	return kem_decap(shared_secret, enc, skR, pkR, pkS, dh_rs);
}

enum hpke_result hpke_auth_static_dh(uint8_t dh_rs[HPKE_SECRET_LEN], const uint8_t skR[HPKE_SK_LEN],
                                     const uint8_t pkS[HPKE_PK_LEN])
{
	assert(dh_rs && skR && pkS);
	return dh(dh_rs, skR, pkS);
}

/* --- Key schedule and export (RFC 9180 §5.1, §5.3) -------------------------------------------- */

void hpke_key_schedule(uint8_t mode, uint8_t *key, size_t key_len,
                       uint8_t base_nonce[HPKE_NONCE_LEN], uint8_t exporter_secret[HPKE_SECRET_LEN],
                       uint16_t aead_id, const uint8_t shared_secret[HPKE_SECRET_LEN],
                       const uint8_t *info, size_t info_len)
{
	assert(info_len <= HPKE_INFO_MAX && key_len <= HPKE_KEY_LEN);
	assert(mode == HPKE_MODE_BASE || mode == HPKE_MODE_AUTH);
	struct suite_id sid;
	suite_hpke(&sid, aead_id);
	/* key_schedule_context = mode ‖ psk_id_hash ‖ info_hash, psk_id = "" (no PSK modes) */
	uint8_t ksc[1 + 2 * HPKE_SECRET_LEN] = {mode};
	labeled_extract(ksc + 1, &sid, NULL, "psk_id_hash", NULL, 0);
	labeled_extract(ksc + 1 + HPKE_SECRET_LEN, &sid, NULL, "info_hash", info, info_len);
	uint8_t secret[HPKE_SECRET_LEN];
	labeled_extract(secret, &sid, shared_secret, "secret", NULL, 0); /* psk = "" */
	labeled_expand(key, key_len, secret, &sid, "key", ksc, sizeof(ksc));
	labeled_expand(base_nonce, HPKE_NONCE_LEN, secret, &sid, "base_nonce", ksc, sizeof(ksc));
	labeled_expand(exporter_secret, HPKE_SECRET_LEN, secret, &sid, "exp", ksc, sizeof(ksc));
	sodium_memzero(secret, sizeof(secret));
}

void hpke_export_secret(uint8_t *out, size_t len, const uint8_t exporter_secret[HPKE_SECRET_LEN],
                        uint16_t aead_id, const uint8_t *exp_ctx, size_t exp_ctx_len)
{
	assert(len <= HPKE_EXPORT_MAX && exp_ctx_len <= HPKE_EXPORT_CTX_MAX);
	struct suite_id sid;
	suite_hpke(&sid, aead_id);
	labeled_expand(out, len, exporter_secret, &sid, "sec", exp_ctx, exp_ctx_len);
}

/* --- AEADs ------------------------------------------------------------------------------------ */

typedef int aead_encrypt_fn(unsigned char *c, unsigned long long *clen, const unsigned char *m,
                            unsigned long long mlen, const unsigned char *ad,
                            unsigned long long adlen, const unsigned char *nsec,
                            const unsigned char *npub, const unsigned char *k);
typedef int aead_decrypt_fn(unsigned char *m, unsigned long long *mlen, unsigned char *nsec,
                            const unsigned char *c, unsigned long long clen,
                            const unsigned char *ad, unsigned long long adlen,
                            const unsigned char *npub, const unsigned char *k);

struct aead_ops {
	enum hpke_aead id;
	bool (*available)(void);
	aead_encrypt_fn *encrypt;
	aead_decrypt_fn *decrypt;
};

/* AES-GCM support is detected by sodium_init (idempotent and thread-safe). */
static bool aes256gcm_available(void)
{
	return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

static bool always(void)
{
	return true;
}

static const struct aead_ops aeads[] = {
    {HPKE_AEAD_AES256GCM, aes256gcm_available, crypto_aead_aes256gcm_encrypt,
     crypto_aead_aes256gcm_decrypt},
    {HPKE_AEAD_CHACHA20POLY1305, always, crypto_aead_chacha20poly1305_ietf_encrypt,
     crypto_aead_chacha20poly1305_ietf_decrypt},
};

static const struct aead_ops *aead_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(aeads) / sizeof(aeads[0]); i++)
		if (aeads[i].id == id)
			return &aeads[i];
	return NULL;
}

/* --- Contexts --------------------------------------------------------------------------------- */

static enum hpke_result check_setup(enum hpke_aead aead, size_t info_len)
{
	const struct aead_ops *a = aead_find(aead);
	if (!a)
		return HPKE_ERR_UNSUPPORTED_AEAD;
	if (!a->available())
		return HPKE_ERR_AEAD_UNAVAILABLE;
	return info_len > HPKE_INFO_MAX ? HPKE_ERR_TOO_LONG : HPKE_OK;
}

static void ctx_init(struct hpke_ctx *ctx, uint8_t role, uint8_t mode, enum hpke_aead aead,
                     const uint8_t shared_secret[HPKE_SECRET_LEN], const uint8_t *info,
                     size_t info_len)
{
	hpke_key_schedule(mode, ctx->key, HPKE_KEY_LEN, ctx->base_nonce, ctx->exporter_secret, aead,
	                  shared_secret, info, info_len);
	ctx->seq = 0;
	ctx->aead = aead;
	ctx->role = role;
}

/* SetupBaseS / SetupAuthS (skS, pkS NULL in base mode). */
static enum hpke_result setup_s(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                const uint8_t pkR[HPKE_PK_LEN], const uint8_t *skS,
                                const uint8_t *pkS, const uint8_t *info, size_t info_len,
                                enum hpke_aead aead, const uint8_t ikmE[HPKE_IKM_LEN])
{
	assert(ctx && enc && pkR && ikmE && (info || !info_len));
	sodium_memzero(ctx, sizeof(*ctx));
	enum hpke_result r = check_setup(aead, info_len);
	if (r != HPKE_OK)
		return r;
	uint8_t shared[HPKE_SECRET_LEN];
	r = kem_encap(shared, enc, pkR, skS, pkS, ikmE);
	if (r == HPKE_OK)
		ctx_init(ctx, ROLE_SENDER, skS ? HPKE_MODE_AUTH : HPKE_MODE_BASE, aead, shared,
		         info, info_len);
	sodium_memzero(shared, sizeof(shared));
	return r;
}

enum hpke_result hpke_setup_base_s_derand(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                          const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                          size_t info_len, enum hpke_aead aead,
                                          const uint8_t ikmE[HPKE_IKM_LEN])
{
	return setup_s(ctx, enc, pkR, NULL, NULL, info, info_len, aead, ikmE);
}

enum hpke_result hpke_setup_base_s(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                   size_t info_len, enum hpke_aead aead)
{
	uint8_t ikmE[HPKE_IKM_LEN];
	randombytes_buf(ikmE, sizeof(ikmE));
	enum hpke_result r = hpke_setup_base_s_derand(ctx, enc, pkR, info, info_len, aead, ikmE);
	sodium_memzero(ikmE, sizeof(ikmE));
	return r;
}

enum hpke_result hpke_setup_auth_s_derand(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                          const uint8_t pkR[HPKE_PK_LEN],
                                          const uint8_t skS[HPKE_SK_LEN],
                                          const uint8_t pkS[HPKE_PK_LEN], const uint8_t *info,
                                          size_t info_len, enum hpke_aead aead,
                                          const uint8_t ikmE[HPKE_IKM_LEN])
{
	assert(skS && pkS);
	return setup_s(ctx, enc, pkR, skS, pkS, info, info_len, aead, ikmE);
}

/* SetupBaseR / SetupAuthR with DH(skR, pkS) given (pkS, dh_rs NULL in base mode). */
static enum hpke_result setup_r(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                const uint8_t *pkS, const uint8_t *dh_rs, const uint8_t *info,
                                size_t info_len, enum hpke_aead aead)
{
	assert(ctx && enc && skR && pkR && (info || !info_len));
	sodium_memzero(ctx, sizeof(*ctx));
	enum hpke_result r = check_setup(aead, info_len);
	if (r != HPKE_OK)
		return r;
	uint8_t shared[HPKE_SECRET_LEN];
	r = kem_decap(shared, enc, skR, pkR, pkS, dh_rs);
	if (r == HPKE_OK)
		ctx_init(ctx, ROLE_RECEIVER, pkS ? HPKE_MODE_AUTH : HPKE_MODE_BASE, aead, shared,
		         info, info_len);
	sodium_memzero(shared, sizeof(shared));
	return r;
}

enum hpke_result hpke_setup_base_r(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                   const uint8_t *info, size_t info_len, enum hpke_aead aead)
{
	return setup_r(ctx, enc, skR, pkR, NULL, NULL, info, info_len, aead);
}

enum hpke_result hpke_setup_auth_r_cached(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                          const uint8_t skR[HPKE_SK_LEN],
                                          const uint8_t pkR[HPKE_PK_LEN],
                                          const uint8_t pkS[HPKE_PK_LEN],
                                          const uint8_t dh_rs[HPKE_SECRET_LEN], const uint8_t *info,
                                          size_t info_len, enum hpke_aead aead)
{
	assert(pkS && dh_rs);
	return setup_r(ctx, enc, skR, pkR, pkS, dh_rs, info, info_len, aead);
}

enum hpke_result hpke_setup_auth_r(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                   const uint8_t pkS[HPKE_PK_LEN], const uint8_t *info,
                                   size_t info_len, enum hpke_aead aead)
{
	assert(ctx);
	sodium_memzero(ctx, sizeof(*ctx));
	uint8_t dh_rs[HPKE_SECRET_LEN];
	enum hpke_result r = hpke_auth_static_dh(dh_rs, skR, pkS);
	if (r == HPKE_OK)
		r = hpke_setup_auth_r_cached(ctx, enc, skR, pkR, pkS, dh_rs, info, info_len, aead);
	sodium_memzero(dh_rs, sizeof(dh_rs));
	return r;
}

/* The AEAD of a set-up context in the given role. Misuse (a released, failed or wrong-role
 * context) aborts even in release builds: going on would encrypt under, or export from, a zero
 * key. */
static const struct aead_ops *ctx_aead(const struct hpke_ctx *ctx, uint8_t role)
{
	const struct aead_ops *a = aead_find(ctx->aead);
	if (!a || ctx->role == ROLE_NONE || (role != ROLE_NONE && ctx->role != role))
		abort();
	return a;
}

/* ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn) */
static void compute_nonce(uint8_t nonce[HPKE_NONCE_LEN], const struct hpke_ctx *ctx)
{
	memcpy(nonce, ctx->base_nonce, HPKE_NONCE_LEN);
	for (size_t i = 0; i < 8; i++)
		nonce[HPKE_NONCE_LEN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* The RFC's limit is 2^96 - 1 messages; a 64-bit counter stops at 2^64 - 1 (both unreachable in
 * practice, but the check keeps nonce reuse impossible by construction). */
static enum hpke_result check_message(const struct hpke_ctx *ctx, size_t aad_len, size_t pt_len)
{
	if (pt_len > HPKE_PT_MAX || aad_len > HPKE_AAD_MAX)
		return HPKE_ERR_TOO_LONG;
	return ctx->seq == UINT64_MAX ? HPKE_ERR_MESSAGE_LIMIT : HPKE_OK;
}

enum hpke_result hpke_seal(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                           const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	assert(ctx && ct && (aad || !aad_len) && (pt || !pt_len));
	const struct aead_ops *a = ctx_aead(ctx, ROLE_SENDER);
	enum hpke_result r = check_message(ctx, aad_len, pt_len);
	if (r != HPKE_OK)
		return r;
	uint8_t nonce[HPKE_NONCE_LEN];
	compute_nonce(nonce, ctx);
	unsigned long long ct_len;
	int rc = a->encrypt(ct, &ct_len, pt, pt_len, aad, aad_len, NULL, nonce, ctx->key);
	sodium_memzero(nonce, sizeof(nonce));
	assert(rc == 0 && ct_len == pt_len + HPKE_TAG_LEN);
	(void)rc;
	ctx->seq++;
	return HPKE_OK;
}

enum hpke_result hpke_open(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                           const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	assert(ctx && ct && pt && (aad || !aad_len));
	const struct aead_ops *a = ctx_aead(ctx, ROLE_RECEIVER);
	if (ct_len < HPKE_TAG_LEN)
		return HPKE_ERR_TRUNCATED;
	enum hpke_result r = check_message(ctx, aad_len, ct_len - HPKE_TAG_LEN);
	if (r != HPKE_OK)
		return r;
	uint8_t nonce[HPKE_NONCE_LEN];
	compute_nonce(nonce, ctx);
	unsigned long long pt_len;
	int rc = a->decrypt(pt, &pt_len, NULL, ct, ct_len, aad, aad_len, nonce, ctx->key);
	sodium_memzero(nonce, sizeof(nonce));
	if (rc != 0) {
		sodium_memzero(pt, ct_len - HPKE_TAG_LEN);
		return HPKE_ERR_OPEN;
	}
	ctx->seq++;
	return HPKE_OK;
}

enum hpke_result hpke_export(const struct hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctx_len,
                             uint8_t *out, size_t len)
{
	assert(ctx && (exp_ctx || !exp_ctx_len) && (out || !len));
	ctx_aead(ctx, ROLE_NONE);
	if (len > HPKE_EXPORT_MAX || exp_ctx_len > HPKE_EXPORT_CTX_MAX)
		return HPKE_ERR_TOO_LONG;
	hpke_export_secret(out, len, ctx->exporter_secret, ctx->aead, exp_ctx, exp_ctx_len);
	return HPKE_OK;
}

void hpke_ctx_release(struct hpke_ctx *ctx)
{
	sodium_memzero(ctx, sizeof(*ctx)); /* role becomes ROLE_NONE */
}

/* --- One-shot envelopes ----------------------------------------------------------------------- */

/* Hands a finished context to the caller or wipes it. */
static void keep_or_release(struct hpke_ctx *ctx, struct hpke_ctx *keep, enum hpke_result r)
{
	if (r == HPKE_OK && keep)
		*keep = *ctx;
	hpke_ctx_release(ctx);
}

enum hpke_result hpke_seal_base_derand(enum hpke_aead aead, const uint8_t pkR[HPKE_PK_LEN],
                                       const uint8_t *info, size_t info_len, const uint8_t *aad,
                                       size_t aad_len, const uint8_t *pt, size_t pt_len,
                                       const uint8_t ikmE[HPKE_IKM_LEN], uint8_t *out,
                                       struct hpke_ctx *keep)
{
	assert(out);
	struct hpke_ctx ctx;
	enum hpke_result r = hpke_setup_base_s_derand(&ctx, out, pkR, info, info_len, aead, ikmE);
	if (r != HPKE_OK)
		return r;
	r = hpke_seal(&ctx, aad, aad_len, pt, pt_len, out + HPKE_ENC_LEN);
	keep_or_release(&ctx, keep, r);
	return r;
}

enum hpke_result hpke_seal_base(enum hpke_aead aead, const uint8_t pkR[HPKE_PK_LEN],
                                const uint8_t *info, size_t info_len, const uint8_t *aad,
                                size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
                                struct hpke_ctx *keep)
{
	uint8_t ikmE[HPKE_IKM_LEN];
	randombytes_buf(ikmE, sizeof(ikmE));
	enum hpke_result r = hpke_seal_base_derand(aead, pkR, info, info_len, aad, aad_len, pt,
	                                           pt_len, ikmE, out, keep);
	sodium_memzero(ikmE, sizeof(ikmE));
	return r;
}

enum hpke_result hpke_open_base(enum hpke_aead aead, const uint8_t skR[HPKE_SK_LEN],
                                const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                size_t info_len, const uint8_t *aad, size_t aad_len,
                                const uint8_t *in, size_t in_len, uint8_t *pt, size_t *pt_len,
                                struct hpke_ctx *keep)
{
	assert(in && pt && pt_len);
	if (in_len < HPKE_ENVELOPE_OVERHEAD)
		return HPKE_ERR_TRUNCATED;
	struct hpke_ctx ctx;
	enum hpke_result r = hpke_setup_base_r(&ctx, in, skR, pkR, info, info_len, aead);
	if (r != HPKE_OK)
		return r;
	r = hpke_open(&ctx, aad, aad_len, in + HPKE_ENC_LEN, in_len - HPKE_ENC_LEN, pt);
	if (r == HPKE_OK)
		*pt_len = in_len - HPKE_ENVELOPE_OVERHEAD;
	keep_or_release(&ctx, keep, r);
	return r;
}

const char *hpke_strerror(enum hpke_result r)
{
	static const char *const msgs[] = {
	    [HPKE_OK] = "ok",
	    [HPKE_ERR_UNSUPPORTED_AEAD] = "unsupported HPKE AEAD id",
	    [HPKE_ERR_AEAD_UNAVAILABLE] = "AES-256-GCM needs AES-NI/PCLMUL, absent on this CPU",
	    [HPKE_ERR_INVALID_KEY] = "invalid X25519 public key (small order / zero DH output)",
	    [HPKE_ERR_OPEN] = "HPKE decryption failed (authentication)",
	    [HPKE_ERR_TRUNCATED] = "HPKE ciphertext or envelope too short",
	    [HPKE_ERR_TOO_LONG] = "HPKE input over its length cap",
	    [HPKE_ERR_MESSAGE_LIMIT] = "HPKE context message limit reached",
	};
	if ((size_t)r < sizeof(msgs) / sizeof(msgs[0]) && msgs[r])
		return msgs[r];
	return "unknown HPKE error";
}
