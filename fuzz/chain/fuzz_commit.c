/* Validator set and commit decoding plus commit_verify. Input: u16 LE length L ‖ valset encoding
 * (L bytes) ‖ commit encoding. The commit is verified against the set for its own height and
 * block hash, so the fuzzer reaches the signature and power checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_util.h"
#include "chain/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_chain_id[32] = {
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t vlen = (size_t)data[0] | (size_t)data[1] << 8;
	if (vlen > size - 2)
		return 0;
	static struct valset vs;
	static struct commit c;
	bool vs_ok = valset_decode(&vs, data + 2, vlen) == BLOCK_OK;
	struct enc e;
	if (vs_ok) {
		enc_init(&e, VALSET_MAX_BYTES);
		valset_encode(&e, &vs);
		fuzz_same_or_abort(&e, data + 2, vlen);
	}
	const uint8_t *cb = data + 2 + vlen;
	size_t clen = size - 2 - vlen;
	if (commit_decode(&c, cb, clen) != BLOCK_OK)
		return 0;
	enc_init(&e, COMMIT_MAX_BYTES);
	commit_encode(&e, &c);
	fuzz_same_or_abort(&e, cb, clen);
	uint8_t h[BLOCK_HASH_LEN];
	commit_hash(h, &c);
	if (vs_ok) {
		enum block_result r = commit_verify(&vs, fuzz_chain_id, c.height, c.block_hash, &c);
		if (r == BLOCK_OK && c.n != vs.n)
			abort();
	}
	return 0;
}
