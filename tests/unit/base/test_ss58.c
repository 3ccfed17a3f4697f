#include "check.h"

#include "base/hex.h"
#include "base/ss58.h"

#include <sodium.h>

static const char alice_hex[] = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

/* Substrate's well-known dev key "Alice" (sr25519 public key), as @polkadot/util-crypto 14.0.3
 * encodeAddress prints it; prefix 42 is also the address in Substrate's own documentation. */
static const struct {
	uint16_t prefix;
	const char *addr;
} alice_vectors[] = {
    {0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
    {2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},
    {30, "45R2pfjQUW2s9PQRHU48HQKLKHVMaDja7N3wpBtmF28UYDs2"},
    {42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
    {63, "7NPoMQbiA6trJKkjB35uk96MeJD4PGWkLQLH7k7hXEkZpiba"},
    {64, "cEaNSpz4PxFcZ7nT1VEKrKewH67rfx6MfcM6yKojyyPz7qaqp"},
    {65, "cLxkfNUiCYsb57YLhTJdNVKxUTB1VTpeygYZNhYuFc83KrFy7"},
    {255, "yGHXkYLYqxijLKKfd9Q2CB9shRVu8rPNBS53wvwGTutYg4zTg"},
    {1284, "VdvKmYJfD4VXA9fzz1SbmCo2eYHSzUFbaDCZSuaNKJAe8YNg6"},
    {16383, "yNa8JpqfFB3q8A29rCwSgxvdU94ufJw2yKKxDgznS5m1PoFvn"},
};

static const char b58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Reference base58 by repeated long division (a different algorithm from the library's), used to
 * build hostile inputs with valid checksums. */
static void ref_b58(char *out, const uint8_t *raw, size_t n)
{
	uint8_t num[64];
	char rev[128];
	size_t len = 0, zeros = 0;
	memcpy(num, raw, n);
	while (zeros < n && raw[zeros] == 0)
		out[zeros] = '1', zeros++;
	for (;;) {
		bool nonzero = false;
		unsigned rem = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned cur = rem * 256 + num[i];
			num[i] = (uint8_t)(cur / 58);
			rem = cur % 58;
			nonzero |= num[i] != 0;
		}
		if (!nonzero && rem == 0)
			break;
		rev[len++] = b58[rem];
		if (!nonzero)
			break;
	}
	for (size_t i = 0; i < len; i++)
		out[zeros + i] = rev[len - 1 - i];
	out[zeros + len] = '\0';
}

/* raw ‖ BLAKE2b-512("SS58PRE" ‖ raw)[0..2), base58-encoded by the reference encoder. */
static void ref_address(char *out, const uint8_t *body, size_t n)
{
	uint8_t pre[80], h[64], raw[64];
	memcpy(pre, "SS58PRE", 7);
	memcpy(pre + 7, body, n);
	crypto_generichash_blake2b(h, sizeof(h), pre, 7 + n, NULL, 0);
	memcpy(raw, body, n);
	memcpy(raw + n, h, 2);
	ref_b58(out, raw, n + 2);
}

static void known_vectors(void)
{
	uint8_t alice[32], pk[32];
	CHECK(hex_decode_exact(alice, 32, alice_hex));
	for (size_t i = 0; i < sizeof(alice_vectors) / sizeof(alice_vectors[0]); i++) {
		char addr[SS58_ADDR_MAX];
		uint16_t prefix = 0xffff;
		size_t n = ss58_encode(addr, sizeof(addr), alice_vectors[i].prefix, alice);
		CHECK_STR(addr, alice_vectors[i].addr);
		CHECK(n == strlen(alice_vectors[i].addr));
		CHECK(ss58_decode(pk, &prefix, alice_vectors[i].addr) == SS58_OK);
		CHECK(prefix == alice_vectors[i].prefix);
		CHECK_EQ_MEM(pk, alice, 32);
	}
	/* Extremes: the all-zero key on prefix 0 (leading '1's) and the longest possible address.
	 */
	char addr[SS58_ADDR_MAX];
	memset(pk, 0, 32);
	ss58_encode(addr, sizeof(addr), 0, pk);
	CHECK_STR(addr, "111111111111111111111111111111111HC1");
	ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, pk);
	CHECK_STR(addr, "3zcnkmF6XjEogm8vAyPiL2ykPZHpeVtcfDcwTWJ2teqdSvjq");
	memset(pk, 0xff, 32);
	CHECK(ss58_encode(addr, sizeof(addr), SS58_PREFIX_MAX, pk) == SS58_ADDR_MAX - 1);
	CHECK_STR(addr, "yNb7j1viLcZunrTHozyfJPTZJrprRSPpY485Lwzq1CFK2z3Nk");
}

static void round_trip_random(void)
{
	uint64_t st = check_seed();
	long iters = check_iters(3000);
	for (long it = 0; it < iters; it++) {
		uint8_t pk[32], got[32], body[34];
		char addr[SS58_ADDR_MAX], ref[128];
		uint16_t prefix, back;
		do
			prefix = (uint16_t)(check_rand(&st) % (it % 2 ? 64 : SS58_PREFIX_MAX + 1));
		while (!ss58_prefix_valid(prefix));
		for (size_t i = 0; i < 32; i++)
			pk[i] =
			    (uint8_t)(it % 7 == 0 && i < (size_t)(it % 5) ? 0 : check_rand(&st));
		ss58_encode(addr, sizeof(addr), prefix, pk);
		CHECK(ss58_decode(got, &back, addr) == SS58_OK);
		CHECK(back == prefix);
		CHECK_EQ_MEM(got, pk, 32);
		CHECK(ss58_decode_expect(got, prefix, addr) == SS58_OK);
		CHECK(ss58_decode_expect(got, (uint16_t)(prefix ^ 1), addr) == SS58_WRONG_PREFIX);
		/* The reference encoder over the Substrate prefix packing agrees. */
		size_t plen = prefix < 64 ? 1 : 2;
		body[0] = prefix < 64 ? (uint8_t)prefix : (uint8_t)(0x40 | ((prefix & 0xfc) >> 2));
		body[1] = (uint8_t)((prefix >> 8) | ((prefix & 3) << 6));
		memcpy(body + plen, pk, 32);
		ref_address(ref, body, plen + 32);
		CHECK_STR(addr, ref);
	}
}

static void rejects_bad_chars(void)
{
	const char *good = alice_vectors[2].addr;
	static const char bad[] = {'0', 'O', 'I', 'l', ' ', '+', '/', '=', '\n', (char)0xc3};
	uint8_t pk[32];
	uint16_t prefix;
	for (size_t i = 0; i < sizeof(bad); i++) {
		for (size_t pos = 0; pos < strlen(good); pos += 7) {
			char s[SS58_ADDR_MAX];
			strcpy(s, good);
			s[pos] = bad[i];
			CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_CHAR);
		}
	}
	char padded[SS58_ADDR_MAX + 1];
	snprintf(padded, sizeof(padded), " %s", good);
	CHECK(ss58_decode(pk, &prefix, padded) == SS58_BAD_CHAR);
	snprintf(padded, sizeof(padded), "%s\n", good);
	CHECK(ss58_decode(pk, &prefix, padded) == SS58_BAD_CHAR);
}

static void rejects_bad_lengths(void)
{
	const char *good = alice_vectors[2].addr;
	uint8_t pk[32];
	uint16_t prefix;
	char s[256];
	CHECK(ss58_decode(pk, &prefix, "") == SS58_BAD_LENGTH);
	CHECK(ss58_decode(pk, &prefix, "1") == SS58_BAD_LENGTH);
	for (size_t cut = 1; cut < strlen(good); cut++) {
		snprintf(s, sizeof(s), "%.*s", (int)cut, good);
		enum ss58_result r = ss58_decode(pk, &prefix, s);
		CHECK(r == SS58_BAD_LENGTH || r == SS58_BAD_PREFIX);
	}
	snprintf(s, sizeof(s), "%s1", good);
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_LENGTH);
	snprintf(s, sizeof(s), "1%s", good); /* a leading zero byte */
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_LENGTH);
	memset(s, 'z', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_LENGTH);
	/* 31- and 33-byte keys with valid checksums (polkadot accepts 33-byte ones; we do not). */
	uint8_t body[40] = {SS58_PREFIX_PHALA, 1, 2, 3};
	ref_address(s, body, 1 + 31);
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_LENGTH);
	ref_address(s, body, 1 + 33);
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_LENGTH);
}

static void rejects_bad_prefixes(void)
{
	uint8_t body[34], pk[32];
	uint16_t prefix;
	char s[128];
	CHECK(hex_decode_exact(body + 2, 32, alice_hex));
	/* First byte 128..255 is reserved by the format. */
	for (unsigned b = 128; b < 256; b += 9) {
		body[1] = (uint8_t)b;
		ref_address(s, body + 1, 33);
		CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_PREFIX);
	}
	/* Reserved ids 46 and 47. */
	body[1] = 46;
	ref_address(s, body + 1, 33);
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_PREFIX);
	body[1] = 47;
	ref_address(s, body + 1, 33);
	CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_PREFIX);
	/* Two-byte spelling of ids below 64 (30 is Phala): a second address for the same account.
	 */
	for (unsigned id = 0; id < 64; id++) {
		body[0] = (uint8_t)(0x40 | ((id & 0xfc) >> 2));
		body[1] = (uint8_t)((id >> 8) | ((id & 3) << 6));
		ref_address(s, body, 34);
		CHECK(ss58_decode(pk, &prefix, s) == SS58_BAD_PREFIX);
	}
	CHECK(ss58_prefix_valid(0) && ss58_prefix_valid(45) && ss58_prefix_valid(48));
	CHECK(ss58_prefix_valid(SS58_PREFIX_MAX) && !ss58_prefix_valid(SS58_PREFIX_MAX + 1));
	CHECK(!ss58_prefix_valid(46) && !ss58_prefix_valid(47) && !ss58_prefix_valid(UINT16_MAX));
}

/* Every one-character substitution of a valid address is rejected (never another valid key). */
static void rejects_substitutions(void)
{
	const char *good = alice_vectors[2].addr;
	uint8_t pk[32];
	uint16_t prefix;
	size_t checksum_errors = 0, total = 0;
	for (size_t pos = 0; pos < strlen(good); pos++) {
		for (const char *c = b58; *c; c++) {
			if (*c == good[pos])
				continue;
			char s[SS58_ADDR_MAX];
			strcpy(s, good);
			s[pos] = *c;
			enum ss58_result r = ss58_decode(pk, &prefix, s);
			CHECK(r != SS58_OK);
			checksum_errors += r == SS58_BAD_CHECKSUM;
			total++;
		}
	}
	/* Most substitutions keep the length and prefix: the checksum is what catches them. */
	CHECK(checksum_errors > total / 2);
}

static void wrong_prefix_and_messages(void)
{
	uint8_t pk[32];
	CHECK(ss58_decode_expect(pk, SS58_PREFIX_PHALA, alice_vectors[3].addr) ==
	      SS58_WRONG_PREFIX);
	CHECK(ss58_decode_expect(pk, SS58_PREFIX_PHALA, alice_vectors[2].addr) == SS58_OK);
	CHECK(ss58_decode_expect(pk, SS58_PREFIX_PHALA, "0") == SS58_BAD_CHAR);
	for (int r = SS58_OK; r <= SS58_WRONG_PREFIX; r++)
		CHECK(strlen(ss58_strerror((enum ss58_result)r)) > 0);
	CHECK(strcmp(ss58_strerror((enum ss58_result)99), "unknown ss58 error") == 0);
	CHECK(strcmp(ss58_strerror(SS58_BAD_CHECKSUM), ss58_strerror(SS58_BAD_CHAR)) != 0);
}

CHECK_MAIN(CASE(known_vectors), CASE(round_trip_random), CASE(rejects_bad_chars),
           CASE(rejects_bad_lengths), CASE(rejects_bad_prefixes), CASE(rejects_substitutions),
           CASE(wrong_prefix_and_messages))
