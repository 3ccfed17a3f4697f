/*
 * Runtime internals shared by runtime.c and the modules (mod_*.c). A module is a table of calls;
 * runtime.c lists the modules by id. To add a module: write mod_<name>.c defining a
 * `const struct runtime_module <name>_module`, declare it here and add it to runtime.c's table.
 */
#ifndef TN_CHAIN_RUNTIME_INT_H
#define TN_CHAIN_RUNTIME_INT_H

#include "chain/runtime.h"

/* What a call's apply function sees. The fee, tip and nonce are already charged. */
struct runtime_ctx {
	const struct runtime_params *params;
	struct state_overlay *overlay;
	const struct tx *tx;
	uint64_t height;
	struct tx_check *check; /* set need/have when failing on a balance */
};

struct runtime_call {
	uint8_t function;
	const char *name; /* "module.function" */
	uint64_t weight;  /* fixed execution weight (docs/protocol/runtime.md "Weights") */
	/* Stateless payload check at admission: TX_OK or a not-includable code. */
	enum tx_result (*validate)(const struct tx *tx);
	/* Optional admission check against the state r (the head's), run after the fee checks
	 * passed (c->balance, c->fee and c->tip are set): returns TX_OK or the call error the call
	 * would fail with at execution, so a tx that cannot succeed is refused instead of admitted
	 * to pay a fee for nothing; TX_STORAGE when r fails. NULL when the call has no such check.
	 */
	enum tx_result (*admit)(const struct runtime_params *p, const struct state_reader *r,
	                        const struct tx *tx, struct tx_check *c);
	/* Executes the call: TX_OK, a call error, or TX_STORAGE / TX_STATE_FULL / TX_NOMEM. Runs
	 * only on txs validate accepted. */
	enum tx_result (*apply)(struct runtime_ctx *c);
};

struct runtime_module {
	uint8_t id;
	const char *name;
	const struct runtime_call *calls;
	size_t n_calls;
};

extern const struct runtime_module system_module;
extern const struct runtime_module balances_module;
extern const struct runtime_module validators_module;
extern const struct runtime_module registry_module;
extern const struct runtime_module mq_module;
extern const struct runtime_module contracts_module;

/* Reads pk's account through o. *exists says whether it exists (*a zeroed if not). Returns TX_OK
 * or TX_STORAGE. */
enum tx_result runtime_account_load(struct state_overlay *o, const uint8_t pk[32],
                                    struct account *a, bool *exists)
    __attribute__((warn_unused_result));
/* Writes pk's account into o. Returns TX_OK, TX_STATE_FULL or TX_NOMEM. */
enum tx_result runtime_account_store(struct state_overlay *o, const uint8_t pk[32],
                                     const struct account *a) __attribute__((warn_unused_result));
/* The validators module's part of runtime_end_block (same contract). */
enum tx_result validators_end_block(struct state_overlay *o, uint64_t height, struct valset *next,
                                    bool *changed) __attribute__((warn_unused_result));
/* Maps an overlay write result to a tx result. */
enum tx_result runtime_from_state(enum state_result r);
/* Turns a reader's 1 / 0 / -1 into *found (rc == 1) and TX_OK, or TX_STORAGE for -1. */
enum tx_result runtime_found(int rc, bool *found);
/* Reads key through o: TX_OK with *found and, when found, *v / *n borrowed until the next write
 * to o; or TX_STORAGE. */
enum tx_result runtime_get(struct state_overlay *o, const void *key, size_t klen, const uint8_t **v,
                           size_t *n, bool *found) __attribute__((warn_unused_result));
/* Writes key = v[0..n) into o: TX_OK, TX_STATE_FULL or TX_NOMEM. */
enum tx_result runtime_put(struct state_overlay *o, const void *key, size_t klen, const void *v,
                           size_t n) __attribute__((warn_unused_result));
/* TX_OK when tx was sent by the sudo account, else TX_CALL_NOT_SUDO. */
enum tx_result runtime_require_sudo(const struct runtime_params *p, const struct tx *tx);
/* The admit function (struct runtime_call) of sudo-only calls: runtime_require_sudo. */
enum tx_result runtime_admit_sudo(const struct runtime_params *p, const struct state_reader *r,
                                  const struct tx *tx, struct tx_check *c);

#endif
