/*
 * Validators module (id 2, "validators"): the validator set lives in state, so the state root
 * commits it and every node derives each height's set from state (docs/protocol/runtime.md
 * "Module validators": keys, payloads byte by byte, rules).
 *
 * State after block H has been executed (genesis counts as "after block 0"):
 *   val/next        the set that signs block H+1; its valset_hash is header H's
 *                   next_validators_hash (and header H+1's validators_hash).
 *   val/epoch       {first_height, set}: the latest epoch, i.e. the set that signs the block
 *                   executing on this state (H+1) and the first height it signed or will sign.
 *   val/epoch-prev  the epoch before it (absent until the set first changes); it covered
 *                   first_height .. val/epoch.first_height - 1.
 *   val/hist/<slot u8>  older epochs, a ring of VALIDATORS_HISTORY slots: when a new epoch
 *                   starts, the epoch leaving val/epoch-prev goes to slot val/hist-n mod
 *                   VALIDATORS_HISTORY; val/hist-n (u64 LE) counts the epochs ever archived.
 *                   So the state knows the sets of the last VALIDATORS_HISTORY + 2 epochs,
 *                   and evidence of an offence in any of them can still be checked.
 *   val/evidence/<id>  committed duplicate-vote evidence (below).
 * Between blocks val/next always equals val/epoch's set. Inside block H+1, validators.set_power
 * edits val/next; runtime_end_block (chain/runtime.h) then starts a new epoch at H+2 if the
 * block's end result differs from the epoch's set. So a change made in block H takes effect one
 * block later: H.next_validators_hash names the new set and it signs H+1.
 *
 * Sets in state are in canonical order (validators_sort): power descending, then public key
 * ascending, so a set's hash does not depend on the order of the changes that produced it.
 *
 * All decoders here are pure (no state, no allocation), for the node and the enclave alike.
 */
#ifndef TN_CHAIN_VALIDATORS_H
#define TN_CHAIN_VALIDATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"
#include "chain/state.h"

#define VALIDATORS_NEXT_KEY       "val/next"
#define VALIDATORS_EPOCH_KEY      "val/epoch"
#define VALIDATORS_PREV_EPOCH_KEY "val/epoch-prev"
#define VALIDATORS_HIST_PREFIX    "val/hist/"
#define VALIDATORS_HIST_COUNT_KEY "val/hist-n"
#define VALIDATORS_HISTORY        64 /* archived epochs kept beyond val/epoch-prev */
/* Evidence of an offence more than this many blocks before the block that includes it is
 * refused as too old, whatever sets the state still knows (CometBFT's MaxAgeNumBlocks). */
#define VALIDATORS_EVIDENCE_MAX_AGE 100000
#define VALIDATORS_EVIDENCE_PREFIX  "val/evidence/"
#define VALIDATORS_EVIDENCE_KEY_LEN (13 + 32)
#define VALIDATORS_EVIDENCE_TAG     "tenebra/v1/evidence"
#define VALIDATORS_EPOCH_MAX_BYTES  (8 + VALSET_MAX_BYTES)

/* Calls (module RUNTIME_MODULE_VALIDATORS). */
enum { VALIDATORS_FN_SET_POWER = 0, VALIDATORS_FN_REPORT_EVIDENCE = 1 };
#define VALIDATORS_SET_POWER_PAYLOAD_LEN (32 + 8) /* pub_key [32] ‖ power u64 */
#define VALIDATORS_EVIDENCE_LEN          (32 + 1 + 8 + 4 + 2 * (32 + 64))
#define VALIDATORS_EVIDENCE_RECORD_LEN   (8 + 32 + VALIDATORS_EVIDENCE_LEN)

/* Two votes by one validator for one (height, round, type) with different block hashes: an
 * equivocation. Each sig is the validator's signature over vote_sign_bytes(chain_id, type,
 * height, round, block_hash_x) (chain/block.h). Canonical form: block_hash_a < block_hash_b
 * (memcmp), so one pair of votes has one encoding. The consensus layer converts its
 * struct cons_evidence (votes carry a validator index) by looking the key up in the height's set.
 * Encoding (VALIDATORS_EVIDENCE_LEN = 237 bytes): pub_key [32] ‖ type u8 ‖ height u64 ‖
 * round u32 ‖ block_hash_a [32] ‖ sig_a [64] ‖ block_hash_b [32] ‖ sig_b [64]. */
struct dup_vote_evidence {
	uint8_t pub_key[32];
	uint8_t type; /* VOTE_PREVOTE or VOTE_PRECOMMIT */
	uint64_t height;
	uint32_t round;
	uint8_t block_hash_a[BLOCK_HASH_LEN];
	uint8_t sig_a[64];
	uint8_t block_hash_b[BLOCK_HASH_LEN];
	uint8_t sig_b[64];
};

/* What val/evidence/<id> holds. */
struct validators_evidence_record {
	uint64_t height; /* the block that committed the evidence */
	uint8_t
	    reporter[32]; /* the account that submitted it (for a future whistleblower reward) */
	struct dup_vote_evidence ev;
};

/* A run of heights signed by one set. Encoding: first_height u64 ‖ valset encoding. */
struct validators_epoch {
	uint64_t first_height;
	struct valset set;
};

/* ---- Canonical sets ---------------------------------------------------------------------- */

/* Sorts vs into canonical order: power descending, then public key ascending (bytewise). */
void validators_sort(struct valset *vs);
/* True if vs is strictly in canonical order (so also no key twice). */
bool validators_sorted(const struct valset *vs);
/* True if a and b hold the same validators with the same powers in the same order. */
bool validators_equal(const struct valset *a, const struct valset *b);

/* ---- Payloads and records (pure) --------------------------------------------------------- */

/* Encodes a validators.set_power payload. */
void validators_set_power_payload(uint8_t out[VALIDATORS_SET_POWER_PAYLOAD_LEN],
                                  const uint8_t pub_key[32], uint64_t power);
/* Decodes b[0..n) as a set_power payload. CODEC_OK or a codec error (wrong length). */
enum codec_result validators_set_power_decode(uint8_t pub_key[32], uint64_t *power,
                                              const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* Appends the 237-byte encoding of ev (which must be canonical: asserted). */
void validators_evidence_encode(struct enc *e, const struct dup_vote_evidence *ev);
/* Decodes b[0..n) (structure only, no signature check): CODEC_OK; CODEC_TRUNCATED /
 * CODEC_TRAILING for a wrong length; CODEC_NONCANONICAL for a type other than prevote or
 * precommit, height 0, or block_hash_a not strictly below block_hash_b (equal hashes are no
 * equivocation). */
enum codec_result validators_evidence_decode(struct dup_vote_evidence *ev, const uint8_t *b,
                                             size_t n) __attribute__((warn_unused_result));
/* True iff both signatures verify under ev->pub_key for chain_id (ev must be canonical). Does
 * not say whether the key belonged to the height's set: that needs state. */
bool validators_evidence_verify(const struct dup_vote_evidence *ev, const uint8_t chain_id[32])
    __attribute__((warn_unused_result));
/* The offence id: hash_tagged(VALIDATORS_EVIDENCE_TAG, pub_key ‖ type u8 ‖ height u64 ‖
 * round u32). Two pairs of conflicting votes for the same (validator, height, round, type) are
 * one offence with one id, so it is recorded (and will be punished) once. */
void validators_evidence_id(uint8_t out[32], const struct dup_vote_evidence *ev);
/* "val/evidence/" ‖ id. */
void validators_evidence_key(uint8_t key[VALIDATORS_EVIDENCE_KEY_LEN], const uint8_t id[32]);

/* Encodes a record (VALIDATORS_EVIDENCE_RECORD_LEN bytes: height u64 ‖ reporter [32] ‖
 * evidence). */
void validators_evidence_record_encode(struct enc *e, const struct validators_evidence_record *r);
/* Decodes b[0..n): codec errors as validators_evidence_decode. */
enum codec_result validators_evidence_record_decode(struct validators_evidence_record *r,
                                                    const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* Appends first_height u64 ‖ valset_encode(set) (set->n <= VALSET_MAX, asserted). */
void validators_epoch_encode(struct enc *e, const struct validators_epoch *ep);
/* Decodes b[0..n): a codec error, or CODEC_NONCANONICAL also for first_height 0, a set that
 * fails valset_check, or a set not in canonical order. */
enum codec_result validators_epoch_decode(struct validators_epoch *ep, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* Decodes a state set (val/next): as valset_decode, plus canonical order. CODEC_OK, a codec
 * error, or CODEC_NONCANONICAL for an invalid or unordered set. */
enum codec_result validators_set_decode(struct valset *vs, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* ---- Reading state ----------------------------------------------------------------------- */
/* Each returns 1 loaded, 0 absent (output zeroed), -1 storage error or malformed value. */

/* val/next: the set that signs the block after the one being (or last) executed. The node builds
 * header H+1 with validators_hash = valset_hash(validators_load_next(state after H)) and takes its
 * next_validators_hash from runtime_end_block. */
int validators_load_next(const struct state_reader *r, struct valset *vs)
    __attribute__((warn_unused_result));
/* val/epoch: the set that signs the block executing on this state, and its first height. */
int validators_load_current(const struct state_reader *r, struct validators_epoch *ep)
    __attribute__((warn_unused_result));
/* val/epoch-prev. */
int validators_load_previous(const struct state_reader *r, struct validators_epoch *ep)
    __attribute__((warn_unused_result));
/* The set that signed (or signs) block `height`, which must be at most the height of the block
 * executing on r's state, i.e. the state's height + 1 (the reader cannot know its own height,
 * and would answer with the current epoch for any later height). 1 found; 0 when height is
 * older than the oldest epoch the state keeps (val/epoch, val/epoch-prev and the val/hist ring),
 * or 0; -1 storage error, or val/epoch absent (every state since genesis has it) or an epoch
 * record malformed. */
int validators_set_at(const struct state_reader *r, uint64_t height, struct valset *vs)
    __attribute__((warn_unused_result));
/* Reads the evidence recorded under id (validators_evidence_id). */
int validators_evidence_get(const struct state_reader *r, const uint8_t id[32],
                            struct validators_evidence_record *rec)
    __attribute__((warn_unused_result));

/* ---- Writing state ----------------------------------------------------------------------- */

/* Genesis: writes val/next = the canonical order of vs and val/epoch = {1, same}. vs must pass
 * valset_check (asserted). Returns the overlay's result. */
enum state_result validators_init_state(struct state_overlay *o, const struct valset *vs)
    __attribute__((warn_unused_result));

#endif
