/*
 * Authenticated state: a Jellyfish-style 16-ary sparse Merkle tree over hashed keys, stored in
 * LMDB (docs/protocol.md "State tree"; research/consensus.md §4.3).
 *
 * Logically the tree is a binary sparse Merkle tree of depth 256 over the key path
 * kp = hash_tagged("tenebra/v1/smt-key", app_key):
 *   value hash  vh   = hash_tagged("tenebra/v1/smt-value", value)
 *   leaf hash        = BLAKE2b-256(0x00 ‖ kp ‖ vh)
 *   internal hash    = BLAKE2b-256(0x01 ‖ left ‖ right)
 *   empty subtree    = 32 zero bytes; a subtree holding exactly one leaf is that leaf's hash.
 * The root therefore depends only on the set of (key, value) pairs, never on the order or the
 * batching of writes. Physically every node groups four binary levels (16 children, one nibble of
 * kp), is keyed by be64(version) ‖ nibble path and written append-only per version.
 *
 * The tree lives in four named sub-databases ("<name>.nodes", "<name>.stale", "<name>.flat",
 * "<name>.meta") of an MDB_env the caller opened with mdb_env_set_maxdbs() large enough for them.
 * Every call takes the caller's transaction, so a block and the state it produces commit (or
 * abort) together. The smt object holds no per-transaction state: it reads the latest version and
 * root from the transaction each time, so an aborted transaction leaves nothing stale behind.
 *
 * smt_apply, smt_prove and smt_prune use the handle's scratch memory: one thread at a time.
 * smt_get and smt_root touch no mutable state and may run on any thread with its own read txn.
 */
#ifndef TN_STORE_SMT_H
#define TN_STORE_SMT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "base/kv.h"

#define SMT_HASH_LEN  32
#define SMT_KEY_MAX   256 /* app keys are 1..SMT_KEY_MAX bytes (LMDB keys are at most 511) */
#define SMT_PROOF_MAX (1 + 64 + 3 + 32 + 256 * 32) /* longest proof smt_prove can produce */
#define SMT_DBS       4 /* named sub-databases one tree uses (count them in mdb_env_set_maxdbs) */

enum smt_result {
	SMT_OK = 0,
	SMT_NOT_FOUND, /* smt_get: the key has no value */
	SMT_BAD_KEY,   /* key length 0 or above SMT_KEY_MAX */
	SMT_TOO_LARGE, /* value above cfg.max_value, batch above cfg.max_batch, or proof_out cap */
	SMT_DUPLICATE_KEY, /* smt_apply: the batch names one key twice; nothing was written */
	SMT_BAD_VERSION,   /* smt_apply: new_version is not above the latest version */
	SMT_NOMEM,         /* allocation failed */
	SMT_MAP_FULL, /* MDB_MAP_FULL: grow the map (mdb_env_set_mapsize) and retry the block */
	SMT_TXN_FULL, /* MDB_TXN_FULL: too many dirty pages in one transaction */
	SMT_CORRUPT,  /* a stored node or meta record is missing or malformed */
	SMT_DB,       /* any other LMDB error (logged with mdb_strerror) */
};

/* A static English message for r; never NULL. */
const char *smt_strerror(enum smt_result r);

struct smt_config {
	const char *name; /* sub-database prefix, <= 32 bytes; NULL means "state" */
	uint32_t
	    keep_versions; /* smt_prune keeps the newest keep_versions versions; 0 = keep all */
	size_t max_batch;  /* cap on writes per smt_apply; 0 means 1,000,000 */
	size_t max_value;  /* cap on one value's length; 0 means 1 MiB */
};

/* Counters since smt_open, for benchmarks and logs. */
struct smt_stats {
	uint64_t hashes;        /* BLAKE2b invocations by smt_apply (key, value, leaf and inner) */
	uint64_t keys;          /* writes applied */
	uint64_t nodes_read;    /* tree nodes fetched from LMDB */
	uint64_t nodes_written; /* tree nodes written */
	uint64_t nodes_stale;   /* nodes recorded as stale (replaced or removed) */
	uint64_t nodes_pruned;  /* stale nodes deleted by smt_prune */
};

struct smt;

/*
 * Opens (creating if needed) the tree's sub-databases inside txn, a write transaction of the
 * caller's env, and returns a new handle in *out. The caller must commit txn before using the
 * handle in another transaction (LMDB closes database handles opened in an aborted txn).
 * cfg may be NULL for defaults; it is copied. The handle does not own the env.
 * Errors: SMT_NOMEM, SMT_CORRUPT (meta record malformed), SMT_DB (e.g. MDB_DBS_FULL: maxdbs too
 * small). On error *out is NULL.
 */
enum smt_result smt_open(struct smt **out, MDB_txn *txn, const struct smt_config *cfg);

/* Frees the handle and its scratch memory (not the env or its databases). NULL is a no-op. */
void smt_free(struct smt *t);

/*
 * Reads the current value of key from the flat table (no tree walk) in any transaction of the
 * env. On SMT_OK, *val_out points into LMDB memory, valid until txn ends or writes again.
 * Errors: SMT_NOT_FOUND, SMT_BAD_KEY, SMT_DB.
 */
enum smt_result smt_get(struct smt *t, MDB_txn *txn, const uint8_t *key, size_t klen,
                        MDB_val *val_out);

/*
 * Applies one block's batch of n writes as version new_version inside the write transaction
 * wtxn: updates the flat table, writes the new tree nodes, records the replaced ones as stale and
 * stores the new latest version and root, which it also copies to root_out.
 * The writes may come in any order but must name distinct keys. new_version must exceed the
 * latest version (any version is accepted for the first batch of a new tree). n may be 0 (the
 * root is unchanged, the version advances).
 * Errors, with nothing written: SMT_BAD_KEY, SMT_TOO_LARGE, SMT_DUPLICATE_KEY, SMT_BAD_VERSION,
 * SMT_NOMEM. Errors after writing started (the caller must abort wtxn): SMT_MAP_FULL,
 * SMT_TXN_FULL, SMT_CORRUPT, SMT_DB, SMT_NOMEM.
 */
enum smt_result smt_apply(struct smt *t, MDB_txn *wtxn, uint64_t new_version,
                          const struct kv_write *writes, size_t n, uint8_t root_out[SMT_HASH_LEN]);

/*
 * Latest version and root as seen by txn. A tree that never had a batch applied has version 0
 * and the all-zero root. Errors: SMT_CORRUPT, SMT_DB.
 */
enum smt_result smt_root(struct smt *t, MDB_txn *txn, uint64_t *version,
                         uint8_t root[SMT_HASH_LEN]);

/*
 * Appends to proof_out a proof about key against the latest root: membership if the key is
 * present, non-membership otherwise (the format is in smt_proof.h). Verify it with
 * smt_proof_verify. At most SMT_PROOF_MAX bytes are appended.
 * Errors: SMT_BAD_KEY, SMT_TOO_LARGE (proof_out reached its cap; it is then failed too),
 * SMT_CORRUPT, SMT_DB.
 */
enum smt_result smt_prove(struct smt *t, MDB_txn *txn, const uint8_t *key, size_t klen,
                          struct enc *proof_out);

/*
 * Deletes up to max_nodes nodes that no version among the newest cfg.keep_versions needs (they
 * became stale at a version <= latest - keep_versions + 1), oldest first, in the write
 * transaction wtxn; *pruned (may be NULL) gets the number deleted. Call once per block with a
 * small max_nodes to spread the work. A no-op when keep_versions is 0.
 * Errors: SMT_MAP_FULL, SMT_TXN_FULL, SMT_CORRUPT, SMT_DB (abort wtxn).
 */
enum smt_result smt_prune(struct smt *t, MDB_txn *wtxn, size_t max_nodes, size_t *pruned);

/* Copies the handle's counters into *out. */
void smt_stats(const struct smt *t, struct smt_stats *out);

#endif
