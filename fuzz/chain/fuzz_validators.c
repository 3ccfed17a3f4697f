/* The validators module's decoders: set_power payload, duplicate-vote evidence, evidence record,
 * epoch record and state set. The first input byte picks the decoder; every accepted input must
 * re-encode to the same bytes, and what the decoder accepts must satisfy its stated invariants
 * (canonical evidence order, sorted valid sets). */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/validators.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void set_power(const uint8_t *b, size_t n)
{
	uint8_t pk[32], out[VALIDATORS_SET_POWER_PAYLOAD_LEN];
	uint64_t power;
	if (validators_set_power_decode(pk, &power, b, n) != CODEC_OK)
		return;
	validators_set_power_payload(out, pk, power);
	if (n != sizeof(out) || memcmp(out, b, n) != 0)
		abort();
}

static void check_evidence(const struct dup_vote_evidence *ev)
{
	static const uint8_t chain_id[32] = {1};
	uint8_t id[32];
	if ((ev->type != VOTE_PREVOTE && ev->type != VOTE_PRECOMMIT) || ev->height == 0 ||
	    memcmp(ev->block_hash_a, ev->block_hash_b, BLOCK_HASH_LEN) >= 0)
		abort();
	validators_evidence_id(id, ev);
	/* Must not crash on any decoded evidence; the verdict itself is irrelevant here. */
	volatile bool verdict = validators_evidence_verify(ev, chain_id);
	(void)verdict;
}

static void evidence(const uint8_t *b, size_t n)
{
	struct dup_vote_evidence ev;
	struct enc e;
	if (validators_evidence_decode(&ev, b, n) != CODEC_OK)
		return;
	check_evidence(&ev);
	enc_init(&e, VALIDATORS_EVIDENCE_LEN);
	validators_evidence_encode(&e, &ev);
	fuzz_same_or_abort(&e, b, n);
}

static void record(const uint8_t *b, size_t n)
{
	struct validators_evidence_record r;
	struct enc e;
	if (validators_evidence_record_decode(&r, b, n) != CODEC_OK)
		return;
	check_evidence(&r.ev);
	enc_init(&e, VALIDATORS_EVIDENCE_RECORD_LEN);
	validators_evidence_record_encode(&e, &r);
	fuzz_same_or_abort(&e, b, n);
}

static void epoch(const uint8_t *b, size_t n)
{
	struct validators_epoch ep;
	struct enc e;
	if (validators_epoch_decode(&ep, b, n) != CODEC_OK)
		return;
	if (ep.first_height == 0 || valset_check(&ep.set) != BLOCK_OK ||
	    !validators_sorted(&ep.set))
		abort();
	enc_init(&e, VALIDATORS_EPOCH_MAX_BYTES);
	validators_epoch_encode(&e, &ep);
	fuzz_same_or_abort(&e, b, n);
}

static void state_set(const uint8_t *b, size_t n)
{
	struct valset vs, sorted;
	struct enc e;
	if (validators_set_decode(&vs, b, n) != CODEC_OK)
		return;
	sorted = vs;
	validators_sort(&sorted);
	if (valset_check(&vs) != BLOCK_OK || !validators_equal(&vs, &sorted))
		abort();
	enc_init(&e, VALSET_MAX_BYTES);
	valset_encode(&e, &vs);
	fuzz_same_or_abort(&e, b, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const decoders[])(const uint8_t *, size_t) = {set_power, evidence, record,
	                                                            epoch, state_set};
	if (size < 1)
		return 0;
	decoders[data[0] % 5](data + 1, size - 1);
	return 0;
}
