/*
 * PHA amounts: u128 counts of the smallest unit; 1 PHA = 10^12 units (AMOUNT_DECIMALS).
 * Text form is decimal PHA with at most 12 fractional digits: "1", "0.5",
 * "1000000000.000000000001".
 */
#ifndef TN_BASE_AMOUNT_H
#define TN_BASE_AMOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/codec.h"

#define AMOUNT_DECIMALS 12
#define AMOUNT_ONE_PHA  ((u128)1000000000000ULL)
/* Longest text of a u128 in either form, with NUL: 39 digits + '.' + NUL, rounded up. */
#define AMOUNT_STR_MAX 48

/* Parses decimal PHA text ("12.5") into units. Rejects empty strings, signs, exponents, more than
 * 12 fractional digits, leading/trailing junk and values above 2^128-1. */
bool amount_parse_pha(u128 *out, const char *s);
/* Parses a plain decimal integer count of units (no fraction). Same rejections. */
bool amount_parse_units(u128 *out, const char *s);
/* Formats units as PHA text with trailing fractional zeros trimmed ("1.5", "0", "3"). Returns out,
 * which must hold AMOUNT_STR_MAX bytes. */
char *amount_format_pha(char out[AMOUNT_STR_MAX], u128 units);
/* Formats units as a plain decimal integer. Returns out. */
char *amount_format_units(char out[AMOUNT_STR_MAX], u128 units);
/* *out = a + b; false (and *out untouched) on overflow. */
bool amount_add(u128 *out, u128 a, u128 b);
/* *out = a * b; false on overflow. */
bool amount_mul(u128 *out, u128 a, u128 b);

#endif
