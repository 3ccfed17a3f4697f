#include "chain/merkle.h"

#include <assert.h>
#include <string.h>

#include "crypto/hash.h"

void merkle_leaf(uint8_t out[MERKLE_HASH_LEN], const void *item, size_t len)
{
	hash_tagged(out, MERKLE_LEAF_TAG, item, len);
}

/* Reads both inputs before writing out, so out may alias left or right. */
void merkle_node(uint8_t out[MERKLE_HASH_LEN], const uint8_t left[MERKLE_HASH_LEN],
                 const uint8_t right[MERKLE_HASH_LEN])
{
	struct hash_state h;
	hash_init_tagged(&h, MERKLE_NODE_TAG);
	hash_update(&h, left, MERKLE_HASH_LEN);
	hash_update(&h, right, MERKLE_HASH_LEN);
	hash_final(&h, out);
}

void merkle_builder_init(struct merkle_builder *b)
{
	b->n = 0;
	b->depth = 0;
}

/* The stack holds perfect subtrees of decreasing size, one per set bit of n; a new leaf merges
 * with the top as many times as n has trailing one bits, like a binary counter's carry. */
void merkle_builder_push(struct merkle_builder *b, const uint8_t leaf[MERKLE_HASH_LEN])
{
	assert(b->n < UINT64_MAX);
	uint8_t cur[MERKLE_HASH_LEN];
	memcpy(cur, leaf, MERKLE_HASH_LEN);
	for (uint64_t k = b->n; k & 1; k >>= 1) {
		assert(b->depth > 0);
		merkle_node(cur, b->stack[--b->depth], cur);
	}
	assert(b->depth < MERKLE_MAX_DEPTH);
	memcpy(b->stack[b->depth++], cur, MERKLE_HASH_LEN);
	b->n++;
}

/* Splitting at the largest power of two makes the left part the biggest perfect subtree, so the
 * RFC 6962 root is the right fold of the stacked subtrees. */
void merkle_builder_root(const struct merkle_builder *b, uint8_t out[MERKLE_HASH_LEN])
{
	if (b->depth == 0) {
		hash_tagged(out, MERKLE_EMPTY_TAG, "", 0);
		return;
	}
	memcpy(out, b->stack[b->depth - 1], MERKLE_HASH_LEN);
	for (size_t i = b->depth - 1; i-- > 0;)
		merkle_node(out, b->stack[i], out);
}

void merkle_root(uint8_t out[MERKLE_HASH_LEN], const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n)
{
	struct merkle_builder b;
	merkle_builder_init(&b);
	for (size_t i = 0; i < n; i++)
		merkle_builder_push(&b, leaves[i]);
	merkle_builder_root(&b, out);
}

static size_t merkle_split(size_t n)
{
	size_t k = 1;
	while (k < n - k)
		k <<= 1;
	return k;
}

/* Walks from the root down to the leaf, recording the root of the other side at each split, then
 * reverses the list so it runs leaf-to-root. */
void merkle_prove(struct merkle_proof *p, const uint8_t (*leaves)[MERKLE_HASH_LEN], size_t n,
                  size_t index)
{
	assert(index < n);
	p->index = index;
	p->n = n;
	p->len = 0;
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t k = merkle_split(hi - lo);
		assert(p->len < MERKLE_MAX_DEPTH);
		if (index - lo < k) {
			merkle_root(p->path[p->len++], leaves + lo + k, hi - lo - k);
			hi = lo + k;
		} else {
			merkle_root(p->path[p->len++], leaves + lo, k);
			lo += k;
		}
	}
	for (size_t i = 0; i < p->len / 2; i++) {
		uint8_t t[MERKLE_HASH_LEN];
		memcpy(t, p->path[i], MERKLE_HASH_LEN);
		memcpy(p->path[i], p->path[p->len - 1 - i], MERKLE_HASH_LEN);
		memcpy(p->path[p->len - 1 - i], t, MERKLE_HASH_LEN);
	}
}

bool merkle_verify(const struct merkle_proof *p, const uint8_t leaf[MERKLE_HASH_LEN],
                   const uint8_t root[MERKLE_HASH_LEN])
{
	if (p->index >= p->n || p->len > MERKLE_MAX_DEPTH)
		return false;
	uint64_t fn = p->index, sn = p->n - 1;
	uint8_t r[MERKLE_HASH_LEN];
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < p->len; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			merkle_node(r, p->path[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node(r, r, p->path[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

void merkle_proof_encode(struct enc *e, const struct merkle_proof *p)
{
	assert(p->len <= MERKLE_MAX_DEPTH);
	enc_u64(e, p->index);
	enc_u64(e, p->n);
	enc_uleb(e, p->len);
	enc_raw(e, p->path, p->len * MERKLE_HASH_LEN);
}

enum codec_result merkle_proof_decode(struct merkle_proof *p, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	p->index = dec_u64(&d);
	p->n = dec_u64(&d);
	p->len = (size_t)dec_uleb(&d, MERKLE_MAX_DEPTH);
	dec_raw(&d, p->path, p->len * MERKLE_HASH_LEN);
	return dec_finish(&d);
}
