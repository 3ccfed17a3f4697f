/*
 * Registry module (id 3; DESIGN.md §6, §9, §10; byte layouts in docs/protocol/runtime.md
 * "Registry" and docs/protocol/attestation.md).
 *
 * Workers register with their identity key (Ed25519), HPKE key (X25519), operator account and an
 * attestation report whose report data is registry_registration_data(...): the chain checks it
 * against the attestation policy (chain/attest.h) and stores a worker record. Governance (the sudo
 * account in dev) sets the policy, elects gatekeepers, creates clusters, assigns workers to them
 * and rotates the master key. Gatekeepers publish the master public key and cluster and contract
 * public keys as signed messages through the mq module (topics "^registry/..."), never as
 * transactions, so only an attested gatekeeper enclave can publish them.
 *
 * Enclaves do not read chain state: every change they must know about is also emitted as an
 * outbound message from "module:registry" on topic "registry/event" (REGISTRY_EV_*).
 */
#ifndef TN_CHAIN_REGISTRY_H
#define TN_CHAIN_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/codec.h"
#include "chain/attest.h"
#include "chain/state.h"

#define REGISTRY_REGISTRATION_TAG   "tenebra/v1/worker-registration"
#define REGISTRY_MAX_GATEKEEPERS    32
#define REGISTRY_EVENT_TOPIC        "registry/event"
#define REGISTRY_TOPIC_MASTER_KEY   "^registry/master-key"
#define REGISTRY_TOPIC_CLUSTER_KEY  "^registry/cluster-key"
#define REGISTRY_TOPIC_CONTRACT_KEY "^registry/contract-key"

/* Function ids. Payloads (u32 little-endian, [n] raw bytes):
 *   register_worker   identity [32] ‖ hpke_pk [32] ‖ operator [32] ‖ report (attest.h, to the end)
 *                     sent by the operator account (tx sender == operator)
 *   set_policy        attest_policy encoding                                      (sudo)
 *   add_gatekeeper    identity [32]  (a registered worker)                         (sudo)
 *   remove_gatekeeper identity [32]                                                (sudo)
 *   create_cluster    cluster u32                                                  (sudo)
 *   assign_worker     identity [32] ‖ cluster u32                                  (sudo)
 *   rotate_master_key empty                                                        (sudo) */
enum {
	REGISTRY_FN_REGISTER_WORKER = 0,
	REGISTRY_FN_SET_POLICY = 1,
	REGISTRY_FN_ADD_GATEKEEPER = 2,
	REGISTRY_FN_REMOVE_GATEKEEPER = 3,
	REGISTRY_FN_CREATE_CLUSTER = 4,
	REGISTRY_FN_ASSIGN_WORKER = 5,
	REGISTRY_FN_ROTATE_MASTER_KEY = 6,
};

/* Events on REGISTRY_EVENT_TOPIC: payload = kind u8 ‖ fields. */
enum {
	REGISTRY_EV_WORKER_REGISTERED = 0,   /* worker record encoding (below) */
	REGISTRY_EV_GATEKEEPER_ADDED = 1,    /* identity [32] ‖ hpke_pk [32] */
	REGISTRY_EV_GATEKEEPER_REMOVED = 2,  /* identity [32] */
	REGISTRY_EV_CLUSTER_CREATED = 3,     /* cluster u32 */
	REGISTRY_EV_WORKER_ASSIGNED = 4,     /* identity [32] ‖ hpke_pk [32] ‖ cluster u32 */
	REGISTRY_EV_MASTER_KEY_ROTATION = 5, /* new epoch u32 (gatekeepers must publish its key) */
	REGISTRY_EV_MASTER_KEY = 6,          /* epoch u32 ‖ pubkey [32] */
	REGISTRY_EV_CLUSTER_KEY = 7, /* cluster u32 ‖ epoch u32 ‖ x25519 [32] ‖ ed25519 [32] */
	REGISTRY_EV_CONTRACT_KEY =
	    8, /* id [32] ‖ cluster u32 ‖ epoch u32 ‖ x25519 [32] ‖ ed25519 [32] */
};

/* report_data a worker's report must carry:
 * hash_tagged(REGISTRY_REGISTRATION_TAG, identity ‖ hpke_pk ‖ operator ‖ genesis_hash). */
void registry_registration_data(uint8_t out[32], const uint8_t identity[32],
                                const uint8_t hpke_pk[32], const uint8_t operator_[32],
                                const uint8_t genesis_hash[32]);
/* Appends a register_worker payload; report is an encoded attest_report. */
void registry_register_payload(struct enc *e, const uint8_t identity[32], const uint8_t hpke_pk[32],
                               const uint8_t operator_[32], const uint8_t *report,
                               size_t report_len);

/* A worker record, state "reg/worker/" ‖ identity. */
struct registry_worker {
	uint8_t identity[32];
	uint8_t hpke_pk[32];
	uint8_t operator_[32];
	uint8_t backend;
	uint8_t measurement[32];
	uint8_t confidence_level;
	uint64_t registered_height; /* first registration */
	uint64_t report_height;     /* height named by the last accepted report */
	uint64_t updated_height;    /* block of the last (re-)registration */
	bool has_cluster;
	uint32_t cluster; /* 0 when !has_cluster */
	bool is_gatekeeper;
};
#define REGISTRY_WORKER_LEN (1 + 32 * 3 + 1 + 32 + 1 + 8 * 3 + 1 + 4 + 1)
/* Canonical encoding (docs/protocol/runtime.md); the decoder rejects any other spelling. */
void registry_worker_encode(struct enc *e, const struct registry_worker *w);
enum codec_result registry_worker_decode(struct registry_worker *w, const uint8_t *b, size_t n)
    __attribute__((warn_unused_result));

/* Master key epochs (state "reg/master" and "reg/master/" ‖ epoch u32 big-endian). Epoch 0 is
 * the first; rotate_master_key moves to the next epoch once the current one's key is published.
 * Every published key stays readable (the history). */
struct registry_master {
	uint32_t epoch; /* current */
	bool published; /* the current epoch's key is published */
};
/* Public keys of a cluster or contract, published by a gatekeeper for a master epoch. */
struct registry_keys {
	uint32_t cluster;
	uint32_t epoch;
	uint8_t x25519[32];  /* HPKE: commands and queries are encrypted to it */
	uint8_t ed25519[32]; /* signs its mq messages */
	uint64_t height;     /* block where published */
};

/* Writes the policy to "reg/policy" in o (genesis_build_state). Returns STATE_OK, STATE_FULL or
 * STATE_NOMEM. */
enum state_result registry_policy_store(struct state_overlay *o, const struct attest_policy *p)
    __attribute__((warn_unused_result));

/* Readers for RPC, the CLI and tests. Each returns 1 found, 0 absent, -1 storage error or a
 * malformed value. */
int registry_policy_get(const struct state_reader *r, struct attest_policy *p)
    __attribute__((warn_unused_result));
int registry_worker_get(const struct state_reader *r, const uint8_t identity[32],
                        struct registry_worker *w) __attribute__((warn_unused_result));
/* Workers in registration order: the count (0 when none), and the identity at index i. */
int registry_worker_count(const struct state_reader *r, uint32_t *n)
    __attribute__((warn_unused_result));
int registry_worker_at(const struct state_reader *r, uint32_t i, uint8_t identity[32])
    __attribute__((warn_unused_result));
/* The gatekeepers (ids[REGISTRY_MAX_GATEKEEPERS]); *n = 0 and return 0 when there are none. */
int registry_gatekeepers_get(const struct state_reader *r,
                             uint8_t ids[REGISTRY_MAX_GATEKEEPERS][32], size_t *n)
    __attribute__((warn_unused_result));
/* A cluster: *created = creation height; keys->epoch etc. set and *has_keys when published. */
int registry_cluster_get(const struct state_reader *r, uint32_t cluster, uint64_t *created,
                         bool *has_keys, struct registry_keys *keys)
    __attribute__((warn_unused_result));
/* Absent (no key ever published): epoch 0, not published, returns 0. */
int registry_master_get(const struct state_reader *r, struct registry_master *m)
    __attribute__((warn_unused_result));
/* The master public key published for epoch and the block it was published in. */
int registry_master_key_get(const struct state_reader *r, uint32_t epoch, uint8_t pubkey[32],
                            uint64_t *height) __attribute__((warn_unused_result));
int registry_contract_keys_get(const struct state_reader *r, const uint8_t id[32],
                               struct registry_keys *k) __attribute__((warn_unused_result));

/* Payloads of the "^registry/..." messages a gatekeeper sends (origin gatekeeper):
 *   master-key    epoch u32 ‖ pubkey [32]
 *   cluster-key   cluster u32 ‖ epoch u32 ‖ x25519 [32] ‖ ed25519 [32]
 *   contract-key  contract id [32] ‖ cluster u32 ‖ epoch u32 ‖ x25519 [32] ‖ ed25519 [32]
 * A key is accepted for the current master epoch once that epoch's master key is published; the
 * same key again is a no-op, another key for the same epoch is refused, and a later epoch
 * replaces it. A key of an earlier epoch than the current one (a rotation landed between the
 * gatekeeper queueing it and its inclusion) is a no-op. Either way mq consumes the message's
 * sequence (mq.h). */
void registry_master_key_payload(uint8_t out[36], uint32_t epoch, const uint8_t pubkey[32]);
void registry_cluster_key_payload(uint8_t out[72], const struct registry_keys *k);
void registry_contract_key_payload(uint8_t out[104], const uint8_t id[32],
                                   const struct registry_keys *k);

#endif
