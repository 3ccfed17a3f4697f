/*
 * Verifies a state proof returned by the node's account_get(..., prove=true) with the same
 * verifier the enclave will use (store/smt_proof.h), so integration tests check proofs end to end.
 *
 *   proofcheck ROOT_HEX KEY_HEX (VALUE_HEX | -) PROOF_HEX     exit 0 iff the proof verifies
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "store/smt_proof.h"

int main(int argc, char **argv)
{
	uint8_t root[32], *key = NULL, *val = NULL, *proof = NULL;
	size_t klen = 0, vlen = 0, plen = 0;
	if (argc != 5 || !hex_decode_exact(root, 32, argv[1]) ||
	    !hex_decode_alloc(&key, &klen, argv[2], 1024) ||
	    (strcmp(argv[3], "-") != 0 && !hex_decode_alloc(&val, &vlen, argv[3], 1 << 20)) ||
	    !hex_decode_alloc(&proof, &plen, argv[4], 1 << 20)) {
		fprintf(stderr, "usage: proofcheck ROOT KEY (VALUE|-) PROOF (all hex)\n");
		return 2;
	}
	enum smt_proof_result r = smt_proof_verify(root, key, klen, val, vlen, proof, plen);
	printf("%s\n", smt_proof_strerror(r));
	free(key);
	free(val);
	free(proof);
	return r == SMT_PROOF_OK ? 0 : 1;
}
