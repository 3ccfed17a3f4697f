/*
 * The vote keeper: per (round, type) at most one counted vote per validator, power tallies for
 * the thresholds of Algorithm 1, and duplicate-vote evidence (research/consensus.md §1.3.2,
 * §1.3.7). Tallies are recomputed by scanning at most VALSET_MAX slots: cheaper than keeping
 * per-value counters consistent, and n is small.
 */
#include <assert.h>
#include <string.h>

#include "consensus/cons_int.h"

struct cons_output *cons_push(struct cons_outputs *out, enum cons_output_kind kind, uint64_t height,
                              uint32_t round)
{
	assert(out->n < CONS_MAX_OUTPUTS);
	struct cons_output *o = &out->o[out->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->height = height;
	o->round = round;
	return o;
}

void cons_votes_reset(struct cons *c)
{
	memset(c->rounds, 0, (size_t)(c->max_round + 1) * sizeof(c->rounds[0]));
	c->max_round = 0;
}

static struct cons_slot *slot(struct cons *c, uint32_t round, uint8_t type, uint16_t validator)
{
	assert(type == VOTE_PREVOTE || type == VOTE_PRECOMMIT);
	return &c->rounds[round].votes[type - VOTE_PREVOTE][validator];
}

/* Field by field, so the destination's padding stays as the caller left it (outputs are zeroed
 * by cons_push and may be hashed or compared as bytes). */
static void vote_set(struct cons_vote *v, uint8_t type, uint64_t height, uint32_t round,
                     const uint8_t hash[BLOCK_HASH_LEN], uint16_t validator, const uint8_t sig[64])
{
	v->type = type;
	v->height = height;
	v->round = round;
	memcpy(v->block_hash, hash, BLOCK_HASH_LEN);
	v->validator = validator;
	memcpy(v->sig, sig, sizeof(v->sig));
}

static void slot_to_vote(struct cons_vote *v, const struct cons *c, uint32_t round, uint8_t type,
                         uint16_t validator, const struct cons_slot *s, uint8_t k)
{
	vote_set(v, type, c->height, round, s->block_hash[k], validator, s->sig[k]);
}

/* Index of the held vote for hash, or -1. */
static int held(const struct cons_slot *s, const uint8_t hash[BLOCK_HASH_LEN])
{
	for (uint8_t k = 0; k < s->n; k++)
		if (!memcmp(s->block_hash[k], hash, BLOCK_HASH_LEN))
			return k;
	return -1;
}

/* Evidence: the first vote and the new one, ordered by block hash. */
static void report(struct cons *c, const struct cons_vote *v, const struct cons_slot *s,
                   struct cons_outputs *out)
{
	struct cons_output *o = cons_push(out, CONS_OUT_EVIDENCE, c->height, v->round);
	bool first_low = memcmp(s->block_hash[0], v->block_hash, BLOCK_HASH_LEN) < 0;
	struct cons_vote *first = first_low ? &o->u.evidence.a : &o->u.evidence.b;
	struct cons_vote *fresh = first_low ? &o->u.evidence.b : &o->u.evidence.a;
	slot_to_vote(first, c, v->round, v->type, v->validator, s, 0);
	vote_set(fresh, v->type, v->height, v->round, v->block_hash, v->validator, v->sig);
}

enum cons_result cons_votes_add(struct cons *c, const struct cons_vote *v, struct cons_outputs *out)
{
	struct cons_slot *s = slot(c, v->round, v->type, v->validator);
	if (held(s, v->block_hash) >= 0)
		return CONS_DUPLICATE;
	if (s->n == 2)
		return CONS_EQUIVOCATION;
	if (s->n == 1)
		report(c, v, s, out);
	memcpy(s->block_hash[s->n], v->block_hash, BLOCK_HASH_LEN);
	memcpy(s->sig[s->n], v->sig, sizeof(s->sig[0]));
	s->n++;
	if (v->round > c->max_round)
		c->max_round = v->round;
	return CONS_OK;
}

uint64_t cons_votes_power(const struct cons *c, uint32_t round, uint8_t type,
                          const uint8_t *block_hash)
{
	assert(type == VOTE_PREVOTE || type == VOTE_PRECOMMIT);
	const struct cons_slot *s = c->rounds[round].votes[type - VOTE_PREVOTE];
	uint64_t power = 0;
	for (size_t i = 0; i < c->cv.set.n; i++)
		if (s[i].n && (!block_hash || held(&s[i], block_hash) >= 0))
			power += c->cv.set.v[i].power;
	return power;
}

uint64_t cons_round_senders(const struct cons *c, uint32_t round)
{
	const struct cons_round *r = &c->rounds[round];
	uint64_t power = 0;
	for (size_t i = 0; i < c->cv.set.n; i++) {
		bool sent = r->votes[0][i].n || r->votes[1][i].n ||
		            (r->has_proposal && r->proposal.proposer == i);
		if (sent)
			power += c->cv.set.v[i].power;
	}
	return power;
}

bool cons_build_commit(const struct cons *c, uint32_t round,
                       const uint8_t block_hash[BLOCK_HASH_LEN], struct commit *commit)
{
	assert(c->started);
	commit_init(commit, c->height, round, block_hash, c->cv.set.n);
	if (round > c->max_round)
		return false;
	const struct cons_slot *s = c->rounds[round].votes[VOTE_PRECOMMIT - VOTE_PREVOTE];
	for (size_t i = 0; i < c->cv.set.n; i++) {
		int k = held(&s[i], block_hash);
		if (k < 0)
			continue;
		commit->sigs[i].flag = COMMIT_SIGNED;
		memcpy(commit->sigs[i].sig, s[i].sig[k], 64);
	}
	return cons_votes_power(c, round, VOTE_PRECOMMIT, block_hash) > c->quorum_floor;
}

size_t cons_votes_of(const struct cons *c, uint32_t round, uint8_t type, struct cons_vote *out,
                     size_t max)
{
	assert(c->started && (type == VOTE_PREVOTE || type == VOTE_PRECOMMIT));
	if (round > c->max_round)
		return 0;
	size_t n = 0;
	const struct cons_slot *s = c->rounds[round].votes[type - VOTE_PREVOTE];
	for (uint16_t i = 0; i < c->cv.set.n; i++)
		for (uint8_t k = 0; k < s[i].n && n < max; k++)
			slot_to_vote(&out[n++], c, round, type, i, &s[i], k);
	return n;
}
