/*
 * Internal stages of hpke.c, exposed only so tests/unit/crypto/test_hpke.c can check each
 * intermediate value of RFC 9180 Appendix A (including the AES-128-GCM suite A.1, whose key
 * schedule and exporter are checked although this module does not offer that AEAD). Not for other
 * callers: use hpke.h.
 */
#ifndef TN_CRYPTO_HPKE_INT_H
#define TN_CRYPTO_HPKE_INT_H

#include "crypto/hpke.h"

#define HPKE_MODE_BASE 0x00
#define HPKE_MODE_AUTH 0x02

/* Encap(pkR) of DHKEM(X25519, HKDF-SHA256) with the ephemeral key DeriveKeyPair(ikmE).
 * Errors: HPKE_ERR_INVALID_KEY. */
enum hpke_result hpke_kem_encap_derand(uint8_t shared_secret[HPKE_SECRET_LEN],
                                       uint8_t enc[HPKE_ENC_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                       const uint8_t ikmE[HPKE_IKM_LEN]);
/* Decap(enc, skR), pkR being skR's public key. Errors: HPKE_ERR_INVALID_KEY. */
enum hpke_result hpke_kem_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                const uint8_t enc[HPKE_ENC_LEN], const uint8_t skR[HPKE_SK_LEN],
                                const uint8_t pkR[HPKE_PK_LEN]);
/* AuthEncap(pkR, skS) with the ephemeral key DeriveKeyPair(ikmE); pkS is skS's public key.
 * Errors: HPKE_ERR_INVALID_KEY. */
enum hpke_result
hpke_kem_auth_encap_derand(uint8_t shared_secret[HPKE_SECRET_LEN], uint8_t enc[HPKE_ENC_LEN],
                           const uint8_t pkR[HPKE_PK_LEN], const uint8_t skS[HPKE_SK_LEN],
                           const uint8_t pkS[HPKE_PK_LEN], const uint8_t ikmE[HPKE_IKM_LEN]);
/* AuthDecap(enc, skR, pkS) with dh_rs = DH(skR, pkS) given (hpke_auth_static_dh).
 * Errors: HPKE_ERR_INVALID_KEY (enc). */
enum hpke_result hpke_kem_auth_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                     const uint8_t enc[HPKE_ENC_LEN],
                                     const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                     const uint8_t pkS[HPKE_PK_LEN],
                                     const uint8_t dh_rs[HPKE_SECRET_LEN]);
/* KeySchedule(mode, shared_secret, info) for suite (0x0020, 0x0001, aead_id), mode
 * HPKE_MODE_BASE or HPKE_MODE_AUTH (no PSK), with a key of key_len (Nk) bytes; key holds key_len
 * bytes. info_len <= HPKE_INFO_MAX (asserted). */
void hpke_key_schedule(uint8_t mode, uint8_t *key, size_t key_len,
                       uint8_t base_nonce[HPKE_NONCE_LEN], uint8_t exporter_secret[HPKE_SECRET_LEN],
                       uint16_t aead_id, const uint8_t shared_secret[HPKE_SECRET_LEN],
                       const uint8_t *info, size_t info_len);
/* Export's LabeledExpand(exporter_secret, "sec", exp_ctx, len) for suite aead_id; len and
 * exp_ctx_len within their caps (asserted). */
void hpke_export_secret(uint8_t *out, size_t len, const uint8_t exporter_secret[HPKE_SECRET_LEN],
                        uint16_t aead_id, const uint8_t *exp_ctx, size_t exp_ctx_len);

#endif
