/*
 * The enclave's system side (docs/protocol/worker.md "Gatekeeper and keys"): the public view of
 * the registry built from verified events of module:registry and module:contracts, the keys this
 * worker receives on "worker/<id>/keys", the contract keys it derives, and its checkpoint
 * section. What a gatekeeper emits is in enclave_gk.c.
 *
 * Trust: an event counts only if a verified block carries it from the module's origin (any
 * registered worker can send a message on topic "registry/event", but not from
 * "module:registry"); a key share counts only from a gatekeeper origin (the chain checked the
 * signature of a current gatekeeper), and only if its keys match what the chain published.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "chain/contracts.h"
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool enclave_sys_new(struct enclave *e)
{
	struct enclave_sys *s = calloc(1, sizeof(*s));
	e->sys = s;
	if (!s)
		return false;
	s->my_cluster = UINT32_MAX;
	s->master = sodium_malloc(sizeof(*s->master));
	s->cluster_keys = sodium_malloc(sizeof(*s->cluster_keys));
	if (!s->master || !s->cluster_keys)
		return false;
	sodium_memzero(s->master, sizeof(*s->master));
	sodium_memzero(s->cluster_keys, sizeof(*s->cluster_keys));
	return enclave_egress_new(e);
}

void enclave_sys_free(struct enclave *e)
{
	enclave_egress_free(e);
	if (!e->sys)
		return;
	sodium_free(e->sys->master); /* wipes */
	sodium_free(e->sys->cluster_keys);
	free(e->sys);
	e->sys = NULL;
}

void enclave_sys_status(const struct enclave *e, struct enclave_status *out)
{
	out->registered = e->sys->registered;
	out->gatekeeper = sys_gk_active(e->sys);
	out->cluster = e->sys->my_cluster;
	out->has_cluster_key = e->sys->my_cluster != UINT32_MAX &&
	                       (e->sys->cluster_keys->n > 0 || sys_gk_active(e->sys));
	out->n_egress = enclave_egress_count(e);
}

struct sys_cluster *sys_cluster_find(struct enclave_sys *s, uint32_t id)
{
	for (size_t i = 0; i < s->n_clusters; i++)
		if (s->clusters[i].id == id)
			return &s->clusters[i];
	return NULL;
}

struct sys_contract *sys_contract_find(struct enclave_sys *s, const uint8_t id[32])
{
	for (size_t i = 0; i < s->n_contracts; i++)
		if (memcmp(s->contracts[i].id, id, 32) == 0)
			return &s->contracts[i];
	return NULL;
}

/* ---- registry events ---------------------------------------------------------------------- */

static enum enclave_result ev_registered(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	struct registry_worker w;
	if (registry_worker_decode(&w, b, REGISTRY_WORKER_LEN) != CODEC_OK)
		return ENCLAVE_OK;
	/* A re-registration may carry a new HPKE key: later shares go to it. */
	for (size_t i = 0; i < s->n_workers; i++)
		if (memcmp(s->workers[i].id, w.identity, 32) == 0)
			memcpy(s->workers[i].hpke, w.hpke_pk, 32);
	for (size_t i = 0; i < s->n_gks; i++)
		if (memcmp(s->gks[i].id, w.identity, 32) == 0)
			memcpy(s->gks[i].hpke, w.hpke_pk, 32);
	if (memcmp(w.identity, e->identity, 32) == 0 && memcmp(w.hpke_pk, e->hpke_pk, 32) == 0 &&
	    !s->registered) {
		s->registered = true;
		enclave_log(e, LOG_INFO, "registry: this worker is registered");
	}
	return ENCLAVE_OK;
}

static enum enclave_result ev_gk_added(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	for (size_t i = 0; i < s->n_gks; i++)
		if (memcmp(s->gks[i].id, b, 32) == 0)
			return ENCLAVE_OK;
	if (s->n_gks == REGISTRY_MAX_GATEKEEPERS)
		return ENCLAVE_OK; /* the chain holds no more either */
	struct sys_member *g = &s->gks[s->n_gks++];
	memcpy(g->id, b, 32);
	memcpy(g->hpke, b + 32, 32);
	if (memcmp(g->id, e->identity, 32) == 0)
		enclave_log(e, LOG_INFO, "registry: this worker is elected gatekeeper");
	return s->master_mandated ? sys_gk_share_master(e, g) : sys_gk_first(e, g->id);
}

/* The last gatekeeper left before any master key was published: the chain accepted no
 * gatekeeper message (the first one mandated is the master key, whose acceptance publishes it),
 * so its shared sequence is still 0 and the next gatekeeper starts the protocol afresh. */
static void gk_reset(struct enclave_sys *s)
{
	s->master_mandated = false;
	s->gk_seq = 0;
	for (size_t i = 0; i < s->n_contracts; i++)
		s->contracts[i].keyed = false;
}

static enum enclave_result ev_gk_removed(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	size_t i = 0;
	while (i < s->n_gks && memcmp(s->gks[i].id, b, 32) != 0)
		i++;
	if (i == s->n_gks)
		return ENCLAVE_OK;
	memmove(&s->gks[i], &s->gks[i + 1], (s->n_gks - i - 1) * sizeof(s->gks[0]));
	s->n_gks--;
	if (memcmp(b, e->identity, 32) == 0)
		sys_gk_retire(e, "removed from the gatekeepers");
	if (s->n_gks == 0 && !s->master_published)
		gk_reset(s);
	return ENCLAVE_OK;
}

static enum enclave_result ev_cluster_created(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	uint32_t id = get_u32(b);
	if (sys_cluster_find(s, id))
		return ENCLAVE_OK;
	if (s->n_clusters == SYS_MAX_CLUSTERS) {
		enclave_log(e, LOG_ERROR, "registry: cluster %u ignored: %d clusters tracked", id,
		            SYS_MAX_CLUSTERS);
		return ENCLAVE_OK;
	}
	struct sys_cluster *c = &s->clusters[s->n_clusters++];
	memset(c, 0, sizeof(*c));
	c->id = id;
	return s->master_mandated ? sys_gk_publish_cluster(e, c) : ENCLAVE_OK;
}

static enum enclave_result ev_worker_assigned(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	uint32_t cluster = get_u32(b + 64);
	if (memcmp(b, e->identity, 32) == 0 && s->my_cluster != cluster) {
		s->my_cluster = cluster;
		sodium_memzero(s->cluster_keys, sizeof(*s->cluster_keys));
		enclave_log(e, LOG_INFO, "registry: this worker is assigned to cluster %u",
		            cluster);
	}
	struct sys_worker *w = NULL;
	for (size_t i = 0; i < s->n_workers && !w; i++)
		if (memcmp(s->workers[i].id, b, 32) == 0)
			w = &s->workers[i];
	if (!w && s->n_workers == SYS_MAX_WORKERS) {
		enclave_log(e, LOG_ERROR, "registry: assignment ignored: %d workers tracked",
		            SYS_MAX_WORKERS);
		return ENCLAVE_OK;
	}
	if (!w)
		w = &s->workers[s->n_workers++];
	memcpy(w->id, b, 32);
	memcpy(w->hpke, b + 32, 32);
	w->cluster = cluster;
	if (!s->master_mandated || !sys_cluster_find(s, cluster))
		return ENCLAVE_OK; /* shared with the epoch once there is a master key */
	return sys_gk_share_cluster(e, w);
}

static enum enclave_result ev_rotation(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	uint32_t epoch = get_u32(b);
	if (!s->master_mandated || epoch != s->epoch + 1) {
		enclave_log(e, LOG_ERROR, "registry: rotation to epoch %u out of order (at %u)",
		            epoch, s->epoch);
		return ENCLAVE_OK;
	}
	if (epoch >= SYS_MAX_EPOCHS) {
		enclave_log(e, LOG_ERROR,
		            "registry: rotation to epoch %u beyond the %d kept; "
		            "gatekeepers stop publishing",
		            epoch, SYS_MAX_EPOCHS);
		s->epoch = epoch;
		s->master_mandated = false;
		sys_gk_retire(e, "epoch cap reached");
		return ENCLAVE_OK;
	}
	return sys_gk_rotate(e, epoch);
}

static enum enclave_result ev_master_key(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	uint32_t epoch = get_u32(b);
	s->master_published = true;
	if (epoch == s->n_pks && epoch < SYS_MAX_EPOCHS)
		memcpy(s->master_pks[s->n_pks++], b + 4, 32);
	if (s->master->n > epoch) {
		struct kdf_identity id;
		kdf_public_identity(&id, s->master->key[epoch]);
		if (memcmp(id.sign_pk, b + 4, 32) != 0)
			sys_gk_retire(e, "the chain published another master key");
	}
	return ENCLAVE_OK;
}

static enum enclave_result ev_cluster_key(struct enclave *e, const uint8_t *b)
{
	struct enclave_sys *s = e->sys;
	struct sys_cluster *c = sys_cluster_find(s, get_u32(b));
	if (!c)
		return ENCLAVE_OK;
	c->published = true;
	c->pub_epoch = get_u32(b + 4);
	memcpy(c->x25519, b + 8, 32);
	memcpy(c->ed25519, b + 40, 32);
	if (c->id == s->my_cluster && s->cluster_keys->n > c->pub_epoch &&
	    !sys_cluster_keys_match(c, s->cluster_keys->key[c->pub_epoch])) {
		enclave_log(e, LOG_ERROR, "keys: cluster %u keys differ from the chain's; dropped",
		            c->id);
		sodium_memzero(s->cluster_keys, sizeof(*s->cluster_keys));
	}
	return ENCLAVE_OK;
}

struct ev_route {
	uint8_t kind;
	size_t len; /* of the body after the kind byte */
	enum enclave_result (*fn)(struct enclave *e, const uint8_t *body);
};

static const struct ev_route ev_routes[] = {
    {REGISTRY_EV_WORKER_REGISTERED, REGISTRY_WORKER_LEN, ev_registered},
    {REGISTRY_EV_GATEKEEPER_ADDED, 64, ev_gk_added},
    {REGISTRY_EV_GATEKEEPER_REMOVED, 32, ev_gk_removed},
    {REGISTRY_EV_CLUSTER_CREATED, 4, ev_cluster_created},
    {REGISTRY_EV_WORKER_ASSIGNED, 68, ev_worker_assigned},
    {REGISTRY_EV_MASTER_KEY_ROTATION, 4, ev_rotation},
    {REGISTRY_EV_MASTER_KEY, 36, ev_master_key},
    {REGISTRY_EV_CLUSTER_KEY, 72, ev_cluster_key},
};

static bool from_module(const struct mq_message *m, const char *module)
{
	return m->origin.kind == MQ_ORIGIN_MODULE && strcmp(m->origin.module, module) == 0;
}

enum enclave_result sys_on_registry(struct enclave *e, const struct mq_message *m)
{
	if (!from_module(m, "registry") || m->payload_len == 0)
		return ENCLAVE_OK;
	for (size_t i = 0; i < sizeof(ev_routes) / sizeof(ev_routes[0]); i++)
		if (ev_routes[i].kind == m->payload[0]) {
			if (m->payload_len - 1 != ev_routes[i].len) {
				enclave_log(e, LOG_WARN, "registry: event %u of %zu bytes ignored",
				            m->payload[0], m->payload_len);
				return ENCLAVE_OK;
			}
			return ev_routes[i].fn(e, m->payload + 1);
		}
	return ENCLAVE_OK; /* an event this build does not use */
}

/* contracts/event: a deploy gets its keys published in the current epoch. */
enum enclave_result sys_on_contracts(struct enclave *e, const struct mq_message *m)
{
	struct enclave_sys *s = e->sys;
	if (!from_module(m, "contracts"))
		return ENCLAVE_OK;
	struct dec d;
	uint8_t id[32], deployer[32];
	size_t n;
	dec_init(&d, m->payload, m->payload_len);
	if (dec_u8(&d) != CONTRACTS_EV_DEPLOYED)
		return ENCLAVE_OK;
	dec_raw(&d, id, 32);
	uint32_t cluster = dec_u32(&d);
	dec_raw(&d, deployer, 32);
	dec_bytes(&d, &n, CONTRACTS_CODE_MAX);
	dec_bytes(&d, &n, CONTRACT_ARGS_MAX);
	if (dec_finish(&d) != CODEC_OK || sys_contract_find(s, id))
		return ENCLAVE_OK;
	if (s->n_contracts == SYS_MAX_CONTRACTS) {
		enclave_log(e, LOG_ERROR, "registry: contract ignored: %d contracts tracked",
		            SYS_MAX_CONTRACTS);
		return ENCLAVE_OK;
	}
	struct sys_contract *c = &s->contracts[s->n_contracts++];
	memset(c, 0, sizeof(*c));
	memcpy(c->id, id, 32);
	c->cluster = cluster;
	return s->master_mandated ? sys_gk_publish_contract(e, c) : ENCLAVE_OK;
}

/* ---- checkpoint section ------------------------------------------------------------------- */

static void ring_encode(struct enc *p, const struct sys_keyring *k)
{
	enc_uleb(p, k->n);
	enc_raw(p, k->key, (size_t)k->n * 32);
}

static void ring_decode(struct dec *d, struct sys_keyring *k)
{
	k->n = (uint32_t)dec_uleb(d, SYS_MAX_EPOCHS);
	dec_raw(d, k->key, (size_t)k->n * 32);
}

static void view_encode(struct enc *p, const struct enclave_sys *s)
{
	enc_bool(p, s->registered);
	enc_bool(p, s->master_mandated);
	enc_bool(p, s->master_published);
	enc_u32(p, s->epoch);
	enc_u64(p, s->gk_seq);
	enc_uleb(p, s->n_pks);
	enc_raw(p, s->master_pks, (size_t)s->n_pks * 32);
	enc_uleb(p, s->n_gks);
	for (size_t i = 0; i < s->n_gks; i++) {
		enc_raw(p, s->gks[i].id, 32);
		enc_raw(p, s->gks[i].hpke, 32);
	}
	enc_uleb(p, s->n_clusters);
	for (size_t i = 0; i < s->n_clusters; i++) {
		const struct sys_cluster *c = &s->clusters[i];
		enc_u32(p, c->id);
		enc_bool(p, c->published);
		enc_u32(p, c->pub_epoch);
		enc_raw(p, c->x25519, 32);
		enc_raw(p, c->ed25519, 32);
	}
	enc_uleb(p, s->n_workers);
	for (size_t i = 0; i < s->n_workers; i++) {
		enc_raw(p, s->workers[i].id, 32);
		enc_raw(p, s->workers[i].hpke, 32);
		enc_u32(p, s->workers[i].cluster);
	}
	enc_uleb(p, s->n_contracts);
	for (size_t i = 0; i < s->n_contracts; i++) {
		enc_raw(p, s->contracts[i].id, 32);
		enc_u32(p, s->contracts[i].cluster);
		enc_bool(p, s->contracts[i].keyed);
		enc_u32(p, s->contracts[i].epoch);
	}
	enc_u32(p, s->my_cluster);
}

static void view_decode(struct dec *d, struct enclave_sys *s)
{
	s->registered = dec_bool(d);
	s->master_mandated = dec_bool(d);
	s->master_published = dec_bool(d);
	s->epoch = dec_u32(d);
	s->gk_seq = dec_u64(d);
	s->n_pks = (uint32_t)dec_uleb(d, SYS_MAX_EPOCHS);
	dec_raw(d, s->master_pks, (size_t)s->n_pks * 32);
	s->n_gks = (size_t)dec_uleb(d, REGISTRY_MAX_GATEKEEPERS);
	for (size_t i = 0; i < s->n_gks; i++) {
		dec_raw(d, s->gks[i].id, 32);
		dec_raw(d, s->gks[i].hpke, 32);
	}
	s->n_clusters = (size_t)dec_uleb(d, SYS_MAX_CLUSTERS);
	for (size_t i = 0; i < s->n_clusters; i++) {
		struct sys_cluster *c = &s->clusters[i];
		c->id = dec_u32(d);
		c->published = dec_bool(d);
		c->pub_epoch = dec_u32(d);
		dec_raw(d, c->x25519, 32);
		dec_raw(d, c->ed25519, 32);
	}
	s->n_workers = (size_t)dec_uleb(d, SYS_MAX_WORKERS);
	for (size_t i = 0; i < s->n_workers; i++) {
		dec_raw(d, s->workers[i].id, 32);
		dec_raw(d, s->workers[i].hpke, 32);
		s->workers[i].cluster = dec_u32(d);
	}
	s->n_contracts = (size_t)dec_uleb(d, SYS_MAX_CONTRACTS);
	for (size_t i = 0; i < s->n_contracts; i++) {
		dec_raw(d, s->contracts[i].id, 32);
		s->contracts[i].cluster = dec_u32(d);
		s->contracts[i].keyed = dec_bool(d);
		s->contracts[i].epoch = dec_u32(d);
	}
	s->my_cluster = dec_u32(d);
}

void enclave_sys_encode(const struct enclave *e, struct enc *p)
{
	view_encode(p, e->sys);
	ring_encode(p, e->sys->master);
	ring_encode(p, e->sys->cluster_keys);
	enclave_egress_encode(e, p);
}

void enclave_sys_decode(struct enclave *e, struct dec *d)
{
	view_decode(d, e->sys);
	ring_decode(d, e->sys->master);
	ring_decode(d, e->sys->cluster_keys);
	enclave_egress_decode(e, d);
}
