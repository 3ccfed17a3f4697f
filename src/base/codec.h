/*
 * Canonical binary codec (DESIGN.md §6, docs/protocol.md "Primitive encodings").
 *
 * Integers are little-endian and fixed width; lengths and counts are unsigned LEB128 in their
 * shortest form; u128 amounts are 16 bytes little-endian. A decoder accepts only the one canonical
 * encoding of a value, so decode -> encode round-trips byte for byte and no message has two
 * spellings (no malleability).
 *
 * Encoder: writes into a buffer it grows up to a fixed cap set at init; an encoder whose write
 * would pass the cap (or fails to allocate) becomes failed, ignores later writes, and reports
 * CODEC_TOO_LARGE from enc_finish. Callers therefore check once, at the end.
 *
 * Decoder: reads from a borrowed buffer; the first error sticks (later reads return zeros) and is
 * reported by dec_finish, which also rejects trailing bytes.
 */
#ifndef TN_BASE_CODEC_H
#define TN_BASE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 u128;

enum codec_result {
	CODEC_OK = 0,
	CODEC_TRUNCATED,    /* input ended inside a value */
	CODEC_NONCANONICAL, /* a LEB128 with redundant bytes, a bool not 0/1, an unknown tag */
	CODEC_TOO_LARGE,    /* a length or count above the caller's cap, or encoder cap reached */
	CODEC_TRAILING,     /* bytes left after the last value */
	CODEC_NOMEM,        /* allocation failed */
};

/* A static English message for r; never NULL. */
const char *codec_strerror(enum codec_result r);

struct enc {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;
	bool fixed; /* buf is caller-owned and cannot grow */
	enum codec_result err;
};

/* Growable encoder whose output may not exceed max bytes. Release with enc_release. */
void enc_init(struct enc *e, size_t max);
/* Encoder over caller memory buf[0..cap); never allocates; enc_release is a no-op for it. */
void enc_init_fixed(struct enc *e, uint8_t *buf, size_t cap);
/* Frees a growable encoder's buffer (wiping nothing: never encode secrets with a growable enc). */
void enc_release(struct enc *e);
/* CODEC_OK or the first error. The output is e->buf[0..e->len). */
enum codec_result enc_finish(const struct enc *e);

void enc_u8(struct enc *e, uint8_t v);
void enc_bool(struct enc *e, bool v);
void enc_u16(struct enc *e, uint16_t v);
void enc_u32(struct enc *e, uint32_t v);
void enc_u64(struct enc *e, uint64_t v);
void enc_u128(struct enc *e, u128 v);
void enc_uleb(struct enc *e, uint64_t v);
/* n raw bytes, no length. */
void enc_raw(struct enc *e, const void *p, size_t n);
/* LEB128 length, then the bytes. */
void enc_bytes(struct enc *e, const void *p, size_t n);

struct dec {
	const uint8_t *p;
	size_t len;
	size_t pos;
	enum codec_result err;
};

void dec_init(struct dec *d, const void *p, size_t len);
/* CODEC_OK if every read succeeded and no byte is left, else the first error or CODEC_TRAILING. */
enum codec_result dec_finish(const struct dec *d);
/* Bytes not yet read. */
size_t dec_remaining(const struct dec *d);

uint8_t dec_u8(struct dec *d);
bool dec_bool(struct dec *d);
uint16_t dec_u16(struct dec *d);
uint32_t dec_u32(struct dec *d);
uint64_t dec_u64(struct dec *d);
u128 dec_u128(struct dec *d);
/* Shortest-form LEB128 not above max; else CODEC_NONCANONICAL or CODEC_TOO_LARGE. */
uint64_t dec_uleb(struct dec *d, uint64_t max);
/* Copies n bytes into out (zeros on error). */
void dec_raw(struct dec *d, void *out, size_t n);
/* Borrows n bytes in place; returns NULL on error. */
const uint8_t *dec_view(struct dec *d, size_t n);
/* LEB128 length (<= max) then borrows that many bytes; *n gets the length. NULL on error. */
const uint8_t *dec_bytes(struct dec *d, size_t *n, size_t max);
/* Marks the decoder failed with r (first error wins); for semantic checks by callers. */
void dec_fail(struct dec *d, enum codec_result r);

#endif
