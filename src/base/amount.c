#include "base/amount.h"

#include <string.h>

#define U128_MAX (~(u128)0)

bool amount_add(u128 *out, u128 a, u128 b)
{
	if (a > U128_MAX - b)
		return false;
	*out = a + b;
	return true;
}

bool amount_mul(u128 *out, u128 a, u128 b)
{
	if (a != 0 && b > U128_MAX / a)
		return false;
	*out = a * b;
	return true;
}

/* Accumulates the digits s[0..n) into *acc; false on a non-digit or overflow. */
static bool accumulate_digits(u128 *acc, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (!amount_mul(acc, *acc, 10) || !amount_add(acc, *acc, (u128)(s[i] - '0')))
			return false;
	}
	return true;
}

bool amount_parse_units(u128 *out, const char *s)
{
	u128 v = 0;
	size_t n = strlen(s);
	if (n == 0 || !accumulate_digits(&v, s, n))
		return false;
	*out = v;
	return true;
}

bool amount_parse_pha(u128 *out, const char *s)
{
	const char *dot = strchr(s, '.');
	size_t whole_len = dot ? (size_t)(dot - s) : strlen(s);
	size_t frac_len = dot ? strlen(dot + 1) : 0;
	u128 v = 0;
	if (whole_len == 0 || frac_len > AMOUNT_DECIMALS || (dot && frac_len == 0))
		return false;
	if (!accumulate_digits(&v, s, whole_len))
		return false;
	if (dot && !accumulate_digits(&v, dot + 1, frac_len))
		return false;
	for (size_t i = frac_len; i < AMOUNT_DECIMALS; i++)
		if (!amount_mul(&v, v, 10))
			return false;
	*out = v;
	return true;
}

char *amount_format_units(char out[AMOUNT_STR_MAX], u128 units)
{
	char tmp[AMOUNT_STR_MAX];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + (int)(units % 10));
		units /= 10;
	} while (units);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return out;
}

char *amount_format_pha(char out[AMOUNT_STR_MAX], u128 units)
{
	char whole[AMOUNT_STR_MAX];
	u128 frac = units % AMOUNT_ONE_PHA;
	amount_format_units(whole, units / AMOUNT_ONE_PHA);
	strcpy(out, whole);
	if (frac == 0)
		return out;
	char digits[AMOUNT_DECIMALS + 1];
	for (int i = AMOUNT_DECIMALS - 1; i >= 0; i--) {
		digits[i] = (char)('0' + (int)(frac % 10));
		frac /= 10;
	}
	int last = AMOUNT_DECIMALS - 1;
	while (digits[last] == '0')
		last--;
	digits[last + 1] = '\0';
	size_t n = strlen(out);
	out[n] = '.';
	strcpy(out + n + 1, digits);
	return out;
}
