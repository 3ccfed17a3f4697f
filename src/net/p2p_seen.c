/* Gossip seen-set (p2p_seen.h): two open-addressing generations with linear probing. */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "net/p2p_seen.h"

#define P2P_SEEN_CAP_MAX ((size_t)1 << 24)

static bool gen_alloc(struct p2p_seen_gen *g, size_t slots)
{
	g->slots = calloc(slots, sizeof(*g->slots));
	g->used = calloc(slots, 1);
	g->count = 0;
	return g->slots && g->used;
}

static void gen_free(struct p2p_seen_gen *g)
{
	free(g->slots);
	free(g->used);
	memset(g, 0, sizeof(*g));
}

bool p2p_seen_init(struct p2p_seen *s, size_t cap)
{
	assert(cap >= 1 && cap <= P2P_SEEN_CAP_MAX);
	memset(s, 0, sizeof(*s));
	size_t slots = 2;
	while (slots < 2 * cap)
		slots *= 2;
	s->cap = cap;
	s->mask = slots - 1;
	randombytes_buf(s->key, sizeof(s->key));
	if (!gen_alloc(&s->gen[0], slots) || !gen_alloc(&s->gen[1], slots)) {
		gen_free(&s->gen[0]);
		gen_free(&s->gen[1]);
		return false;
	}
	pthread_mutex_init(&s->mu, NULL);
	return true;
}

void p2p_seen_release(struct p2p_seen *s)
{
	gen_free(&s->gen[0]);
	gen_free(&s->gen[1]);
	pthread_mutex_destroy(&s->mu);
	sodium_memzero(s->key, sizeof(s->key));
}

/* The slot holding h, or the empty slot where it would go. Terminates: load is at most 1/2. */
static size_t find(const struct p2p_seen *s, const struct p2p_seen_gen *g, const uint8_t *h)
{
	uint8_t idx[crypto_shorthash_BYTES];
	crypto_shorthash(idx, h, P2P_SEEN_HASH_LEN, s->key);
	uint64_t i;
	memcpy(&i, idx, sizeof(i));
	for (i &= s->mask;; i = (i + 1) & s->mask)
		if (!g->used[i] || memcmp(g->slots[i], h, P2P_SEEN_HASH_LEN) == 0)
			return (size_t)i;
}

static bool has_locked(struct p2p_seen *s, const uint8_t *h)
{
	for (int k = 0; k < 2; k++) {
		const struct p2p_seen_gen *g = &s->gen[k];
		if (g->count && g->used[find(s, g, h)])
			return true;
	}
	return false;
}

bool p2p_seen_has(struct p2p_seen *s, const uint8_t h[P2P_SEEN_HASH_LEN])
{
	pthread_mutex_lock(&s->mu);
	bool r = has_locked(s, h);
	pthread_mutex_unlock(&s->mu);
	return r;
}

bool p2p_seen_add(struct p2p_seen *s, const uint8_t h[P2P_SEEN_HASH_LEN])
{
	pthread_mutex_lock(&s->mu);
	bool fresh = !has_locked(s, h);
	if (fresh) {
		struct p2p_seen_gen *g = &s->gen[s->cur];
		if (g->count == s->cap) {
			/* Retire the older generation: it becomes the new, empty current one. */
			s->cur ^= 1;
			g = &s->gen[s->cur];
			memset(g->used, 0, s->mask + 1);
			g->count = 0;
		}
		size_t i = find(s, g, h);
		memcpy(g->slots[i], h, P2P_SEEN_HASH_LEN);
		g->used[i] = 1;
		g->count++;
	}
	pthread_mutex_unlock(&s->mu);
	return fresh;
}
