/*
 * Genesis tests: the dev genesis and its pinned chain id, order/whitespace independence, state
 * building (then a transfer on it), and every corrupt file of tests/vectors/genesis/ failing with
 * a message that names the problem.
 */
#include "check.h"

#include <dirent.h>

#include "base/amount.h"
#include "base/hex.h"
#include "base/ss58.h"
#include "chain/genesis.h"
#include "chain/memstate.h"
#include "chain/runtime.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"

#define VEC_DIR "tests/vectors/genesis/"
/* The dev chain id (block time 1000 ms). Changing it breaks every dev keystore and script that
 * signs for the dev chain: only change it together with docs/protocol/runtime.md. */
#define DEV_CHAIN_ID "e185d669f6e6dddc28f00e7b9f406e466cdc41dbb074fdad7422497e91fb48a2"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	*len = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static enum genesis_result parse_file(struct genesis *g, const char *name, char *err, size_t errlen)
{
	char path[256];
	size_t len;
	snprintf(path, sizeof(path), VEC_DIR "%s", name);
	char *json = read_file(path, &len);
	CHECK(json != NULL);
	if (!json)
		return GENESIS_BAD_JSON;
	enum genesis_result r = genesis_parse(g, json, len, err, errlen);
	free(json);
	return r;
}

static void hash_hex(char out[65], const struct genesis *g)
{
	uint8_t h[32];
	genesis_hash(h, g);
	hex_encode(out, h, 32);
}

static void dev_genesis_pinned(void)
{
	char *json = genesis_dev_json(1000);
	struct genesis g;
	char err[256], hex[65];
	CHECK(json != NULL);
	CHECK(genesis_parse(&g, json, strlen(json), err, sizeof(err)) == GENESIS_OK);
	hash_hex(hex, &g);
	CHECK_STR(hex, DEV_CHAIN_ID);
	CHECK_STR(g.chain_name, "tenebra-dev");
	CHECK(g.genesis_time_ms == GENESIS_DEV_TIME_MS && g.block_time_ms == 1000);
	CHECK(g.ss58_prefix == 30 && strcmp(g.token_symbol, "PHA") == 0 && g.token_decimals == 12);
	CHECK(g.total_supply == 1000000000 * AMOUNT_ONE_PHA);
	CHECK(g.existential_deposit == AMOUNT_ONE_PHA / 100);
	CHECK(g.fee_base == 100000000 && g.fee_per_byte == 1000000 && g.fee_per_weight == 1000);
	uint8_t pk[32], sk[64];
	CHECK(devkeys_keypair("alice", pk, sk));
	CHECK(g.n_validators == 1 && memcmp(g.validators[0].public_key, pk, 32) == 0);
	CHECK(strcmp(g.validators[0].name, "alice") == 0 && g.validators[0].power == 1);
	CHECK(memcmp(g.sudo, pk, 32) == 0);
	runtime_module_account(pk, "treasury");
	CHECK(memcmp(g.treasury, pk, 32) == 0);
	runtime_module_account(pk, "mining-reward-pool");
	CHECK(memcmp(g.mining_reward_pool, pk, 32) == 0);
	CHECK(g.n_allocations == 8);
	CHECK(g.allocations[0].amount == 700000000 * AMOUNT_ONE_PHA);
	CHECK(g.allocations[7].amount == 240000000 * AMOUNT_ONE_PHA);
	CHECK_STR(g.allocations[3].label, "dev account charlie");
	genesis_release(&g);
	CHECK(g.allocations == NULL && g.n_allocations == 0);

	/* The checked-in file and a reordered, minified spelling give the same chain id. */
	CHECK(parse_file(&g, "dev.json", err, sizeof(err)) == GENESIS_OK);
	hash_hex(hex, &g);
	CHECK_STR(hex, DEV_CHAIN_ID);
	genesis_release(&g);
	CHECK(parse_file(&g, "valid-reordered.json", err, sizeof(err)) == GENESIS_OK);
	hash_hex(hex, &g);
	CHECK_STR(hex, DEV_CHAIN_ID);
	genesis_release(&g);
	free(json);

	/* Another block time is another chain. */
	json = genesis_dev_json(500);
	CHECK(genesis_parse(&g, json, strlen(json), err, sizeof(err)) == GENESIS_OK);
	hash_hex(hex, &g);
	CHECK(strcmp(hex, DEV_CHAIN_ID) != 0);
	genesis_release(&g);
	free(json);
}

static void encoding_matches_hash(void)
{
	char *json = genesis_dev_json(1000);
	struct genesis g;
	CHECK(genesis_parse(&g, json, strlen(json), NULL, 0) == GENESIS_OK);
	struct enc e;
	enc_init(&e, 1 << 20);
	genesis_encode(&e, &g);
	CHECK(enc_finish(&e) == CODEC_OK);
	/* head 1+12+8+8+2+4+1+5*16+3*32 = 212, validators 1+(6+32+8), allocations
	 * 1+8*(32+16)+labels, attestation policy 1+1+1+1+1+32+8+1 = 46 */
	size_t labels = 0;
	for (size_t i = 0; i < g.n_allocations; i++)
		labels += 1 + strlen(g.allocations[i].label);
	CHECK(e.len == 212 + 47 + 1 + 8 * 48 + labels + 46);
	uint8_t direct[32], streamed[32];
	hash_tagged(direct, GENESIS_HASH_TAG, e.buf, e.len);
	genesis_hash(streamed, &g);
	CHECK_EQ_MEM(direct, streamed, 32);
	enc_release(&e);
	genesis_release(&g);
	free(json);
}

static void build_state_then_transfer(void)
{
	char *json = genesis_dev_json(1000);
	struct genesis g;
	struct memstate m = {0};
	struct state_reader r = mem_reader(&m);
	struct state_overlay o;
	CHECK(genesis_parse(&g, json, strlen(json), NULL, 0) == GENESIS_OK);
	state_overlay_init(&o, &r, NULL);
	CHECK(genesis_build_state(&g, &o) == STATE_OK);
	/* 8 accounts, sys/params, val/next, val/epoch, reg/policy */
	CHECK(state_overlay_count(&o) == 12);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);

	struct runtime_params p, want;
	genesis_params(&want, &g);
	memset(&p, 0, sizeof(p));
	CHECK(runtime_params_load(&r, &p) == 1 && memcmp(&p, &want, sizeof(p)) == 0);
	uint8_t id[32];
	genesis_hash(id, &g);
	CHECK_EQ_MEM(p.chain_id, id, 32);
	u128 sum = 0;
	for (size_t i = 0; i < g.n_allocations; i++) {
		struct account a;
		CHECK(runtime_account_get(&r, g.allocations[i].account, &a) == 1 && a.nonce == 0);
		sum += a.free;
	}
	CHECK(sum == g.total_supply);

	/* The dev state accepts a transfer signed for its chain id. */
	uint8_t alice[32], bob[32], sk[64], payload[BALANCES_TRANSFER_PAYLOAD_LEN];
	CHECK(devkeys_keypair("alice", alice, sk) && devkeys_keypair("bob", bob, sk));
	struct tx tx = {.version = TX_VERSION,
	                .nonce = 0,
	                .valid_until = 5,
	                .max_fee = AMOUNT_ONE_PHA,
	                .module = RUNTIME_MODULE_BALANCES,
	                .function = BALANCES_FN_TRANSFER,
	                .payload = payload,
	                .payload_len = sizeof(payload)};
	memcpy(tx.chain_id, id, 32);
	memcpy(tx.sender, alice, 32);
	balances_transfer_payload(payload, bob, 5 * AMOUNT_ONE_PHA);
	struct tx_outcome out;
	state_overlay_init(&o, &r, NULL);
	CHECK(runtime_apply_tx(&p, &o, &tx, 228, 1, alice, &out) == TX_OK && out.result == TX_OK);
	CHECK(mem_commit(&m, &o));
	state_overlay_release(&o);
	struct account a;
	CHECK(runtime_account_get(&r, bob, &a) == 1 && a.free == 10000005 * AMOUNT_ONE_PHA);
	CHECK(runtime_account_get(&r, alice, &a) == 1 && a.nonce == 1);
	CHECK(a.free == 9999995 * AMOUNT_ONE_PHA - 378000000);
	mem_release(&m);
	genesis_release(&g);
	free(json);
}

struct bad_case {
	const char *file;
	enum genesis_result result;
	const char *message; /* a substring the error must contain */
};

static const struct bad_case bad_cases[] = {
    {"bad-json.json", GENESIS_BAD_JSON, "invalid JSON at line"},
    {"duplicate-key.json", GENESIS_BAD_JSON, "duplicate object key"},
    {"not-an-object.json", GENESIS_BAD_TYPE, "genesis: must be an object"},
    {"missing-field.json", GENESIS_MISSING_FIELD, "missing field \"existential_deposit\""},
    {"unknown-field.json", GENESIS_UNKNOWN_FIELD,
     "unknown field \"fees.per_bytes\" (did you mean \"per_byte\"?)"},
    {"sum-mismatch.json", GENESIS_SUM_MISMATCH,
     "allocations: they sum to 1000000001 PHA but total_supply is 1000000000 PHA"},
    {"bad-address.json", GENESIS_BAD_ADDRESS, "treasury: not a valid SS58 address"},
    {"wrong-prefix.json", GENESIS_BAD_ADDRESS,
     "sudo: address \"139dzh6zGVJeVTCHq3g5ZkWGb8WuHqz8VzVkTfVAH9Siinwt\" has network prefix 0 "
     "but ss58_prefix is 30"},
    {"duplicate-account.json", GENESIS_DUPLICATE,
     "allocations[3]: duplicate account 42mRkTM5oDYTBDLD124ntnV1ygoiwLskAD7gvAnCAoHMAdg8 (also "
     "allocations[2])"},
    {"duplicate-validator.json", GENESIS_DUPLICATE, "validators[1]: duplicate account"},
    {"negative-amount.json", GENESIS_BAD_AMOUNT, "allocations[4].amount: not a PHA amount: \"-5\""},
    {"garbage-amount.json", GENESIS_BAD_AMOUNT,
     "allocations[4].amount: not a PHA amount: \"12abc\""},
    {"too-many-decimals.json", GENESIS_BAD_AMOUNT, "existential_deposit: not a PHA amount"},
    {"number-amount.json", GENESIS_BAD_TYPE, "allocations[1].amount: must be a string"},
    {"zero-validators.json", GENESIS_RULE, "validators: at least one validator is required"},
    {"pool-not-70.json", GENESIS_RULE,
     "mining_reward_pool: its allocation is 600000000 PHA but must be 70% of total_supply"},
    {"below-ed.json", GENESIS_RULE,
     "allocations[6].amount: 0.001 PHA is below the existential deposit 0.01 PHA"},
    {"bad-decimals.json", GENESIS_BAD_VALUE, "token.decimals: must be 12"},
    {"negative-block-time.json", GENESIS_BAD_VALUE, "block_time_ms: -1000 is not in 10..600000"},
    {"treasury-is-pool.json", GENESIS_RULE, "treasury: must differ from mining_reward_pool"},
    {"bad-validator-name.json", GENESIS_BAD_VALUE,
     "validators[0].name: character 6 of \"alice bob\" is not allowed"},
};
#define N_BAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

static void corrupt_vectors(void)
{
	for (size_t i = 0; i < N_BAD; i++) {
		struct genesis g;
		char err[512];
		enum genesis_result r = parse_file(&g, bad_cases[i].file, err, sizeof(err));
		bool ok = r == bad_cases[i].result && strstr(err, bad_cases[i].message) != NULL;
		CHECK(ok);
		if (!ok)
			fprintf(stderr, "  %s: got %d \"%s\"\n", bad_cases[i].file, r, err);
		CHECK(g.validators == NULL && g.allocations == NULL); /* nothing left to release */
		CHECK(strlen(genesis_strerror(r)) > 0);
	}
}

/* Every file in the vector directory is either valid or listed above, so none goes untested. */
static void every_vector_is_tested(void)
{
	DIR *d = opendir(VEC_DIR);
	struct dirent *e;
	int files = 0;
	CHECK(d != NULL);
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		bool known = strcmp(e->d_name, "dev.json") == 0 ||
		             strcmp(e->d_name, "valid-reordered.json") == 0;
		for (size_t i = 0; i < N_BAD; i++)
			known = known || strcmp(e->d_name, bad_cases[i].file) == 0;
		CHECK(known);
		if (!known)
			fprintf(stderr, "  untested vector %s\n", e->d_name);
	}
	if (d)
		closedir(d);
	CHECK(files == (int)N_BAD + 2);
}

/* Small documents built in place for rules that need no file. */
static void inline_cases(void)
{
	char *json = genesis_dev_json(1000), err[256];
	struct genesis g;
	CHECK(genesis_parse(&g, json, (size_t)GENESIS_MAX_JSON + 1, err, sizeof(err)) ==
	      GENESIS_TOO_LARGE);
	/* An allocation's label is optional; other fields are not. */
	char *nolabel = strdup(json);
	char *p = strstr(nolabel, ",\n      \"label\": \"treasury\"");
	CHECK(p != NULL);
	if (p)
		memmove(p, p + strlen(",\n      \"label\": \"treasury\""),
		        strlen(p + strlen(",\n      \"label\": \"treasury\"")) + 1);
	CHECK(genesis_parse(&g, nolabel, strlen(nolabel), err, sizeof(err)) == GENESIS_OK);
	CHECK(g.n_allocations == 8 && g.allocations[7].label[0] == '\0');
	genesis_release(&g);
	free(nolabel);
	/* A nested missing field is named by its path. */
	char *nosym = strdup(json);
	p = strstr(nosym, "\"symbol\": \"PHA\",");
	CHECK(p != NULL);
	if (p)
		memset(p, ' ', strlen("\"symbol\": \"PHA\","));
	CHECK(genesis_parse(&g, nosym, strlen(nosym), err, sizeof(err)) == GENESIS_MISSING_FIELD);
	CHECK(strstr(err, "missing field \"token.symbol\"") != NULL);
	free(nosym);
	/* No error buffer is fine. */
	CHECK(genesis_parse(&g, "{", 1, NULL, 0) == GENESIS_BAD_JSON);
	free(json);
}

CHECK_MAIN(CASE(dev_genesis_pinned), CASE(encoding_matches_hash), CASE(build_state_then_transfer),
           CASE(corrupt_vectors), CASE(every_vector_is_tested), CASE(inline_cases))
