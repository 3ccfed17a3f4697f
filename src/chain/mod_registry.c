/*
 * Registry module (id 3): workers, the attestation policy, gatekeepers, clusters and the public
 * keys gatekeepers publish. Calls and payloads: chain/registry.h; state layout and rules:
 * docs/protocol/runtime.md "Registry".
 */
#include <assert.h>
#include <string.h>

#include "chain/registry_int.h"
#include "crypto/hash.h"

#define POLICY_KEY      "reg/policy"
#define WORKER_PREFIX   "reg/worker/"
#define WORKERS_INDEX   "reg/workers/"
#define GATEKEEPERS_KEY "reg/gatekeepers"
#define CLUSTER_PREFIX  "reg/cluster/"
#define MASTER_KEY      "reg/master"
#define MASTER_PREFIX   "reg/master/"
#define CONTRACT_PREFIX "reg/contract/"
#define RECORD_VERSION  1
#define MODULE_NAME     "registry"
#define KEYS_LEN        (4 + 4 + 32 + 32 + 8)

#define REGISTER_WEIGHT 300000
#define ADMIN_WEIGHT    50000

/* ---- generic records ---- */

int registry_read(const struct state_reader *r, const void *key, size_t klen,
                  registry_decode_fn decode, void *out)
{
	const uint8_t *v = NULL;
	size_t n = 0;
	int rc = r->get ? r->get(r->ctx, key, klen, &v, &n) : 0;
	if (rc <= 0)
		return rc < 0 ? -1 : 0;
	return decode(out, v, n) == CODEC_OK ? 1 : -1;
}

enum tx_result registry_write(struct state_overlay *o, const void *key, size_t klen,
                              registry_encode_fn encode, const void *v, size_t max)
{
	struct enc e;
	enc_init(&e, max);
	encode(&e, v);
	enum tx_result r =
	    enc_finish(&e) == CODEC_OK ? runtime_put(o, key, klen, e.buf, e.len) : TX_NOMEM;
	enc_release(&e);
	return r;
}

void registry_be32(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (24 - 8 * i));
}

size_t registry_key_id(uint8_t *key, const char *prefix, const uint8_t id[32])
{
	size_t n = strlen(prefix);
	memcpy(key, prefix, n);
	memcpy(key + n, id, 32);
	return n + 32;
}

size_t registry_key_u32(uint8_t *key, const char *prefix, uint32_t v)
{
	size_t n = strlen(prefix);
	memcpy(key, prefix, n);
	registry_be32(key + n, v);
	return n + 4;
}

/* ---- index lists ---- */

static size_t cluster_key(uint8_t *key, uint32_t cluster)
{
	return registry_key_u32(key, CLUSTER_PREFIX, cluster);
}

static size_t index_key(uint8_t *key, const char *prefix, char kind, uint32_t i)
{
	size_t n = strlen(prefix);
	assert(n + 5 <= REGISTRY_INDEX_KEY_MAX);
	memcpy(key, prefix, n);
	key[n++] = (uint8_t)kind;
	if (kind == 'n')
		return n;
	registry_be32(key + n, i);
	return n + 4;
}

static enum codec_result decode_u32(void *out, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	*(uint32_t *)out = dec_u32(&d);
	return dec_finish(&d);
}

static enum codec_result decode_id(void *out, const uint8_t *b, size_t n)
{
	if (n != 32)
		return CODEC_NONCANONICAL;
	memcpy(out, b, 32);
	return CODEC_OK;
}

int registry_index_count(const struct state_reader *r, const char *prefix, uint32_t *n)
{
	uint8_t key[REGISTRY_INDEX_KEY_MAX];
	*n = 0;
	return registry_read(r, key, index_key(key, prefix, 'n', 0), decode_u32, n);
}

int registry_index_at(const struct state_reader *r, const char *prefix, uint32_t i, uint8_t id[32])
{
	uint8_t key[REGISTRY_INDEX_KEY_MAX];
	return registry_read(r, key, index_key(key, prefix, 'i', i), decode_id, id);
}

enum tx_result registry_index_append(struct state_overlay *o, const char *prefix,
                                     const uint8_t id[32])
{
	uint8_t key[REGISTRY_INDEX_KEY_MAX], val[4];
	struct state_reader rd;
	uint32_t n;
	state_overlay_reader(o, &rd);
	if (registry_index_count(&rd, prefix, &n) < 0)
		return TX_STORAGE;
	if (n == UINT32_MAX)
		return TX_STATE_FULL;
	enum tx_result r = runtime_put(o, key, index_key(key, prefix, 'i', n), id, 32);
	for (int b = 0; b < 4; b++)
		val[b] = (uint8_t)((n + 1) >> (8 * b));
	return r == TX_OK ? runtime_put(o, key, index_key(key, prefix, 'n', 0), val, 4) : r;
}

/* ---- encodings ---- */

void registry_registration_data(uint8_t out[32], const uint8_t identity[32],
                                const uint8_t hpke_pk[32], const uint8_t operator_[32],
                                const uint8_t genesis_hash[32])
{
	uint8_t buf[128];
	memcpy(buf, identity, 32);
	memcpy(buf + 32, hpke_pk, 32);
	memcpy(buf + 64, operator_, 32);
	memcpy(buf + 96, genesis_hash, 32);
	hash_tagged(out, REGISTRY_REGISTRATION_TAG, buf, sizeof(buf));
}

void registry_register_payload(struct enc *e, const uint8_t identity[32], const uint8_t hpke_pk[32],
                               const uint8_t operator_[32], const uint8_t *report,
                               size_t report_len)
{
	enc_raw(e, identity, 32);
	enc_raw(e, hpke_pk, 32);
	enc_raw(e, operator_, 32);
	enc_raw(e, report, report_len);
}

void registry_worker_encode(struct enc *e, const struct registry_worker *w)
{
	enc_u8(e, RECORD_VERSION);
	enc_raw(e, w->identity, 32);
	enc_raw(e, w->hpke_pk, 32);
	enc_raw(e, w->operator_, 32);
	enc_u8(e, w->backend);
	enc_raw(e, w->measurement, 32);
	enc_u8(e, w->confidence_level);
	enc_u64(e, w->registered_height);
	enc_u64(e, w->report_height);
	enc_u64(e, w->updated_height);
	enc_bool(e, w->has_cluster);
	enc_u32(e, w->cluster);
	enc_bool(e, w->is_gatekeeper);
}

enum codec_result registry_worker_decode(struct registry_worker *w, const uint8_t *b, size_t n)
{
	struct dec d;
	memset(w, 0, sizeof(*w));
	dec_init(&d, b, n);
	if (dec_u8(&d) != RECORD_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	dec_raw(&d, w->identity, 32);
	dec_raw(&d, w->hpke_pk, 32);
	dec_raw(&d, w->operator_, 32);
	w->backend = dec_u8(&d);
	if (!attest_backend_name(w->backend))
		dec_fail(&d, CODEC_NONCANONICAL);
	dec_raw(&d, w->measurement, 32);
	w->confidence_level = dec_u8(&d);
	w->registered_height = dec_u64(&d);
	w->report_height = dec_u64(&d);
	w->updated_height = dec_u64(&d);
	w->has_cluster = dec_bool(&d);
	w->cluster = dec_u32(&d);
	if (!w->has_cluster && w->cluster != 0)
		dec_fail(&d, CODEC_NONCANONICAL);
	w->is_gatekeeper = dec_bool(&d);
	return dec_finish(&d);
}

static void encode_worker(struct enc *e, const void *v)
{
	registry_worker_encode(e, v);
}

static enum codec_result decode_worker(void *out, const uint8_t *b, size_t n)
{
	return registry_worker_decode(out, b, n);
}

static void keys_encode(struct enc *e, const struct registry_keys *k)
{
	enc_u32(e, k->cluster);
	enc_u32(e, k->epoch);
	enc_raw(e, k->x25519, 32);
	enc_raw(e, k->ed25519, 32);
	enc_u64(e, k->height);
}

static void keys_read(struct dec *d, struct registry_keys *k)
{
	k->cluster = dec_u32(d);
	k->epoch = dec_u32(d);
	dec_raw(d, k->x25519, 32);
	dec_raw(d, k->ed25519, 32);
	k->height = dec_u64(d);
}

/* A cluster record: version ‖ created u64 ‖ has_keys bool ‖ keys (when has_keys). */
struct cluster_rec {
	uint64_t created;
	bool has_keys;
	struct registry_keys keys;
};

static void encode_cluster(struct enc *e, const void *v)
{
	const struct cluster_rec *c = v;
	enc_u8(e, RECORD_VERSION);
	enc_u64(e, c->created);
	enc_bool(e, c->has_keys);
	if (c->has_keys)
		keys_encode(e, &c->keys);
}

static enum codec_result decode_cluster(void *out, const uint8_t *b, size_t n)
{
	struct cluster_rec *c = out;
	struct dec d;
	memset(c, 0, sizeof(*c));
	dec_init(&d, b, n);
	if (dec_u8(&d) != RECORD_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	c->created = dec_u64(&d);
	c->has_keys = dec_bool(&d);
	if (c->has_keys)
		keys_read(&d, &c->keys);
	return dec_finish(&d);
}

static void encode_contract_keys(struct enc *e, const void *v)
{
	enc_u8(e, RECORD_VERSION);
	keys_encode(e, v);
}

static enum codec_result decode_contract_keys(void *out, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	if (dec_u8(&d) != RECORD_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	keys_read(&d, out);
	return dec_finish(&d);
}

static void encode_master(struct enc *e, const void *v)
{
	const struct registry_master *m = v;
	enc_u8(e, RECORD_VERSION);
	enc_u32(e, m->epoch);
	enc_bool(e, m->published);
}

static enum codec_result decode_master(void *out, const uint8_t *b, size_t n)
{
	struct registry_master *m = out;
	struct dec d;
	dec_init(&d, b, n);
	if (dec_u8(&d) != RECORD_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	m->epoch = dec_u32(&d);
	m->published = dec_bool(&d);
	return dec_finish(&d);
}

/* A history entry: pubkey [32] ‖ height u64. */
struct master_entry {
	uint8_t pubkey[32];
	uint64_t height;
};

static void encode_master_entry(struct enc *e, const void *v)
{
	const struct master_entry *m = v;
	enc_raw(e, m->pubkey, 32);
	enc_u64(e, m->height);
}

static enum codec_result decode_master_entry(void *out, const uint8_t *b, size_t n)
{
	struct master_entry *m = out;
	struct dec d;
	dec_init(&d, b, n);
	dec_raw(&d, m->pubkey, 32);
	m->height = dec_u64(&d);
	return dec_finish(&d);
}

struct gk_list {
	size_t n;
	uint8_t ids[REGISTRY_MAX_GATEKEEPERS][32];
};

static void encode_gk(struct enc *e, const void *v)
{
	const struct gk_list *g = v;
	enc_uleb(e, g->n);
	enc_raw(e, g->ids, g->n * 32);
}

static enum codec_result decode_gk(void *out, const uint8_t *b, size_t n)
{
	struct gk_list *g = out;
	struct dec d;
	dec_init(&d, b, n);
	g->n = dec_uleb(&d, REGISTRY_MAX_GATEKEEPERS);
	dec_raw(&d, g->ids, g->n * 32);
	return dec_finish(&d);
}

static enum codec_result decode_policy(void *out, const uint8_t *b, size_t n)
{
	return attest_policy_decode(out, b, n);
}

enum state_result registry_policy_store(struct state_overlay *o, const struct attest_policy *p)
{
	uint8_t buf[ATTEST_POLICY_MAX];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	attest_policy_encode(&e, p);
	assert(enc_finish(&e) == CODEC_OK);
	return state_overlay_put(o, (const uint8_t *)POLICY_KEY, strlen(POLICY_KEY), buf, e.len);
}

/* ---- public readers ---- */

int registry_policy_get(const struct state_reader *r, struct attest_policy *p)
{
	int rc = registry_read(r, POLICY_KEY, strlen(POLICY_KEY), decode_policy, p);
	if (rc == 0)
		attest_policy_closed(p);
	return rc;
}

int registry_worker_get(const struct state_reader *r, const uint8_t identity[32],
                        struct registry_worker *w)
{
	uint8_t key[64];
	memset(w, 0, sizeof(*w));
	return registry_read(r, key, registry_key_id(key, WORKER_PREFIX, identity), decode_worker,
	                     w);
}

int registry_worker_count(const struct state_reader *r, uint32_t *n)
{
	return registry_index_count(r, WORKERS_INDEX, n);
}

int registry_worker_at(const struct state_reader *r, uint32_t i, uint8_t identity[32])
{
	return registry_index_at(r, WORKERS_INDEX, i, identity);
}

int registry_gatekeepers_get(const struct state_reader *r,
                             uint8_t ids[REGISTRY_MAX_GATEKEEPERS][32], size_t *n)
{
	struct gk_list g = {0};
	int rc = registry_read(r, GATEKEEPERS_KEY, strlen(GATEKEEPERS_KEY), decode_gk, &g);
	*n = rc == 1 ? g.n : 0;
	memcpy(ids, g.ids, *n * 32);
	return rc;
}

int registry_cluster_get(const struct state_reader *r, uint32_t cluster, uint64_t *created,
                         bool *has_keys, struct registry_keys *keys)
{
	uint8_t key[32];
	struct cluster_rec c = {0};
	int rc = registry_read(r, key, cluster_key(key, cluster), decode_cluster, &c);
	*created = c.created;
	*has_keys = c.has_keys;
	*keys = c.keys;
	return rc;
}

int registry_master_get(const struct state_reader *r, struct registry_master *m)
{
	memset(m, 0, sizeof(*m));
	return registry_read(r, MASTER_KEY, strlen(MASTER_KEY), decode_master, m);
}

int registry_master_key_get(const struct state_reader *r, uint32_t epoch, uint8_t pubkey[32],
                            uint64_t *height)
{
	uint8_t key[32];
	struct master_entry m = {0};
	int rc = registry_read(r, key, registry_key_u32(key, MASTER_PREFIX, epoch),
	                       decode_master_entry, &m);
	memcpy(pubkey, m.pubkey, 32);
	*height = m.height;
	return rc;
}

int registry_contract_keys_get(const struct state_reader *r, const uint8_t id[32],
                               struct registry_keys *k)
{
	uint8_t key[64];
	memset(k, 0, sizeof(*k));
	return registry_read(r, key, registry_key_id(key, CONTRACT_PREFIX, id),
	                     decode_contract_keys, k);
}

void registry_master_key_payload(uint8_t out[36], uint32_t epoch, const uint8_t pubkey[32])
{
	struct enc e;
	enc_init_fixed(&e, out, 36);
	enc_u32(&e, epoch);
	enc_raw(&e, pubkey, 32);
	assert(enc_finish(&e) == CODEC_OK);
}

void registry_cluster_key_payload(uint8_t out[72], const struct registry_keys *k)
{
	struct enc e;
	enc_init_fixed(&e, out, 72);
	enc_u32(&e, k->cluster);
	enc_u32(&e, k->epoch);
	enc_raw(&e, k->x25519, 32);
	enc_raw(&e, k->ed25519, 32);
	assert(enc_finish(&e) == CODEC_OK);
}

void registry_contract_key_payload(uint8_t out[104], const uint8_t id[32],
                                   const struct registry_keys *k)
{
	memcpy(out, id, 32);
	registry_cluster_key_payload(out + 32, k);
}

/* ---- helpers for the calls ---- */

/* Loads through the overlay; a malformed value is TX_STORAGE. */
static enum tx_result load(struct state_overlay *o, int (*get)(const struct state_reader *, void *),
                           void *out, bool *found)
{
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	return runtime_found(get(&rd, out), found);
}

static enum tx_result load_worker(struct state_overlay *o, const uint8_t id[32],
                                  struct registry_worker *w, bool *found)
{
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	return runtime_found(registry_worker_get(&rd, id, w), found);
}

static enum tx_result store_worker(struct state_overlay *o, const struct registry_worker *w)
{
	uint8_t key[64];
	return registry_write(o, key, registry_key_id(key, WORKER_PREFIX, w->identity),
	                      encode_worker, w, REGISTRY_WORKER_LEN);
}

/* A worker that must exist: TX_CALL_REG_UNKNOWN_WORKER if it does not. */
static enum tx_result need_worker(struct state_overlay *o, const uint8_t id[32],
                                  struct registry_worker *w)
{
	bool found;
	enum tx_result r = load_worker(o, id, w, &found);
	return r == TX_OK && !found ? TX_CALL_REG_UNKNOWN_WORKER : r;
}

static int get_gk(const struct state_reader *r, void *out)
{
	struct gk_list *g = out;
	return registry_gatekeepers_get(r, g->ids, &g->n);
}

static int get_master(const struct state_reader *r, void *out)
{
	return registry_master_get(r, out);
}

static enum tx_result emit(struct runtime_ctx *c, const uint8_t *ev, size_t n)
{
	return mq_emit(c->overlay, MODULE_NAME, REGISTRY_EVENT_TOPIC, ev, n);
}

/* Emits kind ‖ identity ‖ hpke_pk [‖ cluster u32]. */
static enum tx_result emit_worker_event(struct runtime_ctx *c, uint8_t kind,
                                        const struct registry_worker *w, bool with_cluster)
{
	uint8_t ev[1 + 64 + 4];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, kind);
	enc_raw(&e, w->identity, 32);
	if (kind != REGISTRY_EV_GATEKEEPER_REMOVED)
		enc_raw(&e, w->hpke_pk, 32);
	if (with_cluster)
		enc_u32(&e, w->cluster);
	assert(enc_finish(&e) == CODEC_OK);
	return emit(c, ev, e.len);
}

/* ---- register_worker ---- */

struct registration {
	uint8_t identity[32], hpke_pk[32], operator_[32];
	struct attest_report report;
};

static bool registration_decode(const struct tx *tx, struct registration *reg)
{
	if (tx->payload_len < 96)
		return false;
	memcpy(reg->identity, tx->payload, 32);
	memcpy(reg->hpke_pk, tx->payload + 32, 32);
	memcpy(reg->operator_, tx->payload + 64, 32);
	return attest_report_decode(&reg->report, tx->payload + 96, tx->payload_len - 96) ==
	       CODEC_OK;
}

static enum tx_result register_validate(const struct tx *tx)
{
	struct registration reg;
	return registration_decode(tx, &reg) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result register_admit(const struct runtime_params *p, const struct state_reader *r,
                                     const struct tx *tx, struct tx_check *c)
{
	(void)p;
	(void)r;
	(void)c;
	struct registration reg;
	if (!registration_decode(tx, &reg))
		return TX_BAD_PAYLOAD;
	return memcmp(reg.operator_, tx->sender, 32) == 0 ? TX_OK : TX_CALL_REG_NOT_OPERATOR;
}

static const enum tx_result attest_errors[] = {
    [ATTEST_OK] = TX_OK,
    [ATTEST_BACKEND_NOT_ALLOWED] = TX_CALL_REG_BACKEND_NOT_ALLOWED,
    [ATTEST_MEASUREMENT_NOT_ALLOWED] = TX_CALL_REG_MEASUREMENT_NOT_ALLOWED,
    [ATTEST_REPORT_DATA_MISMATCH] = TX_CALL_REG_REPORT_DATA_MISMATCH,
    [ATTEST_FROM_FUTURE] = TX_CALL_REG_STALE_REPORT,
    [ATTEST_STALE] = TX_CALL_REG_STALE_REPORT,
    [ATTEST_UNKNOWN_SIM_KEY] = TX_CALL_REG_UNKNOWN_SIM_KEY,
    [ATTEST_BAD_SIGNATURE] = TX_CALL_REG_BAD_REPORT_SIG,
    [ATTEST_BAD_QUOTE] = TX_CALL_REG_BAD_QUOTE,
    [ATTEST_QUOTE_MISMATCH] = TX_CALL_REG_BAD_QUOTE,
    [ATTEST_DEBUG_ENCLAVE] = TX_CALL_REG_BAD_QUOTE,
    [ATTEST_LOW_CONFIDENCE] = TX_CALL_REG_LOW_CONFIDENCE,
};

/* Checks the report against the stored policy; *level gets the confidence level. */
static enum tx_result check_report(struct runtime_ctx *c, const struct registration *reg,
                                   uint8_t *level)
{
	struct attest_policy policy;
	struct state_reader rd;
	uint8_t expected[32];
	state_overlay_reader(c->overlay, &rd);
	if (registry_policy_get(&rd, &policy) < 0)
		return TX_STORAGE;
	registry_registration_data(expected, reg->identity, reg->hpke_pk, reg->operator_,
	                           c->params->chain_id);
	enum attest_result a = attest_verify(&policy, &reg->report, expected, c->height, level);
	return attest_errors[a];
}

static enum tx_result register_apply(struct runtime_ctx *c)
{
	struct registration reg;
	struct registry_worker w;
	uint8_t level;
	bool found;
	enum tx_result r;
	if (!registration_decode(c->tx, &reg))
		return TX_BAD_PAYLOAD;
	if (memcmp(reg.operator_, c->tx->sender, 32) != 0)
		return TX_CALL_REG_NOT_OPERATOR;
	if ((r = check_report(c, &reg, &level)) != TX_OK ||
	    (r = load_worker(c->overlay, reg.identity, &w, &found)) != TX_OK)
		return r;
	if (found && memcmp(w.operator_, reg.operator_, 32) != 0)
		return TX_CALL_REG_OPERATOR_CHANGED;
	if (!found) {
		memcpy(w.identity, reg.identity, 32);
		memcpy(w.operator_, reg.operator_, 32);
		w.registered_height = c->height;
		if ((r = registry_index_append(c->overlay, WORKERS_INDEX, w.identity)) != TX_OK)
			return r;
	}
	memcpy(w.hpke_pk, reg.hpke_pk, 32);
	memcpy(w.measurement, reg.report.measurement, 32);
	w.backend = reg.report.backend;
	w.confidence_level = level;
	w.report_height = reg.report.height;
	w.updated_height = c->height;
	if ((r = store_worker(c->overlay, &w)) != TX_OK)
		return r;
	uint8_t ev[1 + REGISTRY_WORKER_LEN];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, REGISTRY_EV_WORKER_REGISTERED);
	registry_worker_encode(&e, &w);
	assert(enc_finish(&e) == CODEC_OK);
	return emit(c, ev, e.len);
}

/* ---- set_policy ---- */

static enum tx_result policy_validate(const struct tx *tx)
{
	struct attest_policy p;
	return attest_policy_decode(&p, tx->payload, tx->payload_len) == CODEC_OK ? TX_OK
	                                                                          : TX_BAD_PAYLOAD;
}

static enum tx_result policy_apply(struct runtime_ctx *c)
{
	enum tx_result r = runtime_require_sudo(c->params, c->tx);
	if (r != TX_OK)
		return r;
	return runtime_put(c->overlay, POLICY_KEY, strlen(POLICY_KEY), c->tx->payload,
	                   c->tx->payload_len);
}

/* ---- gatekeepers ---- */

static enum tx_result identity_validate(const struct tx *tx)
{
	return tx->payload_len == 32 ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result store_gk(struct state_overlay *o, const struct gk_list *g)
{
	return registry_write(o, GATEKEEPERS_KEY, strlen(GATEKEEPERS_KEY), encode_gk, g,
	                      2 + sizeof(g->ids));
}

/* The start of add/remove_gatekeeper: sudo, the worker named by the payload (which must exist
 * and be a gatekeeper exactly when is_gk) and the gatekeeper list. */
static enum tx_result gk_load(struct runtime_ctx *c, bool is_gk, struct registry_worker *w,
                              struct gk_list *g)
{
	bool found;
	enum tx_result r = runtime_require_sudo(c->params, c->tx);
	if (r != TX_OK || (r = need_worker(c->overlay, c->tx->payload, w)) != TX_OK)
		return r;
	if (w->is_gatekeeper != is_gk)
		return is_gk ? TX_CALL_REG_NOT_GATEKEEPER : TX_CALL_REG_ALREADY_GATEKEEPER;
	return load(c->overlay, get_gk, g, &found);
}

/* The end of add/remove_gatekeeper: the worker's flag, the list and the event kind. */
static enum tx_result gk_store(struct runtime_ctx *c, uint8_t kind, struct registry_worker *w,
                               const struct gk_list *g)
{
	enum tx_result r;
	w->is_gatekeeper = kind == REGISTRY_EV_GATEKEEPER_ADDED;
	if ((r = store_gk(c->overlay, g)) != TX_OK || (r = store_worker(c->overlay, w)) != TX_OK)
		return r;
	return emit_worker_event(c, kind, w, false);
}

static enum tx_result add_gk_apply(struct runtime_ctx *c)
{
	struct registry_worker w;
	struct gk_list g;
	enum tx_result r = gk_load(c, false, &w, &g);
	if (r != TX_OK)
		return r;
	if (g.n == REGISTRY_MAX_GATEKEEPERS)
		return TX_CALL_REG_FULL;
	memcpy(g.ids[g.n++], w.identity, 32);
	return gk_store(c, REGISTRY_EV_GATEKEEPER_ADDED, &w, &g);
}

static enum tx_result remove_gk_apply(struct runtime_ctx *c)
{
	struct registry_worker w;
	struct gk_list g;
	bool found;
	enum tx_result r = gk_load(c, true, &w, &g);
	if (r != TX_OK)
		return r;
	if (g.n == 1) {
		struct registry_master m;
		if ((r = load(c->overlay, get_master, &m, &found)) != TX_OK)
			return r;
		if (m.epoch > 0 || m.published)
			return TX_CALL_REG_LAST_GATEKEEPER;
	}
	size_t i = 0;
	while (i < g.n && memcmp(g.ids[i], w.identity, 32) != 0)
		i++;
	if (i == g.n)
		return TX_STORAGE; /* the worker's flag and the list disagree */
	memmove(g.ids[i], g.ids[i + 1], (g.n - i - 1) * 32);
	g.n--;
	return gk_store(c, REGISTRY_EV_GATEKEEPER_REMOVED, &w, &g);
}

/* ---- clusters ---- */

static enum tx_result load_cluster(struct state_overlay *o, uint32_t cluster,
                                   struct cluster_rec *rec, bool *found)
{
	uint8_t key[32];
	struct state_reader rd;
	state_overlay_reader(o, &rd);
	memset(rec, 0, sizeof(*rec));
	return runtime_found(
	    registry_read(&rd, key, cluster_key(key, cluster), decode_cluster, rec), found);
}

static enum tx_result store_cluster(struct state_overlay *o, uint32_t cluster,
                                    const struct cluster_rec *rec)
{
	uint8_t key[32];
	return registry_write(o, key, cluster_key(key, cluster), encode_cluster, rec,
	                      1 + 8 + 1 + KEYS_LEN);
}

enum tx_result registry_cluster_exists(struct state_overlay *o, uint32_t cluster, bool *exists)
{
	struct cluster_rec rec;
	return load_cluster(o, cluster, &rec, exists);
}

static bool decode_cluster_payload(const struct tx *tx, uint8_t id[32], uint32_t *cluster,
                                   bool with_id)
{
	struct dec d;
	dec_init(&d, tx->payload, tx->payload_len);
	if (with_id)
		dec_raw(&d, id, 32);
	*cluster = dec_u32(&d);
	return dec_finish(&d) == CODEC_OK;
}

/* The start of create_cluster and assign_worker: sudo, then the payload. */
static enum tx_result cluster_call_start(struct runtime_ctx *c, uint8_t id[32], uint32_t *cluster,
                                         bool with_id)
{
	enum tx_result r = runtime_require_sudo(c->params, c->tx);
	if (r != TX_OK)
		return r;
	return decode_cluster_payload(c->tx, id, cluster, with_id) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result create_cluster_validate(const struct tx *tx)
{
	uint32_t cluster;
	return decode_cluster_payload(tx, NULL, &cluster, false) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result create_cluster_apply(struct runtime_ctx *c)
{
	struct cluster_rec rec;
	uint32_t cluster;
	bool found;
	enum tx_result r = cluster_call_start(c, NULL, &cluster, false);
	if (r != TX_OK || (r = load_cluster(c->overlay, cluster, &rec, &found)) != TX_OK)
		return r;
	if (found)
		return TX_CALL_REG_CLUSTER_EXISTS;
	rec.created = c->height;
	if ((r = store_cluster(c->overlay, cluster, &rec)) != TX_OK)
		return r;
	uint8_t ev[5] = {REGISTRY_EV_CLUSTER_CREATED, (uint8_t)cluster, (uint8_t)(cluster >> 8),
	                 (uint8_t)(cluster >> 16), (uint8_t)(cluster >> 24)};
	return emit(c, ev, sizeof(ev));
}

static enum tx_result assign_validate(const struct tx *tx)
{
	uint8_t id[32];
	uint32_t cluster;
	return decode_cluster_payload(tx, id, &cluster, true) ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result assign_apply(struct runtime_ctx *c)
{
	struct registry_worker w;
	uint8_t id[32];
	uint32_t cluster;
	bool found;
	enum tx_result r = cluster_call_start(c, id, &cluster, true);
	if (r != TX_OK || (r = need_worker(c->overlay, id, &w)) != TX_OK ||
	    (r = registry_cluster_exists(c->overlay, cluster, &found)) != TX_OK)
		return r;
	if (!found)
		return TX_CALL_REG_UNKNOWN_CLUSTER;
	w.has_cluster = true;
	w.cluster = cluster;
	if ((r = store_worker(c->overlay, &w)) != TX_OK)
		return r;
	return emit_worker_event(c, REGISTRY_EV_WORKER_ASSIGNED, &w, true);
}

/* ---- master key ---- */

static enum tx_result empty_validate(const struct tx *tx)
{
	return tx->payload_len == 0 ? TX_OK : TX_BAD_PAYLOAD;
}

static enum tx_result store_master(struct state_overlay *o, const struct registry_master *m)
{
	return registry_write(o, MASTER_KEY, strlen(MASTER_KEY), encode_master, m, 6);
}

/* Emits kind ‖ epoch u32 [‖ pubkey [32]]. */
static enum tx_result emit_epoch_event(struct runtime_ctx *c, uint8_t kind, uint32_t epoch,
                                       const uint8_t *pubkey)
{
	uint8_t ev[1 + 4 + 32];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, kind);
	enc_u32(&e, epoch);
	if (pubkey)
		enc_raw(&e, pubkey, 32);
	assert(enc_finish(&e) == CODEC_OK);
	return emit(c, ev, e.len);
}

static enum tx_result rotate_apply(struct runtime_ctx *c)
{
	struct registry_master m;
	bool found;
	enum tx_result r = runtime_require_sudo(c->params, c->tx);
	if (r != TX_OK || (r = load(c->overlay, get_master, &m, &found)) != TX_OK)
		return r;
	if (!m.published)
		return TX_CALL_REG_NO_MASTER_KEY;
	if (m.epoch == UINT32_MAX)
		return TX_CALL_REG_FULL;
	m.epoch++;
	m.published = false;
	if ((r = store_master(c->overlay, &m)) != TX_OK)
		return r;
	return emit_epoch_event(c, REGISTRY_EV_MASTER_KEY_ROTATION, m.epoch, NULL);
}

/* Gatekeeper messages: the origin must be a gatekeeper (mq checked it is a current one). */
static enum tx_result need_gatekeeper_origin(const struct mq_message *m)
{
	return m->origin.kind == MQ_ORIGIN_GATEKEEPER ? TX_OK : TX_CALL_MQ_BAD_ORIGIN;
}

enum tx_result registry_on_master_key(struct runtime_ctx *c, const struct mq_message *msg)
{
	struct registry_master m;
	struct master_entry ent;
	uint8_t key[32];
	bool found;
	enum tx_result r = need_gatekeeper_origin(msg);
	if (r != TX_OK)
		return r;
	struct dec d;
	dec_init(&d, msg->payload, msg->payload_len);
	uint32_t epoch = dec_u32(&d);
	dec_raw(&d, ent.pubkey, 32);
	if (dec_finish(&d) != CODEC_OK)
		return TX_CALL_MQ_BAD_MESSAGE;
	if ((r = load(c->overlay, get_master, &m, &found)) != TX_OK)
		return r;
	if (epoch < m.epoch)
		return TX_OK; /* stale: a rotation landed first; that epoch's key is on chain */
	if (epoch > m.epoch)
		return TX_CALL_REG_KEY_CONFLICT;
	if (m.published) {
		struct state_reader rd;
		uint8_t old[32];
		state_overlay_reader(c->overlay, &rd);
		if (registry_master_key_get(&rd, epoch, old, &ent.height) != 1)
			return TX_STORAGE;
		return memcmp(old, ent.pubkey, 32) == 0 ? TX_OK : TX_CALL_REG_KEY_CONFLICT;
	}
	ent.height = c->height;
	m.published = true;
	if ((r = registry_write(c->overlay, key, registry_key_u32(key, MASTER_PREFIX, epoch),
	                        encode_master_entry, &ent, 40)) != TX_OK ||
	    (r = store_master(c->overlay, &m)) != TX_OK)
		return r;
	return emit_epoch_event(c, REGISTRY_EV_MASTER_KEY, epoch, ent.pubkey);
}

/* Whether new keys k may replace the published ones (old, when has_old) for the current master
 * epoch: TX_OK and *changed, or the refusal. Keys of an earlier epoch are a no-op (TX_OK,
 * unchanged). */
static enum tx_result keys_accept(struct runtime_ctx *c, const struct registry_keys *k,
                                  bool has_old, const struct registry_keys *old, bool *changed)
{
	struct registry_master m;
	bool found;
	enum tx_result r = load(c->overlay, get_master, &m, &found);
	*changed = false;
	if (r != TX_OK)
		return r;
	if (k->epoch < m.epoch)
		return TX_OK; /* stale: a rotation landed first; its keys are mandated */
	if (k->epoch > m.epoch)
		return TX_CALL_REG_KEY_CONFLICT;
	if (!m.published)
		return TX_CALL_REG_NO_MASTER_KEY;
	if (has_old && old->epoch == k->epoch) {
		bool same = memcmp(old->x25519, k->x25519, 32) == 0 &&
		            memcmp(old->ed25519, k->ed25519, 32) == 0;
		return same ? TX_OK : TX_CALL_REG_KEY_CONFLICT;
	}
	*changed = true;
	return TX_OK;
}

/* Decodes [id [32] ‖] cluster u32 ‖ epoch u32 ‖ x25519 [32] ‖ ed25519 [32]. */
static bool keys_payload_decode(const struct mq_message *m, uint8_t *id, struct registry_keys *k)
{
	struct dec d;
	memset(k, 0, sizeof(*k));
	dec_init(&d, m->payload, m->payload_len);
	if (id)
		dec_raw(&d, id, 32);
	k->cluster = dec_u32(&d);
	k->epoch = dec_u32(&d);
	dec_raw(&d, k->x25519, 32);
	dec_raw(&d, k->ed25519, 32);
	return dec_finish(&d) == CODEC_OK;
}

static enum tx_result emit_keys_event(struct runtime_ctx *c, uint8_t kind, const uint8_t *id,
                                      const struct registry_keys *k)
{
	uint8_t ev[1 + 104];
	ev[0] = kind;
	if (id)
		registry_contract_key_payload(ev + 1, id, k);
	else
		registry_cluster_key_payload(ev + 1, k);
	return emit(c, ev, id ? 105 : 73);
}

enum tx_result registry_on_cluster_key(struct runtime_ctx *c, const struct mq_message *msg)
{
	struct registry_keys k;
	struct cluster_rec rec;
	bool found, changed;
	enum tx_result r = need_gatekeeper_origin(msg);
	if (r != TX_OK)
		return r;
	if (!keys_payload_decode(msg, NULL, &k))
		return TX_CALL_MQ_BAD_MESSAGE;
	if ((r = load_cluster(c->overlay, k.cluster, &rec, &found)) != TX_OK)
		return r;
	if (!found)
		return TX_CALL_REG_UNKNOWN_CLUSTER;
	if ((r = keys_accept(c, &k, rec.has_keys, &rec.keys, &changed)) != TX_OK || !changed)
		return r;
	k.height = c->height;
	rec.has_keys = true;
	rec.keys = k;
	if ((r = store_cluster(c->overlay, k.cluster, &rec)) != TX_OK)
		return r;
	return emit_keys_event(c, REGISTRY_EV_CLUSTER_KEY, NULL, &k);
}

enum tx_result registry_on_contract_key(struct runtime_ctx *c, const struct mq_message *msg)
{
	struct registry_keys k;
	struct contracts_info info;
	struct state_reader rd;
	uint8_t id[32], key[64];
	bool changed;
	enum tx_result r = need_gatekeeper_origin(msg);
	if (r != TX_OK)
		return r;
	if (!keys_payload_decode(msg, id, &k))
		return TX_CALL_MQ_BAD_MESSAGE;
	state_overlay_reader(c->overlay, &rd);
	int rc = contracts_get(&rd, id, &info);
	if (rc < 0)
		return TX_STORAGE;
	if (rc == 0)
		return TX_CALL_CONTRACT_UNKNOWN;
	if (info.cluster != k.cluster)
		return TX_CALL_MQ_BAD_MESSAGE;
	if ((r = keys_accept(c, &k, info.has_keys, &info.keys, &changed)) != TX_OK || !changed)
		return r;
	k.height = c->height;
	if ((r = registry_write(c->overlay, key, registry_key_id(key, CONTRACT_PREFIX, id),
	                        encode_contract_keys, &k, 1 + KEYS_LEN)) != TX_OK)
		return r;
	return emit_keys_event(c, REGISTRY_EV_CONTRACT_KEY, id, &k);
}

/* ---- message origins ---- */

static enum tx_result origin_from_keys(int rc, bool has_keys, const struct registry_keys *k,
                                       uint8_t pk[32])
{
	if (rc < 0)
		return TX_STORAGE;
	if (rc == 0 || !has_keys)
		return TX_CALL_MQ_BAD_ORIGIN;
	memcpy(pk, k->ed25519, 32);
	return TX_OK;
}

enum tx_result registry_origin_key(const struct state_reader *rd, const struct mq_origin *origin,
                                   uint8_t pk[32])
{
	struct registry_worker w;
	struct registry_keys k;
	uint64_t created;
	bool has_keys;
	int rc;
	switch (origin->kind) {
	case MQ_ORIGIN_WORKER:
	case MQ_ORIGIN_GATEKEEPER:
		if ((rc = registry_worker_get(rd, origin->id, &w)) < 0)
			return TX_STORAGE;
		if (origin->kind == MQ_ORIGIN_GATEKEEPER && (rc == 0 || !w.is_gatekeeper))
			return TX_CALL_REG_NOT_GATEKEEPER;
		memcpy(pk, origin->id, 32);
		return rc ? TX_OK : TX_CALL_MQ_BAD_ORIGIN;
	case MQ_ORIGIN_CONTRACT:
		rc = registry_contract_keys_get(rd, origin->id, &k);
		return origin_from_keys(rc, true, &k, pk);
	case MQ_ORIGIN_CLUSTER:
		rc = registry_cluster_get(rd, origin->cluster, &created, &has_keys, &k);
		return origin_from_keys(rc, has_keys, &k, pk);
	default:
		return TX_CALL_MQ_BAD_ORIGIN;
	}
}

/* ---- the module ---- */

static const struct runtime_call registry_calls[] = {
    {REGISTRY_FN_REGISTER_WORKER, "registry.register_worker", REGISTER_WEIGHT, register_validate,
     register_admit, register_apply},
    {REGISTRY_FN_SET_POLICY, "registry.set_policy", ADMIN_WEIGHT, policy_validate,
     runtime_admit_sudo, policy_apply},
    {REGISTRY_FN_ADD_GATEKEEPER, "registry.add_gatekeeper", ADMIN_WEIGHT, identity_validate,
     runtime_admit_sudo, add_gk_apply},
    {REGISTRY_FN_REMOVE_GATEKEEPER, "registry.remove_gatekeeper", ADMIN_WEIGHT, identity_validate,
     runtime_admit_sudo, remove_gk_apply},
    {REGISTRY_FN_CREATE_CLUSTER, "registry.create_cluster", ADMIN_WEIGHT, create_cluster_validate,
     runtime_admit_sudo, create_cluster_apply},
    {REGISTRY_FN_ASSIGN_WORKER, "registry.assign_worker", ADMIN_WEIGHT, assign_validate,
     runtime_admit_sudo, assign_apply},
    {REGISTRY_FN_ROTATE_MASTER_KEY, "registry.rotate_master_key", ADMIN_WEIGHT, empty_validate,
     runtime_admit_sudo, rotate_apply},
};

const struct runtime_module registry_module = {
    RUNTIME_MODULE_REGISTRY,
    "registry",
    registry_calls,
    sizeof(registry_calls) / sizeof(registry_calls[0]),
};
