/* One case per rule of Algorithm 1 (research/consensus.md §1.3.3; line numbers are the paper's),
 * driving the machine with votes from validators 0..3 of a 4-validator set (and a set with
 * powers 1,1,1,10 for the power thresholds). The machine under test is validator ME unless a
 * case says otherwise; its own votes are not fed back, so quorums come from the others. */
#include "check.h"

#include "consensus/cons.h"

#define ME  3
#define NIL 0x00
#define V   0xa1
#define W   0xb2

static const struct cons_timeouts tmo = {100, 10, 50, 5, 60, 6};

struct fx {
	struct cons *c;
	struct cons_valset cv;
	uint64_t h;
	size_t nlog; /* every output since the last fx_clear */
	struct cons_output log[256];
	enum cons_result r; /* result of the last input */
};

static void hash_of(uint8_t h[BLOCK_HASH_LEN], uint8_t k)
{
	memset(h, k, BLOCK_HASH_LEN);
}

static void fx_log(struct fx *f, const struct cons_outputs *out)
{
	for (size_t i = 0; i < out->n && f->nlog < 256; i++)
		f->log[f->nlog++] = out->o[i];
}

static void fx_clear(struct fx *f)
{
	f->nlog = 0;
}

static void fx_start_powers(struct fx *f, const uint64_t *powers, size_t n, int me)
{
	static struct valset vs;
	memset(&vs, 0, sizeof(vs));
	vs.n = n;
	for (size_t i = 0; i < n; i++) {
		memset(vs.v[i].pub_key, (int)(i + 1), 32);
		vs.v[i].power = powers[i];
	}
	cons_valset_init(&f->cv, &vs);
	f->c = cons_new(&tmo);
	f->h = 7;
	f->nlog = 0;
	struct cons_outputs out;
	cons_start_height(f->c, f->h, &f->cv, me, &out);
	fx_log(f, &out);
}

static void fx_start(struct fx *f, int me)
{
	static const uint64_t ones[] = {1, 1, 1, 1};
	fx_start_powers(f, ones, 4, me);
}

static void fx_end(struct fx *f)
{
	cons_free(f->c);
}

static enum cons_result fx_vote(struct fx *f, uint8_t type, uint32_t round, uint16_t who, uint8_t k)
{
	struct cons_vote v = {.type = type, .height = f->h, .round = round, .validator = who};
	hash_of(v.block_hash, k);
	memset(v.sig, who + 1, sizeof(v.sig));
	struct cons_outputs out;
	f->r = cons_on_vote(f->c, &v, &out);
	fx_log(f, &out);
	return f->r;
}

/* Votes of `type` for k from each validator in the bit mask. */
static void fx_votes(struct fx *f, uint8_t type, uint32_t round, unsigned mask, uint8_t k)
{
	for (uint16_t i = 0; i < 16; i++)
		if (mask & (1u << i))
			fx_vote(f, type, round, i, k);
}

static enum cons_result fx_propose_from(struct fx *f, uint32_t round, int32_t pol, uint8_t k,
                                        bool valid, uint16_t from)
{
	struct cons_proposal p = {.height = f->h, .round = round, .pol_round = pol};
	p.proposer = from;
	hash_of(p.block_hash, k);
	struct cons_outputs out;
	f->r = cons_on_proposal(f->c, &p, valid, &out);
	fx_log(f, &out);
	return f->r;
}

static enum cons_result fx_propose(struct fx *f, uint32_t round, int32_t pol, uint8_t k, bool valid)
{
	return fx_propose_from(f, round, pol, k, valid, (uint16_t)cons_proposer(&f->cv, round));
}

static enum cons_result fx_timeout(struct fx *f, enum cons_timeout kind, uint32_t round)
{
	struct cons_outputs out;
	f->r = cons_on_timeout(f->c, kind, f->h, round, &out);
	fx_log(f, &out);
	return f->r;
}

static size_t count_kind(const struct fx *f, enum cons_output_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nlog; i++)
		n += f->log[i].kind == kind;
	return n;
}

/* Number of our votes of `type` in `round` for k in the log. */
static size_t count_vote(const struct fx *f, uint8_t type, uint32_t round, uint8_t k)
{
	uint8_t h[BLOCK_HASH_LEN];
	hash_of(h, k);
	size_t n = 0;
	for (size_t i = 0; i < f->nlog; i++) {
		const struct cons_output *o = &f->log[i];
		n += o->kind == CONS_OUT_VOTE && o->u.vote.type == type &&
		     o->u.vote.round == round && o->u.vote.height == f->h &&
		     !memcmp(o->u.vote.block_hash, h, BLOCK_HASH_LEN);
	}
	return n;
}

static size_t count_timeout(const struct fx *f, enum cons_timeout kind, uint32_t round)
{
	size_t n = 0;
	for (size_t i = 0; i < f->nlog; i++) {
		const struct cons_output *o = &f->log[i];
		n += o->kind == CONS_OUT_SCHEDULE_TIMEOUT && o->u.timeout.kind == kind &&
		     o->round == round;
	}
	return n;
}

static struct cons_status st(const struct fx *f)
{
	struct cons_status s;
	cons_status(f->c, &s);
	return s;
}

static bool value_is(const uint8_t h[BLOCK_HASH_LEN], uint8_t k)
{
	uint8_t e[BLOCK_HASH_LEN];
	hash_of(e, k);
	return memcmp(h, e, BLOCK_HASH_LEN) == 0;
}

/* Round r's proposal of V, a polka for V from 0,1,2: we lock V in round r. */
static void fx_lock(struct fx *f, uint32_t round, uint8_t k)
{
	fx_propose(f, round, CONS_ROUND_NONE, k, true);
	fx_votes(f, VOTE_PREVOTE, round, 0x7, k);
}

/* From any step of round r to round r+1 through 2f+1 precommits for nil and the timeout. */
static void fx_next_round(struct fx *f, uint32_t round)
{
	fx_votes(f, VOTE_PRECOMMIT, round, 0x7, NIL);
	fx_timeout(f, CONS_TIMEOUT_PRECOMMIT, round);
}

/* ---- Lines 11-21 ---------------------------------------------------------------------- */

static void start_round_non_proposer(void)
{
	struct fx f;
	fx_start(&f, ME);
	CHECK(cons_proposer(&f.cv, 0) != ME);
	CHECK(f.nlog == 1 && f.log[0].kind == CONS_OUT_SCHEDULE_TIMEOUT);
	CHECK(f.log[0].u.timeout.kind == CONS_TIMEOUT_PROPOSE &&
	      f.log[0].u.timeout.delay_ms == 100);
	CHECK(f.log[0].height == 7 && f.log[0].round == 0);
	struct cons_status s = st(&f);
	CHECK(s.height == 7 && s.round == 0 && s.step == CONS_STEP_PROPOSE && !s.decided);
	CHECK(s.locked_round == CONS_ROUND_NONE && s.valid_round == CONS_ROUND_NONE);
	/* A value we did not ask for is not proposed. */
	uint8_t v[BLOCK_HASH_LEN];
	hash_of(v, V);
	struct cons_outputs out;
	CHECK(cons_on_value(f.c, 7, 0, v, &out) == CONS_OLD && out.n == 0);
	fx_end(&f);
}

static void start_round_proposer(void)
{
	struct fx f;
	fx_start(&f, 0);
	CHECK(cons_proposer(&f.cv, 0) == 0);
	CHECK(count_kind(&f, CONS_OUT_GET_VALUE) == 1 && f.log[0].kind == CONS_OUT_GET_VALUE);
	CHECK(count_kind(&f, CONS_OUT_PROPOSE) == 0);
	uint8_t v[BLOCK_HASH_LEN];
	hash_of(v, V);
	struct cons_outputs out;
	CHECK(cons_on_value(f.c, 7, 0, v, &out) == CONS_OK && out.n == 1);
	const struct cons_proposal *p = &out.o[0].u.proposal;
	CHECK(out.o[0].kind == CONS_OUT_PROPOSE && p->height == 7 && p->round == 0);
	CHECK(p->pol_round == CONS_ROUND_NONE && p->proposer == 0 && value_is(p->block_hash, V));
	CHECK(cons_on_value(f.c, 7, 0, v, &out) == CONS_DUPLICATE && out.n == 0);
	/* Our own proposal fed back: we prevote it. */
	fx_clear(&f);
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, V, true) == CONS_OK);
	CHECK(count_vote(&f, VOTE_PREVOTE, 0, V) == 1 && f.log[0].u.vote.validator == 0);
	fx_end(&f);
}

/* ---- Line 22 ---------------------------------------------------------------------------- */

static void line22_valid_prevotes_value(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, V, true) == CONS_OK);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 0, V) == 1);
	CHECK(f.log[0].u.vote.validator == ME);
	CHECK(st(&f).step == CONS_STEP_PREVOTE);
	fx_end(&f);
}

static void line22_invalid_prevotes_nil(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, V, false) == CONS_OK);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 0, NIL) == 1);
	CHECK(st(&f).step == CONS_STEP_PREVOTE);
	fx_end(&f);
}

static void line22_locked_prevotes_nil_for_other_value(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_lock(&f, 0, V);
	CHECK(st(&f).locked_round == 0 && value_is(st(&f).locked_value, V));
	fx_next_round(&f, 0);
	CHECK(st(&f).round == 1 && st(&f).step == CONS_STEP_PROPOSE);
	fx_clear(&f);
	fx_propose(&f, 1, CONS_ROUND_NONE, W, true);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 1, NIL) == 1);
	/* Still locked on V: the next proposal of V itself gets our prevote. */
	fx_next_round(&f, 1);
	fx_clear(&f);
	fx_propose(&f, 2, CONS_ROUND_NONE, V, true);
	CHECK(count_vote(&f, VOTE_PREVOTE, 2, V) == 1);
	CHECK(st(&f).locked_round == 0);
	fx_end(&f);
}

/* ---- Line 28 ---------------------------------------------------------------------------- */

/* Locked on V in round 0; a polka for W forms in round 1 without the proposal reaching us. */
static void fx_polka_w_round1(struct fx *f)
{
	fx_lock(f, 0, V);
	fx_next_round(f, 0);
	fx_timeout(f, CONS_TIMEOUT_PROPOSE, 1);
	fx_votes(f, VOTE_PREVOTE, 1, 0x7, W);
	fx_timeout(f, CONS_TIMEOUT_PREVOTE, 1);
	CHECK(st(f).locked_round == 0 && st(f).step == CONS_STEP_PRECOMMIT);
	fx_next_round(f, 1);
	CHECK(st(f).round == 2);
}

static void line28_relock_on_newer_polka(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_polka_w_round1(&f);
	fx_clear(&f);
	fx_propose(&f, 2, 1, W, true); /* lockedRound 0 <= vr 1, value differs */
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 2, W) == 1);
	fx_end(&f);
}

static void line28_locked_round_equal_vr(void)
{
	/* lockedRound == vr with the locked value: prevote it. */
	struct fx f;
	fx_start(&f, ME);
	fx_lock(&f, 0, V);
	fx_next_round(&f, 0);
	fx_clear(&f);
	fx_propose(&f, 1, 0, V, true);
	CHECK(count_vote(&f, VOTE_PREVOTE, 1, V) == 1);
	fx_end(&f);
}

static void line28_older_polka_than_lock_prevotes_nil(void)
{
	/* Polka for W in round 0 (not seen as a proposal), lock on V in round 1, then round 2
	 * re-proposes W with vr 0: lockedRound 1 > 0 and V != W, so nil. */
	struct fx f;
	fx_start(&f, ME);
	fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, W);
	fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0);
	fx_next_round(&f, 0);
	fx_lock(&f, 1, V);
	CHECK(st(&f).locked_round == 1);
	fx_next_round(&f, 1);
	fx_clear(&f);
	fx_propose(&f, 2, 0, W, true);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 2, NIL) == 1);
	fx_end(&f);
}

static void line28_waits_for_polka_and_checks_valid(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0);
	fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0); /* precommit nil */
	fx_next_round(&f, 0);
	fx_clear(&f);
	fx_propose(&f, 1, 0, W, true); /* no polka for W in round 0 yet: nothing */
	CHECK(f.nlog == 0 && st(&f).step == CONS_STEP_PROPOSE);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x3, W);
	CHECK(f.nlog == 0);
	fx_vote(&f, VOTE_PREVOTE, 0, 2, W); /* the polka completes: prevote W in round 1 */
	CHECK(count_vote(&f, VOTE_PREVOTE, 1, W) == 1 && st(&f).step == CONS_STEP_PREVOTE);
	fx_end(&f);

	fx_start(&f, ME); /* same, but valid(v) is false */
	fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, W);
	fx_next_round(&f, 0);
	fx_clear(&f);
	fx_propose(&f, 1, 0, W, false);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 1, NIL) == 1);
	fx_end(&f);
}

/* ---- Lines 34, 44, 47 ------------------------------------------------------------------- */

static void line34_prevote_timeout_once(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_clear(&f);
	fx_vote(&f, VOTE_PREVOTE, 0, 0, W);
	fx_vote(&f, VOTE_PREVOTE, 0, 1, NIL);
	CHECK(f.nlog == 0);
	fx_vote(&f, VOTE_PREVOTE, 0, 2, V); /* 2f+1 of anything, no value has a quorum */
	CHECK(f.nlog == 1 && count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1);
	CHECK(f.log[0].u.timeout.delay_ms == 50);
	fx_vote(&f, VOTE_PREVOTE, 0, 3, V);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1);
	CHECK(st(&f).step == CONS_STEP_PREVOTE);
	fx_end(&f);
}

static void line34_not_in_propose_step(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	fx_vote(&f, VOTE_PREVOTE, 0, 0, W);
	fx_vote(&f, VOTE_PREVOTE, 0, 1, NIL);
	fx_vote(&f, VOTE_PREVOTE, 0, 2, V);
	CHECK(f.nlog == 0); /* step is propose: rule 34 needs prevote */
	fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0);
	CHECK(count_vote(&f, VOTE_PREVOTE, 0, NIL) == 1);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1); /* fires on entering prevote */
	fx_end(&f);
}

static void line44_nil_polka_precommits_nil(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_clear(&f);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, NIL);
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, NIL) == 1);
	CHECK(st(&f).step == CONS_STEP_PRECOMMIT && st(&f).locked_round == CONS_ROUND_NONE);
	fx_end(&f);
}

static void line47_precommit_timeout_once(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 0, V);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 1, NIL);
	CHECK(f.nlog == 0);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 2, W); /* any step, even propose */
	CHECK(f.nlog == 1 && count_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 0) == 1);
	CHECK(f.log[0].u.timeout.delay_ms == 60);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 3, W);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 0) == 1);
	CHECK(st(&f).step == CONS_STEP_PROPOSE && st(&f).round == 0);
	fx_end(&f);
}

/* ---- Line 36 ---------------------------------------------------------------------------- */

static void line36_lock_and_precommit(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_clear(&f);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x3, V);
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0);
	fx_vote(&f, VOTE_PREVOTE, 0, 2, V);
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, V) == 1);
	struct cons_status s = st(&f);
	CHECK(s.step == CONS_STEP_PRECOMMIT && s.locked_round == 0 && value_is(s.locked_value, V));
	CHECK(s.valid_round == 0 && value_is(s.valid_value, V));
	fx_vote(&f, VOTE_PREVOTE, 0, 3, V); /* once only */
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, V) == 1);
	fx_end(&f);
}

static void line36_polka_before_proposal(void)
{
	/* The polka arrives in the propose step, then the proposal: prevote, then lock. */
	struct fx f;
	fx_start(&f, ME);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, V);
	fx_clear(&f);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	CHECK(count_vote(&f, VOTE_PREVOTE, 0, V) == 1 && count_vote(&f, VOTE_PRECOMMIT, 0, V) == 1);
	CHECK(st(&f).locked_round == 0);
	fx_end(&f);
}

static void line36_valid_value_updated_in_precommit_step(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x3, V);
	fx_vote(&f, VOTE_PREVOTE, 0, 2, NIL);
	fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0); /* precommit nil */
	CHECK(st(&f).step == CONS_STEP_PRECOMMIT);
	fx_clear(&f);
	fx_vote(&f, VOTE_PREVOTE, 0, 3, V); /* now 0,1,3 prevoted V: a polka, seen late */
	struct cons_status s = st(&f);
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0); /* no second precommit */
	CHECK(s.locked_round == CONS_ROUND_NONE);  /* no lock outside the prevote step */
	CHECK(s.valid_round == 0 && value_is(s.valid_value, V));
	fx_end(&f);
}

static void line36_invalid_value_not_locked(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, false);
	fx_clear(&f);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, V);
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0);
	CHECK(st(&f).locked_round == CONS_ROUND_NONE && st(&f).valid_round == CONS_ROUND_NONE);
	fx_end(&f);
}

/* ---- Line 49 ---------------------------------------------------------------------------- */

static void line49_decide_current_round(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_lock(&f, 0, V);
	fx_clear(&f);
	fx_votes(&f, VOTE_PRECOMMIT, 0, 0x3, V);
	CHECK(count_kind(&f, CONS_OUT_DECIDE) == 0);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 2, V);
	CHECK(count_kind(&f, CONS_OUT_DECIDE) == 1);
	const struct cons_output *d = &f.log[f.nlog - 1];
	CHECK(d->kind == CONS_OUT_DECIDE && d->round == 0 && value_is(d->u.block_hash, V));
	struct cons_status s = st(&f);
	CHECK(s.decided && s.step == CONS_STEP_DECIDED && value_is(s.decision, V));
	/* Decided: nothing else moves; a late precommit is kept for the commit. */
	fx_clear(&f);
	CHECK(fx_vote(&f, VOTE_PRECOMMIT, 0, 3, V) == CONS_OK && f.nlog == 0);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 0) == CONS_DECIDED && f.nlog == 0);
	CHECK(fx_propose(&f, 1, CONS_ROUND_NONE, W, true) == CONS_DECIDED);
	struct commit cm;
	uint8_t v[BLOCK_HASH_LEN];
	hash_of(v, V);
	CHECK(cons_build_commit(f.c, 0, v, &cm));
	CHECK(cm.height == 7 && cm.round == 0 && cm.n == 4);
	for (size_t i = 0; i < 4; i++)
		CHECK(cm.sigs[i].flag == COMMIT_SIGNED && cm.sigs[i].sig[0] == i + 1);
	fx_end(&f);
}

static void line49_decide_old_round(void)
{
	/* We moved on to round 2; precommits of round 0 for its proposal still decide. */
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0); /* precommit nil */
	fx_votes(&f, VOTE_PRECOMMIT, 0, 0x1, V);
	fx_votes(&f, VOTE_PRECOMMIT, 1, 0x3, NIL); /* f+1 in round 1: skip */
	CHECK(st(&f).round == 1);
	fx_votes(&f, VOTE_PRECOMMIT, 2, 0x3, NIL);
	CHECK(st(&f).round == 2 && !st(&f).decided);
	fx_clear(&f);
	fx_votes(&f, VOTE_PRECOMMIT, 0, 0x6, V);
	CHECK(count_kind(&f, CONS_OUT_DECIDE) == 1 && st(&f).decided);
	CHECK(f.log[f.nlog - 1].round == 0 && value_is(st(&f).decision, V));
	fx_end(&f);
}

static void line49_decide_needs_proposal_and_valid(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_votes(&f, VOTE_PRECOMMIT, 0, 0x7, V);
	CHECK(!st(&f).decided); /* no proposal yet */
	fx_propose(&f, 0, CONS_ROUND_NONE, V, false);
	CHECK(!st(&f).decided); /* the proposal is not valid */
	fx_end(&f);

	fx_start(&f, ME);
	fx_votes(&f, VOTE_PRECOMMIT, 1, 0x7, V); /* a future round's commit, then its proposal */
	fx_clear(&f);
	fx_propose(&f, 1, CONS_ROUND_NONE, V, true);
	CHECK(st(&f).decided && count_kind(&f, CONS_OUT_DECIDE) == 1);
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0); /* decision wins over voting */
	fx_end(&f);
}

/* ---- Line 55 ---------------------------------------------------------------------------- */

static void line55_round_skip(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	fx_vote(&f, VOTE_PREVOTE, 3, 0, W);
	CHECK(st(&f).round == 0 && f.nlog == 0); /* one sender of 4: not f+1 */
	fx_vote(&f, VOTE_PRECOMMIT, 3, 1, NIL);  /* second distinct sender, other type */
	CHECK(st(&f).round == 3 && st(&f).step == CONS_STEP_PROPOSE);
	/* Round 3's proposer is us: we ask for a value. */
	CHECK(cons_proposer(&f.cv, 3) == ME && count_kind(&f, CONS_OUT_GET_VALUE) == 1);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PROPOSE, 3) == 1);
	CHECK(f.log[f.nlog - 1].u.timeout.delay_ms == 100 + 3 * 10);
	fx_end(&f);
}

static void line55_same_sender_twice_is_not_f_plus_1(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_vote(&f, VOTE_PREVOTE, 2, 0, W);
	fx_vote(&f, VOTE_PRECOMMIT, 2, 0, W);
	CHECK(st(&f).round == 0);
	/* A proposal counts as a message from its sender. */
	fx_propose(&f, 2, CONS_ROUND_NONE, V, true);
	CHECK(cons_proposer(&f.cv, 2) == 2 && st(&f).round == 2);
	CHECK(count_vote(&f, VOTE_PREVOTE, 2, V) == 1); /* and it is then prevoted */
	fx_end(&f);
}

static void power_thresholds(void)
{
	/* Powers 1,1,1,10: total 13, quorum is power > floor(26/3) = 8, f+1 is > 4. */
	static const uint64_t p[] = {1, 1, 1, 10};
	struct fx f;
	fx_start_powers(&f, p, 4, 0);
	uint16_t prop = (uint16_t)cons_proposer(&f.cv, 0);
	CHECK(prop == 3);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_clear(&f);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x7, V); /* power 3 of 13 */
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0 && count_kind(&f, CONS_OUT_SCHEDULE_TIMEOUT) == 0);
	fx_vote(&f, VOTE_PREVOTE, 0, 3, NIL); /* 13 in all, but V has 3, nil 10 */
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1);
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, NIL) == 1); /* nil polka: 10 > 8 */
	fx_end(&f);

	fx_start_powers(&f, p, 4, 0);
	fx_vote(&f, VOTE_PREVOTE, 1, 1, W);
	fx_vote(&f, VOTE_PREVOTE, 1, 2, W);
	CHECK(st(&f).round == 0); /* 2 <= 4 */
	fx_vote(&f, VOTE_PREVOTE, 2, 3, W);
	CHECK(st(&f).round == 2); /* 10 > 4 alone */
	fx_vote(&f, VOTE_PRECOMMIT, 2, 3, V);
	fx_propose(&f, 2, CONS_ROUND_NONE, V, true);
	CHECK(st(&f).decided); /* one validator with 10 of 13 commits */
	fx_end(&f);
}

/* ---- Lines 57, 61, 65 ------------------------------------------------------------------- */

static void line57_timeout_propose(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 1) == CONS_OLD && f.nlog == 0);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0) == CONS_OK);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PREVOTE, 0, NIL) == 1);
	CHECK(st(&f).step == CONS_STEP_PREVOTE);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0) == CONS_OLD && f.nlog == 1);
	/* A proposal that comes late is stored but no longer prevoted. */
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, V, true) == CONS_OK && f.nlog == 1);
	struct cons_outputs out;
	CHECK(cons_on_timeout(f.c, CONS_TIMEOUT_PROPOSE, 6, 0, &out) == CONS_OLD && out.n == 0);
	CHECK(cons_on_timeout(f.c, CONS_TIMEOUT_PROPOSE, 8, 0, &out) == CONS_OLD && out.n == 0);
	fx_end(&f);
}

static void line61_timeout_prevote(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == CONS_OLD && f.nlog == 0); /* propose */
	fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0);
	fx_clear(&f);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 1) == CONS_OLD && f.nlog == 0);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == CONS_OK);
	CHECK(f.nlog == 1 && count_vote(&f, VOTE_PRECOMMIT, 0, NIL) == 1);
	CHECK(st(&f).step == CONS_STEP_PRECOMMIT);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == CONS_OLD && f.nlog == 1);
	fx_end(&f);
}

static void line65_timeout_precommit(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_clear(&f);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 1) == CONS_OLD && f.nlog == 0);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 0) == CONS_OK); /* any step */
	CHECK(st(&f).round == 1 && st(&f).step == CONS_STEP_PROPOSE);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PROPOSE, 1) == 1);
	CHECK(f.log[f.nlog - 1].u.timeout.delay_ms == 110);
	fx_clear(&f);
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, 0) == CONS_OLD && f.nlog == 0); /* stale */
	CHECK(fx_timeout(&f, CONS_TIMEOUT_PROPOSE, 0) == CONS_OLD && f.nlog == 0);
	CHECK(st(&f).round == 1);
	fx_end(&f);
}

static void timeouts_grow_per_round(void)
{
	struct fx f;
	fx_start(&f, ME);
	for (uint32_t r = 0; r < 5; r++) {
		fx_clear(&f);
		fx_timeout(&f, CONS_TIMEOUT_PROPOSE, r);
		fx_votes(&f, VOTE_PREVOTE, r, 0x7, W);
		fx_votes(&f, VOTE_PRECOMMIT, r, 0x7, NIL);
		CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, r) == 1);
		CHECK(count_timeout(&f, CONS_TIMEOUT_PRECOMMIT, r) == 1);
		for (size_t i = 0; i < f.nlog; i++) {
			const struct cons_output *o = &f.log[i];
			if (o->kind != CONS_OUT_SCHEDULE_TIMEOUT)
				continue;
			uint32_t want =
			    o->u.timeout.kind == CONS_TIMEOUT_PREVOTE ? 50 + 5 * r : 60 + 6 * r;
			CHECK(o->u.timeout.delay_ms == want);
		}
		fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, r);
		CHECK(st(&f).round == r + 1);
	}
	fx_end(&f);
}

/* ---- Proposer re-proposes its valid value ---------------------------------------------- */

static void proposer_reproposes_valid_value(void)
{
	/* ME = 1 is round 1's proposer. Round 0: polka for V seen (valid value V, round 0). */
	struct fx f;
	fx_start(&f, 1);
	CHECK(cons_proposer(&f.cv, 1) == 1);
	fx_lock(&f, 0, V);
	CHECK(st(&f).valid_round == 0);
	fx_clear(&f);
	fx_next_round(&f, 0);
	CHECK(count_kind(&f, CONS_OUT_GET_VALUE) == 0 && count_kind(&f, CONS_OUT_PROPOSE) == 1);
	const struct cons_output *o = &f.log[0];
	while (o < &f.log[f.nlog - 1] && o->kind != CONS_OUT_PROPOSE)
		o++;
	CHECK(o->kind == CONS_OUT_PROPOSE && o->round == 1 && o->u.proposal.pol_round == 0);
	CHECK(value_is(o->u.proposal.block_hash, V) && o->u.proposal.proposer == 1);
	struct cons_outputs out;
	uint8_t w[BLOCK_HASH_LEN];
	hash_of(w, W);
	CHECK(cons_on_value(f.c, 7, 1, w, &out) == CONS_DUPLICATE && out.n == 0);
	/* Fed back: the polka of round 0 is held, so line 28 prevotes V. */
	fx_clear(&f);
	fx_propose(&f, 1, 0, V, true);
	CHECK(count_vote(&f, VOTE_PREVOTE, 1, V) == 1);
	fx_end(&f);
}

/* ---- Non-validators and bad inputs ------------------------------------------------------- */

static void non_validator_never_votes(void)
{
	struct fx f;
	fx_start(&f, -1);
	for (uint32_t r = 0; r < 4; r++) {
		fx_propose(&f, r, CONS_ROUND_NONE, V, true);
		fx_votes(&f, VOTE_PREVOTE, r, 0x7, NIL);
		fx_votes(&f, VOTE_PRECOMMIT, r, 0x7, NIL);
		fx_timeout(&f, CONS_TIMEOUT_PRECOMMIT, r);
	}
	CHECK(st(&f).round == 4);
	fx_propose(&f, 4, CONS_ROUND_NONE, V, true);
	fx_votes(&f, VOTE_PREVOTE, 4, 0x7, V);
	CHECK(st(&f).locked_round == 4); /* it follows the rules ... */
	fx_votes(&f, VOTE_PRECOMMIT, 4, 0x7, V);
	CHECK(st(&f).decided); /* ... and decides */
	CHECK(count_kind(&f, CONS_OUT_VOTE) == 0 && count_kind(&f, CONS_OUT_PROPOSE) == 0);
	CHECK(count_kind(&f, CONS_OUT_GET_VALUE) == 0);
	fx_end(&f);
}

static bool same_status(const struct cons_status *a, const struct cons_status *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void bad_inputs_change_nothing(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x3, V);
	struct cons_status before = st(&f);
	fx_clear(&f);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 0, V) == CONS_DUPLICATE);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 4, V) == CONS_BAD_INDEX);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 0xffff, V) == CONS_BAD_INDEX);
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, V, true) == CONS_DUPLICATE);
	CHECK(fx_propose(&f, 0, CONS_ROUND_NONE, W, true) == CONS_CONFLICTING_PROPOSAL);
	CHECK(fx_propose_from(&f, 1, CONS_ROUND_NONE, W, true, 0) == CONS_NOT_PROPOSER);
	CHECK(fx_propose_from(&f, 1, CONS_ROUND_NONE, W, true, 4) == CONS_BAD_INDEX);
	CHECK(f.nlog == 0);
	struct cons_status now = st(&f);
	CHECK(same_status(&before, &now));
	/* Equivocation: taken once with evidence (see equivocator_counts_for_both_values). */
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 1, W) == CONS_OK);
	CHECK(f.nlog == 1 && f.log[0].kind == CONS_OUT_EVIDENCE);
	const struct cons_evidence *ev = &f.log[0].u.evidence;
	CHECK(value_is(ev->a.block_hash, V) && value_is(ev->b.block_hash, W));
	CHECK(ev->a.validator == 1 && ev->b.validator == 1 && ev->a.round == 0);
	CHECK(ev->a.type == VOTE_PREVOTE && ev->a.height == 7 && ev->a.sig[0] == 2);
	CHECK(ev->b.sig[0] == 2 && ev->b.height == 7 && ev->b.type == VOTE_PREVOTE);
	now = st(&f);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 1, NIL) == CONS_EQUIVOCATION && f.nlog == 1);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 1, W) == CONS_DUPLICATE && f.nlog == 1);
	struct cons_status after = st(&f);
	CHECK(same_status(&now, &after));
	fx_end(&f);
}

/* An equivocator's two votes count for their own values (never twice for "any"), so a node that
 * saw a twin's votes in either order recognises the same polka. */
static void equivocator_counts_for_both_values(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_vote(&f, VOTE_PREVOTE, 0, 0, V);
	fx_vote(&f, VOTE_PREVOTE, 0, 1, W); /* 1's first vote is W ... */
	fx_clear(&f);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 1, V) == CONS_OK); /* ... its second V */
	CHECK(f.nlog == 1 && f.log[0].kind == CONS_OUT_EVIDENCE);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 0); /* "any" counts 1 once: 2 of 4 */
	fx_vote(&f, VOTE_PREVOTE, 0, 2, V);
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, V) == 1 && st(&f).locked_round == 0);
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1);
	fx_end(&f);

	fx_start(&f, ME); /* a third value is dropped and does not count */
	fx_propose(&f, 0, CONS_ROUND_NONE, V, true);
	fx_vote(&f, VOTE_PREVOTE, 0, 0, V);
	fx_vote(&f, VOTE_PREVOTE, 0, 0, W);
	fx_clear(&f);
	CHECK(fx_vote(&f, VOTE_PREVOTE, 0, 0, NIL) == CONS_EQUIVOCATION && f.nlog == 0);
	fx_votes(&f, VOTE_PREVOTE, 0, 0x6, NIL);
	CHECK(count_vote(&f, VOTE_PRECOMMIT, 0, NIL) == 0); /* nil has 2, not 3 */
	CHECK(count_timeout(&f, CONS_TIMEOUT_PREVOTE, 0) == 1);
	/* Commits take the matching vote of an equivocator. */
	fx_vote(&f, VOTE_PRECOMMIT, 0, 1, W);
	fx_vote(&f, VOTE_PRECOMMIT, 0, 1, V);
	struct commit cm;
	uint8_t v[BLOCK_HASH_LEN];
	hash_of(v, V);
	CHECK(!cons_build_commit(f.c, 0, v, &cm) && cm.sigs[1].flag == COMMIT_SIGNED);
	fx_votes(&f, VOTE_PRECOMMIT, 0, 0x5, V);
	CHECK(cons_build_commit(f.c, 0, v, &cm) && st(&f).decided);
	CHECK(cm.sigs[0].flag && cm.sigs[1].flag && cm.sigs[2].flag && !cm.sigs[3].flag);
	fx_end(&f);
}

static void heights_and_windows(void)
{
	struct fx f;
	fx_start(&f, ME);
	struct cons_vote v = {.type = VOTE_PREVOTE, .height = 6, .round = 0, .validator = 0};
	hash_of(v.block_hash, V);
	struct cons_outputs out;
	CHECK(cons_on_vote(f.c, &v, &out) == CONS_OLD && out.n == 0);
	v.height = 8;
	CHECK(cons_on_vote(f.c, &v, &out) == CONS_FUTURE && out.n == 0);
	CHECK(fx_vote(&f, VOTE_PREVOTE, CONS_FUTURE_ROUNDS + 1, 0, V) == CONS_FUTURE);
	CHECK(fx_vote(&f, VOTE_PREVOTE, CONS_MAX_ROUNDS, 0, V) == CONS_FUTURE);
	CHECK(fx_vote(&f, VOTE_PREVOTE, CONS_FUTURE_ROUNDS, 0, V) == CONS_OK);
	CHECK(fx_propose(&f, CONS_FUTURE_ROUNDS + 1, CONS_ROUND_NONE, V, true) == CONS_FUTURE);
	/* Next height: everything of the last one is forgotten. */
	fx_lock(&f, 0, V);
	struct cons_valset cv2;
	cons_valset_next(&cv2, &f.cv, &f.cv.set);
	cons_start_height(f.c, 8, &cv2, ME, &out);
	struct cons_status s = st(&f);
	CHECK(s.height == 8 && s.round == 0 && s.locked_round == CONS_ROUND_NONE);
	CHECK(s.valid_round == CONS_ROUND_NONE && !s.decided);
	struct commit cm;
	uint8_t h[BLOCK_HASH_LEN];
	hash_of(h, V);
	CHECK(!cons_build_commit(f.c, 0, h, &cm) && cm.height == 8);
	v.height = 7;
	CHECK(cons_on_vote(f.c, &v, &out) == CONS_OLD);
	fx_end(&f);
}

static void votes_for_gossip(void)
{
	struct fx f;
	fx_start(&f, ME);
	fx_vote(&f, VOTE_PREVOTE, 1, 2, W);
	fx_vote(&f, VOTE_PREVOTE, 1, 0, NIL);
	fx_vote(&f, VOTE_PRECOMMIT, 1, 1, W);
	fx_vote(&f, VOTE_PREVOTE, 1, 0, V); /* equivocation: kept after the first */
	fx_vote(&f, VOTE_PREVOTE, 1, 0, W); /* a third value: dropped */
	struct cons_vote got[2 * VALSET_MAX];
	CHECK(cons_votes_of(f.c, 1, VOTE_PREVOTE, got, 2 * VALSET_MAX) == 3);
	CHECK(got[0].validator == 0 && value_is(got[0].block_hash, NIL) && got[0].sig[0] == 1);
	CHECK(got[1].validator == 0 && value_is(got[1].block_hash, V));
	CHECK(got[2].validator == 2 && value_is(got[2].block_hash, W) && got[2].round == 1);
	CHECK(got[2].type == VOTE_PREVOTE && got[2].height == 7 && got[2].sig[63] == 3);
	CHECK(cons_votes_of(f.c, 1, VOTE_PREVOTE, got, 1) == 1 && got[0].validator == 0);
	CHECK(cons_votes_of(f.c, 1, VOTE_PRECOMMIT, got, VALSET_MAX) == 1);
	CHECK(got[0].validator == 1 && got[0].type == VOTE_PRECOMMIT);
	CHECK(cons_votes_of(f.c, 0, VOTE_PREVOTE, got, VALSET_MAX) == 0);
	CHECK(cons_votes_of(f.c, 5, VOTE_PREVOTE, got, VALSET_MAX) == 0);
	fx_end(&f);
}

CHECK_MAIN(CASE(start_round_non_proposer), CASE(start_round_proposer),
           CASE(line22_valid_prevotes_value), CASE(line22_invalid_prevotes_nil),
           CASE(line22_locked_prevotes_nil_for_other_value), CASE(line28_relock_on_newer_polka),
           CASE(line28_locked_round_equal_vr), CASE(line28_older_polka_than_lock_prevotes_nil),
           CASE(line28_waits_for_polka_and_checks_valid), CASE(line34_prevote_timeout_once),
           CASE(line34_not_in_propose_step), CASE(line44_nil_polka_precommits_nil),
           CASE(line47_precommit_timeout_once), CASE(line36_lock_and_precommit),
           CASE(line36_polka_before_proposal), CASE(line36_valid_value_updated_in_precommit_step),
           CASE(line36_invalid_value_not_locked), CASE(line49_decide_current_round),
           CASE(line49_decide_old_round), CASE(line49_decide_needs_proposal_and_valid),
           CASE(line55_round_skip), CASE(line55_same_sender_twice_is_not_f_plus_1),
           CASE(power_thresholds), CASE(line57_timeout_propose), CASE(line61_timeout_prevote),
           CASE(line65_timeout_precommit), CASE(timeouts_grow_per_round),
           CASE(proposer_reproposes_valid_value), CASE(non_validator_never_votes),
           CASE(bad_inputs_change_nothing), CASE(heights_and_windows), CASE(votes_for_gossip),
           CASE(equivocator_counts_for_both_values))
