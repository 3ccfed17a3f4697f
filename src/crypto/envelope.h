/*
 * The three confidential envelopes of DESIGN.md §5, built on HPKE base mode (hpke.h). The exact
 * bytes are in docs/protocol/envelopes.md; in short:
 *
 *   command   enc ‖ ct, info "tenebra/v1/command" ‖ contract_id,
 *             aad chain_id ‖ contract_id ‖ sender ‖ u64 nonce
 *   query     a message carrying enc ‖ ct, info "tenebra/v1/query" ‖ contract_id,
 *             aad chain_id ‖ contract_id ‖ account; plaintext request_id ‖ u64 expiry ‖ request;
 *             either signed (HPKE base mode; Ed25519 by the account or a certified session key)
 *             or a session query (HPKE auth mode from a certified X25519 session key, no
 *             signature); the answer is nonce ‖ AEAD under Export("tenebra/v1/response", 32),
 *             aad request_id
 *   key share enc ‖ ct, info "tenebra/v1/keyshare" ‖ recipient_pk,
 *             aad chain_id ‖ sender ‖ recipient ‖ u64 seq ‖ purpose, with a deterministic
 *             ephemeral key so every gatekeeper emits the same bytes
 *
 * Integers are little-endian (base/codec.h). Randomness (HPKE ephemerals of commands and queries,
 * request ids, answer nonces) comes from a caller-supplied generator (seal.h's seal_rand_fn), so
 * this module does no I/O and tests are reproducible. Nothing here allocates; the enclave's
 * session cache (scache.h) is the caller's. Secrets (HPKE
 * contexts, response keys, ephemeral seeds) are wiped on every path; a refused open zeroes its
 * plaintext buffer.
 *
 * Errors: NULL buffers and over-long labels are programming errors (assert). Everything that can
 * come from a peer returns enum env_result.
 */
#ifndef TN_CRYPTO_ENVELOPE_H
#define TN_CRYPTO_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "crypto/hpke.h"
#include "crypto/scache.h"
#include "crypto/seal.h"
#include "crypto/sig.h"

#define ENV_ID_LEN           32 /* chain id (genesis hash), contract id, account, request id */
#define ENV_RESPONSE_KEY_LEN 32
#define ENV_QUERY_VERSION    1
#define ENV_REQUEST_MAX      ((size_t)1 << 20) /* query request bytes */
#define ENV_PURPOSE_MAX      64                /* key-share purpose label */
#define ENV_KEYSHARE_MAX     ((size_t)1 << 16) /* key-share plaintext (a key history) */

#define ENV_INFO_COMMAND       "tenebra/v1/command"
#define ENV_INFO_QUERY         "tenebra/v1/query"
#define ENV_INFO_KEYSHARE      "tenebra/v1/keyshare"
#define ENV_EXPORT_RESPONSE    "tenebra/v1/response"
#define ENV_SIG_QUERY          "tenebra/v1/query-sig"
#define ENV_SIG_SESSION_CERT   "tenebra/v1/session-cert"
#define ENV_SIG_SESSION_CERT_X "tenebra/v1/session-cert-x25519"
#define ENV_LABEL_KEYSHARE_EPH "tenebra/v1/keyshare-eph"

enum env_result {
	ENV_OK = 0,
	ENV_ERR_MALFORMED,   /* a query or certificate that does not decode (or has extra bytes) */
	ENV_ERR_VERSION,     /* a query version this build does not know */
	ENV_ERR_AEAD,        /* an AEAD id outside the profile, or AES-256-GCM without AES-NI */
	ENV_ERR_TRUNCATED,   /* an envelope under enc + tag, an answer under nonce + tag */
	ENV_ERR_TOO_LONG,    /* plaintext, request or purpose over its cap */
	ENV_ERR_INVALID_KEY, /* enc or recipient public key of small order */
	ENV_ERR_OPEN,        /* authentication failed: wrong key, chain, contract, sender, nonce,
	                        account, request id or modified bytes */
	ENV_ERR_CONTRACT,    /* a query addressed to another contract */
	ENV_ERR_SIGNATURE,   /* the query signature does not verify under its signer key */
	ENV_ERR_CERT_SIGNATURE, /* the session certificate is not signed by its account */
	ENV_ERR_CERT_EXPIRED,   /* the session certificate's expiry height has passed */
	ENV_ERR_EXPIRED,        /* the query's expiry height has passed */
};

/* How a query proves its origin: the auth byte of the message. */
enum env_auth {
	ENV_AUTH_ACCOUNT = 0,     /* HPKE base mode, Ed25519-signed by the account */
	ENV_AUTH_SESSION_SIG = 1, /* HPKE base mode, Ed25519-signed by a certified session key */
	ENV_AUTH_SESSION_HPKE =
	    2, /* HPKE auth mode from a certified X25519 session key, unsigned */
};

/* A static English message for r; never NULL. */
const char *env_strerror(enum env_result r);

/* --- Commands (client → chain → enclave) ------------------------------------------------------ */

/* Everything the command's AAD binds; the chain supplies sender and nonce when it orders it. */
struct env_command_ctx {
	uint8_t chain_id[ENV_ID_LEN];
	uint8_t contract_id[ENV_ID_LEN];
	uint8_t sender[ENV_ID_LEN]; /* the account that signed the push_command transaction */
	uint64_t nonce;             /* that transaction's account nonce */
};

/* Seals pt[0..pt_len) to the contract's HPKE key into out[0..pt_len + HPKE_ENVELOPE_OVERHEAD).
 * The ephemeral key is DeriveKeyPair of 32 bytes drawn from rng. The AEAD is fixed by the message
 * that carries the command (ChaCha20-Poly1305 unless it says otherwise).
 * Errors: ENV_ERR_AEAD, ENV_ERR_INVALID_KEY (contract_pk), ENV_ERR_TOO_LONG. */
enum env_result env_command_seal(enum hpke_aead aead, const uint8_t contract_pk[HPKE_PK_LEN],
                                 const struct env_command_ctx *c, const uint8_t *pt, size_t pt_len,
                                 seal_rand_fn rng, void *rng_ctx, uint8_t *out)
    __attribute__((warn_unused_result));
/* Opens env[0..env_len) with the contract's HPKE key pair into pt[0..env_len - 48) (pt has room
 * for env_len bytes) and sets *pt_len. contract_pk must be contract_sk's public key.
 * Errors: ENV_ERR_AEAD, ENV_ERR_TRUNCATED, ENV_ERR_INVALID_KEY, ENV_ERR_TOO_LONG, ENV_ERR_OPEN. */
enum env_result env_command_open(enum hpke_aead aead, const uint8_t contract_sk[HPKE_SK_LEN],
                                 const uint8_t contract_pk[HPKE_PK_LEN],
                                 const struct env_command_ctx *c, const uint8_t *env,
                                 size_t env_len, uint8_t *pt, size_t *pt_len)
    __attribute__((warn_unused_result));

/* --- Session certificates ---------------------------------------------------------------------
 * An account lets a short-lived session key act for it until a block height. Two kinds, told
 * apart by the tag the account signs (and by the query's auth byte, never by a byte of the
 * certificate):
 *   ENV_CERT_ED25519  an Ed25519 session key that signs queries (auth 1); the account signs
 *                     "tenebra/v1/session-cert" ‖ chain_id ‖ account ‖ session_pk ‖ u64 expiry
 *   ENV_CERT_X25519   an X25519 session key that seals queries in HPKE auth mode (auth 2); the
 *                     account signs "tenebra/v1/session-cert-x25519" ‖ chain_id ‖ account ‖
 *                     session_pk ‖ u64 expiry
 * so a certificate is valid on one chain and for one kind only. Wire form (both kinds): account ‖
 * session_pk ‖ u64 expiry ‖ sig (136 bytes). */
#define ENV_CERT_LEN (2 * SIG_PK_LEN + 8 + SIG_LEN)

enum env_cert_kind {
	ENV_CERT_ED25519 = 0,
	ENV_CERT_X25519 = 1,
};

struct env_cert {
	enum env_cert_kind kind; /* not on the wire: the query's auth byte carries it */
	uint8_t account[SIG_PK_LEN];
	uint8_t session_pk[SIG_PK_LEN]; /* Ed25519 or X25519 public key, by kind */
	uint64_t expiry;                /* last block height at which the certificate is valid */
	uint8_t sig[SIG_LEN];
};

/* Fills c as a certificate of `kind` for session_pk and signs it with the account's secret key
 * (libsodium layout seed ‖ pk; the account is taken from its second half). */
void env_cert_sign(struct env_cert *c, enum env_cert_kind kind, const uint8_t chain_id[ENV_ID_LEN],
                   const uint8_t account_sk[SIG_SK_LEN], const uint8_t session_pk[32],
                   uint64_t expiry);
/* Checks the signature (for c->kind), then that height <= c->expiry.
 * Errors: ENV_ERR_CERT_SIGNATURE, ENV_ERR_CERT_EXPIRED. */
enum env_result env_cert_verify(const struct env_cert *c, const uint8_t chain_id[ENV_ID_LEN],
                                uint64_t height) __attribute__((warn_unused_result));
void env_cert_encode(struct enc *e, const struct env_cert *c);
/* Reads ENV_CERT_LEN bytes as a certificate of `kind`; errors stick in d (CODEC_TRUNCATED). */
void env_cert_decode(struct dec *d, struct env_cert *c, enum env_cert_kind kind);

/* --- Queries (client → worker over HTTP → enclave, answer back) --------------------------------
 */

/* Who makes a query, by cert:
 *   NULL                    the account itself: sk is its Ed25519 secret (SIG_SK_LEN), auth 0
 *   kind ENV_CERT_ED25519   a certified Ed25519 session key: sk its secret (SIG_SK_LEN), auth 1
 *   kind ENV_CERT_X25519    a certified X25519 session key: sk its secret (HPKE_SK_LEN, the key
 *                           whose public half is cert->session_pk), auth 2 (session query) */
struct env_signer {
	const uint8_t *sk;
	const struct env_cert *cert;
};

/* The decoded (not yet verified) outer message; pointers borrow from the decoded buffer. */
struct env_query_msg {
	uint8_t version;
	uint16_t aead;
	const uint8_t *contract_id; /* ENV_ID_LEN bytes */
	enum env_auth auth;
	const uint8_t *account;  /* auth 0: the signer and origin */
	struct env_cert cert;    /* auth 1, 2: cert.account is the origin */
	const uint8_t *envelope; /* enc ‖ ct */
	size_t envelope_len;
	const uint8_t *sig; /* auth 0, 1: SIG_LEN bytes; auth 2: NULL */
	size_t signed_len;  /* bytes of the message before sig */
};

/* What the client keeps to read the answer. response_key is secret: env_query_client_release. */
struct env_query_client {
	uint8_t request_id[ENV_ID_LEN];
	uint8_t response_key[ENV_RESPONSE_KEY_LEN];
	enum hpke_aead aead;
};

/* What the enclave learns from a query that opened. response_key is secret:
 * env_query_release. request borrows the caller's buffer. */
struct env_query {
	uint8_t request_id[ENV_ID_LEN];
	uint8_t account[SIG_PK_LEN]; /* the origin account (the certificate's, for a session key) */
	uint64_t expiry;
	enum hpke_aead aead;
	uint8_t response_key[ENV_RESPONSE_KEY_LEN];
	const uint8_t *request;
	size_t request_len;
};

/* Bytes of a query message carrying request_len request bytes under `auth`. */
size_t env_query_len(size_t request_len, enum env_auth auth);

/*
 * Client side: builds the query message for request[0..request_len) to the contract (its HPKE
 * public key contract_pk, id contract_id) on chain chain_id, valid until block height expiry,
 * made by signer (signed, or sealed in auth mode for an X25519 session), into
 * out[0..env_query_len(request_len, auth)), and sets *out_len. rng draws the request id and the
 * HPKE ephemeral. keep gets the request id and the response key (release it with
 * env_query_client_release); untouched on error.
 * Errors: ENV_ERR_AEAD, ENV_ERR_INVALID_KEY (contract_pk, or an X25519 session_pk, of small
 * order), ENV_ERR_TOO_LONG (request over ENV_REQUEST_MAX).
 */
enum env_result env_query_seal(enum hpke_aead aead, const uint8_t contract_pk[HPKE_PK_LEN],
                               const uint8_t chain_id[ENV_ID_LEN],
                               const uint8_t contract_id[ENV_ID_LEN], uint64_t expiry,
                               const struct env_signer *signer, const uint8_t *request,
                               size_t request_len, seal_rand_fn rng, void *rng_ctx, uint8_t *out,
                               size_t *out_len, struct env_query_client *keep)
    __attribute__((warn_unused_result));

/* Decodes the outer message msg[0..len) without verifying anything (a worker reads contract_id to
 * route the query). Errors: ENV_ERR_MALFORMED, ENV_ERR_VERSION. */
enum env_result env_query_decode(struct env_query_msg *m, const uint8_t *msg, size_t len)
    __attribute__((warn_unused_result));
/* Re-encodes a decoded message (the inverse of env_query_decode, byte for byte). */
void env_query_encode(struct enc *e, const struct env_query_msg *m);

/*
 * Enclave side: decodes and verifies msg[0..len) for the contract (contract_id, its HPKE key pair
 * contract_sk / contract_pk) on chain chain_id at block height `height`, in this order: decoding,
 * version, AEAD, contract id, certificate (signature then expiry), query signature (auth 0, 1),
 * HPKE open (which fails if the chain id, origin account or, for a session query, the session key
 * differ from the sealer's), plaintext decoding, expiry. buf has room for len bytes and receives
 * the plaintext (secret: the caller wipes it after use); q->request points into it. On error q is
 * wiped and buf zeroed.
 *
 * sessions (may be NULL) caches, for session queries, each (chain, contract key, certificate)
 * whose signature verified, with the static DH(contract_sk, session_pk): a session's later
 * queries skip the Ed25519 check and one X25519. Only a certificate that verified is ever put in
 * it; the expiry is checked on every query. Safe to share between concurrent calls.
 *
 * Errors: ENV_ERR_MALFORMED, ENV_ERR_VERSION, ENV_ERR_AEAD, ENV_ERR_CONTRACT,
 * ENV_ERR_CERT_SIGNATURE, ENV_ERR_CERT_EXPIRED, ENV_ERR_SIGNATURE, ENV_ERR_TRUNCATED,
 * ENV_ERR_INVALID_KEY, ENV_ERR_OPEN, ENV_ERR_EXPIRED.
 */
enum env_result env_query_open(const uint8_t contract_sk[HPKE_SK_LEN],
                               const uint8_t contract_pk[HPKE_PK_LEN],
                               const uint8_t chain_id[ENV_ID_LEN],
                               const uint8_t contract_id[ENV_ID_LEN], uint64_t height,
                               const uint8_t *msg, size_t len, uint8_t *buf, struct env_query *q,
                               struct scache *sessions) __attribute__((warn_unused_result));

/* Wipe the secret response keys. Idempotent. */
void env_query_release(struct env_query *q);
void env_query_client_release(struct env_query_client *k);

/* The answer: nonce [12] ‖ AEAD(response_key, nonce, aad request_id, pt) (ct ‖ tag), into
 * out[0..pt_len + ENV_RESPONSE_OVERHEAD); rng draws the nonce. The nonce is not fixed: a replayed
 * query answered after a state change would otherwise put two plaintexts under one key and nonce
 * (docs/protocol/envelopes.md "Answer"). Errors: ENV_ERR_AEAD, ENV_ERR_TOO_LONG (pt over
 * HPKE_PT_MAX). */
#define ENV_RESPONSE_OVERHEAD (HPKE_NONCE_LEN + HPKE_TAG_LEN)
enum env_result env_response_seal(enum hpke_aead aead, const uint8_t key[ENV_RESPONSE_KEY_LEN],
                                  const uint8_t request_id[ENV_ID_LEN], const uint8_t *pt,
                                  size_t pt_len, seal_rand_fn rng, void *rng_ctx, uint8_t *out)
    __attribute__((warn_unused_result));
/* Opens an answer in[0..in_len) into pt[0..in_len - ENV_RESPONSE_OVERHEAD) and sets *pt_len; pt
 * zeroed on failure. Errors: ENV_ERR_AEAD, ENV_ERR_TRUNCATED (shorter than nonce + tag),
 * ENV_ERR_OPEN. */
enum env_result env_response_open(enum hpke_aead aead, const uint8_t key[ENV_RESPONSE_KEY_LEN],
                                  const uint8_t request_id[ENV_ID_LEN], const uint8_t *in,
                                  size_t in_len, uint8_t *pt, size_t *pt_len)
    __attribute__((warn_unused_result));

/* --- Key sharing between enclaves (gatekeeper → worker) ----------------------------------------
 */

/* Everything the key share's AAD binds. For gatekeeper distribution `sender` must be the identity
 * all gatekeepers share (the master key's public signing key), or their bytes would differ. */
struct env_keyshare_ctx {
	uint8_t chain_id[ENV_ID_LEN];
	uint8_t sender[SIG_PK_LEN];    /* identity of the sending key holder */
	uint8_t recipient[SIG_PK_LEN]; /* identity key of the recipient worker */
	uint64_t seq;                  /* the sender's egress sequence number of this message */
	const char *purpose;           /* 1..ENV_PURPOSE_MAX bytes, e.g. "master", "cluster" */
};

/* Seals pt[0..pt_len) to recipient_pk into out[0..pt_len + HPKE_ENVELOPE_OVERHEAD) with
 * ChaCha20-Poly1305 and the ephemeral DeriveKeyPair(kdf_derive(sender_secret,
 * "tenebra/v1/keyshare-eph", aad ‖ recipient_pk ‖ BLAKE2b-256(pt))): a pure function of its
 * inputs, and a different ephemeral for any different plaintext.
 * Errors: ENV_ERR_INVALID_KEY (recipient_pk), ENV_ERR_TOO_LONG (pt over ENV_KEYSHARE_MAX). */
enum env_result env_keyshare_seal(const uint8_t sender_secret[32],
                                  const uint8_t recipient_pk[HPKE_PK_LEN],
                                  const struct env_keyshare_ctx *c, const uint8_t *pt,
                                  size_t pt_len, uint8_t *out) __attribute__((warn_unused_result));
/* Opens a key share with the recipient's HPKE key pair (recipient_pk: recipient_sk's public key)
 * into pt (room for env_len bytes).
 * Errors: ENV_ERR_TRUNCATED, ENV_ERR_TOO_LONG, ENV_ERR_INVALID_KEY, ENV_ERR_OPEN. */
enum env_result env_keyshare_open(const uint8_t recipient_sk[HPKE_SK_LEN],
                                  const uint8_t recipient_pk[HPKE_PK_LEN],
                                  const struct env_keyshare_ctx *c, const uint8_t *env,
                                  size_t env_len, uint8_t *pt, size_t *pt_len)
    __attribute__((warn_unused_result));

#endif
