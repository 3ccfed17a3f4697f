/*
 * Building signed transactions for any call, paying exactly the fee the runtime will charge
 * (runtime_fee over the encoded length with the node's fee parameters). Used by the worker host
 * (registration, mq.push) and by the CLI's registry and contract commands.
 */
#ifndef TN_WORKER_WORKER_TX_H
#define TN_WORKER_WORKER_TX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/runtime.h"
#include "chain/tx.h"

#define WORKER_TX_MORTALITY 64 /* blocks a tx stays valid for */

/* What a call's tx needs from the node. */
struct worker_tx_chain {
	struct runtime_params params; /* chain id and fee parameters only */
	uint64_t height;              /* the head, for valid_until */
	uint64_t nonce;               /* the sender's next nonce (pool included) */
};

/* Reads chain_id and fees from a chain_info answer, and height and next_nonce from the sender's
 * account_get answer. False when a field is missing or malformed. */
bool worker_tx_chain_read(struct worker_tx_chain *ch, const json_t *info, const json_t *account);

/* Fills *tx with the call module.function(payload) (payload borrowed: it must outlive tx) from
 * the account whose secret key is sk (libsodium layout), nonce ch->nonce, valid_until, max_fee =
 * the exact fee + tip, and signs it. False when the payload is too large for a tx or the fee
 * overflows. */
bool worker_tx_fill(struct tx *tx, const struct worker_tx_chain *ch, const uint8_t sk[64],
                    uint64_t valid_until, uint8_t module, uint8_t function, const uint8_t *payload,
                    size_t len, u128 tip);

/* Appends to out (a growable encoder with cap >= TX_MAX_BYTES) the signed tx calling
 * module.function(payload) from the account whose secret key is sk (libsodium layout), nonce
 * ch->nonce, valid until ch->height + WORKER_TX_MORTALITY, max_fee = the exact fee + tip; txid
 * gets its id. False when the payload is too large for a tx or the fee overflows. */
bool worker_tx_build(struct enc *out, const struct worker_tx_chain *ch, const uint8_t sk[64],
                     uint8_t module, uint8_t function, const uint8_t *payload, size_t len, u128 tip,
                     uint8_t txid[32]);

#endif
