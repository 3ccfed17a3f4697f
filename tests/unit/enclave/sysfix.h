/*
 * The enclave's system side under test (test_gk.c, test_egress.c): enclaves on the in-test
 * platform and the dev chain of tests/contracts/testplat.h, and the chain's mq module as it
 * takes what enclaves submit (signature by the origin's key, the exact next sequence;
 * "^registry/..." topics consumed into the registry event the chain emits and mq's consumed
 * notice, other topics forwarded).
 */
#ifndef TN_TEST_SYSFIX_H
#define TN_TEST_SYSFIX_H

#include "../../contracts/testplat.h"
#include "check.h"
#include "crypto/sig.h"
#include "enclave/enclave_int.h"

#define FIX_MAX_SEQS 16

static inline struct enclave_config fix_config(size_t max_egress)
{
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = max_egress, .max_state_bytes = 4 << 20};
	return cfg;
}

/* A new enclave on tp, started on the dev chain: fresh, or (from not NULL) restarted from a
 * checkpoint of from. */
static inline struct enclave *fix_started(struct testplat *tp, size_t max_egress,
                                          struct enclave *from)
{
	struct enclave_config cfg = fix_config(max_egress);
	return testplat_started(tp, &cfg, from);
}

struct fix_seq {
	struct mq_origin o;
	uint64_t next;
};

/* The test chain and, for what the enclaves submit, the chain's mq acceptance state. */
struct fix_chain {
	struct testplat_chain tc;
	struct fix_seq seqs[FIX_MAX_SEQS];
	size_t n_seqs;
	uint8_t gks[8][32]; /* current gatekeepers, as the registry knows them */
	size_t n_gks;
};

static inline void fix_chain_init(struct fix_chain *c)
{
	memset(c, 0, sizeof(*c));
	testplat_chain_init(&c->tc);
}

static inline void fix_ev_gk_added(struct fix_chain *c, const struct testplat_worker *w)
{
	memcpy(c->gks[c->n_gks++], w->id, 32);
	testplat_ev_gk_added(&c->tc, w);
}

static inline void fix_ev_rotation(struct fix_chain *c, uint32_t epoch)
{
	uint8_t b[4];
	testplat_put_u32(b, epoch);
	testplat_registry_event(&c->tc, REGISTRY_EV_MASTER_KEY_ROTATION, b, sizeof(b));
}

/* contracts.deploy of `code` in cluster; the contract id is returned in id. */
static inline void fix_deploy(struct fix_chain *c, uint32_t cluster, const char *code,
                              uint8_t id[32])
{
	uint8_t deployer[32] = {0xde};
	testplat_deploy(&c->tc, deployer, cluster, code, (uint8_t)c->tc.height, id);
}

/* The next block, fed to every enclave of es (NULL entries skipped). */
static inline void fix_block(struct fix_chain *c, struct enclave **es, size_t n)
{
	CHECK(testplat_block(&c->tc, es, n) == ENCLAVE_OK);
}

/* The chain's sequence slot of an origin (gatekeepers share one). */
static inline uint64_t *fix_seq(struct fix_chain *c, const struct mq_origin *o)
{
	for (size_t i = 0; i < c->n_seqs; i++) {
		const struct mq_origin *s = &c->seqs[i].o;
		if (s->kind == o->kind &&
		    (o->kind == MQ_ORIGIN_GATEKEEPER || memcmp(s->id, o->id, 32) == 0))
			return &c->seqs[i].next;
	}
	CHECK(c->n_seqs < FIX_MAX_SEQS);
	c->seqs[c->n_seqs].o = *o;
	c->seqs[c->n_seqs].next = 0;
	return &c->seqs[c->n_seqs++].next;
}

/* Whether the chain would take this signed message now: a gatekeeper or worker origin signed by
 * its identity (a gatekeeper must be a current one; contract and cluster origins are taken on
 * trust here), the exact next sequence. A "^..." message is consumed (a registry publication is
 * always applied here) and acknowledged by mq's notice; any other is forwarded. */
static inline bool fix_accept(struct fix_chain *c, const struct mq_message *m, const uint8_t *sig)
{
	if (m->origin.kind == MQ_ORIGIN_GATEKEEPER || m->origin.kind == MQ_ORIGIN_WORKER) {
		uint8_t h[32];
		mq_signing_hash(h, c->tc.chain_id, m);
		if (!sig_verify(sig, h, 32, m->origin.id))
			return false;
	}
	if (m->origin.kind == MQ_ORIGIN_GATEKEEPER) {
		bool gk = false;
		for (size_t i = 0; i < c->n_gks; i++)
			gk |= memcmp(c->gks[i], m->origin.id, 32) == 0;
		if (!gk)
			return false;
	}
	uint64_t *next = fix_seq(c, &m->origin);
	if (m->sequence != *next)
		return false;
	++*next;
	if (m->topic[0] == MQ_CONSUMED_PREFIX) {
		testplat_publication(&c->tc, m);
		testplat_notice(&c->tc, m, 0);
	} else {
		testplat_queue(&c->tc, m);
	}
	return true;
}

/* The host's job: submits the enclave's pending egress to the chain; returns how many the chain
 * took (the rest are duplicates or out of order). */
static inline size_t fix_submit(struct fix_chain *c, struct enclave *e)
{
	struct testplat_egress it;
	size_t taken = 0;
	testplat_egress_begin(&it, e, 1000);
	while (testplat_egress_next(&it))
		taken += fix_accept(c, &it.m, it.sig);
	testplat_egress_end(&it);
	return taken;
}

/* The pending egress of e, decoded: up to max messages (borrowing from *out, which the caller
 * releases) and their signatures. */
static inline size_t fix_egress(struct enclave *e, struct enc *out, struct mq_message *msgs,
                                const uint8_t **sigs, size_t max)
{
	struct testplat_egress it;
	size_t n = 0;
	testplat_egress_begin(&it, e, max);
	for (; testplat_egress_next(&it); n++) {
		msgs[n] = it.m;
		if (sigs)
			sigs[n] = it.sig;
	}
	*out = it.out; /* the caller's now */
	return n;
}

#endif
