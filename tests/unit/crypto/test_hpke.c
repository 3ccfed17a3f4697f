/*
 * HPKE (src/crypto/hpke.h): RFC 9180 Appendix A known answers for every stage of base mode (A.1.1,
 * A.2.1) and auth mode (A.1.3, A.2.3), a cross-implementation known answer for the AES-256-GCM
 * suite, round trips and every rejection path of both modes.
 */
#include "check.h"

#include "base/hex.h"
#include "crypto/hpke.h"
#include "crypto/hpke_int.h"

#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

struct enc_vec {
	unsigned seq;
	const char *ct;
};

struct exp_vec {
	const char *ctx;
	const char *value;
};

struct suite_vec {
	const char *name;
	uint16_t aead;
	size_t key_len;
	const char *ikmE, *pkEm, *skEm, *ikmR, *pkRm, *skRm, *shared_secret;
	const char *key, *base_nonce, *exporter_secret; /* NULL: not published for this suite */
	struct enc_vec encs[6];                         /* seq 0, 1, 2, 4, 255, 256; empty: none */
	struct exp_vec exps[3];
	const char *ikmS, *pkSm, *skSm; /* auth mode (mode 2) vectors only; pkSm NULL: base mode */
};

/* Shared by all Appendix A base-mode vectors. */
#define INFO "4f6465206f6e2061204772656369616e2055726e" /* "Ode on a Grecian Urn" */
#define PT   "4265617574792069732074727574682c20747275746820626561757479"

/* A.2 inputs; the A.2 and AES-256-GCM vectors share them (and so their KEM outputs). */
#define A2_KEYS                                                                                    \
	"909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",                        \
	    "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",                    \
	    "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",                    \
	    "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",                    \
	    "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",                    \
	    "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",                    \
	    "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7"

static const struct suite_vec vectors[] = {
    /* RFC 9180 A.1.1 (AES-128-GCM, not offered by hpke.h): KEM, key schedule and exporter only. */
    {"A.1.1 X25519/SHA256/AES-128-GCM",
     0x0001,
     16,
     "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
     "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
     "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
     "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
     "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
     "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
     "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
     "4531685d41d65f03dc48f6b8302c05b0",
     "56d890e5accaaf011cff4b7d",
     "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
     {{0, NULL}},
     {{"", "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"},
      {"00", "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"},
      {"54657374436f6e74657874",
       "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"}},
     NULL,
     NULL,
     NULL},
    /* RFC 9180 A.2.1: the default suite, every published value. */
    {"A.2.1 X25519/SHA256/ChaCha20Poly1305",
     HPKE_AEAD_CHACHA20POLY1305,
     32,
     A2_KEYS,
     "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
     "5c4d98150661b848853b547f",
     "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
     {{0, "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a"
          "28"},
      {1, "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc9"
          "8c"},
      {2, "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae8"
          "6b"},
      {4, "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe"
          "16"},
      {255, "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2"
            "a95c"},
      {256, "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e72"
            "7a5b"}},
     {{"", "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"},
      {"00", "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"},
      {"54657374436f6e74657874",
       "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"}},
     NULL,
     NULL,
     NULL},
    /* RFC 9180 publishes no X25519 + AES-256-GCM vector. These values were produced by @hpke/core
     * 1.9.0 (an independent implementation, which reproduces A.2.1 exactly) from the A.2.1
     * inputs; tests/js/hpke.test.mjs recomputes them, so they cannot drift from that library. */
    {"@hpke/core X25519/SHA256/AES-256-GCM",
     HPKE_AEAD_AES256GCM,
     32,
     A2_KEYS,
     NULL,
     NULL,
     NULL,
     {{0, "64d58422a43fce86ccaa4dbc3dcae297e719eb0b0815f9c2c7d18345ce1881ac91cacfe99b24f9339ccf8388"
          "c2"},
      {1, "6dbabc2c2eabb8ad6e79d78016dc5a196d3b6dac22ef145355c520326312530eba8379fb1f58930ae7ce3f88"
          "0d"},
      {2, "1b1b13f21ef4d1d3154b4bea857ba1ab529b681f50038ddfefed693dc1ba9f34da2168ed0c371a37c04989ba"
          "e1"},
      {4, "e834b6b8e2698e4d5cec0a149006dfaa64f9caf98585c1340b6369e0f9b145496ee8b8083a5143924f501338"
          "e9"},
      {255, "caee1457dff0afc3c92f8b2143f27a74fde9dcc712c4437fe3d1a3c868cbe78cbdf1efb792009cf7b51632"
            "2e57"},
      {256, "3554b2087a3f18f83258327c887495a2a89073b31a89701cc177c0ed13d1b5c8d51951280a4be5f3556798"
            "fd15"}},
     {{"", "5d33b26d1f769bd2e4c9ecc25b9a83e0f3ffeda4062ae21b293fe16e3788085e"},
      {"00", "1b92113db91a39522e70acc4c7199e3111cf9cb5e763aeb8e43dbe1bdac083f7"},
      {"54657374436f6e74657874",
       "76ab5ce644d5dd6df2a5d4abfc3457085bd8fcf45488b6ad67874891a00dd3b0"}},
     NULL,
     NULL,
     NULL},
    /* RFC 9180 A.1.3 (auth mode, AES-128-GCM): AuthEncap/AuthDecap, key schedule and exporter. */
    {"A.1.3 X25519/SHA256/AES-128-GCM auth",
     0x0001,
     16,
     "6e6d8f200ea2fb20c30b003a8b4f433d2f4ed4c2658d5bc8ce2fef718059c9f7",
     "23fb952571a14a25e3d678140cd0e5eb47a0961bb18afcf85896e5453c312e76",
     "ff4442ef24fbc3c1ff86375b0be1e77e88a0de1e79b30896d73411c5ff4c3518",
     "f1d4a30a4cef8d6d4e3b016e6fd3799ea057db4f345472ed302a67ce1c20cdec",
     "1632d5c2f71c2b38d0a8fcc359355200caa8b1ffdf28618080466c909cb69b2e",
     "fdea67cf831f1ca98d8e27b1f6abeb5b7745e9d35348b80fa407ff6958f9137e",
     "2d6db4cf719dc7293fcbf3fa64690708e44e2bebc81f84608677958c0d4448a7",
     "b062cb2c4dd4bca0ad7c7a12bbc341e6",
     "a1bc314c1942ade7051ffed0",
     "ee1a093e6e1c393c162ea98fdf20560c75909653550540a2700511b65c88c6f1",
     {{0, NULL}},
     {{"", "28c70088017d70c896a8420f04702c5a321d9cbf0279fba899b59e51bac72c85"},
      {"00", "25dfc004b0892be1888c3914977aa9c9bbaf2c7471708a49e1195af48a6f29ce"},
      {"54657374436f6e74657874",
       "5a0131813abc9a522cad678eb6bafaabc43389934adb8097d23c5ff68059eb64"}},
     "94b020ce91d73fca4649006c7e7329a67b40c55e9e93cc907d282bbbff386f58",
     "8b0c70873dc5aecb7f9ee4e62406a397b350e57012be45cf53b7105ae731790b",
     "dc4a146313cce60a278a5323d321f051c5707e9c45ba21a3479fecdf76fc69dd"},
    /* RFC 9180 A.2.3 (auth mode, ChaCha20Poly1305): every published value but ikmR and ikmS
     * (the key pairs are given directly: ikmR and ikmS are NULL). */
    {"A.2.3 X25519/SHA256/ChaCha20Poly1305 auth",
     HPKE_AEAD_CHACHA20POLY1305,
     32,
     "938d3daa5a8904540bc24f48ae90eed3f4f7f11839560597b55e7c9598c996c0",
     "f7674cc8cd7baa5872d1f33dbaffe3314239f6197ddf5ded1746760bfc847e0e",
     "c94619e1af28971c8fa7957192b7e62a71ca2dcdde0a7cc4a8a9e741d600ab13",
     NULL,
     "1a478716d63cb2e16786ee93004486dc151e988b34b475043d3e0175bdb01c44",
     "3ca22a6d1cda1bb9480949ec5329d3bf0b080ca4c45879c95eddb55c70b80b82",
     "d2d67828c8bc9fa661cf15a31b3ebf1febe0cafef7abfaaca580aaf6d471e3eb",
     "b071fd1136680600eb447a845a967d35e9db20749cdf9ce098bcc4deef4b1356",
     "d20577dff16d7cea2c4bf780",
     "be2d93b82071318cdb88510037cf504344151f2f9b9da8ab48974d40a2251dd7",
     {{0, "ab1a13c9d4f01a87ec3440dbd756e2677bd2ecf9df0ce7ed73869b98e00c09be111cb9fdf077347aeb88e61b"
          "df"},
      {1, "3265c7807ffff7fdace21659a2c6ccffee52a26d270c76468ed74202a65478bfaedfff9c2b7634e24f10b710"
          "16"},
      {2, "3aadee86ad2a05081ea860033a9d09dbccb4acac2ded0891da40f51d4df19925f7a767b076a5cbc9355c8fd3"
          "5e"},
      {4, "502ecccd5c2be3506a081809cc58b43b94f77cbe37b8b31712d9e21c9e61aa6946a8e922f54eae630f88eb80"
          "33"},
      {255, "652e597ba20f3d9241cda61f33937298b1169e6adf72974bbe454297502eb4be132e1c5064702fc165c2dd"
            "bde8"},
      {256, "3be14e8b3bbd1028cf2b7d0a691dbbeff71321e7dec92d3c2cfb30a0994ab246af76168480285a60037b4b"
            "a13a"}},
     {{"", "070cffafd89b67b7f0eeb800235303a223e6ff9d1e774dce8eac585c8688c872"},
      {"00", "2852e728568d40ddb0edde284d36a4359c56558bb2fb8837cd3d92e46a3a14a8"},
      {"54657374436f6e74657874",
       "1df39dc5dd60edcbf5f9ae804e15ada66e885b28ed7929116f768369a3f950ee"}},
     NULL,
     "f0f4f9e96c54aeed3f323de8534fffd7e0577e4ce269896716bcb95643c8712b",
     "2def0cb58ffcf83d1062dd085c8aceca7f4c0c3fd05912d847b61f3e54121f05"},
};

#define NVEC (sizeof(vectors) / sizeof(vectors[0]))

/* --- helpers ---------------------------------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t n;
};

static struct buf unhex(const char *s)
{
	struct buf b = {NULL, 0};
	if (!hex_decode_alloc(&b.p, &b.n, s, 4096)) {
		fprintf(stderr, "bad hex in test vector: %s\n", s);
		abort();
	}
	return b;
}

/* Compares out[0..n) with the hex string want. */
static int eq_hex(const uint8_t *out, size_t n, const char *want)
{
	struct buf w = unhex(want);
	int ok = w.n == n && memcmp(out, w.p, n) == 0;
	free(w.p);
	return ok;
}

static void fix32(uint8_t out[32], const char *s)
{
	CHECK(hex_decode_exact(out, 32, s));
}

static int aes_ok(void)
{
	return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

/* RFC A.x encryption aad: "Count-<seq>" */
static size_t count_aad(char *aad, size_t cap, unsigned seq)
{
	return (size_t)snprintf(aad, cap, "Count-%u", seq);
}

/* --- known answers ---------------------------------------------------------------------------- */

static void kat_derive_keypair(void)
{
	for (size_t v = 0; v < NVEC; v++) {
		const struct suite_vec *t = &vectors[v];
		uint8_t ikm[32], pk[32], sk[32];
		fix32(ikm, t->ikmE);
		hpke_keypair_from_seed(pk, sk, ikm);
		CHECK(eq_hex(pk, 32, t->pkEm));
		CHECK(eq_hex(sk, 32, t->skEm));
		if (!t->ikmR) { /* published without seeds: the pairs must still match */
			fix32(sk, t->skRm);
			CHECK(crypto_scalarmult_base(pk, sk) == 0 && eq_hex(pk, 32, t->pkRm));
			fix32(sk, t->skSm);
			CHECK(crypto_scalarmult_base(pk, sk) == 0 && eq_hex(pk, 32, t->pkSm));
			continue;
		}
		fix32(ikm, t->ikmR);
		hpke_keypair_from_seed(pk, sk, ikm);
		CHECK(eq_hex(pk, 32, t->pkRm));
		CHECK(eq_hex(sk, 32, t->skRm));
		if (!t->ikmS)
			continue;
		fix32(ikm, t->ikmS);
		hpke_keypair_from_seed(pk, sk, ikm);
		CHECK(eq_hex(pk, 32, t->pkSm));
		CHECK(eq_hex(sk, 32, t->skSm));
	}
}

/* The sender's static pair of an auth-mode vector. */
struct sender {
	uint8_t pk[32], sk[32];
};

static void vec_sender(struct sender *s, const struct suite_vec *t)
{
	fix32(s->pk, t->pkSm);
	fix32(s->sk, t->skSm);
}

static void kat_kem(void)
{
	for (size_t v = 0; v < NVEC; v++) {
		const struct suite_vec *t = &vectors[v];
		uint8_t ikmE[32], pkR[32], skR[32], enc[32], ss[32], ss2[32];
		fix32(ikmE, t->ikmE);
		fix32(pkR, t->pkRm);
		fix32(skR, t->skRm);
		if (t->pkSm) {
			struct sender s;
			uint8_t dh_rs[32], dh_sr[32];
			vec_sender(&s, t);
			CHECK(hpke_kem_auth_encap_derand(ss, enc, pkR, s.sk, s.pk, ikmE) ==
			      HPKE_OK);
			CHECK(hpke_auth_static_dh(dh_rs, skR, s.pk) == HPKE_OK);
			CHECK(hpke_auth_static_dh(dh_sr, s.sk, pkR) == HPKE_OK);
			CHECK_EQ_MEM(dh_rs, dh_sr, 32); /* the static DH is symmetric */
			CHECK(hpke_kem_auth_decap(ss2, enc, skR, pkR, s.pk, dh_rs) == HPKE_OK);
		} else {
			CHECK(hpke_kem_encap_derand(ss, enc, pkR, ikmE) == HPKE_OK);
			CHECK(hpke_kem_decap(ss2, enc, skR, pkR) == HPKE_OK);
		}
		CHECK(eq_hex(enc, 32, t->pkEm)); /* enc = SerializePublicKey(pkE) */
		CHECK(eq_hex(ss, 32, t->shared_secret));
		CHECK(eq_hex(ss2, 32, t->shared_secret));
	}
}

static void kat_key_schedule(void)
{
	struct buf info = unhex(INFO);
	for (size_t v = 0; v < NVEC; v++) {
		const struct suite_vec *t = &vectors[v];
		if (!t->key)
			continue;
		uint8_t ss[32], key[32], nonce[12], exp[32];
		fix32(ss, t->shared_secret);
		hpke_key_schedule(t->pkSm ? HPKE_MODE_AUTH : HPKE_MODE_BASE, key, t->key_len, nonce,
		                  exp, t->aead, ss, info.p, info.n);
		CHECK(eq_hex(key, t->key_len, t->key));
		CHECK(eq_hex(nonce, 12, t->base_nonce));
		CHECK(eq_hex(exp, 32, t->exporter_secret));
		for (size_t i = 0; i < 3; i++) {
			struct buf c = unhex(t->exps[i].ctx);
			uint8_t out[32];
			hpke_export_secret(out, 32, exp, t->aead, c.p, c.n);
			CHECK(eq_hex(out, 32, t->exps[i].value));
			free(c.p);
		}
	}
	free(info.p);
}

/* Exports of L >= 256 bytes, where I2OSP(L, 2) needs both bytes (RFC 9180 publishes only L = 32;
 * @hpke/core 1.9.0 encodes L as one byte there, so it cannot serve as reference). Expected values
 * computed from the RFC 5869 / RFC 9180 §4 definitions with Python's hmac and hashlib, from the
 * A.2.1 exporter_secret, exporter_context "": first and last 32 bytes. */
static void kat_long_export(void)
{
	static const struct {
		size_t len;
		const char *head, *tail;
	} v[] = {
	    {256, "a5b09ef1c61e414bc94025c5958b79c6ddbd4f5bddb6ab0676b8d3de3bd63ba7",
	     "ccf3887859f95e83b8e51d95874f88a11d95a5e9c2d4c0d353e07a989e32fd9c"},
	    {HPKE_EXPORT_MAX, "9bddf47fe09a84ff5c4b201078c10ec89a199e57c7076210e1e24968ab16b549",
	     "6b8581daf76257d35c046bdbc224dac64d161bcd7ab1280c8144a6708d2149e3"},
	};
	uint8_t es[32];
	static uint8_t out[HPKE_EXPORT_MAX];
	fix32(es, vectors[1].exporter_secret);
	for (size_t i = 0; i < 2; i++) {
		hpke_export_secret(out, v[i].len, es, HPKE_AEAD_CHACHA20POLY1305, NULL, 0);
		CHECK(eq_hex(out, 32, v[i].head));
		CHECK(eq_hex(out + v[i].len - 32, 32, v[i].tail));
	}
}

/* Sender: seals every sequence number 0..256 in order (as the RFC generated them) and compares the
 * published ones. Receiver: opens each published ciphertext at its sequence number. */
static void check_encryptions(const struct suite_vec *t, struct hpke_ctx *s, struct hpke_ctx *r)
{
	struct buf pt = unhex(PT);
	size_t next = 0;
	for (unsigned seq = 0; seq <= 256; seq++) {
		char aad[16];
		size_t aad_len = count_aad(aad, sizeof(aad), seq);
		uint8_t ct[64], back[64];
		CHECK(hpke_seal(s, (const uint8_t *)aad, aad_len, pt.p, pt.n, ct) == HPKE_OK);
		if (next >= 6 || t->encs[next].seq != seq)
			continue;
		CHECK(eq_hex(ct, pt.n + HPKE_TAG_LEN, t->encs[next].ct));
		r->seq = seq; /* jump: the unpublished messages are not available to the receiver */
		CHECK(hpke_open(r, (const uint8_t *)aad, aad_len, ct, pt.n + HPKE_TAG_LEN, back) ==
		      HPKE_OK);
		CHECK_EQ_MEM(back, pt.p, pt.n);
		CHECK(r->seq == seq + 1);
		next++;
	}
	CHECK(next == 6);
	free(pt.p);
}

static void kat_contexts(void)
{
	struct buf info = unhex(INFO);
	for (size_t v = 0; v < NVEC; v++) {
		const struct suite_vec *t = &vectors[v];
		if (!t->encs[0].ct)
			continue;
		if (t->aead == HPKE_AEAD_AES256GCM && !aes_ok()) {
			fprintf(stderr, "skipping %s: no AES-NI\n", t->name);
			continue;
		}
		uint8_t ikmE[32], pkR[32], skR[32], enc[32];
		fix32(ikmE, t->ikmE);
		fix32(pkR, t->pkRm);
		fix32(skR, t->skRm);
		struct hpke_ctx s, r;
		if (t->pkSm) {
			struct sender sd;
			vec_sender(&sd, t);
			CHECK(hpke_setup_auth_s_derand(&s, enc, pkR, sd.sk, sd.pk, info.p, info.n,
			                               t->aead, ikmE) == HPKE_OK);
			CHECK(hpke_setup_auth_r(&r, enc, skR, pkR, sd.pk, info.p, info.n,
			                        t->aead) == HPKE_OK);
		} else {
			CHECK(hpke_setup_base_s_derand(&s, enc, pkR, info.p, info.n, t->aead,
			                               ikmE) == HPKE_OK);
			CHECK(hpke_setup_base_r(&r, enc, skR, pkR, info.p, info.n, t->aead) ==
			      HPKE_OK);
		}
		CHECK(eq_hex(enc, 32, t->pkEm));
		if (t->key) {
			CHECK(eq_hex(s.key, 32, t->key) && eq_hex(r.key, 32, t->key));
			CHECK(eq_hex(s.base_nonce, 12, t->base_nonce));
		}
		check_encryptions(t, &s, &r);
		for (size_t i = 0; i < 3; i++) {
			struct buf c = unhex(t->exps[i].ctx);
			uint8_t a[32], b[32];
			CHECK(hpke_export(&s, c.p, c.n, a, 32) == HPKE_OK);
			CHECK(hpke_export(&r, c.p, c.n, b, 32) == HPKE_OK);
			CHECK(eq_hex(a, 32, t->exps[i].value) && eq_hex(b, 32, t->exps[i].value));
			free(c.p);
		}
		hpke_ctx_release(&s);
		hpke_ctx_release(&r);
	}
	free(info.p);
}

/* --- round trips ------------------------------------------------------------------------------ */

static const enum hpke_aead all_aeads[] = {HPKE_AEAD_CHACHA20POLY1305, HPKE_AEAD_AES256GCM};

static int usable(enum hpke_aead a)
{
	return a != HPKE_AEAD_AES256GCM || aes_ok();
}

static void roundtrip_random(void)
{
	uint64_t rng = check_seed();
	long iters = check_iters(200);
	uint8_t pk[32], sk[32];
	hpke_keygen(pk, sk);
	for (long it = 0; it < iters; it++) {
		enum hpke_aead a = all_aeads[it % 2];
		if (!usable(a))
			continue;
		uint8_t pt[300], aad[40], info[40], env[300 + HPKE_ENVELOPE_OVERHEAD], back[300];
		size_t pt_len = check_rand(&rng) % sizeof(pt);
		size_t aad_len = check_rand(&rng) % sizeof(aad);
		size_t info_len = check_rand(&rng) % sizeof(info);
		for (size_t i = 0; i < sizeof(pt); i++)
			pt[i] = (uint8_t)check_rand(&rng);
		for (size_t i = 0; i < sizeof(aad); i++)
			aad[i] = info[i] = (uint8_t)check_rand(&rng);
		struct hpke_ctx ks, kr;
		CHECK(hpke_seal_base(a, pk, info, info_len, aad, aad_len, pt, pt_len, env, &ks) ==
		      HPKE_OK);
		size_t back_len = 0;
		CHECK(hpke_open_base(a, sk, pk, info, info_len, aad, aad_len, env,
		                     pt_len + HPKE_ENVELOPE_OVERHEAD, back, &back_len,
		                     &kr) == HPKE_OK);
		CHECK(back_len == pt_len);
		CHECK_EQ_MEM(back, pt, pt_len);
		/* the query-response key: both ends derive the same one from the kept contexts */
		uint8_t ea[32], eb[32];
		CHECK(hpke_export(&ks, (const uint8_t *)"tenebra/v1/response", 19, ea, 32) ==
		      HPKE_OK);
		CHECK(hpke_export(&kr, (const uint8_t *)"tenebra/v1/response", 19, eb, 32) ==
		      HPKE_OK);
		CHECK(sodium_memcmp(ea, eb, 32) == 0);
		CHECK(ks.seq == 1 && kr.seq == 1);
		hpke_ctx_release(&ks);
		hpke_ctx_release(&kr);
	}
}

static void in_place_and_empty(void)
{
	uint8_t pk[32], sk[32], enc[32];
	hpke_keygen(pk, sk);
	for (size_t i = 0; i < 2; i++) {
		if (!usable(all_aeads[i]))
			continue;
		struct hpke_ctx s, r;
		CHECK(hpke_setup_base_s(&s, enc, pk, NULL, 0, all_aeads[i]) == HPKE_OK);
		CHECK(hpke_setup_base_r(&r, enc, sk, pk, NULL, 0, all_aeads[i]) == HPKE_OK);
		uint8_t buf[64 + HPKE_TAG_LEN], orig[64];
		randombytes_buf(orig, sizeof(orig));
		memcpy(buf, orig, sizeof(orig));
		CHECK(hpke_seal(&s, NULL, 0, buf, 64, buf) == HPKE_OK);
		CHECK(memcmp(buf, orig, 64) != 0);
		CHECK(hpke_open(&r, NULL, 0, buf, sizeof(buf), buf) == HPKE_OK);
		CHECK_EQ_MEM(buf, orig, 64);
		uint8_t tag[HPKE_TAG_LEN], none[1];
		CHECK(hpke_seal(&s, NULL, 0, NULL, 0, tag) == HPKE_OK); /* empty plaintext */
		CHECK(hpke_open(&r, NULL, 0, tag, sizeof(tag), none) == HPKE_OK);
		hpke_ctx_release(&s);
		hpke_ctx_release(&r);
	}
}

static void deterministic_sender(void)
{
	uint8_t pk[32], sk[32], ikm[32];
	hpke_keygen(pk, sk);
	randombytes_buf(ikm, sizeof(ikm));
	static const uint8_t msg[] = "cluster key share";
	uint8_t a[sizeof(msg) + HPKE_ENVELOPE_OVERHEAD], b[sizeof(a)];
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, pk, NULL, 0, NULL, 0, msg,
	                            sizeof(msg), ikm, a, NULL) == HPKE_OK);
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, pk, NULL, 0, NULL, 0, msg,
	                            sizeof(msg), ikm, b, NULL) == HPKE_OK);
	CHECK_EQ_MEM(a, b, sizeof(a));
	ikm[0] ^= 1;
	CHECK(hpke_seal_base_derand(HPKE_AEAD_CHACHA20POLY1305, pk, NULL, 0, NULL, 0, msg,
	                            sizeof(msg), ikm, b, NULL) == HPKE_OK);
	CHECK(memcmp(a, b, HPKE_ENC_LEN) != 0);
	CHECK(hpke_seal_base(HPKE_AEAD_CHACHA20POLY1305, pk, NULL, 0, NULL, 0, msg, sizeof(msg), b,
	                     NULL) == HPKE_OK);
	CHECK(memcmp(a, b, HPKE_ENC_LEN) != 0); /* the random variant draws a fresh key */
}

/* --- auth mode ------------------------------------------------------------------------------- */

struct auth_world {
	uint8_t pkR[32], skR[32], pkS[32], skS[32], pkT[32], skT[32];
	uint8_t env[20 + HPKE_ENVELOPE_OVERHEAD];
};

/* An auth-mode envelope from S to R: info "info", aad "aad", fixture_pt. */
static void auth_make(struct auth_world *w, enum hpke_aead a)
{
	hpke_keygen(w->pkR, w->skR);
	hpke_keygen(w->pkS, w->skS);
	hpke_keygen(w->pkT, w->skT);
	uint8_t ikmE[32];
	randombytes_buf(ikmE, sizeof(ikmE));
	struct hpke_ctx s;
	CHECK(hpke_setup_auth_s_derand(&s, w->env, w->pkR, w->skS, w->pkS, (const uint8_t *)"info",
	                               4, a, ikmE) == HPKE_OK);
	CHECK(hpke_seal(&s, (const uint8_t *)"aad", 3, (const uint8_t *)"twenty byte message", 20,
	                w->env + 32) == HPKE_OK);
	hpke_ctx_release(&s);
}

/* Opens w->env (or env) as from pkS, with dh_rs precomputed when given. */
static enum hpke_result auth_open(const struct auth_world *w, enum hpke_aead a, const uint8_t *env,
                                  size_t n, const uint8_t *pkS, const uint8_t *dh_rs)
{
	if (n < HPKE_ENVELOPE_OVERHEAD)
		return HPKE_ERR_TRUNCATED;
	struct hpke_ctx r;
	enum hpke_result res =
	    dh_rs ? hpke_setup_auth_r_cached(&r, env, w->skR, w->pkR, pkS, dh_rs,
	                                     (const uint8_t *)"info", 4, a)
	          : hpke_setup_auth_r(&r, env, w->skR, w->pkR, pkS, (const uint8_t *)"info", 4, a);
	if (res != HPKE_OK) {
		CHECK(r.role == 0);
		return res;
	}
	uint8_t pt[sizeof(w->env)];
	res = hpke_open(&r, (const uint8_t *)"aad", 3, env + 32, n - 32, pt);
	if (res == HPKE_OK)
		CHECK(n == sizeof(w->env) && memcmp(pt, "twenty byte message", 20) == 0);
	hpke_ctx_release(&r);
	return res;
}

static void auth_roundtrip(void)
{
	for (size_t ai = 0; ai < 2; ai++) {
		enum hpke_aead a = all_aeads[ai];
		if (!usable(a))
			continue;
		struct auth_world w;
		auth_make(&w, a);
		uint8_t dh_rs[32], dh_rt[32];
		CHECK(hpke_auth_static_dh(dh_rs, w.skR, w.pkS) == HPKE_OK);
		CHECK(hpke_auth_static_dh(dh_rt, w.skR, w.pkT) == HPKE_OK);
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkS, NULL) == HPKE_OK);
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkS, dh_rs) == HPKE_OK);
		/* another sender's key, another sender's DH, or a DH that does not match pkS */
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkT, NULL) == HPKE_ERR_OPEN);
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkT, dh_rt) == HPKE_ERR_OPEN);
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkS, dh_rt) == HPKE_ERR_OPEN);
		CHECK(auth_open(&w, a, w.env, sizeof(w.env), w.pkT, dh_rs) == HPKE_ERR_OPEN);
		/* the mode is part of the key schedule: an auth envelope does not open in base
		 * mode, and a base envelope does not open in auth mode */
		uint8_t pt[sizeof(w.env)], base[sizeof(w.env)];
		size_t pt_len = 0;
		CHECK(hpke_open_base(a, w.skR, w.pkR, (const uint8_t *)"info", 4,
		                     (const uint8_t *)"aad", 3, w.env, sizeof(w.env), pt, &pt_len,
		                     NULL) == HPKE_ERR_OPEN);
		CHECK(hpke_seal_base(a, w.pkR, (const uint8_t *)"info", 4, (const uint8_t *)"aad",
		                     3, (const uint8_t *)"twenty byte message", 20, base,
		                     NULL) == HPKE_OK);
		CHECK(auth_open(&w, a, base, sizeof(base), w.pkS, NULL) == HPKE_ERR_OPEN);
		/* every single-bit flip of enc or ciphertext, every truncation */
		for (size_t i = 0; i < sizeof(w.env); i++) {
			w.env[i] ^= 0x04;
			enum hpke_result r = auth_open(&w, a, w.env, sizeof(w.env), w.pkS, dh_rs);
			CHECK(r == HPKE_ERR_OPEN || (i < 32 && r == HPKE_ERR_INVALID_KEY));
			w.env[i] ^= 0x04;
		}
		for (size_t n = HPKE_ENVELOPE_OVERHEAD; n < sizeof(w.env); n++)
			CHECK(auth_open(&w, a, w.env, n, w.pkS, dh_rs) == HPKE_ERR_OPEN);
		/* a sender that claims T's public key with S's secret is refused as T and as S */
		uint8_t ikmE[32] = {7}, env[sizeof(w.env)];
		struct hpke_ctx s;
		CHECK(hpke_setup_auth_s_derand(&s, env, w.pkR, w.skS, w.pkT,
		                               (const uint8_t *)"info", 4, a, ikmE) == HPKE_OK);
		CHECK(hpke_seal(&s, (const uint8_t *)"aad", 3,
		                (const uint8_t *)"twenty byte message", 20, env + 32) == HPKE_OK);
		hpke_ctx_release(&s);
		CHECK(auth_open(&w, a, env, sizeof(env), w.pkT, NULL) == HPKE_ERR_OPEN);
		CHECK(auth_open(&w, a, env, sizeof(env), w.pkS, NULL) == HPKE_ERR_OPEN);
	}
}

/* Exports agree between sender and both receiver setups; the static DH is never all-zero. */
static void auth_exports(void)
{
	struct auth_world w;
	auth_make(&w, HPKE_AEAD_CHACHA20POLY1305);
	uint8_t ikmE[32], enc[32], dh_rs[32], e1[32], e2[32], e3[32];
	randombytes_buf(ikmE, sizeof(ikmE));
	struct hpke_ctx s, r1, r2;
	CHECK(hpke_setup_auth_s_derand(&s, enc, w.pkR, w.skS, w.pkS, NULL, 0,
	                               HPKE_AEAD_CHACHA20POLY1305, ikmE) == HPKE_OK);
	CHECK(hpke_auth_static_dh(dh_rs, w.skR, w.pkS) == HPKE_OK);
	CHECK(hpke_setup_auth_r(&r1, enc, w.skR, w.pkR, w.pkS, NULL, 0,
	                        HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	CHECK(hpke_setup_auth_r_cached(&r2, enc, w.skR, w.pkR, w.pkS, dh_rs, NULL, 0,
	                               HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	CHECK(hpke_export(&s, (const uint8_t *)"x", 1, e1, 32) == HPKE_OK);
	CHECK(hpke_export(&r1, (const uint8_t *)"x", 1, e2, 32) == HPKE_OK);
	CHECK(hpke_export(&r2, (const uint8_t *)"x", 1, e3, 32) == HPKE_OK);
	CHECK(sodium_memcmp(e1, e2, 32) == 0 && sodium_memcmp(e1, e3, 32) == 0);
	/* the same ephemeral in base mode gives another context */
	struct hpke_ctx b;
	uint8_t enc2[32];
	CHECK(hpke_setup_base_s_derand(&b, enc2, w.pkR, NULL, 0, HPKE_AEAD_CHACHA20POLY1305,
	                               ikmE) == HPKE_OK);
	CHECK_EQ_MEM(enc, enc2, 32);
	CHECK(hpke_export(&b, (const uint8_t *)"x", 1, e2, 32) == HPKE_OK);
	CHECK(memcmp(e1, e2, 32) != 0);
	hpke_ctx_release(&s);
	hpke_ctx_release(&r1);
	hpke_ctx_release(&r2);
	hpke_ctx_release(&b);
}

/* A small-order sender key is refused by the receiver (the static DH would be all-zero), as is
 * a small-order recipient key by the sender. */
static void auth_small_order(void)
{
	struct auth_world w;
	auth_make(&w, HPKE_AEAD_CHACHA20POLY1305);
	uint8_t zero[32] = {0}, one[32] = {1}, dh_rs[32], enc[32], ikmE[32] = {3};
	memset(dh_rs, 0x55, sizeof(dh_rs));
	CHECK(hpke_auth_static_dh(dh_rs, w.skR, zero) == HPKE_ERR_INVALID_KEY);
	uint8_t z[32] = {0};
	CHECK_EQ_MEM(dh_rs, z, 32); /* wiped, not left half-written */
	CHECK(hpke_auth_static_dh(dh_rs, w.skR, one) == HPKE_ERR_INVALID_KEY);
	CHECK(auth_open(&w, HPKE_AEAD_CHACHA20POLY1305, w.env, sizeof(w.env), one, NULL) ==
	      HPKE_ERR_INVALID_KEY);
	struct hpke_ctx s;
	CHECK(hpke_setup_auth_s_derand(&s, enc, one, w.skS, w.pkS, NULL, 0,
	                               HPKE_AEAD_CHACHA20POLY1305, ikmE) == HPKE_ERR_INVALID_KEY);
	CHECK(s.role == 0);
	CHECK(hpke_setup_auth_s_derand(&s, enc, w.pkR, w.skS, w.pkS, NULL, 0, (enum hpke_aead)1,
	                               ikmE) == HPKE_ERR_UNSUPPORTED_AEAD);
}

/* --- rejections ------------------------------------------------------------------------------- */

struct fixture {
	uint8_t pk[32], sk[32];
	uint8_t env[20 + HPKE_ENVELOPE_OVERHEAD];
	uint8_t aad[8], info[8];
};

static const uint8_t fixture_pt[20] = "twenty byte message";

static void fixture_make(struct fixture *f, enum hpke_aead a)
{
	hpke_keygen(f->pk, f->sk);
	memcpy(f->aad, "aad-1234", 8);
	memcpy(f->info, "info-123", 8);
	CHECK(hpke_seal_base(a, f->pk, f->info, 8, f->aad, 8, fixture_pt, 20, f->env, NULL) ==
	      HPKE_OK);
}

static enum hpke_result fixture_open_pair(const struct fixture *f, enum hpke_aead a,
                                          const uint8_t *sk, const uint8_t *pk, const uint8_t *env,
                                          size_t env_len, const uint8_t *aad, const uint8_t *info)
{
	uint8_t pt[sizeof(f->env)];
	size_t pt_len = 0;
	memset(pt, 0xaa, sizeof(pt));
	enum hpke_result r =
	    hpke_open_base(a, sk, pk, info, 8, aad, 8, env, env_len, pt, &pt_len, NULL);
	if (r == HPKE_ERR_OPEN) /* nothing of the plaintext may leak out of a failed open */
		for (size_t i = 0; i < env_len - HPKE_ENVELOPE_OVERHEAD; i++)
			CHECK(pt[i] == 0);
	if (r != HPKE_OK)
		CHECK(pt_len == 0);
	return r;
}

/* Opens with the fixture's own key pair. */
static enum hpke_result fixture_open(const struct fixture *f, enum hpke_aead a, const uint8_t *env,
                                     size_t env_len, const uint8_t *aad, const uint8_t *info)
{
	return fixture_open_pair(f, a, f->sk, f->pk, env, env_len, aad, info);
}

static void reject_tampering(void)
{
	for (size_t ai = 0; ai < 2; ai++) {
		enum hpke_aead a = all_aeads[ai];
		if (!usable(a))
			continue;
		struct fixture f;
		fixture_make(&f, a);
		CHECK(fixture_open(&f, a, f.env, sizeof(f.env), f.aad, f.info) == HPKE_OK);
		/* every single-bit flip of enc or ciphertext is rejected */
		for (size_t i = 0; i < sizeof(f.env); i++) {
			for (int bit = 0; bit < 8; bit += 7) {
				uint8_t e[sizeof(f.env)];
				memcpy(e, f.env, sizeof(e));
				e[i] ^= (uint8_t)(1u << bit);
				/* bit 255 of enc is ignored by X25519, but the KEM context hashes
				 * enc verbatim, so the shared secret still changes */
				CHECK(fixture_open(&f, a, e, sizeof(e), f.aad, f.info) ==
				      HPKE_ERR_OPEN);
			}
		}
		uint8_t bad[8];
		memcpy(bad, f.aad, 8);
		bad[7] ^= 1;
		CHECK(fixture_open(&f, a, f.env, sizeof(f.env), bad, f.info) == HPKE_ERR_OPEN);
		memcpy(bad, f.info, 8);
		bad[0] ^= 0x80;
		CHECK(fixture_open(&f, a, f.env, sizeof(f.env), f.aad, bad) == HPKE_ERR_OPEN);
		uint8_t pk2[32], sk2[32];
		hpke_keygen(pk2, sk2);
		CHECK(fixture_open_pair(&f, a, sk2, pk2, f.env, sizeof(f.env), f.aad, f.info) ==
		      HPKE_ERR_OPEN);
		/* the right secret with a public key that is not its own: another KEM context */
		CHECK(fixture_open_pair(&f, a, f.sk, pk2, f.env, sizeof(f.env), f.aad, f.info) ==
		      HPKE_ERR_OPEN);
		/* every truncation */
		for (size_t n = 0; n < sizeof(f.env); n++) {
			enum hpke_result r = fixture_open(&f, a, f.env, n, f.aad, f.info);
			CHECK(r ==
			      (n < HPKE_ENVELOPE_OVERHEAD ? HPKE_ERR_TRUNCATED : HPKE_ERR_OPEN));
		}
	}
}

static void reject_wrong_suite(void)
{
	struct fixture f;
	fixture_make(&f, HPKE_AEAD_CHACHA20POLY1305);
	if (aes_ok())
		CHECK(fixture_open(&f, HPKE_AEAD_AES256GCM, f.env, sizeof(f.env), f.aad, f.info) ==
		      HPKE_ERR_OPEN);
	else
		CHECK(fixture_open(&f, HPKE_AEAD_AES256GCM, f.env, sizeof(f.env), f.aad, f.info) ==
		      HPKE_ERR_AEAD_UNAVAILABLE);
	/* AES-128-GCM (0x0001) and export-only (0xffff) are outside the profile */
	static const uint16_t others[] = {0x0000, 0x0001, 0x0004, 0xffff};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct hpke_ctx ctx;
		uint8_t enc[32], out[64];
		CHECK(hpke_setup_base_s(&ctx, enc, f.pk, NULL, 0, (enum hpke_aead)others[i]) ==
		      HPKE_ERR_UNSUPPORTED_AEAD);
		CHECK(ctx.role == 0);
		CHECK(hpke_seal_base((enum hpke_aead)others[i], f.pk, NULL, 0, NULL, 0, NULL, 0,
		                     out, NULL) == HPKE_ERR_UNSUPPORTED_AEAD);
		CHECK(fixture_open(&f, (enum hpke_aead)others[i], f.env, sizeof(f.env), f.aad,
		                   f.info) == HPKE_ERR_UNSUPPORTED_AEAD);
	}
}

/* The small-order X25519 points (and their non-canonical and bit-255 variants), as public key of
 * a recipient and as enc of an envelope. */
static void reject_small_order(void)
{
	static const char *const points[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	struct fixture f;
	fixture_make(&f, HPKE_AEAD_CHACHA20POLY1305);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		for (int high = 0; high < 2; high++) {
			uint8_t p[32], enc[32], env[sizeof(f.env)];
			fix32(p, points[i]);
			p[31] |= (uint8_t)(high << 7);
			struct hpke_ctx ctx;
			CHECK(
			    hpke_setup_base_s(&ctx, enc, p, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) ==
			    HPKE_ERR_INVALID_KEY);
			CHECK(ctx.role == 0);
			CHECK(hpke_seal_base(HPKE_AEAD_CHACHA20POLY1305, p, NULL, 0, NULL, 0,
			                     fixture_pt, 20, env, NULL) == HPKE_ERR_INVALID_KEY);
			memcpy(env, f.env, sizeof(env));
			memcpy(env, p, 32);
			CHECK(fixture_open(&f, HPKE_AEAD_CHACHA20POLY1305, env, sizeof(env), f.aad,
			                   f.info) == HPKE_ERR_INVALID_KEY);
		}
	}
}

static void sequence_rules(void)
{
	uint8_t pk[32], sk[32], enc[32];
	hpke_keygen(pk, sk);
	struct hpke_ctx s, r;
	CHECK(hpke_setup_base_s(&s, enc, pk, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	CHECK(hpke_setup_base_r(&r, enc, sk, pk, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	const uint8_t m0[4] = "msg0", m1[4] = "msg1";
	uint8_t c0[4 + HPKE_TAG_LEN], c1[4 + HPKE_TAG_LEN], out[4];
	CHECK(hpke_seal(&s, NULL, 0, m0, 4, c0) == HPKE_OK);
	CHECK(hpke_seal(&s, NULL, 0, m1, 4, c1) == HPKE_OK);
	/* out of order: message 1 does not open at sequence number 0, and the failure does not
	 * advance the receiver */
	CHECK(hpke_open(&r, NULL, 0, c1, sizeof(c1), out) == HPKE_ERR_OPEN);
	CHECK(r.seq == 0);
	CHECK(hpke_open(&r, NULL, 0, c0, sizeof(c0), out) == HPKE_OK);
	CHECK(memcmp(out, m0, 4) == 0);
	/* replay: message 0 again at sequence number 1 */
	CHECK(hpke_open(&r, NULL, 0, c0, sizeof(c0), out) == HPKE_ERR_OPEN);
	CHECK(hpke_open(&r, NULL, 0, c1, sizeof(c1), out) == HPKE_OK);
	CHECK(memcmp(out, m1, 4) == 0);
	/* the last sequence number is usable, the one after it is refused (no nonce reuse), and
	 * export still works */
	s.seq = r.seq = UINT64_MAX - 1;
	CHECK(hpke_seal(&s, NULL, 0, m0, 4, c0) == HPKE_OK);
	CHECK(hpke_open(&r, NULL, 0, c0, sizeof(c0), out) == HPKE_OK);
	CHECK(hpke_seal(&s, NULL, 0, m0, 4, c0) == HPKE_ERR_MESSAGE_LIMIT);
	CHECK(hpke_open(&r, NULL, 0, c0, sizeof(c0), out) == HPKE_ERR_MESSAGE_LIMIT);
	CHECK(s.seq == UINT64_MAX && r.seq == UINT64_MAX);
	uint8_t ea[32], eb[32];
	CHECK(hpke_export(&s, NULL, 0, ea, 32) == HPKE_OK);
	CHECK(hpke_export(&r, NULL, 0, eb, 32) == HPKE_OK);
	CHECK(sodium_memcmp(ea, eb, 32) == 0);
	/* a bare tag shorter than Nt */
	CHECK(hpke_open(&r, NULL, 0, c0, HPKE_TAG_LEN - 1, out) == HPKE_ERR_TRUNCATED);
	hpke_ctx_release(&s);
	hpke_ctx_release(&r);
}

static void length_caps(void)
{
	static uint8_t big[HPKE_EXPORT_MAX + 1];
	uint8_t pk[32], sk[32], enc[32];
	hpke_keygen(pk, sk);
	struct hpke_ctx s;
	CHECK(hpke_setup_base_s(&s, enc, pk, big, HPKE_INFO_MAX + 1, HPKE_AEAD_CHACHA20POLY1305) ==
	      HPKE_ERR_TOO_LONG);
	CHECK(hpke_setup_base_r(&s, enc, sk, pk, big, HPKE_INFO_MAX + 1,
	                        HPKE_AEAD_CHACHA20POLY1305) == HPKE_ERR_TOO_LONG);
	CHECK(hpke_setup_base_s(&s, enc, pk, big, HPKE_INFO_MAX, HPKE_AEAD_CHACHA20POLY1305) ==
	      HPKE_OK);
	CHECK(hpke_export(&s, big, HPKE_EXPORT_CTX_MAX + 1, big, 32) == HPKE_ERR_TOO_LONG);
	CHECK(hpke_export(&s, NULL, 0, big, HPKE_EXPORT_MAX + 1) == HPKE_ERR_TOO_LONG);
	/* the longest export works; L is part of LabeledExpand's info, so an export is not a
	 * prefix of a longer one (tests/js/hpke.test.mjs compares such lengths with @hpke/core) */
	uint8_t short_out[40];
	CHECK(hpke_export(&s, NULL, 0, big, HPKE_EXPORT_MAX) == HPKE_OK);
	CHECK(hpke_export(&s, NULL, 0, short_out, sizeof(short_out)) == HPKE_OK);
	CHECK(memcmp(big, short_out, sizeof(short_out)) != 0);
	CHECK(hpke_seal(&s, big, HPKE_AAD_MAX + 1, NULL, 0, big) == HPKE_ERR_TOO_LONG);
	CHECK(hpke_seal(&s, NULL, 0, big, HPKE_PT_MAX + 1, big) == HPKE_ERR_TOO_LONG);
	CHECK(s.seq == 0);
	hpke_ctx_release(&s);
}

static void release_wipes(void)
{
	uint8_t pk[32], sk[32], enc[32];
	hpke_keygen(pk, sk);
	struct hpke_ctx s;
	CHECK(hpke_setup_base_s(&s, enc, pk, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	static const struct hpke_ctx zero;
	CHECK(memcmp(&s, &zero, sizeof(s)) != 0);
	hpke_ctx_release(&s);
	CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
	hpke_ctx_release(&s); /* idempotent */
	CHECK(memcmp(&s, &zero, sizeof(s)) == 0);
}

/* Runs fn in a child process; true iff it died of SIGABRT. */
static int aborts(void (*fn)(struct hpke_ctx *), struct hpke_ctx *ctx)
{
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		fn(ctx);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void do_seal(struct hpke_ctx *ctx)
{
	uint8_t ct[HPKE_TAG_LEN];
	(void)!hpke_seal(ctx, NULL, 0, NULL, 0, ct);
}

static void do_open(struct hpke_ctx *ctx)
{
	uint8_t ct[HPKE_TAG_LEN] = {0}, pt[1];
	(void)!hpke_open(ctx, NULL, 0, ct, sizeof(ct), pt);
}

static void do_export(struct hpke_ctx *ctx)
{
	uint8_t out[32];
	(void)!hpke_export(ctx, NULL, 0, out, sizeof(out));
}

/* Using a context in the wrong role or after release aborts instead of using a zero key. */
static void misuse_aborts(void)
{
	uint8_t pk[32], sk[32], enc[32];
	hpke_keygen(pk, sk);
	struct hpke_ctx s, r, dead;
	CHECK(hpke_setup_base_s(&s, enc, pk, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	CHECK(hpke_setup_base_r(&r, enc, sk, pk, NULL, 0, HPKE_AEAD_CHACHA20POLY1305) == HPKE_OK);
	CHECK(hpke_setup_base_s(&dead, enc, pk, NULL, 0, (enum hpke_aead)1) ==
	      HPKE_ERR_UNSUPPORTED_AEAD);
	CHECK(aborts(do_open, &s));
	CHECK(aborts(do_seal, &r));
	CHECK(aborts(do_seal, &dead) && aborts(do_open, &dead) && aborts(do_export, &dead));
	CHECK(!aborts(do_export, &s) && !aborts(do_export, &r) && !aborts(do_seal, &s));
	hpke_ctx_release(&s);
	CHECK(aborts(do_seal, &s) && aborts(do_export, &s));
	hpke_ctx_release(&r);
}

static void strerror_distinct(void)
{
	const enum hpke_result all[] = {HPKE_OK,
	                                HPKE_ERR_UNSUPPORTED_AEAD,
	                                HPKE_ERR_AEAD_UNAVAILABLE,
	                                HPKE_ERR_INVALID_KEY,
	                                HPKE_ERR_OPEN,
	                                HPKE_ERR_TRUNCATED,
	                                HPKE_ERR_TOO_LONG,
	                                HPKE_ERR_MESSAGE_LIMIT};
	const size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n; i++) {
		CHECK(strlen(hpke_strerror(all[i])) > 0);
		CHECK(strcmp(hpke_strerror(all[i]), "unknown HPKE error") != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(hpke_strerror(all[i]), hpke_strerror(all[j])) != 0);
	}
	CHECK_STR(hpke_strerror((enum hpke_result)99), "unknown HPKE error");
}

CHECK_MAIN(CASE(kat_derive_keypair), CASE(kat_kem), CASE(kat_key_schedule), CASE(kat_long_export),
           CASE(kat_contexts), CASE(roundtrip_random), CASE(in_place_and_empty),
           CASE(deterministic_sender), CASE(auth_roundtrip), CASE(auth_exports),
           CASE(auth_small_order), CASE(reject_tampering), CASE(reject_wrong_suite),
           CASE(reject_small_order), CASE(sequence_rules), CASE(length_caps), CASE(release_wipes),
           CASE(misuse_aborts), CASE(strerror_distinct))
