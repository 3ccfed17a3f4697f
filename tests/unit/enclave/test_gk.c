/* The gatekeeper protocol across enclaves that follow one test chain (sysfix.h): the first
 * gatekeeper generates and publishes the master key, a later one receives it, all of them emit
 * byte-identical key distribution with one shared sequence, workers get cluster keys only once
 * registered and assigned and derive the contract keys the gatekeepers published, rotation keeps
 * the history, and checkpoints keep it all. */
#include <sodium.h>

#include "base/hex.h"
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "enclave/enclave_sys_int.h"
#include "sysfix.h"

#define N 3 /* enclaves: two gatekeepers-to-be and a worker */

struct world {
	struct fix_chain c;
	struct testplat tp[N];
	struct enclave *e[N];
	struct testplat_worker w[N];
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	fix_chain_init(&w->c);
	for (int i = 0; i < N; i++) {
		w->tp[i] = (struct testplat){
		    .measurement = {1}, .seal_key = {2}, .rand_stream = (uint64_t)i};
		w->e[i] = fix_started(&w->tp[i], 64, NULL);
		testplat_identity(w->e[i], &w->w[i]);
	}
}

static void world_free(struct world *w)
{
	for (int i = 0; i < N; i++)
		enclave_free(w->e[i]);
}

static void world_block(struct world *w)
{
	fix_block(&w->c, w->e, N);
}

static struct enclave_status status(struct enclave *e)
{
	struct enclave_status st;
	enclave_status(e, &st);
	return st;
}

/* A block in which every worker is registered (and, with_cluster, cluster 0 is created) and
 * enclave 0 is elected the first gatekeeper. */
static void elect_first(struct world *w, bool with_cluster)
{
	for (int i = 0; i < N; i++)
		testplat_ev_registered(&w->c.tc, &w->w[i]);
	if (with_cluster)
		testplat_ev_cluster(&w->c.tc, 0);
	fix_ev_gk_added(&w->c, &w->w[0]);
	world_block(w);
}

/* Every worker registered, cluster 0 created, enclave 0 elected the first gatekeeper; its
 * master and cluster keys are published on chain. */
static void first_gatekeeper(struct world *w)
{
	elect_first(w, true);
	CHECK(fix_submit(&w->c, w->e[0]) == 2); /* master key, cluster 0's keys */
	world_block(w);
}

/* Then enclave 1 is elected too and receives the master key from enclave 0. */
static void second_gatekeeper(struct world *w)
{
	first_gatekeeper(w);
	fix_ev_gk_added(&w->c, &w->w[1]);
	world_block(w);
	CHECK(!status(w->e[1]).gatekeeper);
	CHECK(fix_submit(&w->c, w->e[0]) == 1);
	world_block(w);
	CHECK(status(w->e[1]).gatekeeper);
	CHECK(status(w->e[0]).n_egress == 0 && status(w->e[1]).n_egress == 0);
}

static void first_gatekeeper_generates_and_publishes_the_master_key(void)
{
	struct world w;
	world_init(&w);
	elect_first(&w, false);
	struct enclave_status st = status(w.e[0]);
	CHECK(st.registered && st.gatekeeper && st.n_egress == 1);
	CHECK(status(w.e[1]).registered && !status(w.e[1]).gatekeeper);
	CHECK(status(w.e[1]).n_egress == 0);

	struct enc out;
	struct mq_message m[4];
	const uint8_t *sig[4];
	CHECK(fix_egress(w.e[0], &out, m, sig, 4) == 1);
	CHECK(m[0].origin.kind == MQ_ORIGIN_GATEKEEPER);
	CHECK_EQ_MEM(m[0].origin.id, w.w[0].id, 32);
	CHECK(testplat_topic_is(&m[0], REGISTRY_TOPIC_MASTER_KEY));
	CHECK(m[0].sequence == 0 && m[0].payload_len == 36);
	CHECK(m[0].payload[0] == 0 && m[0].payload[1] == 0); /* epoch 0 */
	uint8_t h[32];
	mq_signing_hash(h, w.c.tc.chain_id, &m[0]);
	CHECK(sig_verify(sig[0], h, 32, w.w[0].id));
	enc_release(&out);

	/* Nothing is dropped until a verified block shows the chain took it. */
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 1);
	CHECK(fix_submit(&w.c, w.e[0]) == 1);
	CHECK(fix_submit(&w.c, w.e[0]) == 0); /* a resubmission is refused by its sequence */
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[0]).gatekeeper);
	world_free(&w);
}

static void fix_ev_gk_removed(struct fix_chain *c, const struct testplat_worker *w)
{
	for (size_t i = 0; i < c->n_gks; i++)
		if (memcmp(c->gks[i], w->id, 32) == 0)
			memmove(c->gks[i], c->gks[i + 1], (c->n_gks-- - i - 1) * 32);
	testplat_registry_event(&c->tc, REGISTRY_EV_GATEKEEPER_REMOVED, w->id, 32);
}

/* A removed gatekeeper drops its master key and its queued gatekeeper messages; when the last
 * one goes before any master key was published, the next gatekeeper starts over at sequence 0
 * with a master key of its own. */
/* A first gatekeeper that crashes after its master key went out and replays from a checkpoint
 * taken before its election makes the same master key (and the same signed message). */
static void a_replayed_first_gatekeeper_makes_the_same_master(void)
{
	struct world w;
	world_init(&w);
	for (int i = 0; i < N; i++)
		testplat_ev_registered(&w.c.tc, &w.w[i]);
	world_block(&w);
	struct enclave *r = fix_started(&w.tp[0], 64, w.e[0]);
	fix_ev_gk_added(&w.c, &w.w[0]);
	struct enclave *all[N + 1] = {w.e[0], w.e[1], w.e[2], r};
	fix_block(&w.c, all, N + 1);
	struct enc qa, qb;
	enc_init(&qa, 1 << 20);
	enc_init(&qb, 1 << 20);
	CHECK(enclave_egress(w.e[0], 10, &qa) == ENCLAVE_OK &&
	      enclave_egress(r, 10, &qb) == ENCLAVE_OK);
	CHECK(qa.len > 100 && qa.len == qb.len && memcmp(qa.buf, qb.buf, qa.len) == 0);
	enc_release(&qa);
	enc_release(&qb);
	enclave_free(r);
	world_free(&w);
}

static void removal_retires_and_the_last_one_resets(void)
{
	struct world w;
	world_init(&w);
	elect_first(&w, false);
	CHECK(status(w.e[0]).gatekeeper && status(w.e[0]).n_egress == 1);
	fix_ev_gk_removed(&w.c, &w.w[0]);
	world_block(&w);
	CHECK(!status(w.e[0]).gatekeeper && status(w.e[0]).n_egress == 0);
	fix_ev_gk_added(&w.c, &w.w[1]);
	world_block(&w);
	CHECK(status(w.e[1]).gatekeeper && !status(w.e[0]).gatekeeper);
	struct enc out;
	struct mq_message m[1];
	CHECK(fix_egress(w.e[1], &out, m, NULL, 1) == 1 && m[0].sequence == 0);
	CHECK(testplat_topic_is(&m[0], REGISTRY_TOPIC_MASTER_KEY));
	enc_release(&out);
	CHECK(fix_submit(&w.c, w.e[1]) == 1);
	world_block(&w);
	/* Once a key is published, a removed gatekeeper's successor gets it shared instead. */
	fix_ev_gk_added(&w.c, &w.w[2]);
	fix_ev_gk_removed(&w.c, &w.w[1]);
	world_block(&w);
	CHECK(!status(w.e[1]).gatekeeper && status(w.e[1]).n_egress == 0);
	CHECK(w.e[0]->sys->gk_seq == 2 && w.e[2]->sys->gk_seq == 2);
	world_free(&w);
}

/* The payloads two gatekeepers queued are the same, message for message, with the same shared
 * sequences; only the origin (who signs) differs. Returns how many. */
static size_t same_queues(struct world *w, struct enclave *a, struct enclave *b)
{
	struct enc oa, ob;
	struct mq_message ma[16], mb[16];
	size_t na = fix_egress(a, &oa, ma, NULL, 16), nb = fix_egress(b, &ob, mb, NULL, 16);
	CHECK(na == nb);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECK(ma[i].sequence == mb[i].sequence);
		CHECK(ma[i].topic_len == mb[i].topic_len &&
		      memcmp(ma[i].topic, mb[i].topic, ma[i].topic_len) == 0);
		CHECK(ma[i].payload_len == mb[i].payload_len &&
		      memcmp(ma[i].payload, mb[i].payload, ma[i].payload_len) == 0);
		CHECK(memcmp(ma[i].origin.id, mb[i].origin.id, 32) != 0);
	}
	(void)w;
	enc_release(&oa);
	enc_release(&ob);
	return na;
}

/* The contract keys a gatekeeper published for id (from its queued contract-key message). */
static bool published_contract_keys(struct enclave *gk, const uint8_t id[32], uint8_t x[32],
                                    uint8_t ed[32], uint32_t *epoch)
{
	struct enc out;
	struct mq_message m[16];
	size_t n = fix_egress(gk, &out, m, NULL, 16);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (testplat_topic_is(&m[i], REGISTRY_TOPIC_CONTRACT_KEY) &&
		    m[i].payload_len == 104 && memcmp(m[i].payload, id, 32) == 0) {
			*epoch = (uint32_t)m[i].payload[36] | (uint32_t)m[i].payload[37] << 8;
			memcpy(x, m[i].payload + 40, 32);
			memcpy(ed, m[i].payload + 72, 32);
			found = true;
		}
	enc_release(&out);
	return found;
}

static bool contract_keys(struct enclave *e, const uint8_t id[32], uint32_t cluster,
                          uint8_t hpke_pk[32], uint8_t sign_pk[32])
{
	uint8_t hpke_sk[32], sign_sk[64];
	bool ok = enclave_contract_keys(e, id, cluster, hpke_pk, hpke_sk, sign_pk, sign_sk);
	if (ok) { /* the pairs belong together */
		uint8_t pk[32];
		CHECK(crypto_scalarmult_base(pk, hpke_sk) == 0 && memcmp(pk, hpke_pk, 32) == 0);
		CHECK(memcmp(sign_sk + 32, sign_pk, 32) == 0);
	}
	return ok;
}

static void a_later_gatekeeper_receives_the_master_key(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	/* Same master: a rotation makes both publish the same next master key. */
	fix_ev_rotation(&w.c, 1);
	world_block(&w);
	CHECK(same_queues(&w, w.e[0], w.e[1]) == 2); /* master key, cluster 0's keys */
	world_free(&w);
}

static void gatekeepers_emit_identical_key_shares(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	world_block(&w);
	CHECK(status(w.e[2]).cluster == 0);
	CHECK(same_queues(&w, w.e[0], w.e[1]) == 1);
	struct enc out;
	struct mq_message m[1];
	CHECK(fix_egress(w.e[1], &out, m, NULL, 1) == 1);
	char topic[SYS_KEYS_TOPIC_LEN + 1];
	memcpy(topic, "worker/", 7);
	hex_encode(topic + 7, w.w[2].id, 32);
	strcpy(topic + 71, "/keys");
	CHECK(testplat_topic_is(&m[0], topic));
	CHECK(m[0].sequence == 3); /* master, cluster, share to gatekeeper 1, this */
	enc_release(&out);
	/* Whichever copy arrives first wins; the other is a duplicate. */
	CHECK(fix_submit(&w.c, w.e[1]) == 1);
	CHECK(fix_submit(&w.c, w.e[0]) == 0);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[1]).n_egress == 0);
	world_free(&w);
}

/* A worker registered with an HPKE key of small order cannot be sealed to: no gatekeeper shares
 * with it, and the shared sequence does not wait for a share nobody can make. */
static void unusable_hpke_keys_take_no_sequence(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	struct testplat_worker bad = {.id = {0xbd}}; /* hpke all zero: the identity point */
	testplat_ev_registered(&w.c.tc, &bad);
	testplat_ev_assigned(&w.c.tc, &bad, 0);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[1]).n_egress == 0);
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	world_block(&w);
	struct enc out;
	struct mq_message m[1];
	CHECK(fix_egress(w.e[0], &out, m, NULL, 1) == 1 && m[0].sequence == 3);
	enc_release(&out);
	world_free(&w);
}

static void workers_derive_the_published_contract_keys(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	testplat_ev_assigned(&w.c.tc, &w.w[1], 0); /* gatekeeper 1 also hosts cluster 0 */
	uint8_t id[32], x[32], ed[32], hpke[32], sign[32];
	uint32_t epoch = 9;
	fix_deploy(&w.c, 0, "counter", id);
	world_block(&w);
	CHECK(same_queues(&w, w.e[0], w.e[1]) == 3); /* two shares, the contract's keys */
	CHECK(published_contract_keys(w.e[0], id, x, ed, &epoch) && epoch == 0);
	/* The worker has no cluster key yet; the gatekeeper in the cluster derives from the master;
	 * the gatekeeper outside it hosts nothing. */
	CHECK(!contract_keys(w.e[2], id, 0, hpke, sign));
	CHECK(contract_keys(w.e[1], id, 0, hpke, sign));
	CHECK_EQ_MEM(hpke, x, 32);
	CHECK_EQ_MEM(sign, ed, 32);
	CHECK(!contract_keys(w.e[0], id, 0, hpke, sign));
	CHECK(fix_submit(&w.c, w.e[0]) == 3);
	world_block(&w);
	memset(hpke, 0, 32);
	CHECK(contract_keys(w.e[2], id, 0, hpke, sign));
	CHECK_EQ_MEM(hpke, x, 32);
	CHECK_EQ_MEM(sign, ed, 32);
	CHECK(!contract_keys(w.e[2], id, 1, hpke, sign)); /* not its cluster */
	uint8_t other[32] = {1};
	CHECK(!contract_keys(w.e[2], other, 0, hpke, sign)); /* never deployed */
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[1]).n_egress == 0);
	world_free(&w);
}

static void rotation_keeps_the_history(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	uint8_t old_id[32], x0[32], ed0[32], hpke[32], sign[32];
	uint32_t epoch;
	fix_deploy(&w.c, 0, "counter", old_id);
	world_block(&w);
	CHECK(published_contract_keys(w.e[0], old_id, x0, ed0, &epoch) && epoch == 0);
	fix_submit(&w.c, w.e[0]);
	world_block(&w);

	fix_ev_rotation(&w.c, 1);
	world_block(&w);
	/* master key, cluster 0's keys, the worker's share: the same from both */
	CHECK(same_queues(&w, w.e[0], w.e[1]) == 3);
	CHECK(fix_submit(&w.c, w.e[1]) == 3);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[1]).gatekeeper);
	/* The old contract keeps its keys (epoch 0); a new one gets epoch 1's. */
	CHECK(contract_keys(w.e[2], old_id, 0, hpke, sign));
	CHECK_EQ_MEM(hpke, x0, 32);
	uint8_t new_id[32], x1[32], ed1[32];
	fix_deploy(&w.c, 0, "counter", new_id);
	world_block(&w);
	CHECK(published_contract_keys(w.e[1], new_id, x1, ed1, &epoch) && epoch == 1);
	CHECK(memcmp(x1, x0, 32) != 0);
	CHECK(contract_keys(w.e[2], new_id, 0, hpke, sign));
	CHECK_EQ_MEM(hpke, x1, 32);
	CHECK_EQ_MEM(sign, ed1, 32);
	world_free(&w);
}

/* A key share for worker `to` that opens (anyone can seal to its key under the public master
 * identity of epoch 0), carrying cluster 0's key derived from `master`, in a message from
 * origin kind/id. */
static void forged_share(struct fix_chain *c, const struct testplat_worker *to, uint8_t kind,
                         const uint8_t id[32], const uint8_t sender_pk[32], uint64_t seq,
                         const uint8_t master[32])
{
	uint8_t fake_master[32] = {0x66}, pt[8 + 32], msg[5 + sizeof(pt) + HPKE_ENVELOPE_OVERHEAD];
	testplat_put_u32(pt, 0);
	testplat_put_u32(pt + 4, 1);
	kdf_cluster_key(pt + 8, master, 0);
	struct env_keyshare_ctx ctx = {.seq = seq, .purpose = "cluster"};
	memcpy(ctx.chain_id, c->tc.chain_id, 32);
	memcpy(ctx.sender, sender_pk, 32);
	memcpy(ctx.recipient, to->id, 32);
	msg[0] = 1;
	testplat_put_u32(msg + 1, 0);
	CHECK(env_keyshare_seal(fake_master, to->hpke, &ctx, pt, sizeof(pt), msg + 5) == ENV_OK);
	char topic[SYS_KEYS_TOPIC_LEN + 1];
	memcpy(topic, "worker/", 7);
	hex_encode(topic + 7, to->id, 32);
	strcpy(topic + 71, "/keys");
	struct mq_message m = {.topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = msg,
	                       .payload_len = sizeof(msg),
	                       .sequence = seq};
	m.origin.kind = kind;
	memcpy(m.origin.id, id, 32);
	testplat_queue(&c->tc, &m);
}

static void no_keys_without_registration_and_assignment(void)
{
	struct world w;
	world_init(&w);
	first_gatekeeper(&w);
	uint8_t id[32], hpke[32], sign[32];
	fix_deploy(&w.c, 0, "counter", id);
	/* A registry event from a worker origin, not from module:registry, is not an event. */
	uint8_t ev[69];
	ev[0] = REGISTRY_EV_WORKER_ASSIGNED;
	memcpy(ev + 1, w.w[2].id, 32);
	memcpy(ev + 33, w.w[2].hpke, 32);
	testplat_put_u32(ev + 65, 0);
	struct mq_message fake = {.topic = (const uint8_t *)REGISTRY_EVENT_TOPIC,
	                          .topic_len = strlen(REGISTRY_EVENT_TOPIC),
	                          .payload = ev,
	                          .payload_len = sizeof(ev)};
	fake.origin.kind = MQ_ORIGIN_WORKER;
	memcpy(fake.origin.id, w.w[1].id, 32);
	testplat_queue(&w.c.tc, &fake);
	world_block(&w);
	CHECK(status(w.e[2]).cluster == UINT32_MAX);
	CHECK(status(w.e[0]).n_egress == 1); /* the contract's keys only: no share */
	CHECK(fix_submit(&w.c, w.e[0]) == 1);
	world_block(&w);

	/* Unassigned, a worker takes no cluster keys, even from a gatekeeper origin. */
	uint8_t master_pk[32], wrong_master[32] = {0x66};
	const uint8_t *real = w.e[0]->sys->master->key[0];
	memcpy(master_pk, w.e[2]->sys->master_pks[0], 32);
	forged_share(&w.c, &w.w[2], MQ_ORIGIN_GATEKEEPER, w.w[0].id, master_pk, 100, real);
	world_block(&w);
	CHECK(w.e[2]->sys->cluster_keys->n == 0);

	/* Assigned (so registered): a share that opens and carries the right key, but comes from a
	 * worker origin, is not a gatekeeper's. */
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	world_block(&w);
	CHECK(status(w.e[2]).cluster == 0);
	forged_share(&w.c, &w.w[2], MQ_ORIGIN_WORKER, w.w[1].id, master_pk, 0, real);
	world_block(&w);
	CHECK(w.e[2]->sys->cluster_keys->n == 0);
	CHECK(!contract_keys(w.e[2], id, 0, hpke, sign));
	/* The real share works. */
	CHECK(fix_submit(&w.c, w.e[0]) == 1);
	world_block(&w);
	CHECK(w.e[2]->sys->cluster_keys->n == 1);
	CHECK(contract_keys(w.e[2], id, 0, hpke, sign));
	/* Keys other than the published ones are refused even from a gatekeeper origin. */
	forged_share(&w.c, &w.w[2], MQ_ORIGIN_GATEKEEPER, w.w[0].id, master_pk, 200, wrong_master);
	world_block(&w);
	uint8_t hpke2[32], sign2[32];
	CHECK(contract_keys(w.e[2], id, 0, hpke2, sign2));
	CHECK_EQ_MEM(hpke, hpke2, 32);
	world_free(&w);
}

static void checkpoints_keep_keys_history_and_queue(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	testplat_ev_assigned(&w.c.tc, &w.w[2], 0);
	testplat_ev_assigned(&w.c.tc, &w.w[0], 0);
	uint8_t id[32];
	fix_deploy(&w.c, 0, "counter", id);
	fix_ev_rotation(&w.c, 1);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress > 0);
	struct enclave *r = fix_started(&w.tp[0], 64, w.e[0]);
	struct enclave_status a = status(w.e[0]), b = status(r);
	CHECK(b.gatekeeper && b.registered && b.cluster == 0 && b.n_egress == a.n_egress);
	CHECK(same_queues(&w, w.e[1], r) == a.n_egress);
	struct enc qa, qb;
	enc_init(&qa, 1 << 24);
	enc_init(&qb, 1 << 24);
	CHECK(enclave_egress(w.e[0], 100, &qa) == ENCLAVE_OK);
	CHECK(enclave_egress(r, 100, &qb) == ENCLAVE_OK);
	CHECK(qa.len == qb.len && memcmp(qa.buf, qb.buf, qa.len) == 0);
	enc_release(&qa);
	enc_release(&qb);
	uint8_t h1[32], s1[32], h2[32], s2[32];
	CHECK(contract_keys(w.e[0], id, 0, h1, s1) && contract_keys(r, id, 0, h2, s2));
	CHECK_EQ_MEM(h1, h2, 32);
	/* The restored gatekeeper carries on in step with the others. */
	struct enclave *all[N + 1] = {w.e[0], w.e[1], w.e[2], r};
	CHECK(fix_submit(&w.c, w.e[1]) > 0);
	fix_block(&w.c, all, N + 1);
	CHECK(status(r).n_egress == 0 && status(w.e[0]).n_egress == 0);
	fix_ev_rotation(&w.c, 2);
	fix_block(&w.c, all, N + 1);
	CHECK(same_queues(&w, w.e[0], w.e[1]) == 4);
	struct enc o1, o2;
	struct mq_message m1[8], m2[8];
	size_t n1 = fix_egress(w.e[0], &o1, m1, NULL, 8), n2 = fix_egress(r, &o2, m2, NULL, 8);
	CHECK(n1 == n2 && n1 > 0 && m1[0].payload_len == m2[0].payload_len &&
	      memcmp(m1[0].payload, m2[0].payload, m1[0].payload_len) == 0);
	enc_release(&o1);
	enc_release(&o2);
	enclave_free(r);
	world_free(&w);
}

/* A rotation lands between a publication's queueing and its inclusion: the chain consumes the
 * now stale message as a no-op (no registry event), which every gatekeeper sees in mq's consumed
 * notice, so nobody resubmits it forever and the next epoch's messages follow on the shared
 * sequence, from whichever gatekeeper. */
static void a_stale_publication_does_not_stall_the_gatekeepers(void)
{
	struct world w;
	world_init(&w);
	second_gatekeeper(&w);
	testplat_ev_cluster(&w.c.tc, 1);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 1 && status(w.e[1]).n_egress == 1);
	fix_ev_rotation(&w.c, 1);
	world_block(&w); /* master key, clusters 0 and 1 of epoch 1 */
	CHECK(status(w.e[0]).n_egress == 4 && status(w.e[1]).n_egress == 4);
	struct enc out;
	struct mq_message m[8];
	CHECK(fix_egress(w.e[1], &out, m, NULL, 8) == 4);
	CHECK(testplat_topic_is(&m[0], REGISTRY_TOPIC_CLUSTER_KEY) && m[0].payload[4] == 0);
	uint64_t *next = fix_seq(&w.c, &m[0].origin);
	CHECK(*next == m[0].sequence);
	++*next;
	testplat_notice(&w.c.tc, &m[0], 0); /* taken, nothing applied */
	enc_release(&out);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 3 && status(w.e[1]).n_egress == 3);
	CHECK(fix_submit(&w.c, w.e[1]) == 3);
	CHECK(fix_submit(&w.c, w.e[0]) == 0);
	world_block(&w);
	CHECK(status(w.e[0]).n_egress == 0 && status(w.e[1]).n_egress == 0);
	CHECK(status(w.e[0]).gatekeeper && status(w.e[1]).gatekeeper);
	world_free(&w);
}

CHECK_MAIN(CASE(a_stale_publication_does_not_stall_the_gatekeepers),
           CASE(first_gatekeeper_generates_and_publishes_the_master_key),
           CASE(a_later_gatekeeper_receives_the_master_key),
           CASE(gatekeepers_emit_identical_key_shares), CASE(unusable_hpke_keys_take_no_sequence),
           CASE(workers_derive_the_published_contract_keys), CASE(rotation_keeps_the_history),
           CASE(no_keys_without_registration_and_assignment),
           CASE(checkpoints_keep_keys_history_and_queue),
           CASE(a_replayed_first_gatekeeper_makes_the_same_master),
           CASE(removal_retires_and_the_last_one_resets))
