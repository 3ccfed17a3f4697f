#include "crypto/sig.h"

#include <sodium.h>

bool sig_verify(const uint8_t sig[SIG_LEN], const uint8_t *msg, size_t n,
                const uint8_t pk[SIG_PK_LEN])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, n, pk) == 0;
}

void sig_sign(uint8_t sig[SIG_LEN], const uint8_t *msg, size_t n, const uint8_t sk[SIG_SK_LEN])
{
	crypto_sign_ed25519_detached(sig, NULL, msg, n, sk);
}

void sig_keypair_from_seed(uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN],
                           const uint8_t seed[SIG_SEED_LEN])
{
	crypto_sign_ed25519_seed_keypair(pk, sk, seed);
}
