/*
 * What the gatekeepers emit (DESIGN.md §10; docs/protocol/worker.md "Gatekeeper and keys").
 *
 * Every gatekeeper runs the same deterministic protocol over the same verified events, and every
 * output is a pure function of those events and the master key history: publications of public
 * keys ("^registry/..."), and key shares sealed with env_keyshare_seal under the master key with
 * the master's identity as sender (deterministic ephemeral). So all gatekeepers sign byte-identical
 * payloads with the same shared sequence number, and the chain takes whichever copy comes first.
 *
 * Key tree (crypto/kdf.h): master(0) is derived from the first gatekeeper's identity seed (random
 * from its platform, never leaves the enclave but sealed);
 * master(n + 1) = kdf_ratchet(master(n)), so gatekeepers rotate without a coordination round.
 * cluster(c, n) = kdf_cluster_key(master(n), c); a contract's key derives from the cluster key of
 * the epoch in which its key was first published, and keeps it.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/log.h"
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"

#define SHARE_PT_MAX  (8 + SYS_MAX_EPOCHS * 32)
#define SHARE_MSG_MAX (1 + 4 + SHARE_PT_MAX + HPKE_ENVELOPE_OVERHEAD)

bool sys_gk_active(const struct enclave_sys *s)
{
	return s->master->n > 0 && s->master->n == s->epoch + 1;
}

bool sys_gk_cluster_key(const struct enclave_sys *s, uint32_t cluster, uint32_t epoch,
                        uint8_t out[32])
{
	if (epoch >= s->master->n)
		return false;
	kdf_cluster_key(out, s->master->key[epoch], cluster);
	return true;
}

void sys_keys_topic(char out[SYS_KEYS_TOPIC_LEN + 1], const uint8_t id[32])
{
	memcpy(out, SYS_KEYS_TOPIC_PREFIX, 7);
	hex_encode(out + 7, id, 32);
	memcpy(out + 7 + 64, SYS_KEYS_TOPIC_SUFFIX, sizeof(SYS_KEYS_TOPIC_SUFFIX));
}

/* Takes the next shared sequence; true if this enclave emits its copy. */
static bool gk_take(struct enclave *e, uint64_t *seq)
{
	*seq = e->sys->gk_seq++;
	return sys_gk_active(e->sys);
}

static enum enclave_result gk_queue(struct enclave *e, const char *topic, const uint8_t *payload,
                                    size_t len, uint64_t seq)
{
	struct mq_origin o = {.kind = MQ_ORIGIN_GATEKEEPER};
	memcpy(o.id, e->identity, 32);
	enum enclave_result r =
	    sys_egress_push_at(e, &o, e->sec->identity_sk, topic, payload, len, seq);
	if (r == ENCLAVE_NOMEM)
		return r;
	if (r != ENCLAVE_OK)
		enclave_log(e, LOG_ERROR,
		            "gatekeeper: message %llu on %s not queued (%s); the other gatekeepers "
		            "must deliver it",
		            (unsigned long long)seq, topic, enclave_strerror(r));
	return ENCLAVE_OK;
}

static void keys_of(struct registry_keys *k, uint32_t cluster, uint32_t epoch,
                    const uint8_t node[32])
{
	struct kdf_identity id;
	kdf_public_identity(&id, node);
	memset(k, 0, sizeof(*k));
	k->cluster = cluster;
	k->epoch = epoch;
	memcpy(k->x25519, id.hpke_pk, 32);
	memcpy(k->ed25519, id.sign_pk, 32);
}

static enum enclave_result gk_publish_master(struct enclave *e)
{
	struct enclave_sys *s = e->sys;
	uint64_t seq;
	if (!gk_take(e, &seq))
		return ENCLAVE_OK;
	struct kdf_identity id;
	uint8_t p[36];
	kdf_public_identity(&id, s->master->key[s->epoch]);
	registry_master_key_payload(p, s->epoch, id.sign_pk);
	return gk_queue(e, REGISTRY_TOPIC_MASTER_KEY, p, sizeof(p), seq);
}

enum enclave_result sys_gk_publish_cluster(struct enclave *e, const struct sys_cluster *c)
{
	struct enclave_sys *s = e->sys;
	uint64_t seq;
	if (!gk_take(e, &seq))
		return ENCLAVE_OK;
	uint8_t key[32], p[72];
	struct registry_keys k;
	sys_gk_cluster_key(s, c->id, s->epoch, key);
	keys_of(&k, c->id, s->epoch, key);
	sodium_memzero(key, sizeof(key));
	registry_cluster_key_payload(p, &k);
	return gk_queue(e, REGISTRY_TOPIC_CLUSTER_KEY, p, sizeof(p), seq);
}

enum enclave_result sys_gk_publish_contract(struct enclave *e, struct sys_contract *c)
{
	struct enclave_sys *s = e->sys;
	c->keyed = true;
	c->epoch = s->epoch;
	uint64_t seq;
	if (!gk_take(e, &seq))
		return ENCLAVE_OK;
	uint8_t key[32], p[104];
	struct registry_keys k;
	sys_gk_cluster_key(s, c->cluster, c->epoch, key);
	kdf_contract_key(key, key, c->id);
	keys_of(&k, c->cluster, c->epoch, key);
	sodium_memzero(key, sizeof(key));
	registry_contract_key_payload(p, c->id, &k);
	return gk_queue(e, REGISTRY_TOPIC_CONTRACT_KEY, p, sizeof(p), seq);
}

/* Seals pt[0..n) for `to` and queues kind ‖ epoch ‖ envelope on its keys topic. */
static enum enclave_result gk_share(struct enclave *e, uint8_t kind, const char *purpose,
                                    const uint8_t to_id[32], const uint8_t to_hpke[32],
                                    const uint8_t *pt, size_t n, uint64_t seq)
{
	struct enclave_sys *s = e->sys;
	const uint8_t *master = s->master->key[s->epoch];
	struct kdf_identity mid;
	kdf_public_identity(&mid, master);
	struct env_keyshare_ctx ctx = {.seq = seq, .purpose = purpose};
	memcpy(ctx.chain_id, e->chain_id, 32);
	memcpy(ctx.sender, mid.sign_pk, 32);
	memcpy(ctx.recipient, to_id, 32);
	uint8_t *msg = malloc(SHARE_MSG_MAX); /* ciphertext: no secret */
	if (!msg)
		return ENCLAVE_NOMEM;
	msg[0] = kind;
	for (int i = 0; i < 4; i++)
		msg[1 + i] = (uint8_t)(s->epoch >> (8 * i));
	char topic[SYS_KEYS_TOPIC_LEN + 1];
	sys_keys_topic(topic, to_id);
	enum enclave_result r = ENCLAVE_OK;
	enum env_result er = env_keyshare_seal(master, to_hpke, &ctx, pt, n, msg + 5);
	if (er == ENV_OK)
		r = gk_queue(e, topic, msg, 5 + n + HPKE_ENVELOPE_OVERHEAD, seq);
	else /* share_possible checked the key: unreachable short of a bug */
		enclave_log(e, LOG_ERROR, "gatekeeper: key share %llu not sealed: %s",
		            (unsigned long long)seq, env_strerror(er));
	free(msg);
	return r;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Whether anything can be sealed to pk (not of small order). Every enclave decides it the same
 * way before a share takes a sequence: a share no gatekeeper can seal must not hold up the
 * shared sequence. */
static bool share_possible(struct enclave *e, const uint8_t pk[32])
{
	static const uint8_t scalar[32] = {9};
	uint8_t out[32];
	bool ok = crypto_scalarmult(out, scalar, pk) == 0;
	if (!ok)
		enclave_log(e, LOG_ERROR,
		            "gatekeeper: a registered HPKE key is unusable; no share");
	return ok;
}

enum enclave_result sys_gk_share_master(struct enclave *e, const struct sys_member *to)
{
	struct enclave_sys *s = e->sys;
	uint64_t seq;
	if (!share_possible(e, to->hpke) || !gk_take(e, &seq))
		return ENCLAVE_OK;
	uint8_t *pt = sodium_malloc(SHARE_PT_MAX);
	if (!pt)
		return ENCLAVE_NOMEM;
	uint32_t n = s->master->n;
	put_u32(pt, n);
	memcpy(pt + 4, s->master->key, (size_t)n * 32);
	enum enclave_result r = gk_share(e, SYS_SHARE_MASTER, SYS_PURPOSE_MASTER, to->id, to->hpke,
	                                 pt, 4 + n * 32, seq);
	sodium_free(pt); /* wipes */
	return r;
}

enum enclave_result sys_gk_share_cluster(struct enclave *e, const struct sys_worker *w)
{
	struct enclave_sys *s = e->sys;
	uint64_t seq;
	if (!share_possible(e, w->hpke) || !gk_take(e, &seq))
		return ENCLAVE_OK;
	uint8_t *pt = sodium_malloc(SHARE_PT_MAX);
	if (!pt)
		return ENCLAVE_NOMEM;
	uint32_t n = s->master->n;
	put_u32(pt, w->cluster);
	put_u32(pt + 4, n);
	for (uint32_t i = 0; i < n; i++)
		sys_gk_cluster_key(s, w->cluster, i, pt + 8 + 32 * i);
	enum enclave_result r = gk_share(e, SYS_SHARE_CLUSTER, SYS_PURPOSE_CLUSTER, w->id, w->hpke,
	                                 pt, 8 + n * 32, seq);
	sodium_free(pt);
	return r;
}

enum enclave_result sys_gk_epoch(struct enclave *e)
{
	struct enclave_sys *s = e->sys;
	s->master_mandated = true;
	enum enclave_result r = gk_publish_master(e);
	for (size_t i = 0; i < s->n_clusters && r == ENCLAVE_OK; i++)
		r = sys_gk_publish_cluster(e, &s->clusters[i]);
	for (size_t i = 0; i < s->n_workers && r == ENCLAVE_OK; i++)
		if (sys_cluster_find(s, s->workers[i].cluster))
			r = sys_gk_share_cluster(e, &s->workers[i]);
	for (size_t i = 0; i < s->n_contracts && r == ENCLAVE_OK; i++)
		if (!s->contracts[i].keyed)
			r = sys_gk_publish_contract(e, &s->contracts[i]);
	return r;
}

enum enclave_result sys_gk_first(struct enclave *e, const uint8_t id[32])
{
	struct enclave_sys *s = e->sys;
	if (memcmp(id, e->identity, 32) == 0) {
		/* From the identity seed, itself platform randomness drawn inside the enclave at
		 * its first start: a gatekeeper that crashes after its master key went out and
		 * replays from an earlier checkpoint (any checkpoint holds the identity) makes the
		 * same key again, instead of a second one that the chain's published key would
		 * contradict. */
		kdf_derive(s->master->key[0], 32, e->sec->identity_sk, SYS_LABEL_MASTER_SEED,
		           e->chain_id, 32);
		for (s->master->n = 1; s->master->n <= s->epoch; s->master->n++)
			kdf_ratchet(s->master->key[s->master->n], s->master->key[s->master->n - 1]);
		enclave_log(e, LOG_INFO, "gatekeeper: generated the master key (epoch %u)",
		            s->epoch);
	}
	return sys_gk_epoch(e);
}

enum enclave_result sys_gk_rotate(struct enclave *e, uint32_t epoch)
{
	struct enclave_sys *s = e->sys;
	bool active = sys_gk_active(s);
	s->epoch = epoch;
	if (active && epoch == s->master->n) {
		kdf_ratchet(s->master->key[epoch], s->master->key[epoch - 1]);
		s->master->n++;
		enclave_log(e, LOG_INFO, "gatekeeper: master key rotated to epoch %u", epoch);
	} else if (active) {
		sys_gk_retire(e, "rotation skipped an epoch");
	}
	return sys_gk_epoch(e);
}

void sys_gk_retire(struct enclave *e, const char *why)
{
	struct enclave_sys *s = e->sys;
	if (s->master->n > 0)
		enclave_log(e, LOG_WARN, "gatekeeper: master key dropped: %s", why);
	sodium_memzero(s->master, sizeof(*s->master));
	sys_egress_drop_kind(e, MQ_ORIGIN_GATEKEEPER);
}
