#include "store/smt_proof.h"

#include <string.h>

#include "base/codec.h"
#include "crypto/hash.h"

#define MAX_DEPTH 256

static void hash_node(uint8_t out[32], uint8_t tag, const uint8_t a[32], const uint8_t b[32])
{
	uint8_t buf[65];
	buf[0] = tag;
	memcpy(buf + 1, a, 32);
	memcpy(buf + 33, b, 32);
	hash_plain(out, buf, sizeof(buf));
}

void smt_hash_leaf(uint8_t out[32], const uint8_t kp[32], const uint8_t vh[32])
{
	hash_node(out, 0x00, kp, vh);
}

void smt_hash_inner(uint8_t out[32], const uint8_t left[32], const uint8_t right[32])
{
	hash_node(out, 0x01, left, right);
}

const char *smt_proof_strerror(enum smt_proof_result r)
{
	static const char *const msg[] = {
	    [SMT_PROOF_OK] = "ok",
	    [SMT_PROOF_MALFORMED] = "malformed proof",
	    [SMT_PROOF_NONCANONICAL] = "non-canonical proof",
	    [SMT_PROOF_WRONG_KIND] = "proof of membership where absence was asked, or the reverse",
	    [SMT_PROOF_WRONG_KEY] = "proof is about another key",
	    [SMT_PROOF_MISMATCH] = "proof does not lead to the root",
	};
	if ((unsigned)r >= sizeof(msg) / sizeof(msg[0]))
		return "unknown proof result";
	return msg[r];
}

static int bit_at(const uint8_t kp[32], unsigned i)
{
	return (kp[i / 8] >> (7 - i % 8)) & 1;
}

static int is_zero(const uint8_t h[32])
{
	static const uint8_t zero[32];
	return memcmp(h, zero, 32) == 0;
}

/* First d bits of a and b equal? */
static int same_prefix(const uint8_t a[32], const uint8_t b[32], unsigned d)
{
	if (memcmp(a, b, d / 8) != 0)
		return 0;
	return d % 8 == 0 || ((a[d / 8] ^ b[d / 8]) >> (8 - d % 8)) == 0;
}

/* Terminal hash into cur; checks that the terminal fits the question asked. */
static enum smt_proof_result terminal(uint8_t cur[32], unsigned term, const uint8_t kp[32],
                                      const uint8_t *other, unsigned depth, const uint8_t *value,
                                      size_t vlen)
{
	uint8_t vh[32];
	if ((term == SMT_TERM_OWN) != (value != NULL))
		return SMT_PROOF_WRONG_KIND;
	if (term == SMT_TERM_EMPTY) {
		memset(cur, 0, 32);
	} else if (term == SMT_TERM_OWN) {
		hash_tagged(vh, SMT_TAG_VALUE, value, vlen);
		smt_hash_leaf(cur, kp, vh);
	} else {
		if (memcmp(other, kp, 32) == 0 || !same_prefix(other, kp, depth))
			return SMT_PROOF_WRONG_KEY;
		smt_hash_leaf(cur, other, other + 32);
	}
	return SMT_PROOF_OK;
}

enum smt_proof_result smt_proof_verify(const uint8_t root[32], const uint8_t *key, size_t klen,
                                       const uint8_t *value, size_t vlen, const uint8_t *proof,
                                       size_t plen)
{
	struct dec d;
	dec_init(&d, proof, plen);
	unsigned term = dec_u8(&d);
	const uint8_t *other = term == SMT_TERM_OTHER ? dec_view(&d, 64) : NULL;
	if (term > SMT_TERM_OTHER)
		return SMT_PROOF_MALFORMED;
	unsigned depth = (unsigned)dec_uleb(&d, MAX_DEPTH);
	const uint8_t *bitmap = dec_view(&d, (depth + 7) / 8);
	if (d.err != CODEC_OK)
		return SMT_PROOF_MALFORMED;
	unsigned present = 0;
	for (unsigned j = 0; j < depth; j++)
		present += (bitmap[j / 8] >> (j % 8)) & 1;
	const uint8_t *sib = dec_view(&d, (size_t)present * 32);
	if (dec_finish(&d) != CODEC_OK)
		return SMT_PROOF_MALFORMED;
	if ((depth % 8 && bitmap[depth / 8] >> (depth % 8)) ||
	    (term != SMT_TERM_EMPTY && depth > 0 && !(bitmap[0] & 1)))
		return SMT_PROOF_NONCANONICAL;

	uint8_t kp[32], cur[32];
	static const uint8_t zero[32];
	hash_tagged(kp, SMT_TAG_KEY, key, klen);
	enum smt_proof_result r = terminal(cur, term, kp, other, depth, value, vlen);
	if (r != SMT_PROOF_OK)
		return r;
	for (unsigned j = 0; j < depth; j++) {
		const uint8_t *s = zero;
		if ((bitmap[j / 8] >> (j % 8)) & 1) {
			s = sib;
			sib += 32;
			if (is_zero(s))
				return SMT_PROOF_NONCANONICAL;
		}
		if (bit_at(kp, depth - 1 - j))
			smt_hash_inner(cur, s, cur);
		else
			smt_hash_inner(cur, cur, s);
	}
	return memcmp(cur, root, 32) == 0 ? SMT_PROOF_OK : SMT_PROOF_MISMATCH;
}
