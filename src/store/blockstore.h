/*
 * Block store: the chain's history in LMDB, as opaque bytes (this layer knows no chain types).
 *
 * One LMDB environment per node data directory holds the block store's sub-databases and the
 * state tree's (store/smt.h), so a block, its receipts and the state it produces are written in
 * ONE write transaction and commit atomically: after a crash the node sees either all of a block
 * or none of it. Commits are durable (fsync; MDB_NOSYNC is never set).
 *
 * Sub-databases (docs/architecture.md "Storage"):
 *   blocks    be64 height            -> encoded block
 *   commits   be64 height            -> encoded commit for that block
 *   hashes    block hash [32]        -> be64 height
 *   txs       tx id [32]             -> be64 height ‖ be32 index
 *   receipts  be64 height ‖ be32 idx -> encoded receipt
 *   meta      name                   -> value (head height, genesis hash, ...)
 *
 * Threads: read transactions may be used from any thread (MDB_NOTLS); one writer at a time.
 */
#ifndef TN_STORE_BLOCKSTORE_H
#define TN_STORE_BLOCKSTORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bstore_result {
	BSTORE_OK = 0,
	BSTORE_NOT_FOUND,
	BSTORE_FULL,    /* the map size is exhausted: raise --map-size */
	BSTORE_CORRUPT, /* a stored record has the wrong shape */
	BSTORE_IO,      /* any other LMDB or file-system failure; see errno-style detail in logs */
	BSTORE_FAILED,  /* an earlier write failed: the store is unusable until reopened */
	BSTORE_LOCKED,  /* bstore_open: another process has the directory open */
};

const char *bstore_strerror(enum bstore_result r);

struct bstore_config {
	size_t map_size; /* upper bound on the database size in bytes (sparse file) */
	unsigned max_readers;
};

/* Default configuration: 64 GiB map, 126 readers. */
void bstore_config_default(struct bstore_config *cfg);

struct bstore;

/* Opens (creating if needed) the store in directory dir (created with mode 0700) and locks the
 * directory (DIR/tenebra.lock, flock) until bstore_free, so one process at a time uses it. On
 * success *out owns the environment; free with bstore_free. Returns BSTORE_LOCKED when another
 * process holds the directory, BSTORE_IO with a logged reason on other failures (e.g. directory
 * not writable). */
enum bstore_result bstore_open(struct bstore **out, const char *dir,
                               const struct bstore_config *cfg);
void bstore_free(struct bstore *b);

/* The environment, for other stores sharing it (the state tree). Borrowed. */
MDB_env *bstore_env(struct bstore *b);

/* Begins a read (rdonly) or write transaction. Write transactions are serialised by LMDB.
 * After a failed write the store refuses new write transactions (BSTORE_FAILED). */
enum bstore_result bstore_begin(struct bstore *b, bool write, MDB_txn **txn);
/* Commits a write transaction (durably) or ends a read transaction. On failure the transaction
 * is gone and nothing of it was written. */
enum bstore_result bstore_commit(struct bstore *b, MDB_txn *txn);
/* Aborts any transaction. */
void bstore_abort(MDB_txn *txn);

struct bstore_block {
	uint64_t height;
	const uint8_t *hash; /* 32 bytes */
	const uint8_t *block;
	size_t block_len;
	const uint8_t *commit;
	size_t commit_len;
	size_t n_txs;
	const uint8_t *const *txids;    /* n_txs ids of 32 bytes */
	const uint8_t *const *receipts; /* n_txs encoded receipts */
	const size_t *receipt_lens;
};

/* Writes one block with its commit, hash index, tx index and receipts, and sets the head to it.
 * height must be head + 1 (or 1 on an empty store): anything else is misuse and aborts. */
enum bstore_result bstore_put_block(struct bstore *b, MDB_txn *txn, const struct bstore_block *blk);

/* The head height (0 when no block is stored) and, if hash is not NULL, its hash. */
enum bstore_result bstore_head(struct bstore *b, MDB_txn *txn, uint64_t *height, uint8_t hash[32]);

/* Borrowed views valid until txn ends. commit may be NULL if not wanted. */
enum bstore_result bstore_get_block(struct bstore *b, MDB_txn *txn, uint64_t height, MDB_val *block,
                                    MDB_val *commit);
enum bstore_result bstore_height_of(struct bstore *b, MDB_txn *txn, const uint8_t hash[32],
                                    uint64_t *height);
enum bstore_result bstore_tx_location(struct bstore *b, MDB_txn *txn, const uint8_t txid[32],
                                      uint64_t *height, uint32_t *index);
enum bstore_result bstore_get_receipt(struct bstore *b, MDB_txn *txn, uint64_t height,
                                      uint32_t index, MDB_val *receipt);

/* Small named records (name <= 64 bytes). get returns BSTORE_NOT_FOUND when absent. */
enum bstore_result bstore_meta_put(struct bstore *b, MDB_txn *txn, const char *name,
                                   const void *val, size_t len);
enum bstore_result bstore_meta_get(struct bstore *b, MDB_txn *txn, const char *name, MDB_val *val);

/* Bytes the environment's data file occupies on disk (for metrics and benchmarks). */
uint64_t bstore_disk_bytes(struct bstore *b);

#endif
