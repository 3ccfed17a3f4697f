/*
 * The runtime: accounts, fees, transaction admission and dispatch (DESIGN.md §6; byte layouts and
 * rules in docs/protocol/runtime.md).
 *
 * Calls are rows of a module table (system = 0, balances = 1; later modules add rows), each with a
 * fixed weight, a stateless payload check and an apply function. The runtime reads committed state
 * through a state_reader and writes into a state_overlay (chain/state.h); it never touches
 * storage, never verifies signatures (the caller does, with tx_verify_sig) and never allocates
 * except through the overlay.
 *
 *   fee = fee_base + fee_per_byte * tx_len + fee_per_weight * weight(call)
 *
 * The sender pays fee + tip, which must not exceed the tx's max_fee. The fee goes to the treasury,
 * the tip to the block author. Existential deposit (ED): accounts are never deleted (so nonces
 * never reset and old txs cannot replay); an account comes into existence only by receiving at
 * least ED; no tx may bring its sender's free balance below ED, fee included ("keep-alive").
 */
#ifndef TN_CHAIN_RUNTIME_H
#define TN_CHAIN_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/block.h"
#include "chain/state.h"
#include "chain/tx.h"

#define TX_MAX_MORTALITY 4096 /* valid_until may be at most height + TX_MAX_MORTALITY */

#define RUNTIME_ACCOUNT_PREFIX     "acct/"
#define RUNTIME_ACCOUNT_KEY_LEN    (5 + 32)
#define RUNTIME_ACCOUNT_VALUE_LEN  (8 + 16) /* nonce u64 ‖ free u128 */
#define RUNTIME_PARAMS_KEY         "sys/params"
#define RUNTIME_PARAMS_VERSION     1
#define RUNTIME_MODULE_ACCOUNT_TAG "tenebra/v1/module-account"

/* Module and function ids (the tx's module and function bytes). */
enum {
	RUNTIME_MODULE_SYSTEM = 0,
	RUNTIME_MODULE_BALANCES = 1,
	RUNTIME_MODULE_VALIDATORS = 2, /* calls and payloads: chain/validators.h */
	RUNTIME_MODULE_REGISTRY = 3,   /* chain/registry.h */
	RUNTIME_MODULE_MQ = 4,         /* chain/mq.h */
	RUNTIME_MODULE_CONTRACTS = 5,  /* chain/contracts.h */
};
enum { SYSTEM_FN_REMARK = 0 };     /* payload: 0..SYSTEM_REMARK_MAX raw bytes */
enum { BALANCES_FN_TRANSFER = 0 }; /* payload: dest [32] ‖ amount u128 */
#define SYSTEM_REMARK_MAX             1024
#define BALANCES_TRANSFER_PAYLOAD_LEN (32 + 16)

/* Results of admission and execution. The numbers are part of the protocol (receipts carry them).
 * Codes below TX_CALL_ERRORS mean "not includable": the tx is rejected from the pool or skipped by
 * the block producer, and state is unchanged. Codes from TX_CALL_ERRORS on are call errors: the tx
 * is included, its fee and tip are charged and its nonce is used, but the call's writes revert. */
enum tx_result {
	TX_OK = 0,
	TX_WRONG_CHAIN = 1,         /* chain id is not this chain's genesis hash */
	TX_EXPIRED = 2,             /* valid_until < height */
	TX_VALID_UNTIL_TOO_FAR = 3, /* valid_until > height + TX_MAX_MORTALITY */
	TX_UNKNOWN_MODULE = 4,
	TX_UNKNOWN_FUNCTION = 5,
	TX_BAD_PAYLOAD = 6,       /* payload malformed for the call (length, encoding) */
	TX_ZERO_AMOUNT = 7,       /* a transfer of 0 */
	TX_SELF_TRANSFER = 8,     /* a transfer to the sender itself */
	TX_FEE_OVERFLOW = 9,      /* fee or fee + tip does not fit in u128 */
	TX_FEE_ABOVE_MAX = 10,    /* fee + tip > max_fee */
	TX_NO_ACCOUNT = 11,       /* the sender account does not exist */
	TX_NONCE_STALE = 12,      /* nonce < account nonce (already used) */
	TX_NONCE_FUTURE = 13,     /* execution only: nonce > account nonce */
	TX_CANNOT_PAY_FEE = 14,   /* free balance < fee + tip */
	TX_FEE_KEEP_ALIVE = 15,   /* paying fee + tip would leave less than ED */
	TX_BALANCE_OVERFLOW = 16, /* crediting fee or tip (or the nonce) would overflow */
	TX_STORAGE = 17,          /* the state reader failed or holds a malformed account */
	TX_STATE_FULL = 18,       /* the block's write set is full: close the block */
	TX_NOMEM = 19,
	TX_EVIDENCE_BAD_SIG = 30, /* validators.report_evidence: a vote signature does not verify */
	TX_CALL_ERRORS = 64,
	TX_CALL_INSUFFICIENT_BALANCE = 64, /* amount > free balance after the fee */
	TX_CALL_KEEP_ALIVE = 65,           /* the transfer would leave the sender below ED */
	TX_CALL_BELOW_ED = 66,             /* would create an account with less than ED */
	TX_CALL_OVERFLOW = 67,             /* the destination balance would overflow */
	/* validators (80..87) */
	TX_CALL_NOT_SUDO = 80,           /* the call is reserved to the sudo account */
	TX_CALL_NOT_VALIDATOR = 81,      /* the key is not in the (relevant) validator set */
	TX_CALL_VALSET_EMPTY = 82,       /* the change would leave no validator */
	TX_CALL_VALSET_FULL = 83,        /* the change would exceed VALSET_MAX validators */
	TX_CALL_VALSET_OVERFLOW = 84,    /* total power would exceed VALSET_MAX_TOTAL_POWER */
	TX_CALL_EVIDENCE_TOO_OLD = 85,   /* over the age limit, or its set is no longer kept */
	TX_CALL_EVIDENCE_FUTURE = 86,    /* the votes are for a height above the block's */
	TX_CALL_EVIDENCE_DUPLICATE = 87, /* this offence is already recorded */
	/* registry (96..111) */
	TX_CALL_REG_NOT_OPERATOR = 96,            /* register_worker sent by another account */
	TX_CALL_REG_OPERATOR_CHANGED = 97,        /* re-registration names another operator */
	TX_CALL_REG_BACKEND_NOT_ALLOWED = 98,     /* attestation: backend not in the policy */
	TX_CALL_REG_MEASUREMENT_NOT_ALLOWED = 99, /* attestation: measurement not allowed */
	TX_CALL_REG_REPORT_DATA_MISMATCH = 100,   /* report data is not the registration hash */
	TX_CALL_REG_STALE_REPORT = 101,           /* report older than max_report_age, or future */
	TX_CALL_REG_UNKNOWN_SIM_KEY = 102,        /* sim report by a key the policy does not list */
	TX_CALL_REG_BAD_REPORT_SIG = 103,         /* sim report signature does not verify */
	TX_CALL_REG_BAD_QUOTE = 104,              /* SGX quote malformed, mismatched or debug */
	TX_CALL_REG_LOW_CONFIDENCE = 105,         /* level weaker than the policy accepts */
	TX_CALL_REG_UNKNOWN_WORKER = 106,         /* no registered worker with that identity */
	TX_CALL_REG_ALREADY_GATEKEEPER = 107,
	TX_CALL_REG_NOT_GATEKEEPER = 108,  /* not a gatekeeper (call or message origin) */
	TX_CALL_REG_LAST_GATEKEEPER = 109, /* would remove the only holder of the master key */
	TX_CALL_REG_CLUSTER_EXISTS = 110,
	TX_CALL_REG_UNKNOWN_CLUSTER = 111,
	TX_CALL_REG_NO_MASTER_KEY = 112, /* the current epoch's master key is not published */
	TX_CALL_REG_KEY_CONFLICT = 113,  /* a published key for another epoch or another key */
	TX_CALL_REG_FULL = 114,          /* gatekeeper list or master key history full */
	/* mq (116..119) */
	TX_CALL_MQ_BAD_ORIGIN = 116,     /* unknown sender, or one that may not send this */
	TX_CALL_MQ_BAD_SIGNATURE = 117,  /* a message signature does not verify */
	TX_CALL_MQ_WRONG_SEQUENCE = 118, /* not exactly the sender's next sequence */
	TX_CALL_MQ_UNKNOWN_TOPIC = 119,  /* a '^' topic no chain module consumes */
	TX_CALL_MQ_BAD_MESSAGE = 120,    /* a consumed ('^') message's payload is malformed */
	/* contracts (124..127) */
	TX_CALL_CONTRACT_EXISTS = 124,      /* the same deployer, cluster, code and salt again */
	TX_CALL_CONTRACT_UNKNOWN = 125,     /* no contract with that id */
	TX_CALL_CONTRACT_NO_DEPOSITS = 126, /* contracts.deposit to a code that takes none */
	TX_CALL_CUSTODY_ACCOUNT = 127, /* transfer or release to a contract's custody account */
};

/* A static English message for r; never NULL. */
const char *tx_strerror(enum tx_result r);
/* True for call errors (included, fee charged); false for TX_OK and not-includable codes. */
bool tx_result_is_call_error(enum tx_result r);

/* An account's state value. */
struct account {
	uint64_t nonce; /* number of txs it has sent (the next valid nonce) */
	u128 free;      /* spendable balance in units (1 PHA = 10^12) */
};

/* Chain parameters, stored under RUNTIME_PARAMS_KEY at genesis (so the state root commits them). */
struct runtime_params {
	uint8_t chain_id[32]; /* the genesis hash */
	uint16_t ss58_prefix;
	uint64_t block_time_ms;
	u128 existential_deposit;
	u128 fee_base;                  /* units per tx */
	u128 fee_per_byte;              /* units per byte of the signed tx */
	u128 fee_per_weight;            /* units per unit of call weight */
	uint8_t treasury[32];           /* receives fees; keyless module account */
	uint8_t mining_reward_pool[32]; /* keyless module account */
	uint8_t sudo[32];
};

/* Filled by runtime_check_tx / runtime_apply_tx with what they found, so the pool can tell ready
 * from future txs and runtime_describe can say exactly what was wrong. Fields after the point of
 * failure are zero. */
struct tx_check {
	uint64_t height;
	uint64_t valid_until;
	uint64_t tx_nonce;
	uint64_t account_nonce; /* the sender's current nonce (0 when it has no account) */
	bool account_exists;
	bool ready; /* tx_nonce == account_nonce: executable now (else future) */
	uint8_t module, function;
	uint64_t weight;
	u128 fee; /* computed fee (without the tip) */
	u128 tip;
	u128 max_fee;
	u128 balance; /* the sender's free balance when checked */
	u128 existential_deposit;
	u128 need, have; /* for balance errors: the amount required and the amount there */
};

/* What an included tx did. */
struct tx_outcome {
	enum tx_result result; /* TX_OK or a call error */
	u128 fee;              /* charged, to the treasury */
	u128 tip;              /* charged, to the author (or the treasury, see docs) */
	struct tx_check check;
};

/* Builds the state key "acct/" ‖ pk. */
void runtime_account_key(uint8_t key[RUNTIME_ACCOUNT_KEY_LEN], const uint8_t pk[32]);
void runtime_account_encode(uint8_t out[RUNTIME_ACCOUNT_VALUE_LEN], const struct account *a);
/* False if v[0..n) is not exactly a canonical account value. */
bool runtime_account_decode(struct account *a, const uint8_t *v, size_t n)
    __attribute__((warn_unused_result));
/* Reads pk's account: 1 found, 0 absent (*a zeroed), -1 storage error or malformed value. */
int runtime_account_get(const struct state_reader *r, const uint8_t pk[32], struct account *a)
    __attribute__((warn_unused_result));

/* Canonical encoding of the parameters (docs/protocol/runtime.md "sys/params"). */
void runtime_params_encode(struct enc *e, const struct runtime_params *p);
/* CODEC_OK, or the codec error (unknown version = CODEC_NONCANONICAL). */
enum codec_result runtime_params_decode(struct runtime_params *p, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));
/* Reads sys/params: 1 loaded, 0 absent, -1 storage error or malformed value. */
int runtime_params_load(const struct state_reader *r, struct runtime_params *p)
    __attribute__((warn_unused_result));
/* Writes sys/params into o. Returns the overlay's result. */
enum state_result runtime_params_store(struct state_overlay *o, const struct runtime_params *p)
    __attribute__((warn_unused_result));

/* The public key of a keyless module account: hash_tagged(RUNTIME_MODULE_ACCOUNT_TAG, name). No
 * private key exists for it. Names in use: "treasury", "mining-reward-pool". */
void runtime_module_account(uint8_t pk[32], const char *name);

/* "module.function" (e.g. "balances.transfer"), or NULL if the pair is unknown. */
const char *runtime_call_name(uint8_t module, uint8_t function);

/* Fee of tx (encoded length tx_len) without the tip, and its call's weight. Returns TX_OK,
 * TX_UNKNOWN_MODULE, TX_UNKNOWN_FUNCTION or TX_FEE_OVERFLOW. */
enum tx_result runtime_fee(const struct runtime_params *p, const struct tx *tx, size_t tx_len,
                           u128 *fee, uint64_t *weight) __attribute__((warn_unused_result));

/* Encodes a balances.transfer payload. */
void balances_transfer_payload(uint8_t out[BALANCES_TRANSFER_PAYLOAD_LEN], const uint8_t dest[32],
                               u128 amount);

/* Admission check of tx (tx_len = its encoded length, body + signature) for inclusion at block
 * `height`, against state r. Checks, in order: chain id, valid_until window, module/function,
 * payload, fee + tip <= max_fee, sender account exists, nonce >= account nonce, balance covers
 * fee + tip and keeps ED, then the call's own admission check (a transfer's amount + fee + tip
 * must leave the sender ED). A nonce above the account nonce passes (out->ready false: a future
 * tx). Does not verify the signature. Fills *out as far as it got. Returns TX_OK or the first
 * failure; a call error here (e.g. TX_CALL_INSUFFICIENT_BALANCE) means the call would fail, so
 * the tx is refused rather than admitted to pay a fee for nothing. */
enum tx_result runtime_check_tx(const struct runtime_params *p, const struct state_reader *r,
                                const struct tx *tx, size_t tx_len, uint64_t height,
                                struct tx_check *out) __attribute__((warn_unused_result));

/* Executes tx in block `height` authored by `author`: the admission checks again, with the nonce
 * required to equal the account nonce; then charges fee + tip, bumps the nonce and dispatches the
 * call inside a savepoint. Returns TX_OK when the tx is included, with out->result TX_OK or a call
 * error (the call's writes reverted, fee and nonce kept). Any other return means the tx must be
 * skipped and o is exactly as before (TX_STATE_FULL: the block is full; TX_STORAGE/TX_NOMEM:
 * abandon the block). Savepoints the caller has open are left as they were. */
enum tx_result runtime_apply_tx(const struct runtime_params *p, struct state_overlay *o,
                                const struct tx *tx, size_t tx_len, uint64_t height,
                                const uint8_t author[32], struct tx_outcome *out)
    __attribute__((warn_unused_result));

/* Ends block `height` after its last tx and before the overlay is exported: every node (producer,
 * validator, syncing node) calls it exactly once per block, so the block's end-of-block writes
 * are part of its state root. Today it folds the block's validator-set changes into the epoch
 * records (chain/validators.h): when the set in val/next differs from the one that signed this
 * block, a new epoch starts at height + 1. Outputs the set that signs block height + 1 in *next
 * (canonical order; its valset_hash is this block's next_validators_hash) and whether it
 * differs from this block's set in *changed. Returns TX_OK;
 * TX_STORAGE when the validator records are missing or malformed (a state without them, from
 * before they existed, cannot be continued); TX_STATE_FULL / TX_NOMEM when the overlay cannot
 * take the writes (o is then as before: abandon the block, or rebuild it with fewer txs). */
enum tx_result runtime_end_block(struct state_overlay *o, uint64_t height, struct valset *next,
                                 bool *changed) __attribute__((warn_unused_result));

/* Writes a one-line explanation of r using the details in c (may be NULL) into buf[0..len), e.g.
 * "nonce 3 is stale: account nonce is 5". Returns buf. */
char *runtime_describe(char *buf, size_t len, enum tx_result r, const struct tx_check *c);

#endif
