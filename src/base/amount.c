#include "base/amount.h"

#include <assert.h>
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

bool amount_parse_decimal(u128 *out, const char *s, unsigned decimals)
{
	char digits[AMOUNT_TEXT_MAX + AMOUNT_DECIMALS_MAX + 1];
	assert(decimals <= AMOUNT_DECIMALS_MAX);
	size_t n = strlen(s);
	const char *dot = strchr(s, '.');
	size_t whole = dot ? (size_t)(dot - s) : n, frac = dot ? n - whole - 1 : 0;
	if (n > AMOUNT_TEXT_MAX || whole == 0 || (dot && (frac == 0 || frac > decimals)))
		return false;
	/* "12.5" with 3 decimals is the integer 12500: the digits without the dot, zero-padded. */
	memcpy(digits, s, whole);
	memcpy(digits + whole, s + whole + (dot ? 1 : 0), frac);
	memset(digits + whole + frac, '0', decimals - frac);
	digits[whole + decimals] = '\0';
	return amount_parse_units(out, digits);
}

bool amount_parse_pha(u128 *out, const char *s)
{
	return amount_parse_decimal(out, s, AMOUNT_DECIMALS);
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

char *amount_format_decimal(char out[AMOUNT_STR_MAX], u128 units, unsigned decimals)
{
	char digits[AMOUNT_STR_MAX];
	assert(decimals <= AMOUNT_DECIMALS_MAX);
	size_t n = strlen(amount_format_units(digits, units));
	size_t pad = n <= decimals ? decimals + 1 - n : 0; /* leading zeros: 5 -> "0.05" */
	size_t whole = n + pad - decimals;
	memset(out, '0', pad);
	memcpy(out + pad, digits, n + 1);
	if (decimals == 0)
		return out;
	memmove(out + whole + 1, out + whole, decimals + 1);
	out[whole] = '.';
	size_t end = whole + 1 + decimals;
	while (out[end - 1] == '0')
		end--;
	if (out[end - 1] == '.')
		end--;
	out[end] = '\0';
	return out;
}

char *amount_format_pha(char out[AMOUNT_STR_MAX], u128 units)
{
	return amount_format_decimal(out, units, AMOUNT_DECIMALS);
}
