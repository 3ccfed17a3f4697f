/* Late joiners (docs/protocol/worker.md "Late joiners"): a worker that receives its cluster's key
 * after contracts were deployed rebuilds, from its backlog of verified inputs, exactly the state
 * the cluster's other workers hold (commands, sync calls, contract messages, block hooks and
 * contract_random), queues only the egress the chain has not taken yet, keeps the backlog across
 * a checkpoint, and says so when its backlog overflowed instead of serving a wrong state. The
 * counter contract (tests/contracts/counter.h) is the contract under test. */
#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/harness.h"

/* The world's enclave w.e, the gatekeeper of cluster 0, and late on another machine p2, which
 * follows the chain but is not assigned to it yet. */
struct late_world {
	struct harness_world w;
	struct enclave_config cfg;
	struct testplat p2;
	struct enclave *late;
	struct enclave *both[2]; /* w.e, late */
};

static void late_init(struct late_world *t, struct enclave_config cfg)
{
	t->cfg = cfg;
	harness_world_many(&t->w, &t->cfg, &t->p2, t->both, 2, 1);
	t->late = t->both[1];
}

static void late_release(struct late_world *t)
{
	enclave_free(t->late);
	harness_world_release(&t->w);
}

static void block_all(struct harness_world *w, struct enclave **es, size_t n)
{
	CHECK(testplat_block(&w->chain, es, n) == ENCLAVE_OK);
}

/* Queues alice's deploy of a counter in cluster (salt) with deploy arguments args (a counter
 * request applied for alice, or ""): the contract's id. */
static void deploy_args(struct harness_world *w, uint32_t cluster, uint8_t salt, const char *args,
                        uint8_t id[32])
{
	uint8_t alice[32], sk[64];
	CHECK(devkeys_keypair("alice", alice, sk));
	testplat_deploy_args(&w->chain, alice, cluster, COUNTER_CODE_NAME, salt,
	                     (const uint8_t *)args, strlen(args), id);
}

static void deploy(struct harness_world *w, uint32_t cluster, uint8_t salt, uint8_t id[32])
{
	deploy_args(w, cluster, salt, "", id);
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
	struct testplat_egress it;
	enc_init(out, 1 << 20);
	*count = 0;
	testplat_egress_begin(&it, e, 64);
	while (testplat_egress_next(&it))
		if (it.m.origin.kind == MQ_ORIGIN_CONTRACT) {
			enc_bytes(out, it.entry, it.entry_len);
			++*count;
		}
	testplat_egress_end(&it);
}

/* Queues the first `n` of e's pending contract messages into the next block, as the chain
 * forwards them after mq.push. */
static void relay_contract_messages(struct harness_world *w, struct enclave *e, size_t n)
{
	struct testplat_egress it;
	testplat_egress_begin(&it, e, 64);
	while (n && testplat_egress_next(&it))
		if (it.m.origin.kind == MQ_ORIGIN_CONTRACT) {
			testplat_queue(&w->chain, &it.m);
			n--;
		}
	CHECK(n == 0);
	testplat_egress_end(&it);
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
	struct late_world t;
	late_init(&t, harness_config(1 << 20));
	uint8_t a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	deploy_args(&t.w, 0, 1, "add 9", a); /* the late worker replays the arguments too */
	deploy(&t.w, 0, 2, b);
	block_all(&t.w, t.both, 2);
	harness_contract_keys(t.w.e, a, apk, aspk);
	harness_contract_keys(t.w.e, b, bpk, bspk);
	char bhex[65], cmd[200];
	hex32(bhex, b);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 1, "add 5");
	harness_command(&t.w.chain, &t.w.plat, apk, a, "bob", 1, "roll");
	snprintf(cmd, sizeof(cmd), "call %s 3", bhex);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 2, cmd);
	block_all(&t.w, t.both, 2);
	snprintf(cmd, sizeof(cmd), "send %s 4", bhex);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 3, cmd);
	snprintf(cmd, sizeof(cmd), "send %s 6", bhex);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 4, cmd);
	harness_command(&t.w.chain, &t.w.plat, bpk, b, "bob", 7, "roll");
	block_all(&t.w, t.both, 2);
	relay_contract_messages(&t.w, t.w.e, 1); /* the chain takes A's sequence 0 only, for now */
	block_all(&t.w, t.both, 2);
	block_all(&t.w, t.both, 2);

	/* The late worker hosts nothing yet, and keeps what it will need. */
	struct enclave_status st = status_of(t.late);
	CHECK(st.n_contracts == 0 && !st.has_cluster_key && st.cluster == UINT32_MAX);
	CHECK(st.backlog_msgs > 0 && st.backlog_bytes > st.backlog_msgs * 64);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&t.w, t.late, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_NO_CONTRACT);
	CHECK(status_of(t.w.e).has_cluster_key && status_of(t.w.e).backlog_msgs == 0);
	struct enclave *copy = testplat_started(&t.p2, &t.cfg, t.late);
	CHECK(status_of(copy).backlog_msgs == st.backlog_msgs);
	CHECK(status_of(copy).backlog_bytes == st.backlog_bytes);
	struct enclave *all[3] = {t.w.e, t.late, copy};

	/* Assigned: the gatekeeper mandates its share; no key yet. */
	harness_register_assign(&t.w.chain, t.late, 0);
	block_all(&t.w, all, 3);
	st = status_of(t.late);
	CHECK(st.cluster == 0 && !st.has_cluster_key && st.n_contracts == 0);
	/* The share arrives between two commands of one block. */
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 5, "add 1");
	CHECK(harness_relay(&t.w.chain, t.w.e, "worker/") == 1);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "bob", 2, "add 2");
	block_all(&t.w, all, 3);
	for (size_t i = 1; i < 3; i++) {
		st = status_of(all[i]);
		CHECK(st.has_cluster_key && st.n_contracts == 2 && st.n_unavailable == 0);
		CHECK(st.backlog_msgs == 0 && st.backlog_bytes == 0);
		same_state(&t.w, t.w.e, all[i], apk, a);
		same_state(&t.w, t.w.e, all[i], bpk, b);
		for (uint64_t nonce = 1; nonce <= 5; nonce++)
			same_receipt(&t.w, t.w.e, all[i], apk, a, nonce);
	}
	CHECK(harness_ask_on(&t.w, t.late, bpk, b, "alice", "get total") == 3 + 4);
	CHECK(harness_ask_on(&t.w, t.late, apk, a, "bob", "get mine") == 2);
	CHECK(harness_ask_on(&t.w, t.late, apk, a, "alice", "get mine") == 9 + 5 + 1);

	/* Egress: A's sequence 0 is on chain and not queued again; sequence 1 is pending on the
	 * gatekeeper and queued here byte for byte. */
	struct enc eg, el;
	size_t ng, nl;
	contract_egress(t.w.e, &eg, &ng);
	contract_egress(t.late, &el, &nl);
	CHECK(ng == 1 && nl == 1 && eg.len == el.len && memcmp(eg.buf, el.buf, eg.len) == 0);
	enc_release(&eg);
	enc_release(&el);
	relay_contract_messages(&t.w, t.w.e, 1);
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 6, "roll");
	block_all(&t.w, all, 3);
	for (size_t i = 1; i < 3; i++) {
		same_state(&t.w, t.w.e, all[i], apk, a);
		same_state(&t.w, t.w.e, all[i], bpk, b);
		contract_egress(all[i], &el, &nl);
		CHECK(nl == 0);
		enc_release(&el);
	}
	CHECK(harness_ask_on(&t.w, t.late, bpk, b, "alice", "get messages") == 2);
	enclave_free(copy);
	late_release(&t);
}

/* Three enclaves from genesis: es[0] the gatekeeper and es[1] in cluster 0, es[2] in cluster 1. */
static void world_three(struct harness_world *w, struct testplat ps[2], struct enclave **es,
                        const struct enclave_config *cfg)
{
	harness_world_many(w, cfg, ps, es, 3, 2);
	uint32_t one = 1;
	testplat_registry_event(&w->chain, REGISTRY_EV_CLUSTER_CREATED, &one, 4);
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
	struct testplat ps[2];
	struct enclave *es[3];
	world_three(&w, ps, es, &cfg);
	uint8_t c0[32], c1[32], pk0[32], spk0[32], pk1[32], spk1[32];
	deploy(&w, 0, 1, c0);
	deploy(&w, 1, 1, c1);
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
	testplat_chain_release(&w.chain);
}

/* A backlog that overflows loses its oldest contract: after the key arrives that contract is
 * unavailable here (a clear error, counted in status), and a newer one that fitted is rebuilt. */
static void an_overflowing_backlog_marks_contracts_unavailable(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_backlog_msgs = 12;
	struct late_world t;
	late_init(&t, cfg);
	uint8_t a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	deploy(&t.w, 0, 1, a);
	block_all(&t.w, t.both, 2);
	harness_contract_keys(t.w.e, a, apk, aspk);
	for (uint64_t n = 1; n <= 12; n++)
		harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", n, "add 1");
	block_all(&t.w, t.both, 2);
	CHECK(status_of(t.late).backlog_msgs == 0); /* A is lost: nothing of it is kept */
	deploy(&t.w, 0, 2, b);
	block_all(&t.w, t.both, 2);
	harness_contract_keys(t.w.e, b, bpk, bspk);
	harness_command(&t.w.chain, &t.w.plat, bpk, b, "bob", 1, "add 4");
	block_all(&t.w, t.both, 2);
	struct enclave_status st = status_of(t.late);
	CHECK(st.backlog_msgs == 4 && st.n_unavailable == 0); /* deploy, tick, command, tick */
	harness_register_assign(&t.w.chain, t.late, 0);
	block_all(&t.w, t.both, 2);
	CHECK(status_of(t.late).n_unavailable == 1); /* now that A is of its cluster */
	CHECK(harness_relay(&t.w.chain, t.w.e, "worker/") == 1);
	block_all(&t.w, t.both, 2);
	st = status_of(t.late);
	CHECK(st.has_cluster_key && st.n_contracts == 1 && st.n_unavailable == 1);
	CHECK(st.backlog_msgs == 0);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&t.w, t.late, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	CHECK(harness_ask_on(&t.w, t.w.e, apk, a, "alice", "get total") == 12);
	same_state(&t.w, t.w.e, t.late, bpk, b);
	/* Commands for the lost contract go nowhere here; the rest carries on. */
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 13, "add 1");
	harness_command(&t.w.chain, &t.w.plat, bpk, b, "alice", 1, "add 1");
	block_all(&t.w, t.both, 2);
	CHECK(status_of(t.late).backlog_msgs == 0);
	same_state(&t.w, t.w.e, t.late, bpk, b);
	/* The lost mark survives a checkpoint. */
	struct enclave *copy = testplat_started(&t.p2, &t.cfg, t.late);
	CHECK(status_of(copy).n_unavailable == 1);
	CHECK(harness_ask_raw(&t.w, copy, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	enclave_free(copy);
	late_release(&t);
}

/* The byte cap works the same way: one command larger than the whole backlog loses its
 * contract at once. */
static void the_byte_cap_holds(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_backlog_bytes = 4 * ENCLAVE_BACKLOG_ENTRY_COST + 100;
	struct late_world t;
	late_init(&t, cfg);
	uint8_t a[32], apk[32], aspk[32];
	deploy(&t.w, 0, 1, a);
	block_all(&t.w, t.both, 2);
	harness_contract_keys(t.w.e, a, apk, aspk);
	/* The deploy (its message: the deployer's 32 bytes, no args) and a tick. */
	CHECK(status_of(t.late).backlog_msgs == 2 &&
	      status_of(t.late).backlog_bytes == 2 * ENCLAVE_BACKLOG_ENTRY_COST + 32);
	char big[200];
	memset(big, '1', sizeof(big) - 1);
	memcpy(big, "add ", 4);
	big[sizeof(big) - 1] = '\0';
	harness_command(&t.w.chain, &t.w.plat, apk, a, "alice", 1, big);
	block_all(&t.w, t.both, 2);
	struct enclave_status st = status_of(t.late);
	CHECK(st.backlog_msgs == 0 && st.backlog_bytes == 0);
	harness_register_assign(&t.w.chain, t.late, 0);
	block_all(&t.w, t.both, 2);
	CHECK(harness_relay(&t.w.chain, t.w.e, "worker/") == 1);
	block_all(&t.w, t.both, 2);
	st = status_of(t.late);
	CHECK(st.has_cluster_key && st.n_contracts == 0 && st.n_unavailable == 1);
	late_release(&t);
}

/* A checkpoint whose backlog is over the caps the host starts it with now is not refused: the
 * oldest waiting contracts are lost until it fits, as if it had overflowed now. */
static void a_restore_under_lower_caps_loses_the_oldest(void)
{
	struct late_world t;
	late_init(&t, harness_config(1 << 20));
	uint8_t a[32], b[32], apk[32], aspk[32], bpk[32], bspk[32];
	deploy(&t.w, 0, 1, a);
	block_all(&t.w, t.both, 2);
	deploy(&t.w, 0, 2, b);
	block_all(&t.w, t.both, 2);
	harness_contract_keys(t.w.e, a, apk, aspk);
	harness_contract_keys(t.w.e, b, bpk, bspk);
	harness_command(&t.w.chain, &t.w.plat, bpk, b, "alice", 1, "add 2");
	block_all(&t.w, t.both, 2); /* a: deploy + 3 ticks; b: deploy, command (ticks shared) */
	CHECK(status_of(t.late).backlog_msgs == 6);
	struct enclave_config small = t.cfg;
	small.max_backlog_msgs = 5; /* a and b do not fit; b and one more tick do */
	struct enclave *copy = testplat_started(&t.p2, &small, t.late);
	CHECK(status_of(copy).backlog_msgs == 4); /* b's deploy, a tick, b's command, a tick */
	struct enclave *all[3] = {t.w.e, t.late, copy};
	harness_register_assign(&t.w.chain, copy, 0);
	block_all(&t.w, all, 3);
	CHECK(harness_relay(&t.w.chain, t.w.e, "worker/") == 1);
	block_all(&t.w, all, 3);
	struct enclave_status st = status_of(copy);
	CHECK(st.n_contracts == 1 && st.n_unavailable == 1 && st.backlog_msgs == 0);
	same_state(&t.w, t.w.e, copy, bpk, b);
	uint32_t r;
	uint8_t body[64];
	size_t len;
	CHECK(harness_ask_raw(&t.w, copy, apk, a, "alice", "get total", &r, body, &len) ==
	      ENCLAVE_QUERY_UNAVAILABLE);
	enclave_free(copy);
	late_release(&t);
}

#define RND_CONTRACTS 3
#define RND_BLOCKS    12

struct rnd_world {
	struct late_world t;
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
	harness_command(&r->t.w.chain, &r->t.w.plat, r->pk[k], r->id[k], who[a], ++r->nonce[a],
	                cmd);
}

/* One random history: contracts deployed at random blocks, random commands, calls and messages
 * between them, contract messages relayed late and in part, and the second worker joining at a
 * random block. Afterwards both workers agree on every contract and on the contract messages
 * still pending. */
static void rnd_history(uint64_t *st)
{
	struct rnd_world r;
	memset(&r, 0, sizeof(r));
	late_init(&r.t, harness_config(1 << 20));
	struct harness_world *w = &r.t.w;
	struct enclave *late = r.t.late;
	uint8_t spk[32];
	size_t join = check_rand(st) % (RND_BLOCKS - 2);
	for (size_t blk = 0; blk < RND_BLOCKS; blk++) {
		bool new_contract = r.n < RND_CONTRACTS && (r.n == 0 || check_rand(st) % 3 == 0);
		if (new_contract)
			deploy(w, 0, (uint8_t)r.n, r.id[r.n]);
		if (blk == join)
			harness_register_assign(&w->chain, late, 0);
		if (blk == join + 1)
			CHECK(harness_relay(&w->chain, w->e, "worker/") == 1);
		for (size_t i = r.n ? check_rand(st) % 4 : 0; i > 0; i--)
			rnd_command(&r, st);
		size_t pending;
		struct enc eg;
		contract_egress(w->e, &eg, &pending);
		enc_release(&eg);
		if (pending)
			relay_contract_messages(w, w->e, check_rand(st) % (pending + 1));
		block_all(w, r.t.both, 2);
		if (new_contract)
			harness_contract_keys(w->e, r.id[r.n], r.pk[r.n], spk);
		r.n += new_contract;
	}
	CHECK(status_of(late).n_contracts == r.n && status_of(late).backlog_msgs == 0);
	for (size_t k = 0; k < r.n; k++)
		same_state(w, w->e, late, r.pk[k], r.id[k]);
	struct enc eg, el;
	size_t ng, nl;
	contract_egress(w->e, &eg, &ng);
	contract_egress(late, &el, &nl);
	CHECK(ng == nl && eg.len == el.len && (ng == 0 || memcmp(eg.buf, el.buf, eg.len) == 0));
	enc_release(&eg);
	enc_release(&el);
	late_release(&r.t);
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
