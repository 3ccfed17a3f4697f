/*
 * Private layout of the consensus machine (cons.h), shared by cons_sm.c (the rules), cons_votes.c
 * (the vote keeper) and cons_valset.c (proposer priorities). Not for callers.
 *
 * Memory: one struct cons_round per round 0 .. CONS_MAX_ROUNDS-1 (about 50 KB each), mapped
 * zeroed once by cons_new. Only rounds up to max_round are ever touched (and reset at the next
 * height), so the resident size is what the heights actually used; the bound (about 50 MB of
 * address space) is fixed by VALSET_MAX and CONS_MAX_ROUNDS.
 */
#ifndef TN_CONSENSUS_CONS_INT_H
#define TN_CONSENSUS_CONS_INT_H

#include "consensus/cons.h"

/* One validator's votes of one type in one round: the first, and at most one conflicting vote
 * (equivocation). Both count for their own value, as the paper counts messages per value (a
 * faulty sender may sit in two quorums; the safety argument allows it), and the validator counts
 * once towards "any". Keeping the second vote is what lets honest nodes that saw a twin's votes
 * in different orders still recognise the same polka. Later votes are dropped. */
struct cons_slot {
	uint8_t n; /* votes held: 0, 1 or 2 */
	uint8_t block_hash[2][BLOCK_HASH_LEN];
	uint8_t sig[2][64];
};

struct cons_round {
	struct cons_slot votes[2][VALSET_MAX]; /* [type - VOTE_PREVOTE][validator] */
	bool has_proposal;
	bool proposal_valid; /* valid(v) as judged by the host */
	struct cons_proposal proposal;
};

struct cons {
	struct cons_timeouts t;
	bool started;
	/* Algorithm 1's local state (research/consensus.md §1.3.1). */
	uint64_t height;
	uint32_t round;
	enum cons_step step;
	int my_index;
	int32_t locked_round, valid_round;
	uint8_t locked_value[BLOCK_HASH_LEN], valid_value[BLOCK_HASH_LEN];
	bool decided;
	uint8_t decision[BLOCK_HASH_LEN];
	/* Set, quorum and f+1 thresholds: power must be strictly above these. */
	struct cons_valset cv;
	uint64_t quorum_floor; /* floor(2 * total / 3) */
	uint64_t skip_floor;   /* floor(total / 3) */
	/* "For the first time" flags of the current round (reset by StartRound). */
	bool prevote_timeout_done;   /* line 34 */
	bool polka_value_done;       /* line 36 */
	bool precommit_timeout_done; /* line 47 */
	bool awaiting_value;         /* GET_VALUE sent, cons_on_value not yet seen */
	bool proposed;               /* our proposal for this round is out */
	/* Never two votes of one type in one round: the last round voted per type (-1: none). */
	int64_t last_voted[2];
	/* Proposer of each round, computed lazily from a cursor (cons_valset.c). */
	struct cons_valset cursor;
	uint32_t n_proposers; /* proposer_of[0 .. n_proposers) are known */
	uint16_t proposer_of[CONS_MAX_ROUNDS];
	/* Vote keeper: rounds[0 .. max_round] may hold data. */
	uint32_t max_round;
	struct cons_round *rounds;
};

/* ---- cons_valset.c ---- */
/* Rescale (spread above 2P) and centre (Euclidean-floor average): the once-per-call part of
 * IncrementProposerPriority. */
void cons_valset_prepare(struct cons_valset *cv);
/* One step: A(i) += VP(i), pick argmax (ties: smaller key), A(prop) -= P. Returns prop. */
uint16_t cons_valset_step(struct cons_valset *cv);
/* Proposer of `round` at the current height, extending the cache as needed. */
uint16_t cons_round_proposer(struct cons *c, uint32_t round);
/* Resets the cache for the set in c->cv. */
void cons_proposers_reset(struct cons *c);

/* ---- cons_votes.c ---- */
/* Forgets every vote and proposal of the height. */
void cons_votes_reset(struct cons *c);
/* Records v (already checked: height, index and round window): CONS_OK when stored (a first
 * vote, or a first conflicting one, which is also reported as evidence in out), CONS_DUPLICATE
 * when held, CONS_EQUIVOCATION when the slot already holds two votes (dropped). */
enum cons_result cons_votes_add(struct cons *c, const struct cons_vote *v,
                                struct cons_outputs *out);
/* Power of the `type` votes in `round` for block_hash (NULL: any value; zero hash: nil). */
uint64_t cons_votes_power(const struct cons *c, uint32_t round, uint8_t type,
                          const uint8_t *block_hash);
/* Power of the distinct validators that sent anything for `round` (votes or the proposal). */
uint64_t cons_round_senders(const struct cons *c, uint32_t round);
/* Appends an output; asserts the array has room (CONS_MAX_OUTPUTS bounds one input's cascade). */
struct cons_output *cons_push(struct cons_outputs *out, enum cons_output_kind kind, uint64_t height,
                              uint32_t round);

#endif
