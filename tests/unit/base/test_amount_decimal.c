/* Amounts with any number of decimals (base/amount.h amount_parse_decimal / amount_format_decimal):
 * known answers, every refusal, the u128 limits at several decimals, random round trips, and
 * agreement with an independent reference parser on random text (PHA being the 12-decimal case). */
#include "check.h"

#include <string.h>

#include "base/amount.h"

#define U128_MAX (~(u128)0)

static u128 ten_to(unsigned n)
{
	u128 v = 1;
	while (n--)
		v *= 10;
	return v;
}

static void parses_known_amounts(void)
{
	static const struct {
		const char *s;
		unsigned decimals;
		uint64_t hi, lo; /* expected value = hi * 10^18 + lo */
	} ok[] = {
	    {"0", 0, 0, 0},
	    {"12", 0, 0, 12},
	    {"1.5", 12, 0, 1500000000000ULL},
	    {"1.23", 2, 0, 123},
	    {"0.000001", 6, 0, 1},
	    {"007", 3, 0, 7000},
	    {"1", 18, 1, 0},
	    {"1000000.5", 18, 1000000, 500000000000000000ULL},
	    {"0.000000000000000001", 18, 0, 1},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		u128 v = 0;
		CHECK(amount_parse_decimal(&v, ok[i].s, ok[i].decimals));
		CHECK(v == (u128)ok[i].hi * ten_to(18) + ok[i].lo);
	}
}

static void refuses_bad_amounts(void)
{
	static const struct {
		const char *s;
		unsigned decimals;
	} bad[] = {
	    {"", 6},     {".5", 6},    {"1.", 6},  {"-1", 6},  {"+1", 6},
	    {"1e3", 6},  {"1,5", 6},   {" 1", 6},  {"1 ", 6},  {"1.2.3", 6},
	    {"0x10", 6}, {"1.234", 2}, {"1.5", 0}, {"1.0", 0}, {"abc", 3},
	    {"1..2", 4}, {".", 2},     {"1-", 0},  {"١", 0}, /* a non-ASCII digit */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u128 v = 42;
		CHECK(!amount_parse_decimal(&v, bad[i].s, bad[i].decimals));
		CHECK(v == 42); /* untouched */
	}
	char longer[AMOUNT_TEXT_MAX + 2];
	memset(longer, '0', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	u128 v;
	CHECK(!amount_parse_decimal(&v, longer, 0)); /* over the length cap, even if all zeros */
	longer[AMOUNT_TEXT_MAX] = '\0';
	CHECK(amount_parse_decimal(&v, longer, 0) && v == 0);
}

static void u128_limits(void)
{
	u128 v;
	CHECK(amount_parse_decimal(&v, "340282366920938463463374607431768211455", 0) &&
	      v == U128_MAX);
	CHECK(!amount_parse_decimal(&v, "340282366920938463463374607431768211456", 0));
	CHECK(amount_parse_decimal(&v, "340282366920938463463.374607431768211455", 18) &&
	      v == U128_MAX);
	CHECK(!amount_parse_decimal(&v, "340282366920938463463.374607431768211456", 18));
	CHECK(!amount_parse_decimal(&v, "340282366920938463464", 18));
	CHECK(amount_parse_decimal(&v, "3.40282366920938463463374607431768211455", 38) &&
	      v == U128_MAX);
	CHECK(!amount_parse_decimal(&v, "4", 38));
	char out[AMOUNT_STR_MAX];
	CHECK_STR(amount_format_decimal(out, U128_MAX, 0),
	          "340282366920938463463374607431768211455");
	CHECK_STR(amount_format_decimal(out, U128_MAX, 38),
	          "3.40282366920938463463374607431768211455");
	CHECK_STR(amount_format_decimal(out, 1, 38), "0.00000000000000000000000000000000000001");
}

static void formats_known_amounts(void)
{
	static const struct {
		uint64_t v;
		unsigned decimals;
		const char *s;
	} ok[] = {
	    {0, 0, "0"},
	    {0, 6, "0"},
	    {5, 2, "0.05"},
	    {100, 2, "1"},
	    {123, 0, "123"},
	    {1500000000000ULL, 12, "1.5"},
	    {1, 12, "0.000000000001"},
	    {1000001, 6, "1.000001"},
	    {10, 1, "1"},
	    {12340, 3, "12.34"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char out[AMOUNT_STR_MAX];
		CHECK_STR(amount_format_decimal(out, ok[i].v, ok[i].decimals), ok[i].s);
	}
}

static u128 rand_u128(uint64_t *st)
{
	u128 v = ((u128)check_rand(st) << 64) | check_rand(st);
	return v >> (check_rand(st) % 128); /* all magnitudes */
}

static void round_trips(void)
{
	uint64_t st = check_seed();
	for (long i = 0; i < check_iters(20000); i++) {
		unsigned d = (unsigned)(check_rand(&st) % (AMOUNT_DECIMALS_MAX + 1));
		u128 v = rand_u128(&st), back = 0;
		char out[AMOUNT_STR_MAX];
		amount_format_decimal(out, v, d);
		CHECK(amount_parse_decimal(&back, out, d));
		CHECK(back == v);
	}
}

/* A reference written independently: digits, optionally a dot and 1..decimals digits, at most
 * AMOUNT_TEXT_MAX characters, value below 2^128. */
static bool ref_parse(const char *s, unsigned decimals, u128 *out)
{
	size_t n = strlen(s), k = 0;
	u128 v = 0;
	unsigned frac = 0;
	bool dot = false;
	if (n == 0 || n > AMOUNT_TEXT_MAX)
		return false;
	for (; k < n; k++) {
		if (s[k] == '.' && !dot && k > 0 && k + 1 < n) {
			dot = true;
			continue;
		}
		if (s[k] < '0' || s[k] > '9' || (dot && ++frac > decimals))
			return false;
		if (!amount_mul(&v, v, 10) || !amount_add(&v, v, (u128)(s[k] - '0')))
			return false;
	}
	for (; frac < decimals; frac++)
		if (!amount_mul(&v, v, 10))
			return false;
	*out = v;
	return true;
}

/* Random text, parsed at random decimals (PHA's 12 through amount_parse_pha), agrees with the
 * reference, and what PHA formatting writes the reference reads back. */
static void agrees_with_a_reference(void)
{
	static const char alphabet[] = "0123456789.-e ";
	uint64_t st = check_seed();
	for (long i = 0; i < check_iters(50000); i++) {
		char s[24];
		size_t n = check_rand(&st) % 20;
		for (size_t k = 0; k < n; k++)
			s[k] = check_rand(&st) % 4
			           ? (char)('0' + check_rand(&st) % 10)
			           : alphabet[check_rand(&st) % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		unsigned d = (unsigned)(check_rand(&st) % 20);
		u128 a = 0, b = 0;
		bool pa =
		    d == AMOUNT_DECIMALS ? amount_parse_pha(&a, s) : amount_parse_decimal(&a, s, d);
		bool pb = ref_parse(s, d, &b);
		CHECK(pa == pb);
		CHECK(!pa || a == b);
		char f[AMOUNT_STR_MAX];
		u128 v = rand_u128(&st);
		CHECK(ref_parse(amount_format_pha(f, v), AMOUNT_DECIMALS, &b) && b == v);
	}
}

CHECK_MAIN(CASE(parses_known_amounts), CASE(refuses_bad_amounts), CASE(u128_limits),
           CASE(formats_known_amounts), CASE(round_trips), CASE(agrees_with_a_reference))
