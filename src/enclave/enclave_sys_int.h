/*
 * The enclave's system side: what it knows of the registry, the keys it holds and the gatekeeper
 * it may be (docs/protocol/worker.md "Gatekeeper and keys"). Shared by enclave_sys.c (registry
 * events, key receipt, contract keys, checkpoint section) and enclave_gk.c (what a gatekeeper
 * emits).
 *
 * The public view below is a pure function of the verified registry and contract events, so it
 * is the same in every enclave of one build that followed the chain from genesis. In particular
 * every enclave counts the messages the gatekeeper protocol mandates (gk_seq), so a worker that
 * becomes a gatekeeper signs its copies with the same shared sequence numbers as the others.
 */
#ifndef TN_ENCLAVE_ENCLAVE_SYS_INT_H
#define TN_ENCLAVE_ENCLAVE_SYS_INT_H

#include "chain/mq.h"
#include "chain/registry.h"
#include "enclave/enclave_int.h"

/* Caps of the public view; beyond them an entity is logged and ignored (the same way in every
 * enclave, so the gatekeepers stay in step). */
#define SYS_MAX_EPOCHS    256 /* master key epochs (rotations + 1) */
#define SYS_MAX_CLUSTERS  256
#define SYS_MAX_WORKERS   1024 /* workers assigned to a cluster */
#define SYS_MAX_CONTRACTS 4096

/* master(0) = kdf_derive(first gatekeeper's identity seed, this label, chain id, 32). */
#define SYS_LABEL_MASTER_SEED "tenebra/v1/master-seed"

/* Key-share payload kinds (worker/<id>/keys): kind u8 ‖ epoch u32 ‖ envelope. */
#define SYS_SHARE_MASTER      0
#define SYS_SHARE_CLUSTER     1
#define SYS_PURPOSE_MASTER    "master"
#define SYS_PURPOSE_CLUSTER   "cluster"
#define SYS_KEYS_TOPIC_PREFIX "worker/"
#define SYS_KEYS_TOPIC_SUFFIX "/keys"
#define SYS_KEYS_TOPIC_LEN    (7 + 64 + 5)

/* Epoch keys 0..n-1 of one node of the key tree (the master, or one cluster). Guarded memory. */
struct sys_keyring {
	uint32_t n;
	uint8_t key[SYS_MAX_EPOCHS][32];
};

struct sys_member {
	uint8_t id[32];
	uint8_t hpke[32];
};

struct sys_worker {
	uint8_t id[32];
	uint8_t hpke[32];
	uint32_t cluster;
};

struct sys_cluster {
	uint32_t id;
	bool published; /* the chain published its keys (REGISTRY_EV_CLUSTER_KEY) */
	uint32_t pub_epoch;
	uint8_t x25519[32], ed25519[32];
};

struct sys_contract {
	uint8_t id[32];
	uint32_t cluster;
	bool keyed;     /* its key was mandated: it derives from the cluster key of `epoch` */
	uint32_t epoch; /* fixed for the contract's life, so its published key never changes */
};

struct enclave_sys {
	/* ---- public view (same in every enclave) ---- */
	bool registered;       /* a WORKER_REGISTERED event carried our identity and HPKE key */
	bool master_mandated;  /* the current epoch's master key is mandated */
	bool master_published; /* some master key was ever published */
	uint32_t epoch;        /* current master epoch */
	uint64_t gk_seq;       /* next shared gatekeeper sequence */
	uint32_t n_pks;        /* published master signing keys of epochs 0..n_pks-1 */
	uint8_t master_pks[SYS_MAX_EPOCHS][32];
	size_t n_gks;
	struct sys_member gks[REGISTRY_MAX_GATEKEEPERS];
	size_t n_clusters;
	struct sys_cluster clusters[SYS_MAX_CLUSTERS];
	size_t n_workers;
	struct sys_worker workers[SYS_MAX_WORKERS];
	size_t n_contracts;
	struct sys_contract contracts[SYS_MAX_CONTRACTS];
	/* ---- this enclave ---- */
	uint32_t my_cluster;              /* UINT32_MAX when unassigned */
	struct sys_keyring *master;       /* n == epoch + 1 while an active gatekeeper, else 0 */
	struct sys_keyring *cluster_keys; /* of my_cluster; n == 0 until a share arrived */
};

/* An active gatekeeper: it holds the master key of the current epoch. */
bool sys_gk_active(const struct enclave_sys *s);
/* Tracked entities, or NULL. */
struct sys_cluster *sys_cluster_find(struct enclave_sys *s, uint32_t id);
struct sys_contract *sys_contract_find(struct enclave_sys *s, const uint8_t id[32]);

/* ---- enclave_sys.c / enclave_keys.c: the handlers enclave_dispatch.c routes to -------------
 * Each takes a verified message, ignores (and logs) what it cannot use and returns ENCLAVE_OK,
 * or ENCLAVE_NOMEM. */

/* "registry/event" from module:registry. */
enum enclave_result sys_on_registry(struct enclave *e, const struct mq_message *m);
/* "contracts/event" from module:contracts: a deploy gets its keys published. */
enum enclave_result sys_on_contracts(struct enclave *e, const struct mq_message *m);
/* "worker/<our id hex>/keys" from a gatekeeper: a key share. */
enum enclave_result sys_on_keys(struct enclave *e, const struct mq_message *m);
/* Whether key derives the public keys the chain published for cluster c (false if none). */
bool sys_cluster_keys_match(const struct sys_cluster *c, const uint8_t key[32]);

/* ---- enclave_gk.c: what the gatekeepers emit ---------------------------------------------
 * Each mandate consumes the next shared gatekeeper sequence in every enclave; an active
 * gatekeeper also signs and queues its copy. Only ENCLAVE_NOMEM escapes. */

/* The first gatekeeper `id` was added: it generates the master key (if it is us) and the whole
 * epoch is mandated (sys_gk_epoch). */
enum enclave_result sys_gk_first(struct enclave *e, const uint8_t id[32]);
/* Everything an epoch needs, in this order: the master public key, every cluster's keys, every
 * assigned worker's cluster keys, the keys of contracts that have none yet. */
enum enclave_result sys_gk_epoch(struct enclave *e);
/* Rotation to epoch `epoch`: the next master is kdf_ratchet of the current one. */
enum enclave_result sys_gk_rotate(struct enclave *e, uint32_t epoch);
/* The master key history to a new gatekeeper. */
enum enclave_result sys_gk_share_master(struct enclave *e, const struct sys_member *to);
/* The cluster keys of w's cluster to worker w. */
enum enclave_result sys_gk_share_cluster(struct enclave *e, const struct sys_worker *w);
enum enclave_result sys_gk_publish_cluster(struct enclave *e, const struct sys_cluster *c);
/* Fixes the contract's key epoch to the current one and publishes its keys. */
enum enclave_result sys_gk_publish_contract(struct enclave *e, struct sys_contract *c);
/* Stops being a gatekeeper: wipes the master key and drops our queued gatekeeper messages. */
void sys_gk_retire(struct enclave *e, const char *why);
/* The cluster key of `cluster` at `epoch` from the master history; false if not held. */
bool sys_gk_cluster_key(const struct enclave_sys *s, uint32_t cluster, uint32_t epoch,
                        uint8_t out[32]);
/* "worker/<id hex>/keys", NUL-terminated. */
void sys_keys_topic(char out[SYS_KEYS_TOPIC_LEN + 1], const uint8_t id[32]);

/* ---- enclave_egress.c: the queue's internals for the gatekeeper and dispatch --------------- */

/* The queue of config.max_egress slots; false on allocation failure (free it anyway). */
bool enclave_egress_new(struct enclave *e);
void enclave_egress_free(struct enclave *e);
size_t enclave_egress_count(const struct enclave *e);
/* Checkpoint section: per-origin sequences, then the queued signed messages. decode fails d on
 * anything encode does not produce. */
void enclave_egress_encode(const struct enclave *e, struct enc *p);
void enclave_egress_decode(struct enclave *e, struct dec *d);

/* Queues a message from o signed by sign_sk with an explicit sequence (gatekeeper messages use
 * the shared sequence). Errors as enclave_egress_push. */
enum enclave_result sys_egress_push_at(struct enclave *e, const struct mq_origin *o,
                                       const uint8_t sign_sk[64], const char *topic,
                                       const uint8_t *payload, size_t len, uint64_t seq);
/* The origin and sequence a verified message proves the chain took: its own, unless it is a
 * module's; for mq's consumed notice (module:mq, MQ_CONSUMED_TOPIC), those of the consumed
 * message. False when it proves nothing. */
bool sys_taken(const struct mq_message *m, struct mq_origin *o, uint64_t *seq);
/* A verified block shows the chain took sequence seq of origin o: every queued message of that
 * origin (any gatekeeper, for the shared gatekeeper sequence) at or below it is done, and o's
 * acked mark moves past it. */
void sys_egress_observe(struct enclave *e, const struct mq_origin *o, uint64_t seq);
/* Raises o's acked mark to `acked` (creating o's counter at 0 if needed): later pushes of o below
 * it are not queued (docs/protocol/worker.md "Late joiners"). o is not a gatekeeper or module.
 * ENCLAVE_TOO_LARGE when the table of origins is full. */
enum enclave_result sys_egress_acked(struct enclave *e, const struct mq_origin *o, uint64_t acked);
/* Drops every queued message of origin kind `kind`. */
void sys_egress_drop_kind(struct enclave *e, uint8_t kind);

#endif
