/*
 * A bounded, thread-safe least-recently-used map from byte strings to 32-byte secrets: the session
 * cache an enclave keeps across concurrent queries (docs/protocol/envelopes.md "Session queries":
 * a verified session certificate and the static Diffie-Hellman value of a contract and a session
 * key).
 *
 * Keys are reduced to a 32-byte tag, BLAKE2b-256 keyed with a per-cache secret, and the table is
 * indexed by the tag: a peer who does not know the secret cannot aim many keys at one bucket. Two
 * keys whose tags collide would share an entry, with probability 2^-256 per pair. Values and the
 * secret live in guarded memory (sodium_malloc); an evicted value is wiped, and scache_free wipes
 * everything. At most `cap` entries exist; inserting into a full cache evicts the least recently
 * used one.
 *
 * Thread safety: every call but scache_new/scache_free takes the cache's mutex, so get, put and
 * stats may run concurrently from any number of threads. Nothing is allocated after scache_new.
 */
#ifndef TN_CRYPTO_SCACHE_H
#define TN_CRYPTO_SCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCACHE_VALUE_LEN  32
#define SCACHE_SECRET_LEN 32
#define SCACHE_CAP_MAX    ((size_t)1 << 24) /* entries; keeps indexes within 32 bits */

struct scache;

struct scache_stats {
	uint64_t hits, misses, inserts, evictions;
	size_t entries, cap;
};

/* A cache of cap entries (1 <= cap <= SCACHE_CAP_MAX, asserted) whose tags are keyed with
 * secret[0..32), which must be random and unknown to peers (the caller may wipe its copy).
 * NULL on allocation failure. */
struct scache *scache_new(size_t cap, const uint8_t secret[SCACHE_SECRET_LEN]);
/* Wipes and frees. NULL is a no-op. No other call may be running on c. */
void scache_free(struct scache *c);

/* If key[0..key_len) is cached: copies its value into val, marks it most recently used and
 * returns true. Otherwise returns false and leaves val untouched. */
bool scache_get(struct scache *c, const uint8_t *key, size_t key_len,
                uint8_t val[SCACHE_VALUE_LEN]);
/* Maps key[0..key_len) to val (replacing its value if cached) as the most recently used entry,
 * evicting the least recently used one when the cache is full. */
void scache_put(struct scache *c, const uint8_t *key, size_t key_len,
                const uint8_t val[SCACHE_VALUE_LEN]);
/* Counters since scache_new, and the current number of entries. */
void scache_stats(struct scache *c, struct scache_stats *out);

#endif
