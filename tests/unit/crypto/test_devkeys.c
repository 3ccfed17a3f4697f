#include "check.h"

#include "base/hex.h"
#include "base/ss58.h"
#include "crypto/devkeys.h"

/* Computed once outside this code base: seeds with Python hashlib.blake2b over
 * len(tag) ‖ tag ‖ name, public keys with pyca/cryptography Ed25519, addresses with
 * @polkadot/util-crypto encodeAddress(pk, 30). */
static const struct {
	const char *name, *seed, *pk, *addr;
} known[DEVKEYS_COUNT] = {
    {"alice", "6dd10dae105b3167c3cc8f7d0b55495571b622cc50416dd4f8fca7091b361c8d",
     "37251a313e5dd86c60588536ae2974d41e0d86a92019a3b543f91ec9f288cc04",
     "41s6QmqPR1igoyqSqteyLnn7WwHWFja3ACieH6mf4jjL3iH8"},
    {"bob", "f8887491e5fc44e2d9747b401a361b8852f5422e6e2205490a7aa376a3164d36",
     "5f0ef7202b953f5561c206e3fced8b83caf4777a50163e105e1824cf35d3a8aa",
     "42mRkTM5oDYTBDLD124ntnV1ygoiwLskAD7gvAnCAoHMAdg8"},
    {"charlie", "800ffbdc5128f9d3f39ee3c7ffe5180ec12ad8182e0d5259dca9d27de279741b",
     "2185794243c4f1af17f321f88fa4eb23227bb97281aecc9be1fe59a32014edfa",
     "41Njz7VP6HZfu76Rs641vKoLG3Kc5AuhRkHNEAR2QVERW6DW"},
    {"dave", "aebe00121124b8ae19e6e0d454bd1380f2e4f9bf831ccbda7f365908a37cbd60",
     "acfd67d42330bb357285e4301b4c78eba6d420385669c7534daf712732edaf4d",
     "44XcGY9v587PUeZ4HXM8Pd8HMqCPJgjYBq2EVTTdgH5YPqyZ"},
    {"eve", "7f4859d8c5947652dbeda9e5caa1ae660b899dea29b0324992676d8bdcb9e46d",
     "6c854a7882861d974d21c12e6d5db00dd059fd032b5d79e78bf0501012f957de",
     "4355XGAELCpTAzS25GSqhGFUesSkXiAYiTsRdt1KmLm9faJP"},
    {"ferdie", "35582ea88585d00a1c1ea6621a86edb136a9dba65ec27f714d3532a09af570f1",
     "67922c6a23879e34a5995d8e2aeff8e4d91a7e9e2e196bea5947a4aa91530a18",
     "42xb7LXhsyn3UnL3gg6nbP4HRTtPuR1nwVX7eTBxqAfN5o3H"},
};

static void known_answers(void)
{
	for (size_t i = 0; i < DEVKEYS_COUNT; i++) {
		uint8_t seed[SIG_SEED_LEN], want_seed[SIG_SEED_LEN], want_pk[SIG_PK_LEN];
		uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
		char addr[SS58_ADDR_MAX];
		CHECK_STR(devkeys_names[i], known[i].name);
		CHECK(hex_decode_exact(want_seed, sizeof(want_seed), known[i].seed));
		CHECK(hex_decode_exact(want_pk, sizeof(want_pk), known[i].pk));
		CHECK(devkeys_seed(known[i].name, seed));
		CHECK_EQ_MEM(seed, want_seed, SIG_SEED_LEN);
		CHECK(devkeys_keypair(known[i].name, pk, sk));
		CHECK_EQ_MEM(pk, want_pk, SIG_PK_LEN);
		CHECK_EQ_MEM(sk, want_seed, SIG_SEED_LEN);
		ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, pk);
		CHECK_STR(addr, known[i].addr);
	}
}

static void deterministic_and_distinct(void)
{
	uint8_t a[DEVKEYS_COUNT][SIG_SEED_LEN], b[SIG_SEED_LEN];
	for (size_t i = 0; i < DEVKEYS_COUNT; i++) {
		CHECK(devkeys_seed(devkeys_names[i], a[i]));
		CHECK(devkeys_seed(devkeys_names[i], b));
		CHECK_EQ_MEM(a[i], b, SIG_SEED_LEN);
		for (size_t j = 0; j < i; j++)
			CHECK(memcmp(a[i], a[j], SIG_SEED_LEN) != 0);
	}
}

static void unknown_names(void)
{
	static const char *const bad[] = {"",       "Alice", "ALICE",    "alice ", " alice", "alic",
	                                  "alicee", "root",  "ferdie\n", "bobby",  "eve2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN], sk[SIG_SK_LEN];
		memset(seed, 0xa5, sizeof(seed));
		CHECK(!devkeys_seed(bad[i], seed));
		CHECK(seed[0] == 0xa5 && seed[31] == 0xa5); /* untouched */
		CHECK(!devkeys_keypair(bad[i], pk, sk));
	}
}

/* A dev key signs and verifies like any other key. */
static void signs(void)
{
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN];
	static const uint8_t msg[] = "dev transfer";
	CHECK(devkeys_keypair("bob", pk, sk));
	sig_sign(sig, msg, sizeof(msg), sk);
	CHECK(sig_verify(sig, msg, sizeof(msg), pk));
	CHECK(devkeys_keypair("alice", pk, sk));
	CHECK(!sig_verify(sig, msg, sizeof(msg), pk));
}

CHECK_MAIN(CASE(known_answers), CASE(deterministic_and_distinct), CASE(unknown_names), CASE(signs))
