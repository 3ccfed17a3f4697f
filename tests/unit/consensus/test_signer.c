#include "check.h"
#include "consensus/crash_harness.h"

#include "base/log.h"
#include "consensus/signer.h"
#include "crypto/sig.h"

#include <sodium.h>

enum { NIL = 0, VA = 1, VB = 2 }; /* which value a test message is about */

/* Stand-in sign bytes for (step, h, r, value): what matters to the guard is only whether two
 * requests' bytes are equal. */
static size_t message(uint8_t out[32], enum signer_step st, uint64_t h, uint32_t r, int value)
{
	memcpy(out, "tn-test", 7);
	out[7] = (uint8_t)st;
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(h >> (8 * i));
	for (int i = 0; i < 4; i++)
		out[16 + i] = (uint8_t)(r >> (8 * i));
	out[20] = (uint8_t)value;
	return 21;
}

static void test_key(uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN], uint8_t which)
{
	uint8_t seed[SIG_SEED_LEN];
	memset(seed, which, sizeof(seed));
	sig_keypair_from_seed(pk, sk, seed);
}

static struct signer *open_ok(const char *dir, const uint8_t sk[SIG_SK_LEN],
                              struct wal_fault *fault)
{
	struct signer *s = NULL;
	enum signer_result r = signer_open(&s, dir, sk, fault);
	if (r != SIGNER_OK)
		fprintf(stderr, "signer_open: %s\n", signer_strerror(r));
	CHECK(r == SIGNER_OK && s != NULL);
	return s;
}

static char *state_path(char out[PATH_MAX], const char *dir)
{
	snprintf(out, PATH_MAX, "%s/%s", dir, SIGNER_STATE_FILE);
	return out;
}

static size_t read_state(const char *dir, uint8_t *buf, size_t cap)
{
	char path[PATH_MAX];
	FILE *f = fopen(state_path(path, dir), "rb");
	CHECK(f != NULL);
	size_t n = f ? fread(buf, 1, cap, f) : 0;
	if (f)
		fclose(f);
	return n;
}

static void write_state(const char *dir, const uint8_t *p, size_t n)
{
	char path[PATH_MAX];
	FILE *f = fopen(state_path(path, dir), "wb");
	CHECK(f && fwrite(p, 1, n, f) == n);
	if (f)
		fclose(f);
}

/* ---- the rule, call by call ------------------------------------------------------------ */

enum expect { NEW, SAME, DOUBLE, REGRESS };

static const struct rule_case {
	enum signer_step step;
	uint64_t h;
	uint32_t r;
	int value;
	enum expect want;
} rule_cases[] = {
    {SIGNER_PROPOSAL, 1, 0, VA, NEW},
    {SIGNER_PROPOSAL, 1, 0, VA, SAME},    /* re-sign after a crash: stored signature */
    {SIGNER_PROPOSAL, 1, 0, VB, DOUBLE},  /* a second proposal for (1, 0) */
    {SIGNER_PREVOTE, 1, 0, VA, NEW},      /* prevote after our own proposal of the round */
    {SIGNER_PROPOSAL, 1, 0, VA, REGRESS}, /* never a proposal after a vote of the round */
    {SIGNER_PREVOTE, 1, 0, NIL, DOUBLE},  /* nil is a different vote */
    {SIGNER_PREVOTE, 1, 0, VA, SAME},
    {SIGNER_PRECOMMIT, 1, 0, NIL, NEW},    /* precommit after prevote */
    {SIGNER_PREVOTE, 1, 0, VA, REGRESS},   /* prevote after precommit */
    {SIGNER_PRECOMMIT, 1, 0, VA, DOUBLE},  /* a second precommit */
    {SIGNER_PREVOTE, 1, 2, VA, NEW},       /* later round, skipping round 1 and the proposal */
    {SIGNER_PRECOMMIT, 1, 1, VA, REGRESS}, /* an earlier round */
    {SIGNER_PROPOSAL, 1, 2, VA, REGRESS},
    {SIGNER_PROPOSAL, 1, 3, VB, NEW},
    {SIGNER_PRECOMMIT, 2, 0, VA, NEW}, /* a later height, at any step */
    {SIGNER_PREVOTE, 2, 0, VA, REGRESS},
    {SIGNER_PROPOSAL, 1, 9, VA, REGRESS}, /* a later round of an earlier height */
    {SIGNER_PREVOTE, UINT64_MAX, UINT32_MAX, VA, NEW},
    {SIGNER_PRECOMMIT, UINT64_MAX, UINT32_MAX, VB, NEW},
    {SIGNER_PRECOMMIT, UINT64_MAX, UINT32_MAX, VB, SAME},
    {SIGNER_PRECOMMIT, UINT64_MAX, UINT32_MAX, VA, DOUBLE},
    {SIGNER_PRECOMMIT, UINT64_MAX - 1, UINT32_MAX, VB, REGRESS},
};

/* Runs rule_cases; with reopen, restarts the guard before every request. */
static void run_rules(bool reopen)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], got_pk[SIG_PK_LEN];
	test_key(pk, sk, 1);
	struct wal_fault count = {0}; /* never fails; counts the durable writes */
	struct signer *s = open_ok(dir, sk, &count);
	signer_pubkey(s, got_pk);
	CHECK_EQ_MEM(got_pk, pk, SIG_PK_LEN);
	struct signer_last last;
	signer_last(s, &last);
	CHECK(!last.any);
	uint8_t prev_sig[SIG_LEN] = {0};
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		if (reopen) {
			signer_free(s);
			s = open_ok(dir, sk, &count);
		}
		struct signer_last before;
		signer_last(s, &before);
		uint8_t msg[32], sig[SIG_LEN];
		size_t n = message(msg, c->step, c->h, c->r, c->value);
		memset(sig, 0xAA, sizeof(sig));
		uint64_t calls = count.calls;
		enum signer_result r = signer_sign(s, c->step, c->h, c->r, msg, n, sig);
		static const enum signer_result want[] = {[NEW] = SIGNER_OK,
		                                          [SAME] = SIGNER_OK,
		                                          [DOUBLE] = SIGNER_DOUBLE_SIGN,
		                                          [REGRESS] = SIGNER_REGRESSION};
		if (r != want[c->want])
			fprintf(stderr, "rule case %zu: got %s\n", i, signer_strerror(r));
		CHECK(r == want[c->want]);
		signer_last(s, &last);
		if (c->want == NEW || c->want == SAME) {
			CHECK(sig_verify(sig, msg, n, pk));
			CHECK(last.any && last.height == c->h && last.round == c->r &&
			      last.step == c->step);
			/* A new signature costs one durable replace (write, fsync, rename, fsync);
			 * the stored one costs nothing. */
			CHECK(count.calls == calls + (c->want == NEW ? 4 : 0));
			if (c->want == SAME)
				CHECK_EQ_MEM(sig, prev_sig, SIG_LEN);
			memcpy(prev_sig, sig, SIG_LEN);
		} else {
			uint8_t untouched[SIG_LEN];
			memset(untouched, 0xAA, sizeof(untouched));
			CHECK_EQ_MEM(sig, untouched, SIG_LEN);
			CHECK(count.calls == calls);
			CHECK(memcmp(&last, &before, sizeof(last)) == 0);
		}
	}
	signer_free(s);
	harness_rmdir(dir);
}

static void rules(void)
{
	run_rules(false);
}

static void rules_across_restarts(void)
{
	run_rules(true);
}

/* ---- the state file ---------------------------------------------------------------------- */

/* signer.state is exactly the documented layout (docs/protocol/wal.md). */
static void state_layout(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN];
	test_key(pk, sk, 2);
	struct signer *s = open_ok(dir, sk, NULL);
	static const uint8_t msg[3] = {'x', 'y', 'z'};
	CHECK(signer_sign(s, SIGNER_PREVOTE, 0x0102030405060708ULL, 0x0a0b0c0d, msg, 3, sig) ==
	      SIGNER_OK);
	signer_free(s);
	uint8_t want[8 + 32 + 8 + 4 + 1 + 1 + 3 + 64 + 4], got[1024];
	size_t n = 0;
	memcpy(want, "TNSIGNv1", 8);
	n += 8;
	memcpy(want + n, pk, 32);
	n += 32;
	static const uint8_t hrs[] = {8, 7, 6, 5, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 2, 3};
	memcpy(want + n, hrs, sizeof(hrs));
	n += sizeof(hrs);
	memcpy(want + n, msg, 3);
	n += 3;
	memcpy(want + n, sig, 64);
	n += 64;
	uint32_t crc = wal_crc32c(want, n);
	for (int i = 0; i < 4; i++)
		want[n++] = (uint8_t)(crc >> (8 * i));
	CHECK(n == sizeof(want));
	CHECK(read_state(dir, got, sizeof(got)) == sizeof(want));
	CHECK_EQ_MEM(got, want, sizeof(want));
	harness_rmdir(dir);
}

/* Any damage to the state file makes the guard refuse to start: resetting it silently would
 * let it sign again what it signed before. */
static void corrupt_state_refused(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN], msg[SIGNER_MAX_SIGN_BYTES];
	test_key(pk, sk, 3);
	struct signer *s = open_ok(dir, sk, NULL), *bad = NULL;
	memset(msg, 0x5c, sizeof(msg));
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 7, 1, msg, sizeof(msg), sig) == SIGNER_OK);
	signer_free(s);
	uint8_t orig[2048], mod[2048];
	size_t n = read_state(dir, orig, sizeof(orig));
	CHECK(n > SIGNER_MAX_SIGN_BYTES);
	log_set_level(LOG_OFF);
	for (size_t pos = 0; pos < n; pos++) { /* every flipped byte */
		memcpy(mod, orig, n);
		mod[pos] ^= (uint8_t)(1u << (pos % 8));
		write_state(dir, mod, n);
		CHECK(signer_open(&bad, dir, sk, NULL) == SIGNER_CORRUPT && bad == NULL);
	}
	for (size_t len = 0; len < n; len++) { /* every truncation */
		write_state(dir, orig, len);
		CHECK(signer_open(&bad, dir, sk, NULL) == SIGNER_CORRUPT && bad == NULL);
	}
	memcpy(mod, orig, n);
	mod[n] = 0;
	write_state(dir, mod, n + 1); /* a trailing byte */
	CHECK(signer_open(&bad, dir, sk, NULL) == SIGNER_CORRUPT);
	memset(mod, 0, sizeof(mod));
	write_state(dir, mod, sizeof(mod)); /* longer than any state */
	CHECK(signer_open(&bad, dir, sk, NULL) == SIGNER_CORRUPT);
	log_set_level(LOG_INFO);
	/* The intact file opens again, and the longest sign bytes survived the round trip. */
	write_state(dir, orig, n);
	s = open_ok(dir, sk, NULL);
	uint8_t again[SIG_LEN];
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 7, 1, msg, sizeof(msg), again) == SIGNER_OK);
	CHECK_EQ_MEM(again, sig, SIG_LEN);
	signer_free(s);
	harness_rmdir(dir);
}

static void wrong_key_and_lock(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], pk2[SIG_PK_LEN], sk2[SIG_SK_LEN], sig[SIG_LEN];
	uint8_t msg[32];
	test_key(pk, sk, 4);
	test_key(pk2, sk2, 5);
	struct signer *s = open_ok(dir, sk, NULL), *other = NULL;
	CHECK(signer_open(&other, dir, sk, NULL) == SIGNER_LOCKED && other == NULL);
	size_t n = message(msg, SIGNER_PREVOTE, 1, 0, VA);
	CHECK(signer_sign(s, SIGNER_PREVOTE, 1, 0, msg, n, sig) == SIGNER_OK);
	signer_free(s);
	log_set_level(LOG_OFF);
	CHECK(signer_open(&other, dir, sk2, NULL) == SIGNER_WRONG_KEY && other == NULL);
	log_set_level(LOG_INFO);
	/* A key that never signed here starts fresh in its own directory. */
	char dir2[HARNESS_DIR_MAX];
	harness_tmpdir(dir2);
	other = open_ok(dir2, sk2, NULL);
	CHECK(signer_sign(other, SIGNER_PREVOTE, 1, 0, msg, n, sig) == SIGNER_OK);
	CHECK(sig_verify(sig, msg, n, pk2));
	signer_free(other);
	CHECK(strcmp(signer_strerror(SIGNER_DOUBLE_SIGN), signer_strerror(SIGNER_REGRESSION)));
	CHECK(strcmp(signer_strerror((enum signer_result)77), "unknown signer error") == 0);
	harness_rmdir(dir);
	harness_rmdir(dir2);
}

/* A failed write releases nothing and stops the guard until it is reopened. */
static void sticky_failure(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN], msg[32];
	test_key(pk, sk, 6);
	struct wal_fault fault = {0};
	struct signer *s = open_ok(dir, sk, &fault);
	size_t n = message(msg, SIGNER_PREVOTE, 1, 0, VA);
	CHECK(signer_sign(s, SIGNER_PREVOTE, 1, 0, msg, n, sig) == SIGNER_OK);
	fault.fail_at = fault.calls + 3; /* the rename */
	memset(sig, 0xAA, sizeof(sig));
	n = message(msg, SIGNER_PRECOMMIT, 1, 0, VA);
	log_set_level(LOG_OFF);
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 1, 0, msg, n, sig) == SIGNER_IO);
	log_set_level(LOG_INFO);
	CHECK(sig[0] == 0xAA && sig[63] == 0xAA);
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 1, 0, msg, n, sig) == SIGNER_FAILED);
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 2, 0, msg, n, sig) == SIGNER_FAILED);
	signer_free(s);
	s = open_ok(dir, sk, NULL);
	struct signer_last last;
	signer_last(s, &last);
	CHECK(last.height == 1 && last.step == SIGNER_PREVOTE);
	CHECK(signer_sign(s, SIGNER_PRECOMMIT, 1, 0, msg, n, sig) == SIGNER_OK);
	signer_free(s);
	harness_rmdir(dir);
}

/* ---- crash at every write ------------------------------------------------------------- */

/* Position k of a walk through (h, r, step): 3 rounds of 3 steps per height. */
static void position(uint64_t k, uint64_t *h, uint32_t *r, enum signer_step *st)
{
	*h = 1 + k / 9;
	*r = (uint32_t)(k / 3 % 3);
	*st = (enum signer_step)(1 + k % 3);
}

static enum signer_result sign_at(struct signer *s, uint64_t k, int value, uint8_t sig[SIG_LEN],
                                  uint8_t msg[32], size_t *n)
{
	uint64_t h;
	uint32_t r;
	enum signer_step st;
	position(k, &h, &r, &st);
	*n = message(msg, st, h, r, value);
	return signer_sign(s, st, h, r, msg, *n, sig);
}

#define WL_SIGNS 6

static void crash_at_every_write(void)
{
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN], msg[32];
	test_key(pk, sk, 7);
	char dir[HARNESS_DIR_MAX];
	uint64_t total = 0;
	log_set_level(LOG_OFF);
	for (uint64_t n = 0; n == 0 || n <= total; n++) {
		harness_tmpdir(dir);
		struct wal_fault fault = {.fail_at = n, .seed = n};
		struct signer *s = open_ok(dir, sk, &fault);
		long released = -1; /* last k whose signature was handed out */
		uint8_t released_sig[SIG_LEN] = {0};
		size_t len;
		for (uint64_t k = 0; k < WL_SIGNS; k++) {
			if (sign_at(s, k, VA, sig, msg, &len) != SIGNER_OK)
				break;
			released = (long)k;
			memcpy(released_sig, sig, SIG_LEN);
		}
		if (n == 0) {
			total = fault.calls;
			CHECK(released == WL_SIGNS - 1 && total == 4 * WL_SIGNS);
		}
		signer_free(s);
		s = open_ok(dir, sk, NULL);
		struct signer_last last;
		signer_last(s, &last);
		/* On disk: the last released position, or the one that failed after its rename. */
		long at =
		    !last.any ? -1 : (long)((last.height - 1) * 9 + last.round * 3 + last.step - 1);
		CHECK(at == released || (n > 0 && at == released + 1));
		if (released >= 0) {
			/* What was released can never be contradicted... */
			CHECK(sign_at(s, (uint64_t)released, VB, sig, msg, &len) != SIGNER_OK);
			/* ...and, if it is still the last, is handed out again unchanged. */
			if (at == released) {
				CHECK(sign_at(s, (uint64_t)released, VA, sig, msg, &len) ==
				      SIGNER_OK);
				CHECK_EQ_MEM(sig, released_sig, SIG_LEN);
			}
		}
		CHECK(sign_at(s, WL_SIGNS + 1, VA, sig, msg, &len) == SIGNER_OK);
		signer_free(s);
		harness_rmdir(dir);
	}
	log_set_level(LOG_INFO);
	fprintf(stderr, "crash_at_every_write: %llu injection points\n", (unsigned long long)total);
}

/* ---- crash with real processes ---------------------------------------------------------- */

#define KILL_MAX_K 100000

struct sign_report {
	uint64_t k;
	uint8_t value, result;
	uint8_t sig[SIG_LEN];
};

struct sign_ctx {
	const char *dir;
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
	uint64_t seed;
	long top;      /* highest k released so far, -1 none */
	uint8_t *have; /* per k: 0 none, else 1 + the value released */
	uint8_t (*sigs)[SIG_LEN];
	long released, resigned, double_refused, regress_refused, conflicts;
};

/* The child: restarts at or a little before the highest position released, signs values chosen
 * at random (so children disagree about what to sign) and reports every answer. */
static void sign_child(int wfd, void *arg)
{
	struct sign_ctx *c = arg;
	log_set_level(LOG_OFF);
	struct signer *s = NULL;
	if (signer_open(&s, c->dir, c->sk, NULL) != SIGNER_OK)
		_exit(3);
	uint64_t x = c->seed;
	long start = c->top - (long)(check_rand(&x) % 3);
	for (uint64_t k = start < 0 ? 0 : (uint64_t)start; k < KILL_MAX_K; k++) {
		struct sign_report rep = {.k = k, .value = (uint8_t)(VA + check_rand(&x) % 2)};
		uint8_t msg[32];
		size_t n;
		rep.result = (uint8_t)sign_at(s, k, rep.value, rep.sig, msg, &n);
		harness_report(wfd, &rep, sizeof(rep));
	}
	pause();
}

static void sign_on_report(const uint8_t *m, void *arg)
{
	struct sign_ctx *c = arg;
	struct sign_report rep;
	memcpy(&rep, m, sizeof(rep));
	CHECK(rep.k < KILL_MAX_K);
	if (rep.k >= KILL_MAX_K)
		return;
	switch (rep.result) {
	case SIGNER_OK: {
		uint64_t h;
		uint32_t r;
		enum signer_step st;
		uint8_t msg[32];
		position(rep.k, &h, &r, &st);
		size_t n = message(msg, st, h, r, rep.value);
		CHECK(sig_verify(rep.sig, msg, n, c->pk));
		if (c->have[rep.k]) {
			c->resigned++;
			bool same = c->have[rep.k] == 1 + rep.value &&
			            memcmp(c->sigs[rep.k], rep.sig, SIG_LEN) == 0;
			c->conflicts += !same;
			CHECK(same);
		} else {
			c->have[rep.k] = (uint8_t)(1 + rep.value);
			memcpy(c->sigs[rep.k], rep.sig, SIG_LEN);
			c->released++;
		}
		if ((long)rep.k > c->top)
			c->top = (long)rep.k;
		break;
	}
	case SIGNER_DOUBLE_SIGN:
		c->double_refused++;
		break;
	case SIGNER_REGRESSION:
		c->regress_refused++;
		break;
	default:
		CHECK(!"unexpected signer result");
	}
}

static void crash_kill(void)
{
	char dir[HARNESS_DIR_MAX];
	harness_tmpdir(dir);
	struct sign_ctx c = {.dir = dir, .top = -1};
	test_key(c.pk, c.sk, 8);
	c.have = calloc(KILL_MAX_K, 1);
	c.sigs = calloc(KILL_MAX_K, SIG_LEN);
	uint64_t seed = check_seed();
	long iters = check_iters(60);
	struct harness_reader rd = {
	    .msg_len = sizeof(struct sign_report), .on_msg = sign_on_report, .ctx = &c};
	int failures_before = check_failures;
	for (long it = 0; it < iters && check_failures == failures_before; it++) {
		c.seed = seed + (uint64_t)it;
		uint64_t x = c.seed ^ 0x5555;
		int status =
		    harness_run_and_kill(sign_child, &c, (int64_t)(check_rand(&x) % 30000), &rd);
		CHECK(harness_killed(status));
		if (!harness_killed(status))
			fprintf(stderr, "child exited with %d at iteration %ld\n",
			        WIFEXITED(status) ? WEXITSTATUS(status) : -1, it);
	}
	/* The guard on disk is at or past everything released. */
	struct signer *s = open_ok(dir, c.sk, NULL);
	struct signer_last last;
	signer_last(s, &last);
	long at = !last.any ? -1 : (long)((last.height - 1) * 9 + last.round * 3 + last.step - 1);
	CHECK(at >= c.top);
	signer_free(s);
	fprintf(
	    stderr,
	    "crash_kill: %ld kills, %ld signatures released, %ld identical re-signs, %ld double "
	    "signs refused, %ld regressions refused, %ld conflicting signatures\n",
	    iters, c.released, c.resigned, c.double_refused, c.regress_refused, c.conflicts);
	CHECK(c.released > 0 && c.conflicts == 0);
	free(c.have);
	free(c.sigs);
	sodium_memzero(c.sk, sizeof(c.sk));
	harness_rmdir(dir);
}

CHECK_MAIN(CASE(rules), CASE(rules_across_restarts), CASE(state_layout),
           CASE(corrupt_state_refused), CASE(wrong_key_and_lock), CASE(sticky_failure),
           CASE(crash_at_every_write), CASE(crash_kill))
