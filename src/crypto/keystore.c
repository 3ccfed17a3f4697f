#include "crypto/keystore.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/codec.h"
#include "base/hex.h"

#define AAD_TAG   "tenebra/v1/keystore"
#define KDF_NAME  "argon2id"
#define AEAD_NAME "xchacha20poly1305"
#define KEY_LEN   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define SALT_LEN  crypto_pwhash_SALTBYTES
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define CT_LEN    (SIG_SEED_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define AAD_MAX   256
#define N_FIELDS  10

_Static_assert(SALT_LEN == 16 && NONCE_LEN == 24 && CT_LEN == 48 && KEY_LEN == 32,
               "docs/protocol/keystore.md fixes these sizes");

/* Everything a document carries, decoded. */
struct header {
	char name[KEYSTORE_NAME_MAX + 1];
	uint8_t pk[SIG_PK_LEN];
	struct keystore_params params;
	uint8_t salt[SALT_LEN];
	uint8_t nonce[NONCE_LEN];
	uint8_t ct[CT_LEN];
};

static const struct hex_field {
	const char *key;
	size_t off, len;
} hex_fields[] = {
    {"public_key", offsetof(struct header, pk), SIG_PK_LEN},
    {"salt", offsetof(struct header, salt), SALT_LEN},
    {"nonce", offsetof(struct header, nonce), NONCE_LEN},
    {"ciphertext", offsetof(struct header, ct), CT_LEN},
};

static const char *const messages[] = {
    [KEYSTORE_OK] = "ok",
    [KEYSTORE_BAD_FORMAT] = "not a valid key file",
    [KEYSTORE_UNSUPPORTED] = "unsupported key file version",
    [KEYSTORE_BAD_PARAMS] =
        "key file asks for password-hashing parameters outside the allowed range",
    [KEYSTORE_AUTH_FAILED] = "wrong password, or the key file was modified",
    [KEYSTORE_KEY_MISMATCH] = "key file public key does not match its sealed seed",
    [KEYSTORE_TOO_LARGE] = "key file is too large",
    [KEYSTORE_NOMEM] = "out of memory",
    [KEYSTORE_EXISTS] = "key file already exists",
    [KEYSTORE_PERMISSIONS] = "key file is accessible by other users (expected mode 0600)",
    [KEYSTORE_IO] = "key file could not be read or written",
};

const char *keystore_strerror(enum keystore_result r)
{
	if ((size_t)r >= sizeof(messages) / sizeof(messages[0]) || !messages[r])
		return "unknown keystore error";
	return messages[r];
}

bool keystore_name_valid(const char *name)
{
	size_t n = strnlen(name, KEYSTORE_NAME_MAX + 1);
	if (n == 0 || n > KEYSTORE_NAME_MAX || name[0] == '.')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       n;
}

static bool params_within(const struct keystore_params *p, const struct keystore_params *lo,
                          const struct keystore_params *hi)
{
	return p->opslimit >= lo->opslimit && p->opslimit <= hi->opslimit &&
	       p->memlimit >= lo->memlimit && p->memlimit <= hi->memlimit;
}

/* AAD = len(tag) ‖ tag ‖ u32 version ‖ LEB128 len(name) ‖ name ‖ pk ‖ u64 opslimit ‖
 * u64 memlimit ‖ salt (little-endian integers, the canonical codec). */
static size_t aad_encode(uint8_t out[AAD_MAX], const struct header *h)
{
	struct enc e;
	enc_init_fixed(&e, out, AAD_MAX);
	enc_u8(&e, (uint8_t)strlen(AAD_TAG));
	enc_raw(&e, AAD_TAG, strlen(AAD_TAG));
	enc_u32(&e, KEYSTORE_VERSION);
	enc_bytes(&e, h->name, strlen(h->name));
	enc_raw(&e, h->pk, sizeof(h->pk));
	enc_u64(&e, h->params.opslimit);
	enc_u64(&e, h->params.memlimit);
	enc_raw(&e, h->salt, sizeof(h->salt));
	assert(enc_finish(&e) == CODEC_OK);
	return e.len;
}

static enum keystore_result derive_key(uint8_t key[KEY_LEN], const char *password, size_t pwlen,
                                       const struct header *h)
{
	if (crypto_pwhash(key, KEY_LEN, password, pwlen, h->salt, h->params.opslimit,
	                  (size_t)h->params.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return KEYSTORE_NOMEM; /* the only failure with parameters already range-checked */
	return KEYSTORE_OK;
}

static json_t *header_to_json(const struct header *h)
{
	char pk[2 * SIG_PK_LEN + 1], salt[2 * SALT_LEN + 1], nonce[2 * NONCE_LEN + 1];
	char ct[2 * CT_LEN + 1];
	return json_pack(
	    "{s:i, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "version", KEYSTORE_VERSION,
	    "name", h->name, "public_key", hex_encode(pk, h->pk, SIG_PK_LEN), "kdf", KDF_NAME,
	    "opslimit", (json_int_t)h->params.opslimit, "memlimit", (json_int_t)h->params.memlimit,
	    "salt", hex_encode(salt, h->salt, SALT_LEN), "cipher", AEAD_NAME, "nonce",
	    hex_encode(nonce, h->nonce, NONCE_LEN), "ciphertext", hex_encode(ct, h->ct, CT_LEN));
}

enum keystore_result keystore_seal(char **doc, const char *name, const uint8_t seed[SIG_SEED_LEN],
                                   const char *password, size_t pwlen,
                                   const struct keystore_params *params)
{
	assert(keystore_name_valid(name));
	assert(params_within(params, &KEYSTORE_PARAMS_MIN, &KEYSTORE_PARAMS_MAX));
	struct header h = {.params = *params};
	uint8_t key[KEY_LEN], sk[SIG_SK_LEN], aad[AAD_MAX];
	json_t *obj = NULL;
	*doc = NULL;
	memcpy(h.name, name, strlen(name) + 1);
	sig_keypair_from_seed(h.pk, sk, seed);
	randombytes_buf(h.salt, sizeof(h.salt));
	randombytes_buf(h.nonce, sizeof(h.nonce));
	enum keystore_result r = derive_key(key, password, pwlen, &h);
	if (r != KEYSTORE_OK)
		goto out;
	size_t aad_len = aad_encode(aad, &h);
	crypto_aead_xchacha20poly1305_ietf_encrypt(h.ct, NULL, seed, SIG_SEED_LEN, aad, aad_len,
	                                           NULL, h.nonce, key);
	obj = header_to_json(&h);
	*doc = obj ? json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	r = *doc ? KEYSTORE_OK : KEYSTORE_NOMEM;
out:
	json_decref(obj);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(sk, sizeof(sk));
	return r;
}

/* Lower-case hex of exactly n bytes, nothing else (one spelling per document). */
static bool strict_hex(uint8_t *out, size_t n, const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) != 2 * n || strspn(s, "0123456789abcdef") != 2 * n)
		return false;
	return hex_decode_exact(out, n, s);
}

static bool json_u64(uint64_t *out, const json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool fixed_string(const json_t *obj, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s && strcmp(s, want) == 0;
}

/* Fills h from a parsed version-1 object; BAD_FORMAT or BAD_PARAMS. */
static enum keystore_result fields_decode(struct header *h, const json_t *obj)
{
	if (json_object_size(obj) != N_FIELDS || !fixed_string(obj, "kdf", KDF_NAME) ||
	    !fixed_string(obj, "cipher", AEAD_NAME))
		return KEYSTORE_BAD_FORMAT;
	const char *s = json_string_value(json_object_get(obj, "name"));
	if (!s || !keystore_name_valid(s))
		return KEYSTORE_BAD_FORMAT;
	memcpy(h->name, s, strlen(s) + 1);
	for (size_t i = 0; i < sizeof(hex_fields) / sizeof(hex_fields[0]); i++) {
		const struct hex_field *f = &hex_fields[i];
		if (!strict_hex((uint8_t *)h + f->off, f->len, json_object_get(obj, f->key)))
			return KEYSTORE_BAD_FORMAT;
	}
	if (!json_u64(&h->params.opslimit, json_object_get(obj, "opslimit")) ||
	    !json_u64(&h->params.memlimit, json_object_get(obj, "memlimit")))
		return KEYSTORE_BAD_FORMAT;
	if (!params_within(&h->params, &KEYSTORE_PARAMS_MIN, &KEYSTORE_PARAMS_MAX))
		return KEYSTORE_BAD_PARAMS;
	return KEYSTORE_OK;
}

static enum keystore_result header_decode(struct header *h, const char *doc, size_t len)
{
	if (len > KEYSTORE_DOC_MAX)
		return KEYSTORE_TOO_LARGE;
	json_error_t err;
	json_t *obj = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &err);
	if (!obj)
		return json_error_code(&err) == json_error_out_of_memory ? KEYSTORE_NOMEM
		                                                         : KEYSTORE_BAD_FORMAT;
	enum keystore_result r = KEYSTORE_BAD_FORMAT;
	const json_t *version = json_object_get(obj, "version");
	if (json_is_object(obj) && json_is_integer(version))
		r = json_integer_value(version) == KEYSTORE_VERSION ? fields_decode(h, obj)
		                                                    : KEYSTORE_UNSUPPORTED;
	json_decref(obj);
	return r;
}

enum keystore_result keystore_inspect(struct keystore_info *info, const char *doc, size_t len)
{
	struct header h;
	enum keystore_result r = header_decode(&h, doc, len);
	memset(info, 0, sizeof(*info));
	if (r == KEYSTORE_OK) {
		memcpy(info->name, h.name, sizeof(info->name));
		memcpy(info->pk, h.pk, sizeof(info->pk));
		info->params = h.params;
	}
	return r;
}

enum keystore_result keystore_open(uint8_t seed[SIG_SEED_LEN], uint8_t pk[SIG_PK_LEN], char *name,
                                   const char *doc, size_t len, const char *password, size_t pwlen,
                                   const struct keystore_params *limit)
{
	const struct keystore_params *cap = limit ? limit : &KEYSTORE_PARAMS_MAX;
	assert(params_within(cap, &KEYSTORE_PARAMS_MIN, &KEYSTORE_PARAMS_MAX));
	struct header h;
	uint8_t key[KEY_LEN], plain[SIG_SEED_LEN], sk[SIG_SK_LEN], derived_pk[SIG_PK_LEN];
	uint8_t aad[AAD_MAX];
	memset(seed, 0, SIG_SEED_LEN);
	memset(pk, 0, SIG_PK_LEN);
	if (name)
		memset(name, 0, KEYSTORE_NAME_MAX + 1);
	enum keystore_result r = header_decode(&h, doc, len);
	if (r == KEYSTORE_OK && !params_within(&h.params, &KEYSTORE_PARAMS_MIN, cap))
		r = KEYSTORE_BAD_PARAMS;
	if (r == KEYSTORE_OK)
		r = derive_key(key, password, pwlen, &h);
	if (r != KEYSTORE_OK)
		goto out;
	size_t aad_len = aad_encode(aad, &h);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, h.ct, CT_LEN, aad,
	                                               aad_len, h.nonce, key) != 0) {
		r = KEYSTORE_AUTH_FAILED;
		goto out;
	}
	sig_keypair_from_seed(derived_pk, sk, plain);
	if (memcmp(derived_pk, h.pk, SIG_PK_LEN) != 0) {
		r = KEYSTORE_KEY_MISMATCH;
		goto out;
	}
	memcpy(seed, plain, SIG_SEED_LEN);
	memcpy(pk, h.pk, SIG_PK_LEN);
	if (name)
		memcpy(name, h.name, sizeof(h.name));
out:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(plain, sizeof(plain));
	sodium_memzero(sk, sizeof(sk));
	return r;
}

/* mkdir(dirname(path), 0700) unless it exists. */
static enum keystore_result make_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return KEYSTORE_OK; /* the current directory or "/" */
	size_t n = (size_t)(slash - path);
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return KEYSTORE_IO;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return KEYSTORE_IO;
	return KEYSTORE_OK;
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

enum keystore_result keystore_write_file(const char *path, const char *doc)
{
	enum keystore_result r = make_parent(path);
	if (r != KEYSTORE_OK)
		return r;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? KEYSTORE_EXISTS : KEYSTORE_IO;
	/* Explicit, so a permissive umask cannot matter and a restrictive one cannot either. */
	bool ok = fchmod(fd, 0600) == 0 && write_all(fd, doc, strlen(doc)) && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(path); /* never leave a half-written key behind */
		errno = saved;
		return KEYSTORE_IO;
	}
	return KEYSTORE_OK;
}

static enum keystore_result read_fd(int fd, char **doc, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return KEYSTORE_IO;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return KEYSTORE_IO;
	}
	if (st.st_mode & 077)
		return KEYSTORE_PERMISSIONS;
	char *buf = malloc(KEYSTORE_DOC_MAX + 2);
	if (!buf)
		return KEYSTORE_NOMEM;
	size_t n = 0;
	for (;;) { /* read one byte past the cap to notice a file that grew after fstat */
		ssize_t got = read(fd, buf + n, KEYSTORE_DOC_MAX + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return KEYSTORE_IO;
		}
		n += (size_t)got;
		if (got == 0 || n > KEYSTORE_DOC_MAX)
			break;
	}
	if (n > KEYSTORE_DOC_MAX) {
		free(buf);
		return KEYSTORE_TOO_LARGE;
	}
	buf[n] = '\0';
	*doc = buf;
	*len = n;
	return KEYSTORE_OK;
}

enum keystore_result keystore_read_file(const char *path, char **doc, size_t *len)
{
	*doc = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return KEYSTORE_IO;
	enum keystore_result r = read_fd(fd, doc, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}
