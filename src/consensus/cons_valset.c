/*
 * CometBFT's weighted round-robin proposer selection (types/validator_set.go), replicated bit for
 * bit: research/consensus.md §1.4 and docs/protocol/consensus.md "Proposer selection".
 * Go's big.Int.Div is Euclidean (floor for a positive divisor) while C's `/` truncates, and Go's
 * safeAddClip/safeSubClip saturate: both are reproduced here.
 */
#include <assert.h>
#include <string.h>

#include "consensus/cons_int.h"

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
	if (b > 0 && a < INT64_MIN + b)
		return INT64_MIN;
	if (b < 0 && a > INT64_MAX + b)
		return INT64_MAX;
	return a - b;
}

static int64_t total_power(const struct cons_valset *cv)
{
	return (int64_t)valset_total_power(&cv->set);
}

/* RescalePriorities(2P): divide every priority by ceil(spread / 2P) when spread > 2P. */
static void rescale(struct cons_valset *cv)
{
	__int128 diff_max = (__int128)2 * total_power(cv);
	int64_t lo = cv->priority[0], hi = cv->priority[0];
	for (size_t i = 1; i < cv->set.n; i++) {
		lo = cv->priority[i] < lo ? cv->priority[i] : lo;
		hi = cv->priority[i] > hi ? cv->priority[i] : hi;
	}
	__int128 diff = (__int128)hi - lo;
	if (diff_max <= 0 || diff <= diff_max)
		return;
	__int128 ratio = (diff + diff_max - 1) / diff_max;
	for (size_t i = 0; i < cv->set.n; i++)
		cv->priority[i] =
		    (int64_t)(cv->priority[i] / ratio); /* truncation, as Go's int64 / */
}

/* shiftByAvgProposerPriority with the Euclidean (floor) average of big.Int.Div. */
static void centre(struct cons_valset *cv)
{
	__int128 sum = 0, n = (__int128)cv->set.n;
	for (size_t i = 0; i < cv->set.n; i++)
		sum += cv->priority[i];
	__int128 avg = sum / n;
	if (sum % n != 0 && sum < 0)
		avg--;
	for (size_t i = 0; i < cv->set.n; i++)
		cv->priority[i] = sat_sub(cv->priority[i], (int64_t)avg);
}

void cons_valset_prepare(struct cons_valset *cv)
{
	rescale(cv);
	centre(cv);
}

uint16_t cons_valset_step(struct cons_valset *cv)
{
	size_t best = 0;
	for (size_t i = 0; i < cv->set.n; i++) {
		cv->priority[i] = sat_add(cv->priority[i], (int64_t)cv->set.v[i].power);
		if (i == 0)
			continue;
		if (cv->priority[i] > cv->priority[best] ||
		    (cv->priority[i] == cv->priority[best] &&
		     memcmp(cv->set.v[i].pub_key, cv->set.v[best].pub_key, 32) < 0))
			best = i;
	}
	cv->priority[best] = sat_sub(cv->priority[best], total_power(cv));
	return (uint16_t)best;
}

void cons_valset_increment(struct cons_valset *cv, uint32_t times)
{
	assert(times >= 1 && cv->set.n >= 1 && cv->set.n <= VALSET_MAX);
	cons_valset_prepare(cv);
	for (uint32_t i = 0; i < times; i++)
		cv->proposer = cons_valset_step(cv);
}

void cons_valset_init(struct cons_valset *cv, const struct valset *vs)
{
	assert(valset_check(vs) == BLOCK_OK);
	memset(cv, 0, sizeof(*cv));
	cv->set = *vs;
	cons_valset_increment(cv, 1);
}

size_t cons_proposer(const struct cons_valset *cv, uint32_t round)
{
	if (round == 0)
		return cv->proposer;
	struct cons_valset copy = *cv;
	cons_valset_increment(&copy, round);
	return copy.proposer;
}

/* -(P' + P' >> 3), saturated: CometBFT's start for a validator that joins. */
static int64_t newcomer_priority(const struct cons_valset *cur, const struct valset *next)
{
	uint64_t p = valset_total_power(next);
	for (size_t i = 0; i < cur->set.n; i++) {
		size_t j;
		if (!valset_find(next, cur->set.v[i].pub_key, &j))
			p += cur->set.v[i].power;
	}
	u128 c = (u128)p + (p >> 3);
	return c > (u128)INT64_MAX ? INT64_MIN : -(int64_t)c;
}

void cons_valset_next(struct cons_valset *out, const struct cons_valset *cur,
                      const struct valset *next)
{
	assert(out != cur && valset_check(next) == BLOCK_OK);
	int64_t fresh = newcomer_priority(cur, next);
	memset(out, 0, sizeof(*out));
	out->set = *next;
	for (size_t i = 0; i < next->n; i++) {
		size_t j;
		bool old = valset_find(&cur->set, next->v[i].pub_key, &j);
		out->priority[i] = old ? cur->priority[j] : fresh;
	}
	cons_valset_prepare(out); /* UpdateWithChangeSet's own rescale and centring */
	cons_valset_increment(out, 1);
}

void cons_priorities_encode(struct enc *e, const struct cons_valset *cv)
{
	assert(cv->set.n <= VALSET_MAX && cv->proposer < cv->set.n);
	enc_uleb(e, cv->set.n);
	for (size_t i = 0; i < cv->set.n; i++)
		enc_u64(e, (uint64_t)cv->priority[i]);
	enc_u16(e, cv->proposer);
}

enum codec_result cons_priorities_decode(struct cons_valset *cv, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	uint64_t count = dec_uleb(&d, VALSET_MAX);
	if (d.err == CODEC_OK && count != cv->set.n)
		dec_fail(&d, CODEC_TOO_LARGE);
	for (size_t i = 0; d.err == CODEC_OK && i < count; i++)
		cv->priority[i] = (int64_t)dec_u64(&d);
	uint16_t proposer = dec_u16(&d);
	if (d.err == CODEC_OK && proposer >= cv->set.n)
		dec_fail(&d, CODEC_NONCANONICAL);
	cv->proposer = proposer;
	return dec_finish(&d);
}

void cons_proposers_reset(struct cons *c)
{
	c->cursor = c->cv;
	cons_valset_prepare(&c->cursor);
	c->proposer_of[0] = c->cv.proposer;
	c->n_proposers = 1;
}

uint16_t cons_round_proposer(struct cons *c, uint32_t round)
{
	assert(round < CONS_MAX_ROUNDS);
	while (c->n_proposers <= round)
		c->proposer_of[c->n_proposers++] = cons_valset_step(&c->cursor);
	return c->proposer_of[round];
}
