/* Amounts with any number of decimals (cli_int.h cli_amount_parse / cli_amount_format): known
 * answers, every refusal, the u128 limits at several decimals, random round trips, and agreement
 * with base/amount.h's PHA functions at 12 decimals. */
#include "check.h"

#include "base/amount.h"
#include "cli/cli_int.h"

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
		CHECK(cli_amount_parse(&v, ok[i].s, ok[i].decimals));
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
		CHECK(!cli_amount_parse(&v, bad[i].s, bad[i].decimals));
		CHECK(v == 42); /* untouched */
	}
	char longer[CLI_AMOUNT_TEXT_MAX + 2];
	memset(longer, '0', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	u128 v;
	CHECK(!cli_amount_parse(&v, longer, 0)); /* over the length cap, even if all zeros */
	longer[CLI_AMOUNT_TEXT_MAX] = '\0';
	CHECK(cli_amount_parse(&v, longer, 0) && v == 0);
}

static void u128_limits(void)
{
	u128 v;
	CHECK(cli_amount_parse(&v, "340282366920938463463374607431768211455", 0) && v == U128_MAX);
	CHECK(!cli_amount_parse(&v, "340282366920938463463374607431768211456", 0));
	CHECK(cli_amount_parse(&v, "340282366920938463463.374607431768211455", 18) &&
	      v == U128_MAX);
	CHECK(!cli_amount_parse(&v, "340282366920938463463.374607431768211456", 18));
	CHECK(!cli_amount_parse(&v, "340282366920938463464", 18));
	CHECK(cli_amount_parse(&v, "3.40282366920938463463374607431768211455", 38) &&
	      v == U128_MAX);
	CHECK(!cli_amount_parse(&v, "4", 38));
	char out[CLI_AMOUNT_STR_MAX];
	CHECK_STR(cli_amount_format(out, U128_MAX, 0), "340282366920938463463374607431768211455");
	CHECK_STR(cli_amount_format(out, U128_MAX, 38), "3.40282366920938463463374607431768211455");
	CHECK_STR(cli_amount_format(out, 1, 38), "0.00000000000000000000000000000000000001");
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
		char out[CLI_AMOUNT_STR_MAX];
		CHECK_STR(cli_amount_format(out, ok[i].v, ok[i].decimals), ok[i].s);
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
		unsigned d = (unsigned)(check_rand(&st) % (CLI_DECIMALS_MAX + 1));
		u128 v = rand_u128(&st), back = 0;
		char out[CLI_AMOUNT_STR_MAX];
		cli_amount_format(out, v, d);
		CHECK(cli_amount_parse(&back, out, d));
		CHECK(back == v);
	}
}

/* At 12 decimals the CLI's functions are base/amount.h's PHA ones, on any text. */
static void agrees_with_pha(void)
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
		u128 a = 0, b = 0;
		bool pa = amount_parse_pha(&a, s), pb = cli_amount_parse(&b, s, AMOUNT_DECIMALS);
		CHECK(pa == pb);
		CHECK(!pa || a == b);
		char fa[AMOUNT_STR_MAX], fb[CLI_AMOUNT_STR_MAX];
		u128 v = rand_u128(&st);
		CHECK_STR(amount_format_pha(fa, v), cli_amount_format(fb, v, AMOUNT_DECIMALS));
	}
}

CHECK_MAIN(CASE(parses_known_amounts), CASE(refuses_bad_amounts), CASE(u128_limits),
           CASE(formats_known_amounts), CASE(round_trips), CASE(agrees_with_pha))
