/*
 * Development accounts alice, bob, charlie, dave, eve and ferdie (DESIGN.md §2), funded in the dev
 * genesis. Their seeds are PUBLIC and deterministic:
 *     seed = hash_tagged("tenebra/v1/dev-seed", name)   (name in lower case, no NUL)
 * so anyone can sign as them. They exist for local chains and tests and must never hold value on
 * a real network. The derived keys and addresses are listed in docs/protocol/keystore.md.
 */
#ifndef TN_CRYPTO_DEVKEYS_H
#define TN_CRYPTO_DEVKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

#define DEVKEYS_COUNT 6

/* The names, in the order above: devkeys_names[0..DEVKEYS_COUNT). */
extern const char *const devkeys_names[DEVKEYS_COUNT];

/* Writes the seed of the named dev account; false (seed untouched) if name is not one of
 * devkeys_names (exact, case-sensitive match). The seed is public, but callers wipe it anyway so
 * dev and real key paths share the same hygiene. */
bool devkeys_seed(const char *name, uint8_t seed[SIG_SEED_LEN]) __attribute__((warn_unused_result));

/* devkeys_seed followed by sig_keypair_from_seed; false for an unknown name. */
bool devkeys_keypair(const char *name, uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN])
    __attribute__((warn_unused_result));

#endif
