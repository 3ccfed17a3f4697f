/*
 * Transaction pool (research/consensus.md §5.1, §5.3; rules in docs/protocol/mempool.md).
 *
 * The pool holds signed transactions that the caller has already decoded, signature-checked and
 * checked against state (balance >= max_fee, mortality bound). It never reads storage: the caller
 * passes each sender's account nonce on add, and answers nonce look-ups after a block.
 *
 * Per sender, pending txs are ordered by nonce. The ones with contiguous nonces from the account
 * nonce are *ready* (can go into the next block, in nonce order); the rest are *future* (behind a
 * gap) and are promoted when the gap fills. Each queue has its own caps (count and bytes).
 *
 * Priority is fee per byte: priority_fee / len, compared exactly. When a queue is full a new tx
 * evicts the lowest-priority entries of that queue (oldest first among equals) only if its own
 * priority is strictly higher than each of them; otherwise it is rejected (MEMPOOL_FULL).
 * Removing a tx for any reason other than inclusion (eviction, expiry, revalidation, remove) also
 * removes the same sender's later nonces, which could no longer execute.
 *
 * Thread safety: every function may be called from any thread. One internal mutex guards the
 * pool; its critical sections do no allocation and no I/O (tx copies are made before taking it and
 * freed after releasing it). mempool_update calls the nonce look-up without the lock and the
 * revalidation callback with it held; callbacks must not call back into the pool.
 */
#ifndef TN_CHAIN_MEMPOOL_H
#define TN_CHAIN_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/tx.h"

struct mempool;

struct mempool_config {
	uint32_t ready_max_txs;        /* ready queue: count cap (Substrate: 8192) */
	size_t ready_max_bytes;        /* ready queue: sum of tx sizes cap (20 MiB) */
	uint32_t future_max_txs;       /* future queue: count cap (512) */
	size_t future_max_bytes;       /* future queue: bytes cap (1 MiB) */
	uint32_t max_per_sender;       /* pending txs per sender, ready + future (16) */
	uint32_t seen_cache;           /* recently included / stale tx ids remembered (65536) */
	uint32_t min_fee_bump_percent; /* replacement must pay this much more (10) */
};

/* Fills cfg with the defaults above. */
void mempool_config_default(struct mempool_config *cfg);

enum mempool_result {
	MEMPOOL_OK = 0,
	MEMPOOL_DUPLICATE,          /* this tx id is already pending */
	MEMPOOL_SEEN,               /* this tx id was recently included or dropped as stale */
	MEMPOOL_STALE_NONCE,        /* nonce below the sender's account nonce */
	MEMPOOL_NONCE_TOO_FAR,      /* nonce > account nonce + max_per_sender */
	MEMPOOL_SENDER_FULL,        /* the sender already has max_per_sender pending txs */
	MEMPOOL_FEE_BUMP_TOO_SMALL, /* same (sender, nonce) pending and the fee is not enough higher
	                             */
	MEMPOOL_FULL,               /* queue full and the tx does not beat its lowest priority */
	MEMPOOL_EXPIRED,            /* valid_until is below the next block height */
	MEMPOOL_NOMEM,              /* allocation failed */
};

/* A static English message for r; never NULL. */
const char *mempool_strerror(enum mempool_result r);

enum mempool_status {
	MEMPOOL_READY = 1,  /* executable in the next block, in nonce order */
	MEMPOOL_FUTURE = 2, /* waiting for an earlier nonce of its sender */
};

/* Creates a pool and preallocates every table from cfg (all fields non-zero; caller misuse
 * aborts). On success *out owns the pool (release with mempool_free). Returns MEMPOOL_OK or
 * MEMPOOL_NOMEM (then *out is NULL). The next block height starts at 0: call mempool_update once
 * at start-up with the real height. */
enum mempool_result mempool_new(struct mempool **out, const struct mempool_config *cfg);

/* Frees the pool and every tx it holds. NULL is a no-op. No other call may be in progress. */
void mempool_free(struct mempool *mp);

/*
 * Adds a tx. In: tx_bytes[0..len) the encoded signed tx (copied: the pool owns its copy),
 * decoded = tx_decode of those bytes (its payload must point into tx_bytes), txid its id,
 * account_nonce the sender's nonce in the caller's view of state (the pool keeps the largest it
 * has been told, so an older view cannot resurrect stale txs), priority_fee the fee plus tip the
 * tx pays (the caller computes it). Out: *where = MEMPOOL_READY or MEMPOOL_FUTURE on success.
 *
 * Checks, in order: MEMPOOL_DUPLICATE, MEMPOOL_SEEN, MEMPOOL_EXPIRED (valid_until < next
 * height), MEMPOOL_STALE_NONCE, MEMPOOL_NONCE_TOO_FAR, then for a pending (sender, nonce)
 * MEMPOOL_FEE_BUMP_TOO_SMALL (needs priority_fee > old and >= old * (100 + bump) / 100; with it
 * the old tx is replaced), else MEMPOOL_SENDER_FULL, then MEMPOOL_FULL (see the file comment),
 * MEMPOOL_NOMEM. On error no tx is added or replaced and *where is not written; a larger
 * account_nonce is still applied (the txs it makes stale are dropped and marked seen, and if the
 * promotions it causes overflow the ready caps, the lowest-priority ready txs are evicted).
 */
enum mempool_result mempool_add(struct mempool *mp, const uint8_t *tx_bytes, size_t len,
                                const struct tx *decoded, const uint8_t txid[TX_ID_LEN],
                                uint64_t account_nonce, u128 priority_fee,
                                enum mempool_status *where);

/* One reaped tx: its bytes are buf[offset .. offset + len) of the buffer given to mempool_reap. */
struct mempool_item {
	size_t offset;
	size_t len;
	uint8_t txid[TX_ID_LEN];
};

/*
 * Selects ready txs for a block: each sender's txs in nonce order, across senders the highest fee
 * per byte first (ties: earliest arrival). A tx that does not fit the remaining bytes ends its
 * sender's run (its later nonces cannot go without it); others continue. The pool is unchanged.
 * Out: the txs' bytes concatenated into buf[0..max_bytes), their places in items[0..max_txs).
 * Returns the number of txs written.
 */
size_t mempool_reap(struct mempool *mp, uint8_t *buf, size_t max_bytes, struct mempool_item *items,
                    size_t max_txs);

/* Answers the sender's account nonce after the block: true and *nonce set, or false if the account
 * does not exist (then all its txs are dropped). Called without the pool lock. */
typedef bool (*mempool_nonce_fn)(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce);
/* Re-checks a tx that stays pending (typically the balance); false drops it and its sender's later
 * nonces. For one sender it is called in nonce order, senders one after the other, so it can sum
 * a sender's pending spending. Called with the pool lock held. */
typedef bool (*mempool_recheck_fn)(void *ctx, const uint8_t *bytes, size_t len,
                                   const struct tx *decoded);

/*
 * After a block: next_height is the height of the next block (txs with valid_until < next_height
 * are dropped as expired, and later adds of such txs fail with MEMPOOL_EXPIRED). Looks up every
 * pending sender's account nonce, drops txs below it (included or superseded), marks them and the
 * expired ones seen, promotes future txs whose gap is now filled, and, if recheck is not NULL,
 * rechecks the remaining txs of the senders whose nonce advanced (bounded by their pending txs).
 * If promotions overflow the ready caps, the lowest-priority ready txs are evicted.
 * Calls to mempool_update must not overlap (one block producer); adds may run concurrently.
 */
void mempool_update(struct mempool *mp, mempool_nonce_fn nonce, mempool_recheck_fn recheck,
                    void *ctx, uint64_t next_height);

/* Remembers txid as seen (e.g. a tx included in a block that never was in this pool), so adds of
 * it fail with MEMPOOL_SEEN. The cache forgets the oldest ids beyond its configured size. */
void mempool_mark_seen(struct mempool *mp, const uint8_t txid[TX_ID_LEN]);

/* Removes a pending tx and its sender's later nonces (not marked seen). Returns whether txid was
 * pending. */
bool mempool_remove(struct mempool *mp, const uint8_t txid[TX_ID_LEN]);

/* What mempool_get reports about a pending tx. */
struct mempool_info {
	enum mempool_status status;
	uint64_t nonce;
	size_t len;
	u128 priority_fee;
};

/* Looks up a pending tx. Returns false if txid is not pending. Otherwise fills *info and, if buf
 * is not NULL and buf_cap >= info->len, copies the tx bytes into buf. */
bool mempool_get(struct mempool *mp, const uint8_t txid[TX_ID_LEN], struct mempool_info *info,
                 uint8_t *buf, size_t buf_cap);

struct mempool_stats {
	size_t ready_txs;
	size_t ready_bytes;
	size_t future_txs;
	size_t future_bytes;
	size_t senders;
	size_t seen;
};

void mempool_stats(struct mempool *mp, struct mempool_stats *out);

/* The nonce a client should sign next: the first nonce not covered by the sender's ready txs,
 * counting from max(account_nonce, the largest account nonce the pool has been told). */
uint64_t mempool_sender_next_nonce(struct mempool *mp, const uint8_t sender[TX_ACCOUNT_LEN],
                                   uint64_t account_nonce);

#endif
