/* Node internals shared by node.c (lifecycle), node_produce.c (blocks), node_rpc.c (methods). */
#ifndef TN_NODE_NODE_INT_H
#define TN_NODE_NODE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "chain/block.h"
#include "chain/genesis.h"
#include "chain/mempool.h"
#include "chain/runtime.h"
#include "node/node.h"
#include "net/p2p.h"
#include "net/p2p_seen.h"
#include "node/node_chain.h"
#include "node/node_cons_int.h"
#include "node/node_par.h"
#include "rpc/rpc.h"
#include "store/blockstore.h"
#include "store/smt.h"

#define NODE_MAX_TX_HEX (2 * TX_MAX_BYTES + 2)
#define NODE_MAX_BULK   1000 /* transactions in one POST /txs */

/* The node's JSON-RPC error codes (docs/rpc.md). */
#define RPC_TX_REJECTED (RPC_CODE_SERVER_MAX - 10) /* -32010 */
#define RPC_NOT_FOUND   (RPC_CODE_SERVER_MAX - 11) /* -32011 */
#define RPC_STORAGE     (RPC_CODE_SERVER_MAX - 12) /* -32012 */

/* The committed head, as the RPC threads see it. */
struct node_head {
	uint64_t height;
	uint64_t time_ms;
	uint8_t hash[32];
	uint8_t state_root[32];
};

struct node_metrics {
	atomic_uint_fast64_t blocks;
	atomic_uint_fast64_t txs_applied;    /* included, call succeeded */
	atomic_uint_fast64_t txs_failed;     /* included, call failed (fee charged) */
	atomic_uint_fast64_t txs_skipped;    /* reaped but not includable at execution */
	atomic_uint_fast64_t txs_accepted;   /* admitted to the pool */
	atomic_uint_fast64_t txs_rejected;   /* refused at admission */
	atomic_uint_fast64_t last_block_us;  /* time to commit the last block */
	atomic_uint_fast64_t block_us_total; /* time spent committing blocks */
	atomic_uint_fast64_t last_block_txs;
	atomic_uint_fast64_t rounds_extra; /* sum of the decision rounds (0 = decided in round 0) */
};

/* An equivocation this node reported (for RPC). */
struct node_evidence_note {
	uint8_t id[32], txid[32], pub_key[32]; /* txid all-zero: not submitted */
	uint8_t type;
	uint64_t height;
	uint32_t round;
};

struct node {
	struct node_config cfg;
	char data_dir[4096];
	struct node_chain chain; /* store, state tree, params: fixed; head: engine thread only */
	struct mempool *pool;
	struct rpc_server *rpc;
	struct rpc_sse *heads;
	struct node_par *par; /* parallel admission (the chain has its own, chain.par) */

	/* Chain identity, fixed after start. */
	char chain_name[GENESIS_NAME_MAX + 1];
	char token_symbol[GENESIS_SYMBOL_MAX + 1];
	uint8_t token_decimals;
	uint64_t block_time_ms; /* the target block time: the commit delay fills up to it */

	/* The validator key (guarded memory), if any. The signer guard holds its own copy. */
	bool has_validator_key;
	uint8_t *validator_sk;
	uint8_t validator_pk[32];
	/* The p2p identity (guarded memory): DATA/node.key, made on first start. */
	uint8_t *node_sk;
	uint8_t node_pk[32];

	pthread_mutex_t head_lock; /* guards head and head_set */
	struct node_head head;
	struct valset head_set; /* the set that signs the next block */

	/* Consensus and network. */
	struct node_engine *eng; /* the engine thread's */
	struct p2p *p2p;         /* NULL: a lone node without networking */
	char *peer_buf;
	char *peer_strs[NODE_PEERS_MAX];
	size_t n_peer_strs;
	struct node_inbox inbox; /* peer events for the engine */
	struct node_inbox txbox; /* peer tx batches for admission */
	struct p2p_seen tx_seen; /* tx ids already handled: gossip is relayed once */
	pthread_mutex_t gossip_lock;
	struct enc gossip_out; /* admitted txs waiting to be broadcast */
	pthread_t engine_thread, tx_thread;
	bool engine_running, tx_running;
	pthread_mutex_t status_lock; /* guards cs, peer_heights, evidence */
	struct node_cs_status cs;
	struct node_peer_status peer_heights[NODE_PEERS_MAX];
	struct node_evidence_note evidence[NODE_EVIDENCE_MEMORY];
	size_t n_evidence;

	int stop_pipe[2];
	atomic_bool stopping;
	atomic_bool failed; /* the engine hit a fatal error (storage, signer, WAL) */
	struct node_metrics m;
};

/* Snapshot of the head under the lock. */
void node_head_get(struct node *n, struct node_head *out);
/* Copies the chain's committed head into the snapshot (the chain's owner thread). */
void node_head_publish(struct node *n);
/* Copies the set that signs the next block. */
void node_head_set_get(struct node *n, struct valset *out);

uint64_t node_now_ms(void);  /* wall clock, Unix ms */
uint64_t node_mono_us(void); /* monotonic clock */

/* Tells the pool the state after a commit: drops included and stale txs, promotes, rechecks. */
void node_pool_refresh(struct node *n, uint64_t next_height);
/* (c) plus what follows a commit (head snapshot, pool, metrics, events). NODE_CHAIN_STORE and
 * NOMEM also stop the node; BAD_COMMIT leaves p pending. */
enum node_chain_result node_commit_pending(struct node *n, struct node_pending *p,
                                           const struct commit *c);

/* Admission (node_admit.c): decode, duplicate check, signature, state check, pool; admitted txs
 * are gossiped. Returns 0, or -1 with the reason in err. Any thread. */
int node_admit(struct node *n, const uint8_t *b, size_t len, uint8_t txid[32],
               enum mempool_status *where, struct rpc_error *err);
/* The same, skipping the signature check when the caller already verified it (sig_checked). */
int node_admit_checked(struct node *n, const uint8_t *b, size_t len, bool sig_checked,
                       uint8_t txid[32], enum mempool_status *where, struct rpc_error *err);

/* Keys (node_keys.c): the validator key (dev: alice; else --validator-key, optional) and the
 * node key (DATA/node.key, created on first start). Errors: NODE_KEY, NODE_NOMEM. */
enum node_result node_keys_load(struct node *n, char *err, size_t errlen);

/* The engine's resources (node_engine.c): machine, WAL and signer guard in DATA/consensus,
 * queues; then the engine and gossip threads. */
enum node_result node_engine_open(struct node *n, char *err, size_t errlen);
enum node_result node_threads_start(struct node *n, char *err, size_t errlen);
void node_threads_stop(struct node *n);
void node_engine_close(struct node *n);

/* Network (node_net.c). */
enum node_result node_net_start(struct node *n, char *err, size_t errlen);
void node_broadcast(struct node *n, uint8_t channel, const uint8_t *msg, size_t len);
void node_send(struct node *n, uint64_t peer, uint8_t channel, const uint8_t *msg, size_t len);
void node_gossip_tx(struct node *n, const uint8_t *b, size_t len);
void *node_tx_main(void *arg);

/* The consensus engine (node_cons.c, node_cons_io.c, node_sync.c, node_evidence.c); all run on
 * the engine thread. */
void *node_engine_main(void *arg);
void node_engine_fail(struct node *n, const char *why);
void node_act(struct node *n, const struct cons_outputs *out);
void node_timer_add(struct node_engine *e, enum node_timer_kind kind, uint8_t sub, uint64_t height,
                    uint32_t round, uint64_t delay_ms);
struct node_block_entry *node_block_find(struct node_engine *e, const uint8_t hash[32]);
bool node_block_keep(struct node_engine *e, const uint8_t hash[32], const uint8_t *bytes,
                     size_t len, bool valid);
void node_get_value(struct node *n, uint64_t height, uint32_t round);
void node_start_height(struct node *n);
void node_height_done(struct node *n);
void node_decide(struct node *n, uint32_t round, const uint8_t hash[32]);
void node_resume(struct node *n);
bool node_wal_value(struct node *n, uint32_t round, const uint8_t *block, size_t len);
bool node_wal_timeout(struct node *n, uint8_t kind, uint64_t height, uint32_t round);
void node_send_proposal(struct node *n, const struct cons_proposal *p);
void node_send_vote(struct node *n, const struct cons_vote *v);

/* Kept and relayed consensus messages (node_relay.c). A ring's init returns false when out of
 * memory; release frees it. */
bool node_ring_init(struct node_ring *r, unsigned cap);
void node_ring_release(struct node_ring *r);
/* Keeps our own signed message for re-sending. */
void node_own_keep(struct node_engine *e, const struct node_kept_key *key, const uint8_t *msg,
                   size_t len);
/* Forgets every kept message (a new height). */
void node_kept_clear(struct node_engine *e);
/* Broadcasts again every kept message of `round` and the round before. */
void node_kept_resend(struct node *n, uint32_t round);
/* What is kept under a peer message's key: nothing (NEW: pass it on once authenticated), this
 * very message (SAME: an echo of what we signed or passed on, dropped before any check), or
 * another message (OTHER: fed to the machine, not passed on). */
enum node_kept_seen { NODE_KEPT_NEW, NODE_KEPT_SAME, NODE_KEPT_OTHER };
enum node_kept_seen node_kept_lookup(struct node_engine *e, const struct node_kept_key *key,
                                     const uint8_t *msg, size_t len);
/* Passes a peer's authenticated NEW message on to every other peer and keeps it for
 * re-sending. */
void node_relay(struct node *n, uint64_t from_peer, const struct node_kept_key *key,
                const uint8_t *msg, size_t len);
/* Feeds a consensus message; true if it was kept for the next height (the caller must not free
 * it then). */
bool node_on_cons_msg(struct node *n, struct node_event *ev);
void node_on_sync_msg(struct node *n, const struct node_event *ev);
void node_peer_connected(struct node *n, const struct node_event *ev);
void node_peer_gone(struct node *n, uint64_t peer);
void node_status_broadcast(struct node *n);
void node_status_publish(struct node *n);
void node_sync_check(struct node *n);
void node_tick(struct node *n);
void node_evidence_report(struct node *n, const struct cons_evidence *ev);

/* Registers the RPC methods and routes; called by node_start. */
enum node_result node_rpc_start(struct node *n, char *err, size_t errlen);
/* The node's JSON-RPC method table with n as the app, for rpc_dispatch without HTTP (the fuzz
 * target). Default caps. */
void node_rpc_table(struct node *n, struct rpc_table *out);

/* Consensus-side RPC (node_rpc_cons.c). */
json_t *node_json_validators(struct node *n);
json_t *node_json_consensus(struct node *n);
size_t node_peer_count(struct node *n);
uint32_t node_cs_round(struct node *n);
int node_m_net_info(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_evidence_reported(void *app, json_t *params, json_t **result, struct rpc_error *err);
int node_m_evidence_get(void *app, json_t *params, json_t **result, struct rpc_error *err);

/* JSON rendering (node_json.c). Each returns a new reference or NULL on allocation failure. */
json_t *node_json_hex(const void *p, size_t n);
json_t *node_json_u128(u128 v);
json_t *node_json_account(const struct node *n, const uint8_t pk[32]);
json_t *node_json_header(const struct header *h, const uint8_t hash[32]);
/* vs: the set that signed the commit's height (slot i is vs->v[i]); NULL if unknown. */
json_t *node_json_commit(const struct node *n, const struct commit *c, const struct valset *vs);
/* A tx's fields, its call and arguments; receipt may be NULL (pending). */
json_t *node_json_tx(const struct node *n, const struct tx *tx, const uint8_t txid[32],
                     const struct receipt *rc);

#endif
