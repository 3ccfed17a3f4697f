#include "check.h"

#include "base/amount.h"
#include "base/codec.h"
#include "base/hex.h"

static void leb_roundtrip(void)
{
	uint64_t vals[] = {0, 1, 127, 128, 255, 300, 16383, 16384, UINT32_MAX, UINT64_MAX};
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[16];
		struct enc e;
		enc_init_fixed(&e, buf, sizeof(buf));
		enc_uleb(&e, vals[i]);
		CHECK(enc_finish(&e) == CODEC_OK);
		struct dec d;
		dec_init(&d, buf, e.len);
		CHECK(dec_uleb(&d, UINT64_MAX) == vals[i]);
		CHECK(dec_finish(&d) == CODEC_OK);
	}
}

static void leb_rejects_noncanonical(void)
{
	static const uint8_t redundant[] = {0x80, 0x00};        /* 0 in two bytes */
	static const uint8_t redundant2[] = {0xff, 0x80, 0x00}; /* 127 padded */
	static const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff,
	                                   0xff, 0xff, 0xff, 0xff, 0x02}; /* > 2^64-1 */
	static const uint8_t unterminated[] = {0x80, 0x80};
	struct dec d;
	dec_init(&d, redundant, sizeof(redundant));
	dec_uleb(&d, UINT64_MAX);
	CHECK(dec_finish(&d) == CODEC_NONCANONICAL);
	dec_init(&d, redundant2, sizeof(redundant2));
	dec_uleb(&d, UINT64_MAX);
	CHECK(dec_finish(&d) == CODEC_NONCANONICAL);
	dec_init(&d, overflow, sizeof(overflow));
	dec_uleb(&d, UINT64_MAX);
	CHECK(dec_finish(&d) == CODEC_NONCANONICAL);
	dec_init(&d, unterminated, sizeof(unterminated));
	dec_uleb(&d, UINT64_MAX);
	CHECK(dec_finish(&d) == CODEC_TRUNCATED);
}

static void limits_trailing_and_truncation(void)
{
	struct enc e;
	enc_init(&e, 64);
	enc_u32(&e, 0xdeadbeef);
	enc_bytes(&e, "hello", 5);
	enc_u128(&e, ((u128)1 << 100) + 7);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(e.len == 4 + 1 + 5 + 16);

	struct dec d;
	size_t n;
	dec_init(&d, e.buf, e.len);
	CHECK(dec_u32(&d) == 0xdeadbeef);
	const uint8_t *s = dec_bytes(&d, &n, 16);
	CHECK(s && n == 5 && memcmp(s, "hello", 5) == 0);
	CHECK(dec_u128(&d) == ((u128)1 << 100) + 7);
	CHECK(dec_finish(&d) == CODEC_OK);

	dec_init(&d, e.buf, e.len);
	dec_u32(&d);
	CHECK(dec_bytes(&d, &n, 4) == NULL); /* length cap */
	CHECK(dec_finish(&d) == CODEC_TOO_LARGE);

	for (size_t cut = 0; cut < e.len; cut++) {
		dec_init(&d, e.buf, cut);
		dec_u32(&d);
		dec_bytes(&d, &n, 16);
		dec_u128(&d);
		CHECK(dec_finish(&d) == CODEC_TRUNCATED);
	}
	uint8_t extra[64];
	memcpy(extra, e.buf, e.len);
	extra[e.len] = 0;
	dec_init(&d, extra, e.len + 1);
	dec_u32(&d);
	dec_bytes(&d, &n, 16);
	dec_u128(&d);
	CHECK(dec_finish(&d) == CODEC_TRAILING);
	enc_release(&e);

	enc_init(&e, 8);
	enc_u64(&e, 1);
	enc_u8(&e, 1);
	CHECK(enc_finish(&e) == CODEC_TOO_LARGE);
	enc_release(&e);
}

static void bool_strict(void)
{
	uint8_t two = 2;
	struct dec d;
	dec_init(&d, &two, 1);
	dec_bool(&d);
	CHECK(dec_finish(&d) == CODEC_NONCANONICAL);
}

static void amounts(void)
{
	u128 v;
	char s[AMOUNT_STR_MAX];
	CHECK(amount_parse_pha(&v, "1") && v == AMOUNT_ONE_PHA);
	CHECK(amount_parse_pha(&v, "0.5") && v == AMOUNT_ONE_PHA / 2);
	CHECK(amount_parse_pha(&v, "0.000000000001") && v == 1);
	CHECK(!amount_parse_pha(&v, "0.0000000000001"));
	CHECK(!amount_parse_pha(&v, "-1"));
	CHECK(!amount_parse_pha(&v, "1."));
	CHECK(!amount_parse_pha(&v, ".5"));
	CHECK(!amount_parse_pha(&v, ""));
	CHECK(!amount_parse_pha(&v, "1e5"));
	CHECK(!amount_parse_pha(&v, "1 "));
	CHECK(!amount_parse_pha(&v, "999999999999999999999999999999999"));
	CHECK(amount_parse_units(&v, "340282366920938463463374607431768211455") && v == ~(u128)0);
	CHECK(!amount_parse_units(&v, "340282366920938463463374607431768211456"));
	CHECK_STR(amount_format_pha(s, AMOUNT_ONE_PHA * 3 / 2), "1.5");
	CHECK_STR(amount_format_pha(s, 0), "0");
	CHECK_STR(amount_format_pha(s, 1), "0.000000000001");
	CHECK_STR(amount_format_units(s, ~(u128)0), "340282366920938463463374607431768211455");
	CHECK(amount_parse_pha(&v, "1000000000") && v == AMOUNT_ONE_PHA * 1000000000);
}

static void hex(void)
{
	uint8_t b[3];
	char s[7];
	CHECK(hex_decode_exact(b, 3, "0x0aFf10"));
	CHECK_STR(hex_encode(s, b, 3), "0aff10");
	CHECK(!hex_decode_exact(b, 3, "0aff1"));
	CHECK(!hex_decode_exact(b, 3, "0aff10aa"));
	CHECK(!hex_decode_exact(b, 3, "0aff1g"));
}

CHECK_MAIN(CASE(leb_roundtrip), CASE(leb_rejects_noncanonical),
           CASE(limits_trailing_and_truncation), CASE(bool_strict), CASE(amounts), CASE(hex))
