/* Numbers from JSON answers: u64 as integers or decimal strings, u128 units as strings only. */
#include <jansson.h>
#include <stdint.h>

#include "base/jsonx.h"
#include "check.h"

static void reads_u64(void)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:f, s:s}", "int", (json_int_t)42, "str",
	                      "18446744073709551615", "over", "18446744073709551616", "neg",
	                      (json_int_t)-1, "junk", "12x", "real", 1.5, "empty", "");
	uint64_t v = 7;
	CHECK(jsonx_u64(o, "int", &v) && v == 42);
	CHECK(jsonx_u64(o, "str", &v) && v == UINT64_MAX);
	v = 7;
	const char *refused[] = {"over", "neg", "junk", "real", "empty", "absent"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK(!jsonx_u64(o, refused[i], &v) && v == 7);
	json_decref(o);
}

static void reads_units(void)
{
	json_t *o = json_pack("{s:s, s:I, s:s}", "big", "340282366920938463463374607431768211455",
	                      "int", (json_int_t)5, "junk", "-3");
	u128 v = 0;
	CHECK(jsonx_units(o, "big", &v) && v == ~(u128)0);
	CHECK(!jsonx_units(o, "int", &v)); /* amounts are strings so no parser rounds them */
	CHECK(!jsonx_units(o, "junk", &v));
	CHECK(!jsonx_units(o, "absent", &v));
	json_decref(o);
}

CHECK_MAIN(CASE(reads_u64), CASE(reads_units))
