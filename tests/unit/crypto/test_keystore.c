#include "check.h"

#include "base/codec.h"
#include "base/hex.h"
#include "crypto/keystore.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char password[] = "correct horse battery staple";
#define PW_LEN (sizeof(password) - 1)

static const struct keystore_params light = KEYSTORE_PARAMS_MIN;

static void fill_seed(uint8_t seed[SIG_SEED_LEN], uint8_t v)
{
	for (size_t i = 0; i < SIG_SEED_LEN; i++)
		seed[i] = (uint8_t)(v + 7 * i);
}

static char *seal_light(const char *name, const uint8_t seed[SIG_SEED_LEN])
{
	char *doc = NULL;
	CHECK(keystore_seal(&doc, name, seed, password, PW_LEN, &light) == KEYSTORE_OK);
	return doc;
}

static enum keystore_result open_doc(const char *doc, const char *pw, size_t pwlen)
{
	uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN];
	return keystore_open(seed, pk, NULL, doc, strlen(doc), pw, pwlen, NULL);
}

static void round_trip(void)
{
	static const char *const names[] = {
	    "validator", "alice", "a", "Key-2.backup_x",
	    "0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t seed[SIG_SEED_LEN], got[SIG_SEED_LEN], pk[SIG_PK_LEN], want_pk[SIG_PK_LEN];
		uint8_t sk[SIG_SK_LEN];
		char name[KEYSTORE_NAME_MAX + 1];
		fill_seed(seed, (uint8_t)i);
		sig_keypair_from_seed(want_pk, sk, seed);
		char *doc = seal_light(names[i], seed);
		CHECK(keystore_open(got, pk, name, doc, strlen(doc), password, PW_LEN, NULL) ==
		      KEYSTORE_OK);
		CHECK_EQ_MEM(got, seed, SIG_SEED_LEN);
		CHECK_EQ_MEM(pk, want_pk, SIG_PK_LEN);
		CHECK_STR(name, names[i]);
		struct keystore_info info;
		CHECK(keystore_inspect(&info, doc, strlen(doc)) == KEYSTORE_OK);
		CHECK_STR(info.name, names[i]);
		CHECK_EQ_MEM(info.pk, want_pk, SIG_PK_LEN);
		CHECK(info.params.opslimit == light.opslimit &&
		      info.params.memlimit == light.memlimit);
		/* Fresh salt and nonce: sealing twice never gives the same document. */
		char *again = seal_light(names[i], seed);
		CHECK(strcmp(doc, again) != 0);
		free(again);
		free(doc);
	}
	/* The empty password is a password like any other. */
	uint8_t seed[SIG_SEED_LEN];
	char *doc = NULL;
	fill_seed(seed, 99);
	CHECK(keystore_seal(&doc, "empty", seed, "", 0, &light) == KEYSTORE_OK);
	CHECK(open_doc(doc, "", 0) == KEYSTORE_OK);
	CHECK(open_doc(doc, " ", 1) == KEYSTORE_AUTH_FAILED);
	free(doc);
}

static void wrong_password(void)
{
	uint8_t seed[SIG_SEED_LEN], out[SIG_SEED_LEN], pk[SIG_PK_LEN];
	fill_seed(seed, 1);
	char *doc = seal_light("k", seed);
	CHECK(open_doc(doc, password, PW_LEN - 1) == KEYSTORE_AUTH_FAILED);
	CHECK(open_doc(doc, "Correct horse battery staple", PW_LEN) == KEYSTORE_AUTH_FAILED);
	CHECK(open_doc(doc, "", 0) == KEYSTORE_AUTH_FAILED);
	char longer[sizeof(password) + 1];
	memcpy(longer, password, PW_LEN);
	longer[PW_LEN] = '\0';
	CHECK(open_doc(doc, longer, PW_LEN + 1) == KEYSTORE_AUTH_FAILED); /* trailing NUL counts */
	memset(out, 0xaa, sizeof(out));
	memset(pk, 0xaa, sizeof(pk));
	CHECK(keystore_open(out, pk, NULL, doc, strlen(doc), "x", 1, NULL) == KEYSTORE_AUTH_FAILED);
	uint8_t zero[SIG_SEED_LEN] = {0};
	CHECK_EQ_MEM(out, zero, SIG_SEED_LEN); /* outputs zeroed on failure */
	CHECK_EQ_MEM(pk, zero, SIG_PK_LEN);
	free(doc);
}

/* doc with field key replaced by v (or removed when v is NULL), re-serialised. */
static char *with_field(const char *doc, const char *key, json_t *v)
{
	json_t *obj = json_loads(doc, 0, NULL);
	if (v)
		json_object_set_new(obj, key, v);
	else
		json_object_del(obj, key);
	char *out = json_dumps(obj, JSON_PRESERVE_ORDER);
	json_decref(obj);
	return out;
}

static enum keystore_result open_with(const char *doc, const char *key, json_t *v)
{
	char *d = with_field(doc, key, v);
	enum keystore_result r = open_doc(d, password, PW_LEN);
	free(d);
	return r;
}

/* The hex field key of doc with bit `bit` flipped. */
static json_t *flipped_hex(const char *doc, const char *key, size_t bit)
{
	json_t *obj = json_loads(doc, 0, NULL);
	uint8_t *b;
	size_t n;
	CHECK(hex_decode_alloc(&b, &n, json_string_value(json_object_get(obj, key)), 64));
	b[bit / 8 % n] ^= (uint8_t)(1u << (bit % 8));
	char h[129];
	json_t *s = json_string(hex_encode(h, b, n));
	free(b);
	json_decref(obj);
	return s;
}

static void tampered_fields(void)
{
	uint8_t seed[SIG_SEED_LEN], other_pk[SIG_PK_LEN], sk[SIG_SK_LEN];
	char h[65];
	fill_seed(seed, 5);
	char *doc = seal_light("validator", seed);
	CHECK(open_doc(doc, password, PW_LEN) == KEYSTORE_OK);
	/* Bound by the AAD: another well-formed value fails authentication. */
	CHECK(open_with(doc, "name", json_string("validator2")) == KEYSTORE_AUTH_FAILED);
	fill_seed(seed, 6);
	sig_keypair_from_seed(other_pk, sk, seed);
	CHECK(open_with(doc, "public_key", json_string(hex_encode(h, other_pk, 32))) ==
	      KEYSTORE_AUTH_FAILED);
	CHECK(open_with(doc, "opslimit", json_integer(2)) == KEYSTORE_AUTH_FAILED);
	CHECK(open_with(doc, "memlimit", json_integer(16384)) == KEYSTORE_AUTH_FAILED);
	static const char *const hexes[] = {"public_key", "salt", "nonce", "ciphertext"};
	for (size_t i = 0; i < 4; i++)
		for (size_t bit = 0; bit < 8 * 48; bit += 5)
			CHECK(open_with(doc, hexes[i], flipped_hex(doc, hexes[i], bit)) ==
			      KEYSTORE_AUTH_FAILED);
	/* Out of the format. */
	CHECK(open_with(doc, "version", json_integer(2)) == KEYSTORE_UNSUPPORTED);
	CHECK(open_with(doc, "version", json_integer(0)) == KEYSTORE_UNSUPPORTED);
	CHECK(open_with(doc, "version", json_string("1")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "version", json_real(1.0)) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "name", json_string("")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "name", json_string("../etc")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "name", json_string(".hidden")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "name", json_integer(1)) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "kdf", json_string("argon2i")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "cipher", json_string("aes256gcm")) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "opslimit", json_integer(-1)) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "opslimit", json_real(1.5)) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "opslimit", json_integer(0)) == KEYSTORE_BAD_PARAMS);
	CHECK(open_with(doc, "opslimit", json_integer(11)) == KEYSTORE_BAD_PARAMS);
	CHECK(open_with(doc, "memlimit", json_integer(8191)) == KEYSTORE_BAD_PARAMS);
	CHECK(open_with(doc, "memlimit", json_integer(1073741825)) == KEYSTORE_BAD_PARAMS);
	CHECK(open_with(doc, "memlimit", json_integer(INT64_MAX)) == KEYSTORE_BAD_PARAMS);
	CHECK(open_with(doc, "salt", json_string("00")) == KEYSTORE_BAD_FORMAT);
	free(doc);
}

static void hex_spelling_and_shape(void)
{
	uint8_t seed[SIG_SEED_LEN];
	fill_seed(seed, 8);
	char *doc = seal_light("validator", seed);
	json_t *obj = json_loads(doc, 0, NULL);
	const char *salt = json_string_value(json_object_get(obj, "salt"));
	char upper[64], prefixed[64];
	for (size_t i = 0; i <= strlen(salt); i++)
		upper[i] = (char)(salt[i] >= 'a' && salt[i] <= 'f' ? salt[i] - 32 : salt[i]);
	snprintf(prefixed, sizeof(prefixed), "0x%.30s", salt);
	if (strcmp(upper, salt) != 0)
		CHECK(open_with(doc, "salt", json_string(upper)) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "salt", json_string(prefixed)) == KEYSTORE_BAD_FORMAT);
	/* Every field is required, and no other field is allowed. */
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) CHECK(open_with(doc, key, NULL) == KEYSTORE_BAD_FORMAT);
	CHECK(open_with(doc, "comment", json_string("hi")) == KEYSTORE_BAD_FORMAT);
	/* Formatting is free (the AAD is over decoded values): compact JSON opens too. */
	char *compact = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(open_doc(compact, password, PW_LEN) == KEYSTORE_OK);
	/* A duplicated key is rejected even when both copies agree. */
	char dup[KEYSTORE_DOC_MAX];
	snprintf(dup, sizeof(dup), "{\"version\":1,%s", compact + 1);
	CHECK(open_doc(dup, password, PW_LEN) == KEYSTORE_BAD_FORMAT);
	free(compact);
	json_decref(obj);
	free(doc);
}

static void truncated_and_garbage(void)
{
	uint8_t seed[SIG_SEED_LEN], out[SIG_SEED_LEN], pk[SIG_PK_LEN];
	fill_seed(seed, 9);
	char *doc = seal_light("t", seed);
	size_t len = strlen(doc);
	for (size_t cut = 0; cut < len; cut++) {
		enum keystore_result r =
		    keystore_open(out, pk, NULL, doc, cut, password, PW_LEN, NULL);
		CHECK(r == KEYSTORE_BAD_FORMAT);
	}
	static const char *const junk[] = {"",
	                                   "null",
	                                   "[]",
	                                   "{}",
	                                   "1",
	                                   "\"x\"",
	                                   "{\"version\":1}",
	                                   "{\"version\":1e0}",
	                                   "\xff\xfe",
	                                   "{\"version\":99999999999999999999}"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		enum keystore_result r = open_doc(junk[i], password, PW_LEN);
		CHECK(r == KEYSTORE_BAD_FORMAT);
	}
	char *big = malloc(KEYSTORE_DOC_MAX + 2);
	memset(big, ' ', KEYSTORE_DOC_MAX + 1);
	memcpy(big, doc, len);
	big[KEYSTORE_DOC_MAX + 1] = '\0';
	CHECK(open_doc(big, password, PW_LEN) == KEYSTORE_TOO_LARGE);
	big[KEYSTORE_DOC_MAX] = '\0'; /* trailing white space up to the cap is fine */
	CHECK(open_doc(big, password, PW_LEN) == KEYSTORE_OK);
	/* Trailing garbage after the object is not. */
	snprintf(big, KEYSTORE_DOC_MAX, "%s x", doc);
	CHECK(open_doc(big, password, PW_LEN) == KEYSTORE_BAD_FORMAT);
	free(big);
	free(doc);
}

static void caller_limit(void)
{
	uint8_t seed[SIG_SEED_LEN], out[SIG_SEED_LEN], pk[SIG_PK_LEN];
	struct keystore_params p = {2, 65536}, tight = {1, 65536}, small = {2, 32768};
	char *doc = NULL;
	fill_seed(seed, 10);
	CHECK(keystore_seal(&doc, "l", seed, password, PW_LEN, &p) == KEYSTORE_OK);
	CHECK(keystore_open(out, pk, NULL, doc, strlen(doc), password, PW_LEN, &tight) ==
	      KEYSTORE_BAD_PARAMS);
	CHECK(keystore_open(out, pk, NULL, doc, strlen(doc), password, PW_LEN, &small) ==
	      KEYSTORE_BAD_PARAMS);
	CHECK(keystore_open(out, pk, NULL, doc, strlen(doc), password, PW_LEN, &p) == KEYSTORE_OK);
	CHECK_EQ_MEM(out, seed, SIG_SEED_LEN);
	free(doc);
}

/* Builds a document from docs/protocol/keystore.md alone (no keystore.c internals), with a chosen
 * public key: the format is implementable from the spec, and an authentic document whose key does
 * not match its seed is KEY_MISMATCH. */
static char *spec_seal(const uint8_t seed[32], const uint8_t pk[32], const char *name)
{
	uint8_t salt[16], nonce[24], key[32], ct[48], aad[256];
	static const char tag[] = "tenebra/v1/keystore";
	char hp[65], hs[33], hn[49], hc[97];
	memset(salt, 0x11, sizeof(salt));
	memset(nonce, 0x22, sizeof(nonce));
	CHECK(crypto_pwhash(key, 32, password, PW_LEN, salt, 1, 8192,
	                    crypto_pwhash_ALG_ARGON2ID13) == 0);
	struct enc e;
	enc_init_fixed(&e, aad, sizeof(aad));
	enc_u8(&e, (uint8_t)strlen(tag));
	enc_raw(&e, tag, strlen(tag));
	enc_u32(&e, 1);
	enc_bytes(&e, name, strlen(name));
	enc_raw(&e, pk, 32);
	enc_u64(&e, 1);
	enc_u64(&e, 8192);
	enc_raw(&e, salt, 16);
	CHECK(enc_finish(&e) == CODEC_OK);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, seed, 32, aad, e.len, NULL, nonce,
	                                           key);
	char *doc = malloc(KEYSTORE_DOC_MAX);
	snprintf(
	    doc, KEYSTORE_DOC_MAX,
	    "{\"version\": 1, \"name\": \"%s\", \"public_key\": \"%s\", \"kdf\": \"argon2id\", "
	    "\"opslimit\": 1, \"memlimit\": 8192, \"salt\": \"%s\", \"cipher\": "
	    "\"xchacha20poly1305\", \"nonce\": \"%s\", \"ciphertext\": \"%s\"}",
	    name, hex_encode(hp, pk, 32), hex_encode(hs, salt, 16), hex_encode(hn, nonce, 24),
	    hex_encode(hc, ct, 48));
	sodium_memzero(key, sizeof(key));
	return doc;
}

static void spec_conformance(void)
{
	uint8_t seed[32], pk[32], sk[64], out[32], out_pk[32];
	fill_seed(seed, 12);
	sig_keypair_from_seed(pk, sk, seed);
	char *doc = spec_seal(seed, pk, "spec");
	CHECK(keystore_open(out, out_pk, NULL, doc, strlen(doc), password, PW_LEN, NULL) ==
	      KEYSTORE_OK);
	CHECK_EQ_MEM(out, seed, 32);
	free(doc);
	pk[0] ^= 1;
	doc = spec_seal(seed, pk, "spec");
	CHECK(open_doc(doc, password, PW_LEN) == KEYSTORE_KEY_MISMATCH);
	free(doc);
}

/* One seal/open at the default cost, timed (these are the parameters real keys get). */
static void default_params(void)
{
	uint8_t seed[SIG_SEED_LEN], out[SIG_SEED_LEN], pk[SIG_PK_LEN];
	struct keystore_params def = KEYSTORE_PARAMS_DEFAULT;
	char *doc = NULL;
	struct timespec t0, t1;
	fill_seed(seed, 13);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(keystore_seal(&doc, "default", seed, password, PW_LEN, &def) == KEYSTORE_OK);
	CHECK(keystore_open(out, pk, NULL, doc, strlen(doc), password, PW_LEN, NULL) ==
	      KEYSTORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_EQ_MEM(out, seed, SIG_SEED_LEN);
	struct keystore_info info;
	CHECK(keystore_inspect(&info, doc, strlen(doc)) == KEYSTORE_OK);
	CHECK(info.params.opslimit == crypto_pwhash_OPSLIMIT_MODERATE);
	CHECK(info.params.memlimit == crypto_pwhash_MEMLIMIT_MODERATE);
	fprintf(stderr, "  seal+open at default params: %.0f ms\n",
	        (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	free(doc);
}

static void files(void)
{
	char tmpl[] = "/tmp/tn_keystore_XXXXXX", dir[256], path[300], link_path[300];
	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(dir, sizeof(dir), "%s/keys", tmpl);
	snprintf(path, sizeof(path), "%s/validator.json", dir);
	uint8_t seed[SIG_SEED_LEN];
	fill_seed(seed, 14);
	char *doc = seal_light("validator", seed), *other = seal_light("validator", seed), *back;
	size_t len;
	mode_t old = umask(0); /* the modes must not depend on the umask */
	CHECK(keystore_write_file(path, doc) == KEYSTORE_OK);
	umask(old);
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(keystore_write_file(path, other) == KEYSTORE_EXISTS);
	CHECK(keystore_read_file(path, &back, &len) == KEYSTORE_OK);
	CHECK(len == strlen(doc) && strcmp(back, doc) == 0); /* not overwritten */
	CHECK(open_doc(back, password, PW_LEN) == KEYSTORE_OK);
	free(back);
	snprintf(link_path, sizeof(link_path), "%s/link.json", dir);
	CHECK(symlink(path, link_path) == 0);
	CHECK(keystore_read_file(link_path, &back, &len) == KEYSTORE_IO);
	CHECK(keystore_write_file(link_path, doc) == KEYSTORE_EXISTS); /* never through a link */
	CHECK(keystore_read_file(dir, &back, &len) == KEYSTORE_IO);
	CHECK(chmod(path, 0640) == 0);
	CHECK(keystore_read_file(path, &back, &len) == KEYSTORE_PERMISSIONS);
	CHECK(chmod(path, 0600) == 0);
	snprintf(link_path, sizeof(link_path), "%s/missing/deeper/k.json", tmpl);
	CHECK(keystore_write_file(link_path, doc) == KEYSTORE_IO && errno == ENOENT);
	snprintf(link_path, sizeof(link_path), "%s/none.json", dir);
	CHECK(keystore_read_file(link_path, &back, &len) == KEYSTORE_IO && back == NULL);
	/* A file over the cap is refused before parsing. */
	char *big = calloc(1, KEYSTORE_DOC_MAX + 2);
	memset(big, ' ', KEYSTORE_DOC_MAX + 1);
	snprintf(link_path, sizeof(link_path), "%s/big.json", dir);
	CHECK(keystore_write_file(link_path, big) == KEYSTORE_OK);
	CHECK(keystore_read_file(link_path, &back, &len) == KEYSTORE_TOO_LARGE);
	free(big);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	CHECK(system(cmd) == 0);
	free(doc);
	free(other);
}

static void messages(void)
{
	for (int a = KEYSTORE_OK; a <= KEYSTORE_IO; a++) {
		CHECK(strlen(keystore_strerror((enum keystore_result)a)) > 0);
		for (int b = KEYSTORE_OK; b < a; b++)
			CHECK(strcmp(keystore_strerror((enum keystore_result)a),
			             keystore_strerror((enum keystore_result)b)) != 0);
	}
	CHECK_STR(keystore_strerror((enum keystore_result)99), "unknown keystore error");
	CHECK(keystore_name_valid("a") && !keystore_name_valid("") && !keystore_name_valid("a b"));
	CHECK(!keystore_name_valid("a/b") && !keystore_name_valid("é"));
	CHECK(!keystore_name_valid(
	    "01234567890123456789012345678901234567890123456789012345678901234")); /* 65 */
}

CHECK_MAIN(CASE(round_trip), CASE(wrong_password), CASE(tampered_fields),
           CASE(hex_spelling_and_shape), CASE(truncated_and_garbage), CASE(caller_limit),
           CASE(spec_conformance), CASE(default_params), CASE(files), CASE(messages))
