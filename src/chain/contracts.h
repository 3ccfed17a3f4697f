/*
 * Contracts module (id 5; DESIGN.md §5, §6, §8; byte layouts in docs/protocol/runtime.md
 * "Contracts").
 *
 * The chain never runs a confidential contract. It records deployments (which code, in which
 * cluster, by whom, with which deploy arguments), moves public PHA into and out of contract
 * custody (below) and orders encrypted commands: contracts.push_command emits an outbound
 * message from "module:contracts" to topic "contract/<id hex>/command" whose payload is
 * sender ‖ tx nonce ‖ ciphertext. The enclave decrypts with AAD = chain_id ‖ contract_id ‖ sender ‖
 * nonce (DESIGN.md §5), so a ciphertext replayed in another tx (another nonce or sender) fails to
 * decrypt. The contract's public keys are published by a gatekeeper (registry.h).
 */
#ifndef TN_CHAIN_CONTRACTS_H
#define TN_CHAIN_CONTRACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/registry.h"
#include "chain/state.h"

#define CONTRACTS_ID_TAG       "tenebra/v1/contract-id"
#define CONTRACTS_CUSTODY_TAG  "tenebra/v1/custody"
#define CONTRACTS_CODE_MAX     64 /* code name bytes: [a-z0-9_.:-] */
#define CONTRACTS_SALT_MAX     32
#define CONTRACTS_ARGS_MAX     1024  /* deploy arguments (the enclave's CONTRACT_ARGS_MAX) */
#define CONTRACTS_COMMAND_MAX  16384 /* ciphertext bytes of one command */
#define CONTRACTS_EVENT_TOPIC  "contracts/event"
#define CONTRACTS_DEPOSIT_CODE "balances" /* the only code contracts.deposit pays into */
/* Consumed by the chain: a contract's request to release PHA from its custody (below). */
#define CONTRACTS_TOPIC_WITHDRAW "^contracts/withdraw"

/* Function ids. Payloads:
 *   deploy        cluster u32 ‖ bytes(code) ‖ bytes(salt) ‖ bytes(args)
 *                 code 1..64, salt 0..32, args 0..CONTRACTS_ARGS_MAX bytes
 *   push_command  contract id [32] ‖ bytes(ciphertext)        ciphertext 1..CONTRACTS_COMMAND_MAX
 *   deposit       contract id [32] ‖ amount u128              exactly 48 bytes, amount > 0
 */
enum {
	CONTRACTS_FN_DEPLOY = 0,
	CONTRACTS_FN_PUSH_COMMAND = 1,
	CONTRACTS_FN_DEPOSIT = 2,
};
#define CONTRACTS_DEPOSIT_PAYLOAD_LEN (32 + 16)

/* Events on CONTRACTS_EVENT_TOPIC: kind u8 ‖ fields.
 *   DEPLOYED  id [32] ‖ cluster u32 ‖ deployer [32] ‖ bytes(code) ‖ bytes(args) */
enum {
	CONTRACTS_EV_DEPLOYED = 0,
};

/* Messages from module "contracts" to a contract, on its "contract/<id hex>/message" topic:
 *   deposit    0x00 ‖ depositor [32] ‖ amount u128     (49 bytes) contracts.deposit credited
 *                                                       custody with amount
 *   withdrawn  0x01 ‖ ref u64 ‖ result u32             (13 bytes) the answer to a withdraw
 *              request: result 0 = released, else the tx_result of the refusal (nothing moved)
 */
enum {
	CONTRACTS_MSG_DEPOSIT = 0x00,
	CONTRACTS_MSG_WITHDRAWN = 0x01,
};
#define CONTRACTS_MSG_DEPOSIT_LEN   (1 + 32 + 16)
#define CONTRACTS_MSG_WITHDRAWN_LEN (1 + 8 + 4)

/* Payload of a message from a contract (origin MQ_ORIGIN_CONTRACT) to CONTRACTS_TOPIC_WITHDRAW:
 * ref u64 ‖ dest [32] ‖ amount u128 (exactly 56 bytes). The chain moves amount from the origin
 * contract's custody account to dest unless amount is 0 (TX_ZERO_AMOUNT), dest is a custody
 * account (TX_CALL_CUSTODY_ACCOUNT), custody holds less (TX_CALL_INSUFFICIENT_BALANCE), dest does
 * not exist and amount < ED (TX_CALL_BELOW_ED) or dest would overflow (TX_CALL_OVERFLOW); either
 * way it answers with CONTRACTS_MSG_WITHDRAWN carrying ref. Exactly once: the message queue takes
 * each contract sequence once. */
#define CONTRACTS_WITHDRAW_PAYLOAD_LEN (8 + 32 + 16)

/* id = hash_tagged(CONTRACTS_ID_TAG, deployer ‖ cluster u32 ‖ bytes(code) ‖ bytes(salt)). The
 * deploy arguments are not part of it. */
void contracts_id(uint8_t out[32], const uint8_t deployer[32], uint32_t cluster, const char *code,
                  const uint8_t *salt, size_t salt_len);
/* Appends a deploy / push_command payload (args may be NULL when args_len is 0). */
void contracts_deploy_payload(struct enc *e, uint32_t cluster, const char *code,
                              const uint8_t *salt, size_t salt_len, const uint8_t *args,
                              size_t args_len);
void contracts_push_payload(struct enc *e, const uint8_t id[32], const uint8_t *ct, size_t n);
/* Writes a deposit payload / a withdraw message payload. */
void contracts_deposit_payload(uint8_t out[CONTRACTS_DEPOSIT_PAYLOAD_LEN], const uint8_t id[32],
                               u128 amount);
void contracts_withdraw_payload(uint8_t out[CONTRACTS_WITHDRAW_PAYLOAD_LEN], uint64_t ref,
                                const uint8_t dest[32], u128 amount);
/* Decodes exactly a withdraw message payload; false when p[0..n) is not one. */
bool contracts_withdraw_decode(const uint8_t *p, size_t n, uint64_t *ref, uint8_t dest[32],
                               u128 *amount) __attribute__((warn_unused_result));
/* The topic of a contract's commands, "contract/<64 hex>/command", and of the messages to it,
 * "contract/<64 hex>/message" (NUL-terminated, both CONTRACTS_TOPIC_LEN bytes). */
#define CONTRACTS_TOPIC_LEN (9 + 64 + 8)
void contracts_command_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32]);
void contracts_message_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32]);

/* Custody. The custody account of a contract, hash_tagged(CONTRACTS_CUSTODY_TAG, id), is a
 * keyless account (nobody can sign for it) that holds the public PHA deposited into the contract
 * (contracts.deposit) until the contract releases it (CONTRACTS_TOPIC_WITHDRAW). It is exempt
 * from the existential deposit rules. Every deploy records it (state "custody/" ‖ account -> id),
 * and balances.transfer to a custody account is refused (TX_CALL_CUSTODY_ACCOUNT): only deposits
 * fill it, so custody never exceeds what the contract issued. */
void contracts_custody_account(uint8_t out[32], const uint8_t id[32]);
/* Whether account is a deployed contract's custody account: 1 yes (*id_out = the contract, if
 * id_out is not NULL), 0 no, -1 storage error or malformed value. */
int contracts_custody_of(const struct state_reader *r, const uint8_t account[32],
                         uint8_t id_out[32]) __attribute__((warn_unused_result));

/* A deployed contract (state "contract/" ‖ id), with its published keys if any. */
struct contracts_info {
	uint8_t id[32];
	uint32_t cluster;
	uint8_t deployer[32];
	char code[CONTRACTS_CODE_MAX + 1];
	uint64_t deployed_height;
	bool has_keys;
	struct registry_keys keys; /* when has_keys */
};
/* 1 found, 0 absent, -1 storage error or malformed value. */
int contracts_get(const struct state_reader *r, const uint8_t id[32], struct contracts_info *c)
    __attribute__((warn_unused_result));
/* Contracts in deployment order: the count and the id at index i (same returns). */
int contracts_count(const struct state_reader *r, uint32_t *n) __attribute__((warn_unused_result));
int contracts_at(const struct state_reader *r, uint32_t i, uint8_t id[32])
    __attribute__((warn_unused_result));

#endif
