/* Amounts with any number of decimals (cli_int.h cli_amount_parse / cli_amount_format), on top of
 * base/amount.h's integer parsing and formatting. */
#include <assert.h>
#include <string.h>

#include "cli/cli_int.h"

bool cli_amount_parse(u128 *out, const char *s, unsigned decimals)
{
	char digits[CLI_AMOUNT_TEXT_MAX + CLI_DECIMALS_MAX + 1];
	assert(decimals <= CLI_DECIMALS_MAX);
	size_t n = strlen(s);
	const char *dot = strchr(s, '.');
	size_t whole = dot ? (size_t)(dot - s) : n, frac = dot ? n - whole - 1 : 0;
	if (n > CLI_AMOUNT_TEXT_MAX || whole == 0 || (dot && (frac == 0 || frac > decimals)))
		return false;
	/* "12.5" with 3 decimals is the integer 12500: the digits without the dot, zero-padded. */
	memcpy(digits, s, whole);
	memcpy(digits + whole, s + whole + (dot ? 1 : 0), frac);
	memset(digits + whole + frac, '0', decimals - frac);
	digits[whole + decimals] = '\0';
	return amount_parse_units(out, digits);
}

char *cli_amount_format(char out[CLI_AMOUNT_STR_MAX], u128 v, unsigned decimals)
{
	char digits[AMOUNT_STR_MAX];
	assert(decimals <= CLI_DECIMALS_MAX);
	size_t n = strlen(amount_format_units(digits, v));
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
