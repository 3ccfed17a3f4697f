/*
 * genesis_parse on arbitrary bytes: never crashes or leaks, and whatever it accepts obeys the
 * genesis rules: the hash is deterministic, the encoding hashes to it, and the state it builds
 * holds exactly one account per allocation (besides its other records) whose balances sum to
 * total_supply, with the mining pool at 70% and every account at or above the existential
 * deposit.
 */
#include "chain/genesis.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_state(const struct genesis *g)
{
	struct state_overlay o;
	const struct kv_write *w;
	size_t n, accounts = 0;
	u128 sum = 0, pool = 0;
	uint8_t key[RUNTIME_ACCOUNT_KEY_LEN];
	state_overlay_init(&o, NULL, NULL);
	if (genesis_build_state(g, &o) != STATE_OK || state_overlay_export(&o, &w, &n) != STATE_OK)
		abort();
	runtime_account_key(key, g->mining_reward_pool);
	for (size_t i = 0; i < n; i++) {
		struct account a;
		if (w[i].klen != RUNTIME_ACCOUNT_KEY_LEN ||
		    memcmp(w[i].key, RUNTIME_ACCOUNT_PREFIX, 5) != 0)
			continue; /* sys/params, validator and registry records */
		accounts++;
		if (!runtime_account_decode(&a, w[i].value, w[i].vlen) || a.nonce != 0 ||
		    a.free < g->existential_deposit)
			abort();
		sum += a.free;
		if (memcmp(w[i].key, key, sizeof(key)) == 0)
			pool = a.free;
	}
	if (accounts != g->n_allocations || sum != g->total_supply ||
	    pool * 10 != g->total_supply * 7)
		abort();
	state_overlay_release(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct genesis g;
	char err[256];
	if (genesis_parse(&g, (const char *)data, size, err, sizeof(err)) != GENESIS_OK) {
		if (err[0] == '\0')
			abort(); /* every failure explains itself */
		return 0;
	}
	uint8_t h1[32], h2[32];
	struct enc e;
	genesis_hash(h1, &g);
	enc_init(&e, 64u << 20);
	genesis_encode(&e, &g);
	if (enc_finish(&e) != CODEC_OK)
		abort();
	hash_tagged(h2, GENESIS_HASH_TAG, e.buf, e.len);
	enc_release(&e);
	if (memcmp(h1, h2, 32) != 0)
		abort();
	check_state(&g);
	genesis_release(&g);
	return 0;
}
