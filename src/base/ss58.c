#include "base/ss58.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define CHECKSUM_LEN 2
/* prefix (1 or 2) + key + checksum */
#define RAW_MAX    (2 + SS58_PK_LEN + CHECKSUM_LEN)
#define ADDR_CHARS (SS58_ADDR_MAX - 1)

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static const char *const messages[] = {
    [SS58_OK] = "ok",
    [SS58_BAD_CHAR] = "address contains a character outside the base58 alphabet",
    [SS58_BAD_LENGTH] = "address does not encode a 32-byte public key",
    [SS58_BAD_PREFIX] = "address has an invalid or reserved network prefix",
    [SS58_BAD_CHECKSUM] = "address checksum does not match",
    [SS58_WRONG_PREFIX] = "address belongs to another network",
};

const char *ss58_strerror(enum ss58_result r)
{
	if ((size_t)r >= sizeof(messages) / sizeof(messages[0]) || !messages[r])
		return "unknown ss58 error";
	return messages[r];
}

bool ss58_prefix_valid(uint16_t prefix)
{
	return prefix <= SS58_PREFIX_MAX && prefix != 46 && prefix != 47;
}

static void checksum(uint8_t out[CHECKSUM_LEN], const uint8_t *p, size_t n)
{
	static const uint8_t pre[] = {'S', 'S', '5', '8', 'P', 'R', 'E'};
	uint8_t h[crypto_generichash_blake2b_BYTES_MAX];
	crypto_generichash_blake2b_state st;
	crypto_generichash_blake2b_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_blake2b_update(&st, pre, sizeof(pre));
	crypto_generichash_blake2b_update(&st, p, n);
	crypto_generichash_blake2b_final(&st, h, sizeof(h));
	memcpy(out, h, CHECKSUM_LEN);
}

/* Substrate's two-byte form packs the 14-bit id as 01aaaaaa bbcccccc, where aaaaaa are bits 2..7,
 * bb bits 0..1 and cccccc bits 8..13 of the id. */
static size_t prefix_put(uint8_t *out, uint16_t id)
{
	if (id < 64) {
		out[0] = (uint8_t)id;
		return 1;
	}
	out[0] = (uint8_t)(0x40 | ((id & 0xfc) >> 2));
	out[1] = (uint8_t)((id >> 8) | ((id & 0x03) << 6));
	return 2;
}

static enum ss58_result prefix_get(const uint8_t *raw, size_t n, uint16_t *id, size_t *len)
{
	if (raw[0] >= 128)
		return SS58_BAD_PREFIX;
	if (raw[0] < 64) {
		*id = raw[0];
		*len = 1;
	} else {
		*id = (uint16_t)(((raw[0] & 0x3f) << 2) | (raw[1] >> 6) | ((raw[1] & 0x3f) << 8));
		*len = 2;
		if (*id < 64) /* a second spelling of a one-byte id */
			return SS58_BAD_PREFIX;
	}
	if (n != *len + SS58_PK_LEN + CHECKSUM_LEN)
		return SS58_BAD_LENGTH;
	return ss58_prefix_valid(*id) ? SS58_OK : SS58_BAD_PREFIX;
}

/* Bitcoin base58 of raw[0..n): each leading zero byte is a '1', the rest is the big-endian number
 * in base 58 without leading zero digits. Returns the length written to out (NUL-terminated). */
static size_t base58_encode(char *out, const uint8_t *raw, size_t n)
{
	uint8_t digits[ADDR_CHARS] = {0}; /* little-endian base-58 digits */
	size_t nd = 0, zeros = 0, len = 0;
	while (zeros < n && raw[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = raw[i];
		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		for (; carry; carry /= 58) {
			assert(nd < sizeof(digits));
			digits[nd++] = (uint8_t)(carry % 58);
		}
	}
	for (size_t i = 0; i < zeros; i++)
		out[len++] = '1';
	while (nd)
		out[len++] = alphabet[digits[--nd]];
	out[len] = '\0';
	return len;
}

/* Inverse of base58_encode for strings of at most ADDR_CHARS characters: writes the bytes to
 * raw[0..RAW_MAX) and their count to *n. A value needing more than RAW_MAX bytes is BAD_LENGTH. */
static enum ss58_result base58_decode(uint8_t raw[RAW_MAX], size_t *n, const char *s, size_t len)
{
	uint8_t num[RAW_MAX + 2] = {0}; /* big-endian; 58^49 < 2^288 fits in 36 bytes, +2 spare */
	size_t zeros = 0;
	while (zeros < len && s[zeros] == '1')
		zeros++;
	for (size_t i = 0; i < len; i++) {
		const char *d = strchr(alphabet, s[i]); /* s[i] != NUL: i < strnlen */
		if (!d)
			return SS58_BAD_CHAR;
		unsigned carry = (unsigned)(d - alphabet);
		for (size_t j = sizeof(num); j-- > 0;) {
			carry += 58u * num[j];
			num[j] = (uint8_t)carry;
			carry >>= 8;
		}
		assert(carry == 0);
	}
	size_t skip = 0;
	while (skip < sizeof(num) && num[skip] == 0)
		skip++;
	*n = zeros + sizeof(num) - skip;
	if (*n > RAW_MAX)
		return SS58_BAD_LENGTH;
	memset(raw, 0, zeros);
	memcpy(raw + zeros, num + skip, sizeof(num) - skip);
	return SS58_OK;
}

size_t ss58_encode(char *out, size_t cap, uint16_t prefix, const uint8_t pk[SS58_PK_LEN])
{
	assert(cap >= SS58_ADDR_MAX);
	assert(ss58_prefix_valid(prefix));
	(void)cap;
	uint8_t raw[RAW_MAX];
	size_t n = prefix_put(raw, prefix);
	memcpy(raw + n, pk, SS58_PK_LEN);
	n += SS58_PK_LEN;
	checksum(raw + n, raw, n);
	return base58_encode(out, raw, n + CHECKSUM_LEN);
}

enum ss58_result ss58_decode(uint8_t pk[SS58_PK_LEN], uint16_t *prefix, const char *s)
{
	uint8_t raw[RAW_MAX], sum[CHECKSUM_LEN];
	size_t len = strnlen(s, ADDR_CHARS + 1), n, plen;
	if (len > ADDR_CHARS)
		return SS58_BAD_LENGTH;
	enum ss58_result r = base58_decode(raw, &n, s, len);
	if (r == SS58_OK && n < 1 + SS58_PK_LEN + CHECKSUM_LEN)
		r = SS58_BAD_LENGTH;
	if (r == SS58_OK)
		r = prefix_get(raw, n, prefix, &plen);
	if (r != SS58_OK)
		return r;
	checksum(sum, raw, plen + SS58_PK_LEN);
	if (memcmp(sum, raw + plen + SS58_PK_LEN, CHECKSUM_LEN) != 0)
		return SS58_BAD_CHECKSUM;
	memcpy(pk, raw + plen, SS58_PK_LEN);
	return SS58_OK;
}

enum ss58_result ss58_decode_expect(uint8_t pk[SS58_PK_LEN], uint16_t expected, const char *s)
{
	uint16_t got;
	enum ss58_result r = ss58_decode(pk, &got, s);
	if (r == SS58_OK && got != expected)
		return SS58_WRONG_PREFIX;
	return r;
}
