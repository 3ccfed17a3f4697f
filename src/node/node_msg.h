/*
 * The node's peer messages (docs/protocol/node-p2p.md) as values: the one place where bytes from
 * peers are decoded, without I/O or state, so the engine, the gossip thread, the WAL replay and
 * the fuzz target (fuzz/node/fuzz_node_msgs.c) share it. Decoding checks structure only
 * (canonical encodings, no trailing bytes, caps); signatures, heights and blocks are judged by
 * the engine.
 */
#ifndef TN_NODE_NODE_MSG_H
#define TN_NODE_NODE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"
#include "consensus/cons.h"

/* Channels. */
enum { NODE_CH_TX = 1, NODE_CH_CONS = 2, NODE_CH_SYNC = 3 };
/* NODE_CH_CONS message types (first byte). */
enum { NODE_MSG_PROPOSAL = 1, NODE_MSG_VOTE = 2 };
/* NODE_CH_SYNC message types. */
enum { NODE_MSG_STATUS = 1, NODE_MSG_GET_BLOCKS = 2, NODE_MSG_BLOCK = 3 };

#define NODE_SYNC_BATCH 16 /* blocks asked for in one GET_BLOCKS, at most */

/* One consensus or sync message. Which fields are meaningful depends on type; block and
 * commit_bytes point into the decoded buffer. */
struct node_msg {
	uint8_t channel; /* NODE_CH_CONS or NODE_CH_SYNC */
	uint8_t type;
	struct cons_proposal proposal; /* PROPOSAL */
	struct cons_vote vote;         /* VOTE */
	uint64_t height;               /* STATUS: the sender's head; GET_BLOCKS: from; BLOCK */
	uint16_t count;                /* GET_BLOCKS: 1..NODE_SYNC_BATCH */
	const uint8_t *block;          /* PROPOSAL (at least a header long), BLOCK */
	size_t block_len;
	const uint8_t *commit_bytes; /* BLOCK: the commit, decoded into commit */
	size_t commit_len;
	struct commit commit;
};

/* Decodes m[0..len), a message of `channel` (type byte first), into *out. false for an unknown
 * channel or type, a malformed or non-canonical body, trailing bytes, a PROPOSAL whose block is
 * shorter than a header, a BLOCK of height 0 or GET_BLOCKS from 0 or with count outside
 * 1..NODE_SYNC_BATCH. */
bool node_msg_decode(struct node_msg *out, uint8_t channel, const uint8_t *m, size_t len)
    __attribute__((warn_unused_result));
/* Appends the encoding of m (type byte first; the bytes node_msg_decode accepts). */
void node_msg_encode(struct enc *e, const struct node_msg *m);

/* The hello blob of the p2p handshake: the sender's committed height (u64). */
bool node_msg_hello_decode(const uint8_t *b, size_t len, uint64_t *height)
    __attribute__((warn_unused_result));

/* A transaction batch (channel NODE_CH_TX: (uleb len ‖ tx [len])*, each len <= TX_MAX_BYTES).
 * Takes up to max txs from *d into txs/lens (pointers into the batch) and returns how many; a
 * malformed length ends the batch (d->err is then set, and what came before it is still
 * returned). */
size_t node_msg_tx_batch(struct dec *d, const uint8_t **txs, size_t *lens, size_t max);

#endif
