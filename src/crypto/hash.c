#include "crypto/hash.h"

#include <assert.h>
#include <string.h>

void hash_plain(uint8_t out[HASH_LEN], const void *p, size_t n)
{
	crypto_generichash_blake2b(out, HASH_LEN, p, n, NULL, 0);
}

void hash_init_tagged(struct hash_state *h, const char *tag)
{
	size_t tlen = strlen(tag);
	assert(tlen <= 255);
	uint8_t len = (uint8_t)tlen;
	crypto_generichash_blake2b_init(&h->st, NULL, 0, HASH_LEN);
	crypto_generichash_blake2b_update(&h->st, &len, 1);
	crypto_generichash_blake2b_update(&h->st, (const uint8_t *)tag, tlen);
}

void hash_update(struct hash_state *h, const void *p, size_t n)
{
	crypto_generichash_blake2b_update(&h->st, p, n);
}

void hash_final(struct hash_state *h, uint8_t out[HASH_LEN])
{
	crypto_generichash_blake2b_final(&h->st, out, HASH_LEN);
}

void hash_tagged(uint8_t out[HASH_LEN], const char *tag, const void *p, size_t n)
{
	struct hash_state h;
	hash_init_tagged(&h, tag);
	hash_update(&h, p, n);
	hash_final(&h, out);
}
