/*
 * The node's consensus engine (docs/architecture.md "Consensus in the node"): one thread drives
 * the pure state machine (consensus/cons.h) with inputs from peers, the pool and its timers, and
 * carries out what the machine asks through the signer guard, the WAL and the network.
 *
 * Wire messages (docs/protocol/node-p2p.md): channel NODE_CH_TX carries transaction batches,
 * NODE_CH_CONS proposals (with their block) and votes, NODE_CH_SYNC status and block sync.
 * Proposals travel whole: the p2p layer splits a message into frames (net/p2p.h), so a 4 MiB
 * block is sent as parts and reassembled there.
 */
#ifndef TN_NODE_NODE_CONS_INT_H
#define TN_NODE_NODE_CONS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons.h"
#include "consensus/signer.h"
#include "consensus/wal.h"
#include "node/node_chain.h"
#include "node/node_msg.h"

/* WAL record types (consensus/wal.h types 1..255 are the caller's). */
enum { NODE_WAL_PROPOSAL = 1, NODE_WAL_VOTE = 2, NODE_WAL_TIMEOUT = 3, NODE_WAL_VALUE = 4 };

#define NODE_INBOX_MAX_BYTES ((size_t)96 << 20) /* peer messages waiting for the engine */
#define NODE_TXBOX_MAX_BYTES ((size_t)32 << 20) /* peer tx batches waiting for admission */
#define NODE_BLOCK_CACHE     8                  /* blocks of the current height kept by hash */
#define NODE_FUTURE_MSGS     256 /* messages for the next height kept until it starts */
#define NODE_TIMERS_MAX      256
#define NODE_OWN_MSGS        8    /* own signed messages of the height kept for re-sending */
#define NODE_RELAY_PROPOSALS 4    /* peers' proposals of the height passed on and kept */
#define NODE_RELAY_VOTES     1024 /* peers' votes of the height passed on and kept */
#define NODE_PEERS_MAX       64   /* peers whose status the engine tracks */
#define NODE_SYNC_TIMEOUT_MS 5000 /* a request unanswered this long is asked elsewhere */
#define NODE_SYNC_GRACE_MS   1500 /* one block behind this long: sync rather than wait */
#define NODE_TICK_MS         500  /* status broadcast, re-sends, sync checks */
#define NODE_TX_BATCH_BYTES  (256 * 1024)
#define NODE_TX_FLUSH_MS     5
#define NODE_EVIDENCE_MEMORY 64 /* offences this node already reported */

/* An event for the engine thread: a peer message, or a peer (dis)connecting. */
enum node_event_kind { NODE_EV_MSG = 1, NODE_EV_CONNECT, NODE_EV_DISCONNECT };
struct node_event {
	struct node_event *next;
	enum node_event_kind kind;
	uint64_t peer;
	uint8_t channel;
	size_t len;
	uint8_t data[]; /* the message, or the peer's hello blob */
};

/* A bounded multi-producer queue of events with a wake-up. */
struct node_inbox {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	struct node_event *head, *tail;
	size_t bytes, cap;
	uint64_t dropped;
	bool closed;
};

bool node_inbox_init(struct node_inbox *q, size_t cap);
void node_inbox_release(struct node_inbox *q);
/* Queues a copy of a[0..alen) ‖ b[0..blen); false (counted) when over the cap or closed. */
bool node_inbox_push(struct node_inbox *q, enum node_event_kind kind, uint64_t peer,
                     uint8_t channel, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Takes every queued event (oldest first), waiting until deadline_us (monotonic; 0 = no wait)
 * if there is none. Returns NULL on timeout or when closed. The caller frees each event. */
struct node_event *node_inbox_take(struct node_inbox *q, uint64_t deadline_us);
/* Wakes and stops every waiter; later pushes fail. */
void node_inbox_close(struct node_inbox *q);

/* A timer of the engine. */
enum node_timer_kind {
	NODE_TIMER_CONS = 1, /* a machine timeout: cons kind in `sub` */
	NODE_TIMER_START,    /* the commit delay is over: start `height` */
	NODE_TIMER_TICK,     /* periodic housekeeping */
};
struct node_timer {
	uint64_t due_us;
	uint64_t seq; /* ties fire in scheduling order */
	enum node_timer_kind kind;
	uint8_t sub;
	uint64_t height;
	uint32_t round;
};

struct node_block_entry {
	bool used;
	uint8_t hash[32];
	uint8_t *bytes;
	size_t len;
	bool valid;
};

/* What identifies a consensus message for relaying: one is passed on per key. */
enum node_kept_kind { NODE_KEPT_PROPOSAL = 1, NODE_KEPT_PREVOTE, NODE_KEPT_PRECOMMIT };
struct node_kept_key {
	uint32_t round;
	uint8_t kind;    /* node_kept_kind */
	uint16_t signer; /* index in the height's validator set */
};

/* A consensus message of the current height kept for re-sending (node_relay.c). */
struct node_kept_msg {
	bool used;
	struct node_kept_key key;
	uint8_t *msg; /* the wire message (channel payload) */
	size_t len;
};

/* A fixed number of kept messages; a new one replaces the oldest. */
struct node_ring {
	struct node_kept_msg *slot;
	unsigned cap, next;
};

struct node_peer_status {
	uint64_t peer; /* 0 = free slot */
	uint8_t key[32];
	uint64_t height;
	uint64_t behind_since_us; /* when we first saw it ahead of us, 0 = not ahead */
};

struct node_cs_status {
	uint64_t height;
	uint32_t round;
	enum cons_step step;
	bool validator;
	size_t n_peers;
};

/* Everything the engine thread owns. */
struct node_engine {
	bool queues_ready; /* the node's inboxes and gossip state are initialised */
	struct cons *cons;
	struct signer *signer; /* NULL: not a validator key holder */
	struct wal *wal;
	uint64_t height;     /* the machine's height */
	bool height_started; /* cons_start_height ran for `height` */
	bool replaying;
	bool value_wanted; /* GET_VALUE seen during replay, no VALUE record yet */
	uint32_t value_round;
	bool decide_deferred; /* DECIDE seen during replay: commit once the replay is over */
	uint32_t decide_round;
	uint8_t decide_hash[32];
	uint64_t height_start_us;
	struct node_pending pending;
	struct node_block_entry blocks[NODE_BLOCK_CACHE];
	unsigned block_next;
	struct node_event *future[NODE_FUTURE_MSGS];
	size_t n_future;
	struct node_timer timers[NODE_TIMERS_MAX];
	size_t n_timers;
	uint64_t timer_seq;
	struct node_ring own;               /* what we signed */
	struct node_ring relayed_proposals; /* what we passed on */
	struct node_ring relayed_votes;
	uint64_t tick_height; /* (height, round, step) at the last tick: re-send when unchanged */
	uint32_t tick_round;
	enum cons_step tick_step;
	struct node_peer_status peers[NODE_PEERS_MAX];
	uint64_t sync_peer, sync_to, sync_due_us; /* the outstanding request, if sync_peer */
	uint8_t evidence_done[NODE_EVIDENCE_MEMORY][32];
	unsigned evidence_next;
};

#endif
