/*
 * Internal stages of hpke.c, exposed only so tests/unit/crypto/test_hpke.c can check each
 * intermediate value of RFC 9180 Appendix A (including the AES-128-GCM suite A.1, whose key
 * schedule and exporter are checked although this module does not offer that AEAD). Not for other
 * callers: use hpke.h.
 */
#ifndef TN_CRYPTO_HPKE_INT_H
#define TN_CRYPTO_HPKE_INT_H

#include "crypto/hpke.h"

/* Encap(pkR) of DHKEM(X25519, HKDF-SHA256) with the ephemeral key DeriveKeyPair(ikmE).
 * Errors: HPKE_ERR_INVALID_KEY. */
enum hpke_result hpke_kem_encap_derand(uint8_t shared_secret[HPKE_SECRET_LEN],
                                       uint8_t enc[HPKE_ENC_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                       const uint8_t ikmE[HPKE_IKM_LEN]);
/* Decap(enc, skR). Errors: HPKE_ERR_INVALID_KEY. */
enum hpke_result hpke_kem_decap(uint8_t shared_secret[HPKE_SECRET_LEN],
                                const uint8_t enc[HPKE_ENC_LEN], const uint8_t skR[HPKE_SK_LEN]);
/* KeySchedule(mode_base, shared_secret, info) for suite (0x0020, 0x0001, aead_id) with a key of
 * key_len (Nk) bytes; key holds key_len bytes. info_len <= HPKE_INFO_MAX (asserted). */
void hpke_key_schedule(uint8_t *key, size_t key_len, uint8_t base_nonce[HPKE_NONCE_LEN],
                       uint8_t exporter_secret[HPKE_SECRET_LEN], uint16_t aead_id,
                       const uint8_t shared_secret[HPKE_SECRET_LEN], const uint8_t *info,
                       size_t info_len);
/* Export's LabeledExpand(exporter_secret, "sec", exp_ctx, len) for suite aead_id; len and
 * exp_ctx_len within their caps (asserted). */
void hpke_export_secret(uint8_t *out, size_t len, const uint8_t exporter_secret[HPKE_SECRET_LEN],
                        uint16_t aead_id, const uint8_t *exp_ctx, size_t exp_ctx_len);

#endif
