/*
 * Tendermint consensus (DESIGN.md §7): Algorithm 1 of "The latest gossip on BFT consensus"
 * (Buchman, Kwon, Milosevic; arXiv 1807.04938), exactly as written there, NOT CometBFT's legacy
 * locking variant (research/consensus.md §1.3.5: mixing the two forks).
 *
 * This module is pure: no I/O, no clock, no threads, no allocation after cons_new, no signature
 * checks. The host (the node, or the simulator in tests) authenticates every input before feeding
 * it, signs what the machine asks it to sign (through the signer guard and WAL), keeps the block
 * bytes, decides valid(v), and runs the timers. Because the machine is deterministic, replaying the
 * same inputs in the same order reproduces the same outputs: that is what the WAL relies on.
 *
 * Values are block hashes (32 bytes; all-zero means nil). The block itself travels beside the
 * proposal; the host feeds a proposal only once it holds the block and has decided valid(v)
 * (for a chain block: decodes, roots match, the proposer and time rules hold, and executing it
 * gives the header's state root).
 *
 * Counting (research/consensus.md §1.3.2): "2f+1" is tallied power > floor(2 * total / 3); "f+1"
 * is power > floor(total / 3). A validator counts once per (round, type) towards "any" and towards
 * f+1 senders. A second, different vote from it for the same (round, type) is equivocation: it is
 * taken (CONS_OK) with a CONS_OUT_EVIDENCE output, and counted for its own value, as the paper
 * counts messages per value (a faulty sender may appear in two quorums; quorum intersection still
 * holds). Without this, honest nodes that saw a twin's two votes in different orders could never
 * agree that a polka exists and the chain stalls (the simulator found it; CometBFT handles it
 * with peer "maj23" claims). Votes beyond the second are dropped (CONS_EQUIVOCATION).
 */
#ifndef TN_CONSENSUS_CONS_H
#define TN_CONSENSUS_CONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"

#define CONS_ROUND_NONE              (-1) /* lockedRound / validRound / pol_round "none" */
#define CONS_MAX_ROUNDS              1024 /* rounds beyond this are ignored (input rejected) */
#define CONS_MAX_OUTPUTS             16   /* outputs one input can produce at most */
#define CONS_FUTURE_ROUNDS           8    /* rounds kept ahead: up to round_p + this */
#define CONS_PROPOSAL_TAG            "tenebra/v1/proposal"
#define CONS_PROPOSAL_SIGN_BYTES_LEN (sizeof(CONS_PROPOSAL_TAG) - 1 + 32 + 8 + 4 + 4 + 32)

/* ---- Validator sets with proposer priorities (CometBFT's weighted round-robin) ---------- */

/* A validator set plus each validator's accumulated proposer priority A(i), and the proposer the
 * last increment chose (CometBFT's ValidatorSet.Proposer). The proposer is state, not a function
 * of the priorities: the chosen validator has had P subtracted, so it is rarely the argmax. */
struct cons_valset {
	struct valset set;
	int64_t priority[VALSET_MAX];
	uint16_t proposer; /* index into set */
};

/* Makes a fresh priority state for a valid set vs (all priorities 0, then one increment, as
 * CometBFT does for a genesis set). */
void cons_valset_init(struct cons_valset *cv, const struct valset *vs);
/* CometBFT's IncrementProposerPriority(times) (research/consensus.md §1.4): rescale if the spread
 * exceeds 2P, centre on the Euclidean-floor average, then `times` rounds of A(i) += VP(i), pick
 * argmax (ties: smaller public key), A(prop) -= P. Saturating int64 arithmetic. times >= 1. */
void cons_valset_increment(struct cons_valset *cv, uint32_t times);
/* The proposer (index into cv->set) of round `round` for a height whose round-0 state is cv:
 * cv->proposer for round 0, else the proposer chosen by IncrementProposerPriority(round) on a
 * copy (one rescale and centring, then `round` steps; like CometBFT when it skips rounds, but
 * independent of the path taken, so all nodes agree). Pure; cv is not changed. */
size_t cons_proposer(const struct cons_valset *cv, uint32_t round);
/* The next height's priority state (CometBFT's UpdateWithChangeSet, then
 * IncrementProposerPriority(1)): validators of next present in cur (same key) keep their
 * priority, new ones start at -1.125 * P' where P' is the total power after updates but before
 * removals (power of next plus the power of cur's validators missing from next), then rescale,
 * centre and one increment. out may not alias cur. */
void cons_valset_next(struct cons_valset *out, const struct cons_valset *cur,
                      const struct valset *next);
/* Appends uleb n ‖ (priority i64)* ‖ proposer u16 in set order (stored by the node with each
 * height). */
void cons_priorities_encode(struct enc *e, const struct cons_valset *cv);
/* Decodes priorities and proposer for cv->set (cv->set must already be filled): codec errors;
 * CODEC_TOO_LARGE if the count differs from cv->set.n; CODEC_NONCANONICAL for a proposer index
 * outside the set. */
enum codec_result cons_priorities_decode(struct cons_valset *cv, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* ---- Messages ---------------------------------------------------------------------------- */

/* ⟨PROPOSAL, h, r, v, vr⟩ signed by the proposer over cons_proposal_sign_bytes. */
struct cons_proposal {
	uint64_t height;
	uint32_t round;
	int32_t pol_round; /* CONS_ROUND_NONE (-1) or 0 <= pol_round < round */
	uint8_t block_hash[BLOCK_HASH_LEN];
	uint16_t proposer; /* index in the height's validator set */
	uint8_t sig[64];
};

/* ⟨PREVOTE|PRECOMMIT, h, r, id(v)⟩, signed over vote_sign_bytes (chain/block.h), so precommits
 * go into a commit unchanged. */
struct cons_vote {
	uint8_t type; /* VOTE_PREVOTE or VOTE_PRECOMMIT */
	uint64_t height;
	uint32_t round;
	uint8_t block_hash[BLOCK_HASH_LEN]; /* all-zero = nil */
	uint16_t validator;                 /* index in the height's validator set */
	uint8_t sig[64];
};

/* Two votes by one validator for one (height, round, type) with different block hashes. */
struct cons_evidence {
	struct cons_vote a, b; /* ordered: memcmp(a.block_hash, b.block_hash) < 0 */
};

/* CONS_PROPOSAL_TAG (no length prefix) ‖ chain_id [32] ‖ height u64 ‖ round u32 ‖ pol_round i32
 * ‖ block_hash [32]. */
void cons_proposal_sign_bytes(uint8_t out[CONS_PROPOSAL_SIGN_BYTES_LEN], const uint8_t chain_id[32],
                              const struct cons_proposal *p);

/* Wire encodings (docs/protocol/consensus.md): proposal = height u64 ‖ round u32 ‖ pol_round i32
 * ‖ block_hash ‖ proposer u16 ‖ sig; vote = type u8 ‖ height u64 ‖ round u32 ‖ block_hash ‖
 * validator u16 ‖ sig; evidence = vote a ‖ vote b. Decoders check structure only (CODEC_*
 * errors; a bad type, a pol_round outside [-1, round) or evidence that is not two different,
 * ordered votes of one (validator, height, round, type) is CODEC_NONCANONICAL; so is a proposal
 * of the nil hash), never signatures. */
void cons_proposal_encode(struct enc *e, const struct cons_proposal *p);
enum codec_result cons_proposal_decode(struct cons_proposal *p, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
void cons_vote_encode(struct enc *e, const struct cons_vote *v);
enum codec_result cons_vote_decode(struct cons_vote *v, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
void cons_evidence_encode(struct enc *e, const struct cons_evidence *ev);
enum codec_result cons_evidence_decode(struct cons_evidence *ev, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* Verifies a decoded message's signature against vs (index in range, Ed25519 over its sign
 * bytes). Pure computation; the host calls these before feeding the machine. */
bool cons_proposal_verify(const struct valset *vs, const uint8_t chain_id[32],
                          const struct cons_proposal *p);
bool cons_vote_verify(const struct valset *vs, const uint8_t chain_id[32],
                      const struct cons_vote *v);
/* Both votes verify, and they are a real equivocation (see struct cons_evidence). */
bool cons_evidence_verify(const struct valset *vs, const uint8_t chain_id[32],
                          const struct cons_evidence *ev);

/* ---- The state machine ------------------------------------------------------------------- */

enum cons_step { CONS_STEP_PROPOSE = 0, CONS_STEP_PREVOTE, CONS_STEP_PRECOMMIT, CONS_STEP_DECIDED };
enum cons_timeout { CONS_TIMEOUT_PROPOSE = 0, CONS_TIMEOUT_PREVOTE, CONS_TIMEOUT_PRECOMMIT };

/* timeoutX(r) = X_ms + r * X_delta_ms (the paper's schedule; reset every height). */
struct cons_timeouts {
	uint32_t propose_ms, propose_delta_ms;
	uint32_t prevote_ms, prevote_delta_ms;
	uint32_t precommit_ms, precommit_delta_ms;
};

enum cons_output_kind {
	/* We are the proposer of (height, round) and hold no valid value: build a block and call
	 * cons_on_value. */
	CONS_OUT_GET_VALUE = 1,
	/* Sign (through the signer guard) and broadcast this proposal, then feed it back with
	 * cons_on_proposal (valid = true: we built it). .proposal is filled except sig. */
	CONS_OUT_PROPOSE,
	/* Sign and broadcast this vote, then feed it back with cons_on_vote. .vote is filled except
	 * sig. */
	CONS_OUT_VOTE,
	/* Call cons_on_timeout(kind, height, round) after delay_ms. */
	CONS_OUT_SCHEDULE_TIMEOUT,
	/* height is decided: block_hash, committed in `round`. Build the commit with
	 * cons_build_commit, apply the block, wait the commit delay, then cons_start_height. */
	CONS_OUT_DECIDE,
	/* A validator equivocated; .evidence holds both votes. */
	CONS_OUT_EVIDENCE,
};

struct cons_output {
	enum cons_output_kind kind;
	uint64_t height;
	uint32_t round;
	union {
		struct cons_proposal proposal;      /* CONS_OUT_PROPOSE */
		struct cons_vote vote;              /* CONS_OUT_VOTE */
		uint8_t block_hash[BLOCK_HASH_LEN]; /* CONS_OUT_DECIDE */
		struct cons_evidence evidence;      /* CONS_OUT_EVIDENCE */
		struct {                            /* CONS_OUT_SCHEDULE_TIMEOUT */
			enum cons_timeout kind;
			uint32_t delay_ms;
		} timeout;
	} u;
};

/* Filled by every input function, in the order the host must act on them. */
struct cons_outputs {
	size_t n;
	struct cons_output o[CONS_MAX_OUTPUTS];
};

/* Why an input was not taken. None of these change the machine. */
enum cons_result {
	CONS_OK = 0,
	CONS_OLD,          /* for a height or round the machine has left: ignored */
	CONS_FUTURE,       /* for a later height, or a round past CONS_FUTURE_ROUNDS: not kept */
	CONS_DUPLICATE,    /* the same message again */
	CONS_EQUIVOCATION, /* a third different vote of a validator: dropped (see "Counting") */
	CONS_NOT_PROPOSER, /* a proposal from someone who is not the round's proposer */
	CONS_CONFLICTING_PROPOSAL, /* a second, different proposal for a round: ignored */
	CONS_BAD_INDEX,            /* validator index outside the set */
	CONS_DECIDED,              /* the height is already decided */
};

const char *cons_strerror(enum cons_result r);

struct cons; /* opaque; one per node, reused across heights */

/* Allocates a machine with the timeout schedule t (copied). Returns NULL on allocation failure.
 * Free with cons_free. */
struct cons *cons_new(const struct cons_timeouts *t);
void cons_free(struct cons *c);

/* Starts `height` with the validator set (with priorities) that signs it; my_index is our slot
 * in it, or -1 for a non-validator (which follows and decides but never proposes or votes).
 * Forgets the previous height's votes and proposals, resets locked/valid value and round, and
 * runs StartRound(0). Must be called once before any other input, and after each
 * CONS_OUT_DECIDE. height > the previous height (asserted). */
void cons_start_height(struct cons *c, uint64_t height, const struct cons_valset *cv, int my_index,
                       struct cons_outputs *out);

/* The value we build as proposer of (height, round), after CONS_OUT_GET_VALUE. Ignored (CONS_OLD)
 * if the machine moved on meanwhile. */
enum cons_result cons_on_value(struct cons *c, uint64_t height, uint32_t round,
                               const uint8_t block_hash[BLOCK_HASH_LEN], struct cons_outputs *out);

/* An authenticated proposal whose block the host holds; valid is valid(v). */
enum cons_result cons_on_proposal(struct cons *c, const struct cons_proposal *p, bool valid,
                                  struct cons_outputs *out);

/* An authenticated vote. */
enum cons_result cons_on_vote(struct cons *c, const struct cons_vote *v, struct cons_outputs *out);

/* A timer fired. Timeouts for another (height, round) or step are ignored (CONS_OLD). */
enum cons_result cons_on_timeout(struct cons *c, enum cons_timeout kind, uint64_t height,
                                 uint32_t round, struct cons_outputs *out);

/* Fills *commit with every precommit the machine holds for (its height, round, block_hash), in
 * set order (absent slots for the rest). Returns false unless they reach 2f+1. */
bool cons_build_commit(const struct cons *c, uint32_t round,
                       const uint8_t block_hash[BLOCK_HASH_LEN], struct commit *commit);

/* Copies the votes of `type` the machine holds for (its height, round) into out[0..max), in set
 * order (an equivocator's two votes in the order received), and returns how many were copied
 * (at most max; 2 * VALSET_MAX always suffices). For gossip: a peer that missed votes,
 * typically the prevotes of a proposal's pol_round (CometBFT's ProposalPOL), can only follow
 * line 28 once it has them, so the host re-sends them from here. Rounds never seen give 0. */
size_t cons_votes_of(const struct cons *c, uint32_t round, uint8_t type, struct cons_vote *out,
                     size_t max);

/* Read-only view, for logs, RPC and tests. */
struct cons_status {
	uint64_t height;
	uint32_t round;
	enum cons_step step;
	int32_t locked_round, valid_round;
	uint8_t locked_value[BLOCK_HASH_LEN], valid_value[BLOCK_HASH_LEN];
	bool decided;
	uint8_t decision[BLOCK_HASH_LEN];
};
void cons_status(const struct cons *c, struct cons_status *out);

#endif
