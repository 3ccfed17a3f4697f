/*
 * Validators module (id 2): the validator set in state and equivocation evidence (chain/
 * validators.h; rules in docs/protocol/runtime.md "Module validators").
 *   set_power (fn 0): payload = pub_key [32] ‖ power u64; sudo only; power 0 removes.
 *   report_evidence (fn 1): payload = a dup_vote_evidence (237 bytes); any account.
 * Evidence signatures are checked in validate: the tx's chain id already equals the chain's when
 * validate runs (runtime.c checks it first), so a forged report is refused statelessly and never
 * reaches a block.
 */
#include "chain/validators.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "chain/runtime_int.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

#define SET_POWER_WEIGHT       100000
#define REPORT_EVIDENCE_WEIGHT 200000 /* two Ed25519 verifications dominate */

_Static_assert(VALIDATORS_EVIDENCE_LEN == 237, "evidence layout");

/* ---- canonical sets ---- */

/* Canonical order: power descending, then public key ascending. */
static int cmp_validator(const void *a, const void *b)
{
	const struct validator *x = a, *y = b;
	if (x->power != y->power)
		return x->power > y->power ? -1 : 1;
	return memcmp(x->pub_key, y->pub_key, 32);
}

void validators_sort(struct valset *vs)
{
	assert(vs->n <= VALSET_MAX);
	qsort(vs->v, vs->n, sizeof(vs->v[0]), cmp_validator);
}

bool validators_sorted(const struct valset *vs)
{
	assert(vs->n <= VALSET_MAX);
	for (size_t i = 1; i < vs->n; i++)
		if (cmp_validator(&vs->v[i - 1], &vs->v[i]) >= 0)
			return false;
	return true;
}

bool validators_equal(const struct valset *a, const struct valset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].power != b->v[i].power || memcmp(a->v[i].pub_key, b->v[i].pub_key, 32))
			return false;
	return true;
}

/* ---- payloads and records ---- */

void validators_set_power_payload(uint8_t out[VALIDATORS_SET_POWER_PAYLOAD_LEN],
                                  const uint8_t pub_key[32], uint64_t power)
{
	struct enc e;
	enc_init_fixed(&e, out, VALIDATORS_SET_POWER_PAYLOAD_LEN);
	enc_raw(&e, pub_key, 32);
	enc_u64(&e, power);
	assert(enc_finish(&e) == CODEC_OK && e.len == VALIDATORS_SET_POWER_PAYLOAD_LEN);
}

enum codec_result validators_set_power_decode(uint8_t pub_key[32], uint64_t *power,
                                              const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	dec_raw(&d, pub_key, 32);
	*power = dec_u64(&d);
	return dec_finish(&d);
}

static bool evidence_canonical(const struct dup_vote_evidence *ev)
{
	return (ev->type == VOTE_PREVOTE || ev->type == VOTE_PRECOMMIT) && ev->height > 0 &&
	       memcmp(ev->block_hash_a, ev->block_hash_b, BLOCK_HASH_LEN) < 0;
}

void validators_evidence_encode(struct enc *e, const struct dup_vote_evidence *ev)
{
	assert(evidence_canonical(ev));
	enc_raw(e, ev->pub_key, 32);
	enc_u8(e, ev->type);
	enc_u64(e, ev->height);
	enc_u32(e, ev->round);
	enc_raw(e, ev->block_hash_a, BLOCK_HASH_LEN);
	enc_raw(e, ev->sig_a, 64);
	enc_raw(e, ev->block_hash_b, BLOCK_HASH_LEN);
	enc_raw(e, ev->sig_b, 64);
}

static void evidence_read(struct dec *d, struct dup_vote_evidence *ev)
{
	dec_raw(d, ev->pub_key, 32);
	ev->type = dec_u8(d);
	ev->height = dec_u64(d);
	ev->round = dec_u32(d);
	dec_raw(d, ev->block_hash_a, BLOCK_HASH_LEN);
	dec_raw(d, ev->sig_a, 64);
	dec_raw(d, ev->block_hash_b, BLOCK_HASH_LEN);
	dec_raw(d, ev->sig_b, 64);
	if (d->err == CODEC_OK && !evidence_canonical(ev))
		dec_fail(d, CODEC_NONCANONICAL);
}

enum codec_result validators_evidence_decode(struct dup_vote_evidence *ev, const uint8_t *b,
                                             size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	evidence_read(&d, ev);
	return dec_finish(&d);
}

static bool vote_verifies(const struct dup_vote_evidence *ev, const uint8_t chain_id[32],
                          const uint8_t block_hash[BLOCK_HASH_LEN], const uint8_t sig[64])
{
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, ev->type, ev->height, ev->round, block_hash);
	return sig_verify(sig, msg, sizeof(msg), ev->pub_key);
}

bool validators_evidence_verify(const struct dup_vote_evidence *ev, const uint8_t chain_id[32])
{
	assert(evidence_canonical(ev));
	return vote_verifies(ev, chain_id, ev->block_hash_a, ev->sig_a) &&
	       vote_verifies(ev, chain_id, ev->block_hash_b, ev->sig_b);
}

void validators_evidence_id(uint8_t out[32], const struct dup_vote_evidence *ev)
{
	uint8_t buf[32 + 1 + 8 + 4];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	enc_raw(&e, ev->pub_key, 32);
	enc_u8(&e, ev->type);
	enc_u64(&e, ev->height);
	enc_u32(&e, ev->round);
	assert(enc_finish(&e) == CODEC_OK && e.len == sizeof(buf));
	hash_tagged(out, VALIDATORS_EVIDENCE_TAG, buf, sizeof(buf));
}

void validators_evidence_key(uint8_t key[VALIDATORS_EVIDENCE_KEY_LEN], const uint8_t id[32])
{
	memcpy(key, VALIDATORS_EVIDENCE_PREFIX, 13);
	memcpy(key + 13, id, 32);
}

void validators_evidence_record_encode(struct enc *e, const struct validators_evidence_record *r)
{
	enc_u64(e, r->height);
	enc_raw(e, r->reporter, 32);
	validators_evidence_encode(e, &r->ev);
}

enum codec_result validators_evidence_record_decode(struct validators_evidence_record *r,
                                                    const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	r->height = dec_u64(&d);
	dec_raw(&d, r->reporter, 32);
	evidence_read(&d, &r->ev);
	return dec_finish(&d);
}

void validators_epoch_encode(struct enc *e, const struct validators_epoch *ep)
{
	enc_u64(e, ep->first_height);
	valset_encode(e, &ep->set);
}

enum codec_result validators_set_decode(struct valset *vs, const uint8_t *b, size_t n)
{
	enum block_result r = valset_decode(vs, b, n);
	if (r == BLOCK_OK)
		return validators_sorted(vs) ? CODEC_OK : CODEC_NONCANONICAL;
	/* Codec errors keep their numbers; a set that fails valset_check is not canonical. */
	return r < BLOCK_VALSET_EMPTY ? (enum codec_result)r : CODEC_NONCANONICAL;
}

enum codec_result validators_epoch_decode(struct validators_epoch *ep, const uint8_t *b, size_t n)
{
	struct dec d;
	memset(ep, 0, sizeof(*ep));
	dec_init(&d, b, n);
	ep->first_height = dec_u64(&d);
	if (d.err != CODEC_OK)
		return d.err;
	if (ep->first_height == 0)
		return CODEC_NONCANONICAL;
	return validators_set_decode(&ep->set, b + 8, n - 8);
}

/* ---- reading state ---- */

static int get_key(const struct state_reader *r, const void *key, size_t klen, const uint8_t **v,
                   size_t *n)
{
	int rc = r->get ? r->get(r->ctx, key, klen, v, n) : 0;
	return rc < 0 ? -1 : rc;
}

int validators_load_next(const struct state_reader *r, struct valset *vs)
{
	const uint8_t *v = NULL;
	size_t n = 0;
	int rc = get_key(r, VALIDATORS_NEXT_KEY, strlen(VALIDATORS_NEXT_KEY), &v, &n);
	if (rc == 1 && validators_set_decode(vs, v, n) != CODEC_OK)
		rc = -1;
	if (rc != 1)
		memset(vs, 0, sizeof(*vs));
	return rc;
}

static int load_epoch(const struct state_reader *r, const char *key, struct validators_epoch *ep)
{
	const uint8_t *v = NULL;
	size_t n = 0;
	int rc = get_key(r, key, strlen(key), &v, &n);
	if (rc == 1 && validators_epoch_decode(ep, v, n) != CODEC_OK)
		rc = -1;
	if (rc != 1)
		memset(ep, 0, sizeof(*ep));
	return rc;
}

int validators_load_current(const struct state_reader *r, struct validators_epoch *ep)
{
	return load_epoch(r, VALIDATORS_EPOCH_KEY, ep);
}

int validators_load_previous(const struct state_reader *r, struct validators_epoch *ep)
{
	return load_epoch(r, VALIDATORS_PREV_EPOCH_KEY, ep);
}

/* A state with validators always has val/epoch (genesis writes it), so its absence is a storage
 * error; val/epoch-prev is legitimately absent until the first change. */
static size_t hist_key(uint8_t key[sizeof(VALIDATORS_HIST_PREFIX)], unsigned slot)
{
	size_t n = strlen(VALIDATORS_HIST_PREFIX);
	memcpy(key, VALIDATORS_HIST_PREFIX, n);
	key[n] = (uint8_t)slot;
	return n + 1;
}

/* val/hist-n: 1 read (0 when absent, then *count = 0), -1 storage error or malformed. */
static int hist_count(const struct state_reader *r, uint64_t *count)
{
	const uint8_t *v = NULL;
	size_t n = 0;
	struct dec d;
	*count = 0;
	int rc = get_key(r, VALIDATORS_HIST_COUNT_KEY, strlen(VALIDATORS_HIST_COUNT_KEY), &v, &n);
	if (rc != 1)
		return rc;
	dec_init(&d, v, n);
	*count = dec_u64(&d);
	return dec_finish(&d) == CODEC_OK ? 1 : -1;
}

/* The archived epoch that covers height: the one with the largest first_height <= height. The
 * ring holds consecutive epochs ending just before val/epoch-prev, so when height is at or above
 * the oldest one kept, that epoch is the one that signed it. 1, 0 (older than the ring), -1. */
static int hist_set_at(const struct state_reader *r, uint64_t height, struct valset *vs)
{
	uint64_t count;
	uint8_t key[sizeof(VALIDATORS_HIST_PREFIX)];
	struct validators_epoch ep;
	uint64_t best = 0;
	if (hist_count(r, &count) < 0)
		return -1;
	uint64_t kept = count < VALIDATORS_HISTORY ? count : VALIDATORS_HISTORY;
	for (uint64_t i = 0; i < kept; i++) {
		const uint8_t *v = NULL;
		size_t n = 0;
		size_t klen = hist_key(key, (unsigned)((count - 1 - i) % VALIDATORS_HISTORY));
		if (get_key(r, key, klen, &v, &n) != 1 ||
		    validators_epoch_decode(&ep, v, n) != CODEC_OK)
			return -1; /* every counted slot holds an epoch */
		if (ep.first_height <= height && ep.first_height > best) {
			best = ep.first_height;
			*vs = ep.set;
		}
	}
	return best ? 1 : 0;
}

int validators_set_at(const struct state_reader *r, uint64_t height, struct valset *vs)
{
	struct validators_epoch cur;
	int rc = validators_load_current(r, &cur);
	memset(vs, 0, sizeof(*vs));
	if (rc != 1)
		return -1;
	if (height >= cur.first_height) {
		*vs = cur.set;
		return 1;
	}
	rc = validators_load_previous(r, &cur);
	if (rc < 0)
		return -1;
	if (rc == 0 || height == 0)
		return 0;
	if (height >= cur.first_height) {
		*vs = cur.set;
		return 1;
	}
	return hist_set_at(r, height, vs);
}

int validators_evidence_get(const struct state_reader *r, const uint8_t id[32],
                            struct validators_evidence_record *rec)
{
	uint8_t key[VALIDATORS_EVIDENCE_KEY_LEN];
	const uint8_t *v = NULL;
	size_t n = 0;
	validators_evidence_key(key, id);
	int rc = get_key(r, key, sizeof(key), &v, &n);
	if (rc == 1 && validators_evidence_record_decode(rec, v, n) != CODEC_OK)
		rc = -1;
	if (rc != 1)
		memset(rec, 0, sizeof(*rec));
	return rc;
}

/* ---- writing state ---- */

static enum state_result put_set(struct state_overlay *o, const struct valset *vs)
{
	uint8_t buf[VALSET_MAX_BYTES];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	valset_encode(&e, vs);
	assert(enc_finish(&e) == CODEC_OK);
	return state_overlay_put(o, (const uint8_t *)VALIDATORS_NEXT_KEY,
	                         strlen(VALIDATORS_NEXT_KEY), buf, e.len);
}

static enum state_result put_epoch_at(struct state_overlay *o, const uint8_t *key, size_t klen,
                                      const struct validators_epoch *ep)
{
	uint8_t buf[VALIDATORS_EPOCH_MAX_BYTES];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	validators_epoch_encode(&e, ep);
	assert(enc_finish(&e) == CODEC_OK);
	return state_overlay_put(o, key, klen, buf, e.len);
}

static enum state_result put_epoch(struct state_overlay *o, const char *key,
                                   const struct validators_epoch *ep)
{
	return put_epoch_at(o, (const uint8_t *)key, strlen(key), ep);
}

/* Moves the epoch leaving val/epoch-prev (if any) into the history ring. */
static enum state_result archive_previous(struct state_overlay *o, const struct state_reader *r)
{
	struct validators_epoch prev;
	uint64_t count;
	uint8_t key[sizeof(VALIDATORS_HIST_PREFIX)], val[8];
	int rc = validators_load_previous(r, &prev);
	if (rc <= 0)
		return rc < 0 ? STATE_STORAGE : STATE_OK;
	if (hist_count(r, &count) < 0)
		return STATE_STORAGE;
	size_t klen = hist_key(key, (unsigned)(count % VALIDATORS_HISTORY));
	enum state_result sr = put_epoch_at(o, key, klen, &prev);
	struct enc e;
	enc_init_fixed(&e, val, sizeof(val));
	enc_u64(&e, count + 1);
	assert(enc_finish(&e) == CODEC_OK);
	return sr == STATE_OK ? state_overlay_put(o, (const uint8_t *)VALIDATORS_HIST_COUNT_KEY,
	                                          strlen(VALIDATORS_HIST_COUNT_KEY), val, e.len)
	                      : sr;
}

enum state_result validators_init_state(struct state_overlay *o, const struct valset *vs)
{
	assert(valset_check(vs) == BLOCK_OK);
	struct validators_epoch ep = {.first_height = 1, .set = *vs};
	validators_sort(&ep.set);
	enum state_result r = put_set(o, &ep.set);
	return r == STATE_OK ? put_epoch(o, VALIDATORS_EPOCH_KEY, &ep) : r;
}

/* Reads val/next through the block's overlay; its absence is a storage error. */
static enum tx_result load_next_tx(struct state_overlay *o, struct valset *vs)
{
	struct state_reader r;
	state_overlay_reader(o, &r);
	return validators_load_next(&r, vs) == 1 ? TX_OK : TX_STORAGE;
}

enum tx_result validators_end_block(struct state_overlay *o, uint64_t height, struct valset *next,
                                    bool *changed)
{
	struct validators_epoch cur, fresh;
	struct state_reader r;
	enum tx_result res = load_next_tx(o, next);
	*changed = false;
	if (res != TX_OK)
		return res;
	state_overlay_reader(o, &r);
	if (validators_load_current(&r, &cur) != 1 || cur.first_height > height)
		return TX_STORAGE;
	if (validators_equal(&cur.set, next))
		return TX_OK;
	assert(height < UINT64_MAX);
	fresh.first_height = height + 1;
	fresh.set = *next;
	/* All writes or none: a failure must leave the overlay as it was. */
	state_overlay_savepoint(o);
	enum state_result sr = archive_previous(o, &r);
	if (sr == STATE_OK)
		sr = put_epoch(o, VALIDATORS_PREV_EPOCH_KEY, &cur);
	if (sr == STATE_OK)
		sr = put_epoch(o, VALIDATORS_EPOCH_KEY, &fresh);
	if (sr != STATE_OK) {
		state_overlay_rollback(o);
		return runtime_from_state(sr);
	}
	state_overlay_release_savepoint(o);
	*changed = true;
	return TX_OK;
}

/* ---- set_power ---- */

static enum tx_result set_power_validate(const struct tx *tx)
{
	uint8_t pk[32];
	uint64_t power;
	if (validators_set_power_decode(pk, &power, tx->payload, tx->payload_len) != CODEC_OK)
		return TX_BAD_PAYLOAD;
	/* A key no one can sign with (not a canonical point of the prime-order subgroup) would hold
	 * power forever and, above 1/3, halt the chain. */
	if (power > 0 && !crypto_core_ed25519_is_valid_point(pk))
		return TX_BAD_PAYLOAD;
	return TX_OK;
}

static enum tx_result from_valset_check(enum block_result r)
{
	switch (r) {
	case BLOCK_OK:
		return TX_OK;
	case BLOCK_VALSET_EMPTY:
		return TX_CALL_VALSET_EMPTY;
	case BLOCK_VALSET_POWER_OVERFLOW:
		return TX_CALL_VALSET_OVERFLOW;
	default:
		break;
	}
	/* The set came from state (valid) and changed by one entry with power > 0; nothing else
	 * can fail. */
	assert(0 && "validators: impossible valset_check result");
	return TX_STORAGE;
}

/* Applies one change to vs: the set stays unsorted until the caller sorts it. */
static enum tx_result change_power(struct valset *vs, const uint8_t pk[32], uint64_t power)
{
	size_t i;
	bool found = valset_find(vs, pk, &i);
	if (power == 0) {
		if (!found)
			return TX_CALL_NOT_VALIDATOR;
		vs->v[i] = vs->v[--vs->n];
	} else if (found) {
		vs->v[i].power = power;
	} else {
		if (vs->n == VALSET_MAX)
			return TX_CALL_VALSET_FULL;
		memcpy(vs->v[vs->n].pub_key, pk, 32);
		vs->v[vs->n++].power = power;
	}
	return from_valset_check(valset_check(vs));
}

static enum tx_result set_power_apply(struct runtime_ctx *c)
{
	uint8_t pk[32];
	uint64_t power;
	struct valset vs;
	enum tx_result r = runtime_require_sudo(c->params, c->tx);
	if (r != TX_OK)
		return r;
	if (validators_set_power_decode(pk, &power, c->tx->payload, c->tx->payload_len) != CODEC_OK)
		return TX_BAD_PAYLOAD; /* validate ran first; kept for safety */
	if ((r = load_next_tx(c->overlay, &vs)) != TX_OK)
		return r;
	if ((r = change_power(&vs, pk, power)) != TX_OK)
		return r;
	validators_sort(&vs);
	return runtime_from_state(put_set(c->overlay, &vs));
}

/* ---- report_evidence ---- */

static enum tx_result evidence_validate(const struct tx *tx)
{
	struct dup_vote_evidence ev;
	if (validators_evidence_decode(&ev, tx->payload, tx->payload_len) != CODEC_OK)
		return TX_BAD_PAYLOAD;
	return validators_evidence_verify(&ev, tx->chain_id) ? TX_OK : TX_EVIDENCE_BAD_SIG;
}

/* The offender must be in the set that signed ev->height, which must be at most
 * VALIDATORS_EVIDENCE_MAX_AGE blocks old and in an epoch this state still keeps. */
static enum tx_result evidence_offender_check(struct runtime_ctx *c,
                                              const struct dup_vote_evidence *ev)
{
	struct state_reader r;
	struct valset vs;
	size_t index;
	if (ev->height > c->height)
		return TX_CALL_EVIDENCE_FUTURE;
	if (c->height - ev->height > VALIDATORS_EVIDENCE_MAX_AGE)
		return TX_CALL_EVIDENCE_TOO_OLD;
	state_overlay_reader(c->overlay, &r);
	int rc = validators_set_at(&r, ev->height, &vs);
	if (rc < 0)
		return TX_STORAGE;
	if (rc == 0)
		return TX_CALL_EVIDENCE_TOO_OLD;
	return valset_find(&vs, ev->pub_key, &index) ? TX_OK : TX_CALL_NOT_VALIDATOR;
}

static enum tx_result evidence_apply(struct runtime_ctx *c)
{
	struct validators_evidence_record rec = {.height = c->height};
	uint8_t id[32], key[VALIDATORS_EVIDENCE_KEY_LEN], val[VALIDATORS_EVIDENCE_RECORD_LEN];
	const uint8_t *old;
	size_t old_len;
	if (validators_evidence_decode(&rec.ev, c->tx->payload, c->tx->payload_len) != CODEC_OK)
		return TX_BAD_PAYLOAD; /* validate ran first; kept for safety */
	enum tx_result r = evidence_offender_check(c, &rec.ev);
	if (r != TX_OK)
		return r;
	validators_evidence_id(id, &rec.ev);
	validators_evidence_key(key, id);
	int rc = state_overlay_get(c->overlay, key, sizeof(key), &old, &old_len);
	if (rc != 0)
		return rc < 0 ? TX_STORAGE : TX_CALL_EVIDENCE_DUPLICATE;
	memcpy(rec.reporter, c->tx->sender, 32);
	struct enc e;
	enc_init_fixed(&e, val, sizeof(val));
	validators_evidence_record_encode(&e, &rec);
	assert(enc_finish(&e) == CODEC_OK && e.len == sizeof(val));
	return runtime_from_state(
	    state_overlay_put(c->overlay, key, sizeof(key), val, sizeof(val)));
}

static const struct runtime_call validators_calls[] = {
    {VALIDATORS_FN_SET_POWER, "validators.set_power", SET_POWER_WEIGHT, set_power_validate,
     runtime_admit_sudo, set_power_apply},
    {VALIDATORS_FN_REPORT_EVIDENCE, "validators.report_evidence", REPORT_EVIDENCE_WEIGHT,
     evidence_validate, NULL, evidence_apply},
};

const struct runtime_module validators_module = {
    RUNTIME_MODULE_VALIDATORS,
    "validators",
    validators_calls,
    sizeof(validators_calls) / sizeof(validators_calls[0]),
};
