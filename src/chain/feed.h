/*
 * Block feeds: what a worker's host relays into the enclave for one block (docs/protocol/
 * worker.md "Block feed"). Everything in a feed is checkable by a light client that trusts the
 * previous header and its next validator set: the commit by commit_verify, the next set by
 * header.next_validators_hash, the messages by header.msgs_root.
 *
 *   header [HEADER_LEN]
 *   uleb commit_len ‖ commit            (the commit for this header, chain/block.h)
 *   has_next_set u8 (0/1) ‖ [uleb len ‖ valset]
 *                                       (present iff next_validators_hash != validators_hash)
 *   uleb n_msgs ‖ (uleb len ‖ message)* (the block's outbound messages, in order)
 *
 * The node builds feeds (it has all of this in its store); the enclave decodes them. Decoding
 * checks structure only; the light-client checks are the enclave's (enclave/).
 */
#ifndef TN_CHAIN_FEED_H
#define TN_CHAIN_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"

#define FEED_MAX_MSGS      65536
#define FEED_MAX_MSG_BYTES ((64u << 10) + 512) /* a message's payload cap plus its envelope */
#define FEED_MAX_BYTES     (8u << 20)

struct block_feed {
	struct header header;
	struct commit commit;
	bool has_next_set;
	struct valset next_set;
	size_t n_msgs;
	const uint8_t **msgs; /* malloc'ed array into the decoded buffer (see block_feed_decode) */
	size_t *msg_lens;
};

/* Appends the encoding. next_set is written iff f->has_next_set. */
void block_feed_encode(struct enc *e, const struct block_feed *f);
/* Decodes b[0..n) into f, borrowing b for the message bytes (b must outlive f). Errors: codec
 * errors and the block.h decoders' errors; BLOCK_TOO_LARGE over FEED_MAX_BYTES, FEED_MAX_MSGS or
 * FEED_MAX_MSG_BYTES; BLOCK_NONCANONICAL for has_next_set other than 0/1 or a next set given
 * when the header says the set does not change (or missing when it does). On error f holds no
 * allocation. Release with block_feed_release. */
enum block_result block_feed_decode(struct block_feed *f, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* Frees the message arrays (not the bytes). */
void block_feed_release(struct block_feed *f);
/*
 * Batches of feeds, as the node's POST /feeds serves them (docs/rpc.md "POST /feeds"):
 *
 *   request:  from u64 ‖ count u16          (from >= 1, 1 <= count <= FEED_BATCH_MAX)
 *   answer:   head u64 ‖ n u16 ‖ (uleb len ‖ feed)*n   (n <= count; feeds of from .. from+n-1)
 *
 * Integers little-endian. n is below count when the node's head or its byte cap came first.
 */
#define FEED_BATCH_MAX   64
#define FEED_REQUEST_LEN 10

void feed_request_encode(uint8_t out[FEED_REQUEST_LEN], uint64_t from, uint16_t count);
/* False unless b[0..n) is exactly a request within the bounds above. */
bool feed_request_decode(const uint8_t *b, size_t n, uint64_t *from, uint16_t *count)
    __attribute__((warn_unused_result));
/* One batch answer being read: feeds[i] (lens[i] bytes) borrow the answer's bytes. */
struct feed_batch {
	uint64_t head;
	size_t n;
	const uint8_t *feeds[FEED_BATCH_MAX];
	size_t lens[FEED_BATCH_MAX];
};
/* Decodes an answer's framing (not the feeds themselves: block_feed_decode does). CODEC_OK, or
 * CODEC_TRUNCATED, CODEC_TRAILING, CODEC_TOO_LARGE (more than FEED_BATCH_MAX feeds, or a feed
 * over FEED_MAX_BYTES) or CODEC_NONCANONICAL (a length in a redundant LEB128 form). */
enum codec_result feed_batch_decode(struct feed_batch *fb, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* The merkle root over merkle_leaf(msgs[i]), as header.msgs_root commits it. */
void block_msgs_root(uint8_t out[BLOCK_HASH_LEN], const uint8_t *const *msgs, const size_t *lens,
                     size_t n);

#endif
