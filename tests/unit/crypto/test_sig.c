/*
 * Pins the Ed25519 validity rule of docs/protocol/signatures.md: RFC 8032 §7.1 known answers, the
 * twelve "ed25519-speccheck" edge cases (Chalkias et al., "Taming the many EdDSAs") with the
 * verdict our rule gives each, and hand-made edge cases. A libsodium upgrade that changes what
 * sig_verify accepts fails here.
 */
#include "check.h"

#include "base/hex.h"
#include "crypto/sig.h"

#include <sodium.h>

struct rfc_vec {
	const char *name, *seed, *pk, *msg, *sig;
};

/* RFC 8032 §7.1, Ed25519 TEST 1, 2, 3, 1024 and SHA(abc). */
static const struct rfc_vec rfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46b"
     "d25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c"
     "387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "659"
     "4a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
     "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
     "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
     "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
     "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
     "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
     "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
     "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
     "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
     "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
     "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
     "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
     "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
     "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
     "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
     "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
     "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
     "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
     "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
     "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
     "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
     "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
     "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
     "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
     "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
     "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
     "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d"
     "94b"
     "5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "bbd"
     "454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e"
     "030"
     "3dca179c138ac17ad9bef1177331a704"},
};

/* The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

/*
 * Every encoding of a point of order 1, 2, 4 or 8: the eight canonical encodings (y = 1, -1, 0,
 * twice each of y = ±y8 with the x sign bit clear/set, plus x = ±sqrt(-1) at y = 0) and the six
 * non-canonical ones (sign bit set on x = 0, or y >= p: y = p, p + 1).
 */
static const char *const small_order[] = {
    /* canonical */
    "0100000000000000000000000000000000000000000000000000000000000000", /* identity */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* (0,-1) order 2 */
    "0000000000000000000000000000000000000000000000000000000000000000", /* order 4 */
    "0000000000000000000000000000000000000000000000000000000000000080", /* order 4 */
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", /* order 8 */
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", /* order 8 */
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", /* order 8 */
    /* non-canonical */
    "0100000000000000000000000000000000000000000000000000000000000080", /* identity, -0 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* (0,-1), -0 */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p = 0 */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* y = p = 0 */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p + 1 = 1 */
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", /* y = p + 1 = 1 */
};

static void unhex(void *out, size_t n, const char *s)
{
	bool ok = hex_decode_exact(out, n, s);
	if (!ok) {
		fprintf(stderr, "bad hex in test table: %s\n", s);
		abort();
	}
}

static void rfc8032_vectors(void)
{
	for (size_t i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		const struct rfc_vec *v = &rfc8032[i];
		uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN], want_pk[SIG_PK_LEN], sk[SIG_SK_LEN];
		uint8_t sig[SIG_LEN], want_sig[SIG_LEN];
		uint8_t *msg;
		size_t n;
		unhex(seed, sizeof(seed), v->seed);
		unhex(want_pk, sizeof(want_pk), v->pk);
		unhex(want_sig, sizeof(want_sig), v->sig);
		CHECK(hex_decode_alloc(&msg, &n, v->msg, 4096));
		sig_keypair_from_seed(pk, sk, seed);
		CHECK_EQ_MEM(pk, want_pk, SIG_PK_LEN);
		CHECK_EQ_MEM(sk, seed, SIG_SEED_LEN);
		CHECK_EQ_MEM(sk + SIG_SEED_LEN, want_pk, SIG_PK_LEN);
		sig_sign(sig, msg, n, sk);
		CHECK_EQ_MEM(sig, want_sig, SIG_LEN);
		CHECK(sig_verify(want_sig, msg, n, want_pk));
		if (memcmp(sig, want_sig, SIG_LEN) != 0 || !sig_verify(want_sig, msg, n, want_pk))
			fprintf(stderr, "  vector %s\n", v->name);
		free(msg);
	}
	/* The 1024 test is named for its 1023-byte message; make sure the table kept every byte. */
	CHECK(strlen(rfc8032[3].msg) == 2 * 1023);
}

struct speccheck {
	const char *msg, *pk, *sig;
	bool accept;
	const char *why;
};

/*
 * ed25519-speccheck cases.txt (novifinancial/ed25519-speccheck), in order, with our verdict.
 * Only case 3 is accepted: it is the only one whose S is canonical, whose A and R are neither
 * small-order nor non-canonical, and which satisfies the cofactorless equation.
 */
static const struct speccheck speccheck[] = {
    {"8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"
     "0000000000000000000000000000000000000000000000000000000000000000",
     false, "0: S = 0, small-order A and R"},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     false, "1: small-order A, mixed-order R"},
    {"aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
     "8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
     false, "2: mixed-order A, small-order R"},
    {"9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f"
     "87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
     true, "3: mixed-order A and R, cofactorless equation holds"},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed512"
     "5ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
     false, "4: mixed-order A and R, only the cofactored equation holds"},
    {"e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
     "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
     "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7"
     "e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
     false, "5: only a cofactored check with an unreduced 8h passes"},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e"
     "547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
     false, "6: S > L (equation holds mod L)"},
    {"85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
     "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
     "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa1942"
     "7e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
     false, "7: S >> L"},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
     false, "8: non-canonical small-order R"},
    {"9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
     "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "ca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
     false, "9: non-canonical small-order R (other hash order)"},
    {"e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     false, "10: non-canonical small-order A"},
    {"39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dc"
     "a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
     false, "11: non-canonical small-order A (other hash order)"},
};

static void speccheck_cases(void)
{
	for (size_t i = 0; i < sizeof(speccheck) / sizeof(speccheck[0]); i++) {
		const struct speccheck *c = &speccheck[i];
		uint8_t msg[32], pk[SIG_PK_LEN], sig[SIG_LEN];
		unhex(msg, sizeof(msg), c->msg);
		unhex(pk, sizeof(pk), c->pk);
		unhex(sig, sizeof(sig), c->sig);
		bool got = sig_verify(sig, msg, sizeof(msg), pk);
		CHECK(got == c->accept);
		if (got != c->accept)
			fprintf(stderr, "  speccheck case %s\n", c->why);
	}
}

/* A fresh valid (pk, sk, msg, sig) from a seed, for the mutation tests below. */
struct fixture {
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN], msg[48];
};

static void fixture_make(struct fixture *f, uint8_t fill)
{
	uint8_t seed[SIG_SEED_LEN];
	memset(seed, fill, sizeof(seed));
	for (size_t i = 0; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)(fill + 3 * i);
	sig_keypair_from_seed(f->pk, f->sk, seed);
	sig_sign(f->sig, f->msg, sizeof(f->msg), f->sk);
}

/* out = a + b over 256-bit little-endian integers (no overflow for S + L with S < L). */
static void add256(uint8_t out[32], const uint8_t a[32], const uint8_t b[32])
{
	unsigned carry = 0;
	for (size_t i = 0; i < 32; i++) {
		carry += (unsigned)a[i] + b[i];
		out[i] = (uint8_t)carry;
		carry >>= 8;
	}
}

static void scalar_not_reduced(void)
{
	struct fixture f;
	for (uint8_t fill = 1; fill < 40; fill++) {
		fixture_make(&f, fill);
		CHECK(sig_verify(f.sig, f.msg, sizeof(f.msg), f.pk));
		uint8_t bad[SIG_LEN];
		memcpy(bad, f.sig, 32);
		/* S + L satisfies the equation exactly as S does: only the S < L check rejects it.
		 */
		add256(bad + 32, f.sig + 32, group_order);
		CHECK(!sig_verify(bad, f.msg, sizeof(f.msg), f.pk));
		memcpy(bad, f.sig, SIG_LEN);
		bad[63] |= 0x80;
		CHECK(!sig_verify(bad, f.msg, sizeof(f.msg), f.pk));
		memcpy(bad, f.sig, SIG_LEN);
		bad[63] |= 0xe0;
		CHECK(!sig_verify(bad, f.msg, sizeof(f.msg), f.pk));
	}
	/* S = L itself. */
	fixture_make(&f, 7);
	uint8_t bad[SIG_LEN];
	memcpy(bad, f.sig, 32);
	memcpy(bad + 32, group_order, 32);
	CHECK(!sig_verify(bad, f.msg, sizeof(f.msg), f.pk));
}

/* k = SHA-512(R || A || M) mod L, as the verifier computes it. */
static void challenge(uint8_t k[32], const uint8_t r[32], const uint8_t a[32], const uint8_t *m,
                      size_t n)
{
	crypto_hash_sha512_state h;
	uint8_t wide[64];
	crypto_hash_sha512_init(&h);
	crypto_hash_sha512_update(&h, r, 32);
	crypto_hash_sha512_update(&h, a, 32);
	crypto_hash_sha512_update(&h, m, n);
	crypto_hash_sha512_final(&h, wide);
	crypto_core_ed25519_scalar_reduce(k, wide);
}

/*
 * A small-order key T makes [k]T vanish whenever 8 | k, so R = [S]B, S arbitrary, satisfies the
 * cofactorless equation for any message: a forgery without a secret. Only step 4 (or step 3 for
 * the y >= p encodings) stops it. Each forgery is searched by trying S until 8 | k.
 */
static void small_order_key_forgery(void)
{
	uint8_t msg[] = "pay mallory 1000 PHA";
	for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++) {
		uint8_t a[32], sig[SIG_LEN], k[32];
		unhex(a, sizeof(a), small_order[i]);
		uint8_t ctr = 0;
		do {
			uint8_t wide[64];
			memset(wide, 0x5a, sizeof(wide));
			wide[0] = (uint8_t)i;
			wide[1] = ctr++;
			crypto_core_ed25519_scalar_reduce(sig + 32, wide);
			CHECK(crypto_scalarmult_ed25519_base_noclamp(sig, sig + 32) == 0);
			challenge(k, sig, a, msg, sizeof(msg));
		} while (k[0] % 8 != 0);
		CHECK(!sig_verify(sig, msg, sizeof(msg), a));
	}
}

/*
 * R = identity with S = k*a (a the signer's secret scalar) satisfies the equation; only step 2
 * rejects it. The other small-order R cannot satisfy the equation under a prime-order key, so for
 * them an honest S is used: rejected either way, and step 2 is what the rule says rejects them.
 */
static void small_order_r(void)
{
	struct fixture f;
	fixture_make(&f, 9);
	uint8_t az[64], a[32], k[32], sig[SIG_LEN];
	crypto_hash_sha512(az, f.sk, SIG_SEED_LEN); /* RFC 8032 §5.1.5 secret scalar */
	az[0] &= 248;
	az[31] &= 127;
	az[31] |= 64;
	memcpy(a, az, 32);
	unhex(sig, 32, small_order[0]);
	challenge(k, sig, f.pk, f.msg, sizeof(f.msg));
	crypto_core_ed25519_scalar_mul(sig + 32, k, a);
	uint8_t sb[32], ka[32];
	CHECK(crypto_scalarmult_ed25519_base_noclamp(sb, sig + 32) == 0);
	CHECK(crypto_scalarmult_ed25519_noclamp(ka, k, f.pk) == 0);
	CHECK_EQ_MEM(sb, ka, 32); /* [S]B = [k]A: the equation holds with R = identity */
	CHECK(!sig_verify(sig, f.msg, sizeof(f.msg), f.pk));
	for (size_t i = 0; i < sizeof(small_order) / sizeof(small_order[0]); i++) {
		unhex(sig, 32, small_order[i]);
		memcpy(sig + 32, f.sig + 32, 32);
		CHECK(!sig_verify(sig, f.msg, sizeof(f.msg), f.pk));
		memset(sig + 32, 0, 32);
		CHECK(!sig_verify(sig, f.msg, sizeof(f.msg), f.pk));
	}
	sodium_memzero(az, sizeof(az));
	sodium_memzero(a, sizeof(a));
}

/* y = p + k for the k in [2, 18] where y = k is on the curve: the only non-canonical encodings of
 * points that are not small-order. They are rejected before any arithmetic. */
static void noncanonical_key(void)
{
	static const uint8_t on_curve[] = {3, 4, 5, 6, 9, 10, 14, 15, 16, 18};
	struct fixture f;
	fixture_make(&f, 11);
	for (size_t i = 0; i < sizeof(on_curve); i++) {
		for (int sign = 0; sign < 2; sign++) {
			uint8_t pk[32];
			memset(pk, 0xff, sizeof(pk));
			pk[0] = (uint8_t)(0xed + on_curve[i]);
			pk[31] = sign ? 0xff : 0x7f;
			CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg), pk));
			uint8_t sig[SIG_LEN];
			memcpy(sig, pk, 32);
			memset(sig + 32, 0, 32);
			CHECK(!sig_verify(sig, f.msg, sizeof(f.msg), pk));
		}
	}
	/* A y that is not on the curve at all (y = 2). */
	uint8_t pk[32] = {2};
	CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg), pk));
}

/* Every single-bit change of message, signature or key is rejected. */
static void bit_flips(void)
{
	struct fixture f;
	fixture_make(&f, 21);
	for (size_t bit = 0; bit < 8 * sizeof(f.msg); bit++) {
		f.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg), f.pk));
		f.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * SIG_LEN; bit++) {
		f.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg), f.pk));
		f.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * SIG_PK_LEN; bit++) {
		f.pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg), f.pk));
		f.pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	CHECK(sig_verify(f.sig, f.msg, sizeof(f.msg), f.pk));
}

static void wrong_length_message(void)
{
	struct fixture f;
	fixture_make(&f, 33);
	uint8_t longer[sizeof(f.msg) + 1];
	memcpy(longer, f.msg, sizeof(f.msg));
	longer[sizeof(f.msg)] = 0;
	CHECK(!sig_verify(f.sig, f.msg, sizeof(f.msg) - 1, f.pk));
	CHECK(!sig_verify(f.sig, longer, sizeof(longer), f.pk));
	CHECK(!sig_verify(f.sig, f.msg, 0, f.pk));
	CHECK(sig_verify(f.sig, longer, sizeof(f.msg), f.pk));
}

/* Accepted: random keys and messages of every length up to 300 bytes, signed and verified, and a
 * signature never verifies under another key. */
static void random_round_trips(void)
{
	uint64_t st = check_seed();
	long iters = check_iters(300);
	for (long it = 0; it < iters; it++) {
		uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN], sk[SIG_SK_LEN], sig[SIG_LEN], msg[300];
		uint8_t pk2[SIG_PK_LEN], sk2[SIG_SK_LEN];
		for (size_t i = 0; i < sizeof(seed); i++)
			seed[i] = (uint8_t)check_rand(&st);
		size_t n = (size_t)(check_rand(&st) % (sizeof(msg) + 1));
		for (size_t i = 0; i < n; i++)
			msg[i] = (uint8_t)check_rand(&st);
		sig_keypair_from_seed(pk, sk, seed);
		sig_sign(sig, msg, n, sk);
		CHECK(sig_verify(sig, msg, n, pk));
		seed[0] ^= 1;
		sig_keypair_from_seed(pk2, sk2, seed);
		CHECK(!sig_verify(sig, msg, n, pk2));
	}
}

CHECK_MAIN(CASE(rfc8032_vectors), CASE(speccheck_cases), CASE(scalar_not_reduced),
           CASE(small_order_key_forgery), CASE(small_order_r), CASE(noncanonical_key),
           CASE(bit_flips), CASE(wrong_length_message), CASE(random_round_trips))
