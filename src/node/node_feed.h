/*
 * What the node serves to workers and to the CLI's worker/contract commands (docs/rpc.md
 * "Workers and contracts"): block feeds for enclaves (chain/feed.h), the genesis document, the
 * registry and contracts modules' records, message-queue sequences.
 *
 * It also keeps each block's outbound message list (chain/mq.h mq_block_finish output) next to
 * the block, in the block store's meta table under "msgs/<height as 16 hex digits>" (absent =
 * no messages), written in the same LMDB transaction as the block.
 */
#ifndef TN_NODE_NODE_FEED_H
#define TN_NODE_NODE_FEED_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/rpc.h"
#include "store/blockstore.h"

#define NODE_FEED_MAX_COUNT 64         /* feeds in one chain_feed answer */
#define NODE_FEED_MAX_BYTES (6u << 20) /* feed bytes in one chain_feed answer (hex doubles) */
#define NODE_FEED_LIST_MAX  1000       /* records in one worker_list / contract_list page */

/* Stores the outbound message list msgs[0..len) (uleb count ‖ bytes(message)*) of block height
 * in txn; an empty list (count 0) stores nothing. Returns the store's result. */
enum bstore_result node_feed_put_msgs(struct bstore *b, MDB_txn *txn, uint64_t height,
                                      const uint8_t *msgs, size_t len);

/* The RPC handlers (rpc/rpc.h rpc_handler; app is the struct node). */
int node_m_chain_genesis(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_chain_feed(void *app, json_t *params, json_t **result, struct rpc_error *err);
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
