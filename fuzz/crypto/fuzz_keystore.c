/*
 * keystore_open on arbitrary documents with a fixed password. The caller limit is the cheapest
 * Argon2 setting, so a document asking for more is refused before hashing (as a hostile file is
 * in production, against KEYSTORE_PARAMS_MAX) and every run stays fast. Checks: no crash or leak;
 * keystore_inspect agrees with keystore_open on the format; an opened seed reseals and reopens.
 */
#include "crypto/keystore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char password[] = "fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct keystore_params limit = KEYSTORE_PARAMS_MIN;
	uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN], seed2[SIG_SEED_LEN], pk2[SIG_PK_LEN];
	char name[KEYSTORE_NAME_MAX + 1];
	struct keystore_info info;
	const char *doc = (const char *)data;
	enum keystore_result r =
	    keystore_open(seed, pk, name, doc, size, password, sizeof(password) - 1, &limit);
	enum keystore_result ri = keystore_inspect(&info, doc, size);
	if (ri != KEYSTORE_OK && ri != r)
		abort(); /* a format error is reported the same way by both */
	if (r != KEYSTORE_OK)
		return 0;
	if (strcmp(info.name, name) != 0 || memcmp(info.pk, pk, SIG_PK_LEN) != 0)
		abort();
	char *again = NULL;
	if (keystore_seal(&again, name, seed, password, sizeof(password) - 1, &limit) !=
	    KEYSTORE_OK)
		return 0; /* out of memory */
	r = keystore_open(seed2, pk2, NULL, again, strlen(again), password, sizeof(password) - 1,
	                  &limit);
	if (r != KEYSTORE_OK || memcmp(seed, seed2, SIG_SEED_LEN) != 0 ||
	    memcmp(pk, pk2, SIG_PK_LEN) != 0)
		abort();
	free(again);
	return 0;
}
