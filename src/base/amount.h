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

/* Amounts with `decimals` fractional digits (0..AMOUNT_DECIMALS_MAX): PHA has 12, a token its
 * own. */
#define AMOUNT_DECIMALS_MAX 38 /* 10^38 still fits in a u128 */
#define AMOUNT_TEXT_MAX     80 /* longest amount text accepted */
/* Parses decimal text ("12.5") into units: value * 10^decimals. Rejects empty text, signs,
 * exponents, a bare ".5" or "1.", more than `decimals` fractional digits (any dot when decimals
 * is 0), text over AMOUNT_TEXT_MAX characters, junk and values above 2^128 - 1. */
bool amount_parse_decimal(u128 *out, const char *s, unsigned decimals);
/* Formats units as decimal text with `decimals` digits, trailing fractional zeros trimmed
 * ("1.5", "0.05", "3"). Returns out, which must hold AMOUNT_STR_MAX bytes. */
char *amount_format_decimal(char out[AMOUNT_STR_MAX], u128 units, unsigned decimals);
/* Parses decimal PHA text ("12.5") into units: amount_parse_decimal with 12 decimals. */
bool amount_parse_pha(u128 *out, const char *s);
/* Parses a plain decimal integer count of units (no fraction). Same rejections. */
bool amount_parse_units(u128 *out, const char *s);
/* Formats units as PHA text with trailing fractional zeros trimmed ("1.5", "0", "3"):
 * amount_format_decimal with 12 decimals. Returns out, which must hold AMOUNT_STR_MAX bytes. */
char *amount_format_pha(char out[AMOUNT_STR_MAX], u128 units);
/* Formats units as a plain decimal integer. Returns out. */
char *amount_format_units(char out[AMOUNT_STR_MAX], u128 units);
/* *out = a + b; false (and *out untouched) on overflow. */
bool amount_add(u128 *out, u128 a, u128 b);
/* *out = a * b; false on overflow. */
bool amount_mul(u128 *out, u128 a, u128 b);

#endif
