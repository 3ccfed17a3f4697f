/* Late joiners (docs/protocol/worker.md "Late joiners"): a worker that receives its cluster's key
 * after contracts were deployed rebuilds, from its backlog of verified inputs, exactly the state
 * the cluster's other workers hold (commands, sync calls, contract messages, block hooks and
 * contract_random), queues only the egress the chain has not taken yet, keeps the backlog across
 * a checkpoint, and says so when its backlog overflowed instead of serving a wrong state. The
 * counter contract (tests/contracts/counter.h) is the contract under test. */
#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/harness.h"

static void world_two(struct harness_world *w, struct harness_platform *p2, struct enclave **late,
                      const struct enclave_config *cfg)
{
	memset(w, 0, sizeof(*w));
	harness_chain_init(&w->chain);
	w->plat.measurement[0] = 1;
	w->plat.seal_key[0] = 2;
	*p2 = w->plat;
	p2->rand_stream = 9; /* another machine */
	w->e = harness_enclave_new(&w->plat, cfg);
	*late = harness_enclave_new(p2, cfg);
	CHECK(harness_start(w->e, &w->chain, NULL, 0) == ENCLAVE_OK);
	CHECK(harness_start(*late, &w->chain, NULL, 0) == ENCLAVE_OK);
	struct enclave *both[2] = {w->e, *late};
	harness_provision_some(&w->chain, both, 2, 1, 0); /* only w->e is in cluster 0 */
}

static void block_all(struct harness_world *w, struct enclave **es, size_t n)
{
	CHECK(harness_block(&w->chain, es, n) == ENCLAVE_OK);
}

static void hex32(char out[65], const uint8_t id[32])
{
	hex_encode(out, id, 32);
}

static struct enclave_status status_of(struct enclave *e)
{
	struct enclave_status st;
	enclave_status(e, &st);
	return st;
}

/* The signed bytes of e's pending contract-origin egress, concatenated (uleb-prefixed). */
static void contract_egress(struct enclave *e, struct enc *out, size_t *count)
{
	struct enc q;
	enc_init(&q, 1 << 20);
	enc_init(out, 1 << 20);
	CHECK(enclave_egress(e, 64, &q) == ENCLAVE_OK);
	struct dec d;
	dec_init(&d, q.buf, q.len);
	uint64_t n = dec_uleb(&d, 64);
	*count = 0;
	for (uint64_t i = 0; i < n; i++) {
		size_t len = 0;
		const uint8_t *sm = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		CHECK(sm && len > 64 && mq_message_decode(&m, sm, len - 64) == CODEC_OK);
		if (m.origin.kind == MQ_ORIGIN_CONTRACT) {
			enc_bytes(out, sm, len);
			++*count;
		}
	}
	enc_release(&q);
}

/* Queues the first `n` of e's pending contract messages into the next block, as the chain
 * forwards them after mq.push. */
static void relay_contract_messages(struct harness_world *w, struct enclave *e, size_t n)
{
	struct enc out;
	size_t count;
	contract_egress(e, &out, &count);
	CHECK(count >= n);
	struct dec d;
	dec_init(&d, out.buf, out.len);
	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		const uint8_t *sm = dec_bytes(&d, &len, MQ_MESSAGE_MAX + 64);
		struct mq_message m;
		CHECK(sm && mq_message_decode(&m, sm, len - 64) == CODEC_OK);
		harness_queue(&w->chain, &m);
	}
	enc_release(&out);
}

/* Every answer that depends on the contract's history, equal on a and b. */
static void same_state(struct harness_world *w, struct enclave *a, struct enclave *b,
                       const uint8_t pk[32], const uint8_t id[32])
{
	static const char *const who[] = {"alice", "bob"};
	static const char *const asks[] = {"get mine", "get total", "get blocks", "get messages"};
	for (size_t i = 0; i < 2; i++)
		for (size_t k = 0; k < 4; k++)
			CHECK(harness_ask_on(w, a, pk, id, who[i], asks[k]) ==
			      harness_ask_on(w, b, pk, id, who[i], asks[k]));
	uint32_t ra = 0, rb = 1;
	uint8_t roll_a[64], roll_b[64];
	size_t la = 0, lb = 0;
	CHECK(harness_ask_raw(w, a, pk, id, "alice", "get roll", &ra, roll_a, &la) == ENCLAVE_OK);
	CHECK(harness_ask_raw(w, b, pk, id, "alice", "get roll", &rb, roll_b, &lb) == ENCLAVE_OK);
	CHECK(ra == rb && la == lb && memcmp(roll_a, roll_b, la) == 0);
}

/* The receipt of alice's command with this nonce is the same on a and b. */
static void same_receipt(struct harness_world *w, struct enclave *a, struct enclave *b,
                         const uint8_t pk[32], const uint8_t id[32], uint64_t nonce)
{
	uint64_t ha = 0, hb = 1;
	uint32_t ra = 0, rb = 1;
	char pa[CONTRACT_REPLY_MAX + 1], pb[CONTRACT_REPLY_MAX + 1];
	CHECK(harness_receipt(w, a, pk, id, "alice", nonce, &ha, &ra, pa) == CONTRACT_OK);
	CHECK(harness_receipt(w, b, pk, id, "alice", nonce, &hb, &rb, pb) == CONTRACT_OK);
	CHECK(ha == hb && ra == rb);
	CHECK_STR(pa, pb);
}

/* A worker assigned to the cluster after two contracts lived for a while: its state equals the
 * gatekeeper's, contract_random included; it queues only the contract message the chain has
 * not taken; a copy restored from its checkpoint taken before the key arrived does the same. */
static void a_late_worker_rebuilds_the_cluster_state(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	struct harness_world w;
	struct harness_platform p2;
	struct enclave *late;
	world_two(&w, &p2, &late, &cfg);
	struct enclave *both[2] = {w.e, late};
	uint8_t alice[32], sk[64], a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, a);
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 2, b);
	block_all(&w, both, 2);
	harness_contract_keys(w.e, a, apk, aspk);
	harness_contract_keys(w.e, b, bpk, bspk);
	char bhex[65], cmd[200];
	hex32(bhex, b);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 1, "add 5");
	harness_command(&w.chain, &w.plat, apk, a, "bob", 1, "roll");
	snprintf(cmd, sizeof(cmd), "call %s 3", bhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 2, cmd);
	block_all(&w, both, 2);
	snprintf(cmd, sizeof(cmd), "send %s 4", bhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 3, cmd);
	snprintf(cmd, sizeof(cmd), "send %s 6", bhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 4, cmd);
	harness_command(&w.chain, &w.plat, bpk, b, "bob", 7, "roll");
	block_all(&w, both, 2);
	relay_contract_messages(&w, w.e, 1); /* the chain takes A's sequence 0 only, for now */
	block_all(&w, both, 2);
	block_all(&w, both, 2);

	/* The late worker hosts nothing yet, and keeps what it will need. */
	struct enclave_status st = status_of(late);
	CHECK(st.n_contracts == 0 && !st.has_cluster_key && st.cluster == UINT32_MAX);
	CHECK(st.backlog_msgs > 0 && st.backlog_bytes > st.backlog_msgs * 64);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&w, late, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_NO_CONTRACT);
	CHECK(status_of(w.e).has_cluster_key && status_of(w.e).backlog_msgs == 0);
	struct enc ck;
	enc_init(&ck, 1 << 22);
	CHECK(enclave_checkpoint(late, &ck) == ENCLAVE_OK);
	struct enclave *copy = harness_enclave_new(&p2, &cfg);
	CHECK(harness_start(copy, &w.chain, ck.buf, ck.len) == ENCLAVE_OK);
	enc_release(&ck);
	CHECK(status_of(copy).backlog_msgs == st.backlog_msgs);
	CHECK(status_of(copy).backlog_bytes == st.backlog_bytes);
	struct enclave *all[3] = {w.e, late, copy};

	/* Assigned: the gatekeeper mandates its share; no key yet. */
	harness_register_assign(&w.chain, late, 0);
	block_all(&w, all, 3);
	st = status_of(late);
	CHECK(st.cluster == 0 && !st.has_cluster_key && st.n_contracts == 0);
	/* The share arrives between two commands of one block. */
	harness_command(&w.chain, &w.plat, apk, a, "alice", 5, "add 1");
	CHECK(harness_relay(&w.chain, w.e, "worker/") == 1);
	harness_command(&w.chain, &w.plat, apk, a, "bob", 2, "add 2");
	block_all(&w, all, 3);
	for (size_t i = 1; i < 3; i++) {
		st = status_of(all[i]);
		CHECK(st.has_cluster_key && st.n_contracts == 2 && st.n_unavailable == 0);
		CHECK(st.backlog_msgs == 0 && st.backlog_bytes == 0);
		same_state(&w, w.e, all[i], apk, a);
		same_state(&w, w.e, all[i], bpk, b);
		for (uint64_t nonce = 1; nonce <= 5; nonce++)
			same_receipt(&w, w.e, all[i], apk, a, nonce);
	}
	CHECK(harness_ask_on(&w, late, bpk, b, "alice", "get total") == 3 + 4);
	CHECK(harness_ask_on(&w, late, apk, a, "bob", "get mine") == 2);

	/* Egress: A's sequence 0 is on chain and not queued again; sequence 1 is pending on the
	 * gatekeeper and queued here byte for byte. */
	struct enc eg, el;
	size_t ng, nl;
	contract_egress(w.e, &eg, &ng);
	contract_egress(late, &el, &nl);
	CHECK(ng == 1 && nl == 1 && eg.len == el.len && memcmp(eg.buf, el.buf, eg.len) == 0);
	enc_release(&eg);
	enc_release(&el);
	relay_contract_messages(&w, w.e, 1);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 6, "roll");
	block_all(&w, all, 3);
	for (size_t i = 1; i < 3; i++) {
		same_state(&w, w.e, all[i], apk, a);
		same_state(&w, w.e, all[i], bpk, b);
		contract_egress(all[i], &el, &nl);
		CHECK(nl == 0);
		enc_release(&el);
	}
	CHECK(harness_ask_on(&w, late, bpk, b, "alice", "get messages") == 2);
	enclave_free(copy);
	enclave_free(late);
	harness_world_release(&w);
}

/* Three enclaves from genesis: es[0] the gatekeeper and es[1] in cluster 0, es[2] in cluster 1. */
static void world_three(struct harness_world *w, struct harness_platform ps[2], struct enclave **es,
                        const struct enclave_config *cfg)
{
	memset(w, 0, sizeof(*w));
	harness_chain_init(&w->chain);
	w->plat.measurement[0] = 1;
	w->plat.seal_key[0] = 2;
	es[0] = w->e = harness_enclave_new(&w->plat, cfg);
	for (size_t i = 0; i < 2; i++) {
		ps[i] = w->plat;
		ps[i].rand_stream = 20 + i;
		es[1 + i] = harness_enclave_new(&ps[i], cfg);
	}
	for (size_t i = 0; i < 3; i++)
		CHECK(harness_start(es[i], &w->chain, NULL, 0) == ENCLAVE_OK);
	harness_provision_some(&w->chain, es, 3, 2, 0);
	uint32_t one = 1;
	harness_registry_event(&w->chain, REGISTRY_EV_CLUSTER_CREATED, &one, 4);
	harness_register_assign(&w->chain, es[2], 1);
	block_all(w, es, 3);
	harness_publish(&w->chain, w->e);
	CHECK(harness_relay(&w->chain, w->e, "worker/") == 1);
	block_all(w, es, 3);
	CHECK(status_of(es[2]).has_cluster_key && status_of(es[2]).cluster == 1);
}

/* The backlog holds every cluster's contracts: a worker moved to another cluster rebuilds that
 * cluster's contracts like the worker that was there all along, and keeps running its old
 * cluster's. */
static void a_reassigned_worker_rebuilds_the_other_cluster(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	struct harness_world w;
	struct harness_platform ps[2];
	struct enclave *es[3];
	world_three(&w, ps, es, &cfg);
	uint8_t alice[32], sk[64], c0[32], c1[32], pk0[32], spk0[32], pk1[32], spk1[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, c0);
	harness_deploy(&w.chain, alice, 1, COUNTER_CODE_NAME, 1, c1);
	block_all(&w, es, 3);
	harness_contract_keys(w.e, c0, pk0, spk0);
	harness_contract_keys(w.e, c1, pk1, spk1);
	harness_command(&w.chain, &w.plat, pk1, c1, "alice", 1, "add 9");
	harness_command(&w.chain, &w.plat, pk1, c1, "bob", 1, "roll");
	harness_command(&w.chain, &w.plat, pk0, c0, "alice", 1, "add 1");
	block_all(&w, es, 3);
	block_all(&w, es, 3);
	CHECK(status_of(es[1]).n_contracts == 1 && status_of(es[2]).n_contracts == 1);
	CHECK(status_of(es[1]).backlog_msgs > 0); /* cluster 1's contract waits on es[1] */
	CHECK(status_of(es[0]).backlog_msgs > 0); /* and on the gatekeeper, of cluster 0 */

	harness_register_assign(&w.chain, es[1], 1);
	block_all(&w, es, 3);
	CHECK(status_of(es[1]).cluster == 1 && !status_of(es[1]).has_cluster_key);
	CHECK(harness_relay(&w.chain, w.e, "worker/") == 1);
	harness_command(&w.chain, &w.plat, pk0, c0, "alice", 2, "add 2");
	block_all(&w, es, 3);
	struct enclave_status st = status_of(es[1]);
	CHECK(st.has_cluster_key && st.n_contracts == 2 && st.n_unavailable == 0);
	same_state(&w, es[2], es[1], pk1, c1);
	same_receipt(&w, es[2], es[1], pk1, c1, 1);
	same_state(&w, w.e, es[1], pk0, c0); /* the old cluster's instance carries on */
	CHECK(harness_ask_on(&w, es[1], pk0, c0, "alice", "get mine") == 3);
	for (size_t i = 0; i < 3; i++)
		if (i != 1)
			enclave_free(es[i]);
	enclave_free(es[1]);
	w.e = NULL;
	harness_chain_release(&w.chain);
}

/* A backlog that overflows loses its oldest contract: after the key arrives that contract is
 * unavailable here (a clear error, counted in status), and a newer one that fitted is rebuilt. */
static void an_overflowing_backlog_marks_contracts_unavailable(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_backlog_msgs = 12;
	struct harness_world w;
	struct harness_platform p2;
	struct enclave *late;
	world_two(&w, &p2, &late, &cfg);
	struct enclave *both[2] = {w.e, late};
	uint8_t alice[32], sk[64], a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, a);
	block_all(&w, both, 2);
	harness_contract_keys(w.e, a, apk, aspk);
	for (uint64_t n = 1; n <= 12; n++)
		harness_command(&w.chain, &w.plat, apk, a, "alice", n, "add 1");
	block_all(&w, both, 2);
	CHECK(status_of(late).backlog_msgs == 0); /* A is lost: nothing of it is kept */
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 2, b);
	block_all(&w, both, 2);
	harness_contract_keys(w.e, b, bpk, bspk);
	harness_command(&w.chain, &w.plat, bpk, b, "bob", 1, "add 4");
	block_all(&w, both, 2);
	struct enclave_status st = status_of(late);
	CHECK(st.backlog_msgs == 4 && st.n_unavailable == 0); /* deploy, tick, command, tick */
	harness_register_assign(&w.chain, late, 0);
	block_all(&w, both, 2);
	CHECK(status_of(late).n_unavailable == 1); /* now that A is of its cluster */
	CHECK(harness_relay(&w.chain, w.e, "worker/") == 1);
	block_all(&w, both, 2);
	st = status_of(late);
	CHECK(st.has_cluster_key && st.n_contracts == 1 && st.n_unavailable == 1);
	CHECK(st.backlog_msgs == 0);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&w, late, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	CHECK(harness_ask_on(&w, w.e, apk, a, "alice", "get total") == 12);
	same_state(&w, w.e, late, bpk, b);
	/* Commands for the lost contract go nowhere here; the rest carries on. */
	harness_command(&w.chain, &w.plat, apk, a, "alice", 13, "add 1");
	harness_command(&w.chain, &w.plat, bpk, b, "alice", 1, "add 1");
	block_all(&w, both, 2);
	CHECK(status_of(late).backlog_msgs == 0);
	same_state(&w, w.e, late, bpk, b);
	/* The lost mark survives a checkpoint. */
	struct enc ck;
	enc_init(&ck, 1 << 22);
	CHECK(enclave_checkpoint(late, &ck) == ENCLAVE_OK);
	struct enclave *copy = harness_enclave_new(&p2, &cfg);
	CHECK(harness_start(copy, &w.chain, ck.buf, ck.len) == ENCLAVE_OK);
	enc_release(&ck);
	CHECK(status_of(copy).n_unavailable == 1);
	CHECK(harness_ask_raw(&w, copy, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	enclave_free(copy);
	enclave_free(late);
	harness_world_release(&w);
}

/* The byte cap works the same way: one command larger than the whole backlog loses its
 * contract at once. */
static void the_byte_cap_holds(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_backlog_bytes = 4 * ENCLAVE_BACKLOG_ENTRY_COST + 100;
	struct harness_world w;
	struct harness_platform p2;
	struct enclave *late;
	world_two(&w, &p2, &late, &cfg);
	struct enclave *both[2] = {w.e, late};
	uint8_t alice[32], sk[64], a[32], apk[32], aspk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, a);
	block_all(&w, both, 2);
	harness_contract_keys(w.e, a, apk, aspk);
	CHECK(status_of(late).backlog_msgs == 2 &&
	      status_of(late).backlog_bytes == 2 * ENCLAVE_BACKLOG_ENTRY_COST);
	char big[200];
	memset(big, '1', sizeof(big) - 1);
	memcpy(big, "add ", 4);
	big[sizeof(big) - 1] = '\0';
	harness_command(&w.chain, &w.plat, apk, a, "alice", 1, big);
	block_all(&w, both, 2);
	struct enclave_status st = status_of(late);
	CHECK(st.backlog_msgs == 0 && st.backlog_bytes == 0);
	harness_register_assign(&w.chain, late, 0);
	block_all(&w, both, 2);
	CHECK(harness_relay(&w.chain, w.e, "worker/") == 1);
	block_all(&w, both, 2);
	st = status_of(late);
	CHECK(st.has_cluster_key && st.n_contracts == 0 && st.n_unavailable == 1);
	enclave_free(late);
	harness_world_release(&w);
}

/* A checkpoint whose backlog is over the caps the host starts it with now is not refused: the
 * oldest waiting contracts are lost until it fits, as if it had overflowed now. */
static void a_restore_under_lower_caps_loses_the_oldest(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	struct harness_world w;
	struct harness_platform p2;
	struct enclave *late;
	world_two(&w, &p2, &late, &cfg);
	struct enclave *both[2] = {w.e, late};
	uint8_t alice[32], sk[64], a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, a);
	block_all(&w, both, 2);
	harness_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 2, b);
	block_all(&w, both, 2);
	harness_contract_keys(w.e, a, apk, aspk);
	harness_contract_keys(w.e, b, bpk, bspk);
	harness_command(&w.chain, &w.plat, bpk, b, "alice", 1, "add 2");
	block_all(&w, both, 2); /* a: deploy + 3 ticks; b: deploy, command (ticks shared) */
	CHECK(status_of(late).backlog_msgs == 6);
	struct enc ck;
	enc_init(&ck, 1 << 22);
	CHECK(enclave_checkpoint(late, &ck) == ENCLAVE_OK);
	struct enclave_config small = cfg;
	small.max_backlog_msgs = 5; /* a and b do not fit; b and one more tick do */
	struct enclave *copy = harness_enclave_new(&p2, &small);
	CHECK(harness_start(copy, &w.chain, ck.buf, ck.len) == ENCLAVE_OK);
	enc_release(&ck);
	CHECK(status_of(copy).backlog_msgs == 4); /* b's deploy, a tick, b's command, a tick */
	struct enclave *all[3] = {w.e, late, copy};
	harness_register_assign(&w.chain, copy, 0);
	block_all(&w, all, 3);
	CHECK(harness_relay(&w.chain, w.e, "worker/") == 1);
	block_all(&w, all, 3);
	struct enclave_status st = status_of(copy);
	CHECK(st.n_contracts == 1 && st.n_unavailable == 1 && st.backlog_msgs == 0);
	same_state(&w, w.e, copy, bpk, b);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&w, copy, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	enclave_free(copy);
	enclave_free(late);
	harness_world_release(&w);
}

#define RND_CONTRACTS 3
#define RND_BLOCKS    12

struct rnd_world {
	struct harness_world w;
	struct enclave *both[2];
	uint8_t id[RND_CONTRACTS][32], pk[RND_CONTRACTS][32];
	size_t n; /* contracts deployed so far */
	uint64_t nonce[2];
};

/* A random command of alice or bob to a random deployed contract. */
static void rnd_command(struct rnd_world *r, uint64_t *st)
{
	static const char *const who[] = {"alice", "bob"};
	size_t a = check_rand(st) % 2, k = check_rand(st) % r->n, o = check_rand(st) % r->n;
	char cmd[200], hex[65];
	hex32(hex, r->id[o]);
	switch (check_rand(st) % 5) {
	case 0:
		snprintf(cmd, sizeof(cmd), "add %u", (unsigned)(check_rand(st) % 100));
		break;
	case 1:
		snprintf(cmd, sizeof(cmd), "roll");
		break;
	case 2:
		snprintf(cmd, sizeof(cmd), "call %s %u", hex, (unsigned)(check_rand(st) % 10));
		break;
	case 3:
		snprintf(cmd, sizeof(cmd), "send %s %u", hex, (unsigned)(check_rand(st) % 10));
		break;
	default:
		snprintf(cmd, sizeof(cmd), "fail");
	}
	harness_command(&r->w.chain, &r->w.plat, r->pk[k], r->id[k], who[a], ++r->nonce[a], cmd);
}

/* One random history: contracts deployed at random blocks, random commands, calls and messages
 * between them, contract messages relayed late and in part, and the second worker joining at a
 * random block. Afterwards both workers agree on every contract and on the contract messages
 * still pending. */
static void rnd_history(uint64_t *st)
{
	struct enclave_config cfg = harness_config(1 << 20);
	struct rnd_world r;
	struct harness_platform p2;
	struct enclave *late;
	memset(&r, 0, sizeof(r));
	world_two(&r.w, &p2, &late, &cfg);
	r.both[0] = r.w.e;
	r.both[1] = late;
	uint8_t alice[32], sk[64], spk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	size_t join = check_rand(st) % (RND_BLOCKS - 2);
	for (size_t blk = 0; blk < RND_BLOCKS; blk++) {
		bool deploy = r.n < RND_CONTRACTS && (r.n == 0 || check_rand(st) % 3 == 0);
		if (deploy)
			harness_deploy(&r.w.chain, alice, 0, COUNTER_CODE_NAME, (uint8_t)r.n,
			               r.id[r.n]);
		if (blk == join)
			harness_register_assign(&r.w.chain, late, 0);
		if (blk == join + 1)
			CHECK(harness_relay(&r.w.chain, r.w.e, "worker/") == 1);
		for (size_t i = r.n ? check_rand(st) % 4 : 0; i > 0; i--)
			rnd_command(&r, st);
		size_t pending;
		struct enc eg;
		contract_egress(r.w.e, &eg, &pending);
		enc_release(&eg);
		if (pending)
			relay_contract_messages(&r.w, r.w.e, check_rand(st) % (pending + 1));
		block_all(&r.w, r.both, 2);
		if (deploy)
			harness_contract_keys(r.w.e, r.id[r.n], r.pk[r.n], spk);
		r.n += deploy;
	}
	CHECK(status_of(late).n_contracts == r.n && status_of(late).backlog_msgs == 0);
	for (size_t k = 0; k < r.n; k++)
		same_state(&r.w, r.w.e, late, r.pk[k], r.id[k]);
	struct enc eg, el;
	size_t ng, nl;
	contract_egress(r.w.e, &eg, &ng);
	contract_egress(late, &el, &nl);
	CHECK(ng == nl && eg.len == el.len && (ng == 0 || memcmp(eg.buf, el.buf, eg.len) == 0));
	enc_release(&eg);
	enc_release(&el);
	enclave_free(late);
	harness_world_release(&r.w);
}

static void random_histories_agree(void)
{
	uint64_t st = check_seed();
	for (long i = check_iters(6); i > 0; i--)
		rnd_history(&st);
}

CHECK_MAIN(CASE(a_late_worker_rebuilds_the_cluster_state), CASE(random_histories_agree),
           CASE(a_restore_under_lower_caps_loses_the_oldest),
           CASE(a_reassigned_worker_rebuilds_the_other_cluster),
           CASE(an_overflowing_backlog_marks_contracts_unavailable), CASE(the_byte_cap_holds))
