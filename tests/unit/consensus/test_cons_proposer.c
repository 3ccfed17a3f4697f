/* Proposer selection against CometBFT's own vectors (types/validator_set_test.go:
 * TestProposerSelection1/2/3, TestAveragingInIncrementProposerPriorityWithVotingPower) plus
 * hand-computed cases for what C gets wrong most easily: the Euclidean average of negative sums,
 * truncating rescale, saturation, and the -1.125 P' start of a new validator. */
#include "check.h"

#include "consensus/cons.h"

/* A key that sorts like CometBFT's test address `name` (zero padded to 32 bytes). */
static void key_of(uint8_t key[32], const char *name, size_t len)
{
	memset(key, 0, 32);
	memcpy(key, name, len);
}

static void set_of(struct valset *vs, const char *const *names, const uint64_t *powers, size_t n)
{
	memset(vs, 0, sizeof(*vs));
	vs->n = n;
	for (size_t i = 0; i < n; i++) {
		key_of(vs->v[i].pub_key, names[i], strlen(names[i]));
		vs->v[i].power = powers[i];
	}
}

/* Validators keyed {0}, {1}, ... (one byte) with the given powers. */
static void set_indexed(struct valset *vs, const uint64_t *powers, size_t n)
{
	memset(vs, 0, sizeof(*vs));
	vs->n = n;
	for (size_t i = 0; i < n; i++) {
		vs->v[i].pub_key[0] = (uint8_t)i;
		vs->v[i].power = powers[i];
	}
}

static void powers_1_3_sequence(void)
{
	static const uint64_t p[] = {1, 3};
	static struct valset vs;
	set_indexed(&vs, p, 2);
	struct cons_valset cv;
	cons_valset_init(&cv, &vs);
	static const uint16_t want[] = {1, 0, 1, 1};
	for (size_t i = 0; i < 16; i++) {
		CHECK(cv.proposer == want[i % 4]);
		CHECK(cons_proposer(&cv, 0) == cv.proposer);
		cons_valset_increment(&cv, 1);
	}
	cons_valset_init(&cv, &vs);
	for (uint32_t r = 0; r < 16; r++) /* rounds of one height follow the same sequence */
		CHECK(cons_proposer(&cv, r) == want[r % 4]);
}

static void cometbft_proposer_selection1(void)
{
	static const char *const names[] = {"foo", "bar", "baz"};
	static const uint64_t p[] = {1000, 300, 330};
	static const char expected[] =
	    "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar"
	    " foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar"
	    " foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz"
	    " foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo"
	    " foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo";
	static struct valset vs;
	set_of(&vs, names, p, 3);
	struct cons_valset cv;
	cons_valset_init(&cv, &vs);
	char got[sizeof(expected) + 8] = "";
	for (int i = 0; i < 99; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, names[cv.proposer]);
		cons_valset_increment(&cv, 1);
	}
	CHECK_STR(got, expected);
}

static uint16_t sequence_after_init(const uint64_t *p, size_t n, uint16_t *seq, size_t len)
{
	static struct valset vs;
	set_indexed(&vs, p, n);
	struct cons_valset cv;
	cons_valset_init(&cv, &vs);
	for (size_t i = 0; i < len; i++) {
		seq[i] = cv.proposer;
		cons_valset_increment(&cv, 1);
	}
	return seq[0];
}

static void cometbft_proposer_selection2(void)
{
	uint16_t seq[15];
	static const uint64_t equal[] = {100, 100, 100};
	sequence_after_init(equal, 3, seq, 15);
	for (size_t i = 0; i < 15; i++) /* equal power: in order of addresses */
		CHECK(seq[i] == i % 3);
	static const uint64_t p400[] = {100, 100, 400};
	sequence_after_init(p400, 3, seq, 2);
	CHECK(seq[0] == 2 && seq[1] == 0); /* not enough to propose twice in a row */
	static const uint64_t p401[] = {100, 100, 401};
	sequence_after_init(p401, 3, seq, 3);
	CHECK(seq[0] == 2 && seq[1] == 2 && seq[2] == 0);
	static const uint64_t p453[] = {4, 5, 3};
	uint16_t many[120];
	sequence_after_init(p453, 3, many, 120);
	unsigned count[3] = {0};
	for (size_t i = 0; i < 120; i++)
		count[many[i]]++;
	CHECK(count[0] == 40 && count[1] == 50 && count[2] == 30);
}

/* TestProposerSelection3: incrementing by `times` at once lands where `times` single steps do
 * for equal powers; and cons_proposer(cv, r) is IncrementProposerPriority(r) on a copy. */
static void cometbft_proposer_selection3(void)
{
	uint64_t seed = check_seed();
	static const uint64_t ones[] = {1, 1, 1, 1};
	static struct valset vs;
	set_indexed(&vs, ones, 4);
	struct cons_valset cv;
	cons_valset_init(&cv, &vs);
	uint32_t j = 0;
	for (int i = 0; i < 2000; i++) {
		CHECK(cv.proposer == j % 4);
		uint32_t times = (uint32_t)(check_rand(&seed) % 5) + 1;
		struct cons_valset copy = cv;
		cons_valset_increment(&copy, times);
		CHECK(cons_proposer(&cv, times) == copy.proposer);
		cv = copy;
		j += times;
	}
}

/* TestAveragingInIncrementProposerPriorityWithVotingPower: powers 10,1,1 from priorities 0. */
static void cometbft_averaging_with_voting_power(void)
{
	static const struct {
		uint32_t times;
		int64_t want[3];
		uint16_t proposer;
	} tcs[] = {
	    {1, {-2, 1, 1}, 0},  {2, {-4, 2, 2}, 0},   {3, {-6, 3, 3}, 0},   {4, {-8, 4, 4}, 0},
	    {5, {2, -7, 5}, 1},  {6, {0, -6, 6}, 0},   {7, {-2, -5, 7}, 0},  {8, {-4, -4, 8}, 0},
	    {9, {6, -3, -3}, 2}, {10, {4, -2, -2}, 0}, {11, {2, -1, -1}, 0},
	};
	static const uint64_t p[] = {10, 1, 1};
	for (size_t i = 0; i < sizeof(tcs) / sizeof(tcs[0]); i++) {
		struct cons_valset cv;
		memset(&cv, 0, sizeof(cv));
		set_indexed(&cv.set, p, 3);
		cons_valset_increment(&cv, tcs[i].times);
		CHECK(cv.proposer == tcs[i].proposer);
		for (size_t k = 0; k < 3; k++)
			CHECK(cv.priority[k] == tcs[i].want[k]);
	}
}

/* With no changes, every window of P consecutive proposers (not only aligned ones) holds each
 * validator exactly VP(i) times. */
static void fairness_window(void)
{
	uint64_t seed = check_seed();
	long iters = check_iters(200);
	for (long it = 0; it < iters; it++) {
		uint64_t p[8], total = 0;
		size_t n = (size_t)(check_rand(&seed) % 8) + 1;
		for (size_t i = 0; i < n; i++) {
			p[i] = check_rand(&seed) % 10 + 1;
			total += p[i];
		}
		static struct valset vs;
		set_indexed(&vs, p, n);
		struct cons_valset cv;
		cons_valset_init(&cv, &vs);
		uint16_t seq[4 * 80];
		for (uint64_t k = 0; k < 4 * total; k++) {
			seq[k] = cv.proposer;
			cons_valset_increment(&cv, 1);
		}
		bool fair = true;
		for (uint64_t start = 0; start + total <= 4 * total; start++) {
			uint64_t count[8] = {0};
			for (uint64_t k = start; k < start + total; k++)
				count[seq[k]]++;
			for (size_t i = 0; i < n; i++)
				fair = fair && count[i] == p[i];
		}
		CHECK(fair);
	}
}

/* Negative sums are averaged with floor, as Go's big.Int.Div: C's truncation would differ. */
static void centring_negative_sum(void)
{
	static const uint64_t p[] = {1, 1, 1};
	struct cons_valset cv;
	memset(&cv, 0, sizeof(cv));
	set_indexed(&cv.set, p, 3);
	cv.priority[0] = -1; /* sum -1: floor(-1/3) = -1, truncation would give 0 */
	cons_valset_increment(&cv, 1);
	/* centred {0, 1, 1}; step {1, 2, 2}; tie -> smaller key (index 1); 2 - 3 */
	CHECK(cv.priority[0] == 1 && cv.priority[1] == -1 && cv.priority[2] == 2);
	CHECK(cv.proposer == 1);
}

static void rescale_truncates(void)
{
	static const uint64_t p[] = {1, 1};
	struct cons_valset cv;
	memset(&cv, 0, sizeof(cv));
	set_indexed(&cv.set, p, 2);
	cv.priority[0] = 100, cv.priority[1] = -100; /* spread 200 > 2P = 4: ratio 50 */
	cons_valset_increment(&cv, 1);
	CHECK(cv.priority[0] == 1 && cv.priority[1] == -1 && cv.proposer == 0);
	cv.priority[0] = -101, cv.priority[1] = 100; /* ratio ceil(201/4) = 51: -1 and 1 */
	cons_valset_increment(&cv, 1);
	CHECK(cv.priority[0] == 0 && cv.priority[1] == 0 && cv.proposer == 1);
	cv.priority[0] = 4, cv.priority[1] = 0; /* spread exactly 2P: no rescale */
	cons_valset_increment(&cv, 1);
	CHECK(cv.priority[0] == 1 && cv.priority[1] == -1 && cv.proposer == 0);
}

static void saturating_step(void)
{
	/* P = 2^62 - 1; priorities {3k, -k, -k, -k} with k = floor(2P / 4) are centred and
	 * within the 2P window, and 3k + VP(0) passes INT64_MAX: clipped, then P subtracted. */
	static const uint64_t p[] = {(UINT64_C(1) << 62) - 4, 1, 1, 1};
	struct cons_valset cv;
	memset(&cv, 0, sizeof(cv));
	set_indexed(&cv.set, p, 4);
	int64_t k = (INT64_C(1) << 61) - 1;
	cv.priority[0] = 3 * k;
	cv.priority[1] = cv.priority[2] = cv.priority[3] = -k;
	cons_valset_increment(&cv, 1);
	CHECK(cv.proposer == 0);
	CHECK(cv.priority[0] == INT64_MAX - ((INT64_C(1) << 62) - 1));
	CHECK(cv.priority[1] == -k + 1 && cv.priority[3] == -k + 1);
}

static void new_validator_starts_at_minus_1_125(void)
{
	static const uint64_t p3[] = {8, 8, 8};
	static struct valset abc, abcd, abd;
	set_indexed(&abc, p3, 3);
	static const uint64_t p4[] = {8, 8, 8, 8};
	set_indexed(&abcd, p4, 4);
	struct cons_valset cur, next;
	cons_valset_init(&cur, &abc);
	CHECK(cur.proposer == 0 && cur.priority[0] == -16 && cur.priority[1] == 8);
	/* Add D: P' = 32, D starts at -36; centred by floor(-36/4) = -9 to {-7,17,17,-27};
	 * the increment picks B (tie with C, smaller key). */
	cons_valset_next(&next, &cur, &abcd);
	CHECK(next.proposer == 1);
	CHECK(next.priority[0] == 1 && next.priority[1] == -7 && next.priority[2] == 25 &&
	      next.priority[3] == -19);
	/* Replace C by D: P' counts the removed C (32, so -36 again); the sum -44 averages to
	 * floor(-44/3) = -15 (truncation: -14), giving {-1, 23, -21}, then B proposes. */
	abd = abcd;
	abd.n = 3;
	abd.v[2] = abcd.v[3];
	cons_valset_next(&next, &cur, &abd);
	CHECK(next.proposer == 1);
	CHECK(next.priority[0] == 7 && next.priority[1] == 7 && next.priority[2] == -13);
	/* An unchanged set is one plain increment. */
	struct cons_valset inc = cur;
	cons_valset_increment(&inc, 1);
	cons_valset_next(&next, &cur, &abc);
	CHECK(memcmp(next.priority, inc.priority, sizeof(inc.priority)) == 0);
	CHECK(next.proposer == inc.proposer);
}

static void newcomer_priority_saturates(void)
{
	/* Disjoint sets of the maximum power: 1.125 P' exceeds int64 and clips. */
	static const uint64_t big[] = {(UINT64_C(1) << 62) - 1};
	static struct valset a, b;
	set_indexed(&a, big, 1);
	b = a;
	b.v[0].pub_key[0] = 9;
	struct cons_valset cur, next;
	cons_valset_init(&cur, &a);
	cons_valset_next(&next, &cur, &b);
	CHECK(next.proposer == 0 && next.priority[0] == 0);
}

static void priorities_codec(void)
{
	static const uint64_t p[] = {10, 1, 1};
	static struct valset vs;
	set_indexed(&vs, p, 3);
	struct cons_valset cv, back;
	cons_valset_init(&cv, &vs);
	cons_valset_increment(&cv, 4);
	struct enc e;
	enc_init(&e, 1024);
	cons_priorities_encode(&e, &cv);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == 1 + 3 * 8 + 2);
	CHECK(e.buf[0] == 3 && e.buf[e.len - 2] == cv.proposer && e.buf[e.len - 1] == 0);
	memset(&back, 0, sizeof(back));
	back.set = vs;
	CHECK(cons_priorities_decode(&back, e.buf, e.len) == CODEC_OK);
	CHECK(memcmp(back.priority, cv.priority, sizeof(cv.priority)) == 0);
	CHECK(back.proposer == cv.proposer);
	CHECK(cons_priorities_decode(&back, e.buf, e.len - 1) == CODEC_TRUNCATED);
	uint8_t bad[64];
	memcpy(bad, e.buf, e.len);
	bad[e.len - 2] = 3; /* proposer index outside the set */
	CHECK(cons_priorities_decode(&back, bad, e.len) == CODEC_NONCANONICAL);
	bad[e.len - 2] = cv.proposer;
	bad[e.len] = 0;
	CHECK(cons_priorities_decode(&back, bad, e.len + 1) == CODEC_TRAILING);
	bad[0] = 2; /* count differs from the set */
	CHECK(cons_priorities_decode(&back, bad, e.len) == CODEC_TOO_LARGE);
	enc_release(&e);
}

CHECK_MAIN(CASE(powers_1_3_sequence), CASE(cometbft_proposer_selection1),
           CASE(cometbft_proposer_selection2), CASE(cometbft_proposer_selection3),
           CASE(cometbft_averaging_with_voting_power), CASE(fairness_window),
           CASE(centring_negative_sum), CASE(rescale_truncates), CASE(saturating_step),
           CASE(new_validator_starts_at_minus_1_125), CASE(newcomer_priority_saturates),
           CASE(priorities_codec))
