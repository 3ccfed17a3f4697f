#include "base/codec.h"

#include <stdlib.h>
#include <string.h>

const char *codec_strerror(enum codec_result r)
{
	switch (r) {
	case CODEC_OK:
		return "ok";
	case CODEC_TRUNCATED:
		return "input is truncated";
	case CODEC_NONCANONICAL:
		return "encoding is not canonical";
	case CODEC_TOO_LARGE:
		return "value exceeds its size limit";
	case CODEC_TRAILING:
		return "trailing bytes after the last value";
	case CODEC_NOMEM:
		return "out of memory";
	}
	return "unknown codec error";
}

void enc_init(struct enc *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
}

void enc_init_fixed(struct enc *e, uint8_t *buf, size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->cap = cap;
	e->max = cap;
	e->fixed = true;
}

void enc_release(struct enc *e)
{
	if (!e->fixed)
		free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
}

enum codec_result enc_finish(const struct enc *e)
{
	return e->err;
}

static bool enc_reserve(struct enc *e, size_t n)
{
	if (e->err != CODEC_OK)
		return false;
	if (n > e->max - e->len) {
		e->err = CODEC_TOO_LARGE;
		return false;
	}
	if (e->len + n <= e->cap)
		return true;
	if (e->fixed) {
		e->err = CODEC_TOO_LARGE;
		return false;
	}
	size_t cap = e->cap ? e->cap : 64;
	while (cap < e->len + n)
		cap *= 2;
	if (cap > e->max)
		cap = e->max;
	uint8_t *nb = realloc(e->buf, cap);
	if (!nb) {
		e->err = CODEC_NOMEM;
		return false;
	}
	e->buf = nb;
	e->cap = cap;
	return true;
}

void enc_raw(struct enc *e, const void *p, size_t n)
{
	if (n == 0 || !enc_reserve(e, n))
		return;
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void enc_le(struct enc *e, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	enc_raw(e, b, n);
}

void enc_u8(struct enc *e, uint8_t v)
{
	enc_raw(e, &v, 1);
}

void enc_bool(struct enc *e, bool v)
{
	enc_u8(e, v ? 1 : 0);
}

void enc_u16(struct enc *e, uint16_t v)
{
	enc_le(e, v, 2);
}

void enc_u32(struct enc *e, uint32_t v)
{
	enc_le(e, v, 4);
}

void enc_u64(struct enc *e, uint64_t v)
{
	enc_le(e, v, 8);
}

void enc_u128(struct enc *e, u128 v)
{
	enc_le(e, (uint64_t)v, 8);
	enc_le(e, (uint64_t)(v >> 64), 8);
}

void enc_uleb(struct enc *e, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		b[n++] = byte | (v ? 0x80 : 0);
	} while (v);
	enc_raw(e, b, n);
}

void enc_bytes(struct enc *e, const void *p, size_t n)
{
	enc_uleb(e, n);
	enc_raw(e, p, n);
}

void dec_init(struct dec *d, const void *p, size_t len)
{
	d->p = p;
	d->len = len;
	d->pos = 0;
	d->err = CODEC_OK;
}

enum codec_result dec_finish(const struct dec *d)
{
	if (d->err != CODEC_OK)
		return d->err;
	return d->pos == d->len ? CODEC_OK : CODEC_TRAILING;
}

size_t dec_remaining(const struct dec *d)
{
	return d->err == CODEC_OK ? d->len - d->pos : 0;
}

void dec_fail(struct dec *d, enum codec_result r)
{
	if (d->err == CODEC_OK)
		d->err = r;
}

const uint8_t *dec_view(struct dec *d, size_t n)
{
	if (d->err != CODEC_OK)
		return NULL;
	if (n > d->len - d->pos) {
		d->err = CODEC_TRUNCATED;
		return NULL;
	}
	const uint8_t *v = d->p + d->pos;
	d->pos += n;
	return v;
}

void dec_raw(struct dec *d, void *out, size_t n)
{
	const uint8_t *v = dec_view(d, n);
	if (v)
		memcpy(out, v, n);
	else if (n)
		memset(out, 0, n);
}

static uint64_t dec_le(struct dec *d, size_t n)
{
	const uint8_t *v = dec_view(d, n);
	uint64_t r = 0;
	if (!v)
		return 0;
	for (size_t i = 0; i < n; i++)
		r |= (uint64_t)v[i] << (8 * i);
	return r;
}

uint8_t dec_u8(struct dec *d)
{
	return (uint8_t)dec_le(d, 1);
}

bool dec_bool(struct dec *d)
{
	uint8_t v = dec_u8(d);
	if (v > 1)
		dec_fail(d, CODEC_NONCANONICAL);
	return v == 1;
}

uint16_t dec_u16(struct dec *d)
{
	return (uint16_t)dec_le(d, 2);
}

uint32_t dec_u32(struct dec *d)
{
	return (uint32_t)dec_le(d, 4);
}

uint64_t dec_u64(struct dec *d)
{
	return dec_le(d, 8);
}

u128 dec_u128(struct dec *d)
{
	u128 lo = dec_le(d, 8);
	u128 hi = dec_le(d, 8);
	return lo | (hi << 64);
}

uint64_t dec_uleb(struct dec *d, uint64_t max)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		const uint8_t *b = dec_view(d, 1);
		if (!b)
			return 0;
		uint64_t part = *b & 0x7f;
		if (shift == 63 && part > 1) {
			d->err = CODEC_NONCANONICAL;
			return 0;
		}
		v |= part << shift;
		if (!(*b & 0x80)) {
			/* A final zero byte after the first is a redundant (non-shortest) spelling.
			 */
			if (*b == 0 && shift != 0) {
				d->err = CODEC_NONCANONICAL;
				return 0;
			}
			if (v > max) {
				d->err = CODEC_TOO_LARGE;
				return 0;
			}
			return v;
		}
	}
	d->err = CODEC_NONCANONICAL;
	return 0;
}

const uint8_t *dec_bytes(struct dec *d, size_t *n, size_t max)
{
	uint64_t len = dec_uleb(d, max);
	*n = 0;
	if (d->err != CODEC_OK)
		return NULL;
	const uint8_t *v = dec_view(d, (size_t)len);
	if (v)
		*n = (size_t)len;
	return v;
}
