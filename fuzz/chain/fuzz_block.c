/* Block decoding (and the fixed-size header and receipt, and Merkle proofs): never crashes or
 * leaks, and whatever decodes re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_util.h"
#include "chain/block.h"
#include "chain/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_small_types(const uint8_t *data, size_t size)
{
	struct enc e;
	struct header h;
	if (header_decode(&h, data, size) == BLOCK_OK) {
		enc_init(&e, HEADER_LEN);
		header_encode(&e, &h);
		fuzz_same_or_abort(&e, data, size);
	}
	struct receipt r;
	if (receipt_decode(&r, data, size) == BLOCK_OK) {
		enc_init(&e, RECEIPT_LEN);
		receipt_encode(&e, &r);
		fuzz_same_or_abort(&e, data, size);
	}
	struct merkle_proof p;
	if (merkle_proof_decode(&p, data, size) == CODEC_OK) {
		enc_init(&e, size);
		merkle_proof_encode(&e, &p);
		fuzz_same_or_abort(&e, data, size);
		uint8_t leaf[MERKLE_HASH_LEN] = {0}, root[MERKLE_HASH_LEN] = {0};
		if (merkle_verify(&p, leaf, root) && p.index >= p.n)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_small_types(data, size);
	struct block b;
	if (block_decode(&b, data, size) != BLOCK_OK)
		return 0;
	struct enc e;
	enc_init(&e, BLOCK_MAX_BYTES);
	block_encode(&e, &b);
	fuzz_same_or_abort(&e, data, size);
	enum block_result r = block_check_roots(&b);
	if (r != BLOCK_OK && r != BLOCK_BAD_TXS_ROOT && r != BLOCK_BAD_LAST_COMMIT &&
	    r != BLOCK_BAD_LAST_COMMIT_HASH)
		abort();
	uint8_t hash[BLOCK_HASH_LEN];
	header_hash(hash, &b.header);
	block_release(&b);
	return 0;
}
