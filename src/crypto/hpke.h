/*
 * HPKE (RFC 9180) for every confidential payload (DESIGN.md §5): commands, queries, analytics
 * events and key sharing between enclaves. Base mode (mode_base 0x00) for all of them, and auth
 * mode (mode_auth 0x02, §5.1.3) for session queries, whose sender is authenticated by its static
 * X25519 key instead of a signature (docs/protocol/envelopes.md "Session queries"). The profile
 * is fixed:
 *
 *   KEM  DHKEM(X25519, HKDF-SHA256)  kem_id 0x0020
 *   KDF  HKDF-SHA256                 kdf_id 0x0001
 *   AEAD ChaCha20-Poly1305           aead_id 0x0003  (default)
 *        AES-256-GCM                 aead_id 0x0002  (accepted so browsers can use WebCrypto; needs
 *                                                     AES-NI + PCLMUL on this machine)
 *
 * The envelope of docs/protocol.md ("HPKE envelope") is `enc ‖ ciphertext`: the 32-byte ephemeral
 * X25519 public key followed by the AEAD output (plaintext length + 16-byte tag) of the first
 * message (sequence number 0) of the context. hpke_seal_base / hpke_open_base produce and consume
 * exactly that; the context API below is the RFC's, for callers that need Export or several
 * messages.
 *
 * Every secret this module derives (DH output, shared secret, PRKs, key, nonces, exporter secret,
 * ephemeral key) is wiped with sodium_memzero before the function returns, on every path; a
 * context's keys live until hpke_ctx_release. Nothing here allocates.
 *
 * Errors: invalid arguments that only a programming error can produce abort: NULL buffers (via
 * assert), and a context that is not set up, released, or of the wrong role for seal/open (always,
 * also with NDEBUG, since going on would use a zero key). Everything that can
 * come from the network or a peer returns an enum hpke_result.
 */
#ifndef TN_CRYPTO_HPKE_H
#define TN_CRYPTO_HPKE_H

#include <stddef.h>
#include <stdint.h>

#define HPKE_KEM_X25519_SHA256 0x0020
#define HPKE_KDF_HKDF_SHA256   0x0001

enum hpke_aead {
	HPKE_AEAD_AES256GCM = 0x0002,
	HPKE_AEAD_CHACHA20POLY1305 = 0x0003,
};

#define HPKE_PK_LEN     32 /* Npk: serialized X25519 public key */
#define HPKE_SK_LEN     32 /* Nsk: serialized X25519 private key (unclamped, as in the RFC) */
#define HPKE_ENC_LEN    32 /* Nenc: encapsulated key = ephemeral public key */
#define HPKE_IKM_LEN    32 /* input keying material of DeriveKeyPair (RFC 9180 §7.1.3) */
#define HPKE_TAG_LEN    16 /* Nt of both AEADs */
#define HPKE_KEY_LEN    32 /* Nk of both AEADs */
#define HPKE_NONCE_LEN  12 /* Nn of both AEADs */
#define HPKE_SECRET_LEN 32 /* Nh of HKDF-SHA256 */
/* bytes an envelope adds to its plaintext: enc and tag */
#define HPKE_ENVELOPE_OVERHEAD (HPKE_ENC_LEN + HPKE_TAG_LEN)

/* Caps on caller-supplied lengths (HPKE_ERR_TOO_LONG beyond them). The RFC requires at least 64
 * bytes for info and exporter_context; Export is bounded by HKDF to 255 * Nh. */
#define HPKE_INFO_MAX       1024
#define HPKE_EXPORT_CTX_MAX 1024
#define HPKE_EXPORT_MAX     (255 * HPKE_SECRET_LEN)
#define HPKE_PT_MAX         ((size_t)1 << 30)
#define HPKE_AAD_MAX        ((size_t)1 << 20)

enum hpke_result {
	HPKE_OK = 0,
	HPKE_ERR_UNSUPPORTED_AEAD, /* an aead id other than the two of the profile */
	HPKE_ERR_AEAD_UNAVAILABLE, /* AES-256-GCM requested but the CPU lacks AES-NI/PCLMUL */
	HPKE_ERR_INVALID_KEY,      /* a public key of small order, or an all-zero DH output */
	HPKE_ERR_OPEN,             /* authentication failed: wrong key, info, aad, enc or ct */
	HPKE_ERR_TRUNCATED,     /* ciphertext shorter than the tag, envelope shorter than enc+tag */
	HPKE_ERR_TOO_LONG,      /* info, aad, exporter context, plaintext or export over its cap */
	HPKE_ERR_MESSAGE_LIMIT, /* the context's sequence number is exhausted (RFC 9180 §5.2) */
};

/* A static English message for r; never NULL. */
const char *hpke_strerror(enum hpke_result r);

/*
 * An encryption context (RFC 9180 §5.2). Allocate it anywhere (stack is fine); it is filled by a
 * setup function and must be wiped with hpke_ctx_release. The fields are private to hpke.c: the
 * layout is here only so callers can allocate one.
 */
struct hpke_ctx {
	uint8_t key[HPKE_KEY_LEN];
	uint8_t base_nonce[HPKE_NONCE_LEN];
	uint8_t exporter_secret[HPKE_SECRET_LEN];
	uint64_t seq;
	uint16_t aead;
	uint8_t role; /* 0: not set up / released; see hpke.c */
};

/* --- Keys ------------------------------------------------------------------------------------- */

/* DeriveKeyPair(ikm) of RFC 9180 §7.1.3: the same ikm always gives the same key pair. */
void hpke_keypair_from_seed(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN],
                            const uint8_t ikm[HPKE_IKM_LEN]);
/* A fresh random key pair (DeriveKeyPair of 32 random bytes). */
void hpke_keygen(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN]);

/* --- Contexts (RFC 9180 §5.1, mode_base) -------------------------------------------------------
 * On success the context is set up (sender or receiver role) with sequence number 0; on any error
 * it is left wiped and unusable (passing it to seal/open/export aborts), and needs no release. */

/* SetupBaseS: encapsulates to pkR with a fresh random ephemeral key. Writes enc.
 * Errors: HPKE_ERR_UNSUPPORTED_AEAD, HPKE_ERR_AEAD_UNAVAILABLE, HPKE_ERR_INVALID_KEY (pkR of small
 * order), HPKE_ERR_TOO_LONG (info_len > HPKE_INFO_MAX). */
enum hpke_result hpke_setup_base_s(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                   size_t info_len, enum hpke_aead aead)
    __attribute__((warn_unused_result));
/* SetupBaseS with the ephemeral key derived from ikmE (DeriveKeyPair), so the output is a function
 * of the inputs: for test vectors and for gatekeepers that must all emit identical bytes. ikmE must
 * be secret and never reused with different plaintexts. Errors as hpke_setup_base_s. */
enum hpke_result hpke_setup_base_s_derand(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                                          const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                          size_t info_len, enum hpke_aead aead,
                                          const uint8_t ikmE[HPKE_IKM_LEN])
    __attribute__((warn_unused_result));
/* SetupBaseR: decapsulates enc with the recipient's key pair (skR, pkR). pkR must be skR's
 * public key (it enters the KEM context; passing it saves a base-point multiplication per
 * message); another pkR derives another key and every open fails.
 * Errors: HPKE_ERR_UNSUPPORTED_AEAD, HPKE_ERR_AEAD_UNAVAILABLE, HPKE_ERR_INVALID_KEY (enc of small
 * order), HPKE_ERR_TOO_LONG. */
enum hpke_result hpke_setup_base_r(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                   const uint8_t *info, size_t info_len, enum hpke_aead aead)
    __attribute__((warn_unused_result));

/* --- Contexts (RFC 9180 §5.1.3, mode_auth) -----------------------------------------------------
 * The sender also proves its static key pair (skS, pkS): AuthEncap mixes DH(skE, pkR) and
 * DH(skS, pkR) into the shared secret and binds pkS in the KEM context, so only the holder of skS
 * (or of skR) can build a context that opens. Auth mode does not resist key-compromise
 * impersonation: whoever holds skR can forge messages "from" any sender to skR. The second DH
 * depends only on the two static keys, so a receiver that sees many messages from one sender
 * computes it once (hpke_auth_static_dh) and sets up each context with one X25519. */

/* SetupAuthS with the ephemeral key DeriveKeyPair(ikmE) (see hpke_setup_base_s_derand). pkS must
 * be skS's public key (else the receiver cannot open). Errors: as hpke_setup_base_s. */
enum hpke_result
hpke_setup_auth_s_derand(struct hpke_ctx *ctx, uint8_t enc[HPKE_ENC_LEN],
                         const uint8_t pkR[HPKE_PK_LEN], const uint8_t skS[HPKE_SK_LEN],
                         const uint8_t pkS[HPKE_PK_LEN], const uint8_t *info, size_t info_len,
                         enum hpke_aead aead, const uint8_t ikmE[HPKE_IKM_LEN])
    __attribute__((warn_unused_result));
/* The static half of AuthDecap, DH(skR, pkS) (= DH(skS, pkR)), for hpke_setup_auth_r_cached. It
 * is a secret: wipe it when done. Errors: HPKE_ERR_INVALID_KEY (pkS of small order). */
enum hpke_result hpke_auth_static_dh(uint8_t dh_rs[HPKE_SECRET_LEN], const uint8_t skR[HPKE_SK_LEN],
                                     const uint8_t pkS[HPKE_PK_LEN])
    __attribute__((warn_unused_result));
/* SetupAuthR: decapsulates enc from sender pkS with (skR, pkR) (pkR as in hpke_setup_base_r).
 * Errors: as hpke_setup_base_r; HPKE_ERR_INVALID_KEY also for pkS of small order. */
enum hpke_result hpke_setup_auth_r(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                                   const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                                   const uint8_t pkS[HPKE_PK_LEN], const uint8_t *info,
                                   size_t info_len, enum hpke_aead aead)
    __attribute__((warn_unused_result));
/* SetupAuthR with dh_rs = hpke_auth_static_dh(skR, pkS) computed earlier: one X25519 instead of
 * two. A dh_rs that is not that value derives another key, and every open fails. Errors: as
 * hpke_setup_base_r. */
enum hpke_result
hpke_setup_auth_r_cached(struct hpke_ctx *ctx, const uint8_t enc[HPKE_ENC_LEN],
                         const uint8_t skR[HPKE_SK_LEN], const uint8_t pkR[HPKE_PK_LEN],
                         const uint8_t pkS[HPKE_PK_LEN], const uint8_t dh_rs[HPKE_SECRET_LEN],
                         const uint8_t *info, size_t info_len, enum hpke_aead aead)
    __attribute__((warn_unused_result));

/* ContextS.Seal: encrypts pt[0..pt_len) with aad into ct[0..pt_len + HPKE_TAG_LEN) under the
 * nonce of the current sequence number, then advances it. ct may equal pt (in place).
 * Sender contexts only. Errors: HPKE_ERR_TOO_LONG (pt over HPKE_PT_MAX or aad over HPKE_AAD_MAX),
 * HPKE_ERR_MESSAGE_LIMIT (the sequence number would overflow; the context stays usable for
 * Export). */
enum hpke_result hpke_seal(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                           const uint8_t *pt, size_t pt_len, uint8_t *ct)
    __attribute__((warn_unused_result));
/* ContextR.Open: authenticates and decrypts ct[0..ct_len) into pt[0..ct_len - HPKE_TAG_LEN) and
 * advances the sequence number. On failure the sequence number is unchanged and pt is zeroed.
 * pt may equal ct and is never NULL (even for an empty plaintext). Receiver contexts only. Errors:
 * HPKE_ERR_TRUNCATED (ct_len < HPKE_TAG_LEN), HPKE_ERR_TOO_LONG, HPKE_ERR_MESSAGE_LIMIT,
 * HPKE_ERR_OPEN. */
enum hpke_result hpke_open(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
                           const uint8_t *ct, size_t ct_len, uint8_t *pt)
    __attribute__((warn_unused_result));
/* Context.Export (RFC 9180 §5.3): out[0..len) = secret bound to the context and exp_ctx. Works on
 * sender and receiver contexts alike; does not touch the sequence number.
 * Errors: HPKE_ERR_TOO_LONG (len > HPKE_EXPORT_MAX or exp_ctx_len > HPKE_EXPORT_CTX_MAX). */
enum hpke_result hpke_export(const struct hpke_ctx *ctx, const uint8_t *exp_ctx, size_t exp_ctx_len,
                             uint8_t *out, size_t len) __attribute__((warn_unused_result));
/* Wipes the context's keys and marks it unusable. Idempotent. */
void hpke_ctx_release(struct hpke_ctx *ctx);

/* --- One-shot envelopes: enc ‖ ciphertext ----------------------------------------------------- */

/* Seals pt to pkR as one envelope out[0..pt_len + HPKE_ENVELOPE_OVERHEAD). If keep is not NULL the
 * sender context (sequence number 1) is handed to the caller, who may Export from it (the query
 * response key) and must hpke_ctx_release it; if NULL it is wiped here. keep is untouched on error.
 * Errors: as hpke_setup_base_s and hpke_seal. */
enum hpke_result hpke_seal_base(enum hpke_aead aead, const uint8_t pkR[HPKE_PK_LEN],
                                const uint8_t *info, size_t info_len, const uint8_t *aad,
                                size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out,
                                struct hpke_ctx *keep) __attribute__((warn_unused_result));
/* hpke_seal_base with a deterministic ephemeral key derived from ikmE (see
 * hpke_setup_base_s_derand). */
enum hpke_result hpke_seal_base_derand(enum hpke_aead aead, const uint8_t pkR[HPKE_PK_LEN],
                                       const uint8_t *info, size_t info_len, const uint8_t *aad,
                                       size_t aad_len, const uint8_t *pt, size_t pt_len,
                                       const uint8_t ikmE[HPKE_IKM_LEN], uint8_t *out,
                                       struct hpke_ctx *keep) __attribute__((warn_unused_result));
/* Opens the envelope in[0..in_len) with (skR, pkR) into pt[0..in_len - HPKE_ENVELOPE_OVERHEAD)
 * and sets *pt_len. keep as in hpke_seal_base (receiver context, sequence number 1). On error pt
 * is zeroed (as far as it was written) and keep untouched.
 * Errors: HPKE_ERR_TRUNCATED (in_len < HPKE_ENVELOPE_OVERHEAD), as hpke_setup_base_r and
 * hpke_open. */
enum hpke_result hpke_open_base(enum hpke_aead aead, const uint8_t skR[HPKE_SK_LEN],
                                const uint8_t pkR[HPKE_PK_LEN], const uint8_t *info,
                                size_t info_len, const uint8_t *aad, size_t aad_len,
                                const uint8_t *in, size_t in_len, uint8_t *pt, size_t *pt_len,
                                struct hpke_ctx *keep) __attribute__((warn_unused_result));

#endif
