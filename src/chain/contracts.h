/*
 * Contracts module (id 5; DESIGN.md §5, §6, §8; byte layouts in docs/protocol/runtime.md
 * "Contracts").
 *
 * The chain never runs a confidential contract. It records deployments (which code, in which
 * cluster, by whom) and orders encrypted commands: contracts.push_command emits an outbound
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

#define CONTRACTS_ID_TAG      "tenebra/v1/contract-id"
#define CONTRACTS_CODE_MAX    64 /* code name bytes: [a-z0-9_.:-] */
#define CONTRACTS_SALT_MAX    32
#define CONTRACTS_COMMAND_MAX 16384 /* ciphertext bytes of one command */
#define CONTRACTS_EVENT_TOPIC "contracts/event"

/* Function ids. Payloads:
 *   deploy        cluster u32 ‖ bytes(code) ‖ bytes(salt)    code 1..64, salt 0..32 bytes
 *   push_command  contract id [32] ‖ bytes(ciphertext)        ciphertext 1..CONTRACTS_COMMAND_MAX
 */
enum {
	CONTRACTS_FN_DEPLOY = 0,
	CONTRACTS_FN_PUSH_COMMAND = 1,
};

/* Events on CONTRACTS_EVENT_TOPIC: kind u8 ‖ fields. */
enum {
	CONTRACTS_EV_DEPLOYED = 0, /* id [32] ‖ cluster u32 ‖ deployer [32] ‖ bytes(code) */
};

/* id = hash_tagged(CONTRACTS_ID_TAG, deployer ‖ cluster u32 ‖ bytes(code) ‖ bytes(salt)). */
void contracts_id(uint8_t out[32], const uint8_t deployer[32], uint32_t cluster, const char *code,
                  const uint8_t *salt, size_t salt_len);
/* Appends a deploy / push_command payload. */
void contracts_deploy_payload(struct enc *e, uint32_t cluster, const char *code,
                              const uint8_t *salt, size_t salt_len);
void contracts_push_payload(struct enc *e, const uint8_t id[32], const uint8_t *ct, size_t n);
/* The topic of a contract's commands, "contract/<64 hex>/command" (NUL-terminated). */
#define CONTRACTS_TOPIC_LEN (9 + 64 + 8)
void contracts_command_topic(char out[CONTRACTS_TOPIC_LEN + 1], const uint8_t id[32]);

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
