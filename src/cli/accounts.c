#include "cli/accounts.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "cli/password.h"
#include "crypto/devkeys.h"
#include "crypto/keystore.h"

static void accounts_set(struct accounts_ref *out, enum accounts_kind kind,
                         const uint8_t pk[SIG_PK_LEN])
{
	out->kind = kind;
	memcpy(out->pk, pk, SIG_PK_LEN);
	ss58_encode(out->address, sizeof(out->address), ACCOUNTS_PREFIX, pk);
}

/* DIR/NAME.json; false if it does not fit. */
static bool accounts_path(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s.json", dir, name);
	return n > 0 && n < PATH_MAX;
}

/* Reads and inspects DIR/NAME.json: ACCOUNTS_OK (*doc set, caller frees), ACCOUNTS_UNKNOWN (no such
 * file) or ACCOUNTS_KEYSTORE (err set). */
static enum accounts_result accounts_key_read(struct keystore_info *info, char **doc, size_t *len,
                                              const char *dir, const char *name,
                                              char err[ACCOUNTS_ERR_MAX])
{
	char path[PATH_MAX];
	enum keystore_result r = KEYSTORE_IO;
	*doc = NULL;
	errno = 0;
	if (accounts_path(path, dir, name))
		r = keystore_read_file(path, doc, len);
	if (r == KEYSTORE_IO && errno == ENOENT)
		return ACCOUNTS_UNKNOWN;
	if (r == KEYSTORE_OK)
		r = keystore_inspect(info, *doc, *len);
	if (r == KEYSTORE_OK && strcmp(info->name, name) != 0) {
		snprintf(err, ACCOUNTS_ERR_MAX, "key file %.160s holds key '%s', not '%s'", path,
		         info->name, name);
	} else if (r != KEYSTORE_OK) {
		snprintf(err, ACCOUNTS_ERR_MAX, "cannot use key file %.160s: %s%s%s", path,
		         keystore_strerror(r), r == KEYSTORE_IO ? ": " : "",
		         r == KEYSTORE_IO ? strerror(errno) : "");
	} else {
		return ACCOUNTS_OK;
	}
	free(*doc);
	*doc = NULL;
	return ACCOUNTS_KEYSTORE;
}

/* Step 1: a keystore key, public part only (no password). */
static enum accounts_result accounts_key_public(struct accounts_ref *out, const char *dir,
                                                const char *name, char err[ACCOUNTS_ERR_MAX])
{
	struct keystore_info info;
	char *doc;
	size_t len;
	enum accounts_result r = accounts_key_read(&info, &doc, &len, dir, name, err);
	if (r == ACCOUNTS_OK)
		accounts_set(out, ACCOUNTS_KEY, info.pk);
	free(doc);
	return r;
}

/* Asks for the password of key NAME and decrypts its seed into s->sk. */
static enum accounts_result accounts_key_unlock(struct accounts_signer *s, const char *dir,
                                                const char *name, char err[ACCOUNTS_ERR_MAX])
{
	struct keystore_info info;
	char pw[PASSWORD_MAX + 1], prompt[KEYSTORE_NAME_MAX + 32];
	uint8_t seed[SIG_SEED_LEN], pk[SIG_PK_LEN];
	char *doc;
	size_t len;
	enum keystore_result kr = KEYSTORE_AUTH_FAILED;
	enum password_result pr;
	enum accounts_result r = accounts_key_read(&info, &doc, &len, dir, name, err);
	if (r != ACCOUNTS_OK)
		return r == ACCOUNTS_UNKNOWN ? ACCOUNTS_KEYSTORE : r;
	snprintf(prompt, sizeof(prompt), "Password for key '%s': ", name);
	pr = password_read(pw, prompt, false);
	if (pr == PASSWORD_OK)
		kr = keystore_open(seed, pk, NULL, doc, len, pw, strlen(pw), NULL);
	if (pr != PASSWORD_OK) {
		snprintf(err, ACCOUNTS_ERR_MAX, "key '%s': %s", name, password_strerror(pr));
		r = ACCOUNTS_PASSWORD;
	} else if (kr == KEYSTORE_AUTH_FAILED) {
		snprintf(err, ACCOUNTS_ERR_MAX,
		         "wrong password for key '%s' (or its file was altered)", name);
		r = ACCOUNTS_PASSWORD;
	} else if (kr != KEYSTORE_OK) {
		snprintf(err, ACCOUNTS_ERR_MAX, "cannot open key '%s': %s", name,
		         keystore_strerror(kr));
		r = ACCOUNTS_KEYSTORE;
	} else {
		sig_keypair_from_seed(s->ref.pk, s->sk, seed);
	}
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(seed, sizeof(seed));
	free(doc);
	return r;
}

bool accounts_is_dev(const char *name)
{
	for (size_t i = 0; i < DEVKEYS_COUNT; i++)
		if (strcmp(name, devkeys_names[i]) == 0)
			return true;
	return false;
}

static bool accounts_dev(struct accounts_ref *out, const char *name)
{
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN];
	bool ok = devkeys_keypair(name, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	if (ok)
		accounts_set(out, ACCOUNTS_DEV, pk);
	return ok;
}

/* Steps 3 and 4: a hex key or an SS58 address. Something that decodes as base58 into the right
 * length but fails later checks (checksum, network) is reported as a bad address, since it was
 * surely meant as one. */
static enum accounts_result accounts_public(struct accounts_ref *out, const char *arg,
                                            char err[ACCOUNTS_ERR_MAX])
{
	uint8_t pk[SIG_PK_LEN];
	enum ss58_result r;
	if (hex_decode_exact(pk, sizeof(pk), arg)) {
		accounts_set(out, ACCOUNTS_HEX, pk);
		return ACCOUNTS_OK;
	}
	r = ss58_decode_expect(pk, ACCOUNTS_PREFIX, arg);
	if (r == SS58_OK) {
		accounts_set(out, ACCOUNTS_SS58, pk);
		return ACCOUNTS_OK;
	}
	if (r == SS58_BAD_CHECKSUM || r == SS58_WRONG_PREFIX || r == SS58_BAD_PREFIX) {
		snprintf(err, ACCOUNTS_ERR_MAX, "invalid address '%.80s': %s", arg,
		         ss58_strerror(r));
		return ACCOUNTS_BAD_ADDRESS;
	}
	snprintf(err, ACCOUNTS_ERR_MAX,
	         "unknown account '%.80s': not a key name, dev account or SS58 address", arg);
	return ACCOUNTS_UNKNOWN;
}

enum accounts_result accounts_resolve(struct accounts_ref *out, const char *dir, const char *arg,
                                      char err[ACCOUNTS_ERR_MAX])
{
	enum accounts_result r = ACCOUNTS_UNKNOWN;
	err[0] = '\0';
	if (dir != NULL && keystore_name_valid(arg) && !accounts_is_dev(arg)) {
		r = accounts_key_public(out, dir, arg, err);
		if (r != ACCOUNTS_UNKNOWN)
			return r;
	}
	if (accounts_dev(out, arg))
		return ACCOUNTS_OK;
	return accounts_public(out, arg, err);
}

enum accounts_result accounts_check_new_name(const char *dir, const char *name,
                                             char err[ACCOUNTS_ERR_MAX])
{
	struct accounts_ref ref;
	if (!keystore_name_valid(name)) {
		snprintf(
		    err, ACCOUNTS_ERR_MAX,
		    "invalid key name '%.80s': use 1..64 letters, digits, '.', '_' or '-', not "
		    "starting with '.'",
		    name);
		return ACCOUNTS_BAD_NAME;
	}
	if (accounts_is_dev(name)) {
		snprintf(err, ACCOUNTS_ERR_MAX, "'%s' is a dev account name; choose another name",
		         name);
		return ACCOUNTS_BAD_NAME;
	}
	switch (accounts_key_public(&ref, dir, name, err)) {
	case ACCOUNTS_UNKNOWN:
		err[0] = '\0';
		return ACCOUNTS_OK;
	case ACCOUNTS_OK:
		snprintf(err, ACCOUNTS_ERR_MAX, "a key named '%s' exists already in %.120s", name,
		         dir);
		return ACCOUNTS_EXISTS;
	default:
		return ACCOUNTS_KEYSTORE;
	}
}

enum accounts_result accounts_signer_open(struct accounts_signer *s, const char *dir,
                                          const char *name, char err[ACCOUNTS_ERR_MAX])
{
	enum accounts_result r;
	memset(s, 0, sizeof(*s));
	if (accounts_is_dev(name)) {
		uint8_t pk[SIG_PK_LEN];
		if (!devkeys_keypair(name, pk, s->sk))
			return ACCOUNTS_UNKNOWN; /* not reached: name is a dev name */
		accounts_set(&s->ref, ACCOUNTS_DEV, pk);
		return ACCOUNTS_OK;
	}
	r = accounts_resolve(&s->ref, dir, name, err);
	if (r == ACCOUNTS_OK && s->ref.kind != ACCOUNTS_KEY) {
		snprintf(err, ACCOUNTS_ERR_MAX,
		         "'%.80s' is not a key name or dev account, so it cannot sign", name);
		r = ACCOUNTS_NOT_SIGNER;
	}
	if (r == ACCOUNTS_OK)
		r = accounts_key_unlock(s, dir, name, err);
	if (r != ACCOUNTS_OK)
		accounts_signer_wipe(s);
	return r;
}

void accounts_signer_wipe(struct accounts_signer *s)
{
	sodium_memzero(s, sizeof(*s));
}
