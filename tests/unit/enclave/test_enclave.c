/* The enclave through its call table: start, registration, feeding the dev chain's blocks,
 * sealed checkpoints that only the same chain and code can open. */
#include <stdlib.h>
#include <string.h>

#include "chain/feed.h"
#include "chain/genesis.h"
#include "check.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "enclave/enclave.h"

struct test_platform {
	uint8_t measurement[32];
	uint8_t seal_key[32];
	uint64_t rand_counter;
	int logs;
};

static void tp_measurement(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct test_platform *)ctx)->measurement, 32);
}

static int tp_seal_key(void *ctx, uint8_t out[32])
{
	memcpy(out, ((struct test_platform *)ctx)->seal_key, 32);
	return 0;
}

/* A report that is just the report data and height: the chain side is tested in chain/. */
static int tp_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out, size_t cap,
                     size_t *len)
{
	(void)ctx;
	if (cap < 40)
		return -1;
	memcpy(out, rd, 32);
	memcpy(out + 32, &height, 8);
	*len = 40;
	return 0;
}

static void tp_random(void *ctx, uint8_t *buf, size_t n)
{
	struct test_platform *tp = ctx;
	uint64_t c = tp->rand_counter++;
	for (size_t i = 0; i < n; i += 32) {
		uint8_t h[32];
		hash_tagged(h, "test-random", &c, sizeof(c));
		memcpy(buf + i, h, n - i < 32 ? n - i : 32);
		c += 1u << 20;
	}
}

static void tp_log(void *ctx, int level, const char *line)
{
	(void)level;
	(void)line;
	((struct test_platform *)ctx)->logs++;
}

static struct enclave *new_enclave(struct test_platform *tp)
{
	struct enclave_platform p = {.ctx = tp,
	                             .backend = ENCLAVE_BACKEND_SIM,
	                             .measurement = tp_measurement,
	                             .seal_key = tp_seal_key,
	                             .attest = tp_attest,
	                             .random = tp_random,
	                             .log = tp_log};
	struct enclave_config cfg = {
	    .max_contracts = 4, .max_egress = 16, .max_state_bytes = 1 << 20};
	struct enclave *e = enclave_new(&p, &cfg);
	CHECK(e != NULL);
	return e;
}

static char *dev_genesis(void)
{
	return genesis_dev_json(1000);
}

/* The feed of dev-chain block `height` after `prev`, signed by alice (the only validator). */
static void dev_feed(struct enc *out, const uint8_t chain_id[32], const struct valset *vs,
                     uint64_t height, const uint8_t prev[32], uint8_t hash_out[32])
{
	struct block_feed f;
	memset(&f, 0, sizeof(f));
	f.header.version = HEADER_VERSION;
	f.header.height = height;
	f.header.time_ms = GENESIS_DEV_TIME_MS + height * 1000;
	memcpy(f.header.chain_id, chain_id, 32);
	memcpy(f.header.prev_hash, prev, 32);
	valset_hash(f.header.validators_hash, vs);
	memcpy(f.header.next_validators_hash, f.header.validators_hash, 32);
	block_msgs_root(f.header.msgs_root, NULL, NULL, 0);
	header_hash(hash_out, &f.header);
	uint8_t pk[32], sk[64];
	CHECK(devkeys_keypair("alice", pk, sk));
	commit_init(&f.commit, height, 0, hash_out, 1);
	commit_sign(&f.commit, 0, chain_id, sk);
	enc_init(out, FEED_MAX_BYTES);
	block_feed_encode(out, &f);
}

static void dev_chain(uint8_t chain_id[32], struct valset *vs)
{
	char *g = dev_genesis();
	struct genesis gen;
	char err[128];
	CHECK(genesis_parse(&gen, g, strlen(g), err, sizeof(err)) == GENESIS_OK);
	genesis_hash(chain_id, &gen);
	vs->n = 1;
	memcpy(vs->v[0].pub_key, gen.validators[0].public_key, 32);
	vs->v[0].power = gen.validators[0].power;
	genesis_release(&gen);
	free(g);
}

/* Feeds blocks from+1..to; returns the last hash in prev. */
static void feed_range(struct enclave *e, uint64_t from, uint64_t to, uint8_t prev[32])
{
	uint8_t chain_id[32];
	struct valset vs;
	dev_chain(chain_id, &vs);
	for (uint64_t h = from + 1; h <= to; h++) {
		struct enc f;
		uint8_t hash[32];
		dev_feed(&f, chain_id, &vs, h, prev, hash);
		char err[200];
		CHECK(enclave_feed_block(e, f.buf, f.len, err, sizeof(err)) == ENCLAVE_OK);
		memcpy(prev, hash, 32);
		enc_release(&f);
	}
}

static void starts_and_follows_the_dev_chain(void)
{
	struct test_platform tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	char *g = dev_genesis();
	struct enclave_status st;
	enclave_status(e, &st);
	CHECK(!st.started);
	uint8_t zero[32] = {0}, prev[32] = {0};
	CHECK(enclave_feed_block(e, zero, 32, NULL, 0) == ENCLAVE_NOT_STARTED);
	CHECK(enclave_start(e, (const uint8_t *)"{", 1, NULL, 0) == ENCLAVE_BAD_GENESIS);
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) == ENCLAVE_OK);
	CHECK(tp.logs >= 1); /* the sim warning */
	feed_range(e, 0, 5, prev);
	enclave_status(e, &st);
	CHECK(st.started && st.height == 5);
	CHECK_EQ_MEM(st.block_hash, prev, 32);
	uint8_t chain_id[32];
	struct valset vs;
	dev_chain(chain_id, &vs);
	CHECK_EQ_MEM(st.chain_id, chain_id, 32);
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
	struct test_platform tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	char *g = dev_genesis();
	uint8_t op[32] = {9};
	struct enclave_registration reg;
	CHECK(enclave_registration(e, op, &reg) == ENCLAVE_NOT_STARTED);
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) == ENCLAVE_OK);
	CHECK(enclave_registration(e, op, &reg) == ENCLAVE_OK);
	uint8_t chain_id[32], info[128], rd[32];
	struct valset vs;
	dev_chain(chain_id, &vs);
	memcpy(info, reg.identity, 32);
	memcpy(info + 32, reg.hpke_pk, 32);
	memcpy(info + 64, op, 32);
	memcpy(info + 96, chain_id, 32);
	hash_tagged(rd, "tenebra/v1/worker-registration", info, sizeof(info));
	CHECK(reg.report_len == 40 && memcmp(reg.report, rd, 32) == 0);
	CHECK_EQ_MEM(reg.measurement, tp.measurement, 32);
	enclave_free(e);
	free(g);
}

static void checkpoints_restore_only_for_the_same_chain_and_code(void)
{
	struct test_platform tp = {.measurement = {1}, .seal_key = {2}};
	struct enclave *e = new_enclave(&tp);
	char *g = dev_genesis();
	uint8_t prev[32] = {0};
	CHECK(enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) == ENCLAVE_OK);
	feed_range(e, 0, 7, prev);
	struct enc ck;
	enc_init(&ck, 1 << 20);
	CHECK(enclave_checkpoint(e, &ck) == ENCLAVE_OK);
	struct enclave_status st;
	enclave_status(e, &st);

	struct enclave *r = new_enclave(&tp);
	CHECK(enclave_start(r, (const uint8_t *)g, strlen(g), ck.buf, ck.len) == ENCLAVE_OK);
	struct enclave_status rs;
	enclave_status(r, &rs);
	CHECK(rs.height == 7 && memcmp(rs.identity, st.identity, 32) == 0);
	CHECK_EQ_MEM(rs.block_hash, st.block_hash, 32);
	feed_range(r, 7, 9, prev); /* carries on from the checkpoint */
	enclave_free(r);

	/* Another measurement (another build), another machine key, a tampered blob, another
	 * chain: all refused. */
	struct test_platform other_code = tp, other_key = tp;
	other_code.measurement[0] = 7;
	other_key.seal_key[0] = 7;
	struct test_platform *refusers[] = {&other_code, &other_key};
	for (size_t i = 0; i < 2; i++) {
		r = new_enclave(refusers[i]);
		CHECK(enclave_start(r, (const uint8_t *)g, strlen(g), ck.buf, ck.len) ==
		      ENCLAVE_UNSEAL);
		enclave_free(r);
	}
	for (size_t at = 0; at < ck.len; at += 7) {
		ck.buf[at] ^= 0x20;
		r = new_enclave(&tp);
		CHECK(enclave_start(r, (const uint8_t *)g, strlen(g), ck.buf, ck.len) ==
		      ENCLAVE_UNSEAL);
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
	free(g);
}

CHECK_MAIN(CASE(starts_and_follows_the_dev_chain), CASE(registration_binds_keys_operator_and_chain),
           CASE(checkpoints_restore_only_for_the_same_chain_and_code))
