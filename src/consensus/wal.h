/*
 * Consensus write-ahead log (research/consensus.md §1.3.6, §1.7; docs/protocol/wal.md).
 *
 * The node records every consensus input (proposals with their blocks, votes, timeouts, its own
 * values and messages) before the state machine sees it, so a restarted node replays the inputs
 * of the current height and reaches the state it had. The machine is deterministic (cons.h), so
 * replay reproduces its outputs; the signer guard (signer.h) makes re-signing them harmless.
 *
 * One file, DIR/cs.wal, of framed records:
 *     len u32 LE ‖ crc u32 LE ‖ type u8 ‖ data [len - 1]
 * crc is CRC32C (Castagnoli) over the 4 len bytes followed by type ‖ data. Type 0 is the WAL's
 * own "height started" marker (data = height u64 LE); types 1..255 belong to the caller.
 * wal_start_height replaces the file with one holding just the new marker (temp file + fsync +
 * rename + fsync of the directory), so the file holds one height's records at most.
 *
 * Crash behaviour: a record whose append returned WAL_OK with sync (or that a later wal_sync or
 * synced append covered) survives a crash of the process or the machine. On open, the file is
 * cut at the first record that is incomplete or fails its CRC (a torn tail after a crash, or
 * corruption), and the cut is logged: the log is always a clean prefix of what was appended.
 *
 * Not thread-safe: one thread owns a struct wal. One process per directory (DIR/wal.lock,
 * flock).
 */
#ifndef TN_CONSENSUS_WAL_H
#define TN_CONSENSUS_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_FILE         "cs.wal"
#define WAL_LOCK_FILE    "wal.lock"
#define WAL_HEADER_LEN   8           /* len u32 ‖ crc u32 */
#define WAL_REC_HEIGHT   0           /* the marker type; reserved */
#define WAL_RECORD_LIMIT (64u << 20) /* largest len accepted anywhere (cfg.max_record <= it) */

enum wal_result {
	WAL_OK = 0,
	WAL_END,       /* wal_iter_next: no more records */
	WAL_NO_HEIGHT, /* wal_iter_init: the log does not hold the records of that height */
	WAL_NOT_FOUND, /* wal_file_read: no such file */
	WAL_TOO_LARGE, /* a record over cfg.max_record, or a file over the reader's cap */
	WAL_FULL,      /* the append would grow the file past cfg.max_size; nothing was written */
	WAL_IO,        /* a system call failed (logged with its errno); a log is now failed */
	WAL_FAILED,    /* an earlier write failed: the log refuses appends until reopened */
	WAL_LOCKED,    /* another process has the directory open */
	WAL_CORRUPT,   /* iteration met a record that changed on disk after wal_open */
	WAL_NOMEM,
};

const char *wal_strerror(enum wal_result r);

/* CRC32C (Castagnoli, reflected, init and final xor 0xFFFFFFFF) of p[0..n): RFC 3720 B.4. */
uint32_t wal_crc32c(const uint8_t *p, size_t n);

/* ---- Fault injection (tests only; production passes NULL) ------------------------------ */

/* Counts the mutating calls made through it (each write of a buffer, fsync, fdatasync, rename,
 * ftruncate). The fail_at-th one (1-based; 0 = none) fails with EIO as a crash would leave it: a
 * write first writes a prefix (length drawn from seed) of its buffer, an fsync syncs nothing, a
 * rename or truncate does not happen. Like CometBFT's crashingWAL, a test runs a workload once
 * to count the calls, then once per fail_at. */
struct wal_fault {
	uint64_t fail_at;
	uint64_t calls;
	uint64_t seed;
};

/* ---- Durable small files (the WAL's checkpoint and the signer's state) ------------------ */

/* Creates dir (mode 0700; its parent must exist; the parent is synced when dir is new), opens
 * it (*dirfd) and takes an exclusive flock on dir/lock_name (*lockfd, created 0600) that lasts
 * until the fd is closed. Returns WAL_LOCKED if another open file description holds the lock
 * (another process, or another object in this one), WAL_IO otherwise; no fd is left open on
 * failure. */
enum wal_result wal_dir_open(const char *dir, const char *lock_name, int *dirfd, int *lockfd)
    __attribute__((warn_unused_result));

/* Atomically replaces dirfd/name with p[0..n): writes name.tmp (0600), fsyncs it, renames it
 * over name and fsyncs the directory. After WAL_IO (logged) the file holds either the old or
 * the new contents, and which one is unknown until read back. fault may be NULL. */
enum wal_result wal_file_replace(int dirfd, const char *name, const uint8_t *p, size_t n,
                                 struct wal_fault *fault) __attribute__((warn_unused_result));

/* Reads all of dirfd/name (a regular file, not a symlink) into buf[0..cap), *len = its size.
 * WAL_NOT_FOUND if it does not exist, WAL_TOO_LARGE if it is longer than cap, WAL_IO. */
enum wal_result wal_file_read(int dirfd, const char *name, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* ---- The log ----------------------------------------------------------------------------- */

struct wal_config {
	uint32_t max_record; /* largest type ‖ data accepted by wal_append (<= RECORD_LIMIT) */
	uint64_t max_size;   /* largest file size wal_append may produce */
	struct wal_fault *fault; /* tests only; NULL */
};

/* max_record 8 MiB (a 4 MiB block with its proposal fits), max_size 1 GiB, no faults. */
void wal_config_default(struct wal_config *cfg);

struct wal_info {
	bool has_height;  /* the log holds a height marker */
	uint64_t height;  /* the last marker's height */
	uint64_t size;    /* bytes of valid records (the file's size) */
	uint64_t dropped; /* bytes cut from the tail by wal_open (0 if the file was clean) */
};

struct wal;

/* Opens (creating if needed) the log in directory dir (see wal_dir_open), cuts a torn or corrupt
 * tail (logged as a warning; see wal_info.dropped) and removes a temp file left by an
 * interrupted wal_start_height. cfg is copied; cfg->fault, if set, must outlive the log. On
 * WAL_OK *out owns the log (free with wal_free). Errors: WAL_LOCKED, WAL_IO, WAL_NOMEM. */
enum wal_result wal_open(struct wal **out, const char *dir, const struct wal_config *cfg)
    __attribute__((warn_unused_result));
/* Closes the log; appends not yet synced may or may not survive a crash after this. NULL ok. */
void wal_free(struct wal *w);

void wal_info(const struct wal *w, struct wal_info *out);

/* Appends one record of type 1..255 (asserted) with data[0..len). sync: fdatasync before
 * returning, making this record and every earlier one durable (the node syncs its own signed
 * messages before sending them, and its own values). Errors: WAL_TOO_LARGE (1 + len >
 * cfg.max_record) and WAL_FULL leave the log as it was and usable; WAL_IO makes it failed;
 * WAL_FAILED if it already was. */
enum wal_result wal_append(struct wal *w, uint8_t type, const uint8_t *data, size_t len, bool sync)
    __attribute__((warn_unused_result));
/* Makes every appended record durable. WAL_IO (then failed), WAL_FAILED. */
enum wal_result wal_sync(struct wal *w) __attribute__((warn_unused_result));

/* Starts a height: durably replaces the log with a single marker for height, dropping every
 * earlier record (call it once the previous height's block is durably committed, before any
 * record of the new height). WAL_IO (then failed; after a crash the log holds either the old
 * records or the new marker), WAL_FAILED. */
enum wal_result wal_start_height(struct wal *w, uint64_t height)
    __attribute__((warn_unused_result));

/* ---- Replay ------------------------------------------------------------------------------ */

struct wal_record {
	uint8_t type;        /* 1..255 */
	const uint8_t *data; /* borrowed from the log; valid until the next wal_iter_next or
	                        wal_free */
	size_t len;
};

struct wal_iter {
	struct wal *w;
	uint64_t off, end;
};

/* Positions it after the last marker if that marker is for height (records appended later are
 * not visited). WAL_NO_HEIGHT if the log has no marker or the last one is another height. */
enum wal_result wal_iter_init(struct wal_iter *it, struct wal *w, uint64_t height)
    __attribute__((warn_unused_result));
/* The next record, in append order: WAL_OK (fills *rec), WAL_END, WAL_IO, WAL_CORRUPT (the file
 * changed since wal_open), WAL_NOMEM. */
enum wal_result wal_iter_next(struct wal_iter *it, struct wal_record *rec)
    __attribute__((warn_unused_result));

#endif
