/* Node internals shared by node.c (lifecycle), node_produce.c (blocks), node_rpc.c (methods). */
#ifndef TN_NODE_NODE_INT_H
#define TN_NODE_NODE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/mempool.h"
#include "chain/runtime.h"
#include "node/node.h"
#include "node/node_par.h"
#include "rpc/rpc.h"
#include "store/blockstore.h"
#include "store/smt.h"

#define NODE_MAX_TX_HEX (2 * TX_MAX_BYTES + 2)
#define NODE_MAX_BULK   1000 /* transactions in one POST /txs */

/* The committed head, as the RPC threads see it. */
struct node_head {
	uint64_t height;
	uint64_t time_ms;
	uint8_t hash[32];
	uint8_t state_root[32];
};

struct node_metrics {
	atomic_uint_fast64_t blocks;
	atomic_uint_fast64_t txs_applied;    /* included, call succeeded */
	atomic_uint_fast64_t txs_failed;     /* included, call failed (fee charged) */
	atomic_uint_fast64_t txs_skipped;    /* reaped but not includable at execution */
	atomic_uint_fast64_t txs_accepted;   /* admitted to the pool */
	atomic_uint_fast64_t txs_rejected;   /* refused at admission */
	atomic_uint_fast64_t last_block_us;  /* time to build and commit the last block */
	atomic_uint_fast64_t block_us_total; /* the producer's busy time, all blocks */
	atomic_uint_fast64_t last_block_txs;
};

struct node {
	struct node_config cfg;
	char data_dir[4096];
	struct bstore *store;
	struct smt *smt;
	struct mempool *pool;
	struct rpc_server *rpc;
	struct rpc_sse *heads;
	struct node_par *par; /* parallel admission of bulk submissions */

	/* Chain identity, fixed after start. */
	struct runtime_params params;
	struct valset valset;
	uint8_t valset_hash[32];
	char chain_name[GENESIS_NAME_MAX + 1];
	char token_symbol[GENESIS_SYMBOL_MAX + 1];
	uint8_t token_decimals;
	uint64_t block_time_ms;

	/* The validator key (guarded memory) and its place in the set. */
	uint8_t *validator_sk;
	uint8_t validator_pk[32];
	size_t validator_index;

	pthread_mutex_t head_lock;
	struct node_head head;

	/* Producer state (producer thread only). */
	pthread_t producer;
	bool producer_running;
	bool has_last_commit;
	struct commit last_commit;
	uint8_t *reap_buf;
	struct mempool_item *reap_items;

	int stop_pipe[2];
	atomic_bool stopping;
	atomic_bool failed; /* the producer hit a fatal storage error */
	struct node_metrics m;
};

/* A state_reader over the state tree's flat table in txn. */
struct node_reader_ctx {
	struct smt *smt;
	MDB_txn *txn;
};
void node_reader(struct state_reader *out, struct node_reader_ctx *ctx);

/* Snapshot of the head under the lock. */
void node_head_get(struct node *n, struct node_head *out);

/* Tells the pool the state after a commit: drops included and stale txs, promotes, rechecks. */
void node_pool_refresh(struct node *n, uint64_t next_height);

/* The producer thread's body. */
void *node_producer_main(void *arg);

/* Registers the RPC methods and routes; called by node_start. */
enum node_result node_rpc_start(struct node *n, char *err, size_t errlen);

/* JSON rendering (node_json.c). Each returns a new reference or NULL on allocation failure. */
json_t *node_json_hex(const void *p, size_t n);
json_t *node_json_u128(u128 v);
json_t *node_json_account(const struct node *n, const uint8_t pk[32]);
json_t *node_json_header(const struct header *h, const uint8_t hash[32]);
json_t *node_json_commit(const struct node *n, const struct commit *c);
/* A tx's fields, its call and arguments; receipt may be NULL (pending). */
json_t *node_json_tx(const struct node *n, const struct tx *tx, const uint8_t txid[32],
                     const struct receipt *rc);

#endif
