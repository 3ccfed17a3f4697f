/*
 * Key tree (src/crypto/kdf.h): RFC 5869 vectors for HKDF-SHA256, the info encoding checked by
 * building it by hand, known answers for the tree computed by an independent implementation
 * (Python hmac + pyca/cryptography X25519/Ed25519, see docs/protocol/keys.md "Test vectors"), and
 * cross-checks of the derived key pairs through other libsodium entry points.
 */
#include "check.h"

#include "base/hex.h"
#include "crypto/kdf.h"

#include <sodium.h>

static void hex_in(uint8_t *out, size_t n, const char *s)
{
	CHECK(hex_decode_exact(out, n, s));
}

static void check_hex(const uint8_t *p, size_t n, const char *want)
{
	char got[2 * 256 + 1];
	CHECK(n <= 256);
	hex_encode(got, p, n);
	CHECK_STR(got, want);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  got  %s\n  want %s\n", got, want);
}

/* Bytes first, first + step, ... (len of them): how RFC 5869 spells its inputs. */
struct seq {
	uint8_t first, step;
	size_t len;
};

static const uint8_t *seq_fill(uint8_t *p, struct seq s)
{
	for (size_t i = 0; i < s.len; i++)
		p[i] = (uint8_t)(s.first + s.step * i);
	return s.len ? p : NULL;
}

/* RFC 5869 Appendix A.1 - A.3 (the SHA-256 cases). */
static void test_rfc5869(void)
{
	static const struct {
		struct seq ikm, salt, info;
		size_t okm_len;
		const char *prk, *okm;
	} cases[] = {
	    {{0x0b, 0, 22},
	     {0x00, 1, 13},
	     {0xf0, 1, 10},
	     42,
	     "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b88718586"
	     "5"},
	    {{0x00, 1, 80},
	     {0x60, 1, 80},
	     {0xb0, 1, 80},
	     82,
	     "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271"
	     "cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
	    {{0x0b, 0, 22},
	     {0, 0, 0},
	     {0, 0, 0},
	     42,
	     "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c"
	     "8"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t ikm[80], salt[80], info[80], prk[32], okm[82];
		kdf_hkdf_extract(prk, seq_fill(salt, cases[i].salt), cases[i].salt.len,
		                 seq_fill(ikm, cases[i].ikm), cases[i].ikm.len);
		check_hex(prk, 32, cases[i].prk);
		kdf_hkdf_expand(okm, cases[i].okm_len, prk, seq_fill(info, cases[i].info),
		                cases[i].info.len);
		check_hex(okm, cases[i].okm_len, cases[i].okm);
	}
}

/* Expand is a prefix-stable stream: asking for fewer bytes gives a prefix, at every length up
 * to the RFC's 255 blocks; the last block is the one with counter 255. */
static void test_expand_lengths(void)
{
	static uint8_t full[KDF_OUT_MAX], part[KDF_OUT_MAX];
	uint8_t prk[32];
	memset(prk, 0x42, sizeof(prk));
	kdf_hkdf_expand(full, KDF_OUT_MAX, prk, (const uint8_t *)"i", 1);
	const size_t lens[] = {1, 31, 32, 33, 64, 1000, KDF_OUT_MAX - 1};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		kdf_hkdf_expand(part, lens[i], prk, (const uint8_t *)"i", 1);
		CHECK_EQ_MEM(part, full, lens[i]);
	}
	/* T(255) = HMAC(prk, T(254) ‖ info ‖ 0xff), computed with libsodium's one-shot HMAC. */
	uint8_t msg[32 + 1 + 1], t[32];
	memcpy(msg, full + KDF_OUT_MAX - 64, 32);
	msg[32] = 'i';
	msg[33] = 0xff;
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, prk, 32);
	crypto_auth_hmacsha256_update(&st, msg, sizeof(msg));
	crypto_auth_hmacsha256_final(&st, t);
	CHECK_EQ_MEM(t, full + KDF_OUT_MAX - 32, 32);
}

/* kdf_derive against HKDF over an info string spelled out byte by byte. */
static void test_derive_info_layout(void)
{
	uint8_t key[32], prk[32], want[40], got[40];
	seq_fill(key, (struct seq){0, 1, 32});
	static const uint8_t info[] = {18,  't', 'e', 'n', 'e', 'b', 'r', 'a', '/',
	                               'v', '1', '/', 'c', 'l', 'u', 's', 't', 'e',
	                               'r', 4,   7,   0,   0,   0,   40,  0};
	kdf_hkdf_extract(prk, (const uint8_t *)"tenebra/v1/kdf", 14, key, 32);
	kdf_hkdf_expand(want, 40, prk, info, sizeof(info));
	const uint8_t id[4] = {7, 0, 0, 0};
	kdf_derive(got, 40, key, KDF_LABEL_CLUSTER, id, 4);
	CHECK_EQ_MEM(got, want, 40);

	/* A 200-byte context takes a two-byte LEB128 length (0xc8 0x01). */
	static uint8_t ctx[200], info2[1 + 4 + 2 + 200 + 2];
	memset(ctx, 0x77, sizeof(ctx));
	memcpy(info2,
	       "\x04"
	       "abcd"
	       "\xc8\x01",
	       7);
	memcpy(info2 + 7, ctx, 200);
	info2[207] = 32;
	info2[208] = 0;
	kdf_hkdf_expand(want, 32, prk, info2, sizeof(info2));
	kdf_derive(got, 32, key, "abcd", ctx, sizeof(ctx));
	CHECK_EQ_MEM(got, want, 32);

	/* The output length is part of info: 32 bytes are not a prefix of 40. */
	uint8_t g40[40], g32[32];
	kdf_derive(g40, 40, key, "abcd", NULL, 0);
	kdf_derive(g32, 32, key, "abcd", NULL, 0);
	CHECK(memcmp(g40, g32, 32) != 0);
}

#define CID_HEX "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"

/* Values from the independent Python implementation. */
static void test_tree_known_answers(void)
{
	uint8_t master[32], cluster[32], contract[32], cid[32];
	seq_fill(master, (struct seq){0, 1, 32});
	hex_in(cid, 32, CID_HEX);
	kdf_cluster_key(cluster, master, 7);
	check_hex(cluster, 32, "7e1879708b43161d0eefe9f9c270021f40bdceaf106de83a5dde8506fc1af6bb");
	kdf_contract_key(contract, cluster, cid);
	check_hex(contract, 32, "8ff136e72cb6495be5ec43b8001cd49fb0dc637cb0fd3f2a246da03648fec87f");

	struct kdf_identity id;
	kdf_public_identity(&id, master);
	check_hex(id.sign_pk, 32,
	          "7d80c13f284c04f5321eaaab95cb190befde8117e074407dda9c13f4d396aa6d");
	check_hex(id.hpke_pk, 32,
	          "e01c66e8122d06996b170cff717a40e76c3a2bf3234ef65ca44912fe69343a7d");
	kdf_public_identity(&id, contract);
	check_hex(id.sign_pk, 32,
	          "b52b389639ceef5e29d52168a9e326b65214be057268e361684b380efcf6a83a");
	check_hex(id.hpke_pk, 32,
	          "fbaf327962f98da97a2f21fbeb2a3a061138b456e63882c350555a6e736a151b");

	uint8_t pk[32], sk[32];
	kdf_hpke_keypair(pk, sk, contract);
	check_hex(sk, 32, "5c93d5953f29c80baf5946f98cd92acf481f6b9dbf7741fb6a47764e2a827757");

	uint8_t r[32];
	memcpy(r, master, 32);
	for (int i = 0; i < 3; i++)
		kdf_ratchet(r, r); /* in place, as forward secrecy uses it */
	check_hex(r, 32, "68385f736c67bc5a0f9be2cf1038f9914579ddc0fb2b0aea056c2ffb32038322");

	uint8_t long_out[100];
	kdf_derive(long_out, sizeof(long_out), master, "tenebra/v1/test", (const uint8_t *)"abc",
	           3);
	check_hex(
	    long_out, 100,
	    "809bf1e8adb33b3112be1b55d8d306ccc1b93ba9654b4bcdfc641493b7ced378cc9dbcfde38db9f940"
	    "53cccd7e41ec0c682232401f4151af5e902c7fd363710c29a2383365c65774a52cd13774a29d13d322"
	    "38b35f25b418fcdddc961eee276ca0b07107");
}

/* The derived pairs are consistent through independent libsodium paths, for many keys. */
static void test_keypairs_consistent(void)
{
	uint64_t st = check_seed();
	for (long it = 0; it < check_iters(200); it++) {
		uint8_t key[32];
		for (size_t i = 0; i < 32; i += 8) {
			uint64_t v = check_rand(&st);
			memcpy(key + i, &v, 8);
		}
		uint8_t pk[32], sk[32], pk2[32];
		kdf_hpke_keypair(pk, sk, key);
		CHECK(crypto_scalarmult_curve25519_base(pk2, sk) == 0);
		CHECK_EQ_MEM(pk, pk2, 32);

		uint8_t spk[32], ssk[64], seed[32], spk2[32];
		kdf_sign_keypair(spk, ssk, key);
		crypto_sign_ed25519_sk_to_seed(seed, ssk);
		uint8_t want_seed[32];
		kdf_derive(want_seed, 32, key, KDF_LABEL_SIGN, NULL, 0);
		CHECK_EQ_MEM(seed, want_seed, 32);
		crypto_sign_ed25519_sk_to_pk(spk2, ssk);
		CHECK_EQ_MEM(spk, spk2, 32);
		uint8_t sig[64];
		sig_sign(sig, key, 32, ssk);
		CHECK(sig_verify(sig, key, 32, spk));

		struct kdf_identity id;
		kdf_public_identity(&id, key);
		CHECK_EQ_MEM(id.hpke_pk, pk, 32);
		CHECK_EQ_MEM(id.sign_pk, spk, 32);
		CHECK(memcmp(id.hpke_pk, id.sign_pk, 32) != 0);
	}
}

/* Every input of the tree changes the output; siblings and levels never collide. */
static void test_tree_separation(void)
{
	uint8_t master[32], other[32], a[32], b[32], cid[32], cid2[32];
	seq_fill(master, (struct seq){0, 1, 32});
	memcpy(other, master, 32);
	other[31] ^= 1;
	kdf_cluster_key(a, master, 0);
	kdf_cluster_key(b, master, 1);
	CHECK(memcmp(a, b, 32) != 0);
	kdf_cluster_key(b, other, 0);
	CHECK(memcmp(a, b, 32) != 0);
	kdf_cluster_key(b, master, 0x01000000u); /* byte order of the id matters */
	CHECK(memcmp(a, b, 32) != 0);

	hex_in(cid, 32, CID_HEX);
	memcpy(cid2, cid, 32);
	cid2[0] ^= 0x80;
	uint8_t c1[32], c2[32];
	kdf_contract_key(c1, a, cid);
	kdf_contract_key(c2, a, cid2);
	CHECK(memcmp(c1, c2, 32) != 0);
	kdf_cluster_key(b, master, 0);
	kdf_contract_key(c2, b, cid); /* deterministic: same inputs, same key */
	CHECK_EQ_MEM(c1, c2, 32);

	/* A ratchet step is not a tree step, and does not return to the parent. */
	uint8_t r[32];
	kdf_ratchet(r, master);
	CHECK(memcmp(r, master, 32) != 0 && memcmp(r, a, 32) != 0);
	kdf_ratchet(b, r);
	CHECK(memcmp(b, r, 32) != 0 && memcmp(b, master, 32) != 0);

	/* Aliased output (step in place) equals the separate-buffer result. */
	uint8_t in_place[32];
	memcpy(in_place, master, 32);
	kdf_cluster_key(in_place, in_place, 0);
	CHECK_EQ_MEM(in_place, a, 32);
}

CHECK_MAIN(CASE(test_rfc5869), CASE(test_expand_lengths), CASE(test_derive_info_layout),
           CASE(test_tree_known_answers), CASE(test_keypairs_consistent),
           CASE(test_tree_separation))
