/*
 * Building blocks shared by the built-in contracts (balances, assets): a capped, sorted book of
 * 32-byte keys to u128 amounts, capped per-account history rings, fixed-size command framing and
 * English replies. Everything is deterministic (sorted arrays, no pointers or hashes in any
 * order), so every worker of a cluster builds the same state and the same snapshot bytes.
 *
 * Memory: a book holds at most `max` entries, a history at most `max_accounts` rings of
 * `per_account` entries of `entry_len` bytes; both grow on demand up to those caps. Allocation
 * failure is reported by the _room functions, before anything changes, so a handler can check
 * first and then change without a failure half-way (docs/contracts.md "Atomicity").
 */
#ifndef TN_CONTRACTS_KIT_H
#define TN_CONTRACTS_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "enclave/contract.h"

/* ---- books: key -> non-zero amount ------------------------------------------------------- */

struct kit_entry {
	uint8_t key[32];
	u128 amount;
};

struct kit_book {
	struct kit_entry *v; /* sorted by key, amounts never zero */
	size_t n, cap, max;
};

/* An empty book of at most max entries (allocates nothing yet). */
void kit_book_init(struct kit_book *b, size_t max);
/* Frees the entries; the book is empty (and usable) afterwards. */
void kit_book_release(struct kit_book *b);
/* key's amount, 0 when absent. */
u128 kit_book_get(const struct kit_book *b, const uint8_t key[32]);
/* Whether kit_book_set(b, key, non-zero) will succeed: key is present, or there is room for one
 * more entry (allocating it now). false when the book holds max entries or on allocation
 * failure; nothing changes either way that a reader could see. */
bool kit_book_room(struct kit_book *b, const uint8_t key[32]);
/* Sets key's amount; 0 removes the entry. Inserting needs a kit_book_room that said true since
 * the last insert (aborts otherwise). */
void kit_book_set(struct kit_book *b, const uint8_t key[32], u128 amount);
/* Appends uleb n ‖ n × (key [32] ‖ amount u128), keys increasing. */
void kit_book_encode(const struct kit_book *b, struct enc *e);
/* Reads what kit_book_encode wrote into an empty book initialised with its max: fails d
 * (CODEC_NONCANONICAL) on keys not strictly increasing, a zero amount or more than max entries,
 * CODEC_NOMEM on allocation failure. */
void kit_book_decode(struct kit_book *b, struct dec *d);

/* ---- histories: per-account rings of fixed-size entries ---------------------------------- */

struct kit_ring {
	uint8_t key[32];
	uint8_t *entries; /* per_account × entry_len bytes */
	uint32_t n, next; /* n kept (<= per_account); next is the slot the next entry takes */
};

struct kit_history {
	struct kit_ring *v; /* sorted by key */
	size_t n, cap, max_accounts, per_account, entry_len;
};

void kit_history_init(struct kit_history *h, size_t max_accounts, size_t per_account,
                      size_t entry_len);
void kit_history_release(struct kit_history *h);
/* Whether kit_history_add(h, key, ...) will succeed (key has a ring, or one can be made now).
 * false when max_accounts rings exist or on allocation failure. */
bool kit_history_room(struct kit_history *h, const uint8_t key[32]);
/* Appends entry (entry_len bytes) to key's ring, dropping its oldest beyond per_account. Needs a
 * kit_history_room that said true for key since the last new ring (aborts otherwise). */
void kit_history_add(struct kit_history *h, const uint8_t key[32], const uint8_t *entry);
/* key's entries, oldest first: the count, and the i-th (borrowed until the next change). */
size_t kit_history_count(const struct kit_history *h, const uint8_t key[32]);
const uint8_t *kit_history_at(const struct kit_history *h, const uint8_t key[32], size_t i);
/* Appends uleb rings ‖ per ring: key [32] ‖ uleb n ‖ n × entry (oldest first). Empty rings (a
 * room that no add followed) are left out. */
void kit_history_encode(const struct kit_history *h, struct enc *e);
/* Reads what kit_history_encode wrote into an empty history initialised with the same caps;
 * fails d on unsorted keys, empty rings, counts over the caps or allocation failure. */
void kit_history_decode(struct kit_history *h, struct dec *d);

/* ---- queries --------------------------------------------------------------------------------- */

/* A query handler: asker is the account that signed the query (read-only: state is const). */
typedef enum contract_result (*kit_query_fn)(const void *state, struct contract_env *env,
                                             const uint8_t asker[32], const uint8_t *req,
                                             struct enc *resp);
/* One query kind: its first byte, its exact length, and whether req[1..33) names an account
 * that must be the asker's own (balances, holdings, histories). */
struct kit_query {
	uint8_t kind;
	size_t len;
	bool own;
	kit_query_fn fn;
};
/* Runs the entry of t[0..n) whose kind and length req[0..len) has. Returns its result,
 * CONTRACT_DENIED for an `own` query about another account (the handler does not run),
 * CONTRACT_TOO_LARGE when the answer does not fit resp, CONTRACT_BAD_REQUEST when no entry
 * matches. */
enum contract_result kit_query(const struct kit_query *t, size_t n, const void *state,
                               struct contract_env *env, const uint8_t asker[32],
                               const uint8_t *req, size_t len, struct enc *resp);

/* ---- commands and replies ------------------------------------------------------------------ */

/* Little-endian fields at p (the codec's layout), for fixed-offset command and answer bytes. */
u128 kit_get_u128(const uint8_t *p);
uint64_t kit_get_u64(const uint8_t *p);
uint32_t kit_get_u32(const uint8_t *p);
void kit_put_u128(uint8_t *p, u128 v);

/* A fixed-size command: n == len, and every byte from `used` on is zero (the padding that makes
 * all commands of a contract one size on chain). */
bool kit_fixed(const uint8_t *p, size_t n, size_t len, size_t used);
/* "contract/<id hex>/message": where contract_emit reaches contract id's on_message. */
#define KIT_TOPIC_LEN (9 + 64 + 8)
char *kit_message_topic(char out[KIT_TOPIC_LEN + 1], const uint8_t id[CONTRACT_ID_LEN]);
/* True when all 32 bytes are zero. */
bool kit_zero_key(const uint8_t key[32]);
/* Formats a reply (printf-style) into the command's receipt and returns r: the idiom
 * `return kit_reply(env, BALANCES_INSUFFICIENT, "insufficient dark balance: ...", ...)`. Use only
 * in command handlers (contract_reply's rule); text longer than CONTRACT_REPLY_MAX is cut. */
enum contract_result kit_reply(struct contract_env *env, enum contract_result r, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));
/* Short account text for replies: the first 8 hex digits and "..." (out: 12 bytes). */
char *kit_short(char out[12], const uint8_t key[32]);

#endif
