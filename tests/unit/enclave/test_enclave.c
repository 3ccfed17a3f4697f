/* The enclave through its call table: start, registration, feeding the dev chain's blocks,
 * sealed checkpoints that only the same chain and code can open. */
#include <jansson.h>

#include "../../contracts/testplat.h"
#include "base/ss58.h"
#include "check.h"

static struct enclave *new_enclave(struct testplat *tp)
{
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = 16, .max_state_bytes = 1 << 20};
	return testplat_enclave(tp, &cfg);
}

/* Feeds the next n blocks of c to e. */
static void feed_blocks(struct testplat_chain *c, struct enclave *e, int n)
{
	for (int i = 0; i < n; i++)
		CHECK(testplat_block(c, &e, 1) == ENCLAVE_OK);
}

static void starts_and_follows_the_dev_chain(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	struct testplat_chain c;
	testplat_chain_init(&c);
	char *g = genesis_dev_json(1000);
	struct enclave_status st;
	enclave_status(e, &st);
	CHECK(!st.started);
	uint8_t zero[32] = {0};
	CHECK(enclave_feed_block(e, zero, 32, NULL, 0) == ENCLAVE_NOT_STARTED);
	CHECK(enclave_start(e, (const uint8_t *)"{", 1, NULL, 0) == ENCLAVE_BAD_GENESIS);
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) == ENCLAVE_OK);
	CHECK(tp.logs >= 1); /* the sim warning */
	feed_blocks(&c, e, 5);
	enclave_status(e, &st);
	CHECK(st.started && st.height == 5);
	CHECK_EQ_MEM(st.block_hash, c.prev, 32);
	CHECK_EQ_MEM(st.chain_id, c.chain_id, 32);
	/* Garbage is refused with a reason and changes nothing. */
	char err[200];
	CHECK(enclave_feed_block(e, zero, 32, err, sizeof(err)) == ENCLAVE_BAD_INPUT);
	CHECK(strlen(err) > 0);
	struct enclave_status st2;
	enclave_status(e, &st2);
	CHECK(memcmp(&st, &st2, sizeof(st)) == 0);
	enclave_free(e);
	free(g);
}

static void registration_binds_keys_operator_and_chain(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	struct testplat_chain c;
	testplat_chain_init(&c);
	uint8_t op[32] = {9};
	struct enclave_registration reg;
	CHECK(enclave_registration(e, op, &reg) == ENCLAVE_NOT_STARTED);
	CHECK(testplat_start(e, NULL, 0) == ENCLAVE_OK);
	CHECK(enclave_registration(e, op, &reg) == ENCLAVE_OK);
	uint8_t info[128], rd[32];
	memcpy(info, reg.identity, 32);
	memcpy(info + 32, reg.hpke_pk, 32);
	memcpy(info + 64, op, 32);
	memcpy(info + 96, c.chain_id, 32);
	hash_tagged(rd, "tenebra/v1/worker-registration", info, sizeof(info));
	CHECK(reg.report_len == 40 && memcmp(reg.report, rd, 32) == 0);
	CHECK_EQ_MEM(reg.measurement, tp.measurement, 32);
	enclave_free(e);
}

static void checkpoints_restore_only_for_the_same_chain_and_code(void)
{
	struct testplat tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	struct testplat_chain c;
	testplat_chain_init(&c);
	CHECK(testplat_start(e, NULL, 0) == ENCLAVE_OK);
	feed_blocks(&c, e, 7);
	struct enc ck;
	enc_init(&ck, 1 << 20);
	CHECK(enclave_checkpoint(e, &ck) == ENCLAVE_OK);
	struct enclave_status st;
	enclave_status(e, &st);

	struct enclave *r = new_enclave(&tp);
	CHECK(testplat_start(r, ck.buf, ck.len) == ENCLAVE_OK);
	struct enclave_status rs;
	enclave_status(r, &rs);
	CHECK(rs.height == 7 && memcmp(rs.identity, st.identity, 32) == 0);
	CHECK_EQ_MEM(rs.block_hash, st.block_hash, 32);
	feed_blocks(&c, r, 2); /* carries on from the checkpoint */
	enclave_free(r);

	/* Another measurement (another build), another machine key, a tampered blob, another
	 * chain: all refused. */
	struct testplat other_code = tp, other_key = tp;
	other_code.measurement[0] = 7;
	other_key.seal_key[0] = 7;
	struct testplat *refusers[] = {&other_code, &other_key};
	for (size_t i = 0; i < 2; i++) {
		r = new_enclave(refusers[i]);
		CHECK(testplat_start(r, ck.buf, ck.len) == ENCLAVE_UNSEAL);
		enclave_free(r);
	}
	for (size_t at = 0; at < ck.len; at += 7) {
		ck.buf[at] ^= 0x20;
		r = new_enclave(&tp);
		CHECK(testplat_start(r, ck.buf, ck.len) == ENCLAVE_UNSEAL);
		enclave_free(r);
		ck.buf[at] ^= 0x20;
	}
	char *g2 = genesis_dev_json(2000); /* another block time: another chain */
	r = new_enclave(&tp);
	CHECK(enclave_start(r, (const uint8_t *)g2, strlen(g2), ck.buf, ck.len) == ENCLAVE_UNSEAL);
	enclave_free(r);
	free(g2);
	enc_release(&ck);
	enclave_free(e);
}

/* A genesis listing its validators in another order than the canonical one (power descending):
 * block 1 names the set in the order the chain keeps it, and the enclave must trust exactly that
 * set, whatever order the document used. */
static void follows_a_genesis_listing_validators_out_of_order(void)
{
	const char *names[2] = {"alice", "bob"};
	uint64_t powers[2] = {1, 5}; /* canonical order: bob (5), then alice (1) */
	uint8_t pk[2][32], sk[2][64];
	char *dev = genesis_dev_json(1000);
	json_t *doc = json_loads(dev, 0, NULL), *vals = json_array();
	for (int i = 0; i < 2; i++) {
		char addr[SS58_ADDR_MAX + 1];
		CHECK(devkeys_keypair(names[i], pk[i], sk[i]));
		ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, pk[i]);
		json_array_append_new(vals,
		                      json_pack("{s:s, s:s, s:I}", "name", names[i], "public_key",
		                                addr, "power", (json_int_t)powers[i]));
	}
	json_object_set_new(doc, "validators", vals);
	char *g = json_dumps(doc, 0);
	struct genesis gen;
	CHECK(genesis_parse(&gen, g, strlen(g), NULL, 0) == GENESIS_OK);
	struct block_feed f;
	memset(&f, 0, sizeof(f));
	f.header.version = HEADER_VERSION;
	f.header.height = 1;
	f.header.time_ms = gen.genesis_time_ms + 1000;
	genesis_hash(f.header.chain_id, &gen);
	struct valset set = {.n = 2, .v = {{{0}, 5}, {{0}, 1}}};
	memcpy(set.v[0].pub_key, pk[1], 32);
	memcpy(set.v[1].pub_key, pk[0], 32);
	valset_hash(f.header.validators_hash, &set);
	memcpy(f.header.next_validators_hash, f.header.validators_hash, 32);
	block_msgs_root(f.header.msgs_root, NULL, NULL, 0);
	uint8_t hash[32];
	header_hash(hash, &f.header);
	commit_init(&f.commit, 1, 0, hash, 2);
	commit_sign(&f.commit, 0, f.header.chain_id, sk[1]);
	commit_sign(&f.commit, 1, f.header.chain_id, sk[0]);
	struct enc out;
	enc_init(&out, FEED_MAX_BYTES);
	block_feed_encode(&out, &f);

	struct testplat tp = {.measurement = {1}, .seal_key = {2}, .quiet = 1};
	struct enclave *e = new_enclave(&tp);
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) == ENCLAVE_OK);
	char err[200] = "";
	CHECK(enclave_feed_block(e, out.buf, out.len, err, sizeof(err)) == ENCLAVE_OK);
	struct enclave_status st;
	enclave_status(e, &st);
	CHECK(st.height == 1);
	enclave_free(e);
	enc_release(&out);
	genesis_release(&gen);
	free(g);
	json_decref(doc);
	free(dev);
}

CHECK_MAIN(CASE(starts_and_follows_the_dev_chain), CASE(registration_binds_keys_operator_and_chain),
           CASE(checkpoints_restore_only_for_the_same_chain_and_code),
           CASE(follows_a_genesis_listing_validators_out_of_order))
