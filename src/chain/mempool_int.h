/*
 * Internals of the transaction pool (mempool.h). Every table is preallocated at mempool_new from
 * the configured caps; indices (uint32_t) link entries and senders, MEMPOOL_NONE is "no index".
 */
#ifndef TN_CHAIN_MEMPOOL_INT_H
#define TN_CHAIN_MEMPOOL_INT_H

#include <pthread.h>
#include <sodium.h>

#include "chain/mempool.h"

#define MEMPOOL_NONE UINT32_MAX

/* Queue indices into mempool.count/bytes/heap; an entry's queue is MEMPOOL_READY/FUTURE or 0. */
#define MEMPOOL_Q(status) ((status)-1)

struct mempool_entry {
	struct tx tx; /* payload rebased into bytes */
	uint8_t txid[TX_ID_LEN];
	uint8_t *bytes; /* owned copy of the signed tx */
	u128 fee;       /* priority_fee given at add */
	uint64_t seq;   /* arrival order, for ties */
	uint32_t len;
	uint32_t sender;   /* index into mempool.senders */
	uint32_t heap_pos; /* position in its queue's heap, or MEMPOOL_NONE while popped */
	uint8_t queue;     /* 0 (free), MEMPOOL_READY or MEMPOOL_FUTURE */
	bool doomed;       /* chosen as an eviction victim by the add in progress */
};

struct mempool_sender {
	uint8_t pk[TX_ACCOUNT_LEN];
	uint64_t account_nonce; /* the largest the pool has been told */
	uint32_t count;         /* pending entries, slots[0..count) sorted by nonce */
	uint32_t ready;         /* slots[0..ready) have nonces account_nonce + i */
	uint32_t reap_pos;      /* mempool_reap's cursor */
	bool used;
	bool touched; /* nonce advanced in the mempool_update in progress */
};

/* Open addressing with linear probing and backward-shift deletion (no tombstones). Slots hold
 * index + 1 (0 = empty); the key of index i is 32 bytes at keys + i * stride. The hash is keyed
 * SipHash so that ground tx ids or keys cannot pile up in one probe run. */
struct mempool_table {
	uint32_t *slot;
	uint32_t mask;
	const uint8_t *keys;
	size_t stride;
};

/* Binary heap of entry indices; track = keep entries[].heap_pos up to date. */
struct mempool_heap {
	uint32_t *v;
	uint32_t n;
	bool track;
	bool (*before)(const struct mempool *mp, uint32_t a, uint32_t b);
};

struct mempool {
	struct mempool_config cfg;
	pthread_mutex_t lock;        /* guards everything below except the upd_ scratch */
	pthread_mutex_t update_lock; /* serialises mempool_update (guards upd_*) */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];

	uint32_t cap;                  /* entries and senders: ready + future caps + 1 */
	struct mempool_entry *entries; /* [cap] */
	uint32_t *entry_free;          /* stack of free entry indices */
	uint32_t n_entry_free;
	struct mempool_sender *senders; /* [cap] */
	uint32_t *slots;                /* [cap * max_per_sender]: sender i owns a row */
	uint32_t *sender_free;
	uint32_t n_sender_free;
	struct mempool_table by_id, by_sender, seen;

	uint8_t (*seen_ring)[TX_ID_LEN]; /* [cfg.seen_cache], oldest overwritten first */
	uint32_t seen_head, seen_n;

	struct mempool_heap heap[2]; /* min-heaps: lowest priority, then oldest, on top */
	size_t count[2], bytes[2];
	size_t caps_count[2], caps_bytes[2];
	uint64_t seq;
	uint64_t next_height;

	uint32_t *popped;         /* [cap] eviction dry-run: entries taken off a heap */
	uint32_t *victims;        /* [cap] eviction dry-run: first doomed entry of each run */
	struct mempool_heap reap; /* [cap] senders' next ready entries, best on top */

	uint8_t (*upd_pk)[TX_ACCOUNT_LEN]; /* [cap] */
	uint64_t *upd_nonce;               /* [cap] */
	bool *upd_found;                   /* [cap] */
};

/* Checks every structural invariant (per-sender order and ready prefix, queue counts and bytes,
 * caps, heaps, hash tables, no duplicates). Takes the lock. For tests; O(pool size). */
bool mempool_check_invariants(struct mempool *mp);

#endif
