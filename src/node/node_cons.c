/* The consensus engine thread: feeds the machine (consensus/cons.h) and carries out its outputs.
 * Every input is written to the WAL before the machine sees it; own messages are signed through
 * the signer guard and synced to the WAL before they leave (node_cons_io.c). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/node_int.h"

void node_engine_fail(struct node *n, const char *why)
{
	log_error("consensus", "stopping: %s", why);
	atomic_store(&n->failed, true);
	node_request_stop(n);
}

static bool failed(struct node *n)
{
	return atomic_load(&n->failed);
}

/* ---- timers: a binary min-heap on (due, seq) ---------------------------------------------- */

static bool timer_before(const struct node_timer *a, const struct node_timer *b)
{
	return a->due_us != b->due_us ? a->due_us < b->due_us : a->seq < b->seq;
}

static void timer_swap(struct node_timer *a, struct node_timer *b)
{
	struct node_timer t = *a;
	*a = *b;
	*b = t;
}

void node_timer_add(struct node_engine *e, enum node_timer_kind kind, uint8_t sub, uint64_t height,
                    uint32_t round, uint64_t delay_ms)
{
	if (e->n_timers == NODE_TIMERS_MAX) {
		log_warn("consensus", "timer heap full: a timeout is lost");
		return;
	}
	size_t i = e->n_timers++;
	e->timers[i] = (struct node_timer){
	    node_mono_us() + delay_ms * 1000, e->timer_seq++, kind, sub, height, round};
	while (i > 0 && timer_before(&e->timers[i], &e->timers[(i - 1) / 2])) {
		timer_swap(&e->timers[i], &e->timers[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void timer_pop(struct node_engine *e, struct node_timer *out)
{
	size_t i = 0;
	*out = e->timers[0];
	e->timers[0] = e->timers[--e->n_timers];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < e->n_timers && timer_before(&e->timers[l], &e->timers[m]))
			m = l;
		if (r < e->n_timers && timer_before(&e->timers[r], &e->timers[m]))
			m = r;
		if (m == i)
			break;
		timer_swap(&e->timers[i], &e->timers[m]);
		i = m;
	}
}

/* ---- blocks of the current height, by hash ------------------------------------------------ */

struct node_block_entry *node_block_find(struct node_engine *e, const uint8_t hash[32])
{
	for (size_t i = 0; i < NODE_BLOCK_CACHE; i++)
		if (e->blocks[i].used && memcmp(e->blocks[i].hash, hash, 32) == 0)
			return &e->blocks[i];
	return NULL;
}

bool node_block_keep(struct node_engine *e, const uint8_t hash[32], const uint8_t *bytes,
                     size_t len, bool valid)
{
	if (node_block_find(e, hash))
		return true;
	struct node_block_entry *b = &e->blocks[e->block_next++ % NODE_BLOCK_CACHE];
	free(b->bytes);
	memset(b, 0, sizeof(*b));
	b->bytes = malloc(len ? len : 1);
	if (!b->bytes)
		return false;
	memcpy(b->bytes, bytes, len);
	memcpy(b->hash, hash, 32);
	b->len = len;
	b->valid = valid;
	b->used = true;
	return true;
}

static void blocks_clear(struct node_engine *e)
{
	for (size_t i = 0; i < NODE_BLOCK_CACHE; i++) {
		free(e->blocks[i].bytes);
		memset(&e->blocks[i], 0, sizeof(e->blocks[i]));
	}
}

/* ---- the machine's outputs ---------------------------------------------------------------- */

/* Builds a block on the head as proposer of (height, round) and offers its hash. */
void node_get_value(struct node *n, uint64_t height, uint32_t round)
{
	struct node_engine *e = n->eng;
	struct cons_outputs out = {0};
	node_chain_discard(&e->pending);
	enum node_chain_result r =
	    node_chain_build(&n->chain, n->validator_pk, node_now_ms(), &e->pending);
	if (r != NODE_CHAIN_OK)
		return node_engine_fail(n, node_chain_strerror(r));
	if (!node_block_keep(e, e->pending.hash, e->pending.bytes, e->pending.len, true) ||
	    !node_wal_value(n, round, e->pending.bytes, e->pending.len))
		return node_engine_fail(n, "cannot record our block");
	cons_on_value(e->cons, height, round, e->pending.hash, &out);
	node_act(n, &out);
}

/* GET_VALUE. In a replay the VALUE record, if there is one, follows; else build afterwards. */
static void out_get_value(struct node *n, const struct cons_output *o)
{
	struct node_engine *e = n->eng;
	if (e->replaying) {
		e->value_wanted = true;
		e->value_round = o->round;
		return;
	}
	node_get_value(n, o->height, o->round);
}

static void out_timeout(struct node *n, const struct cons_output *o)
{
	node_timer_add(n->eng, NODE_TIMER_CONS, (uint8_t)o->u.timeout.kind, o->height, o->round,
	               o->u.timeout.delay_ms);
}

static void out_decide(struct node *n, const struct cons_output *o)
{
	struct node_engine *e = n->eng;
	if (e->replaying) {
		e->decide_deferred = true;
		e->decide_round = o->round;
		memcpy(e->decide_hash, o->u.block_hash, 32);
		return;
	}
	node_decide(n, o->round, o->u.block_hash);
}

static void out_propose(struct node *n, const struct cons_output *o)
{
	node_send_proposal(n, &o->u.proposal);
}

static void out_vote(struct node *n, const struct cons_output *o)
{
	node_send_vote(n, &o->u.vote);
}

static void out_evidence(struct node *n, const struct cons_output *o)
{
	node_evidence_report(n, &o->u.evidence);
}

typedef void (*out_handler)(struct node *n, const struct cons_output *o);
static const out_handler out_handlers[] = {
    [CONS_OUT_GET_VALUE] = out_get_value, [CONS_OUT_PROPOSE] = out_propose,
    [CONS_OUT_VOTE] = out_vote,           [CONS_OUT_SCHEDULE_TIMEOUT] = out_timeout,
    [CONS_OUT_DECIDE] = out_decide,       [CONS_OUT_EVIDENCE] = out_evidence,
};

void node_act(struct node *n, const struct cons_outputs *out)
{
	for (size_t i = 0; i < out->n && !failed(n); i++) {
		const struct cons_output *o = &out->o[i];
		assert((size_t)o->kind < sizeof(out_handlers) / sizeof(out_handlers[0]) &&
		       out_handlers[o->kind]);
		out_handlers[o->kind](n, o);
	}
	node_status_publish(n);
}

/* ---- heights ------------------------------------------------------------------------------ */

/* Our slot in the set that signs the next block, or -1. */
static int my_index(struct node *n)
{
	size_t i;
	if (!n->eng->signer || !valset_find(&n->chain.head.next, n->validator_pk, &i))
		return -1;
	return (int)i;
}

/* Starts the height after the head in the machine, then feeds what arrived for it early. */
void node_start_height(struct node *n)
{
	struct node_engine *e = n->eng;
	struct cons_outputs out = {0};
	e->height = n->chain.head.height + 1;
	e->height_started = true;
	e->height_start_us = node_mono_us();
	cons_start_height(e->cons, e->height, &n->chain.head.cv_next, my_index(n), &out);
	node_act(n, &out);
	size_t k = e->n_future;
	struct node_event *early[NODE_FUTURE_MSGS];
	memcpy(early, e->future, k * sizeof(*early));
	e->n_future = 0;
	for (size_t i = 0; i < k; i++)
		if (failed(n) || !node_on_cons_msg(n, early[i]))
			free(early[i]);
}

/* Clears the height's state once its block is committed (by decision or by block sync). */
void node_height_done(struct node *n)
{
	struct node_engine *e = n->eng;
	node_chain_discard(&e->pending);
	blocks_clear(e);
	node_kept_clear(e);
	e->height_started = false;
	e->value_wanted = false;
	e->decide_deferred = false;
	if (wal_start_height(e->wal, n->chain.head.height + 1) != WAL_OK)
		node_engine_fail(n, "cannot start the next height in the WAL");
}

/* The height is decided: commit its block with the precommits we hold, then wait the commit
 * delay (which sets the block time) before starting the next height. */
void node_decide(struct node *n, uint32_t round, const uint8_t hash[32])
{
	struct node_engine *e = n->eng;
	struct commit c;
	if (!cons_build_commit(e->cons, round, hash, &c))
		return node_engine_fail(n, "decided without a quorum of precommits");
	atomic_fetch_add(&n->m.rounds_extra, round);
	if (!e->pending.txn || memcmp(e->pending.hash, hash, 32) != 0) {
		struct node_block_entry *b = node_block_find(e, hash);
		if (!b) { /* evicted: block sync fetches it from a peer that committed it */
			log_warn("consensus", "decided block %llu is not at hand; waiting for sync",
			         (unsigned long long)e->height);
			return;
		}
		node_chain_discard(&e->pending);
		struct node_chain_expect exp = {NULL, 0};
		enum node_chain_result xr =
		    node_chain_execute(&n->chain, b->bytes, b->len, &exp, &e->pending);
		if (xr != NODE_CHAIN_OK)
			return node_engine_fail(n, node_chain_strerror(xr));
	}
	enum node_chain_result r = node_commit_pending(n, &e->pending, &c);
	if (r == NODE_CHAIN_BAD_COMMIT)
		return node_engine_fail(n, "our own commit does not verify");
	if (r != NODE_CHAIN_OK)
		return;
	node_height_done(n);
	uint64_t spent_ms = (node_mono_us() - e->height_start_us) / 1000;
	uint64_t delay = n->block_time_ms > spent_ms ? n->block_time_ms - spent_ms : 0;
	node_timer_add(e, NODE_TIMER_START, 0, n->chain.head.height + 1, 0, delay);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void on_timer(struct node *n, const struct node_timer *t)
{
	struct node_engine *e = n->eng;
	struct cons_outputs out = {0};
	switch (t->kind) {
	case NODE_TIMER_CONS:
		if (!e->height_started || t->height != e->height)
			return;
		if (!node_wal_timeout(n, t->sub, t->height, t->round))
			return node_engine_fail(n, "cannot write the WAL");
		cons_on_timeout(e->cons, (enum cons_timeout)t->sub, t->height, t->round, &out);
		node_act(n, &out);
		return;
	case NODE_TIMER_START:
		if (!e->height_started && t->height == n->chain.head.height + 1)
			node_start_height(n);
		return;
	case NODE_TIMER_TICK:
		node_tick(n);
		node_timer_add(e, NODE_TIMER_TICK, 0, 0, 0, NODE_TICK_MS);
		return;
	}
}

static void on_event(struct node *n, struct node_event *ev)
{
	switch (ev->kind) {
	case NODE_EV_MSG:
		if (ev->channel == NODE_CH_CONS) {
			if (node_on_cons_msg(n, ev))
				return; /* kept for the next height */
		} else {
			node_on_sync_msg(n, ev);
		}
		break;
	case NODE_EV_CONNECT:
		node_peer_connected(n, ev);
		break;
	case NODE_EV_DISCONNECT:
		node_peer_gone(n, ev->peer);
		break;
	}
	free(ev);
}

static void run_due_timers(struct node *n)
{
	struct node_engine *e = n->eng;
	uint64_t now = node_mono_us();
	while (e->n_timers && e->timers[0].due_us <= now && !failed(n)) {
		struct node_timer t;
		timer_pop(e, &t);
		on_timer(n, &t);
	}
}

void *node_engine_main(void *arg)
{
	struct node *n = arg;
	struct node_engine *e = n->eng;
	node_timer_add(e, NODE_TIMER_TICK, 0, 0, 0, NODE_TICK_MS);
	node_resume(n);
	while (!atomic_load(&n->stopping) && !failed(n)) {
		uint64_t due = e->n_timers ? e->timers[0].due_us : node_mono_us() + 1000000;
		struct node_event *ev = node_inbox_take(&n->inbox, due);
		while (ev && !failed(n)) {
			struct node_event *next = ev->next;
			on_event(n, ev);
			ev = next;
		}
		while (ev) { /* failed mid-batch: drop the rest */
			struct node_event *next = ev->next;
			free(ev);
			ev = next;
		}
		run_due_timers(n);
	}
	return NULL;
}
