/*
 * The backlog (docs/protocol/worker.md "Late joiners"): the verified inputs of contracts this
 * enclave saw deployed, whose code it carries, but whose keys it does not hold (yet): contracts
 * of other clusters, or of its own before the cluster key arrived. When the keys come, the
 * contract host replays them in chain order with the height and time of their blocks, so the
 * instance reaches exactly the state (and contract_random output, and egress sequences) of the
 * cluster's other workers.
 *
 * Entries are kept in chain order: deploys, inputs (commands and contract messages, as the
 * verified message encoding: ciphertexts stay ciphertexts) and, while a waiting contract has a
 * block hook, one tick per block. Everything is bounded by config.max_backlog_msgs / _bytes.
 * When an entry does not fit, the oldest waiting contract (its history is the longest) is
 * marked lost and its entries dropped, until it fits: a lost contract can never be rebuilt here,
 * and the enclave says so (ENCLAVE_QUERY_UNAVAILABLE, status.n_unavailable) instead of serving
 * a state that misses inputs.
 *
 * Contract records are never more than SYS_MAX_CONTRACTS (the public view's cap: a contract
 * beyond it gets no keys anywhere). Records of lost contracts stay (id, cluster, code) so that
 * queries can answer why; records of contracts that were replayed are dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "chain/contracts.h"
#include "enclave/enclave_sys_int.h"

#define SECTION 0x4c /* 'L': the backlog's part of a checkpoint */

struct bl_contract {
	uint8_t id[32];
	uint32_t cluster;
	const struct contract_code *code;
	bool lost;
	bool replaying; /* selected by the replay under way */
	bool done;      /* replayed: dropped at the next compaction */
	uint64_t acked; /* 1 + the highest of its egress sequences seen taken on chain */
};

struct bl_entry {
	uint8_t kind;
	uint64_t height, time_ms;
	uint32_t rec; /* deploy, input: index of its contract record */
	uint8_t *msg; /* input: the message encoding (owned) */
	size_t len;
};

struct enclave_backlog {
	size_t max_msgs, max_bytes;
	size_t n_recs, cap_recs;
	struct bl_contract *recs; /* in deploy order */
	uint32_t *moved;          /* cap_recs slots: a record's new index during compaction */
	size_t n, cap;
	struct bl_entry *v; /* chain order */
	size_t bytes;       /* sum of entry_cost */
	size_t n_ticking;   /* waiting records whose code has a block hook */
};

static size_t entry_cost(const struct bl_entry *x)
{
	return ENCLAVE_BACKLOG_ENTRY_COST + x->len;
}

static bool waiting(const struct bl_contract *c)
{
	return !c->lost && !c->done;
}

bool enclave_backlog_new(struct enclave *e)
{
	struct enclave_backlog *b = calloc(1, sizeof(*b));
	e->backlog = b;
	if (!b)
		return false;
	b->max_msgs =
	    e->cfg.max_backlog_msgs ? e->cfg.max_backlog_msgs : ENCLAVE_BACKLOG_MSGS_DEFAULT;
	b->max_bytes =
	    e->cfg.max_backlog_bytes ? e->cfg.max_backlog_bytes : ENCLAVE_BACKLOG_BYTES_DEFAULT;
	return true;
}

static void bl_clear_entries(struct enclave_backlog *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].msg);
	b->n = 0;
	b->bytes = 0;
}

void enclave_backlog_free(struct enclave *e)
{
	struct enclave_backlog *b = e->backlog;
	if (!b)
		return;
	bl_clear_entries(b);
	free(b->v);
	free(b->recs);
	free(b->moved);
	free(b);
	e->backlog = NULL;
}

static struct bl_contract *bl_find(const struct enclave_backlog *b, const uint8_t id[32])
{
	for (size_t i = 0; i < b->n_recs; i++)
		if (memcmp(b->recs[i].id, id, 32) == 0)
			return &b->recs[i];
	return NULL;
}

/* Drops the entries nobody needs any more (those of contracts that are not waiting, ticks before
 * the first deploy of a waiting contract with a block hook) and the done records, then renumbers
 * the entries' records. Recounts bytes and n_ticking. Allocates nothing. */
static void bl_compact(struct enclave_backlog *b)
{
	size_t kept = 0;
	bool ticks = false;
	b->bytes = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct bl_entry x = b->v[i];
		bool keep = ticks;
		if (x.kind != BACKLOG_TICK) {
			const struct bl_contract *c = &b->recs[x.rec];
			keep = waiting(c);
			ticks |= keep && x.kind == BACKLOG_DEPLOY && c->code->on_block;
		}
		if (!keep) {
			free(x.msg);
			continue;
		}
		b->v[kept++] = x;
		b->bytes += entry_cost(&x);
	}
	b->n = kept;
	size_t w = 0;
	b->n_ticking = 0;
	for (size_t i = 0; i < b->n_recs; i++) {
		b->moved[i] = (uint32_t)w;
		if (b->recs[i].done)
			continue;
		b->n_ticking += waiting(&b->recs[i]) && b->recs[i].code->on_block;
		b->recs[w++] = b->recs[i];
	}
	b->n_recs = w;
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].kind != BACKLOG_TICK)
			b->v[i].rec = b->moved[b->v[i].rec];
}

static void log_id(char out[17], const uint8_t id[32])
{
	hex_encode(out, id, 8);
}

static void bl_lose(struct enclave *e, struct bl_contract *c, const char *why)
{
	char hid[17];
	log_id(hid, c->id);
	c->lost = true;
	enclave_log(e, LOG_ERROR,
	            "backlog: contract %s (cluster %u) cannot be rebuilt on this worker: %s", hid,
	            c->cluster, why);
}

static struct bl_contract *bl_oldest_waiting(struct enclave_backlog *b)
{
	for (size_t i = 0; i < b->n_recs; i++)
		if (waiting(&b->recs[i]))
			return &b->recs[i];
	return NULL;
}

static bool bl_fits(const struct enclave_backlog *b, size_t cost)
{
	return b->n < b->max_msgs && b->bytes + cost <= b->max_bytes;
}

/* Appends x (taking its msg), losing the oldest waiting contracts until it fits; x itself is
 * dropped when its own contract is lost on the way, or no waiting contract needs a tick. (No
 * record is done outside a replay, so compacting here renumbers nothing and x->rec stays.) */
static enum enclave_result bl_append(struct enclave *e, struct bl_entry *x)
{
	struct enclave_backlog *b = e->backlog;
	struct bl_contract *c;
	while (!bl_fits(b, entry_cost(x)) && (c = bl_oldest_waiting(b))) {
		bl_lose(e, c, "the backlog is full (raise max_backlog_msgs / max_backlog_bytes)");
		bl_compact(b);
	}
	bool needed = x->kind == BACKLOG_TICK ? b->n_ticking > 0 : waiting(&b->recs[x->rec]);
	if (!needed || !bl_fits(b, entry_cost(x))) {
		free(x->msg);
		return ENCLAVE_OK;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		cap = cap < b->max_msgs ? cap : b->max_msgs;
		struct bl_entry *v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			free(x->msg);
			return ENCLAVE_NOMEM;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = *x;
	b->bytes += entry_cost(x);
	return ENCLAVE_OK;
}

/* A new record (ENCLAVE_TOO_LARGE past SYS_MAX_CONTRACTS). */
static enum enclave_result bl_add_record(struct enclave_backlog *b, struct bl_contract **out)
{
	if (b->n_recs == SYS_MAX_CONTRACTS)
		return ENCLAVE_TOO_LARGE;
	if (b->n_recs == b->cap_recs) {
		size_t cap = b->cap_recs ? 2 * b->cap_recs : 16;
		cap = cap < SYS_MAX_CONTRACTS ? cap : SYS_MAX_CONTRACTS;
		struct bl_contract *r = realloc(b->recs, cap * sizeof(*r));
		if (r)
			b->recs = r;
		uint32_t *m = r ? realloc(b->moved, cap * sizeof(*m)) : NULL;
		if (!m)
			return ENCLAVE_NOMEM;
		b->moved = m;
		b->cap_recs = cap;
	}
	*out = &b->recs[b->n_recs++];
	memset(*out, 0, sizeof(**out));
	return ENCLAVE_OK;
}

enum enclave_result enclave_backlog_deploy(struct enclave *e, const struct backlog_deploy *dp,
                                           bool lost)
{
	struct enclave_backlog *b = e->backlog;
	struct bl_contract *c;
	if (bl_find(b, dp->id))
		return ENCLAVE_OK;
	enum enclave_result r = bl_add_record(b, &c);
	if (r == ENCLAVE_TOO_LARGE) {
		enclave_log(e, LOG_ERROR, "backlog: %d contracts tracked; a deploy is ignored",
		            SYS_MAX_CONTRACTS);
		return ENCLAVE_OK;
	}
	if (r != ENCLAVE_OK)
		return r;
	memcpy(c->id, dp->id, 32);
	c->cluster = dp->cluster;
	c->code = dp->code;
	if (lost) {
		bl_lose(e, c, "max_contracts instances are hosted");
		return ENCLAVE_OK;
	}
	b->n_ticking += dp->code->on_block != NULL;
	struct bl_entry x = {BACKLOG_DEPLOY,
	                     e->lc.height,
	                     e->lc.time_ms,
	                     (uint32_t)(c - b->recs),
	                     malloc(32 + dp->args_len),
	                     32 + dp->args_len};
	if (!x.msg)
		return ENCLAVE_NOMEM;
	memcpy(x.msg, dp->deployer, 32);
	if (dp->args_len)
		memcpy(x.msg + 32, dp->args, dp->args_len);
	return bl_append(e, &x);
}

enum enclave_result enclave_backlog_input(struct enclave *e, const uint8_t id[32],
                                          const struct mq_message *m)
{
	struct enclave_backlog *b = e->backlog;
	const struct bl_contract *c = bl_find(b, id);
	if (!c || c->lost)
		return ENCLAVE_OK;
	struct enc w;
	enc_init(&w, MQ_MESSAGE_MAX);
	mq_message_encode(&w, m);
	if (enc_finish(&w) != CODEC_OK) {
		enc_release(&w);
		return ENCLAVE_NOMEM; /* a verified message always fits MQ_MESSAGE_MAX */
	}
	struct bl_entry x = {BACKLOG_INPUT,           e->lc.height, e->lc.time_ms,
	                     (uint32_t)(c - b->recs), w.buf,        w.len};
	return bl_append(e, &x);
}

void enclave_backlog_observe(struct enclave *e, const struct mq_origin *o, uint64_t seq)
{
	if (o->kind != MQ_ORIGIN_CONTRACT || e->backlog->n_recs == 0)
		return;
	struct bl_contract *c = bl_find(e->backlog, o->id);
	if (c && seq < UINT64_MAX && seq + 1 > c->acked)
		c->acked = seq + 1;
}

enum enclave_result enclave_backlog_block_end(struct enclave *e)
{
	if (e->backlog->n_ticking == 0)
		return ENCLAVE_OK;
	struct bl_entry x = {BACKLOG_TICK, e->lc.height, e->lc.time_ms, 0, NULL, 0};
	return bl_append(e, &x);
}

bool enclave_backlog_unavailable(const struct enclave *e, const uint8_t id[32])
{
	const struct bl_contract *c = bl_find(e->backlog, id);
	return c && c->lost && c->cluster == e->sys->my_cluster;
}

bool enclave_backlog_waiting(const struct enclave *e, uint32_t cluster)
{
	const struct enclave_backlog *b = e->backlog;
	for (size_t i = 0; i < b->n_recs; i++)
		if (waiting(&b->recs[i]) && b->recs[i].cluster == cluster)
			return true;
	return false;
}

void enclave_backlog_status(const struct enclave *e, struct enclave_status *out)
{
	const struct enclave_backlog *b = e->backlog;
	out->n_unavailable = 0;
	for (size_t i = 0; i < b->n_recs; i++)
		out->n_unavailable += b->recs[i].lost && b->recs[i].cluster == e->sys->my_cluster;
	out->backlog_msgs = b->n;
	out->backlog_bytes = b->bytes;
}

/* Hands entry x to fn if it belongs to the replay. */
static enum enclave_result bl_replay_one(struct enclave *e, const struct bl_entry *x,
                                         backlog_replay_fn fn, void *arg)
{
	struct enclave_backlog *b = e->backlog;
	struct backlog_item it = {.kind = x->kind, .height = x->height, .time_ms = x->time_ms};
	struct bl_contract *c = x->kind == BACKLOG_TICK ? NULL : &b->recs[x->rec];
	if (c && (!c->replaying || c->lost))
		return ENCLAVE_OK;
	if (c) {
		it.id = c->id;
		it.cluster = c->cluster;
		it.code = c->code;
		it.acked = c->acked;
		it.msg = x->msg;
		it.len = x->len;
	}
	enum enclave_result r = fn(e, &it, arg);
	if (r == ENCLAVE_TOO_LARGE && x->kind == BACKLOG_DEPLOY) {
		bl_lose(e, c, "max_contracts instances are hosted");
		r = ENCLAVE_OK;
	}
	return r;
}

enum enclave_result enclave_backlog_replay(struct enclave *e, backlog_ready_fn ready,
                                           backlog_replay_fn fn, void *arg)
{
	struct enclave_backlog *b = e->backlog;
	size_t picked = 0;
	for (size_t i = 0; i < b->n_recs; i++) {
		struct bl_contract *c = &b->recs[i];
		c->replaying = waiting(c) && ready(e, c->id, c->cluster);
		picked += c->replaying;
	}
	if (picked == 0)
		return ENCLAVE_OK;
	enclave_log(e, LOG_INFO, "backlog: keys arrived for %zu contracts; replaying their inputs",
	            picked);
	enum enclave_result r = ENCLAVE_OK;
	for (size_t i = 0; i < b->n && r == ENCLAVE_OK; i++)
		r = bl_replay_one(e, &b->v[i], fn, arg);
	for (size_t i = 0; i < b->n_recs; i++) {
		struct bl_contract *c = &b->recs[i];
		c->done = c->replaying && !c->lost;
		c->replaying = false;
	}
	bl_compact(b);
	return r;
}

/* ---- checkpoint section ------------------------------------------------------------------- */

void enclave_backlog_encode(const struct enclave *e, struct enc *p)
{
	const struct enclave_backlog *b = e->backlog;
	enc_u8(p, SECTION);
	enc_uleb(p, b->n_recs);
	for (size_t i = 0; i < b->n_recs; i++) {
		const struct bl_contract *c = &b->recs[i];
		enc_raw(p, c->id, 32);
		enc_u32(p, c->cluster);
		enc_bytes(p, c->code->name, strlen(c->code->name));
		enc_bool(p, c->lost);
		enc_u64(p, c->acked);
	}
	enc_uleb(p, b->n);
	for (size_t i = 0; i < b->n; i++) {
		const struct bl_entry *x = &b->v[i];
		enc_u8(p, x->kind);
		enc_u64(p, x->height);
		enc_u64(p, x->time_ms);
		if (x->kind != BACKLOG_TICK)
			enc_uleb(p, x->rec);
		if (x->kind != BACKLOG_TICK)
			enc_bytes(p, x->msg, x->len);
	}
}

static void decode_record(struct enclave *e, struct dec *d)
{
	struct bl_contract *c;
	uint8_t id[32];
	size_t n = 0;
	dec_raw(d, id, 32);
	uint32_t cluster = dec_u32(d);
	const uint8_t *name = dec_bytes(d, &n, CONTRACTS_CODE_MAX);
	const struct contract_code *code = name ? enclave_code_by_name(e, name, n) : NULL;
	bool lost = dec_bool(d);
	uint64_t acked = dec_u64(d);
	if (d->err != CODEC_OK)
		return;
	if (!code || bl_find(e->backlog, id) || bl_add_record(e->backlog, &c) != ENCLAVE_OK) {
		dec_fail(d, CODEC_NONCANONICAL);
		return;
	}
	memcpy(c->id, id, 32);
	c->cluster = cluster;
	c->code = code;
	c->lost = lost;
	c->acked = acked;
}

static void decode_entry(struct enclave *e, struct dec *d)
{
	struct enclave_backlog *b = e->backlog;
	struct bl_entry x = {.kind = dec_u8(d)};
	x.height = dec_u64(d);
	x.time_ms = dec_u64(d);
	if (x.kind > BACKLOG_TICK)
		dec_fail(d, CODEC_NONCANONICAL);
	if (x.kind != BACKLOG_TICK && b->n_recs == 0)
		dec_fail(d, CODEC_NONCANONICAL);
	if (x.kind != BACKLOG_TICK && d->err == CODEC_OK) {
		x.rec = (uint32_t)dec_uleb(d, b->n_recs - 1);
		if (d->err == CODEC_OK && !waiting(&b->recs[x.rec]))
			dec_fail(d, CODEC_NONCANONICAL);
	}
	struct mq_message m;
	size_t max = x.kind == BACKLOG_INPUT ? MQ_MESSAGE_MAX : 32 + CONTRACT_ARGS_MAX;
	const uint8_t *msg = x.kind != BACKLOG_TICK ? dec_bytes(d, &x.len, max) : NULL;
	if (msg && x.kind == BACKLOG_INPUT && mq_message_decode(&m, msg, x.len) != CODEC_OK)
		dec_fail(d, CODEC_NONCANONICAL);
	if (msg && x.kind == BACKLOG_DEPLOY && x.len < 32)
		dec_fail(d, CODEC_NONCANONICAL);
	if (d->err != CODEC_OK)
		return;
	if (msg && !(x.msg = malloc(x.len))) {
		dec_fail(d, CODEC_NOMEM);
		return;
	}
	if (msg)
		memcpy(x.msg, msg, x.len);
	b->v[b->n++] = x;
	b->bytes += entry_cost(&x);
}

void enclave_backlog_decode(struct enclave *e, struct dec *d)
{
	struct enclave_backlog *b = e->backlog;
	if (dec_u8(d) != SECTION)
		dec_fail(d, CODEC_NONCANONICAL);
	uint64_t n = dec_uleb(d, SYS_MAX_CONTRACTS);
	for (uint64_t i = 0; i < n && d->err == CODEC_OK; i++)
		decode_record(e, d);
	/* Not bounded by the caps, which the host may have lowered since: the excess is lost
	 * below, as if it had overflowed now. An entry takes at least 17 bytes. */
	n = dec_uleb(d, dec_remaining(d) / 17);
	if (d->err == CODEC_OK && n > 0 && !(b->v = calloc(n, sizeof(*b->v))))
		dec_fail(d, CODEC_NOMEM);
	b->cap = d->err == CODEC_OK ? n : 0;
	for (uint64_t i = 0; i < n && d->err == CODEC_OK; i++)
		decode_entry(e, d);
	if (d->err != CODEC_OK)
		return;
	bl_compact(b);
	struct bl_contract *c;
	while ((b->n > b->max_msgs || b->bytes > b->max_bytes) && (c = bl_oldest_waiting(b))) {
		bl_lose(e, c, "the backlog is over its (lowered) caps");
		bl_compact(b);
	}
}
