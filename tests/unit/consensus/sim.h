/*
 * A deterministic in-process simulator of a Tendermint network (docs/testing.md "Consensus
 * simulator"), FoundationDB-style: every node runs the real state machine (consensus/cons.h), all
 * in one thread, driven by one event queue in virtual time (a min-heap ordered by time, ties by
 * sequence number). Everything random comes from the seed, so a seed replays exactly.
 *
 * What is real: the machine, Ed25519 keys and signatures (every proposal and vote is signed and
 * every receiver decodes the wire bytes and checks the signature before feeding it), commits
 * (cons_build_commit, checked with commit_verify, the light-client rule) and proposer selection.
 * What is modelled: the network (delay, loss, duplication, reordering, bit flips, symmetric and
 * one-way partitions), the host (messages for the next height are kept until it starts; gossip
 * re-sends a peer at our height what it has not seen, and sends a peer that has not decided its
 * height our commit of it: block sync), crashes (a restarted node replays its own input log for
 * the current height into a fresh machine, as the WAL does) and the signer guard (last signed
 * (height, round, step), kept across crashes).
 *
 * Faults beyond the network: Twins (a second instance with the same key and index, placed on the
 * other side of partitions, so the key equivocates), byzantine proposers of invalid values, and
 * amnesia (a deliberately broken node that forgets its lock when a new round starts).
 *
 * The checker: agreement among honest nodes at every height, validity of honest decisions, no two
 * different signatures of one honest key for one (height, round, type), evidence only against
 * twinned keys, the signer guard never refuses an honest machine, every commit passes
 * commit_verify, replay gives the outputs of every logged input again and rebuilds the machine the
 * crash lost (status and every vote held), and (when the honest power is a quorum) liveness: every
 * honest node reaches the target height within SIM_LIVE_BOUND_MS of virtual time after GST.
 */
#ifndef TN_TEST_CONS_SIM_H
#define TN_TEST_CONS_SIM_H

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/codec.h"
#include "chain/block.h"
#include "consensus/cons.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define SIM_MAX_KEYS        8
#define SIM_MAX_NODES       16
#define SIM_MAX_HEIGHTS     64
#define SIM_MAX_PARTS       4
#define SIM_MAX_CRASHES     8
#define SIM_WIRE_MAX        160
#define SIM_LOG_MAX         (1u << 16) /* inputs logged per height */
#define SIM_FIFO_MAX        256        /* inputs a node feeds back to itself in one step */
#define SIM_NEXT_MAX        4096       /* messages for the next height a node keeps */
#define SIM_EVENTS_MAX      (1u << 21) /* queued events */
#define SIM_STEPS_MAX       (20u * 1000 * 1000)
#define SIM_TICK_MS         200   /* gossip period */
#define SIM_COMMIT_DELAY_MS 50    /* pause between a decision and the next height */
#define SIM_LIVE_BOUND_MS   30000 /* after GST, honest nodes reach the target within this */
#define SIM_NO_KEY          0xffff
#define SIM_FNV0            0xcbf29ce484222325ULL

static const struct cons_timeouts sim_timeouts = {
    .propose_ms = 300,
    .propose_delta_ms = 100,
    .prevote_ms = 100,
    .prevote_delta_ms = 50,
    .precommit_ms = 100,
    .precommit_delta_ms = 50,
};

/* ---- Configuration, schedule, statistics -------------------------------------------------- */

struct sim_config {
	size_t n_keys;                   /* validators, <= SIM_MAX_KEYS */
	uint64_t power[SIM_MAX_KEYS];    /* 0 means 1 */
	uint32_t twin_mask;              /* keys run by two instances (Twins) */
	uint32_t invalid_mask;           /* keys whose proposer builds invalid values */
	uint32_t amnesia_mask;           /* keys that forget their lock (broken on purpose) */
	bool rotate_faulty;              /* rotate the three masks by seed % n_keys */
	size_t n_observers;              /* non-validators that follow and decide */
	uint64_t heights;                /* target height, <= SIM_MAX_HEIGHTS */
	bool chaos;                      /* random faults; else a clean network */
	bool liveness;                   /* assert liveness after GST */
	uint32_t twin_split_permille;    /* chance a partition separates the twins */
	uint32_t amnesia_crash_permille; /* per tick, chance an amnesic node forgets anyway */
	bool twins_honest; /* hold twins to the honest checks: a wrong setting, which must fail */
	bool wal_skip_timeouts; /* a WAL that does not log timeouts: a bug, which must be caught */
};

enum sim_part_kind { SIM_PART_ISOLATE = 0, SIM_PART_HALVES, SIM_PART_RANDOM, SIM_PART_TWINS };

struct sim_partition {
	uint64_t start, end; /* active in [start, end) */
	uint8_t kind;
	bool oneway; /* only messages from a lower group to a higher one are lost */
	uint8_t group[SIM_MAX_NODES]; /* else two nodes talk iff same group */
};

struct sim_crash {
	uint64_t start, end; /* down in [start, end), then restarts */
	uint8_t node;
};

/* Everything random about a run's environment, drawn from the seed before it starts. */
struct sim_schedule {
	uint64_t seed;
	uint32_t twin_mask, invalid_mask, amnesia_mask; /* after rotation */
	uint32_t delay_min, delay_max;                  /* ms, uniform */
	uint32_t spike_permille, spike_max;             /* extra delay before GST (reordering) */
	uint32_t loss_permille, dup_permille, corrupt_permille;
	uint64_t gst; /* every fault ends by then; no loss or spikes after it */
	size_t n_parts, n_crashes;
	struct sim_partition part[SIM_MAX_PARTS];
	struct sim_crash crash[SIM_MAX_CRASHES];
};

enum sim_violation {
	SIM_OK = 0,
	SIM_V_AGREEMENT,
	SIM_V_VALIDITY,
	SIM_V_DOUBLE_SIGN,
	SIM_V_LIVENESS,
	SIM_V_REPLAY, /* a restarted node's replay diverged from what it had done */
	SIM_V_OTHER,  /* anything else the checker rejects (commit, guard, codec, caps...) */
};

struct sim_stats {
	uint64_t runs, decisions, events, sent, delivered, lost, signatures, verifies;
	uint64_t restarts, replayed, syncs, evidence, byz_double_signs, rejected_corrupt;
	uint64_t amnesia_resets, guard_refusals, invalid_values, max_round, vtime_ms;
	uint64_t max_after_gst_ms;
	uint64_t proposals[SIM_MAX_KEYS]; /* signed proposals per key */
};

/* ---- Small utilities ---------------------------------------------------------------------- */

static inline uint64_t sim_rng(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t sim_below(uint64_t *s, uint64_t n)
{
	return n ? sim_rng(s) % n : 0;
}

static inline bool sim_chance(uint64_t *s, uint32_t permille)
{
	return sim_below(s, 1000) < permille;
}

static inline uint64_t sim_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static inline void *sim_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (!p) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return p;
}

static inline void *sim_xrealloc(void *p, size_t n, size_t size)
{
	p = realloc(p, n * size);
	if (!p) {
		fprintf(stderr, "sim: out of memory\n");
		abort();
	}
	return p;
}

/* Open-addressing map from 32-byte keys to 64-byte values (also used as a set). */
struct sim_entry {
	uint8_t key[32];
	uint8_t val[64];
	bool used;
};

struct sim_map {
	struct sim_entry *e;
	size_t cap, n; /* cap is 0 or a power of two */
};

static inline struct sim_entry *sim_map_slot(const struct sim_map *m, const uint8_t key[32])
{
	size_t i = sim_fnv(SIM_FNV0, key, 32) & (m->cap - 1);
	while (m->e[i].used && memcmp(m->e[i].key, key, 32) != 0)
		i = (i + 1) & (m->cap - 1);
	return &m->e[i];
}

static inline struct sim_entry *sim_map_get(const struct sim_map *m, const uint8_t key[32])
{
	if (!m->cap)
		return NULL;
	struct sim_entry *e = sim_map_slot(m, key);
	return e->used ? e : NULL;
}

static inline void sim_map_grow(struct sim_map *m)
{
	struct sim_map old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->e = sim_xcalloc(m->cap, sizeof(*m->e));
	for (size_t i = 0; i < old.cap; i++)
		if (old.e[i].used)
			*sim_map_slot(m, old.e[i].key) = old.e[i];
	free(old.e);
}

/* The entry of key, added (value zero) if absent; *fresh says which. */
static inline struct sim_entry *sim_map_put(struct sim_map *m, const uint8_t key[32], bool *fresh)
{
	if (2 * (m->n + 1) > m->cap)
		sim_map_grow(m);
	struct sim_entry *e = sim_map_slot(m, key);
	*fresh = !e->used;
	if (*fresh) {
		memset(e, 0, sizeof(*e));
		memcpy(e->key, key, 32);
		e->used = true;
		m->n++;
	}
	return e;
}

static inline void sim_map_clear(struct sim_map *m)
{
	if (m->cap)
		memset(m->e, 0, m->cap * sizeof(*m->e));
	m->n = 0;
}

/* Ed25519 signing and verification are pure and dominate the run time, and the same messages
 * recur across seeds (keys and values depend only on indices), so both results are kept for the
 * whole process: signatures by (key, sign bytes), successful verifications by wire bytes (the
 * public key is fixed by the validator index) and commits that passed commit_verify by their hash
 * (for one set of keys, which every config shares). Every message and commit is still verified on
 * its first appearance, and a failure is never cached. */
#define SIM_CACHE_MAX (1u << 20)
static struct sim_map sim_sig_cache, sim_verified_cache, sim_commit_cache;

static inline void sim_cache_bound(struct sim_map *m)
{
	if (m->n >= SIM_CACHE_MAX)
		sim_map_clear(m);
}

/* commit_verify(vs, chain_id, h, block_hash, cm), remembering successes. */
static inline enum block_result sim_commit_verify(const struct valset *vs,
                                                  const uint8_t chain_id[32], uint64_t h,
                                                  const uint8_t block_hash[32],
                                                  const struct commit *cm)
{
	uint8_t id[32], vh[32];
	struct hash_state hs;
	valset_hash(vh, vs);
	commit_hash(id, cm);
	hash_init_tagged(&hs, "tenebra/sim/commit");
	hash_update(&hs, vh, 32);
	hash_update(&hs, id, 32);
	hash_update(&hs, &h, 8);
	hash_update(&hs, block_hash, 32);
	hash_final(&hs, id);
	if (sim_map_get(&sim_commit_cache, id))
		return BLOCK_OK;
	enum block_result r = commit_verify(vs, chain_id, h, block_hash, cm);
	bool fresh;
	sim_cache_bound(&sim_commit_cache);
	if (r == BLOCK_OK)
		sim_map_put(&sim_commit_cache, id, &fresh);
	return r;
}

/* ---- Values: the "blocks" ----------------------------------------------------------------- */

/* A value is height u64 ‖ builder node u8 ‖ round u32 ‖ zero [11] ‖ tag [8], where the tag is a
 * hash of the first 24 bytes under "valid" or "invalid": valid(v) needs the right height and the
 * valid tag, so a byzantine proposer's invalid value is recognisable by every node. */
static inline void sim_value_tag(uint8_t tag[8], const uint8_t v[24], bool valid)
{
	uint8_t d[32];
	hash_tagged(d, valid ? "tenebra/sim/valid" : "tenebra/sim/invalid", v, 24);
	memcpy(tag, d, 8);
}

static inline void sim_value_make(uint8_t v[32], uint64_t height, uint32_t round, size_t builder,
                                  bool valid)
{
	memset(v, 0, 32);
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(height >> (8 * i));
	v[8] = (uint8_t)builder;
	for (int i = 0; i < 4; i++)
		v[9 + i] = (uint8_t)(round >> (8 * i));
	sim_value_tag(v + 24, v, valid);
}

static inline bool sim_value_valid(const uint8_t v[32], uint64_t height)
{
	uint8_t tag[8];
	uint64_t h = 0;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)v[i] << (8 * i);
	sim_value_tag(tag, v, true);
	return h == height && memcmp(tag, v + 24, 8) == 0;
}

/* ---- Nodes, events, the simulator --------------------------------------------------------- */

enum sim_in_kind { SIM_IN_START = 1, SIM_IN_VALUE, SIM_IN_PROPOSAL, SIM_IN_VOTE, SIM_IN_TIMEOUT };

/* One input of a machine, as logged for replay (the WAL's record). */
struct sim_input {
	uint8_t kind;
	bool valid; /* SIM_IN_PROPOSAL */
	enum cons_timeout tkind;
	uint64_t height; /* START, VALUE, TIMEOUT */
	uint32_t round;  /* VALUE, TIMEOUT */
	union {
		uint8_t value[32];
		struct cons_proposal p;
		struct cons_vote v;
	} u;
	uint64_t out_digest; /* digest of the outputs it produced (checked on replay) */
};

enum sim_msg_kind { SIM_MSG_PROPOSAL = 1, SIM_MSG_VOTE };

/* A message as sent: kind u8 ‖ the cons_*_encode bytes. */
struct sim_wire {
	uint8_t len;
	uint8_t b[SIM_WIRE_MAX];
	uint8_t digest[32]; /* hash of b[0..len) */
};

/* What the host keeps for gossip at its current height: messages the machine took (relayed to
 * peers that have not seen them) and the digests of every message it has seen. */
struct sim_store {
	struct sim_wire *m;
	size_t n, cap;
	struct sim_map seen;
};

struct sim_pending {
	struct sim_input in;
	uint8_t digest[32];
};

struct sim_guard {
	bool any;
	uint64_t h;
	uint32_t r;
	uint8_t step; /* 0 proposal, VOTE_PREVOTE, VOTE_PRECOMMIT */
	uint8_t last[32];
};

struct sim_node {
	uint16_t key; /* index in the set; SIM_NO_KEY for an observer */
	bool faulty;  /* its key is twinned or byzantine: not held to the honest checks */
	bool amnesic, invalid, crashed;
	uint32_t incarnation; /* events of an earlier incarnation are dropped */
	struct cons *c;
	uint64_t height;  /* the height the host runs */
	uint64_t decided; /* highest height decided (by the machine or by sync) */
	uint64_t done_at;
	uint32_t forgot_round; /* an amnesic node ignores earlier rounds of its height */
	uint64_t crash_digest; /* sim_machine_digest when it crashed */
	struct sim_input *log; /* inputs taken at `height` (the WAL) */
	size_t log_n, log_cap;
	struct sim_store store;
	struct sim_pending *next; /* messages for height + 1, fed once it starts */
	size_t next_n, next_cap;
	struct sim_guard guard;              /* survives crashes (it is on disk) */
	struct commit *cert;                 /* [heights + 1]: the commit of each decided height */
	struct sim_input fifo[SIM_FIFO_MAX]; /* our own messages, fed back in order */
	size_t fifo_head, fifo_n;
};

enum sim_ev_kind {
	SIM_EV_DELIVER = 1,
	SIM_EV_SYNC,
	SIM_EV_TIMEOUT,
	SIM_EV_START,
	SIM_EV_TICK,
	SIM_EV_CRASH,
	SIM_EV_RESTART,
};

struct sim_event {
	uint64_t time, seq;
	uint8_t kind;
	uint8_t node, src;
	bool corrupted;
	uint32_t incarnation;
	enum cons_timeout tkind;
	uint64_t height; /* SYNC, TIMEOUT, START */
	uint32_t round;  /* TIMEOUT */
	struct sim_wire w;
};

struct sim_decision {
	bool set;
	uint16_t by;
	uint8_t v[32];
};

struct sim {
	const struct sim_config *cfg;
	struct sim_schedule sched;
	uint64_t rng, now, seq;
	struct sim_event *heap;
	size_t heap_n, heap_cap;
	size_t n_nodes;
	struct sim_node node[SIM_MAX_NODES];
	uint8_t pk[SIM_MAX_KEYS][32], sk[SIM_MAX_KEYS][64];
	uint8_t chain_id[32];
	struct cons_valset cv[SIM_MAX_HEIGHTS + 2];
	struct sim_decision decision[SIM_MAX_HEIGHTS + 1];
	struct sim_map signed_; /* (key, height, round, type) -> sign-bytes digest */
	enum sim_violation failed;
	char why[640];
	bool trace;
	uint64_t trace_digest;
	struct sim_stats st;
};

static inline void sim_fail(struct sim *s, enum sim_violation v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void sim_fail(struct sim *s, enum sim_violation v, const char *fmt, ...)
{
	if (s->failed)
		return;
	s->failed = v;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

static inline void sim_trace(struct sim *s, size_t node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void sim_trace(struct sim *s, size_t node, const char *fmt, ...)
{
	if (!s->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "t=%6llu n%zu: ", (unsigned long long)s->now, node);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static inline bool sim_ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static inline void sim_push(struct sim *s, struct sim_event *ev)
{
	if (s->heap_n == SIM_EVENTS_MAX) {
		sim_fail(s, SIM_V_OTHER, "event queue cap %u reached", SIM_EVENTS_MAX);
		return;
	}
	if (s->heap_n == s->heap_cap) {
		s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 1024;
		s->heap = sim_xrealloc(s->heap, s->heap_cap, sizeof(*s->heap));
	}
	ev->seq = s->seq++;
	size_t i = s->heap_n++;
	while (i && sim_ev_before(ev, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = *ev;
}

static inline void sim_pop(struct sim *s, struct sim_event *out)
{
	*out = s->heap[0];
	struct sim_event last = s->heap[--s->heap_n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->heap_n)
			break;
		if (c + 1 < s->heap_n && sim_ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!sim_ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->heap_n)
		s->heap[i] = last;
}

/* Queues an event for node at now + delay, tagged with the node's current incarnation. */
static inline void sim_at(struct sim *s, uint64_t delay, uint8_t kind, size_t node,
                          struct sim_event *ev)
{
	ev->time = s->now + delay;
	ev->kind = kind;
	ev->node = (uint8_t)node;
	ev->incarnation = s->node[node].incarnation;
	sim_push(s, ev);
}

/* ---- Schedule ----------------------------------------------------------------------------- */

static inline uint32_t sim_rotl(uint32_t mask, size_t by, size_t n)
{
	by %= n;
	uint32_t all = (uint32_t)((1ULL << n) - 1);
	return ((mask << by) | (mask >> (n - by))) & all;
}

static inline size_t sim_node_count(const struct sim_config *cfg)
{
	return cfg->n_keys + (size_t)__builtin_popcount(cfg->twin_mask) + cfg->n_observers;
}

/* Instance i < n_keys runs key i; then one twin per key in twin_mask (in key order); then the
 * observers. */
static inline uint16_t sim_node_key(const struct sim_config *cfg, uint32_t twin_mask, size_t i)
{
	if (i < cfg->n_keys)
		return (uint16_t)i;
	size_t t = i - cfg->n_keys;
	for (size_t k = 0; k < cfg->n_keys; k++)
		if ((twin_mask >> k) & 1 && t-- == 0)
			return (uint16_t)k;
	return SIM_NO_KEY;
}

static inline void sim_partition_make(struct sim_schedule *sc, const struct sim_config *cfg,
                                      struct sim_partition *p, size_t n, uint64_t *r)
{
	bool twins = sc->twin_mask && sim_chance(r, cfg->twin_split_permille);
	p->kind = twins ? SIM_PART_TWINS : (uint8_t)sim_below(r, 3);
	p->oneway = sim_chance(r, 300);
	bool flip = p->oneway && sim_chance(r, 500); /* which side goes deaf */
	size_t lone = sim_below(r, n);
	uint8_t perm[SIM_MAX_NODES] = {0};
	for (size_t i = 0; i < n; i++)
		perm[i] = (uint8_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = sim_below(r, i + 1);
		uint8_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		uint16_t key = sim_node_key(cfg, sc->twin_mask, i);
		bool twin_of = key != SIM_NO_KEY && (sc->twin_mask >> key) & 1;
		switch (p->kind) {
		case SIM_PART_ISOLATE:
			p->group[i] = i == lone;
			break;
		case SIM_PART_HALVES:
			p->group[i] = 0;
			for (size_t j = 0; j < n / 2; j++)
				p->group[i] |= perm[j] == i;
			break;
		case SIM_PART_RANDOM:
			p->group[i] = (uint8_t)sim_below(r, 3);
			break;
		default: /* the first instance of a twinned key on side 0, its twin on side 1 */
			p->group[i] = twin_of ? i >= cfg->n_keys : (uint8_t)sim_below(r, 2);
			break;
		}
	}
	for (size_t i = 0; i < n && flip; i++)
		p->group[i] = (uint8_t)(2 - p->group[i]);
}

/* Drops crash intervals that overlap an earlier one of the same node. */
static inline void sim_crashes_disjoint(struct sim_schedule *sc)
{
	size_t k = 0;
	for (size_t i = 0; i < sc->n_crashes; i++) {
		bool overlap = false;
		for (size_t j = 0; j < k; j++)
			overlap |= sc->crash[j].node == sc->crash[i].node &&
			           sc->crash[i].start < sc->crash[j].end &&
			           sc->crash[j].start < sc->crash[i].end;
		if (!overlap)
			sc->crash[k++] = sc->crash[i];
	}
	sc->n_crashes = k;
}

static inline void sim_schedule_make(struct sim_schedule *sc, const struct sim_config *cfg,
                                     uint64_t seed)
{
	static const uint32_t spikes[] = {0, 20, 100}, losses[] = {0, 20, 100, 300},
	                      dups[] = {0, 20, 100};
	uint64_t r = seed ^ 0x243f6a8885a308d3ULL;
	size_t rot = cfg->rotate_faulty ? (size_t)(seed % cfg->n_keys) : 0;
	memset(sc, 0, sizeof(*sc));
	sc->seed = seed;
	sc->twin_mask = sim_rotl(cfg->twin_mask, rot, cfg->n_keys);
	sc->invalid_mask = sim_rotl(cfg->invalid_mask, rot, cfg->n_keys);
	sc->amnesia_mask = sim_rotl(cfg->amnesia_mask, rot, cfg->n_keys);
	sc->delay_min = 5;
	sc->delay_max = 20;
	if (!cfg->chaos)
		return;
	size_t n = sim_node_count(cfg);
	sc->gst = 1000 + sim_below(&r, 5000);
	sc->delay_min = 1 + (uint32_t)sim_below(&r, 30);
	sc->delay_max = sc->delay_min + (uint32_t)sim_below(&r, 200);
	sc->spike_permille = spikes[sim_below(&r, 3)];
	sc->spike_max = 1500;
	sc->loss_permille = losses[sim_below(&r, 4)];
	sc->dup_permille = dups[sim_below(&r, 3)];
	sc->corrupt_permille = 5;
	sc->n_parts = sim_below(&r, SIM_MAX_PARTS + 1);
	for (size_t i = 0; i < sc->n_parts; i++) {
		struct sim_partition *p = &sc->part[i];
		p->start = sim_below(&r, sc->gst);
		p->end = p->start + 100 + sim_below(&r, 3000);
		p->end = p->end > sc->gst ? sc->gst : p->end;
		sim_partition_make(sc, cfg, p, n, &r);
	}
	sc->n_crashes = sim_below(&r, 4);
	for (size_t i = 0; i < sc->n_crashes; i++) {
		struct sim_crash *c = &sc->crash[i];
		c->node = (uint8_t)sim_below(&r, n);
		c->start = sim_below(&r, sc->gst - 10);
		c->end = c->start + 10 + sim_below(&r, 3000);
		c->end = c->end > sc->gst ? sc->gst : c->end;
	}
	if (sim_chance(&r, 100) && sc->n_crashes + n <= SIM_MAX_CRASHES) { /* everyone at once */
		uint64_t t = sim_below(&r, sc->gst - 10);
		for (size_t i = 0; i < n; i++) {
			struct sim_crash *c = &sc->crash[sc->n_crashes++];
			c->node = (uint8_t)i;
			c->start = t;
			c->end = t + 10 + sim_below(&r, sc->gst - t - 10 + 1);
		}
	}
	sim_crashes_disjoint(sc);
}

static inline void sim_schedule_print(FILE *f, const struct sim_schedule *sc, size_t n)
{
	static const char *kinds[] = {"isolate", "halves", "random", "twins"};
	fprintf(f, "  schedule of seed %llu: twins 0x%x, invalid 0x%x, amnesia 0x%x\n",
	        (unsigned long long)sc->seed, sc->twin_mask, sc->invalid_mask, sc->amnesia_mask);
	fprintf(f,
	        "  delay %u..%u ms, spikes %u/1000 up to %u ms, loss %u/1000, dup %u/1000, "
	        "corrupt %u/1000, GST %llu ms\n",
	        sc->delay_min, sc->delay_max, sc->spike_permille, sc->spike_max, sc->loss_permille,
	        sc->dup_permille, sc->corrupt_permille, (unsigned long long)sc->gst);
	for (size_t i = 0; i < sc->n_parts; i++) {
		const struct sim_partition *p = &sc->part[i];
		fprintf(f, "  partition %llu..%llu ms (%s%s):", (unsigned long long)p->start,
		        (unsigned long long)p->end, kinds[p->kind], p->oneway ? ", one-way" : "");
		bool first = true; /* groups in order; one-way: what the left sends is lost */
		for (uint8_t g = 0; g < 3; g++) {
			bool any = false;
			for (size_t j = 0; j < n; j++)
				any |= p->group[j] == g;
			if (!any)
				continue;
			fprintf(f, first ? "" : (p->oneway ? " -/->" : " |"));
			first = false;
			for (size_t j = 0; j < n; j++)
				if (p->group[j] == g)
					fprintf(f, " n%zu", j);
		}
		fputc('\n', f);
	}
	for (size_t i = 0; i < sc->n_crashes; i++)
		fprintf(f, "  crash n%u %llu..%llu ms\n", sc->crash[i].node,
		        (unsigned long long)sc->crash[i].start,
		        (unsigned long long)sc->crash[i].end);
}

/* ---- Network ------------------------------------------------------------------------------ */

/* Whether a message from a to b gets through now. */
static inline bool sim_link_up(const struct sim *s, size_t a, size_t b)
{
	for (size_t i = 0; i < s->sched.n_parts; i++) {
		const struct sim_partition *p = &s->sched.part[i];
		bool cut = p->oneway ? p->group[a] < p->group[b] : p->group[a] != p->group[b];
		if (p->start <= s->now && s->now < p->end && cut)
			return false;
	}
	return true;
}

static inline uint64_t sim_delay(struct sim *s)
{
	const struct sim_schedule *sc = &s->sched;
	uint64_t d = sc->delay_min + sim_below(&s->rng, sc->delay_max - sc->delay_min + 1);
	if (s->now < sc->gst && sim_chance(&s->rng, sc->spike_permille))
		d += sim_below(&s->rng, sc->spike_max);
	return d;
}

/* Sends ev (kind, src, payload set) to dst through the faulty network. */
static inline void sim_transmit(struct sim *s, size_t dst, struct sim_event *ev)
{
	const struct sim_schedule *sc = &s->sched;
	s->st.sent++;
	if (s->now < sc->gst && sim_chance(&s->rng, sc->loss_permille)) {
		s->st.lost++;
		return;
	}
	int copies = sim_chance(&s->rng, sc->dup_permille) ? 2 : 1;
	for (int i = 0; i < copies; i++) {
		struct sim_event e = *ev;
		if (e.kind == SIM_EV_DELIVER && sim_chance(&s->rng, sc->corrupt_permille)) {
			size_t bit = sim_below(&s->rng, 8 * (uint64_t)e.w.len);
			e.w.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			e.corrupted = true;
		}
		sim_at(s, sim_delay(s), e.kind, dst, &e);
	}
}

static inline void sim_send_wire(struct sim *s, size_t src, size_t dst, const struct sim_wire *w)
{
	struct sim_event ev = {.src = (uint8_t)src, .w = *w};
	ev.kind = SIM_EV_DELIVER;
	sim_transmit(s, dst, &ev);
}

static inline void sim_send_sync(struct sim *s, size_t src, size_t dst, uint64_t height)
{
	struct sim_event ev = {.src = (uint8_t)src, .height = height};
	ev.kind = SIM_EV_SYNC;
	sim_transmit(s, dst, &ev);
}

static inline void sim_wire_of(struct sim_wire *w, const struct sim_input *in)
{
	struct enc e;
	enc_init_fixed(&e, w->b, sizeof(w->b));
	if (in->kind == SIM_IN_PROPOSAL) {
		enc_u8(&e, SIM_MSG_PROPOSAL);
		cons_proposal_encode(&e, &in->u.p);
	} else {
		enc_u8(&e, SIM_MSG_VOTE);
		cons_vote_encode(&e, &in->u.v);
	}
	assert(enc_finish(&e) == CODEC_OK);
	w->len = (uint8_t)e.len;
	hash_plain(w->digest, w->b, w->len);
}

static inline void sim_broadcast(struct sim *s, size_t src, const struct sim_input *in)
{
	struct sim_wire w;
	sim_wire_of(&w, in);
	for (size_t j = 0; j < s->n_nodes; j++)
		if (j != src)
			sim_send_wire(s, src, j, &w);
}

/* ---- Signing: the guard and the record of every signature --------------------------------- */

/* The signer guard's rule (research/consensus.md §1.3.6): (h, r, step) strictly above the last
 * one signed, or exactly the last one again with the same sign bytes. */
static inline bool sim_guard_allow(struct sim_guard *g, uint64_t h, uint32_t r, uint8_t step,
                                   const uint8_t digest[32])
{
	if (g->any) {
		int c = h != g->h   ? (h > g->h ? 1 : -1)
		        : r != g->r ? (r > g->r ? 1 : -1)
		                    : (step > g->step) - (step < g->step);
		if (c < 0 || (c == 0 && memcmp(digest, g->last, 32) != 0))
			return false;
	}
	*g = (struct sim_guard){.any = true, .h = h, .r = r, .step = step};
	memcpy(g->last, digest, 32);
	return true;
}

/* Records that node's key signed sign bytes `digest` for (h, r, step); two different ones for one
 * (key, h, r, step) are a double-sign. */
static inline void sim_record(struct sim *s, const struct sim_node *nd, uint8_t step, uint64_t h,
                              uint32_t r, const uint8_t digest[32])
{
	uint8_t id[32] = {0};
	memcpy(id, &nd->key, 2);
	id[2] = step;
	memcpy(id + 3, &h, 8);
	memcpy(id + 11, &r, 4);
	bool fresh;
	struct sim_entry *e = sim_map_put(&s->signed_, id, &fresh);
	s->st.signatures++;
	if (fresh) {
		memcpy(e->val, digest, 32);
		return;
	}
	if (memcmp(e->val, digest, 32) == 0)
		return;
	if (nd->faulty) {
		s->st.byz_double_signs++;
		return;
	}
	sim_fail(s, SIM_V_DOUBLE_SIGN,
	         "double-sign: honest key %u signed two different %s at height %llu round %u",
	         nd->key, step ? (step == VOTE_PREVOTE ? "prevotes" : "precommits") : "proposals",
	         (unsigned long long)h, r);
}

/* Signs msg[0..n) for node through its guard; false (nothing signed) if the guard refuses. */
static inline bool sim_sign(struct sim *s, size_t idx, uint8_t step, uint64_t h, uint32_t r,
                            const uint8_t *msg, size_t n, uint8_t sig[64])
{
	struct sim_node *nd = &s->node[idx];
	uint8_t d[32];
	hash_plain(d, msg, n);
	if (!sim_guard_allow(&nd->guard, h, r, step, d)) {
		s->st.guard_refusals++;
		if (!nd->amnesic)
			sim_fail(
			    s, SIM_V_OTHER,
			    "signer guard refused node %zu (step %u, height %llu round %u; last "
			    "signed %llu/%u/%u): the machine asked to sign out of order",
			    idx, step, (unsigned long long)h, r, (unsigned long long)nd->guard.h,
			    nd->guard.r, nd->guard.step);
		return false;
	}
	uint8_t id[32];
	struct hash_state hs;
	hash_init_tagged(&hs, "tenebra/sim/sig");
	hash_update(&hs, &nd->key, sizeof(nd->key));
	hash_update(&hs, msg, n);
	hash_final(&hs, id);
	sim_cache_bound(&sim_sig_cache);
	bool fresh;
	struct sim_entry *e = sim_map_put(&sim_sig_cache, id, &fresh);
	if (fresh)
		sig_sign(e->val, msg, n, s->sk[nd->key]);
	memcpy(sig, e->val, 64);
	sim_record(s, nd, step, h, r, d);
	return true;
}

/* ---- Feeding a machine -------------------------------------------------------------------- */

static inline uint64_t sim_vote_digest(uint64_t h, const struct cons_vote *v)
{
	h = sim_fnv(h, &v->type, 1);
	h = sim_fnv(h, &v->height, 8);
	h = sim_fnv(h, &v->round, 4);
	h = sim_fnv(h, v->block_hash, 32);
	return sim_fnv(h, &v->validator, 2);
}

/* A digest of what the outputs say (fields only: the structs' padding and unsigned sigs are not
 * part of the machine's answer). */
static inline uint64_t sim_outputs_digest(const struct cons_outputs *out)
{
	uint64_t h = sim_fnv(SIM_FNV0, &out->n, sizeof(out->n));
	for (size_t i = 0; i < out->n; i++) {
		const struct cons_output *o = &out->o[i];
		h = sim_fnv(h, &o->kind, sizeof(o->kind));
		h = sim_fnv(h, &o->height, 8);
		h = sim_fnv(h, &o->round, 4);
		switch (o->kind) {
		case CONS_OUT_PROPOSE:
			h = sim_fnv(h, &o->u.proposal.pol_round, 4);
			h = sim_fnv(h, o->u.proposal.block_hash, 32);
			h = sim_fnv(h, &o->u.proposal.proposer, 2);
			break;
		case CONS_OUT_VOTE:
			h = sim_vote_digest(h, &o->u.vote);
			break;
		case CONS_OUT_DECIDE:
			h = sim_fnv(h, o->u.block_hash, 32);
			break;
		case CONS_OUT_EVIDENCE:
			h = sim_vote_digest(sim_vote_digest(h, &o->u.evidence.a), &o->u.evidence.b);
			break;
		case CONS_OUT_SCHEDULE_TIMEOUT:
			h = sim_fnv(h, &o->u.timeout.kind, sizeof(o->u.timeout.kind));
			h = sim_fnv(h, &o->u.timeout.delay_ms, 4);
			break;
		default:
			break;
		}
	}
	return h;
}

static inline enum cons_result sim_apply(struct sim *s, struct sim_node *nd,
                                         const struct sim_input *in, struct cons_outputs *out)
{
	out->n = 0;
	switch (in->kind) {
	case SIM_IN_START:
		cons_start_height(nd->c, in->height, &s->cv[in->height],
		                  nd->key == SIM_NO_KEY ? -1 : nd->key, out);
		return CONS_OK;
	case SIM_IN_VALUE:
		return cons_on_value(nd->c, in->height, in->round, in->u.value, out);
	case SIM_IN_PROPOSAL:
		return cons_on_proposal(nd->c, &in->u.p, in->valid, out);
	case SIM_IN_VOTE:
		return cons_on_vote(nd->c, &in->u.v, out);
	default:
		return cons_on_timeout(nd->c, in->tkind, in->height, in->round, out);
	}
}

static inline void sim_log_append(struct sim *s, struct sim_node *nd, const struct sim_input *in)
{
	if (nd->log_n == SIM_LOG_MAX) {
		sim_fail(s, SIM_V_OTHER, "input log cap %u reached at height %llu", SIM_LOG_MAX,
		         (unsigned long long)nd->height);
		return;
	}
	if (nd->log_n == nd->log_cap) {
		nd->log_cap = nd->log_cap ? 2 * nd->log_cap : 256;
		nd->log = sim_xrealloc(nd->log, nd->log_cap, sizeof(*nd->log));
	}
	nd->log[nd->log_n++] = *in;
}

/* Keeps a proposal or vote the machine took, for gossip. */
static inline void sim_store_input(struct sim_node *nd, const struct sim_input *in)
{
	if (in->kind != SIM_IN_PROPOSAL && in->kind != SIM_IN_VOTE)
		return;
	struct sim_store *st = &nd->store;
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 64;
		st->m = sim_xrealloc(st->m, st->cap, sizeof(*st->m));
	}
	struct sim_wire *w = &st->m[st->n++];
	sim_wire_of(w, in);
	bool fresh;
	sim_map_put(&st->seen, w->digest, &fresh);
}

static inline void sim_fifo_push(struct sim *s, struct sim_node *nd, const struct sim_input *in)
{
	if (nd->fifo_n == SIM_FIFO_MAX) {
		sim_fail(s, SIM_V_OTHER, "feedback queue cap %u reached", SIM_FIFO_MAX);
		return;
	}
	nd->fifo[(nd->fifo_head + nd->fifo_n++) % SIM_FIFO_MAX] = *in;
}

static inline void sim_output(struct sim *s, size_t idx, const struct cons_output *o);
static inline void sim_amnesia_check(struct sim *s, size_t idx);

/* Feeds `first` to node idx, then every input it feeds back to itself. Returns first's result. */
static inline enum cons_result sim_input(struct sim *s, size_t idx, const struct sim_input *first)
{
	struct sim_node *nd = &s->node[idx];
	enum cons_result r0 = CONS_OK;
	bool is_first = true;
	sim_fifo_push(s, nd, first);
	while (nd->fifo_n && !s->failed) {
		struct sim_input in = nd->fifo[nd->fifo_head];
		nd->fifo_head = (nd->fifo_head + 1) % SIM_FIFO_MAX;
		nd->fifo_n--;
		struct cons_outputs out;
		enum cons_result r = sim_apply(s, nd, &in, &out);
		if (is_first)
			r0 = r;
		is_first = false;
		if (r == CONS_OK) {
			in.out_digest = sim_outputs_digest(&out);
			if (!(s->cfg->wal_skip_timeouts && in.kind == SIM_IN_TIMEOUT))
				sim_log_append(s, nd, &in);
			sim_store_input(nd, &in);
		} else if (out.n) {
			sim_fail(s, SIM_V_OTHER, "node %zu: input refused (%s) but %zu outputs",
			         idx, cons_strerror(r), out.n);
		}
		for (size_t i = 0; i < out.n && !s->failed; i++)
			sim_output(s, idx, &out.o[i]);
	}
	nd->fifo_n = 0;
	if (nd->amnesic && !s->failed)
		sim_amnesia_check(s, idx);
	return r0;
}

static inline uint64_t sim_input_height(const struct sim_input *in)
{
	return in->kind == SIM_IN_PROPOSAL ? in->u.p.height : in->u.v.height;
}

/* Feeds a message from the network (digest: of its wire bytes) and marks it seen; one for the
 * next height is kept until that height starts, as a node's host does. */
static inline void sim_feed(struct sim *s, size_t idx, const struct sim_input *in,
                            const uint8_t digest[32])
{
	struct sim_node *nd = &s->node[idx];
	enum cons_result r = sim_input(s, idx, in);
	s->trace_digest = sim_fnv(s->trace_digest, &r, sizeof(r));
	bool fresh;
	if (r != CONS_FUTURE) {
		sim_map_put(&nd->store.seen, digest, &fresh);
		return;
	}
	if (sim_input_height(in) != nd->height + 1 || nd->next_n == SIM_NEXT_MAX)
		return;
	if (nd->next_n == nd->next_cap) {
		nd->next_cap = nd->next_cap ? 2 * nd->next_cap : 64;
		nd->next = sim_xrealloc(nd->next, nd->next_cap, sizeof(*nd->next));
	}
	nd->next[nd->next_n].in = *in;
	memcpy(nd->next[nd->next_n++].digest, digest, 32);
}

static inline void sim_start_height(struct sim *s, size_t idx, uint64_t height)
{
	struct sim_node *nd = &s->node[idx];
	nd->height = height;
	nd->forgot_round = 0;
	nd->log_n = 0;
	nd->store.n = 0;
	sim_map_clear(&nd->store.seen);
	sim_trace(s, idx, "start height %llu", (unsigned long long)height);
	struct sim_input in = {.kind = SIM_IN_START, .height = height};
	sim_input(s, idx, &in);
	struct sim_pending *next = nd->next;
	size_t n = nd->next_n;
	nd->next = NULL;
	nd->next_n = nd->next_cap = 0;
	for (size_t i = 0; i < n && !s->failed; i++)
		if (sim_input_height(&next[i].in) == height)
			sim_feed(s, idx, &next[i].in, next[i].digest);
	free(next);
}

/* ---- Outputs ------------------------------------------------------------------------------ */

/* The node took block `cm` at height h, from its machine or from a peer's commit (sync). */
static inline void sim_decide(struct sim *s, size_t idx, uint64_t h, const struct commit *cm,
                              bool synced)
{
	struct sim_node *nd = &s->node[idx];
	if (h != nd->height) {
		sim_fail(s, SIM_V_OTHER, "node %zu decided height %llu while at %llu", idx,
		         (unsigned long long)h, (unsigned long long)nd->height);
		return;
	}
	if (nd->decided >= h) {
		if (!nd->faulty && memcmp(nd->cert[h].block_hash, cm->block_hash, 32) != 0)
			sim_fail(s, SIM_V_AGREEMENT,
			         "node %zu decided height %llu twice, differently", idx,
			         (unsigned long long)h);
		return;
	}
	nd->decided = h;
	nd->cert[h] = *cm;
	s->st.decisions++;
	s->st.syncs += synced;
	sim_trace(s, idx, "decide height %llu round %u%s value %02x%02x.. (builder n%u)",
	          (unsigned long long)h, cm->round, synced ? " (sync)" : "", cm->block_hash[24],
	          cm->block_hash[25], cm->block_hash[8]);
	if (!nd->faulty) {
		struct sim_decision *d = &s->decision[h];
		if (!sim_value_valid(cm->block_hash, h)) {
			sim_fail(s, SIM_V_VALIDITY,
			         "validity: node %zu decided an invalid value at "
			         "height %llu",
			         idx, (unsigned long long)h);
		} else if (!d->set) {
			*d = (struct sim_decision){.set = true, .by = (uint16_t)idx};
			memcpy(d->v, cm->block_hash, 32);
		} else if (memcmp(d->v, cm->block_hash, 32) != 0) {
			sim_fail(
			    s, SIM_V_AGREEMENT,
			    "agreement: at height %llu node %u decided a value built by n%u, node "
			    "%zu one built by n%u (round %u)",
			    (unsigned long long)h, d->by, d->v[8], idx, cm->block_hash[8],
			    cm->round);
		}
	}
	if (h >= s->cfg->heights) {
		nd->done_at = s->now;
		return;
	}
	struct sim_event ev = {.height = h + 1};
	sim_at(s, SIM_COMMIT_DELAY_MS, SIM_EV_START, idx, &ev);
}

static inline void sim_decide_machine(struct sim *s, size_t idx, const struct cons_output *o)
{
	struct commit cm;
	if (!cons_build_commit(s->node[idx].c, o->round, o->u.block_hash, &cm)) {
		sim_fail(s, SIM_V_OTHER,
		         "node %zu decided height %llu but cons_build_commit has no "
		         "quorum",
		         idx, (unsigned long long)o->height);
		return;
	}
	enum block_result br =
	    sim_commit_verify(&s->cv[o->height].set, s->chain_id, o->height, o->u.block_hash, &cm);
	if (br != BLOCK_OK || cm.round != o->round) {
		sim_fail(s, SIM_V_OTHER, "node %zu: commit of height %llu fails commit_verify: %s",
		         idx, (unsigned long long)o->height, block_strerror(br));
		return;
	}
	sim_decide(s, idx, o->height, &cm, false);
}

static inline void sim_evidence(struct sim *s, size_t idx, const struct cons_output *o)
{
	const struct cons_evidence *ev = &o->u.evidence;
	uint64_t h = ev->a.height;
	if (h < 1 || h > s->cfg->heights || !cons_evidence_verify(&s->cv[h].set, s->chain_id, ev)) {
		sim_fail(s, SIM_V_OTHER, "node %zu reported evidence that does not verify", idx);
		return;
	}
	uint16_t k = ev->a.validator;
	if (!((s->sched.twin_mask >> k) & 1))
		sim_fail(s, SIM_V_OTHER, "node %zu reported evidence against honest key %u", idx,
		         k);
	s->st.evidence++;
}

static inline void sim_sign_proposal(struct sim *s, size_t idx, const struct cons_output *o)
{
	struct sim_input in = {.kind = SIM_IN_PROPOSAL, .valid = true};
	in.u.p = o->u.proposal;
	uint8_t sb[CONS_PROPOSAL_SIGN_BYTES_LEN];
	cons_proposal_sign_bytes(sb, s->chain_id, &in.u.p);
	if (in.u.p.proposer != s->node[idx].key || in.u.p.height != s->node[idx].height) {
		sim_fail(s, SIM_V_OTHER, "node %zu: proposal with proposer %u at height %llu", idx,
		         in.u.p.proposer, (unsigned long long)in.u.p.height);
		return;
	}
	if (!sim_sign(s, idx, 0, in.u.p.height, in.u.p.round, sb, sizeof(sb), in.u.p.sig))
		return;
	s->st.proposals[in.u.p.proposer]++;
	sim_trace(s, idx, "propose round %u pol %d", in.u.p.round, in.u.p.pol_round);
	sim_broadcast(s, idx, &in);
	sim_fifo_push(s, &s->node[idx], &in);
}

static inline void sim_sign_vote(struct sim *s, size_t idx, const struct cons_output *o)
{
	struct sim_input in = {.kind = SIM_IN_VOTE};
	in.u.v = o->u.vote;
	struct cons_vote *v = &in.u.v;
	if (v->validator != s->node[idx].key || v->height != s->node[idx].height ||
	    (v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT)) {
		sim_fail(s, SIM_V_OTHER, "node %zu: vote type %u by %u at height %llu", idx,
		         v->type, v->validator, (unsigned long long)v->height);
		return;
	}
	uint8_t sb[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(sb, s->chain_id, v->type, v->height, v->round, v->block_hash);
	if (!sim_sign(s, idx, v->type, v->height, v->round, sb, sizeof(sb), v->sig))
		return;
	s->st.max_round = v->round > s->st.max_round ? v->round : s->st.max_round;
	sim_broadcast(s, idx, &in);
	sim_fifo_push(s, &s->node[idx], &in);
}

static inline void sim_output(struct sim *s, size_t idx, const struct cons_output *o)
{
	struct sim_node *nd = &s->node[idx];
	struct sim_input in = {.kind = SIM_IN_VALUE, .height = o->height, .round = o->round};
	struct sim_event ev = {.height = o->height, .round = o->round};
	if (nd->key == SIM_NO_KEY && o->kind != CONS_OUT_SCHEDULE_TIMEOUT &&
	    o->kind != CONS_OUT_DECIDE && o->kind != CONS_OUT_EVIDENCE) {
		sim_fail(s, SIM_V_OTHER, "observer node %zu asked to propose or vote", idx);
		return;
	}
	switch (o->kind) {
	case CONS_OUT_GET_VALUE:
		sim_value_make(in.u.value, o->height, o->round, idx, !nd->invalid);
		s->st.invalid_values += nd->invalid;
		sim_fifo_push(s, nd, &in);
		break;
	case CONS_OUT_PROPOSE:
		sim_sign_proposal(s, idx, o);
		break;
	case CONS_OUT_VOTE:
		sim_sign_vote(s, idx, o);
		break;
	case CONS_OUT_SCHEDULE_TIMEOUT:
		ev.tkind = o->u.timeout.kind;
		sim_at(s, o->u.timeout.delay_ms, SIM_EV_TIMEOUT, idx, &ev);
		break;
	case CONS_OUT_DECIDE:
		sim_decide_machine(s, idx, o);
		break;
	case CONS_OUT_EVIDENCE:
		sim_evidence(s, idx, o);
		break;
	default:
		sim_fail(s, SIM_V_OTHER, "node %zu: unknown output kind %d", idx, (int)o->kind);
	}
}

/* ---- Crashes, replay, amnesia ------------------------------------------------------------- */

/* A digest of what a machine holds: its status and every vote of its height. A node's machine
 * rebuilt from its log must have the digest the machine that crashed had. */
static inline uint64_t sim_machine_digest(const struct cons *c)
{
	struct cons_status cs;
	struct cons_vote votes[2 * VALSET_MAX];
	cons_status(c, &cs);
	uint64_t h = sim_fnv(SIM_FNV0, &cs.height, 8);
	h = sim_fnv(h, &cs.round, 4);
	h = sim_fnv(h, &cs.step, sizeof(cs.step));
	h = sim_fnv(h, &cs.locked_round, 4);
	h = sim_fnv(h, &cs.valid_round, 4);
	h = sim_fnv(h, cs.locked_value, 32);
	h = sim_fnv(h, cs.valid_value, 32);
	h = sim_fnv(h, &cs.decided, 1);
	h = sim_fnv(h, cs.decision, 32);
	for (uint32_t r = 0; r <= cs.round + CONS_FUTURE_ROUNDS && r < CONS_MAX_ROUNDS; r++)
		for (uint8_t type = VOTE_PREVOTE; type <= VOTE_PRECOMMIT; type++) {
			size_t n = cons_votes_of(c, r, type, votes, 2 * VALSET_MAX);
			h = sim_fnv(h, &n, sizeof(n));
			for (size_t i = 0; i < n; i++)
				h = sim_vote_digest(h, &votes[i]);
		}
	return h;
}

/* Rebuilds node idx from its input log (the WAL): every logged input must be taken again with the
 * same outputs. Sends nothing (that happened before the crash); re-arms the timers of the current
 * round and, if the height was already decided, the start of the next one. */
static inline void sim_replay(struct sim *s, size_t idx)
{
	struct sim_node *nd = &s->node[idx];
	struct cons_output timer[3];
	bool armed[3] = {false, false, false};
	nd->store.n = 0;
	sim_map_clear(&nd->store.seen);
	for (size_t i = 0; i < nd->log_n && !s->failed; i++) {
		const struct sim_input *in = &nd->log[i];
		struct cons_outputs out;
		enum cons_result r = sim_apply(s, nd, in, &out);
		if (r != CONS_OK || sim_outputs_digest(&out) != in->out_digest) {
			sim_fail(s, SIM_V_REPLAY,
			         "node %zu: replay of input %zu/%zu (kind %u) gave %s "
			         "and different outputs",
			         idx, i, nd->log_n, in->kind, cons_strerror(r));
			return;
		}
		sim_store_input(nd, in);
		for (size_t j = 0; j < out.n; j++) {
			const struct cons_output *o = &out.o[j];
			if (o->kind == CONS_OUT_SCHEDULE_TIMEOUT) {
				timer[o->u.timeout.kind] = *o;
				armed[o->u.timeout.kind] = true;
			}
			if (o->kind == CONS_OUT_DECIDE &&
			    (nd->decided < o->height ||
			     memcmp(nd->cert[o->height].block_hash, o->u.block_hash, 32) != 0))
				sim_fail(s, SIM_V_REPLAY,
				         "node %zu: replay decided what it had not", idx);
		}
	}
	s->st.replayed += nd->log_n;
	if (!s->failed && sim_machine_digest(nd->c) != nd->crash_digest)
		sim_fail(
		    s, SIM_V_REPLAY,
		    "node %zu: the machine rebuilt from %zu logged inputs differs from the one "
		    "that crashed",
		    idx, nd->log_n);
	struct cons_status cs;
	cons_status(nd->c, &cs);
	for (int k = 0; k < 3; k++) {
		if (!armed[k] || timer[k].height != cs.height || timer[k].round != cs.round)
			continue;
		struct sim_event ev = {.height = cs.height, .round = cs.round, .tkind = k};
		sim_at(s, timer[k].u.timeout.delay_ms, SIM_EV_TIMEOUT, idx, &ev);
	}
	if (nd->decided >= nd->height && nd->height < s->cfg->heights) {
		struct sim_event ev = {.height = nd->height + 1};
		sim_at(s, SIM_COMMIT_DELAY_MS, SIM_EV_START, idx, &ev);
	}
}

static inline void sim_crash(struct sim *s, size_t idx)
{
	struct sim_node *nd = &s->node[idx];
	if (nd->crashed)
		return;
	sim_trace(s, idx, "crash");
	nd->crashed = true;
	nd->crash_digest = sim_machine_digest(nd->c);
	nd->next_n = 0;
	nd->incarnation++;
	cons_free(nd->c);
	nd->c = NULL;
}

/* A fresh machine at the current height that has forgotten everything but what the guard keeps,
 * and ignores the rounds before the one it was in (so it cannot learn its lock again): an amnesic
 * node, as a node without a WAL, or one that unlocks where it must not. */
static inline void sim_forget(struct sim *s, size_t idx)
{
	struct sim_node *nd = &s->node[idx];
	assert(nd->decided < nd->height);
	struct cons_status cs = {0};
	if (nd->c) {
		cons_status(nd->c, &cs);
		cons_free(nd->c);
	}
	nd->c = cons_new(&sim_timeouts);
	assert(nd->c);
	s->st.amnesia_resets++;
	sim_trace(s, idx, "amnesia: fresh machine at height %llu", (unsigned long long)nd->height);
	sim_start_height(s, idx, nd->height);
	nd->forgot_round = cs.round;
}

static inline void sim_restart(struct sim *s, size_t idx)
{
	struct sim_node *nd = &s->node[idx];
	if (!nd->crashed)
		return;
	sim_trace(s, idx, "restart, replaying %zu inputs", nd->log_n);
	nd->crashed = false;
	nd->incarnation++;
	s->st.restarts++;
	if (nd->amnesic && nd->decided < nd->height) {
		sim_forget(s, idx);
	} else {
		nd->c = cons_new(&sim_timeouts);
		assert(nd->c);
		sim_replay(s, idx);
	}
	struct sim_event ev = {0};
	sim_at(s, sim_below(&s->rng, SIM_TICK_MS), SIM_EV_TICK, idx, &ev);
}

/* The broken rule: a node that forgets its lock once a later round starts. */
static inline void sim_amnesia_check(struct sim *s, size_t idx)
{
	struct sim_node *nd = &s->node[idx];
	if (!nd->c || nd->decided >= nd->height)
		return;
	struct cons_status cs;
	cons_status(nd->c, &cs);
	if (cs.locked_round != CONS_ROUND_NONE && cs.round > (uint32_t)cs.locked_round)
		sim_forget(s, idx);
}

/* ---- Events ------------------------------------------------------------------------------- */

/* Decodes and authenticates a delivered message. False if it is to be dropped. */
static inline bool sim_open(struct sim *s, const struct sim_event *ev, struct sim_input *in)
{
	const struct sim_wire *w = &ev->w;
	enum codec_result cr = CODEC_NONCANONICAL;
	uint64_t h = 0;
	if (w->len && w->b[0] == SIM_MSG_PROPOSAL) {
		*in = (struct sim_input){.kind = SIM_IN_PROPOSAL};
		cr = cons_proposal_decode(&in->u.p, w->b + 1, w->len - 1u);
		h = in->u.p.height;
	} else if (w->len && w->b[0] == SIM_MSG_VOTE) {
		*in = (struct sim_input){.kind = SIM_IN_VOTE};
		cr = cons_vote_decode(&in->u.v, w->b + 1, w->len - 1u);
		h = in->u.v.height;
	}
	bool known = cr == CODEC_OK && h >= 1 && h <= s->cfg->heights;
	uint8_t d[32];
	hash_plain(d, w->b, w->len);
	bool ok = known && sim_map_get(&sim_verified_cache, d);
	if (known && !ok) {
		s->st.verifies++;
		ok = in->kind == SIM_IN_PROPOSAL
		         ? cons_proposal_verify(&s->cv[h].set, s->chain_id, &in->u.p)
		         : cons_vote_verify(&s->cv[h].set, s->chain_id, &in->u.v);
		bool fresh;
		sim_cache_bound(&sim_verified_cache);
		if (ok)
			sim_map_put(&sim_verified_cache, d, &fresh);
	}
	if (ev->corrupted) {
		if (ok)
			sim_fail(s, SIM_V_OTHER, "a message with a flipped bit was accepted");
		s->st.rejected_corrupt += !ok;
		return false;
	}
	if (!ok) {
		sim_fail(s, SIM_V_OTHER, "a message signed by node %u was refused: %s", ev->src,
		         cr != CODEC_OK ? codec_strerror(cr) : "bad signature");
		return false;
	}
	struct sim_wire again;
	sim_wire_of(&again, in);
	if (again.len != w->len || memcmp(again.b, w->b, w->len) != 0)
		sim_fail(s, SIM_V_OTHER, "decode then encode changed a message");
	if (in->kind == SIM_IN_PROPOSAL)
		in->valid = sim_value_valid(in->u.p.block_hash, h);
	return true;
}

static inline void sim_deliver(struct sim *s, const struct sim_event *ev)
{
	struct sim_input in;
	if (!sim_open(s, ev, &in))
		return;
	const struct sim_node *nd = &s->node[ev->node];
	uint32_t round = in.kind == SIM_IN_PROPOSAL ? in.u.p.round : in.u.v.round;
	if (sim_input_height(&in) == nd->height && round < nd->forgot_round)
		return;
	sim_feed(s, ev->node, &in, ev->w.digest);
}

/* Block sync: a peer above us sent the commit of our height; apply it if it verifies. */
static inline void sim_deliver_sync(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *nd = &s->node[ev->node];
	uint64_t h = ev->height;
	if (nd->height != h || nd->decided >= h)
		return;
	const struct commit *cm = &s->node[ev->src].cert[h];
	enum block_result br = sim_commit_verify(&s->cv[h].set, s->chain_id, h, cm->block_hash, cm);
	if (br != BLOCK_OK) {
		sim_fail(s, SIM_V_OTHER,
		         "node %u sent a commit of height %llu that fails "
		         "commit_verify: %s",
		         ev->src, (unsigned long long)h, block_strerror(br));
		return;
	}
	if (sim_value_valid(cm->block_hash, h) || nd->faulty)
		sim_decide(s, ev->node, h, cm, true);
}

/* Gossip: send a peer that has not decided its height our commit of it if we have one (block
 * sync), else, if it is at our height, what it has not seen. Crashed or cut-off peers have no
 * connection. */
static inline void sim_gossip(struct sim *s, size_t i)
{
	const struct sim_node *nd = &s->node[i];
	for (size_t j = 0; j < s->n_nodes; j++) {
		const struct sim_node *p = &s->node[j];
		if (j == i || p->crashed || !sim_link_up(s, i, j))
			continue;
		if (p->decided < p->height && nd->decided >= p->height)
			sim_send_sync(s, i, j, p->height);
		else if (p->height == nd->height)
			for (size_t k = 0; k < nd->store.n; k++)
				if (!sim_map_get(&p->store.seen, nd->store.m[k].digest))
					sim_send_wire(s, i, j, &nd->store.m[k]);
	}
	struct sim_event ev = {0};
	sim_at(s, SIM_TICK_MS / 2 + sim_below(&s->rng, SIM_TICK_MS), SIM_EV_TICK, i, &ev);
	if (nd->amnesic && nd->decided < nd->height &&
	    sim_chance(&s->rng, s->cfg->amnesia_crash_permille))
		sim_forget(s, i);
}

static inline void sim_event(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *nd = &s->node[ev->node];
	s->trace_digest = sim_fnv(s->trace_digest, &ev->time, 8);
	s->trace_digest = sim_fnv(s->trace_digest, &ev->kind, 1);
	s->trace_digest = sim_fnv(s->trace_digest, &ev->node, 1);
	s->trace_digest = sim_fnv(s->trace_digest, &s->st.decisions, 8);
	if (ev->kind == SIM_EV_CRASH) {
		sim_crash(s, ev->node);
		return;
	}
	if (ev->kind == SIM_EV_RESTART) {
		sim_restart(s, ev->node);
		return;
	}
	if (nd->crashed || (ev->kind != SIM_EV_DELIVER && ev->kind != SIM_EV_SYNC &&
	                    ev->incarnation != nd->incarnation))
		return;
	if ((ev->kind == SIM_EV_DELIVER || ev->kind == SIM_EV_SYNC) &&
	    !sim_link_up(s, ev->src, ev->node)) {
		s->st.lost++;
		return;
	}
	struct sim_input in = {
	    .kind = SIM_IN_TIMEOUT, .tkind = ev->tkind, .height = ev->height, .round = ev->round};
	switch (ev->kind) {
	case SIM_EV_DELIVER:
		s->st.delivered++;
		sim_deliver(s, ev);
		break;
	case SIM_EV_SYNC:
		s->st.delivered++;
		sim_deliver_sync(s, ev);
		break;
	case SIM_EV_TIMEOUT:
		sim_input(s, ev->node, &in);
		break;
	case SIM_EV_START:
		if (nd->height < ev->height)
			sim_start_height(s, ev->node, ev->height);
		break;
	default:
		sim_gossip(s, ev->node);
		break;
	}
}

/* ---- Set-up and the run ------------------------------------------------------------------- */

static inline void sim_keys(struct sim *s)
{
	static uint8_t pk[SIM_MAX_KEYS][32], sk[SIM_MAX_KEYS][64];
	static bool ready;
	for (size_t k = 0; k < SIM_MAX_KEYS && !ready; k++) {
		uint8_t seed[32], idx = (uint8_t)k;
		hash_tagged(seed, "tenebra/sim/key", &idx, 1);
		sig_keypair_from_seed(pk[k], sk[k], seed);
	}
	ready = true;
	memcpy(s->pk, pk, sizeof(pk));
	memcpy(s->sk, sk, sizeof(sk));
	hash_tagged(s->chain_id, "tenebra/sim/chain", "", 0);
	struct valset vs = {.n = s->cfg->n_keys};
	for (size_t k = 0; k < vs.n; k++) {
		memcpy(vs.v[k].pub_key, s->pk[k], 32);
		vs.v[k].power = s->cfg->power[k] ? s->cfg->power[k] : 1;
	}
	assert(valset_check(&vs) == BLOCK_OK);
	cons_valset_init(&s->cv[1], &vs);
	for (uint64_t h = 1; h <= s->cfg->heights; h++)
		cons_valset_next(&s->cv[h + 1], &s->cv[h], &vs);
}

static inline struct sim *sim_new(const struct sim_config *cfg, uint64_t seed)
{
	assert(cfg->n_keys >= 1 && cfg->n_keys <= SIM_MAX_KEYS);
	assert(cfg->heights >= 1 && cfg->heights <= SIM_MAX_HEIGHTS);
	assert(sim_node_count(cfg) <= SIM_MAX_NODES);
	struct sim *s = sim_xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	s->trace_digest = SIM_FNV0;
	const char *t = getenv("TENEBRA_SIM_TRACE");
	s->trace = t && *t && *t != '0';
	sim_schedule_make(&s->sched, cfg, seed);
	sim_keys(s);
	s->n_nodes = sim_node_count(cfg);
	uint32_t faulty = (cfg->twins_honest ? 0 : s->sched.twin_mask) | s->sched.invalid_mask |
	                  s->sched.amnesia_mask;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct sim_node *nd = &s->node[i];
		nd->key = sim_node_key(cfg, s->sched.twin_mask, i);
		bool has_key = nd->key != SIM_NO_KEY;
		nd->faulty = has_key && (faulty >> nd->key) & 1;
		nd->amnesic = has_key && (s->sched.amnesia_mask >> nd->key) & 1;
		nd->invalid = has_key && (s->sched.invalid_mask >> nd->key) & 1;
		nd->c = cons_new(&sim_timeouts);
		assert(nd->c);
		nd->cert = sim_xcalloc(cfg->heights + 1, sizeof(*nd->cert));
		struct sim_event ev = {.height = 1};
		sim_at(s, 0, SIM_EV_START, i, &ev);
		struct sim_event tick = {0};
		sim_at(s, sim_below(&s->rng, SIM_TICK_MS), SIM_EV_TICK, i, &tick);
	}
	for (size_t i = 0; i < s->sched.n_crashes; i++) {
		const struct sim_crash *c = &s->sched.crash[i];
		struct sim_event ev = {0};
		s->now = c->start;
		sim_at(s, 0, SIM_EV_CRASH, c->node, &ev);
		s->now = c->end;
		sim_at(s, 0, SIM_EV_RESTART, c->node, &ev);
	}
	s->now = 0;
	return s;
}

static inline void sim_free(struct sim *s)
{
	for (size_t i = 0; i < s->n_nodes; i++) {
		cons_free(s->node[i].c);
		free(s->node[i].log);
		free(s->node[i].store.m);
		free(s->node[i].store.seen.e);
		free(s->node[i].next);
		free(s->node[i].cert);
	}
	free(s->signed_.e);
	free(s->heap);
	free(s);
}

static inline bool sim_honest(const struct sim *s, size_t i)
{
	return !s->node[i].faulty;
}

static inline bool sim_all_done(const struct sim *s)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (sim_honest(s, i) && s->node[i].decided < s->cfg->heights)
			return false;
	return true;
}

static inline void sim_liveness_failure(struct sim *s)
{
	char buf[400] = "";
	size_t off = 0;
	for (size_t i = 0; i < s->n_nodes && off < sizeof(buf); i++) {
		struct cons_status cs = {0};
		if (s->node[i].c)
			cons_status(s->node[i].c, &cs);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		                        " n%zu@%llu/r%u/L%d:n%u/V%d:n%u%s", i,
		                        (unsigned long long)s->node[i].decided, cs.round,
		                        cs.locked_round, cs.locked_value[8], cs.valid_round,
		                        cs.valid_value[8], s->node[i].crashed ? "(down)" : "");
	}
	sim_fail(s, SIM_V_LIVENESS,
	         "liveness: not every honest node decided height %llu by GST + "
	         "%u ms (decided/round/locked round:by/valid round:by:%s)",
	         (unsigned long long)s->cfg->heights, SIM_LIVE_BOUND_MS, buf);
}

static inline void sim_stats_add(struct sim_stats *t, const struct sim_stats *r)
{
	/* every field is a uint64_t counter, summed, except the two maxima */
	_Static_assert(sizeof(*t) % sizeof(uint64_t) == 0, "sim_stats holds uint64_t only");
	uint64_t max_round = r->max_round > t->max_round ? r->max_round : t->max_round;
	uint64_t max_after =
	    r->max_after_gst_ms > t->max_after_gst_ms ? r->max_after_gst_ms : t->max_after_gst_ms;
	uint64_t *a = (uint64_t *)t;
	const uint64_t *b = (const uint64_t *)r;
	for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
		a[i] += b[i];
	t->max_round = max_round;
	t->max_after_gst_ms = max_after;
}

/* Runs s to the end: every honest node at the target height, a violation, or the deadline
 * (GST + SIM_LIVE_BOUND_MS; a liveness violation if cfg->liveness). */
static inline enum sim_violation sim_loop(struct sim *s)
{
	uint64_t deadline = s->sched.gst + SIM_LIVE_BOUND_MS;
	while (!s->failed && !sim_all_done(s)) {
		struct sim_event ev;
		sim_pop(s, &ev);
		if (ev.time > deadline) {
			if (s->cfg->liveness)
				sim_liveness_failure(s);
			break;
		}
		s->now = ev.time;
		if (++s->st.events > SIM_STEPS_MAX)
			sim_fail(s, SIM_V_OTHER, "step cap %u reached", SIM_STEPS_MAX);
		sim_event(s, &ev);
	}
	s->st.runs = 1;
	s->st.vtime_ms = s->now;
	for (size_t i = 0; i < s->n_nodes; i++)
		if (sim_honest(s, i) && s->node[i].done_at > s->sched.gst &&
		    s->node[i].done_at - s->sched.gst > s->st.max_after_gst_ms)
			s->st.max_after_gst_ms = s->node[i].done_at - s->sched.gst;
	return s->failed;
}

/* Prints what failed in s and its schedule. */
static inline void sim_report(FILE *f, const struct sim *s)
{
	fprintf(f, "sim: seed %llu: %s (virtual time %llu ms)\n", (unsigned long long)s->sched.seed,
	        s->why, (unsigned long long)s->now);
	sim_schedule_print(f, &s->sched, s->n_nodes);
}

/* Runs one seed. Returns SIM_OK or the first violation; on a violation, if report is not NULL,
 * prints it there. Adds the run's numbers to *total; *digest (if not NULL) gets a digest of the
 * whole run, equal for equal seeds. */
static inline enum sim_violation sim_run(const struct sim_config *cfg, uint64_t seed,
                                         struct sim_stats *total, uint64_t *digest, FILE *report)
{
	struct sim *s = sim_new(cfg, seed);
	enum sim_violation v = sim_loop(s);
	sim_stats_add(total, &s->st);
	if (digest)
		*digest = s->trace_digest; /* not the stats: verifies depend on the caches */
	if (v && report)
		sim_report(report, s);
	sim_free(s);
	return v;
}

/* Seeds: TENEBRA_TEST_SEED (default 1) is the first, TENEBRA_SIM_SEEDS (default dflt) the count. */
static inline uint64_t sim_seed_base(void)
{
	const char *e = getenv("TENEBRA_TEST_SEED");
	return e && *e ? strtoull(e, NULL, 0) : 1;
}

static inline uint64_t sim_seed_count(uint64_t dflt)
{
	const char *e = getenv("TENEBRA_SIM_SEEDS");
	return e && *e ? strtoull(e, NULL, 0) : dflt;
}

static inline void sim_stats_print(FILE *f, const char *name, const struct sim_stats *t,
                                   double secs)
{
	fprintf(
	    f,
	    "sim %s: %llu seeds, %llu decisions, %llu events, %llu messages sent (%llu "
	    "delivered, %llu lost), %llu signatures, %llu verifies, %llu restarts (%llu inputs "
	    "replayed), %llu syncs, %llu evidence, %llu byzantine double-signs, %llu corrupt "
	    "rejected, %llu amnesia resets, %llu guard refusals, %llu invalid values, max round "
	    "%llu, max time to target after GST %llu "
	    "ms, %.0f virtual s, %.2f s\n",
	    name, (unsigned long long)t->runs, (unsigned long long)t->decisions,
	    (unsigned long long)t->events, (unsigned long long)t->sent,
	    (unsigned long long)t->delivered, (unsigned long long)t->lost,
	    (unsigned long long)t->signatures, (unsigned long long)t->verifies,
	    (unsigned long long)t->restarts, (unsigned long long)t->replayed,
	    (unsigned long long)t->syncs, (unsigned long long)t->evidence,
	    (unsigned long long)t->byz_double_signs, (unsigned long long)t->rejected_corrupt,
	    (unsigned long long)t->amnesia_resets, (unsigned long long)t->guard_refusals,
	    (unsigned long long)t->invalid_values, (unsigned long long)t->max_round,
	    (unsigned long long)t->max_after_gst_ms, (double)t->vtime_ms / 1000.0, secs);
}

#endif
