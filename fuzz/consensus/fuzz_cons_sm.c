/* The consensus state machine driven by arbitrary input sequences. The first byte picks our
 * validator index (or none) and the powers; then each op byte selects an input: a new height,
 * a proposal (right or wrong proposer, valid or not), a vote from any index (including one
 * outside the set), a vote burst from every validator, a timeout (current, stale or foreign),
 * a value, or feeding one of our own outputs back as the host would. After every input the
 * invariants of research/consensus.md §2.7 that one machine can check are asserted:
 *   - at most one decision per height, and a decision never changes;
 *   - within a height the round never decreases, and within a round the step never does;
 *   - locked_round never decreases within a height; a precommit for a value follows a lock;
 *   - the machine never emits two votes for one (height, round, type), never votes or
 *     proposes as a non-validator, and only ever signs for its own index and height;
 *   - evidence names two different, ordered votes of one validator's slot. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_VALS  4
#define PENDING 64

struct run {
	const uint8_t *p;
	size_t n, pos;
	struct cons *c;
	struct cons_valset cv;
	int me;
	uint64_t height;
	unsigned decisions;
	uint8_t decision[BLOCK_HASH_LEN];
	uint8_t voted[CONS_MAX_ROUNDS][2];
	size_t npending;
	struct cons_output pending[PENDING];
};

static struct run R; /* large: keep it off the stack */

static uint8_t next(struct run *r)
{
	return r->pos < r->n ? r->p[r->pos++] : 0;
}

static void hash_of(uint8_t h[BLOCK_HASH_LEN], unsigned idx)
{
	memset(h, 0, BLOCK_HASH_LEN);
	if (idx)
		memset(h, (int)(0x10 * idx), BLOCK_HASH_LEN);
}

static void check_vote_out(struct run *r, const struct cons_output *o, const struct cons_status *s)
{
	static const uint8_t nil[BLOCK_HASH_LEN];
	const struct cons_vote *v = &o->u.vote;
	if (r->me < 0 || v->validator != r->me || v->height != r->height || v->round != o->round)
		abort();
	if ((v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT) || v->round >= CONS_MAX_ROUNDS)
		abort();
	uint8_t *slot = &r->voted[v->round][v->type - VOTE_PREVOTE];
	if (*slot)
		abort(); /* double vote */
	*slot = 1;
	if (v->type == VOTE_PRECOMMIT && memcmp(v->block_hash, nil, BLOCK_HASH_LEN) != 0 &&
	    s->locked_round < (int32_t)v->round)
		abort(); /* precommitted a value without locking it */
}

static void check_decide(struct run *r, const struct cons_output *o)
{
	if (r->decisions++ > 0 && memcmp(r->decision, o->u.block_hash, BLOCK_HASH_LEN) != 0)
		abort();
	if (r->decisions > 1)
		abort(); /* two decisions for one height */
	memcpy(r->decision, o->u.block_hash, BLOCK_HASH_LEN);
}

static void check_evidence(const struct cons_evidence *ev)
{
	const struct cons_vote *a = &ev->a, *b = &ev->b;
	if (a->validator != b->validator || a->type != b->type || a->round != b->round ||
	    a->height != b->height || memcmp(a->block_hash, b->block_hash, BLOCK_HASH_LEN) >= 0)
		abort();
}

static void check_outputs(struct run *r, const struct cons_outputs *out,
                          const struct cons_status *before)
{
	struct cons_status s;
	cons_status(r->c, &s);
	for (size_t i = 0; i < out->n; i++) {
		const struct cons_output *o = &out->o[i];
		if (o->height != r->height)
			abort();
		if (o->kind == CONS_OUT_VOTE)
			check_vote_out(r, o, &s);
		else if (o->kind == CONS_OUT_DECIDE)
			check_decide(r, o);
		else if (o->kind == CONS_OUT_EVIDENCE)
			check_evidence(&o->u.evidence);
		else if ((o->kind == CONS_OUT_PROPOSE || o->kind == CONS_OUT_GET_VALUE) &&
		         r->me < 0)
			abort();
		if ((o->kind == CONS_OUT_VOTE || o->kind == CONS_OUT_PROPOSE) &&
		    r->npending < PENDING)
			r->pending[r->npending++] = *o;
	}
	if (s.height != before->height)
		return;
	if (s.round < before->round || (s.round == before->round && s.step < before->step))
		abort();
	if (s.locked_round < before->locked_round || (before->decided && !s.decided))
		abort();
	if (s.decided && memcmp(s.decision, r->decision, BLOCK_HASH_LEN) != 0)
		abort();
}

static void start_height(struct run *r)
{
	struct cons_outputs out;
	struct cons_status before;
	if (r->height > 0) { /* each height moves the priorities on, as the node does */
		static struct cons_valset nextcv;
		cons_valset_next(&nextcv, &r->cv, &r->cv.set);
		r->cv = nextcv;
	}
	r->height++;
	r->decisions = 0;
	r->npending = 0;
	memset(r->voted, 0, sizeof(r->voted));
	cons_start_height(r->c, r->height, &r->cv, r->me, &out);
	cons_status(r->c, &before);
	check_outputs(r, &out, &before);
}

static uint32_t pick_round(struct run *r)
{
	struct cons_status s;
	cons_status(r->c, &s);
	uint8_t b = next(r);
	if (b & 0x80)
		return b & 3; /* an early round */
	int64_t round = (int64_t)s.round + (b % (CONS_FUTURE_ROUNDS + 3)) - 1;
	return round < 0 ? 0 : (uint32_t)round;
}

static void op_proposal(struct run *r, struct cons_outputs *out)
{
	uint8_t flags = next(r);
	struct cons_proposal p = {.height = r->height, .round = pick_round(r)};
	uint8_t pol = next(r);
	p.pol_round = p.round == 0 ? CONS_ROUND_NONE : (int32_t)(pol % (p.round + 1)) - 1;
	hash_of(p.block_hash, 1 + ((flags >> 2) & 3));
	p.proposer =
	    (uint16_t)(flags & 2 ? cons_proposer(&r->cv, p.round) : next(r) % (N_VALS + 1));
	cons_on_proposal(r->c, &p, flags & 1, out);
}

static void feed_vote(struct run *r, uint8_t type, uint32_t round, uint16_t who, unsigned h,
                      struct cons_outputs *out)
{
	struct cons_vote v = {.type = type, .height = r->height, .round = round, .validator = who};
	hash_of(v.block_hash, h);
	cons_on_vote(r->c, &v, out);
}

static void op_vote(struct run *r, struct cons_outputs *out)
{
	uint8_t b = next(r);
	uint32_t round = pick_round(r);
	feed_vote(r, b & 1 ? VOTE_PRECOMMIT : VOTE_PREVOTE, round,
	          (uint16_t)(next(r) % (N_VALS + 1)), (b >> 1) & 3, out);
}

static void op_timeout(struct run *r, struct cons_outputs *out)
{
	uint8_t b = next(r);
	uint64_t height = b & 0x80 ? r->height + (b & 1 ? 1 : (uint64_t)-1) : r->height;
	cons_on_timeout(r->c, (enum cons_timeout)(b % 3), height, pick_round(r), out);
}

static void op_value(struct run *r, struct cons_outputs *out)
{
	uint8_t h[BLOCK_HASH_LEN];
	uint8_t b = next(r);
	hash_of(h, 1 + (b & 3));
	cons_on_value(r->c, r->height, pick_round(r), h, out);
}

/* Feeds back our oldest own output, as the host does after signing it. */
static void op_feedback(struct run *r, struct cons_outputs *out)
{
	out->n = 0;
	if (!r->npending)
		return;
	struct cons_output o = r->pending[0];
	memmove(r->pending, r->pending + 1, --r->npending * sizeof(r->pending[0]));
	if (o.kind == CONS_OUT_VOTE)
		cons_on_vote(r->c, &o.u.vote, out);
	else
		cons_on_proposal(r->c, &o.u.proposal, true, out);
}

static void run_op(struct run *r, uint8_t op)
{
	struct cons_outputs out = {0};
	struct cons_status before;
	cons_status(r->c, &before);
	switch (op % 8) {
	case 0:
		if (op & 0x80) {
			start_height(r);
			return;
		}
		op_feedback(r, &out);
		break;
	case 1:
		op_proposal(r, &out);
		break;
	case 2:
	case 3:
		op_vote(r, &out);
		break;
	case 4:
		op_timeout(r, &out);
		break;
	case 5:
		op_value(r, &out);
		break;
	default: { /* burst: every validator votes alike */
		uint8_t b = next(r);
		uint32_t round = pick_round(r);
		for (uint16_t i = 0; i < N_VALS; i++) {
			feed_vote(r, b & 1 ? VOTE_PRECOMMIT : VOTE_PREVOTE, round, i, (b >> 1) & 3,
			          &out);
			check_outputs(r, &out, &before);
			cons_status(r->c, &before);
		}
		return;
	}
	}
	check_outputs(r, &out, &before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cons_timeouts t = {30, 5, 10, 5, 10, 5};
	static const uint64_t powers[2][N_VALS] = {{1, 1, 1, 1}, {1, 1, 1, 10}};
	struct run *r = &R;
	memset(r, 0, sizeof(*r));
	r->p = data, r->n = size;
	uint8_t first = next(r);
	r->me = (int)(first % (N_VALS + 1)) - 1;
	static struct valset vs;
	memset(&vs, 0, sizeof(vs));
	vs.n = N_VALS;
	for (size_t i = 0; i < N_VALS; i++) {
		memset(vs.v[i].pub_key, (int)(i + 1), 32);
		vs.v[i].power = powers[(first >> 4) & 1][i];
	}
	cons_valset_init(&r->cv, &vs);
	r->c = cons_new(&t);
	if (!r->c)
		abort();
	start_height(r);
	while (r->pos < r->n)
		run_op(r, next(r));
	cons_free(r->c);
	return 0;
}
