#include "crypto/devkeys.h"

#include <sodium.h>
#include <string.h>

#include "crypto/hash.h"

#define DEV_SEED_TAG "tenebra/v1/dev-seed"

_Static_assert(SIG_SEED_LEN == HASH_LEN, "a dev seed is one tagged hash");

const char *const devkeys_names[DEVKEYS_COUNT] = {"alice", "bob", "charlie",
                                                  "dave",  "eve", "ferdie"};

bool devkeys_seed(const char *name, uint8_t seed[SIG_SEED_LEN])
{
	for (size_t i = 0; i < DEVKEYS_COUNT; i++) {
		if (strcmp(name, devkeys_names[i]) == 0) {
			hash_tagged(seed, DEV_SEED_TAG, name, strlen(name));
			return true;
		}
	}
	return false;
}

bool devkeys_keypair(const char *name, uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN])
{
	uint8_t seed[SIG_SEED_LEN];
	if (!devkeys_seed(name, seed))
		return false;
	sig_keypair_from_seed(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return true;
}
