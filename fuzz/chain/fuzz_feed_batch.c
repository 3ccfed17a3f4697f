/* The framing of POST /feeds (chain/feed.h): input byte 0 even = a request body, odd = an answer
 * (the rest of the input). A request that decodes must re-encode to the same bytes; an answer's
 * feeds must lie inside the input, end to end, and each goes through block_feed_decode as a
 * worker's enclave would take it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain/feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request(const uint8_t *b, size_t n)
{
	uint64_t from;
	uint16_t count;
	uint8_t again[FEED_REQUEST_LEN];
	if (!feed_request_decode(b, n, &from, &count))
		return;
	feed_request_encode(again, from, count);
	if (n != FEED_REQUEST_LEN || memcmp(again, b, n) != 0 || from == 0 || count == 0 ||
	    count > FEED_BATCH_MAX)
		abort();
}

static void answer(const uint8_t *b, size_t n)
{
	static struct feed_batch fb;
	if (feed_batch_decode(&fb, b, n) != CODEC_OK)
		return;
	const uint8_t *at = b + 10;
	for (size_t i = 0; i < fb.n; i++) {
		if (fb.feeds[i] < at || fb.lens[i] > FEED_MAX_BYTES ||
		    (size_t)(fb.feeds[i] - b) + fb.lens[i] > n)
			abort();
		at = fb.feeds[i] + fb.lens[i];
		struct block_feed f;
		if (block_feed_decode(&f, fb.feeds[i], fb.lens[i]) == BLOCK_OK)
			block_feed_release(&f);
	}
	if (at != b + n)
		abort(); /* nothing after the last feed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		request(data + 1, size - 1);
	else
		answer(data + 1, size - 1);
	return 0;
}
