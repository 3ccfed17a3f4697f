/*
 * Fuzzes the standalone proof verifier. Input: u8 key length (0..63) ‖ key ‖ u8 mode ‖ rest.
 * mode & 1 selects a value (u8 length ‖ value, taken from rest) or absence; the remaining bytes
 * are the proof, checked against the root of a fixed 40-key tree computed here with the same
 * rules as smt.c (so valid proofs in the corpus are accepted). Any input must be handled without
 * crashing, and an accepted membership proof must be for a key and value of that tree.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "store/smt_proof.h"

#define TREE_KEYS 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct leaf {
	uint8_t kp[32];
	uint8_t vh[32];
};

/* Key i is "key-<i>" with value "value-<i>" (the corpus generator uses the same tree). */
static int fixed_kv(unsigned i, char *k, char *v)
{
	snprintf(v, 16, "value-%u", i);
	return snprintf(k, 16, "key-%u", i);
}

static int leaf_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void subtree(const struct leaf *l, size_t n, unsigned bit, uint8_t out[32])
{
	if (n == 0) {
		memset(out, 0, 32);
		return;
	}
	if (n == 1) {
		smt_hash_leaf(out, l->kp, l->vh);
		return;
	}
	size_t m = 0;
	while (m < n && !((l[m].kp[bit / 8] >> (7 - bit % 8)) & 1))
		m++;
	uint8_t a[32], b[32];
	subtree(l, m, bit + 1, a);
	subtree(l + m, n - m, bit + 1, b);
	smt_hash_inner(out, a, b);
}

static const uint8_t *fixed_root(void)
{
	static uint8_t root[32];
	static bool done;
	if (done)
		return root;
	struct leaf l[TREE_KEYS];
	for (unsigned i = 0; i < TREE_KEYS; i++) {
		char k[16], v[16];
		int kl = fixed_kv(i, k, v);
		hash_tagged(l[i].kp, SMT_TAG_KEY, k, (size_t)kl);
		hash_tagged(l[i].vh, SMT_TAG_VALUE, v, strlen(v));
	}
	qsort(l, TREE_KEYS, sizeof(l[0]), leaf_cmp);
	subtree(l, TREE_KEYS, 0, root);
	done = true;
	return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *root = fixed_root();
	if (size < 2)
		return 0;
	size_t klen = data[0] & 63;
	if (size < 2 + klen)
		return 0;
	const uint8_t *key = data + 1, *value = NULL;
	uint8_t mode = data[1 + klen];
	size_t pos = 2 + klen, vlen = 0;
	if (mode & 1) {
		if (pos >= size)
			return 0;
		vlen = data[pos++];
		if (vlen > size - pos)
			return 0;
		value = data + pos;
		pos += vlen;
	}
	enum smt_proof_result r =
	    smt_proof_verify(root, key, klen, value, vlen, data + pos, size - pos);
	if (r == SMT_PROOF_OK && value) {
		/* only the tree's own pairs can be proven present */
		char k[16], v[16];
		bool member = false;
		for (unsigned i = 0; i < TREE_KEYS && !member; i++) {
			int kl = fixed_kv(i, k, v);
			member = (size_t)kl == klen && memcmp(k, key, klen) == 0 &&
			         strlen(v) == vlen && memcmp(v, value, vlen) == 0;
		}
		if (!member)
			abort();
	}
	if (smt_proof_strerror(r)[0] == '\0')
		abort();
	return 0;
}
