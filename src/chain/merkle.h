/*
 * Binary Merkle trees over lists of items, RFC 6962 / RFC 9162 §2.1 shape with BLAKE2b-256 and
 * domain tags instead of the 0x00/0x01 prefixes (docs/protocol.md "Merkle trees"):
 *
 *   leaf(item)   = hash_tagged("tenebra/v1/merkle-leaf", item)
 *   node(l, r)   = hash_tagged("tenebra/v1/merkle-node", l ‖ r)
 *   MTH([])      = hash_tagged("tenebra/v1/merkle-empty", "")
 *   MTH([h])     = h                                   (h is a leaf hash)
 *   MTH(h[0..n)) = node(MTH(h[0..k)), MTH(h[k..n)))    k = largest power of two < n
 *
 * Roots are computed from leaf hashes, so callers hash each item once with merkle_leaf. Used for
 * the header's txs_root (items = the full signed tx bytes) and msgs_root (outbound messages), and
 * for inclusion proofs served by RPC and checked by the enclave.
 */
#ifndef TN_CHAIN_MERKLE_H
#define TN_CHAIN_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"

#define MERKLE_HASH_LEN  32
#define MERKLE_MAX_DEPTH 64 /* a tree of < 2^64 leaves has paths of at most 64 siblings */
#define MERKLE_LEAF_TAG  "tenebra/v1/merkle-leaf"
#define MERKLE_NODE_TAG  "tenebra/v1/merkle-node"
#define MERKLE_EMPTY_TAG "tenebra/v1/merkle-empty"

/* Incremental root computation in O(log n) memory: push leaf hashes in order, then finish. It
 * holds the roots of the perfect subtrees of the leaves pushed so far (one per set bit of n). */
struct merkle_builder {
	uint64_t n;
	size_t depth;
	uint8_t stack[MERKLE_MAX_DEPTH][MERKLE_HASH_LEN];
};

/* An inclusion proof for leaf `index` of a tree of `n` leaves: the sibling hashes from the leaf
 * up to the root (RFC 9162 §2.1.3 "inclusion path"). */
struct merkle_proof {
	uint64_t index;
	uint64_t n;
	size_t len;
	uint8_t path[MERKLE_MAX_DEPTH][MERKLE_HASH_LEN];
};

/* out = leaf(item[0..len)). */
void merkle_leaf(uint8_t out[MERKLE_HASH_LEN], const void *item, size_t len);
/* out = node(left, right). */
void merkle_node(uint8_t out[MERKLE_HASH_LEN], const uint8_t left[MERKLE_HASH_LEN],
                 const uint8_t right[MERKLE_HASH_LEN]);

void merkle_builder_init(struct merkle_builder *b);
/* Appends one leaf hash (from merkle_leaf). */
void merkle_builder_push(struct merkle_builder *b, const uint8_t leaf[MERKLE_HASH_LEN]);
/* Writes the root of the leaves pushed so far (the empty root if none); b may be pushed to again.
 */
void merkle_builder_root(const struct merkle_builder *b, uint8_t out[MERKLE_HASH_LEN]);

/* out = MTH(leaves[0..n)) where leaves are leaf hashes; n may be 0 (leaves may then be NULL). */
void merkle_root(uint8_t out[MERKLE_HASH_LEN], const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n);

/* Fills p with the inclusion proof of leaves[index] in the tree of leaves[0..n). O(n) hashing.
 * Caller misuse (index >= n) aborts. */
void merkle_prove(struct merkle_proof *p, const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
                  size_t index);

/* True iff p proves that leaf hash `leaf` is at p->index in a tree of p->n leaves whose root is
 * `root` (RFC 9162 §2.1.3.2). False for index >= n, a path of the wrong length or a mismatch.
 * The root does not commit to n (as in RFC 9162, where the signed tree head carries the size):
 * a proof also verifies for another (index, n) whose path has the same shape, so a caller that
 * needs the position must know n from an authenticated source. Membership itself is sound. */
bool merkle_verify(const struct merkle_proof *p, const uint8_t leaf[MERKLE_HASH_LEN],
                   const uint8_t root[MERKLE_HASH_LEN]) __attribute__((warn_unused_result));

/* Appends the proof's encoding: index u64 ‖ n u64 ‖ uleb len ‖ path[0] ‖ ... ‖ path[len-1]. */
void merkle_proof_encode(struct enc *e, const struct merkle_proof *p);
/* Decodes a proof from b[0..n) (structure only; merkle_verify judges it). Returns CODEC_OK, or
 * CODEC_TRUNCATED / CODEC_NONCANONICAL / CODEC_TOO_LARGE (len > MERKLE_MAX_DEPTH) /
 * CODEC_TRAILING. */
enum codec_result merkle_proof_decode(struct merkle_proof *p, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

#endif
