/*
 * The chain node: block store + state tree + runtime + mempool + JSON-RPC + Tendermint
 * consensus + p2p + block sync (docs/architecture.md).
 *
 * Threads: libmicrohttpd's pool runs RPC handlers (decoding, signature checks and admission run
 * there, in parallel); the consensus thread drives the state machine, builds, checks and commits
 * blocks, and syncs from peers; the gossip thread admits peers' transactions and sends ours; the
 * p2p thread runs the network. One validator (dev) runs the same path without a network.
 */
#ifndef TN_NODE_NODE_H
#define TN_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons.h"

enum node_result {
	NODE_OK = 0,
	NODE_BAD_CONFIG,  /* an option or file is invalid; the message says which */
	NODE_BAD_GENESIS, /* the genesis file is unreadable, malformed or breaks a rule */
	NODE_WRONG_CHAIN, /* the data directory belongs to another genesis */
	NODE_STORE,       /* the database could not be opened or written */
	NODE_KEY,         /* the validator key could not be loaded */
	NODE_RPC,         /* the RPC server could not start (e.g. address in use) */
	NODE_NOMEM,
};

const char *node_strerror(enum node_result r);

struct node_config {
	const char *data_dir;           /* required */
	const char *rpc_host;           /* default 127.0.0.1 */
	uint16_t rpc_port;              /* default 9944; 0 = any free port (see node_rpc_port) */
	bool dev;                       /* dev chain: built-in genesis, alice validates */
	const char *genesis_path;       /* required unless dev */
	const char *validator_key;      /* keystore file of the validator; NULL: a full node */
	const char *validator_password; /* for validator_key; borrowed, wiped by the caller */
	const char *p2p_listen;         /* "host:port" for peers; NULL: do not listen */
	const char *peers;              /* "KEY@host:port,host:port,..."; NULL: none */
	uint64_t block_time_ms;        /* target block time (commit delay); 0 = the genesis value */
	struct cons_timeouts timeouts; /* round timeouts (defaults: node_config_default) */
	unsigned rpc_threads;          /* 0 = number of CPUs */
	size_t max_block_txs;          /* cap on transactions per block */
	size_t max_block_bytes;        /* cap on encoded block size */
	uint32_t pool_ready_txs;       /* ready-queue cap of the mempool; 0 = its default (8192) */
	uint32_t state_keep_versions;  /* state-tree versions kept for proofs (>= 1) */
	size_t prune_per_block;        /* stale state nodes deleted per block, at most */
	size_t map_size;               /* LMDB map size in bytes */
};

void node_config_default(struct node_config *cfg);

struct node;

/* Opens or creates the data directory, initialises the chain from genesis on first start (or
 * checks that the stored chain is the genesis's), loads the validator key, starts the RPC server
 * and the producer. On failure returns an error and writes a one-line reason into err. */
enum node_result node_start(struct node **out, const struct node_config *cfg, char *err,
                            size_t errlen);
/* Blocks until node_request_stop is called (e.g. from a signal handler). */
void node_wait(struct node *n);
/* Asks the node to stop; async-signal-safe. */
void node_request_stop(struct node *n);
/* True if the node stopped itself because it could not commit a block (the log says why); the
 * process should then exit with a failure status. */
bool node_failed(struct node *n);
/* Stops the producer and the RPC server, closes the store, wipes the validator key. NULL ok. */
void node_free(struct node *n);

/* The TCP port the RPC server listens on. */
uint16_t node_rpc_port(const struct node *n);
/* Current head height. */
uint64_t node_height(struct node *n);

/* Counters since start (read with relaxed atomics: only roughly consistent with each other). */
struct node_stats {
	uint64_t height;
	uint64_t blocks;       /* produced by this process */
	uint64_t txs_applied;  /* included, call succeeded */
	uint64_t txs_failed;   /* included, call failed (fee charged) */
	uint64_t txs_skipped;  /* reaped but not includable at execution */
	uint64_t txs_accepted; /* admitted to the pool */
	uint64_t txs_rejected; /* refused at admission */
	uint64_t last_block_us;
	uint64_t block_us_total; /* time spent building and committing blocks */
	uint64_t last_block_txs;
	uint64_t rounds_extra; /* rounds after round 0 that decided heights needed, summed */
	size_t pool_ready, pool_future, pool_bytes;
	uint64_t db_bytes; /* bytes the database file uses */
};
void node_stats(struct node *n, struct node_stats *out);

#endif
