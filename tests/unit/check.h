/*
 * Minimal unit-test harness: CHECK records a failure with file:line and continues; a test binary
 * lists its cases in a table and returns non-zero if any CHECK failed. Randomised tests take their
 * seed from TENEBRA_TEST_SEED (printed, so a failure can be replayed) and their iteration count
 * from TENEBRA_TEST_ITERS.
 */
#ifndef TN_TEST_CHECK_H
#define TN_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		check_count++;                                                                     \
		if (!(cond)) {                                                                     \
			check_failures++;                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)
#define CHECK_STR(a, b)       CHECK(strcmp((a), (b)) == 0)

struct check_case {
	const char *name;
	void (*fn)(void);
};

static inline uint64_t check_seed(void)
{
	const char *s = getenv("TENEBRA_TEST_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
	fprintf(stderr, "random seed = %llu (set TENEBRA_TEST_SEED to replay)\n",
	        (unsigned long long)seed);
	return seed;
}

static inline long check_iters(long dflt)
{
	const char *s = getenv("TENEBRA_TEST_ITERS");
	return s ? strtol(s, NULL, 10) : dflt;
}

/* xorshift64*: deterministic and seedable, for test data only (never for keys). */
static inline uint64_t check_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline int check_run(const struct check_case *cases, size_t n, int argc, char **argv)
{
	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)
			continue;
		int before = check_failures;
		cases[i].fn();
		fprintf(stderr, "%s %s\n", check_failures == before ? "ok  " : "FAIL",
		        cases[i].name);
	}
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#define CHECK_MAIN(...)                                                                            \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		static const struct check_case cases[] = {__VA_ARGS__};                            \
		return check_run(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);             \
	}

#define CASE(fn)                                                                                   \
	{                                                                                          \
#fn, fn                                                                            \
	}

#endif
