/*
 * Keys this enclave receives and derives (docs/protocol/worker.md "Gatekeeper and keys"): key
 * shares on "worker/<our id hex>/keys" (the master key history for a new gatekeeper, the cluster
 * key history for a worker assigned to a cluster) and the contract keys derived from them.
 *
 * A share is taken only from a gatekeeper origin in a verified block (the chain checked that a
 * current gatekeeper signed it), opened with our HPKE key under an AAD that binds the chain, the
 * master identity of its epoch, our identity, its sequence and its purpose, and kept only if its
 * keys match what the chain published (master public keys, the cluster's public keys).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool sys_cluster_keys_match(const struct sys_cluster *c, const uint8_t key[32])
{
	struct kdf_identity id;
	kdf_public_identity(&id, key);
	return c->published && memcmp(id.hpke_pk, c->x25519, 32) == 0 &&
	       memcmp(id.sign_pk, c->ed25519, 32) == 0;
}

/* The master history 0..n-1 must be one ratchet chain and match every published master key. */
static bool master_history_ok(const struct enclave_sys *s, const uint8_t *keys, uint32_t n)
{
	uint8_t next[32];
	bool ok = true;
	for (uint32_t i = 0; i < n && ok; i++) {
		struct kdf_identity id;
		kdf_public_identity(&id, keys + 32 * i);
		ok = i >= s->n_pks || memcmp(id.sign_pk, s->master_pks[i], 32) == 0;
		if (ok && i + 1 < n) {
			kdf_ratchet(next, keys + 32 * i);
			ok = sodium_memcmp(next, keys + 32 * (i + 1), 32) == 0;
		}
	}
	sodium_memzero(next, sizeof(next));
	return ok;
}

static const char *take_master(struct enclave *e, const uint8_t *pt, size_t n, uint32_t epoch)
{
	struct enclave_sys *s = e->sys;
	bool member = false;
	for (size_t i = 0; i < s->n_gks; i++)
		member |= memcmp(s->gks[i].id, e->identity, 32) == 0;
	if (!member || s->master->n > 0)
		return NULL; /* not for a gatekeeper that needs it any more */
	uint32_t k = n >= 4 ? get_u32(pt) : 0;
	if (n < 4 || k != epoch + 1 || n != 4 + (size_t)k * 32 || k > SYS_MAX_EPOCHS)
		return "malformed master key history";
	if (!master_history_ok(s, pt + 4, k))
		return "master key history does not match the chain";
	memcpy(s->master->key, pt + 4, (size_t)k * 32);
	/* Rotations since the share was made: the ratchet needs no one else. */
	for (s->master->n = k; s->master->n <= s->epoch && s->master->n < SYS_MAX_EPOCHS;
	     s->master->n++)
		kdf_ratchet(s->master->key[s->master->n], s->master->key[s->master->n - 1]);
	enclave_log(e, LOG_INFO, "gatekeeper: received the master key (epochs 0..%u)",
	            s->master->n - 1);
	return NULL;
}

static const char *take_cluster(struct enclave *e, const uint8_t *pt, size_t n, uint32_t epoch)
{
	struct enclave_sys *s = e->sys;
	if (n < 8)
		return "malformed cluster keys";
	uint32_t cluster = get_u32(pt), k = get_u32(pt + 4);
	if (k != epoch + 1 || n != 8 + (size_t)k * 32 || k > SYS_MAX_EPOCHS)
		return "malformed cluster keys";
	if (cluster != s->my_cluster)
		return NULL; /* reassigned since: the share for the new cluster follows */
	const struct sys_cluster *c = sys_cluster_find(s, cluster);
	if (!c || !c->published || c->pub_epoch >= k ||
	    !sys_cluster_keys_match(c, pt + 8 + 32 * c->pub_epoch))
		return "cluster keys do not match the chain's";
	memcpy(s->cluster_keys->key, pt + 8, (size_t)k * 32);
	s->cluster_keys->n = k;
	enclave_log(e, LOG_INFO, "keys: received cluster %u keys (epochs 0..%u)", cluster, k - 1);
	return NULL;
}

/* Opens a share's envelope into pt (room for len bytes): NULL or the reason it was refused. */
static const char *open_share(struct enclave *e, const struct mq_message *m, const char *purpose,
                              uint32_t epoch, uint8_t *pt, size_t *pt_len)
{
	struct enclave_sys *s = e->sys;
	if (epoch >= s->n_pks)
		return "no published master key for its epoch";
	struct env_keyshare_ctx ctx = {.seq = m->sequence, .purpose = purpose};
	memcpy(ctx.chain_id, e->chain_id, 32);
	memcpy(ctx.sender, s->master_pks[epoch], 32);
	memcpy(ctx.recipient, e->identity, 32);
	enum env_result r = env_keyshare_open(e->sec->hpke_sk, e->hpke_pk, &ctx, m->payload + 5,
	                                      m->payload_len - 5, pt, pt_len);
	return r == ENV_OK ? NULL : env_strerror(r);
}

enum enclave_result sys_on_keys(struct enclave *e, const struct mq_message *m)
{
	char topic[SYS_KEYS_TOPIC_LEN + 1];
	sys_keys_topic(topic, e->identity);
	if (m->topic_len != SYS_KEYS_TOPIC_LEN || memcmp(m->topic, topic, SYS_KEYS_TOPIC_LEN) != 0)
		return ENCLAVE_OK; /* another worker's */
	const char *why = "not from a gatekeeper";
	if (m->origin.kind == MQ_ORIGIN_GATEKEEPER)
		why = m->payload_len < 5 || m->payload[0] > SYS_SHARE_CLUSTER ? "malformed" : NULL;
	uint8_t *pt = NULL;
	if (!why && !(pt = sodium_malloc(m->payload_len)))
		return ENCLAVE_NOMEM;
	if (!why) {
		bool master = m->payload[0] == SYS_SHARE_MASTER;
		uint32_t epoch = get_u32(m->payload + 1);
		size_t n;
		why = open_share(e, m, master ? SYS_PURPOSE_MASTER : SYS_PURPOSE_CLUSTER, epoch, pt,
		                 &n);
		if (!why)
			why = master ? take_master(e, pt, n, epoch) : take_cluster(e, pt, n, epoch);
		sodium_free(pt); /* wipes */
	}
	if (why)
		enclave_log(e, LOG_WARN, "keys: key share %llu refused: %s",
		            (unsigned long long)m->sequence, why);
	return ENCLAVE_OK;
}

bool enclave_contract_keys(struct enclave *e, const uint8_t id[32], uint32_t cluster,
                           uint8_t hpke_pk[32], uint8_t hpke_sk[32], uint8_t sign_pk[32],
                           uint8_t sign_sk[64])
{
	struct enclave_sys *s = e->sys;
	const struct sys_contract *c = sys_contract_find(s, id);
	if (!c || !c->keyed || c->cluster != cluster || cluster != s->my_cluster)
		return false;
	uint8_t key[32];
	if (s->cluster_keys->n > c->epoch)
		memcpy(key, s->cluster_keys->key[c->epoch], 32);
	else if (!sys_gk_cluster_key(s, cluster, c->epoch, key))
		return false;
	kdf_contract_key(key, key, id);
	kdf_hpke_keypair(hpke_pk, hpke_sk, key);
	kdf_sign_keypair(sign_pk, sign_sk, key);
	sodium_memzero(key, sizeof(key));
	return true;
}
