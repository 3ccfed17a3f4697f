/* The enclave's light client: sequential verification of adjacent headers (research/
 * consensus.md §1.6), with sets chained through next_validators_hash. No skipping: a skipping
 * client needs a trust level and a clock, and the enclave has neither. */
#include <stdio.h>
#include <string.h>

#include "enclave/enclave_int.h"

void enclave_lc_genesis(struct enclave_lc *lc, const struct valset *genesis_set,
                        uint64_t genesis_time_ms)
{
	memset(lc, 0, sizeof(*lc));
	lc->time_ms = genesis_time_ms;
	lc->next_set = *genesis_set;
	valset_hash(lc->next_set_hash, genesis_set);
}

static enum enclave_result lc_check_chain(const struct enclave_lc *lc, const uint8_t chain_id[32],
                                          const struct header *h, char *err, size_t errlen)
{
	if (h->height <= lc->height) {
		snprintf(err, errlen, "block %llu is at or below the verified height %llu",
		         (unsigned long long)h->height, (unsigned long long)lc->height);
		return ENCLAVE_BLOCK_REPLAY;
	}
	if (h->height != lc->height + 1) {
		snprintf(err, errlen, "block %llu does not follow the verified height %llu",
		         (unsigned long long)h->height, (unsigned long long)lc->height);
		return ENCLAVE_BLOCK_GAP;
	}
	const char *why = NULL;
	if (memcmp(h->chain_id, chain_id, 32) != 0)
		why = "another chain id";
	else if (memcmp(h->prev_hash, lc->hash, 32) != 0)
		why = "prev_hash is not the verified block's hash";
	else if (lc->height > 0 && h->time_ms <= lc->time_ms)
		why = "time does not increase";
	else if (h->time_ms < lc->time_ms)
		why = "time before genesis";
	if (why) {
		snprintf(err, errlen, "block %llu: %s", (unsigned long long)h->height, why);
		return ENCLAVE_BLOCK_BAD_CHAIN;
	}
	return ENCLAVE_OK;
}

enum enclave_result enclave_lc_verify(const struct enclave_lc *lc, const uint8_t chain_id[32],
                                      const struct block_feed *f, struct enclave_lc *next,
                                      char *err, size_t errlen)
{
	const struct header *h = &f->header;
	enum enclave_result r = lc_check_chain(lc, chain_id, h, err, errlen);
	if (r != ENCLAVE_OK)
		return r;
	if (memcmp(h->validators_hash, lc->next_set_hash, 32) != 0) {
		snprintf(err, errlen, "block %llu names a validator set the chain did not announce",
		         (unsigned long long)h->height);
		return ENCLAVE_BLOCK_BAD_VALSET;
	}
	uint8_t hash[32];
	header_hash(hash, h);
	enum block_result br = commit_verify(&lc->next_set, chain_id, h->height, hash, &f->commit);
	if (br != BLOCK_OK) {
		snprintf(err, errlen, "block %llu: commit refused: %s",
		         (unsigned long long)h->height, block_strerror(br));
		return ENCLAVE_BLOCK_BAD_COMMIT;
	}
	uint8_t root[32];
	block_msgs_root(root, f->msgs, f->msg_lens, f->n_msgs);
	if (memcmp(root, h->msgs_root, 32) != 0) {
		snprintf(err, errlen, "block %llu: messages do not match msgs_root",
		         (unsigned long long)h->height);
		return ENCLAVE_BLOCK_BAD_MSGS;
	}
	if (f->has_next_set) {
		valset_hash(root, &f->next_set);
		if (memcmp(root, h->next_validators_hash, 32) != 0) {
			snprintf(err, errlen,
			         "block %llu: next validator set does not match its hash",
			         (unsigned long long)h->height);
			return ENCLAVE_BLOCK_BAD_VALSET;
		}
	}
	next->height = h->height;
	memcpy(next->hash, hash, 32);
	next->time_ms = h->time_ms;
	next->next_set = f->has_next_set ? f->next_set : lc->next_set;
	memcpy(next->next_set_hash, h->next_validators_hash, 32);
	return ENCLAVE_OK;
}
