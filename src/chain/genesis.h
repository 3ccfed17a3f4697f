/*
 * Genesis: the JSON document that defines a chain (docs/protocol/runtime.md "Genesis").
 *
 * Parsing is strict: unknown fields are errors (so a typo cannot silently drop a setting), every
 * field but an allocation's label is required, amounts are PHA decimal strings ("0.01"), account
 * fields are SS58 addresses with the document's ss58_prefix. Error messages name the offending
 * field by path ("allocations[2].amount").
 *
 * The chain id is the genesis hash: hash_tagged(GENESIS_HASH_TAG, canonical binary encoding of the
 * parsed document), so JSON whitespace, key order and number spelling do not change it.
 */
#ifndef TN_CHAIN_GENESIS_H
#define TN_CHAIN_GENESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"
#include "chain/attest.h"
#include "chain/runtime.h"
#include "chain/state.h"

#define GENESIS_HASH_TAG         "tenebra/v1/genesis"
#define GENESIS_ENCODING_VERSION 1
#define GENESIS_NAME_MAX         64  /* chain and validator names, bytes */
#define GENESIS_LABEL_MAX        128 /* allocation labels, bytes */
#define GENESIS_SYMBOL_MAX       8
#define GENESIS_MAX_VALIDATORS   128 /* VALSET_MAX: the genesis set must be a valid set */
#define GENESIS_MAX_ALLOCATIONS  100000
#define GENESIS_MAX_JSON         (16u << 20)
#define GENESIS_MAX_POWER        ((uint64_t)1 << 32)
#define GENESIS_DEV_TIME_MS      1767225600000ULL /* 2026-01-01T00:00:00Z: every dev chain's */
#define GENESIS_DEV_CHAIN_NAME   "tenebra-dev"

enum genesis_result {
	GENESIS_OK = 0,
	GENESIS_BAD_JSON,      /* not JSON, or a duplicate object key */
	GENESIS_MISSING_FIELD, /* a required field is absent */
	GENESIS_UNKNOWN_FIELD, /* a field that is not part of the format */
	GENESIS_BAD_TYPE,      /* e.g. a number where a string is required */
	GENESIS_BAD_VALUE,     /* out of range or badly formed (names, symbol, decimals, times) */
	GENESIS_BAD_ADDRESS,   /* not SS58, or another network's prefix */
	GENESIS_BAD_AMOUNT,    /* not a PHA decimal string */
	GENESIS_SUM_MISMATCH,  /* allocations do not add up to total_supply */
	GENESIS_DUPLICATE,     /* an account or validator listed twice */
	GENESIS_RULE,          /* another rule: ED, mining pool share, validators, treasury */
	GENESIS_TOO_LARGE,     /* document or array above its cap */
	GENESIS_NOMEM,
};

/* A static English message for r; never NULL (genesis_parse's err says more). */
const char *genesis_strerror(enum genesis_result r);

struct genesis_validator {
	char name[GENESIS_NAME_MAX + 1];
	uint8_t public_key[32];
	uint64_t power; /* 1..GENESIS_MAX_POWER */
};

struct genesis_allocation {
	uint8_t account[32];
	u128 amount;
	char label[GENESIS_LABEL_MAX + 1]; /* "" when absent */
};

struct genesis {
	char chain_name[GENESIS_NAME_MAX + 1];
	uint64_t genesis_time_ms;
	uint64_t block_time_ms;
	uint16_t ss58_prefix;
	char token_symbol[GENESIS_SYMBOL_MAX + 1];
	uint8_t token_decimals; /* always AMOUNT_DECIMALS */
	u128 total_supply;
	u128 existential_deposit;
	u128 fee_base, fee_per_byte, fee_per_weight;
	uint8_t treasury[32];
	uint8_t mining_reward_pool[32];
	uint8_t sudo[32];
	struct genesis_validator *validators; /* owned */
	size_t n_validators;
	struct genesis_allocation *allocations; /* owned */
	size_t n_allocations;
	bool has_attestation;             /* "attestation" given; else no worker can register */
	struct attest_policy attestation; /* the registry's policy (chain/attest.h) */
};

/* Parses and validates json[0..len) into *g. On GENESIS_OK the caller owns *g and releases it
 * with genesis_release. On any other result *g holds nothing to release and err (if errlen > 0)
 * holds a message naming the field and the problem, e.g.
 * "allocations[2].amount: not a PHA amount: \"-5\"". */
enum genesis_result genesis_parse(struct genesis *g, const char *json, size_t len, char *err,
                                  size_t errlen) __attribute__((warn_unused_result));
/* Frees the arrays of a parsed genesis and zeroes it. */
void genesis_release(struct genesis *g);

/* Appends the canonical binary encoding (docs/protocol/runtime.md) of g to e. */
void genesis_encode(struct enc *e, const struct genesis *g);
/* The chain id: hash_tagged(GENESIS_HASH_TAG, genesis_encode(g)). Allocates nothing. */
void genesis_hash(uint8_t out[32], const struct genesis *g);
/* The validator set that signs block 1, in canonical order (validators_sort): the set the genesis
 * state holds and header 1's validators_hash names, whatever order the document lists it in.
 * A parsed genesis always gives a valid set. */
void genesis_valset(struct valset *vs, const struct genesis *g);
/* The runtime parameters g defines (chain_id = genesis_hash(g)). */
void genesis_params(struct runtime_params *p, const struct genesis *g);
/* Writes every allocation as an account (nonce 0), sys/params, the attestation policy (when
 * given, "reg/policy") and the validator records
 * (validators_init_state: the set in canonical order, signing from height 1) into o. g must be
 * as genesis_parse returned it. Returns the first overlay failure (STATE_FULL / STATE_NOMEM),
 * else STATE_OK. */
enum state_result genesis_build_state(const struct genesis *g, struct state_overlay *o)
    __attribute__((warn_unused_result));

/* The dev chain's genesis JSON: chain "tenebra-dev", GENESIS_DEV_TIME_MS, the given block time;
 * alice (crypto/devkeys.h) is the only validator and sudo; the mining reward pool holds
 * 700,000,000 PHA; alice, bob, charlie, dave, eve and ferdie 10,000,000 PHA each; the treasury the
 * rest (240,000,000). Attestation: sim workers with any measurement, reports signed by the dev sim
 * key (attest_dev_sim_keypair), at most 600 blocks old. Treasury and mining pool are keyless module
 * accounts (runtime_module_account "treasury", "mining-reward-pool"). Returns a malloc'ed
 * NUL-terminated string the caller frees, or NULL when out of memory. */
char *genesis_dev_json(uint64_t block_time_ms);

#endif
