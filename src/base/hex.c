#include "base/hex.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *hex_encode(char *out, const void *p, size_t n)
{
	return sodium_bin2hex(out, 2 * n + 1, p, n);
}

static const char *skip_prefix(const char *s)
{
	return (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
}

static bool hex_decode_into(uint8_t *out, size_t n, const char *s, size_t slen)
{
	size_t got = 0;
	const char *end = NULL;
	if (slen != 2 * n)
		return false;
	if (n == 0)
		return true;
	if (sodium_hex2bin(out, n, s, slen, NULL, &got, &end) != 0)
		return false;
	return got == n && end == s + slen;
}

bool hex_decode_exact(void *out, size_t n, const char *s)
{
	s = skip_prefix(s);
	return hex_decode_into(out, n, s, strlen(s));
}

bool hex_decode_alloc(uint8_t **out, size_t *len, const char *s, size_t max)
{
	s = skip_prefix(s);
	size_t slen = strlen(s);
	*out = NULL;
	*len = 0;
	if (slen % 2 || slen / 2 > max)
		return false;
	uint8_t *b = malloc(slen / 2 + 1);
	if (!b)
		return false;
	if (!hex_decode_into(b, slen / 2, s, slen)) {
		free(b);
		return false;
	}
	*out = b;
	*len = slen / 2;
	return true;
}
