/* The three consensus message decoders on the same input. Whatever one accepts must re-encode to
 * the input byte for byte and satisfy the structural rules the decoder promises (vote type,
 * pol_round range, non-nil proposal, ordered evidence of one validator's slot). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_util.h"
#include "consensus/cons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool vote_type_ok(const struct cons_vote *v)
{
	return v->type == VOTE_PREVOTE || v->type == VOTE_PRECOMMIT;
}

static void check_vote(const uint8_t *data, size_t size)
{
	struct cons_vote v;
	if (cons_vote_decode(&v, data, size) != CODEC_OK)
		return;
	if (!vote_type_ok(&v))
		abort();
	struct enc e;
	enc_init(&e, 1024);
	cons_vote_encode(&e, &v);
	fuzz_same_or_abort(&e, data, size);
}

static void check_proposal(const uint8_t *data, size_t size)
{
	static const uint8_t zero[BLOCK_HASH_LEN];
	struct cons_proposal p;
	if (cons_proposal_decode(&p, data, size) != CODEC_OK)
		return;
	if (p.pol_round < CONS_ROUND_NONE || (int64_t)p.pol_round >= (int64_t)p.round ||
	    !memcmp(p.block_hash, zero, BLOCK_HASH_LEN))
		abort();
	struct enc e;
	enc_init(&e, 1024);
	cons_proposal_encode(&e, &p);
	fuzz_same_or_abort(&e, data, size);
}

static void check_evidence(const uint8_t *data, size_t size)
{
	struct cons_evidence ev;
	if (cons_evidence_decode(&ev, data, size) != CODEC_OK)
		return;
	const struct cons_vote *a = &ev.a, *b = &ev.b;
	if (!vote_type_ok(a) || a->type != b->type || a->validator != b->validator ||
	    a->height != b->height || a->round != b->round ||
	    memcmp(a->block_hash, b->block_hash, BLOCK_HASH_LEN) >= 0)
		abort();
	struct enc e;
	enc_init(&e, 1024);
	cons_evidence_encode(&e, &ev);
	fuzz_same_or_abort(&e, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_vote(data, size);
	check_proposal(data, size);
	check_evidence(data, size);
	return 0;
}
