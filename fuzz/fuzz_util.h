/* Shared by the fuzz targets: the round-trip property every canonical decoder must have. */
#ifndef TN_FUZZ_UTIL_H
#define TN_FUZZ_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "base/codec.h"

/* Aborts unless e (the re-encoding of a decoded value) equals data[0..size) byte for byte, then
 * releases e. A canonical codec admits one spelling per value, so anything else is a bug. */
static inline void fuzz_same_or_abort(struct enc *e, const uint8_t *data, size_t size)
{
	/* memcmp with a NULL pointer is undefined even for 0 bytes; an empty encoding has none */
	if (enc_finish(e) != CODEC_OK || e->len != size ||
	    (size > 0 && memcmp(e->buf, data, size) != 0))
		abort();
	enc_release(e);
}

#endif
