/*
 * Message queue module (id 4; DESIGN.md §8; byte layouts in docs/protocol/runtime.md "Message
 * queue").
 *
 * A message is {origin, topic, payload, sequence}. Off-chain senders (workers, contracts,
 * gatekeepers, clusters) sign their messages; any account may relay them with mq.push, because
 * the chain checks the signature and that the sequence is exactly the sender's next one, so a
 * message is accepted once and in order, whoever relays it. Chain modules send messages too
 * (origin "module:<name>", unsigned: the block header commits them), with their own sequences.
 *
 * Topics starting with '^' are consumed by chain modules (a dispatch table in mod_mq.c); every
 * other message is appended to the block's outbound list, which the header commits to with
 * msgs_root and the node serves next to the block so enclaves can check it.
 *
 * A message whose signature and sequence pass always consumes its sequence: a consuming module
 * that refuses it (or no module for its '^' topic) does not roll the sequence back, or one
 * refused message would block every later message of its sender (for the gatekeepers, of all of
 * them). Instead mq appends a notice from "module:mq" on MQ_CONSUMED_TOPIC for every consumed
 * message, applied or refused, naming its origin, sequence, topic and the consumer's result, so
 * enclaves (which read no chain state) see that the sequence is taken and drop their copy.
 *
 * Per-block outbound list: kept in the state overlay under transient keys ("mq/out/..."), so a
 * call that fails or a tx that is skipped rolls its messages back with its writes. After the last
 * tx of a block the node calls mq_block_finish, which takes the list out of the overlay (deleting
 * the transient keys, so they never reach the state tree) and computes msgs_root.
 */
#ifndef TN_CHAIN_MQ_H
#define TN_CHAIN_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/runtime.h"
#include "chain/state.h"

#define MQ_SIGN_TAG        "tenebra/v1/mq-message"
#define MQ_TOPIC_MAX       128
#define MQ_PAYLOAD_MAX     (64 * 1024) /* a pushed message is further bounded by the tx size */
#define MQ_MODULE_NAME_MAX 32
#define MQ_PUSH_MAX        16 /* messages per mq.push */
#define MQ_BLOCK_MAX_MSGS  8192
#define MQ_BLOCK_MAX_BYTES (16u << 20) /* encoded outbound messages per block */
#define MQ_MESSAGE_MAX     (1 + 1 + MQ_MODULE_NAME_MAX + 2 + MQ_TOPIC_MAX + 3 + MQ_PAYLOAD_MAX + 8)
#define MQ_SEQ_PREFIX      "mq/seq/"
#define MQ_OUT_COUNT_KEY   "mq/out/n"
#define MQ_OUT_PREFIX      "mq/out/m"
#define MQ_CONSUMED_PREFIX '^'
#define MQ_MODULE_NAME     "mq"          /* origin "module:mq" of the consumed notices */
#define MQ_CONSUMED_TOPIC  "mq/consumed" /* payload: struct mq_consumed encoding */

enum { MQ_FN_PUSH = 0 }; /* payload: uleb count (1..MQ_PUSH_MAX) ‖ signed messages */

/* Origin kinds; the numbers are part of the protocol. */
enum mq_origin_kind {
	MQ_ORIGIN_WORKER = 0,   /* id = identity key; signed by it; a registered worker */
	MQ_ORIGIN_CONTRACT = 1, /* id = contract id; signed by its published Ed25519 key */
	MQ_ORIGIN_GATEKEEPER =
	    2,                 /* id = the signing gatekeeper's identity; ONE sequence shared by
	                          all gatekeepers (they emit the same messages; first one wins) */
	MQ_ORIGIN_CLUSTER = 3, /* cluster; signed by the cluster's published Ed25519 key */
	MQ_ORIGIN_MODULE = 4,  /* a chain module; never signed, never pushed by a tx */
};

struct mq_origin {
	uint8_t kind;
	uint8_t id[32];                      /* worker, contract, gatekeeper */
	uint32_t cluster;                    /* cluster */
	char module[MQ_MODULE_NAME_MAX + 1]; /* module: 1..32 of [a-z] */
};

/* A decoded message; topic and payload are borrowed from the bytes decoded. */
struct mq_message {
	struct mq_origin origin;
	const uint8_t *topic;
	size_t topic_len; /* 1..MQ_TOPIC_MAX bytes of 0x21..0x7e */
	const uint8_t *payload;
	size_t payload_len; /* 0..MQ_PAYLOAD_MAX */
	uint64_t sequence;
};

/* Appends the origin encoding: kind u8 ‖ id [32] (worker, contract, gatekeeper) | cluster u32 |
 * bytes(module name). */
void mq_origin_encode(struct enc *e, const struct mq_origin *o);
/* Appends the message encoding: origin ‖ bytes(topic) ‖ bytes(payload) ‖ sequence u64. This is
 * one item of a block's outbound list. */
void mq_message_encode(struct enc *e, const struct mq_message *m);
/* Decodes one message from d (a prefix of its input), checking topic and module name shapes. A
 * failure marks d failed (CODEC_NONCANONICAL for a bad kind, topic or name). */
void mq_message_read(struct dec *d, struct mq_message *m);
/* Decodes exactly b[0..n) as one message. Returns the codec result. */
enum codec_result mq_message_decode(struct mq_message *m, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* The notice of a consumed ('^' topic) message: origin ‖ sequence u64 ‖ bytes(topic) ‖ result u32,
 * where result is TX_OK (0) when the consumer applied it, else the consumer's call error (e.g.
 * TX_CALL_REG_KEY_CONFLICT, TX_CALL_MQ_UNKNOWN_TOPIC). topic is borrowed from the bytes decoded. */
struct mq_consumed {
	struct mq_origin origin;
	uint64_t sequence;
	const uint8_t *topic;
	size_t topic_len;
	uint32_t result;
};
void mq_consumed_encode(struct enc *e, const struct mq_consumed *c);
/* Decodes exactly b[0..n) (topic and origin shapes checked as for messages). Returns the codec
 * result. */
enum codec_result mq_consumed_decode(struct mq_consumed *c, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* The 32 bytes a sender signs: hash_tagged(MQ_SIGN_TAG, chain_id ‖ message encoding). */
void mq_signing_hash(uint8_t out[32], const uint8_t chain_id[32], const struct mq_message *m);
/* Appends message ‖ Ed25519 signature [64] by sk (libsodium layout) to e: a signed message as
 * mq.push carries it. For the enclave's egress queue and tests. */
void mq_sign_encode(struct enc *e, const uint8_t chain_id[32], const struct mq_message *m,
                    const uint8_t sk[64]);

/* The sequence the chain expects next from origin o (0 if it never sent): 1 read, 0 never sent
 * (*seq = 0), -1 storage error or malformed value. For RPC and hosts resubmitting egress. */
int mq_next_sequence(const struct state_reader *r, const struct mq_origin *o, uint64_t *seq)
    __attribute__((warn_unused_result));

/* Called by chain modules: appends a message from origin "module:<module>" to the block's
 * outbound list with the module's next sequence. Returns TX_OK, TX_STATE_FULL (the overlay or the
 * block's outbound cap is full: close the block), TX_NOMEM or TX_STORAGE. */
enum tx_result mq_emit(struct state_overlay *o, const char *module, const char *topic,
                       const void *payload, size_t len) __attribute__((warn_unused_result));

/* Number of messages in the block's outbound list so far. -1 on a storage error. */
long mq_outbound_count(struct state_overlay *o);

/* ---- for the node: end of block ---- */

/* Takes the block's outbound list out of o (deleting the transient keys) and writes it to out as
 * the block's message list: uleb count ‖ bytes(message encoding) for each, in order. Appends to
 * out (a growable encoder with max >= MQ_BLOCK_MAX_BYTES + 16 is always enough). root gets the
 * msgs_root: the merkle root (chain/merkle.h) over the message encodings (the empty root when
 * there are none). Call it once per block after the last tx, with no savepoint open, before
 * state_overlay_export; a node validating a block computes root the same way and compares it with
 * the header. Returns STATE_OK, STATE_FULL / STATE_NOMEM (overlay), STATE_STORAGE (a malformed
 * transient entry) or STATE_NOMEM when out failed. */
enum state_result mq_block_finish(struct state_overlay *o, struct enc *out, uint8_t root[32])
    __attribute__((warn_unused_result));

/* Checks a block's message list b[0..n) (as mq_block_finish writes it) and computes its root,
 * with the list decoder and root of block feeds (chain/feed.h). Returns CODEC_OK
 * with *count and root set, or the codec error (each item must decode as a message, count at
 * most MQ_BLOCK_MAX_MSGS). The caller compares root with the verified header's msgs_root. */
enum codec_result mq_list_root(const uint8_t *b, size_t n, size_t *count, uint8_t root[32])
    __attribute__((warn_unused_result));

#endif
