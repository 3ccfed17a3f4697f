/* The contract host through the enclave's call table: deploys and encrypted commands arrive in
 * signed block feeds (alice signs the dev chain), effects are read back with real queries.
 * The counter contract (tests/contracts/counter.h) is the contract under test. */
#include "check.h"

#include "../../contracts/counter.c"
#include "../../contracts/harness.h"
#include "crypto/seal.h"

static void world_init_cap(struct harness_world *w, size_t state_cap)
{
	struct enclave_config cfg = harness_config(state_cap);
	harness_world_init(w, &cfg);
}

static void world_init(struct harness_world *w)
{
	world_init_cap(w, 1 << 20);
}

static void account(const char *who, uint8_t pk[32])
{
	uint8_t sk[64];
	CHECK(devkeys_keypair(who, pk, sk));
}

static void deploy_counter(struct harness_world *w, uint8_t salt, uint8_t id[32], uint8_t pk[32],
                           uint8_t spk[32])
{
	harness_deploy_counter(w, 0, salt, id, pk, spk);
}

static void an_encrypted_command_changes_the_contract_state(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t id[32], pk[32], spk[32];
	deploy_counter(&w, 1, id, pk, spk);
	struct enclave_status st;
	enclave_status(w.e, &st);
	CHECK(st.n_contracts == 1);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 0);
	harness_command(&w.chain, &w.plat, pk, id, "alice", 7, "add 5");
	harness_command(&w.chain, &w.plat, pk, id, "bob", 3, "add 2");
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get mine") == 5);
	CHECK(harness_ask(&w, pk, id, "bob", "get mine") == 2);
	CHECK(harness_ask(&w, pk, id, "charlie", "get mine") == 0);
	CHECK(harness_ask(&w, pk, id, "charlie", "get total") == 7);
	CHECK(harness_ask(&w, pk, id, "alice", "get blocks") ==
	      2); /* on_block: the deploy block and this */
	harness_world_release(&w);
}

/* Deploy arguments reach on_deploy once, as the deployer's; malformed ones are refused there and
 * leave the instance as create made it (still deployed, still usable). */
static void deploy_arguments_reach_the_contract(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t alice[32], sk[64], ids[2][32], pk[32], spk[32];
	CHECK(devkeys_keypair("alice", alice, sk));
	testplat_deploy_args(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, (const uint8_t *)"add 7", 5,
	                     ids[0]);
	testplat_deploy_args(&w.chain, alice, 0, COUNTER_CODE_NAME, 2, (const uint8_t *)"junk", 4,
	                     ids[1]);
	harness_world_block(&w);
	harness_contract_keys(w.e, ids[0], pk, spk);
	CHECK(harness_ask(&w, pk, ids[0], "alice", "get mine") == 7);
	CHECK(harness_ask(&w, pk, ids[0], "bob", "get total") == 7);
	harness_contract_keys(w.e, ids[1], pk, spk);
	CHECK(harness_ask(&w, pk, ids[1], "alice", "get total") == 0);
	harness_command(&w.chain, &w.plat, pk, ids[1], "alice", 1, "add 2");
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, ids[1], "alice", "get mine") == 2);
	harness_world_release(&w);
}

/* A ciphertext is bound to its tx: replayed under another nonce or sender, or with one bit
 * changed anywhere, it does not open and nothing changes. */
static void replayed_and_tampered_commands_are_refused(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t id[32], pk[32], spk[32], alice[32], bob[32];
	deploy_counter(&w, 1, id, pk, spk);
	account("alice", alice);
	account("bob", bob);
	const char *cmd = "add 10";
	size_t n = strlen(cmd) + HPKE_ENVELOPE_OVERHEAD;
	uint8_t ct[128];
	harness_seal_command(&w.plat, &w.chain, pk, id, alice, 4, cmd, ct);
	harness_command_message(&w.chain, id, alice, 4, ct, n);
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 10);

	harness_command_message(&w.chain, id, alice, 5, ct, n); /* another tx of alice */
	harness_command_message(&w.chain, id, bob, 4, ct, n);   /* bob copies it */
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 10);
	CHECK(harness_ask(&w, pk, id, "bob", "get mine") == 0);

	for (size_t at = 0; at < n; at += 5) {
		ct[at] ^= 0x01;
		harness_command_message(&w.chain, id, alice, 100 + at, ct, n);
		ct[at] ^= 0x01;
	}
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 10);

	/* The same bytes from anyone but the contracts module are not a command at all. */
	uint8_t payload[32 + 8 + 128];
	memcpy(payload, alice, 32);
	uint64_t nonce = 4;
	memcpy(payload + 32, &nonce, 8);
	memcpy(payload + 40, ct, n);
	char topic[CONTRACTS_TOPIC_LEN + 1];
	contracts_command_topic(topic, id);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_WORKER},
	                       .topic = (const uint8_t *)topic,
	                       .topic_len = strlen(topic),
	                       .payload = payload,
	                       .payload_len = 40 + n};
	testplat_queue(&w.chain, &m);
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 10);

	/* Refusals by the contract (bad number, overflow) change nothing either. */
	harness_command(&w.chain, &w.plat, pk, id, "alice", 6, "add -1");
	harness_command(&w.chain, &w.plat, pk, id, "alice", 7, "add 18446744073709551615");
	harness_command(&w.chain, &w.plat, pk, id, "alice", 8, "bogus");
	harness_world_block(&w);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 10);
	CHECK(harness_ask(&w, pk, id, "alice", "get mine") == 10);
	harness_world_release(&w);
}

static void unknown_code_and_other_clusters_are_skipped(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t alice[32], id[32];
	account("alice", alice);
	testplat_deploy(&w.chain, alice, 0, "not.here", 1, id);
	harness_world_block(&w);
	struct enclave_status st;
	enclave_status(w.e, &st);
	CHECK(st.n_contracts == 0);
	/* Known code, but another cluster than ours (0): not hosted. */
	testplat_deploy(&w.chain, alice, 1, COUNTER_CODE_NAME, 1, id);
	harness_world_block(&w);
	enclave_status(w.e, &st);
	CHECK(st.cluster == 0 && st.n_contracts == 0);
	/* A deploy event from anyone but the contracts module is ignored. */
	uint8_t ev[128];
	struct enc e;
	enc_init_fixed(&e, ev, sizeof(ev));
	enc_u8(&e, CONTRACTS_EV_DEPLOYED);
	enc_raw(&e, id, 32);
	enc_u32(&e, 0);
	enc_raw(&e, alice, 32);
	enc_bytes(&e, COUNTER_CODE_NAME, strlen(COUNTER_CODE_NAME));
	enc_bytes(&e, NULL, 0);
	struct mq_message m = {.origin = {.kind = MQ_ORIGIN_CONTRACT},
	                       .topic = (const uint8_t *)CONTRACTS_EVENT_TOPIC,
	                       .topic_len = strlen(CONTRACTS_EVENT_TOPIC),
	                       .payload = ev,
	                       .payload_len = e.len};
	testplat_queue(&w.chain, &m);
	harness_world_block(&w);
	enclave_status(w.e, &st);
	CHECK(st.n_contracts == 0);
	harness_world_release(&w);
}

static void hex32(char out[65], const uint8_t id[32])
{
	hex_encode(out, id, 32);
}

/* Takes the enclave's pending egress, checks every message is signed by spk from contract id,
 * and queues them (as the chain would deliver them) into the next block. Returns the count. */
static size_t relay_egress(struct harness_world *w, const uint8_t id[32], const uint8_t spk[32])
{
	struct testplat_egress it;
	size_t relayed = 0;
	testplat_egress_begin(&it, w->e, 64);
	while (testplat_egress_next(&it)) {
		if (it.m.origin.kind != MQ_ORIGIN_CONTRACT)
			continue; /* the gatekeeper's */
		CHECK(memcmp(it.m.origin.id, id, 32) == 0);
		uint8_t h[32];
		mq_signing_hash(h, w->chain.chain_id, &it.m);
		CHECK(sig_verify(it.sig, h, 32, spk));
		testplat_queue(&w->chain, &it.m);
		relayed++;
	}
	testplat_egress_end(&it);
	return relayed;
}

static void sync_calls_and_async_messages_between_instances(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t a[32], apk[32], aspk[32], b[32], bpk[32], bspk[32];
	deploy_counter(&w, 1, a, apk, aspk);
	deploy_counter(&w, 2, b, bpk, bspk);
	char ahex[65], bhex[65], cmd[200];
	hex32(ahex, a);
	hex32(bhex, b);

	/* Sync: alice asks A to add 4 in B; B credits A. */
	snprintf(cmd, sizeof(cmd), "call %s 4", bhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 1, cmd);
	harness_world_block(&w);
	CHECK(harness_ask(&w, bpk, b, "alice", "get total") == 4);
	CHECK(harness_ask(&w, apk, a, "alice", "get total") == 0);
	snprintf(cmd, sizeof(cmd), "peek %s", bhex); /* a read-only call from a query */
	CHECK(harness_ask(&w, apk, a, "alice", cmd) == 4);
	/* A call back into a contract already on the stack is refused, and so is a call to a
	 * contract that is not hosted here. */
	snprintf(cmd, sizeof(cmd), "call %s 1", ahex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 2, cmd);
	uint8_t nowhere[32] = {7};
	char nhex[65];
	hex32(nhex, nowhere);
	snprintf(cmd, sizeof(cmd), "call %s 1", nhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 3, cmd);
	harness_world_block(&w);
	CHECK(harness_ask(&w, apk, a, "alice", "get total") == 0);
	CHECK(harness_ask(&w, bpk, b, "alice", "get total") == 4);
	uint32_t result;
	uint8_t body[64];
	size_t len = 0;
	snprintf(cmd, sizeof(cmd), "peek %s", ahex);
	CHECK(harness_ask_raw(&w, w.e, apk, a, "alice", cmd, &result, body, &len) == ENCLAVE_OK);
	CHECK(result == CONTRACT_REENTRANT);

	/* Async: A sends "add 6" to B through the queue; it arrives one block later, from A. */
	snprintf(cmd, sizeof(cmd), "send %s 6", bhex);
	harness_command(&w.chain, &w.plat, apk, a, "alice", 4, cmd);
	harness_world_block(&w);
	CHECK(harness_ask(&w, bpk, b, "alice", "get messages") == 0);
	CHECK(relay_egress(&w, a, aspk) == 1);
	harness_world_block(&w);
	CHECK(harness_ask(&w, bpk, b, "alice", "get messages") == 1);
	CHECK(harness_ask(&w, bpk, b, "alice", "get total") == 10);

	/* A chain module's message arrives with the module as origin; a gatekeeper's is ignored. */
	char topic[CONTRACT_TOPIC_MAX];
	snprintf(topic, sizeof(topic), "contract/%s/message", bhex);
	testplat_module_msg(&w.chain, "balances", topic, (const uint8_t *)"add 3", 5);
	struct mq_message gm = {.origin = {.kind = MQ_ORIGIN_GATEKEEPER},
	                        .topic = (const uint8_t *)topic,
	                        .topic_len = strlen(topic),
	                        .payload = (const uint8_t *)"add 100",
	                        .payload_len = 7};
	testplat_queue(&w.chain, &gm);
	harness_world_block(&w);
	CHECK(harness_ask(&w, bpk, b, "alice", "get messages") == 2);
	CHECK(harness_ask(&w, bpk, b, "alice", "get total") == 13);

	/* A refused command emits nothing. */
	harness_command(&w.chain, &w.plat, apk, a, "alice", 5, "fail");
	harness_world_block(&w);
	CHECK(relay_egress(&w, a, aspk) == 0);
	harness_world_release(&w);
}

/* Two enclaves fed the same blocks reach the same state, contract_random included; a
 * checkpoint restores every instance and the restored enclave carries on in step. */
static void checkpoint_restores_instances_and_replicas_agree(void)
{
	struct enclave_config cfg = harness_config(1 << 20);
	struct harness_world w;
	struct testplat p2;
	struct enclave *both[2];
	harness_world_many(&w, &cfg, &p2, both, 2, 2); /* w.e the gatekeeper, both in cluster 0 */
	struct enclave *r = both[1];
	uint8_t alice[32], id[32], pk[32], spk[32];
	account("alice", alice);
	testplat_deploy(&w.chain, alice, 0, COUNTER_CODE_NAME, 1, id);
	CHECK(testplat_block(&w.chain, both, 2) == ENCLAVE_OK);
	harness_contract_keys(w.e, id, pk, spk);
	harness_command(&w.chain, &w.plat, pk, id, "alice", 1, "add 3");
	harness_command(&w.chain, &w.plat, pk, id, "bob", 1, "roll");
	CHECK(testplat_block(&w.chain, both, 2) == ENCLAVE_OK);
	uint32_t r1, r2;
	uint8_t roll1[64], roll2[64];
	size_t l1, l2;
	CHECK(harness_ask_raw(&w, w.e, pk, id, "alice", "get roll", &r1, roll1, &l1) == ENCLAVE_OK);
	CHECK(harness_ask_raw(&w, r, pk, id, "alice", "get roll", &r2, roll2, &l2) == ENCLAVE_OK);
	CHECK(r1 == CONTRACT_OK && l1 == 8 && l2 == 8);
	CHECK_EQ_MEM(roll1, roll2, 8);
	static const uint8_t zero[8];
	CHECK(memcmp(roll1, zero, 8) != 0);

	struct enc ck;
	enc_init(&ck, 1 << 20);
	CHECK(enclave_checkpoint(w.e, &ck) == ENCLAVE_OK);
	struct enclave *back = testplat_enclave(&w.plat, &cfg);
	CHECK(testplat_start(back, ck.buf, ck.len) == ENCLAVE_OK);
	struct enclave_status st;
	enclave_status(back, &st);
	CHECK(st.n_contracts == 1);
	CHECK(harness_ask_on(&w, back, pk, id, "alice", "get mine") == 3);
	CHECK(harness_ask_on(&w, back, pk, id, "alice", "get blocks") == 2);
	struct enclave *three[3] = {w.e, r, back};
	harness_command(&w.chain, &w.plat, pk, id, "alice", 2, "add 4");
	harness_command(&w.chain, &w.plat, pk, id, "bob", 2, "roll");
	CHECK(testplat_block(&w.chain, three, 3) == ENCLAVE_OK);
	for (size_t i = 0; i < 3; i++) {
		CHECK(harness_ask_on(&w, three[i], pk, id, "alice", "get mine") == 7);
		CHECK(harness_ask_on(&w, three[i], pk, id, "alice", "get blocks") == 3);
		CHECK(harness_ask_raw(&w, three[i], pk, id, "alice", "get roll", &r2, roll2, &l2) ==
		      ENCLAVE_OK);
		if (i == 0)
			memcpy(roll1, roll2, 8);
		CHECK_EQ_MEM(roll1, roll2, 8);
	}
	/* A checkpoint whose contract section names code this binary lacks is refused. */
	struct enclave_config none = {.max_contracts = 8, .max_state_bytes = 1 << 20};
	struct enclave *bare = testplat_enclave(&w.plat, &none);
	CHECK(testplat_start(bare, ck.buf, ck.len) == ENCLAVE_UNSEAL);
	enclave_free(bare);
	enc_release(&ck);
	enclave_free(back);
	enclave_free(r);
	harness_world_release(&w);
}

/* Plaintext bytes of w's checkpoint now. */
static size_t checkpoint_size(struct harness_world *w)
{
	struct enc ck;
	enc_init(&ck, 1 << 22);
	enum enclave_result r = enclave_checkpoint(w->e, &ck);
	size_t n = ck.len - seal_blob_len(0, strlen("checkpoint"));
	enc_release(&ck);
	return r == ENCLAVE_OK ? n : 0;
}

/* Deploys a counter and gives it six accounts; returns the checkpoint size before the six. */
static size_t six_accounts(struct harness_world *w, uint8_t id[32], uint8_t pk[32])
{
	uint8_t spk[32];
	deploy_counter(w, 1, id, pk, spk);
	size_t before = checkpoint_size(w);
	const char *who[] = {"alice", "bob", "charlie", "dave", "eve", "ferdie"};
	for (size_t i = 0; i < 6; i++)
		harness_command(&w->chain, &w->plat, pk, id, who[i], 1, "add 1");
	harness_world_block(w);
	return before;
}

/* A contract's snapshot that does not fit config.max_state_bytes fails the checkpoint rather
 * than writing a truncated one; the enclave carries on. Two identical runs (the test platform
 * is deterministic): one measures, the other has a cap between the two sizes. */
static void checkpoint_over_cap_is_refused(void)
{
	struct harness_world w;
	uint8_t id[32], pk[32];
	world_init(&w);
	size_t before = six_accounts(&w, id, pk);
	size_t after = checkpoint_size(&w);
	CHECK(before > 0 && after >= before + 6 * 40);
	harness_world_release(&w);

	world_init_cap(&w, before + 100);
	CHECK(six_accounts(&w, id, pk) == before);
	CHECK(checkpoint_size(&w) == 0); /* ENCLAVE_TOO_LARGE */
	struct enc ck;
	enc_init(&ck, 1 << 22);
	CHECK(enclave_checkpoint(w.e, &ck) == ENCLAVE_TOO_LARGE);
	enc_release(&ck);
	CHECK(harness_ask(&w, pk, id, "alice", "get total") == 6);
	harness_world_release(&w);
}

/* Every command leaves a receipt its sender (and only its sender) reads back with a query:
 * applied with the contract's reply, refused by the contract, or not opened at all. Receipts
 * survive a checkpoint. */
static void receipts_tell_the_sender_what_happened(void)
{
	struct harness_world w;
	world_init(&w);
	uint8_t id[32], pk[32], spk[32], alice[32];
	deploy_counter(&w, 1, id, pk, spk);
	account("alice", alice);
	uint64_t height = 0;
	uint32_t result = 0;
	char reply[CONTRACT_REPLY_MAX + 1];
	CHECK(harness_receipt(&w, w.e, pk, id, "alice", 7, &height, &result, reply) ==
	      CONTRACT_NO_RECEIPT);
	harness_command(&w.chain, &w.plat, pk, id, "alice", 7, "add 5");
	harness_command(&w.chain, &w.plat, pk, id, "alice", 8, "add x");
	uint8_t ct[128];
	const char *cmd = "add 1";
	harness_seal_command(&w.plat, &w.chain, pk, id, alice, 100, cmd, ct);
	harness_command_message(&w.chain, id, alice, 9, ct, strlen(cmd) + HPKE_ENVELOPE_OVERHEAD);
	harness_world_block(&w);
	uint64_t applied = w.chain.height;

	CHECK(harness_receipt(&w, w.e, pk, id, "alice", 7, &height, &result, reply) == CONTRACT_OK);
	CHECK(height == applied && result == CONTRACT_OK);
	CHECK_STR(reply, "mine=5");
	CHECK(harness_receipt(&w, w.e, pk, id, "alice", 8, &height, &result, reply) == CONTRACT_OK);
	CHECK(result == CONTRACT_BAD_REQUEST);
	CHECK_STR(reply, "refused: bad request");
	CHECK(harness_receipt(&w, w.e, pk, id, "alice", 9, &height, &result, reply) == CONTRACT_OK);
	CHECK(result == CONTRACT_NOT_OPENED && reply[0] == '\0');
	/* Bob cannot read alice's receipts: he only finds his own nonces, and has none. */
	CHECK(harness_receipt(&w, w.e, pk, id, "bob", 7, &height, &result, reply) ==
	      CONTRACT_NO_RECEIPT);
	/* A malformed host request is refused without reaching the contract. */
	uint32_t r;
	uint8_t body[64];
	size_t len;
	static const uint8_t bad[] = {0x00, 0x02, 1, 0, 0, 0, 0, 0, 0, 0};
	CHECK(harness_ask_n(&w, w.e, pk, id, "alice", bad, sizeof(bad), &r, body, &len) ==
	      ENCLAVE_OK);
	CHECK(r == CONTRACT_BAD_REQUEST && len == 0);

	struct enclave_config cfg = harness_config(1 << 20);
	struct enclave *back = testplat_started(&w.plat, &cfg, w.e);
	CHECK(harness_receipt(&w, back, pk, id, "alice", 8, &height, &result, reply) ==
	      CONTRACT_OK);
	CHECK(height == applied && result == CONTRACT_BAD_REQUEST);
	CHECK_STR(reply, "refused: bad request");

	/* Only the last CONTRACT_RECEIPTS are kept: alice's three are pushed out by bob's. */
	for (uint64_t n = 0; n < CONTRACT_RECEIPTS; n++) {
		harness_command(&w.chain, &w.plat, pk, id, "bob", 1000 + n, "add 1");
		if (w.chain.n_msgs == TESTPLAT_MAX_MSGS)
			harness_world_block(&w);
	}
	harness_world_block(&w);
	CHECK(harness_receipt(&w, w.e, pk, id, "alice", 9, &height, &result, reply) ==
	      CONTRACT_NO_RECEIPT);
	CHECK(harness_receipt(&w, w.e, pk, id, "bob", 1000, &height, &result, reply) ==
	      CONTRACT_OK);
	CHECK_STR(reply, "mine=1");
	CHECK(harness_receipt(&w, w.e, pk, id, "bob", 1000 + CONTRACT_RECEIPTS - 1, &height,
	                      &result, reply) == CONTRACT_OK);
	CHECK(result == CONTRACT_OK);
	enclave_free(back);
	harness_world_release(&w);
}

CHECK_MAIN(CASE(deploy_arguments_reach_the_contract),
           CASE(an_encrypted_command_changes_the_contract_state),
           CASE(replayed_and_tampered_commands_are_refused),
           CASE(unknown_code_and_other_clusters_are_skipped),
           CASE(sync_calls_and_async_messages_between_instances),
           CASE(checkpoint_restores_instances_and_replicas_agree),
           CASE(checkpoint_over_cap_is_refused), CASE(receipts_tell_the_sender_what_happened))
