/*
 * The egress queue (docs/protocol/worker.md "Egress"): signed mq messages waiting for the host to
 * submit them, oldest first, with one sequence per origin.
 *
 * A message leaves the queue only when a verified block proves the chain took its sequence:
 * the block's outbound list carries a message of the same origin with that sequence or a later
 * one (the chain enforces sequences exactly once and in order), or mq's consumed notice naming
 * that origin and sequence (a '^' message, which the chain hands to a module instead of
 * forwarding; applied or refused, its sequence is taken). The host can only withhold blocks,
 * which delays the drop and causes resubmission (refused by the chain's sequence check), never
 * loss.
 *
 * Each origin also remembers the highest sequence seen taken on chain (acked). A message pushed
 * below it is already on chain (signed by another worker of the cluster, while this one replays
 * a contract's history after it received the cluster key late): its sequence is used, but it is
 * not queued again.
 */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sig.h"
#include "enclave/enclave_sys_int.h"

struct egress_item {
	uint8_t *bytes; /* message ‖ signature, as mq.push carries it */
	size_t len;
	struct mq_message m; /* decoded from bytes (topic and payload borrow them) */
};

struct egress_seq {
	struct mq_origin origin;
	uint64_t next;
	uint64_t acked; /* sequences below it were seen taken on chain */
};

struct enclave_egress {
	size_t n;
	struct egress_item *items; /* config.max_egress slots */
	size_t n_seqs, cap_seqs;
	struct egress_seq *seqs; /* next sequence of each origin this enclave signs for */
};

#define EGRESS_EXTRA_ORIGINS 8 /* origins besides contracts: this worker, clusters */

bool enclave_egress_new(struct enclave *e)
{
	struct enclave_egress *q = calloc(1, sizeof(*q));
	if (!q)
		return false;
	q->cap_seqs = e->cfg.max_contracts + EGRESS_EXTRA_ORIGINS;
	q->items = calloc(e->cfg.max_egress ? e->cfg.max_egress : 1, sizeof(*q->items));
	q->seqs = calloc(q->cap_seqs, sizeof(*q->seqs));
	e->egress = q;
	return q->items && q->seqs;
}

void enclave_egress_free(struct enclave *e)
{
	struct enclave_egress *q = e->egress;
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->items[i].bytes);
	free(q->items);
	free(q->seqs);
	free(q);
	e->egress = NULL;
}

size_t enclave_egress_count(const struct enclave *e)
{
	return e->egress ? e->egress->n : 0;
}

/* Same origin for sequencing: the gatekeepers share one sequence whoever signs. */
static bool same_sender(const struct mq_origin *a, const struct mq_origin *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case MQ_ORIGIN_GATEKEEPER:
		return true;
	case MQ_ORIGIN_CLUSTER:
		return a->cluster == b->cluster;
	case MQ_ORIGIN_MODULE:
		return strcmp(a->module, b->module) == 0;
	default:
		return memcmp(a->id, b->id, 32) == 0;
	}
}

static bool topic_ok(const char *topic, size_t n)
{
	if (n < 1 || n > MQ_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)topic[i] < 0x21 || (uint8_t)topic[i] > 0x7e)
			return false;
	return true;
}

/* Signs and appends; the item's decoded view points into its own bytes. */
static enum enclave_result egress_append(struct enclave *e, const struct mq_message *m,
                                         const uint8_t sign_sk[64])
{
	struct enclave_egress *q = e->egress;
	struct enc w;
	enc_init(&w, MQ_MESSAGE_MAX + SIG_LEN);
	mq_sign_encode(&w, e->chain_id, m, sign_sk);
	if (enc_finish(&w) != CODEC_OK) {
		enc_release(&w);
		return ENCLAVE_NOMEM; /* within the caps checked by the caller only NOMEM is left */
	}
	struct egress_item *it = &q->items[q->n];
	it->bytes = w.buf; /* taken over from the encoder */
	it->len = w.len;
	enum codec_result cr = mq_message_decode(&it->m, it->bytes, it->len - SIG_LEN);
	assert(cr == CODEC_OK);
	q->n++;
	return ENCLAVE_OK;
}

/* The caps every push checks, queued or not. */
static enum enclave_result egress_check(const char *topic, size_t len, size_t *tn)
{
	*tn = strnlen(topic, MQ_TOPIC_MAX + 1);
	if (!topic_ok(topic, *tn))
		return ENCLAVE_BAD_INPUT;
	return len > MQ_PAYLOAD_MAX ? ENCLAVE_TOO_LARGE : ENCLAVE_OK;
}

enum enclave_result sys_egress_push_at(struct enclave *e, const struct mq_origin *o,
                                       const uint8_t sign_sk[64], const char *topic,
                                       const uint8_t *payload, size_t len, uint64_t seq)
{
	assert(o->kind != MQ_ORIGIN_MODULE && topic && (payload || len == 0));
	size_t tn;
	enum enclave_result r = egress_check(topic, len, &tn);
	if (r != ENCLAVE_OK)
		return r;
	if (e->egress->n >= e->cfg.max_egress)
		return ENCLAVE_TOO_LARGE;
	struct mq_message m = {.origin = *o,
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = tn,
	                       .payload = payload,
	                       .payload_len = len,
	                       .sequence = seq};
	return egress_append(e, &m, sign_sk);
}

static struct egress_seq *seq_find(struct enclave_egress *q, const struct mq_origin *o)
{
	for (size_t i = 0; i < q->n_seqs; i++)
		if (same_sender(&q->seqs[i].origin, o))
			return &q->seqs[i];
	return NULL;
}

static struct egress_seq *seq_slot(struct enclave_egress *q, const struct mq_origin *o)
{
	struct egress_seq *s = seq_find(q, o);
	if (s || q->n_seqs == q->cap_seqs)
		return s;
	s = &q->seqs[q->n_seqs++];
	memset(s, 0, sizeof(*s));
	s->origin = *o;
	return s;
}

enum enclave_result enclave_egress_push(struct enclave *e, const struct mq_origin *o,
                                        const uint8_t sign_sk[64], const char *topic,
                                        const uint8_t *payload, size_t len)
{
	/* Gatekeeper messages take the shared sequence the gatekeeper protocol counts. */
	assert(o->kind != MQ_ORIGIN_GATEKEEPER);
	struct egress_seq *s = seq_slot(e->egress, o);
	if (!s)
		return ENCLAVE_TOO_LARGE;
	size_t tn;
	enum enclave_result r =
	    s->next < s->acked ? egress_check(topic, len, &tn) /* on chain already */
	                       : sys_egress_push_at(e, o, sign_sk, topic, payload, len, s->next);
	if (r == ENCLAVE_OK)
		s->next++;
	return r;
}

enum enclave_result sys_egress_acked(struct enclave *e, const struct mq_origin *o, uint64_t acked)
{
	assert(o->kind != MQ_ORIGIN_GATEKEEPER && o->kind != MQ_ORIGIN_MODULE);
	struct egress_seq *s = seq_slot(e->egress, o);
	if (!s)
		return ENCLAVE_TOO_LARGE;
	if (acked > s->acked)
		s->acked = acked;
	return ENCLAVE_OK;
}

/* Drops the items drop() selects, keeping the order of the rest. */
static void egress_filter(struct enclave_egress *q,
                          bool (*drop)(const struct egress_item *, const void *), const void *arg)
{
	size_t w = 0;
	for (size_t i = 0; i < q->n; i++) {
		if (drop(&q->items[i], arg)) {
			free(q->items[i].bytes);
			continue;
		}
		q->items[w++] = q->items[i];
	}
	q->n = w;
}

bool sys_taken(const struct mq_message *m, struct mq_origin *o, uint64_t *seq)
{
	if (m->origin.kind != MQ_ORIGIN_MODULE) {
		*o = m->origin;
		*seq = m->sequence;
		return true;
	}
	struct mq_consumed c;
	if (strcmp(m->origin.module, MQ_MODULE_NAME) != 0 ||
	    m->topic_len != strlen(MQ_CONSUMED_TOPIC) ||
	    memcmp(m->topic, MQ_CONSUMED_TOPIC, m->topic_len) != 0 ||
	    mq_consumed_decode(&c, m->payload, m->payload_len) != CODEC_OK ||
	    c.origin.kind == MQ_ORIGIN_MODULE)
		return false;
	*o = c.origin;
	*seq = c.sequence;
	return true;
}

struct taken {
	const struct mq_origin *o;
	uint64_t seq;
};

static bool acked_by(const struct egress_item *it, const void *arg)
{
	const struct taken *t = arg;
	return same_sender(&it->m.origin, t->o) && it->m.sequence <= t->seq;
}

void sys_egress_observe(struct enclave *e, const struct mq_origin *o, uint64_t seq)
{
	struct egress_seq *s = seq_find(e->egress, o);
	if (s && seq < UINT64_MAX && seq + 1 > s->acked)
		s->acked = seq + 1;
	struct taken t = {o, seq};
	egress_filter(e->egress, acked_by, &t);
}

static bool of_kind(const struct egress_item *it, const void *arg)
{
	return it->m.origin.kind == *(const uint8_t *)arg;
}

void sys_egress_drop_kind(struct enclave *e, uint8_t kind)
{
	egress_filter(e->egress, of_kind, &kind);
}

enum enclave_result enclave_egress(struct enclave *e, size_t max, struct enc *out)
{
	if (!e->started)
		return ENCLAVE_NOT_STARTED;
	if (e->failed)
		return ENCLAVE_FAILED;
	struct enclave_egress *q = e->egress;
	size_t n = q->n < max ? q->n : max;
	enc_uleb(out, n);
	for (size_t i = 0; i < n; i++)
		enc_bytes(out, q->items[i].bytes, q->items[i].len);
	switch (enc_finish(out)) {
	case CODEC_OK:
		return ENCLAVE_OK;
	case CODEC_NOMEM:
		return ENCLAVE_NOMEM;
	default:
		return ENCLAVE_TOO_LARGE;
	}
}

/* ---- checkpoint section: sequences, then the queued messages ---- */

void enclave_egress_encode(const struct enclave *e, struct enc *p)
{
	const struct enclave_egress *q = e->egress;
	enc_uleb(p, q->n_seqs);
	for (size_t i = 0; i < q->n_seqs; i++) {
		mq_origin_encode(p, &q->seqs[i].origin);
		enc_u64(p, q->seqs[i].next);
		enc_u64(p, q->seqs[i].acked);
	}
	enc_uleb(p, q->n);
	for (size_t i = 0; i < q->n; i++)
		enc_bytes(p, q->items[i].bytes, q->items[i].len);
}

/* A counter's origin as mq_origin_encode wrote it: worker, contract or cluster (gatekeeper
 * messages take the shared sequence, modules sign nothing). */
static void origin_read(struct dec *d, struct mq_origin *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = dec_u8(d);
	if (o->kind == MQ_ORIGIN_CLUSTER)
		o->cluster = dec_u32(d);
	else if (o->kind == MQ_ORIGIN_WORKER || o->kind == MQ_ORIGIN_CONTRACT)
		dec_raw(d, o->id, 32);
	else
		dec_fail(d, CODEC_NONCANONICAL);
}

static void egress_decode_item(struct enclave *e, struct dec *d)
{
	struct enclave_egress *q = e->egress;
	size_t len;
	const uint8_t *b = dec_bytes(d, &len, MQ_MESSAGE_MAX + SIG_LEN);
	if (!b)
		return;
	struct egress_item *it = &q->items[q->n];
	if (len <= SIG_LEN || !(it->bytes = malloc(len))) {
		dec_fail(d, len <= SIG_LEN ? CODEC_NONCANONICAL : CODEC_NOMEM);
		return;
	}
	memcpy(it->bytes, b, len);
	it->len = len;
	if (mq_message_decode(&it->m, it->bytes, len - SIG_LEN) != CODEC_OK ||
	    it->m.origin.kind == MQ_ORIGIN_MODULE) {
		free(it->bytes);
		dec_fail(d, CODEC_NONCANONICAL);
		return;
	}
	q->n++;
}

void enclave_egress_decode(struct enclave *e, struct dec *d)
{
	struct enclave_egress *q = e->egress;
	size_t n = (size_t)dec_uleb(d, q->cap_seqs);
	for (size_t i = 0; i < n && d->err == CODEC_OK; i++) {
		origin_read(d, &q->seqs[i].origin);
		q->seqs[i].next = dec_u64(d);
		q->seqs[i].acked = dec_u64(d);
		q->n_seqs = i + 1;
	}
	n = (size_t)dec_uleb(d, e->cfg.max_egress);
	for (size_t i = 0; i < n && d->err == CODEC_OK; i++)
		egress_decode_item(e, d);
}
