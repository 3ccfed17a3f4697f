/*
 * State access for the runtime (DESIGN.md §6): the runtime never touches storage. It reads
 * committed state through a state_reader supplied by the node (the flat table of the state tree,
 * or a test map) and writes into a state_overlay, an in-memory write set layered over that reader.
 * At the end of a block the node exports the overlay's writes, sorted by key, and hands them to
 * the state tree (store/smt.h smt_apply takes the same shape).
 *
 * Savepoints make writes revertible: the runtime opens one around a whole transaction (so a tx
 * that must be skipped leaves nothing behind) and one around the call (so a failing call reverts
 * its own writes while the fee and nonce stay charged). Savepoints nest.
 *
 * Failure model: every operation that can fail checks its caps and allocates before it changes
 * anything, so a failed write (STATE_FULL, STATE_NOMEM) leaves the overlay exactly as it was and
 * still usable; the caller normally rolls back the enclosing savepoint.
 *
 * Not thread-safe: one overlay belongs to one thread at a time.
 */
#ifndef TN_CHAIN_STATE_H
#define TN_CHAIN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/kv.h"

#define STATE_KEY_MAX   256        /* keys are 1..STATE_KEY_MAX bytes (the state tree's limit) */
#define STATE_VALUE_MAX (1u << 20) /* one value is at most 1 MiB */
#define STATE_SP_MAX    16         /* savepoint nesting depth */

enum state_result {
	STATE_OK = 0,
	STATE_FULL,    /* the overlay's entry or byte cap would be passed; nothing was written */
	STATE_NOMEM,   /* allocation failed; nothing was written */
	STATE_STORAGE, /* the underlying reader reported a storage error */
};

/* A static English message for r; never NULL. */
const char *state_strerror(enum state_result r);

/* Read access to committed state. get returns 1 when key is present (*val, *vlen set; *val is
 * borrowed and valid until the next call on the same reader), 0 when absent, -1 on a storage
 * error. key is 1..STATE_KEY_MAX bytes. */
struct state_reader {
	void *ctx;
	int (*get)(void *ctx, const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen);
};

struct state_limits {
	size_t max_entries; /* distinct keys written (including deletions); 0 means 1,000,000 */
	size_t max_bytes;   /* key + value bytes held, including undo copies; 0 means 256 MiB */
};

/* The overlay. Its fields are private (src/chain/state.c); callers only allocate it. */
struct state_entry;
struct state_undo;
struct state_overlay {
	struct state_reader base;
	struct state_limits lim;
	struct state_entry *entries; /* in insertion order */
	size_t n_entries, cap_entries;
	uint32_t *index;  /* open addressing: entry index + 1, 0 = empty slot */
	size_t index_cap; /* power of two */
	struct state_undo *undo;
	size_t n_undo, cap_undo;
	size_t sp_entries[STATE_SP_MAX]; /* n_entries when each open savepoint began */
	size_t sp_undo[STATE_SP_MAX];    /* n_undo when each open savepoint began */
	uint32_t sp_id[STATE_SP_MAX];
	size_t sp_depth;
	uint32_t sp_next_id;
	size_t bytes;
	uint8_t hash_key[16];    /* random SipHash key: colliding keys cannot be ground offline */
	struct kv_write *sorted; /* built by state_overlay_export */
	size_t n_sorted;
};

/* Initialises o over base (copied; base->ctx must outlive o; base NULL or base->get NULL means an
 * empty state) with the caps in lim (NULL = the
 * defaults). Allocates nothing yet. Release with state_overlay_release. */
void state_overlay_init(struct state_overlay *o, const struct state_reader *base,
                        const struct state_limits *lim);
/* Frees everything o owns; o may be initialised again. Pointers from get/export become invalid. */
void state_overlay_release(struct state_overlay *o);

/* Reads key through o: the overlay's own write if any (a deletion reads as absent), else the base
 * reader. Same contract as state_reader.get; a returned *val from the overlay stays valid until
 * the next write, rollback or release. */
int state_overlay_get(struct state_overlay *o, const uint8_t *key, size_t klen, const uint8_t **val,
                      size_t *vlen) __attribute__((warn_unused_result));
/* Sets key to val[0..vlen) (copied). Returns STATE_OK, STATE_FULL or STATE_NOMEM. */
enum state_result state_overlay_put(struct state_overlay *o, const uint8_t *key, size_t klen,
                                    const uint8_t *val, size_t vlen)
    __attribute__((warn_unused_result));
/* Deletes key (a tombstone, exported with value NULL). Returns as state_overlay_put. */
enum state_result state_overlay_delete(struct state_overlay *o, const uint8_t *key, size_t klen)
    __attribute__((warn_unused_result));

/* A reader that reads through o (for admission checks against a block being built). Valid while
 * o is; do not write to o while a value it returned is in use. */
void state_overlay_reader(struct state_overlay *o, struct state_reader *out);

/* Opens a savepoint (at most STATE_SP_MAX nested; more is a caller bug and aborts). */
void state_overlay_savepoint(struct state_overlay *o);
/* Reverts every write since the innermost open savepoint and closes it. */
void state_overlay_rollback(struct state_overlay *o);
/* Closes the innermost savepoint keeping its writes (they join the enclosing savepoint, if any). */
void state_overlay_release_savepoint(struct state_overlay *o);

/* Number of keys with a pending write (value or deletion). */
size_t state_overlay_count(const struct state_overlay *o);

/* Exports the pending writes sorted by key (bytewise, a shorter prefix first), each key once.
 * *out is owned by o and valid until the next write, rollback or release. No savepoint may be
 * open (caller bug). Returns STATE_OK or STATE_NOMEM. */
enum state_result state_overlay_export(struct state_overlay *o, const struct kv_write **out,
                                       size_t *n) __attribute__((warn_unused_result));

#endif
