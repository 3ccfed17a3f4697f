/*
 * Blocks, headers, validator sets, votes, commits and receipts (DESIGN.md §6-§7; byte layouts in
 * docs/protocol.md "Blocks"). All encodings use base/codec.h; every decoder accepts exactly one
 * spelling of a value (decode -> encode round-trips byte for byte) and rejects trailing bytes.
 *
 * Light-client rule (THE rule, used by the node when syncing and by the enclave alike): a header
 * H at height h is final when commit_verify(vs, chain_id, h, header_hash(H), C) == BLOCK_OK for a
 * commit C and the validator set vs with valset_hash(vs) == H.validators_hash. The set of height
 * h+1 is the one whose hash is H.next_validators_hash, so trusted sets chain from genesis.
 */
#ifndef TN_CHAIN_BLOCK_H
#define TN_CHAIN_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/tx.h"

#define BLOCK_HASH_LEN 32

/* Validator sets */
#define VALSET_MAX             128
#define VALSET_MAX_TOTAL_POWER ((UINT64_C(1) << 62) - 1) /* so 3 * power never overflows */
#define VALSET_MAX_BYTES       (2 + VALSET_MAX * (32 + 8))
#define VALSET_TAG             "tenebra/v1/valset"

/* Headers */
#define HEADER_VERSION 1
#define HEADER_LEN     (1 + 8 + 8 + 9 * 32)
#define HEADER_TAG     "tenebra/v1/header"

/* Votes */
#define VOTE_PREVOTE        1
#define VOTE_PRECOMMIT      2
#define VOTE_TAG            "tenebra/v1/vote"
#define VOTE_SIGN_BYTES_LEN (sizeof(VOTE_TAG) - 1 + 32 + 1 + 8 + 4 + 32)

/* Commits */
#define COMMIT_ABSENT    0
#define COMMIT_SIGNED    1
#define COMMIT_TAG       "tenebra/v1/commit"
#define COMMIT_MAX_BYTES (8 + 4 + 32 + 2 + VALSET_MAX * (1 + 64))

/* Blocks */
#define BLOCK_MAX_BYTES (4u << 20)
#define BLOCK_MAX_TXS   65536

/* Receipts */
#define RECEIPT_LEN (32 + 1 + 16 + 16)

/* Results. The codec values keep their enum codec_result numbers, so a codec error converts by
 * a cast. */
enum block_result {
	BLOCK_OK = CODEC_OK,
	BLOCK_TRUNCATED = CODEC_TRUNCATED,
	BLOCK_NONCANONICAL = CODEC_NONCANONICAL, /* also an unknown version or flag */
	BLOCK_TOO_LARGE = CODEC_TOO_LARGE,
	BLOCK_TRAILING = CODEC_TRAILING,
	BLOCK_NOMEM = CODEC_NOMEM,
	BLOCK_VALSET_EMPTY = 16,     /* no validator */
	BLOCK_VALSET_ZERO_POWER,     /* a validator with power 0 */
	BLOCK_VALSET_DUPLICATE,      /* one key twice */
	BLOCK_VALSET_POWER_OVERFLOW, /* total power above VALSET_MAX_TOTAL_POWER */
	BLOCK_BAD_TXS_ROOT,          /* header.txs_root is not the root of the txs */
	BLOCK_BAD_LAST_COMMIT_HASH,  /* header.last_commit_hash is not the hash of last_commit */
	BLOCK_BAD_LAST_COMMIT,       /* last commit missing, unexpected, or for another block */
	BLOCK_COMMIT_WRONG_SIZE,     /* commit has not one entry per validator */
	BLOCK_COMMIT_WRONG_HEIGHT,   /* commit is for another height */
	BLOCK_COMMIT_WRONG_HASH,     /* commit is for another block */
	BLOCK_COMMIT_BAD_SIG,        /* a present signature does not verify */
	BLOCK_COMMIT_NO_QUORUM,      /* signed power is not more than 2/3 of the total */
};

/* A static English message for r; never NULL. */
const char *block_strerror(enum block_result r);

/* ---- Validator sets ---------------------------------------------------------------------- */

struct validator {
	uint8_t pub_key[32]; /* Ed25519 */
	uint64_t power;
};

/* Ordered: the order is part of the set's hash and fixes each validator's commit slot. */
struct valset {
	size_t n;
	struct validator v[VALSET_MAX];
};

/* BLOCK_OK if vs is a valid set: 1 <= n <= VALSET_MAX, every power > 0, no key twice, total
 * power <= VALSET_MAX_TOTAL_POWER. Else BLOCK_VALSET_EMPTY / BLOCK_TOO_LARGE (n > VALSET_MAX) /
 * BLOCK_VALSET_ZERO_POWER / BLOCK_VALSET_DUPLICATE / BLOCK_VALSET_POWER_OVERFLOW. */
enum block_result valset_check(const struct valset *vs) __attribute__((warn_unused_result));
/* Sum of the powers of a set that passed valset_check. */
uint64_t valset_total_power(const struct valset *vs);
/* True and *index set if pub_key is in vs. */
bool valset_find(const struct valset *vs, const uint8_t pub_key[32], size_t *index);
/* Appends uleb n ‖ (pub_key [32] ‖ power u64)*. vs must be valid (asserted: n <= VALSET_MAX). */
void valset_encode(struct enc *e, const struct valset *vs);
/* Decodes and checks a set from b[0..n): codec errors (BLOCK_TOO_LARGE for n > VALSET_MAX) or any
 * valset_check error. */
enum block_result valset_decode(struct valset *vs, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* out = hash_tagged(VALSET_TAG, encoding of vs). */
void valset_hash(uint8_t out[BLOCK_HASH_LEN], const struct valset *vs);

/* ---- Headers ----------------------------------------------------------------------------- */

struct header {
	uint8_t version;  /* HEADER_VERSION */
	uint64_t height;  /* the first block is height 1 */
	uint64_t time_ms; /* Unix time in milliseconds */
	uint8_t chain_id[32];
	uint8_t prev_hash[32]; /* hash of the header at height - 1 (zero for height 1) */
	uint8_t txs_root[32];  /* merkle root of the signed txs (block_txs_root) */
	uint8_t msgs_root[32]; /* merkle root of the outbound messages */
	uint8_t state_root[32];
	uint8_t validators_hash[32];      /* set that signs this block */
	uint8_t next_validators_hash[32]; /* set that signs the next block */
	uint8_t last_commit_hash[32];     /* commit_hash of the block's last_commit, zero if none */
	uint8_t proposer[32];             /* proposer's public key */
};

/* Appends the HEADER_LEN-byte encoding (fields in struct order, integers little-endian). */
void header_encode(struct enc *e, const struct header *h);
/* Decodes b[0..n). BLOCK_NONCANONICAL for version != HEADER_VERSION; other codec errors. */
enum block_result header_decode(struct header *h, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* The block hash: hash_tagged(HEADER_TAG, encoding of h). */
void header_hash(uint8_t out[BLOCK_HASH_LEN], const struct header *h);

/* ---- Votes ------------------------------------------------------------------------------- */

/* The bytes a validator signs for a vote: VOTE_TAG (15 ASCII bytes, no length prefix) ‖ chain_id
 * [32] ‖ type u8 ‖ height u64 ‖ round u32 ‖ block_hash [32] (all-zero = nil). type is
 * VOTE_PREVOTE or VOTE_PRECOMMIT (asserted). */
void vote_sign_bytes(uint8_t out[VOTE_SIGN_BYTES_LEN], const uint8_t chain_id[32], uint8_t type,
                     uint64_t height, uint32_t round, const uint8_t block_hash[BLOCK_HASH_LEN]);

/* ---- Commits ----------------------------------------------------------------------------- */

struct commit_sig {
	uint8_t flag;    /* COMMIT_ABSENT or COMMIT_SIGNED */
	uint8_t sig[64]; /* precommit signature for the commit's block; zero when absent */
};

/* Precommits for one block, one slot per validator in the set's order. */
struct commit {
	uint64_t height;
	uint32_t round;
	uint8_t block_hash[BLOCK_HASH_LEN];
	size_t n;
	struct commit_sig sigs[VALSET_MAX];
};

/* An empty commit (all n slots absent) for block_hash at height/round. n <= VALSET_MAX. */
void commit_init(struct commit *c, uint64_t height, uint32_t round,
                 const uint8_t block_hash[BLOCK_HASH_LEN], size_t n);
/* Fills slot index (< c->n, asserted) with the precommit of the validator whose 64-byte secret
 * key is sk, over vote_sign_bytes(chain_id, VOTE_PRECOMMIT, c->height, c->round, c->block_hash). */
void commit_sign(struct commit *c, size_t index, const uint8_t chain_id[32], const uint8_t sk[64]);
/* Appends height u64 ‖ round u32 ‖ block_hash [32] ‖ uleb n ‖ (flag u8 ‖ [sig 64 if flag 1])*. */
void commit_encode(struct enc *e, const struct commit *c);
/* Decodes b[0..n) (structure only). Codec errors; BLOCK_TOO_LARGE for n > VALSET_MAX,
 * BLOCK_NONCANONICAL for a flag other than 0/1. */
enum block_result commit_decode(struct commit *c, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* hash_tagged(COMMIT_TAG, encoding of c). */
void commit_hash(uint8_t out[BLOCK_HASH_LEN], const struct commit *c);

/* The light-client rule: BLOCK_OK iff c commits block_hash at height under vs, i.e.
 *   vs is valid (else its valset_check error),
 *   c->n == vs->n (else BLOCK_COMMIT_WRONG_SIZE),
 *   c->height == height (else BLOCK_COMMIT_WRONG_HEIGHT),
 *   c->block_hash == block_hash (else BLOCK_COMMIT_WRONG_HASH),
 *   every present signature i verifies under vs->v[i].pub_key over
 *     vote_sign_bytes(chain_id, VOTE_PRECOMMIT, height, c->round, block_hash)
 *   (else BLOCK_COMMIT_BAD_SIG: a bad signature fails the commit, it is not skipped),
 *   3 * signed power > 2 * total power (else BLOCK_COMMIT_NO_QUORUM).
 * Checks every signature even past the quorum, so the verdict does not depend on the order. */
enum block_result commit_verify(const struct valset *vs, const uint8_t chain_id[32],
                                uint64_t height, const uint8_t block_hash[BLOCK_HASH_LEN],
                                const struct commit *c) __attribute__((warn_unused_result));

/* ---- Blocks ------------------------------------------------------------------------------ */

/* txs[i][0..tx_lens[i]) is the i-th signed tx. After block_decode, txs and tx_lens are malloc'ed
 * arrays owned by the block (freed by block_release) whose entries point into the decoded buffer,
 * which must outlive the block. A block built by hand may point them anywhere; then it must not
 * be released with block_release unless the arrays came from malloc. */
struct block {
	struct header header;
	size_t n_txs;
	const uint8_t **txs;
	size_t *tx_lens;
	bool has_last_commit; /* false only at height 1 */
	struct commit last_commit;
};

/* An empty block (no txs, no last commit, zero header). */
void block_init(struct block *b);
/* Frees the tx arrays (never the tx bytes) and leaves b as after block_init. */
void block_release(struct block *b);
/* Appends header ‖ uleb n_txs ‖ (uleb len ‖ tx)* ‖ has_last_commit u8 ‖ [commit]. An encoder with
 * max BLOCK_MAX_BYTES reports CODEC_TOO_LARGE for an oversized block. */
void block_encode(struct enc *e, const struct block *b);
/* Decodes b[0..n) into blk, borrowing b (see struct block). Checks structure only: the codec
 * rules, n <= BLOCK_MAX_BYTES, n_txs <= BLOCK_MAX_TXS (both BLOCK_TOO_LARGE), and that each tx
 * passes tx_decode (its codec error is returned); no signature, root or commit is checked. On
 * failure blk holds no allocation (as after block_init). */
enum block_result block_decode(struct block *blk, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* out = merkle root over the leaves merkle_leaf(txs[i]) (the full signed bytes). No allocation. */
void block_txs_root(uint8_t out[BLOCK_HASH_LEN], const uint8_t *const *txs, const size_t *tx_lens,
                    size_t n);
/* commit_hash(&b->last_commit), or 32 zero bytes if the block has none. */
void block_last_commit_hash(uint8_t out[BLOCK_HASH_LEN], const struct block *b);
/* Checks what the block alone determines: BLOCK_BAD_LAST_COMMIT unless it has a last commit
 * exactly when height > 1 and that commit is for (height - 1, prev_hash); BLOCK_BAD_TXS_ROOT;
 * BLOCK_BAD_LAST_COMMIT_HASH. The last commit's signatures are checked by the caller with
 * commit_verify against the previous block's validator set. */
enum block_result block_check_roots(const struct block *b) __attribute__((warn_unused_result));

/* ---- Receipts ---------------------------------------------------------------------------- */

/* The outcome of one included tx, stored by the node. */
struct receipt {
	uint8_t txid[TX_ID_LEN];
	uint8_t result; /* 0 = ok, else the runtime's dispatch error code */
	u128 fee;       /* fee charged */
	u128 tip;       /* tip paid to the block author */
};

/* Appends the RECEIPT_LEN-byte encoding txid ‖ result u8 ‖ fee u128 ‖ tip u128. */
void receipt_encode(struct enc *e, const struct receipt *r);
/* Decodes b[0..n); codec errors only. */
enum block_result receipt_decode(struct receipt *r, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

#endif
