#include "chain/feed.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_int.h"

void block_feed_encode(struct enc *e, const struct block_feed *f)
{
	header_encode(e, &f->header);
	struct enc sub;
	uint8_t buf[COMMIT_MAX_BYTES > VALSET_MAX_BYTES ? COMMIT_MAX_BYTES : VALSET_MAX_BYTES];
	enc_init_fixed(&sub, buf, sizeof(buf));
	commit_encode(&sub, &f->commit);
	enc_bytes(e, sub.buf, sub.len);
	enc_bool(e, f->has_next_set);
	if (f->has_next_set) {
		enc_init_fixed(&sub, buf, sizeof(buf));
		valset_encode(&sub, &f->next_set);
		enc_bytes(e, sub.buf, sub.len);
	}
	enc_uleb(e, f->n_msgs);
	for (size_t i = 0; i < f->n_msgs; i++)
		enc_bytes(e, f->msgs[i], f->msg_lens[i]);
}

/* A uleb-length-prefixed sub-encoding decoded by fn; its error becomes d's. */
static void feed_dec_sub(struct dec *d, size_t max,
                         enum block_result (*fn)(void *out, const uint8_t *b, size_t n), void *out)
{
	size_t len;
	const uint8_t *p = dec_bytes(d, &len, max);
	if (p)
		dec_fail(d, (enum codec_result)fn(out, p, len));
}

static enum block_result feed_commit_decode(void *out, const uint8_t *b, size_t n)
{
	return commit_decode(out, b, n);
}

static enum block_result feed_valset_decode(void *out, const uint8_t *b, size_t n)
{
	return valset_decode(out, b, n);
}

enum block_result block_feed_decode(struct block_feed *f, const uint8_t *b, size_t n)
{
	memset(f, 0, sizeof(*f));
	if (n > FEED_MAX_BYTES)
		return BLOCK_TOO_LARGE;
	struct dec d;
	dec_init(&d, b, n);
	const uint8_t *h = dec_view(&d, HEADER_LEN);
	if (h)
		dec_fail(&d, (enum codec_result)header_decode(&f->header, h, HEADER_LEN));
	feed_dec_sub(&d, COMMIT_MAX_BYTES, feed_commit_decode, &f->commit);
	f->has_next_set = dec_bool(&d);
	bool changes = memcmp(f->header.next_validators_hash, f->header.validators_hash, 32) != 0;
	if (d.err == CODEC_OK && f->has_next_set != changes)
		dec_fail(&d, CODEC_NONCANONICAL);
	if (f->has_next_set)
		feed_dec_sub(&d, VALSET_MAX_BYTES, feed_valset_decode, &f->next_set);
	block_dec_list(&d, FEED_MAX_MSGS, FEED_MAX_MSG_BYTES, NULL, &f->msgs, &f->msg_lens,
	               &f->n_msgs);
	enum codec_result r = dec_finish(&d);
	if (r != CODEC_OK)
		block_feed_release(f);
	return (enum block_result)r;
}

void block_feed_release(struct block_feed *f)
{
	free(f->msgs);
	free(f->msg_lens);
	f->msgs = NULL;
	f->msg_lens = NULL;
	f->n_msgs = 0;
}

void block_msgs_root(uint8_t out[BLOCK_HASH_LEN], const uint8_t *const *msgs, const size_t *lens,
                     size_t n)
{
	/* The same tree shape as the txs root, over the encoded messages. */
	block_txs_root(out, msgs, lens, n);
}

void feed_request_encode(uint8_t out[FEED_REQUEST_LEN], uint64_t from, uint16_t count)
{
	struct enc e;
	enc_init_fixed(&e, out, FEED_REQUEST_LEN);
	enc_u64(&e, from);
	enc_u16(&e, count);
	assert(enc_finish(&e) == CODEC_OK);
}

bool feed_request_decode(const uint8_t *b, size_t n, uint64_t *from, uint16_t *count)
{
	struct dec d;
	dec_init(&d, b, n);
	*from = dec_u64(&d);
	*count = dec_u16(&d);
	return dec_finish(&d) == CODEC_OK && *from >= 1 && *count >= 1 && *count <= FEED_BATCH_MAX;
}

enum codec_result feed_batch_decode(struct feed_batch *fb, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	fb->head = dec_u64(&d);
	fb->n = dec_u16(&d);
	if (d.err == CODEC_OK && fb->n > FEED_BATCH_MAX)
		dec_fail(&d, CODEC_TOO_LARGE);
	for (size_t i = 0; i < fb->n && d.err == CODEC_OK; i++) {
		fb->lens[i] = (size_t)dec_uleb(&d, FEED_MAX_BYTES);
		fb->feeds[i] = dec_view(&d, fb->lens[i]);
	}
	return dec_finish(&d);
}
