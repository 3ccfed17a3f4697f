/*
 * Standalone verifier of state-tree proofs (smt.h). Uses only base and crypto, never allocates
 * and never touches LMDB, so the enclave can link it unchanged.
 *
 * A proof describes the path of the key's bit string kp = hash_tagged("tenebra/v1/smt-key", key)
 * in the logical binary tree down to a terminal at bit depth D:
 *   u8    terminal   0 = empty subtree, 1 = the key's own leaf, 2 = another key's leaf
 *   [32]  other_kp   only for terminal 2: that leaf's key path (shares its first D bits with kp)
 *   [32]  other_vh   only for terminal 2: that leaf's value hash
 *   uleb  D          0..256, shortest form
 *   [ceil(D/8)]      bitmap: bit j (byte j/8, bit j%8, least significant first) set when
 *                    sibling j is non-empty; unused high bits of the last byte are zero
 *   [32]*            one hash per set bit, in order j = 0..D-1
 * Sibling j is the sibling subtree at bit depth D-j (j = 0 is next to the terminal, j = D-1 is
 * a child of the root). Absent siblings are the empty hash (32 zero bytes).
 * Canonical form, checked: no trailing bytes; a present sibling is not all zero; when the
 * terminal is a leaf and D > 0, sibling 0 is present (else the leaf would sit one level higher).
 */
#ifndef TN_STORE_SMT_PROOF_H
#define TN_STORE_SMT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#define SMT_TAG_KEY   "tenebra/v1/smt-key"
#define SMT_TAG_VALUE "tenebra/v1/smt-value"

enum smt_proof_terminal {
	SMT_TERM_EMPTY = 0,
	SMT_TERM_OWN = 1,
	SMT_TERM_OTHER = 2,
};

enum smt_proof_result {
	SMT_PROOF_OK = 0,
	SMT_PROOF_MALFORMED,    /* truncated, trailing bytes, bad terminal tag, D > 256, bad LEB */
	SMT_PROOF_NONCANONICAL, /* zero sibling marked present, bitmap padding, missing sibling 0 */
	SMT_PROOF_WRONG_KIND,   /* membership proof while proving absence, or the reverse */
	SMT_PROOF_WRONG_KEY,    /* the other leaf is the key itself or leaves the key's path */
	SMT_PROOF_MISMATCH,     /* well formed, but does not lead to root for this key/value */
};

/* The tree's two node hashes (smt.h): BLAKE2b-256(0x00 ‖ kp ‖ vh) and (0x01 ‖ left ‖ right). */
void smt_hash_leaf(uint8_t out[32], const uint8_t kp[32], const uint8_t vh[32]);
void smt_hash_inner(uint8_t out[32], const uint8_t left[32], const uint8_t right[32]);

/* A static English message for r; never NULL. */
const char *smt_proof_strerror(enum smt_proof_result r);

/*
 * Checks that proof[0..plen) shows, against root, that key[0..klen) has value[0..vlen)
 * (value != NULL) or has no value (value == NULL). Returns SMT_PROOF_OK or the first reason the
 * proof fails; any input is safe.
 */
enum smt_proof_result smt_proof_verify(const uint8_t root[32], const uint8_t *key, size_t klen,
                                       const uint8_t *value, size_t vlen, const uint8_t *proof,
                                       size_t plen);

#endif
