/* Enclave internals shared by enclave.c (lifecycle, registration), enclave_lc.c (light client). */
#ifndef TN_ENCLAVE_ENCLAVE_INT_H
#define TN_ENCLAVE_ENCLAVE_INT_H

#include "chain/feed.h"
#include "enclave/contract.h"
#include "enclave/enclave.h"

#define ENCLAVE_REGISTRATION_TAG "tenebra/v1/worker-registration"

/* Keys that never leave the enclave except sealed; in guarded memory (sodium_malloc). */
struct enclave_secrets {
	uint8_t identity_sk[64]; /* Ed25519 (seed ‖ pk) */
	uint8_t hpke_sk[32];     /* X25519 */
};

/* What the light client trusts: the last verified header and the set that signs the next one. */
struct enclave_lc {
	uint64_t height; /* 0 = genesis: nothing verified yet */
	uint8_t hash[32];
	uint64_t time_ms;
	struct valset next_set;
	uint8_t next_set_hash[32];
};

struct scache; /* crypto/scache.h */

struct enclave {
	struct enclave_platform plat;
	struct enclave_config cfg;
	bool started;
	bool failed; /* an internal failure midway through a change: only a restart helps */
	uint8_t chain_id[32];
	uint8_t measurement[32];
	struct enclave_secrets *sec;
	uint8_t identity[32];
	uint8_t hpke_pk[32];
	struct enclave_lc lc;
	uint64_t msgs_dispatched;
	struct contract_host *contracts; /* enclave_contracts.c; NULL until the first deploy */
	struct enclave_sys *sys;         /* enclave_sys.c: registry view, keys, gatekeeper */
	struct enclave_egress *egress;   /* enclave_egress.c */
	struct enclave_backlog *backlog; /* enclave_backlog.c: inputs of contracts without keys */
	/* Session queries: verified certificates and static DH values (crypto/scache.h), the one
	 * piece of state enclave_query writes; it has its own lock. */
	struct scache *sessions;
};

/* Formats one log line and hands it to the platform. */
void enclave_log(struct enclave *e, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The light-client state at genesis: height 0, the genesis set signs height 1. */
void enclave_lc_genesis(struct enclave_lc *lc, const struct valset *genesis_set,
                        uint64_t genesis_time_ms);
/* Checks feed f against lc and, if it passes, writes the new trusted state into *next (lc
 * untouched). Returns ENCLAVE_OK or ENCLAVE_BLOCK_* with a reason in err. */
enum enclave_result enclave_lc_verify(const struct enclave_lc *lc, const uint8_t chain_id[32],
                                      const struct block_feed *f, struct enclave_lc *next,
                                      char *err, size_t errlen);

/* ---- Hooks between the parts of the enclave ----------------------------------------------
 * enclave_dispatch.c routes each verified outbound message by topic (a table) to:
 *   registry/event, worker/<our id>/keys    -> enclave_sys.c / enclave_gk.c (keys, gatekeeper)
 *   contracts/event, contract/<id>/...      -> enclave_contracts.c (contract host)
 * enclave_egress.c keeps the signed egress queue. */
struct mq_message;
struct mq_origin;

/* Dispatches one verified message of block `height`. Never fails the block: a message a part
 * cannot use is logged and skipped; only ENCLAVE_NOMEM (and then e->failed) escapes. */
enum enclave_result enclave_dispatch(struct enclave *e, const struct mq_message *m);

/* The key material of contract `id` in `cluster`, if `cluster` is the one this worker is
 * assigned to, the contract's deploy was seen and this worker holds that cluster's key (received,
 * or derived as a gatekeeper): HPKE key pair for commands/queries, Ed25519 pair signing its
 * egress. False otherwise. The caller wipes the secrets. */
bool enclave_contract_keys(struct enclave *e, const uint8_t id[32], uint32_t cluster,
                           uint8_t hpke_pk[32], uint8_t hpke_sk[32], uint8_t sign_pk[32],
                           uint8_t sign_sk[64]);

/* Queues a message signed by sign_sk from origin o (not a gatekeeper or module: gatekeeper
 * messages take the shared sequence the gatekeeper protocol counts) with o's next egress
 * sequence; a sequence below o's acked mark (sys_egress_acked) is taken but not queued: the chain
 * has that message already. ENCLAVE_TOO_LARGE when the queue (config.max_egress), the payload
 * (MQ_PAYLOAD_MAX) or the table of origins (config.max_contracts + 8) is full; ENCLAVE_BAD_INPUT
 * for a topic that is not 1..MQ_TOPIC_MAX bytes of 0x21..0x7e; ENCLAVE_NOMEM. */
enum enclave_result enclave_egress_push(struct enclave *e, const struct mq_origin *o,
                                        const uint8_t sign_sk[64], const char *topic,
                                        const uint8_t *payload, size_t len);

/* System side (enclave_sys.c, enclave_dispatch.c). enclave_sys_new allocates its state and the
 * egress queue (false on allocation failure; enclave_sys_free is still safe on the half-built
 * state); enclave_sys_free wipes the keys and frees. */
bool enclave_sys_new(struct enclave *e);
void enclave_sys_free(struct enclave *e);
/* Dispatches a verified block's messages in order (enclave_dispatch), then the contracts' block
 * hooks. ENCLAVE_OK, or ENCLAVE_NOMEM / ENCLAVE_FAILED with e->failed set. */
enum enclave_result enclave_dispatch_block(struct enclave *e, const struct block_feed *f);
/* Fills registered, gatekeeper, cluster and n_egress. */
void enclave_sys_status(const struct enclave *e, struct enclave_status *out);
/* Checkpoint section: the registry view, master key history, cluster keys, egress sequences and
 * queue. decode fails d on bytes encode did not produce. */
void enclave_sys_encode(const struct enclave *e, struct enc *p);
void enclave_sys_decode(struct enclave *e, struct dec *d);

/* Contract host: a message for contracts (deploy events, commands, contract messages). A deploy
 * or input of a contract whose keys are not here goes to the backlog. */
enum enclave_result enclave_contracts_on_message(struct enclave *e, const struct mq_message *m);
/* After a system message (registry event, key share): if keys arrived for contracts waiting in
 * the backlog, creates their instances and replays their inputs in chain order
 * (docs/protocol/worker.md "Late joiners"). ENCLAVE_OK, or ENCLAVE_NOMEM / ENCLAVE_FAILED. */
enum enclave_result enclave_contracts_catch_up(struct enclave *e, const struct mq_message *m);
/* The contract code compiled in under this name, or NULL. */
const struct contract_code *enclave_code_by_name(const struct enclave *e, const uint8_t *name,
                                                 size_t n);
/* After each block's messages: the contracts' block hooks. */
void enclave_contracts_on_block(struct enclave *e);
/* Instances hosted. */
size_t enclave_contracts_count(const struct enclave *e);
/* Destroys every instance and wipes the contract keys (enclave_free). */
void enclave_contracts_free(struct enclave *e);
/* Checkpoint section: every instance (id, cluster, code, keys, snapshot). Errors:
 * ENCLAVE_TOO_LARGE (a snapshot or the checkpoint over config.max_state_bytes), ENCLAVE_NOMEM. */
enum enclave_result enclave_contracts_encode(const struct enclave *e, struct enc *p);
/* Reads the section back into a fresh enclave; marks d failed for bytes encode did not produce
 * (unknown code, a snapshot the code refuses). NOMEM also fails d (the restore is refused). */
void enclave_contracts_decode(struct enclave *e, struct dec *d);

/* For enclave_query.c. The instance of contract id whose keys are here, or NULL. */
struct contract_instance;
const struct contract_instance *enclave_contracts_find(const struct enclave *e,
                                                       const uint8_t id[32]);
/* Its HPKE secret key (guarded memory; do not copy). */
const uint8_t *enclave_contracts_hpke_sk(const struct contract_instance *c);
/* Its HPKE public key (the secret's, kept beside it). */
const uint8_t *enclave_contracts_hpke_pk(const struct contract_instance *c);
/* Runs its on_query for `account` with a read-only env at the verified height. Never writes to
 * e or the instances, so concurrent calls are safe. CONTRACT_NO_SUCH_CONTRACT when the code has
 * no on_query. */
enum contract_result enclave_contracts_query(const struct enclave *e,
                                             const struct contract_instance *c,
                                             const uint8_t account[32], const uint8_t *req,
                                             size_t len, struct enc *resp);

/* ---- enclave_backlog.c: inputs of contracts this enclave cannot run yet -------------------
 * Every enclave keeps, within config.max_backlog_msgs / _bytes, the verified inputs of contracts
 * whose code it carries but whose keys it lacks (any cluster), in chain order, so that when the
 * keys come it rebuilds exactly the state the cluster's other workers hold
 * (docs/protocol/worker.md "Late joiners"). */
enum backlog_kind {
	BACKLOG_DEPLOY = 0, /* the contract's deploy: create the instance */
	BACKLOG_INPUT = 1,  /* a command or contract message */
	BACKLOG_TICK = 2,   /* the end of a block: block hooks */
};

/* One entry as enclave_backlog_replay hands it out; pointers valid during the callback only. */
struct backlog_item {
	uint8_t kind;
	uint64_t height, time_ms; /* the block it arrived in (a tick: the block that ended) */
	const uint8_t *id;        /* deploy, input: the contract */
	uint32_t cluster;         /* deploy */
	const struct contract_code *code; /* deploy */
	uint64_t acked;                   /* deploy: its egress sequences below it are on chain */
	const uint8_t *msg; /* input: the verified message (mq_message_encode); deploy: deployer
	                       [32] ‖ args */
	size_t len;
};

/* false on allocation failure (enclave_backlog_free is still safe). */
bool enclave_backlog_new(struct enclave *e);
void enclave_backlog_free(struct enclave *e);
/* A deploy as the contracts/event says it: contract id of `code` in `cluster`, by deployer, with
 * the deploy's arguments (borrowed). */
struct backlog_deploy {
	const uint8_t *id;
	uint32_t cluster;
	const struct contract_code *code;
	const uint8_t *deployer;
	const uint8_t *args;
	size_t args_len; /* <= CONTRACT_ARGS_MAX */
};
/* A deploy, at the verified block, of a contract that is not hosted: it waits with its later
 * inputs until its keys come (the entry's message is deployer ‖ args, for on_deploy); lost: it
 * can never be rebuilt here (it is kept only so that queries and status can say so). A contract
 * already known is ignored. ENCLAVE_OK or ENCLAVE_NOMEM. */
enum enclave_result enclave_backlog_deploy(struct enclave *e, const struct backlog_deploy *dp,
                                           bool lost);
/* An input m (a command or contract message) of contract id, at the verified block: kept if
 * the contract waits here, else ignored. ENCLAVE_OK or ENCLAVE_NOMEM. */
enum enclave_result enclave_backlog_input(struct enclave *e, const uint8_t id[32],
                                          const struct mq_message *m);
/* The chain took sequence seq of origin o (sys_taken): a waiting contract's acked mark. */
void enclave_backlog_observe(struct enclave *e, const struct mq_origin *o, uint64_t seq);
/* The verified block ended: a tick while a waiting contract has a block hook. ENCLAVE_OK or
 * ENCLAVE_NOMEM. */
enum enclave_result enclave_backlog_block_end(struct enclave *e);
/* Whether contract id is of this worker's cluster and lost: its state cannot be rebuilt here.
 * Only reads (safe under concurrent queries). */
bool enclave_backlog_unavailable(const struct enclave *e, const uint8_t id[32]);
/* Whether a contract of `cluster` waits. */
bool enclave_backlog_waiting(const struct enclave *e, uint32_t cluster);
/* Fills n_unavailable (lost contracts of the worker's cluster), backlog_msgs, backlog_bytes. */
void enclave_backlog_status(const struct enclave *e, struct enclave_status *out);
/* Replays every waiting contract for which ready() holds: each of their entries, and every tick
 * from the first of their deploys on, in chain order, to fn, then forgets them. fn returning
 * ENCLAVE_TOO_LARGE for a deploy marks that contract lost (its inputs are skipped); any other
 * error stops the replay and is returned (the enclave is then failed). */
typedef bool (*backlog_ready_fn)(struct enclave *e, const uint8_t id[32], uint32_t cluster);
typedef enum enclave_result (*backlog_replay_fn)(struct enclave *e, const struct backlog_item *x,
                                                 void *arg);
enum enclave_result enclave_backlog_replay(struct enclave *e, backlog_ready_fn ready,
                                           backlog_replay_fn fn, void *arg);
/* Checkpoint section; decode fails d on bytes encode did not produce. */
void enclave_backlog_encode(const struct enclave *e, struct enc *p);
void enclave_backlog_decode(struct enclave *e, struct dec *d);

/* Restores a sealed checkpoint into e, whose chain id and measurement are set and which is not
 * started. ENCLAVE_UNSEAL (logged with the reason) for a blob of another chain, measurement or
 * key, tampered or malformed; then e's keys and light client may be half-written, so the caller
 * must not start it. */
enum enclave_result enclave_restore(struct enclave *e, const uint8_t *sealed, size_t len);

#endif
