/*
 * Algorithm 1 of "The latest gossip on BFT consensus" (research/consensus.md §1.3.3; line numbers
 * below are the paper's). Every input first updates the message log (cons_votes.c) or the step,
 * then the upon-rules run from a table until none is enabled: each rule returns true only when it
 * changed the state, so the loop ends. Decision (49) and round skip (55) come first, so a node
 * never votes in a round it is about to leave.
 *
 * One addition to the paper: the proposer also schedules OnTimeoutPropose (as CometBFT does). It
 * only ever yields a nil prevote while still in the propose step, which the paper allows to every
 * process, so safety is unchanged; it keeps a proposer whose host never delivers a value live.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "consensus/cons_int.h"

#define ROUNDS_BYTES ((size_t)CONS_MAX_ROUNDS * sizeof(struct cons_round))

static const uint8_t nil_hash[BLOCK_HASH_LEN];

static bool is_nil(const uint8_t h[BLOCK_HASH_LEN])
{
	return memcmp(h, nil_hash, BLOCK_HASH_LEN) == 0;
}

static bool quorum(const struct cons *c, uint64_t power)
{
	return power > c->quorum_floor;
}

static uint32_t timeout_ms(const struct cons *c, enum cons_timeout kind, uint32_t round)
{
	const uint32_t base[] = {c->t.propose_ms, c->t.prevote_ms, c->t.precommit_ms};
	const uint32_t delta[] = {c->t.propose_delta_ms, c->t.prevote_delta_ms,
	                          c->t.precommit_delta_ms};
	uint64_t d = (uint64_t)base[kind] + (uint64_t)round * delta[kind];
	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void schedule(struct cons *c, enum cons_timeout kind, struct cons_outputs *out)
{
	struct cons_output *o = cons_push(out, CONS_OUT_SCHEDULE_TIMEOUT, c->height, c->round);
	o->u.timeout.kind = kind;
	o->u.timeout.delay_ms = timeout_ms(c, kind, c->round);
}

/* Broadcast ⟨type, h_p, round_p, hash⟩ (a non-validator only moves its step). */
static void vote(struct cons *c, uint8_t type, const uint8_t hash[BLOCK_HASH_LEN],
                 struct cons_outputs *out)
{
	int64_t *last = &c->last_voted[type - VOTE_PREVOTE];
	assert(*last < (int64_t)c->round); /* the machine never votes twice in one (round, type) */
	*last = c->round;
	if (c->my_index < 0)
		return;
	struct cons_output *o = cons_push(out, CONS_OUT_VOTE, c->height, c->round);
	o->u.vote.type = type;
	o->u.vote.height = c->height;
	o->u.vote.round = c->round;
	memcpy(o->u.vote.block_hash, hash, BLOCK_HASH_LEN);
	o->u.vote.validator = (uint16_t)c->my_index;
}

static void propose(struct cons *c, const uint8_t hash[BLOCK_HASH_LEN], int32_t pol_round,
                    struct cons_outputs *out)
{
	struct cons_output *o = cons_push(out, CONS_OUT_PROPOSE, c->height, c->round);
	o->u.proposal.height = c->height;
	o->u.proposal.round = c->round;
	o->u.proposal.pol_round = pol_round;
	memcpy(o->u.proposal.block_hash, hash, BLOCK_HASH_LEN);
	o->u.proposal.proposer = (uint16_t)c->my_index;
	c->proposed = true;
}

/* Lines 11-21. */
static void start_round(struct cons *c, uint32_t round, struct cons_outputs *out)
{
	assert(round < CONS_MAX_ROUNDS);
	c->round = round;
	c->step = CONS_STEP_PROPOSE;
	c->prevote_timeout_done = c->polka_value_done = c->precommit_timeout_done = false;
	c->awaiting_value = c->proposed = false;
	if (c->my_index >= 0 && cons_round_proposer(c, round) == c->my_index) {
		if (c->valid_round != CONS_ROUND_NONE)
			propose(c, c->valid_value, c->valid_round, out);
		else {
			cons_push(out, CONS_OUT_GET_VALUE, c->height, round);
			c->awaiting_value = true;
		}
	}
	schedule(c, CONS_TIMEOUT_PROPOSE, out);
}

static const struct cons_proposal *proposal_of(const struct cons *c, uint32_t round, bool *valid)
{
	const struct cons_round *r = &c->rounds[round];
	*valid = r->proposal_valid;
	return r->has_proposal ? &r->proposal : NULL;
}

/* Lines 49-54 for any round r (including old and future ones we keep). */
static bool rule_decide(struct cons *c, struct cons_outputs *out)
{
	for (uint32_t r = 0; r <= c->max_round; r++) {
		bool valid;
		const struct cons_proposal *p = proposal_of(c, r, &valid);
		if (!p || !valid ||
		    !quorum(c, cons_votes_power(c, r, VOTE_PRECOMMIT, p->block_hash)))
			continue;
		c->decided = true;
		c->step = CONS_STEP_DECIDED;
		memcpy(c->decision, p->block_hash, BLOCK_HASH_LEN);
		struct cons_output *o = cons_push(out, CONS_OUT_DECIDE, c->height, r);
		memcpy(o->u.block_hash, p->block_hash, BLOCK_HASH_LEN);
		return true;
	}
	return false;
}

/* Lines 55-56: f+1 distinct senders in a higher round; jump to the highest such round. */
static bool rule_skip(struct cons *c, struct cons_outputs *out)
{
	for (uint32_t r = c->max_round; r > c->round; r--) {
		if (cons_round_senders(c, r) > c->skip_floor) {
			start_round(c, r, out);
			return true;
		}
	}
	return false;
}

/* Prevote id(v) or nil and enter the prevote step (lines 23-27 and 29-33). */
static void prevote_proposal(struct cons *c, const struct cons_proposal *p, bool acceptable,
                             struct cons_outputs *out)
{
	vote(c, VOTE_PREVOTE, acceptable ? p->block_hash : nil_hash, out);
	c->step = CONS_STEP_PREVOTE;
}

/* Lines 22-27. */
static bool rule_proposal(struct cons *c, struct cons_outputs *out)
{
	bool valid;
	const struct cons_proposal *p = proposal_of(c, c->round, &valid);
	if (!p || c->step != CONS_STEP_PROPOSE || p->pol_round != CONS_ROUND_NONE)
		return false;
	bool free = c->locked_round == CONS_ROUND_NONE ||
	            !memcmp(c->locked_value, p->block_hash, BLOCK_HASH_LEN);
	prevote_proposal(c, p, valid && free, out);
	return true;
}

/* Lines 28-33: a proposal re-proposing the polka value of round vr. */
static bool rule_pol_proposal(struct cons *c, struct cons_outputs *out)
{
	bool valid;
	const struct cons_proposal *p = proposal_of(c, c->round, &valid);
	if (!p || c->step != CONS_STEP_PROPOSE || p->pol_round == CONS_ROUND_NONE)
		return false;
	uint32_t vr = (uint32_t)p->pol_round;
	assert(vr < c->round);
	if (!quorum(c, cons_votes_power(c, vr, VOTE_PREVOTE, p->block_hash)))
		return false;
	bool free = c->locked_round <= p->pol_round ||
	            !memcmp(c->locked_value, p->block_hash, BLOCK_HASH_LEN);
	prevote_proposal(c, p, valid && free, out);
	return true;
}

/* Lines 34-35. */
static bool rule_prevote_any(struct cons *c, struct cons_outputs *out)
{
	if (c->step != CONS_STEP_PREVOTE || c->prevote_timeout_done ||
	    !quorum(c, cons_votes_power(c, c->round, VOTE_PREVOTE, NULL)))
		return false;
	c->prevote_timeout_done = true;
	schedule(c, CONS_TIMEOUT_PREVOTE, out);
	return true;
}

/* Lines 36-43: lock and precommit in the prevote step; the valid value is updated also when
 * already in the precommit step. */
static bool rule_polka_value(struct cons *c, struct cons_outputs *out)
{
	bool valid;
	const struct cons_proposal *p = proposal_of(c, c->round, &valid);
	if (!p || !valid || c->polka_value_done || c->step < CONS_STEP_PREVOTE ||
	    !quorum(c, cons_votes_power(c, c->round, VOTE_PREVOTE, p->block_hash)))
		return false;
	c->polka_value_done = true;
	if (c->step == CONS_STEP_PREVOTE) {
		memcpy(c->locked_value, p->block_hash, BLOCK_HASH_LEN);
		c->locked_round = (int32_t)c->round;
		vote(c, VOTE_PRECOMMIT, p->block_hash, out);
		c->step = CONS_STEP_PRECOMMIT;
	}
	memcpy(c->valid_value, p->block_hash, BLOCK_HASH_LEN);
	c->valid_round = (int32_t)c->round;
	return true;
}

/* Lines 44-46. */
static bool rule_polka_nil(struct cons *c, struct cons_outputs *out)
{
	if (c->step != CONS_STEP_PREVOTE ||
	    !quorum(c, cons_votes_power(c, c->round, VOTE_PREVOTE, nil_hash)))
		return false;
	vote(c, VOTE_PRECOMMIT, nil_hash, out);
	c->step = CONS_STEP_PRECOMMIT;
	return true;
}

/* Lines 47-48. */
static bool rule_precommit_any(struct cons *c, struct cons_outputs *out)
{
	if (c->precommit_timeout_done ||
	    !quorum(c, cons_votes_power(c, c->round, VOTE_PRECOMMIT, NULL)))
		return false;
	c->precommit_timeout_done = true;
	schedule(c, CONS_TIMEOUT_PRECOMMIT, out);
	return true;
}

typedef bool (*cons_rule)(struct cons *c, struct cons_outputs *out);

static const cons_rule rules[] = {
    rule_decide,      rule_skip,        rule_proposal,  rule_pol_proposal,
    rule_prevote_any, rule_polka_value, rule_polka_nil, rule_precommit_any,
};

static void run_rules(struct cons *c, struct cons_outputs *out)
{
	const size_t n = sizeof(rules) / sizeof(rules[0]);
	size_t i = 0;
	while (c->step != CONS_STEP_DECIDED && i < n)
		i = rules[i](c, out) ? 0 : i + 1;
}

/* ---- Inputs -------------------------------------------------------------------------------- */

struct cons *cons_new(const struct cons_timeouts *t)
{
	struct cons *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	/* Anonymous pages are zero and only become resident when touched, so the worst-case
	 * bound costs nothing until a height really uses many rounds (calloc would clear it all
	 * whenever the allocator reuses memory). */
	void *rounds =
	    mmap(NULL, ROUNDS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rounds == MAP_FAILED) {
		free(c);
		return NULL;
	}
	c->rounds = rounds;
	c->t = *t;
	return c;
}

void cons_free(struct cons *c)
{
	if (!c)
		return;
	munmap(c->rounds, ROUNDS_BYTES);
	free(c);
}

void cons_start_height(struct cons *c, uint64_t height, const struct cons_valset *cv, int my_index,
                       struct cons_outputs *out)
{
	assert(!c->started || height > c->height);
	assert(valset_check(&cv->set) == BLOCK_OK && cv->proposer < cv->set.n);
	assert(my_index >= -1 && my_index < (int)cv->set.n);
	out->n = 0;
	cons_votes_reset(c);
	c->started = true;
	c->height = height;
	c->my_index = my_index;
	c->cv = *cv;
	uint64_t total = valset_total_power(&cv->set);
	c->quorum_floor = 2 * total / 3;
	c->skip_floor = total / 3;
	c->locked_round = c->valid_round = CONS_ROUND_NONE;
	memset(c->locked_value, 0, BLOCK_HASH_LEN);
	memset(c->valid_value, 0, BLOCK_HASH_LEN);
	c->decided = false;
	memset(c->decision, 0, BLOCK_HASH_LEN);
	c->last_voted[0] = c->last_voted[1] = -1;
	cons_proposers_reset(c);
	start_round(c, 0, out);
	run_rules(c, out);
}

/* Common admission: height and round window. */
static enum cons_result admit(const struct cons *c, uint64_t height, uint32_t round)
{
	assert(c->started);
	if (height < c->height)
		return CONS_OLD;
	if (height > c->height || round >= CONS_MAX_ROUNDS ||
	    (uint64_t)round > (uint64_t)c->round + CONS_FUTURE_ROUNDS)
		return CONS_FUTURE;
	return CONS_OK;
}

enum cons_result cons_on_value(struct cons *c, uint64_t height, uint32_t round,
                               const uint8_t block_hash[BLOCK_HASH_LEN], struct cons_outputs *out)
{
	assert(!is_nil(block_hash));
	out->n = 0;
	enum cons_result r = admit(c, height, round);
	if (r != CONS_OK)
		return r;
	if (c->decided)
		return CONS_DECIDED;
	if (c->proposed && round == c->round)
		return CONS_DUPLICATE;
	if (!c->awaiting_value || round != c->round || c->step != CONS_STEP_PROPOSE)
		return CONS_OLD;
	c->awaiting_value = false;
	propose(c, block_hash, CONS_ROUND_NONE, out);
	return CONS_OK;
}

static bool same_proposal(const struct cons_proposal *a, const struct cons_proposal *b)
{
	return a->height == b->height && a->round == b->round && a->pol_round == b->pol_round &&
	       a->proposer == b->proposer && !memcmp(a->block_hash, b->block_hash, BLOCK_HASH_LEN);
}

enum cons_result cons_on_proposal(struct cons *c, const struct cons_proposal *p, bool valid,
                                  struct cons_outputs *out)
{
	assert(p->pol_round >= CONS_ROUND_NONE && (int64_t)p->pol_round < (int64_t)p->round);
	out->n = 0;
	enum cons_result r = admit(c, p->height, p->round);
	if (r != CONS_OK)
		return r;
	if (c->decided)
		return CONS_DECIDED;
	if (p->proposer >= c->cv.set.n)
		return CONS_BAD_INDEX;
	if (cons_round_proposer(c, p->round) != p->proposer)
		return CONS_NOT_PROPOSER;
	struct cons_round *slot = &c->rounds[p->round];
	if (slot->has_proposal)
		return same_proposal(&slot->proposal, p) ? CONS_DUPLICATE
		                                         : CONS_CONFLICTING_PROPOSAL;
	slot->has_proposal = true;
	slot->proposal_valid = valid;
	slot->proposal = *p;
	if (p->round > c->max_round)
		c->max_round = p->round;
	run_rules(c, out);
	return CONS_OK;
}

enum cons_result cons_on_vote(struct cons *c, const struct cons_vote *v, struct cons_outputs *out)
{
	assert(v->type == VOTE_PREVOTE || v->type == VOTE_PRECOMMIT);
	out->n = 0;
	enum cons_result r = admit(c, v->height, v->round);
	if (r != CONS_OK)
		return r;
	if (v->validator >= c->cv.set.n)
		return CONS_BAD_INDEX;
	r = cons_votes_add(c, v, out);
	/* Votes after the decision are still kept: late precommits enrich the commit. */
	if (r == CONS_OK)
		run_rules(c, out);
	return r;
}

/* Lines 57-66. Each returns false when the timeout is stale. */
static bool timeout_propose(struct cons *c, struct cons_outputs *out)
{
	if (c->step != CONS_STEP_PROPOSE)
		return false;
	vote(c, VOTE_PREVOTE, nil_hash, out);
	c->step = CONS_STEP_PREVOTE;
	return true;
}

static bool timeout_prevote(struct cons *c, struct cons_outputs *out)
{
	if (c->step != CONS_STEP_PREVOTE)
		return false;
	vote(c, VOTE_PRECOMMIT, nil_hash, out);
	c->step = CONS_STEP_PRECOMMIT;
	return true;
}

static bool timeout_precommit(struct cons *c, struct cons_outputs *out)
{
	if (c->round + 1 >= CONS_MAX_ROUNDS)
		return false;
	start_round(c, c->round + 1, out);
	return true;
}

enum cons_result cons_on_timeout(struct cons *c, enum cons_timeout kind, uint64_t height,
                                 uint32_t round, struct cons_outputs *out)
{
	static bool (*const handlers[])(struct cons *, struct cons_outputs *) = {
	    [CONS_TIMEOUT_PROPOSE] = timeout_propose,
	    [CONS_TIMEOUT_PREVOTE] = timeout_prevote,
	    [CONS_TIMEOUT_PRECOMMIT] = timeout_precommit,
	};
	assert(c->started && (unsigned)kind < sizeof(handlers) / sizeof(handlers[0]));
	out->n = 0;
	if (height == c->height && c->decided)
		return CONS_DECIDED;
	if (height != c->height || round != c->round || !handlers[kind](c, out))
		return CONS_OLD;
	run_rules(c, out);
	return CONS_OK;
}

void cons_status(const struct cons *c, struct cons_status *out)
{
	memset(out, 0, sizeof(*out));
	out->height = c->height;
	out->round = c->round;
	out->step = c->step;
	out->locked_round = c->locked_round;
	out->valid_round = c->valid_round;
	memcpy(out->locked_value, c->locked_value, BLOCK_HASH_LEN);
	memcpy(out->valid_value, c->valid_value, BLOCK_HASH_LEN);
	out->decided = c->decided;
	memcpy(out->decision, c->decision, BLOCK_HASH_LEN);
}
