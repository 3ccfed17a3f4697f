/*
 * The chain as one node holds it: the store, the state tree, the committed head and the
 * validator sets around it, and the three things consensus does with blocks on top of the head
 * (docs/architecture.md "Blocks on top of the head"):
 *
 *   (a) node_chain_build    as proposer: reap the pool, execute, compute the roots, the header;
 *   (b) node_chain_execute  a block from a peer or from block sync: check everything the block
 *                           and the head determine, verify every signature, execute, and compare
 *                           the state root and next-validators hash with the header's;
 *   (c) node_chain_commit   after the decision: block + commit + tx index + receipts + state in
 *                           one LMDB write transaction.
 *
 * (a) and (b) leave the executed block *pending*: its state is already applied to the tree
 * inside an open LMDB write transaction, so (c) costs only the remaining writes and the durable
 * commit, and dropping it (node_chain_discard) costs an abort. At most one block is pending per
 * chain (LMDB has one writer), and every call runs on one thread, the one that owns the chain.
 * Other threads read the store with their own read transactions and see only committed blocks.
 */
#ifndef TN_NODE_NODE_CHAIN_H
#define TN_NODE_NODE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/mempool.h"
#include "chain/runtime.h"
#include "consensus/cons.h"
#include "node/node.h"
#include "node/node_par.h"
#include "store/blockstore.h"
#include "store/smt.h"

#define NODE_CHAIN_MAX_FUTURE_MS 5000 /* default: how far a block's time may lead our clock */

enum node_chain_result {
	NODE_CHAIN_OK = 0,
	NODE_CHAIN_MALFORMED,       /* block_decode or block_check_roots refused the bytes */
	NODE_CHAIN_WRONG_CHAIN,     /* chain id or header version is not ours */
	NODE_CHAIN_WRONG_HEIGHT,    /* not head + 1 */
	NODE_CHAIN_WRONG_PREV,      /* prev_hash is not the head's hash */
	NODE_CHAIN_TIME_NOT_AFTER,  /* time is not after the head's time */
	NODE_CHAIN_TIME_FUTURE,     /* time leads our clock by more than max_future_ms */
	NODE_CHAIN_WRONG_VALSET,    /* validators_hash is not the hash of the set for this height */
	NODE_CHAIN_WRONG_PROPOSER,  /* proposer is not the expected one (or not in the set) */
	NODE_CHAIN_BAD_LAST_COMMIT, /* the last commit does not verify against the head's set */
	NODE_CHAIN_BAD_TX_SIG,      /* a transaction's signature does not verify */
	NODE_CHAIN_BAD_TX,          /* a transaction is not includable at this point */
	NODE_CHAIN_WRONG_STATE_ROOT,  /* executing the block gives another state root */
	NODE_CHAIN_WRONG_NEXT_VALSET, /* ... or another next-validators hash */
	NODE_CHAIN_WRONG_MSGS_ROOT,   /* ... or another outbound-messages root */
	NODE_CHAIN_BAD_COMMIT,        /* node_chain_commit: the commit does not verify */
	NODE_CHAIN_STORE,             /* our storage failed: fatal for the node (logged) */
	NODE_CHAIN_NOMEM,
};

/* A static English message for r; never NULL. */
const char *node_chain_strerror(enum node_chain_result r);

struct node_chain_config {
	const char *dir;
	size_t map_size;        /* LMDB map size in bytes */
	uint32_t keep_versions; /* state-tree versions kept for proofs (>= 1) */
	size_t prune_per_block; /* stale state nodes deleted per block, at most */
	size_t max_block_txs;   /* caps on the blocks this node builds */
	size_t max_block_bytes; /* (<= BLOCK_MAX_BYTES - 64 KiB) */
	uint64_t max_future_ms; /* 0 = NODE_CHAIN_MAX_FUTURE_MS */
};

/* The committed head and the sets around it. Written only by node_chain_commit. */
struct node_chain_head {
	uint64_t height; /* 0 before the first block */
	uint64_t time_ms;
	uint8_t hash[32];
	uint8_t state_root[32];
	bool has_commit;      /* false at height 0 */
	struct commit commit; /* the commit this node stored for the head block */
	struct valset set;    /* the set that signed the head (genesis set at height 0) */
	struct valset next;   /* the set that signs height + 1 (= head.next_validators_hash) */
	uint8_t next_hash[32];
	struct cons_valset cv_next; /* next with its proposer priorities for height + 1 */
};

struct node_chain {
	struct node_chain_config cfg;
	struct bstore *store;
	struct smt *smt;
	struct runtime_params params;
	struct node_chain_head head;
	/* Borrowed; set by the owner after node_chain_open. pool is needed by node_chain_build and
	 * lets node_chain_execute skip signatures it verified at admission; par (may be NULL)
	 * spreads signature checks over CPUs. */
	struct mempool *pool;
	struct node_par *par;
	uint8_t *reap_buf;
	struct mempool_item *reap_items;
};

/* An executed, uncommitted block (see the file comment). Zero-initialise, or node_chain_discard. */
struct node_pending {
	MDB_txn *txn; /* the open write txn holding its state; NULL = nothing pending */
	struct header header;
	uint8_t hash[32];
	uint8_t *bytes; /* the encoded block (owned) */
	size_t len;
	size_t n_txs;
	uint8_t (*txids)[32];
	uint8_t (*receipts)[RECEIPT_LEN];
	const uint8_t **txid_ptrs, **receipt_ptrs;
	size_t *receipt_lens;
	struct valset next; /* the set the state names for height + 1 */
	struct enc msgs;    /* outbound messages (chain/mq.h mq_block_finish), stored with it */
	uint8_t msgs_root[32];
	uint64_t txs_failed;  /* included with a failed call */
	uint64_t txs_skipped; /* reaped but not includable (build only) */
};

/* Opens the store in cfg->dir, initialises the chain from g on first start (or checks that the
 * stored chain is g's: NODE_WRONG_CHAIN), and loads the head. Errors: NODE_BAD_GENESIS (invalid
 * validator set), NODE_WRONG_CHAIN, NODE_STORE, NODE_NOMEM, with a one-line reason in err. On
 * failure c holds nothing (node_chain_close is still safe). */
enum node_result node_chain_open(struct node_chain *c, const struct node_chain_config *cfg,
                                 const struct genesis *g, char *err, size_t errlen);
/* Closes the store; discards nothing (the owner discards its pending block first). */
void node_chain_close(struct node_chain *c);

/* (a) Builds the next block as `proposer` (its tips go to that key) at time
 * max(time_ms, head time + 1) from the pool's ready txs, skipping (and dropping from the pool)
 * those no longer includable. *out must hold nothing pending. Errors: NODE_CHAIN_STORE,
 * NODE_CHAIN_NOMEM (nothing pending then). */
enum node_chain_result node_chain_build(struct node_chain *c, const uint8_t proposer[32],
                                        uint64_t time_ms, struct node_pending *out);

/* What node_chain_execute requires of the block beyond the chain rules. */
struct node_chain_expect {
	const uint8_t *proposer; /* the round's proposer key, or NULL: any member of the set */
	uint64_t now_ms;         /* our clock, for the future bound; 0 = no bound (block sync) */
};

/* (b) Copies bytes[0..len), checks and executes the block as the next one, leaving it pending
 * in *out (which must hold nothing pending). Errors: every NODE_CHAIN_* above but BAD_COMMIT
 * (nothing pending then; only STORE and NOMEM are our fault, the rest the block's). */
enum node_chain_result node_chain_execute(struct node_chain *c, const uint8_t *bytes, size_t len,
                                          const struct node_chain_expect *exp,
                                          struct node_pending *out);

/* (c) Writes the pending block with `commit` (which must verify for it under the head's next
 * set: else NODE_CHAIN_BAD_COMMIT and p stays pending) and commits durably; then the head
 * advances and p holds nothing. NODE_CHAIN_STORE: nothing was written and p holds nothing. */
enum node_chain_result node_chain_commit(struct node_chain *c, struct node_pending *p,
                                         const struct commit *commit);

/* Drops a pending block (aborts its transaction) and frees what p owns. Safe on an empty p. */
void node_chain_discard(struct node_pending *p);

/* A state_reader over the state tree's flat table in txn. */
struct node_reader_ctx {
	struct smt *smt;
	MDB_txn *txn;
};
void node_reader(struct state_reader *out, struct node_reader_ctx *ctx);

/* Writes the formatted reason into err[0..errlen) and returns r: the node's one way to fail a
 * start-up step with a message. */
enum node_result node_fail(char *err, size_t errlen, enum node_result r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
