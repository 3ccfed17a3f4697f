/* Lower-case hex encoding (constant time, via libsodium) with an optional "0x" prefix on input. */
#ifndef TN_BASE_HEX_H
#define TN_BASE_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes 2*n hex digits and a NUL into out (which holds at least 2*n+1 bytes); returns out. */
char *hex_encode(char *out, const void *p, size_t n);
/* Decodes exactly n bytes from s (optionally "0x"-prefixed, even length, no other characters).
 * Returns false, leaving out unspecified, on any other input. */
bool hex_decode_exact(void *out, size_t n, const char *s);
/* Decodes a hex string of any length up to max bytes into a fresh malloc'ed buffer (*out, caller
 * frees). Returns false on bad input or when longer than max. An empty string gives *len == 0. */
bool hex_decode_alloc(uint8_t **out, size_t *len, const char *s, size_t max);

#endif
