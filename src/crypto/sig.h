/*
 * Ed25519 signatures: the one verifier for node and enclave (DESIGN.md §5). The validity rule it
 * enforces is written in docs/protocol.md "Signature validity" and pinned by tests/unit/test_sig.c
 * (RFC 8032 vectors plus edge cases), so a library upgrade that changes it fails the build.
 */
#ifndef TN_CRYPTO_SIG_H
#define TN_CRYPTO_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_PK_LEN   32
#define SIG_SK_LEN   64 /* libsodium layout: seed ‖ public key */
#define SIG_SEED_LEN 32
#define SIG_LEN      64

/* True iff sig is a valid signature of msg[0..n) under pk by the rule above. Constant time in the
 * secret-free sense only (all inputs are public). */
bool sig_verify(const uint8_t sig[SIG_LEN], const uint8_t *msg, size_t n,
                const uint8_t pk[SIG_PK_LEN]) __attribute__((warn_unused_result));
/* Signs msg[0..n) with sk; deterministic (RFC 8032). */
void sig_sign(uint8_t sig[SIG_LEN], const uint8_t *msg, size_t n, const uint8_t sk[SIG_SK_LEN]);
/* Derives the keypair of a 32-byte seed. */
void sig_keypair_from_seed(uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN],
                           const uint8_t seed[SIG_SEED_LEN]);

#endif
