/*
 * Sealing: data an enclave stores on its untrusted host's disk (keys, checkpoints), encrypted with
 * XChaCha20-Poly1305-IETF under the backend's sealing key and bound to the chain (genesis hash),
 * the enclave build (measurement) and a purpose label (DESIGN.md §5; bytes in
 * docs/protocol/keys.md "Sealed blobs"):
 *
 *   blob = version u8 (= 1) ‖ genesis [32] ‖ measurement [32] ‖ uleb len(purpose) ‖ purpose
 *          ‖ nonce [24] ‖ ciphertext ‖ tag [16]
 *   aad  = "tenebra/v1/seal" ‖ genesis ‖ measurement ‖ purpose
 *
 * The binding fields are public (on chain, or constants of the code) and travel in clear so that
 * a refusal can say which one is wrong; the AAD authenticates them, so editing one turns the blob
 * into SEAL_ERR_TAMPERED. The nonce is random (24 bytes: collisions are negligible for any number
 * of blobs one key will ever seal) and comes from a caller-supplied generator: the enclave does not
 * read randomness itself. The sim backend passes a function calling libsodium's randombytes_buf;
 * an SGX backend passes RDRAND-backed randomness from inside the enclave, never the host's.
 *
 * Nothing here allocates or does I/O. Keys are wiped by their owners; this module wipes its own
 * temporaries and, on any refusal, the plaintext buffer.
 */
#ifndef TN_CRYPTO_SEAL_H
#define TN_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_VERSION     1
#define SEAL_KEY_LEN     32
#define SEAL_HASH_LEN    32 /* genesis hash and measurement */
#define SEAL_NONCE_LEN   24
#define SEAL_TAG_LEN     16
#define SEAL_PURPOSE_MAX 64 /* purpose labels are short ASCII names, "checkpoint", "master-key" */
#define SEAL_PT_MAX      ((size_t)1 << 30)
#define SEAL_AAD_TAG     "tenebra/v1/seal"
#define SEAL_SIM_LABEL   "tenebra/v1/sim-seal"

/* Fills buf[0..n) with unpredictable bytes. Must not fail (abort instead). */
typedef void (*seal_rand_fn)(void *ctx, uint8_t *buf, size_t n);

enum seal_result {
	SEAL_OK = 0,
	SEAL_ERR_TRUNCATED,         /* shorter than its header + nonce + tag, or a bad length */
	SEAL_ERR_VERSION,           /* a version byte this build does not know */
	SEAL_ERR_OTHER_CHAIN,       /* sealed for another genesis hash */
	SEAL_ERR_OTHER_MEASUREMENT, /* sealed by another enclave build */
	SEAL_ERR_OTHER_PURPOSE,     /* sealed for another purpose */
	SEAL_ERR_TAMPERED,          /* authentication failed: modified bytes or another key */
	SEAL_ERR_TOO_LONG,          /* plaintext over SEAL_PT_MAX */
};

/* A static English message for r; never NULL. */
const char *seal_strerror(enum seal_result r);

/* Bytes of the blob sealing pt_len bytes for a purpose of purpose_len bytes. */
size_t seal_blob_len(size_t pt_len, size_t purpose_len);

/* The sim backend's sealing key: kdf_derive(machine_secret, SEAL_SIM_LABEL, measurement, 32). A
 * binary with another measurement derives another key. */
void seal_sim_key(uint8_t key[SEAL_KEY_LEN], const uint8_t machine_secret[32],
                  const uint8_t measurement[SEAL_HASH_LEN]);

/*
 * Seals pt[0..pt_len) into out[0..seal_blob_len(pt_len, strlen(purpose))) and sets *out_len.
 * purpose is a NUL-terminated label of 1..SEAL_PURPOSE_MAX bytes (asserted); rng draws the nonce.
 * out must not overlap pt. Errors: SEAL_ERR_TOO_LONG (out untouched).
 */
enum seal_result seal_wrap(const uint8_t key[SEAL_KEY_LEN], const uint8_t genesis[SEAL_HASH_LEN],
                           const uint8_t measurement[SEAL_HASH_LEN], const char *purpose,
                           const uint8_t *pt, size_t pt_len, seal_rand_fn rng, void *rng_ctx,
                           uint8_t *out, size_t *out_len) __attribute__((warn_unused_result));

/*
 * Opens blob[0..blob_len) sealed under key for (genesis, measurement, purpose) into pt, which has
 * room for blob_len bytes (the plaintext is always shorter), and sets *pt_len. The checks run in
 * the order of the errors below, so the first mismatch is the one reported. On any error pt is
 * zeroed as far as it was written and *pt_len is 0.
 * Errors: SEAL_ERR_TRUNCATED, SEAL_ERR_VERSION, SEAL_ERR_OTHER_CHAIN, SEAL_ERR_OTHER_MEASUREMENT,
 * SEAL_ERR_OTHER_PURPOSE, SEAL_ERR_TAMPERED.
 */
enum seal_result seal_unwrap(const uint8_t key[SEAL_KEY_LEN], const uint8_t genesis[SEAL_HASH_LEN],
                             const uint8_t measurement[SEAL_HASH_LEN], const char *purpose,
                             const uint8_t *blob, size_t blob_len, uint8_t *pt, size_t *pt_len)
    __attribute__((warn_unused_result));

#endif
