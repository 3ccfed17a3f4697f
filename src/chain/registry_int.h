/*
 * Internals shared by the balances, registry, mq and contracts modules (mod_balances.c,
 * mod_registry.c, mod_mq.c, mod_contracts.c, mod_custody.c): index lists, the message consumers
 * of "^registry/..." and "^contracts/..." topics, balance moves and the lookups one module makes
 * in another's records.
 */
#ifndef TN_CHAIN_REGISTRY_INT_H
#define TN_CHAIN_REGISTRY_INT_H

#include "chain/contracts.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "chain/runtime_int.h"

/* Record keys: prefix ‖ id [32], and prefix ‖ v u32 big-endian (so the state tree keeps them in
 * numeric order). key holds strlen(prefix) + 32 (or + 4) bytes; each returns the key's length. */
size_t registry_key_id(uint8_t *key, const char *prefix, const uint8_t id[32]);
size_t registry_key_u32(uint8_t *key, const char *prefix, uint32_t v);
/* Writes v big-endian into out[0..4). */
void registry_be32(uint8_t out[4], uint32_t v);

/* An append-only list of 32-byte ids: count u32 at prefix ‖ "n", id i at prefix ‖ "i" ‖ i u32
 * big-endian (so the state tree keeps them in order). */
#define REGISTRY_INDEX_KEY_MAX 32
enum tx_result registry_index_append(struct state_overlay *o, const char *prefix,
                                     const uint8_t id[32]) __attribute__((warn_unused_result));
/* 1 / 0 (count 0) / -1, as the public readers. */
int registry_index_count(const struct state_reader *r, const char *prefix, uint32_t *n)
    __attribute__((warn_unused_result));
int registry_index_at(const struct state_reader *r, const char *prefix, uint32_t i, uint8_t id[32])
    __attribute__((warn_unused_result));

/* The key that must have signed a message from origin (mq.h): TX_OK with pk set,
 * TX_CALL_MQ_BAD_ORIGIN (module origin, unknown or unregistered sender, no published key),
 * TX_CALL_REG_NOT_GATEKEEPER (gatekeeper origin that is not a current gatekeeper) or
 * TX_STORAGE. Reads the state through r. */
enum tx_result registry_origin_key(const struct state_reader *r, const struct mq_origin *origin,
                                   uint8_t pk[32]) __attribute__((warn_unused_result));

/* Consumers of the "^registry/..." topics (the table is in mod_mq.c): the message passed the
 * signature and sequence checks. Each returns TX_OK, a call error (TX_CALL_MQ_BAD_ORIGIN when the
 * origin is not a gatekeeper, TX_CALL_MQ_BAD_MESSAGE for a malformed payload, or the registry's
 * own refusals) or TX_STORAGE / TX_STATE_FULL / TX_NOMEM. mq reverts a refusing consumer's writes
 * but keeps the sequence consumed and records the result in its consumed notice. */
enum tx_result registry_on_master_key(struct runtime_ctx *c, const struct mq_message *m)
    __attribute__((warn_unused_result));
enum tx_result registry_on_cluster_key(struct runtime_ctx *c, const struct mq_message *m)
    __attribute__((warn_unused_result));
enum tx_result registry_on_contract_key(struct runtime_ctx *c, const struct mq_message *m)
    __attribute__((warn_unused_result));

/* Consumer of CONTRACTS_TOPIC_WITHDRAW (mod_custody.c; chain/contracts.h describes the payload and
 * the answer): TX_CALL_MQ_BAD_ORIGIN when the origin is not a contract, TX_CALL_MQ_BAD_MESSAGE for
 * a malformed payload (nothing answered); otherwise the release is made or refused, answered to the
 * contract, and TX_OK returned so the answer is kept. TX_STORAGE / TX_STATE_FULL / TX_NOMEM. */
enum tx_result contracts_on_withdraw(struct runtime_ctx *c, const struct mq_message *m)
    __attribute__((warn_unused_result));

/* contracts.deposit (mod_custody.c), as the struct runtime_call fields. */
enum tx_result contracts_deposit_validate(const struct tx *tx);
enum tx_result contracts_deposit_admit(const struct runtime_params *p, const struct state_reader *r,
                                       const struct tx *tx, struct tx_check *c);
enum tx_result contracts_deposit_apply(struct runtime_ctx *c);
/* Writes the custody marker of contract id ("custody/" ‖ account -> id) at its deploy: TX_OK,
 * TX_STATE_FULL or TX_NOMEM. */
enum tx_result contracts_custody_record(struct state_overlay *o, const uint8_t id[32])
    __attribute__((warn_unused_result));

/* ---- balance moves (mod_balances.c) ---- */

/* Admission of a call that spends amount from the tx sender (c->balance, c->fee and c->tip set):
 * TX_OK, TX_CALL_INSUFFICIENT_BALANCE or TX_CALL_KEEP_ALIVE, with c->need / c->have set for the
 * message as balances.transfer sets them. */
enum tx_result balances_admit_spend(const struct runtime_params *p, u128 amount, struct tx_check *c)
    __attribute__((warn_unused_result));
enum {
	BALANCES_MOVE_KEEP_ALIVE = 1, /* `from` must keep the existential deposit (a tx sender) */
	BALANCES_MOVE_TO_CUSTODY = 2, /* `to` is a custody account: may be created below ED */
};
/* Moves amount from `from` to `to` (distinct accounts) in c->overlay. Returns TX_OK, a call
 * error (TX_CALL_INSUFFICIENT_BALANCE, TX_CALL_KEEP_ALIVE, TX_CALL_BELOW_ED when `to` does not
 * exist and amount < ED, TX_CALL_OVERFLOW), with chk->need / chk->have set when chk is not NULL,
 * or TX_STORAGE / TX_STATE_FULL / TX_NOMEM. A call error writes nothing. */
enum tx_result balances_move(struct runtime_ctx *c, const uint8_t from[32], const uint8_t to[32],
                             u128 amount, unsigned flags, struct tx_check *chk)
    __attribute__((warn_unused_result));

/* Reads key through r and decodes it with decode (which fills out): 1 found, 0 absent, -1
 * storage error or a value decode refuses. */
typedef enum codec_result (*registry_decode_fn)(void *out, const uint8_t *b, size_t n);
int registry_read(const struct state_reader *r, const void *key, size_t klen,
                  registry_decode_fn decode, void *out) __attribute__((warn_unused_result));
/* Encodes v with encode (at most max bytes) and writes it at key: TX_OK, TX_STATE_FULL or
 * TX_NOMEM. */
typedef void (*registry_encode_fn)(struct enc *e, const void *v);
enum tx_result registry_write(struct state_overlay *o, const void *key, size_t klen,
                              registry_encode_fn encode, const void *v, size_t max)
    __attribute__((warn_unused_result));

/* Whether cluster exists: TX_OK (*exists set) or TX_STORAGE. */
enum tx_result registry_cluster_exists(struct state_overlay *o, uint32_t cluster, bool *exists)
    __attribute__((warn_unused_result));

#endif
