/*
 * Signer guard: the only path from a validator's consensus key to a signature
 * (research/consensus.md §1.3.6, CometBFT spec/consensus/signing.md; docs/protocol/wal.md).
 *
 * It remembers the last (height, round, step) it signed, with the sign bytes and the signature,
 * in DIR/signer.state, and writes that file durably (temp file + fsync + rename + fsync of the
 * directory) BEFORE it hands out a signature. It signs (h, r, s) only if it is above the last
 * one in lexicographic order, steps ordered proposal < prevote < precommit. So, across crashes
 * and restarts, it never releases two signatures for one (h, r, s): at most one proposal per
 * (h, r), one prevote and one precommit (nil included), and a prevote after our own proposal of
 * the same round but never a proposal after a vote of it.
 *
 * Asking again for exactly the last (h, r, s) with identical sign bytes returns the stored
 * signature without writing: a node that crashed between signing and sending replays its WAL,
 * asks again, and gets the same message to send.
 *
 * The 64-byte Ed25519 secret key lives in libsodium guarded memory (guard pages, mlock,
 * no-access except while signing) owned by the guard, and is wiped when it is freed.
 * Not thread-safe. One process per directory (DIR/signer.lock, flock).
 */
#ifndef TN_CONSENSUS_SIGNER_H
#define TN_CONSENSUS_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/wal.h"
#include "crypto/sig.h"

#define SIGNER_STATE_FILE     "signer.state"
#define SIGNER_LOCK_FILE      "signer.lock"
#define SIGNER_MAX_SIGN_BYTES 512 /* proposals and votes are ~100 bytes */

enum signer_step { SIGNER_PROPOSAL = 1, SIGNER_PREVOTE = 2, SIGNER_PRECOMMIT = 3 };

enum signer_result {
	SIGNER_OK = 0,
	SIGNER_DOUBLE_SIGN, /* the last (h, r, step) again with different sign bytes: refused */
	SIGNER_REGRESSION,  /* (h, r, step) below the last one signed: refused */
	SIGNER_IO,          /* the state could not be read or written (logged); after a failed write
	                       the guard is failed */
	SIGNER_FAILED,      /* an earlier write failed: reopen to learn what the disk holds */
	SIGNER_LOCKED,      /* another process has the directory open */
	SIGNER_CORRUPT,     /* the state file is malformed (never reset silently: move it away by
	                       hand only if you know this key signed nothing at its height) */
	SIGNER_WRONG_KEY,   /* the state file belongs to another public key */
	SIGNER_NOMEM,
};

const char *signer_strerror(enum signer_result r);

/* The last signed position. */
struct signer_last {
	bool any; /* false: this key has signed nothing in this directory */
	uint64_t height;
	uint32_t round;
	enum signer_step step;
};

struct signer;

/* Opens the guard for the key sk (libsodium layout seed ‖ public key; copied into guarded
 * memory, the caller wipes its own copy) with its state in directory dir (created 0700 if
 * missing; see wal_dir_open). fault is for tests (wal.h), NULL in production, and must outlive
 * the guard. On SIGNER_OK *out owns the guard (free with signer_free). Errors: SIGNER_LOCKED,
 * SIGNER_IO, SIGNER_CORRUPT, SIGNER_WRONG_KEY, SIGNER_NOMEM. */
enum signer_result signer_open(struct signer **out, const char *dir, const uint8_t sk[SIG_SK_LEN],
                               struct wal_fault *fault) __attribute__((warn_unused_result));
/* Wipes and frees the key, releases the lock. NULL ok. */
void signer_free(struct signer *s);

/* Signs msg[0..len) (the caller's sign bytes for this (height, round, step); len <=
 * SIGNER_MAX_SIGN_BYTES, asserted) into sig if the rule above allows it, after making the new
 * state durable. Returns SIGNER_OK with sig filled (a new signature, or the stored one for an
 * identical request), SIGNER_DOUBLE_SIGN, SIGNER_REGRESSION (sig untouched, state unchanged),
 * SIGNER_IO (nothing released; the guard is failed), SIGNER_FAILED. */
enum signer_result signer_sign(struct signer *s, enum signer_step step, uint64_t height,
                               uint32_t round, const uint8_t *msg, size_t len, uint8_t sig[SIG_LEN])
    __attribute__((warn_unused_result));

void signer_last(const struct signer *s, struct signer_last *out);
void signer_pubkey(const struct signer *s, uint8_t pk[SIG_PK_LEN]);

#endif
