/*
 * What the node serves to workers and to the CLI's worker/contract commands (docs/rpc.md
 * "Workers and contracts"): block feeds for enclaves (chain/feed.h), the genesis document, the
 * registry and contracts modules' records, message-queue sequences.
 *
 * It also keeps what a feed needs beside the block, in the block store's meta table and in the
 * block's LMDB transaction: the block's outbound message list (chain/mq.h mq_block_finish
 * output) under "msgs/<height as 16 hex digits>" (absent = no messages), and, for a block whose
 * header changes the validator set, the next set (valset_encode) under "vset/<height>". The
 * state keeps only the last two sets; these records let a worker sync from genesis however
 * often the set changed.
 */
#ifndef TN_NODE_NODE_FEED_H
#define TN_NODE_NODE_FEED_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"
#include "rpc/rpc.h"
#include "store/blockstore.h"

#define NODE_FEED_MAX_BYTES (6u << 20) /* feed bytes in one answer, past which no feed is added */
#define NODE_FEED_LIST_MAX  1000       /* records in one worker_list / contract_list page */

/* Stores in txn what the feed of block h needs beside the block: its outbound message list
 * msgs[0..len) (uleb count ‖ bytes(message)*; an empty list stores nothing) and, when
 * h->next_validators_hash differs from h->validators_hash, `next` (the set that signs h + 1).
 * Returns the store's result. */
enum bstore_result node_feed_put(struct bstore *b, MDB_txn *txn, const struct header *h,
                                 const struct valset *next, const uint8_t *msgs, size_t len);

enum node_feed_result {
	NODE_FEED_OK = 0,
	NODE_FEED_NO_BLOCK, /* no block at this height (past the head) */
	NODE_FEED_NO_SET,   /* the block changes the set but no record of the set is stored */
	NODE_FEED_STORE,    /* a read failed or a stored record is malformed */
	NODE_FEED_TOO_LARGE,
};

/* Appends the feed of block `height` (chain/feed.h), read in txn, to e (which may be left
 * partly written on error). Errors: NODE_FEED_NO_BLOCK, NODE_FEED_NO_SET, NODE_FEED_STORE,
 * NODE_FEED_TOO_LARGE (e's cap). */
enum node_feed_result node_feed_build(struct bstore *b, MDB_txn *txn, uint64_t height,
                                      struct enc *e);

/* The RPC handlers (rpc/rpc.h rpc_handler; app is the struct node). */
int node_m_chain_genesis(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_chain_feed(void *app, json_t *params, json_t **result, struct rpc_error *err);
/* POST /feeds (rpc/rpc.h rpc_post_handler; app is the struct node): the feeds chain_feed
 * serves, as a binary batch (chain/feed.h); 400 for a malformed request, 404 when a feed's set
 * was never recorded, 500 for a storage error, each with a JSON error body. */
void node_post_feeds(void *app, const uint8_t *body, size_t len, struct rpc_get_reply *r);
int node_m_worker_get(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_worker_list(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_contract_get(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_contract_list(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_mq_sequence(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_registry_policy(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_registry_info(void *app, json_t *params, json_t **result, struct rpc_error *err);

/* The rows node_rpc.c puts in its method table. */
#define NODE_FEED_METHODS                                                                          \
	{"chain_genesis", node_m_chain_genesis, "-> {chain_id, json}: the genesis document"},      \
	    {"chain_feed", node_m_chain_feed,                                                      \
	     "[height, count?] -> {head, feeds: [hex]}: block feeds for enclaves"},                \
	    {"worker_get", node_m_worker_get, "[identity] -> registered worker"},                  \
	    {"worker_list", node_m_worker_list, "[offset?, limit?] -> {total, workers}"},          \
	    {"contract_get", node_m_contract_get, "[id] -> deployed contract and its keys"},       \
	    {"contract_list", node_m_contract_list, "[offset?, limit?] -> {total, contracts}"},    \
	    {"mq_sequence", node_m_mq_sequence, "[origin] -> {origin, next}: next sequence"},      \
	    {"registry_policy", node_m_registry_policy, "-> the attestation policy"},              \
	{                                                                                          \
		"registry_info", node_m_registry_info,                                             \
		    "[cluster?] -> gatekeepers, master key (and a cluster's keys)"                 \
	}

#endif
