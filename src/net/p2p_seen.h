/*
 * A bounded set of message hashes for gossip: a node re-broadcasts a transaction, vote or
 * evidence only the first time it sees its hash, so gossip does not loop. Memory is fixed at init:
 * two generations of at most cap hashes each; when the current one is full the older one is
 * dropped, so the set always remembers at least the cap most recent distinct hashes (and at most
 * 2 * cap). Slots are indexed by SipHash under a random per-set key, so peers cannot pick hashes
 * that pile up in one probe chain. Thread-safe (one internal mutex): the loop thread and the
 * node's threads may share a set.
 */
#ifndef TN_NET_P2P_SEEN_H
#define TN_NET_P2P_SEEN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define P2P_SEEN_HASH_LEN 32

struct p2p_seen_gen {
	uint8_t (*slots)[P2P_SEEN_HASH_LEN];
	uint8_t *used;
	size_t count;
};

struct p2p_seen {
	pthread_mutex_t mu;
	uint8_t key[16];
	size_t cap;  /* hashes per generation */
	size_t mask; /* slots per generation - 1 (a power of two >= 2 * cap) */
	struct p2p_seen_gen gen[2];
	int cur;
};

/* Sets up an empty set remembering at least cap (>= 1, <= 2^24) hashes. Returns false on
 * allocation failure (nothing to release then). */
bool p2p_seen_init(struct p2p_seen *s, size_t cap) __attribute__((warn_unused_result));
/* Frees the set. */
void p2p_seen_release(struct p2p_seen *s);
/* Adds h; returns true if it was not in the set (the caller should process and relay the
 * message), false if it was (drop it). */
bool p2p_seen_add(struct p2p_seen *s, const uint8_t h[P2P_SEEN_HASH_LEN]);
/* True if h is in the set; does not add it. */
bool p2p_seen_has(struct p2p_seen *s, const uint8_t h[P2P_SEEN_HASH_LEN]);

#endif
