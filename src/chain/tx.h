/*
 * Signed transactions (DESIGN.md §6; byte layout in docs/protocol.md "Transaction").
 *
 *   body = version u8 (=1) ‖ chain_id [32] ‖ sender [32] ‖ nonce u64 ‖ valid_until u64
 *          ‖ max_fee u128 ‖ tip u128 ‖ module u8 ‖ function u8 ‖ payload (LEB128 length ‖ bytes)
 *   tx   = body ‖ signature [64]
 *
 * The signature is Ed25519 (crypto/sig.h rule) by `sender` over
 *   "tenebra/v1/tx" ‖ body          (the 13 ASCII bytes, then the body bytes)
 * The tx id is hash_tagged("tenebra/v1/txid", body): it does not cover the signature, so it cannot
 * be changed by re-encoding a signature. The chain id is the genesis hash.
 */
#ifndef TN_CHAIN_TX_H
#define TN_CHAIN_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"

#define TX_VERSION        1
#define TX_SIG_LEN        64
#define TX_ID_LEN         32
#define TX_ACCOUNT_LEN    32
#define TX_FIXED_BODY_LEN (1 + 32 + 32 + 8 + 8 + 16 + 16 + 1 + 1) /* before the payload */
#define TX_MAX_BYTES      (64 * 1024)                             /* whole signed tx */
#define TX_MAX_PAYLOAD    (TX_MAX_BYTES - TX_FIXED_BODY_LEN - 3 - TX_SIG_LEN)
#define TX_SIGNING_TAG    "tenebra/v1/tx"
#define TX_ID_TAG         "tenebra/v1/txid"

/* A decoded transaction. payload points into the bytes it was decoded from (borrowed), or into
 * caller memory when built for signing. */
struct tx {
	uint8_t version;
	uint8_t chain_id[32];
	uint8_t sender[TX_ACCOUNT_LEN];
	uint64_t nonce;
	uint64_t valid_until; /* last height at which the tx may be included */
	u128 max_fee;         /* the most the sender will pay: fee + tip must not exceed it */
	u128 tip;             /* on top of the fee, to the block author; raises priority */
	uint8_t module;
	uint8_t function;
	const uint8_t *payload;
	size_t payload_len;
	uint8_t sig[TX_SIG_LEN];
	/* Filled by tx_decode: where the body ends in the source bytes. */
	size_t body_len;
};

/* Decodes a signed tx from b[0..n). Borrows b (tx->payload points into it). Returns CODEC_OK or
 * CODEC_TRUNCATED / CODEC_NONCANONICAL (version != 1) / CODEC_TOO_LARGE (n > TX_MAX_BYTES) /
 * CODEC_TRAILING. Does not verify the signature. */
enum codec_result tx_decode(struct tx *tx, const uint8_t *b, size_t n);

/* Appends the body (everything but the signature) to e. */
void tx_encode_body(struct enc *e, const struct tx *tx);
/* Appends body ‖ signature to e. */
void tx_encode(struct enc *e, const struct tx *tx);
/* The length of tx's encoding (body and signature), 0 if it would exceed TX_MAX_BYTES. Every
 * field but the payload has a fixed width, so fee computations can call it before the fee and
 * signature are written. */
size_t tx_encoded_len(const struct tx *tx);

/* Computes the tx id from the body bytes of an encoded tx (the first tx->body_len bytes of b). */
void tx_id(uint8_t out[TX_ID_LEN], const uint8_t *body, size_t body_len);

/* Signs tx (all fields but sig set) with the 64-byte libsodium Ed25519 secret key sk, writes sig.
 * Returns false only if the body cannot be encoded (payload too large). */
bool tx_sign(struct tx *tx, const uint8_t sk[64]);

/* Verifies the signature of the encoded tx b[0..n) decoded into tx. True if valid. */
bool tx_verify_sig(const struct tx *tx, const uint8_t *b, size_t n);

#endif
