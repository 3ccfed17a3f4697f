/*
 * Resolving the ACCOUNT and NAME arguments of CLI commands.
 *
 * An ACCOUNT is, tried in this order:
 *   1. the name of a key in the keystore directory (DIR/NAME.json);
 *   2. a dev account name: alice, bob, charlie, dave, eve, ferdie (crypto/devkeys.h);
 *   3. a 64-hex public key (optionally 0x-prefixed);
 *   4. an SS58 address with Tenebra's network id (30).
 * Key names cannot shadow dev names: `key new alice` is refused (accounts_check_new_name), so the
 * order of 1 and 2 never matters. A signer (--from NAME) must be 1 or 2: only those have a secret.
 *
 * Errors are one line naming the argument, written into the caller's buffer:
 *   "unknown account 'zed': not a key name, dev account or SS58 address".
 */
#ifndef TN_CLI_ACCOUNTS_H
#define TN_CLI_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ss58.h"
#include "crypto/sig.h"

#define ACCOUNTS_PREFIX  SS58_PREFIX_PHALA
#define ACCOUNTS_ERR_MAX 256 /* size of the error buffers below */

enum accounts_kind {
	ACCOUNTS_KEY,  /* a keystore key */
	ACCOUNTS_DEV,  /* a dev account */
	ACCOUNTS_HEX,  /* a hex public key */
	ACCOUNTS_SS58, /* an SS58 address */
};

enum accounts_result {
	ACCOUNTS_OK = 0,
	ACCOUNTS_UNKNOWN,     /* none of the four forms */
	ACCOUNTS_BAD_ADDRESS, /* looks like an SS58 address but is invalid or of another network */
	ACCOUNTS_NOT_SIGNER, /* a valid address or hex key where a key name or dev name is needed */
	ACCOUNTS_BAD_NAME,   /* not a valid key name, or a dev name (accounts_check_new_name) */
	ACCOUNTS_EXISTS,     /* a key of that name exists already */
	ACCOUNTS_KEYSTORE,   /* the key file exists but cannot be read, or is corrupt */
	ACCOUNTS_PASSWORD,   /* no usable password, or the wrong one */
};

/* A resolved account: its public key and SS58 address. */
struct accounts_ref {
	enum accounts_kind kind;
	uint8_t pk[SIG_PK_LEN];
	char address[SS58_ADDR_MAX];
};

/* An account with its secret key. sk must be wiped with accounts_signer_wipe on every path. */
struct accounts_signer {
	struct accounts_ref ref;
	uint8_t sk[SIG_SK_LEN];
};

/* True iff name is a dev account name. */
bool accounts_is_dev(const char *name);

/* Checks that name may be used for a new key in dir: ACCOUNTS_OK, ACCOUNTS_BAD_NAME (syntax or a
 * dev name) or ACCOUNTS_EXISTS. err gets the message. */
enum accounts_result accounts_check_new_name(const char *dir, const char *name,
                                             char err[ACCOUNTS_ERR_MAX]);

/* Resolves an ACCOUNT argument (keystore dir may be NULL: then step 1 is skipped). Returns
 * ACCOUNTS_OK with *out filled, or ACCOUNTS_UNKNOWN / ACCOUNTS_BAD_ADDRESS / ACCOUNTS_KEYSTORE with
 * err set. */
enum accounts_result accounts_resolve(struct accounts_ref *out, const char *dir, const char *arg,
                                      char err[ACCOUNTS_ERR_MAX]);

/* Opens the signer NAME: a dev account (no password), or a keystore key, whose password is read
 * with password_read (cli/password.h). Returns ACCOUNTS_OK, or ACCOUNTS_NOT_SIGNER /
 * ACCOUNTS_UNKNOWN / ACCOUNTS_BAD_ADDRESS / ACCOUNTS_KEYSTORE / ACCOUNTS_PASSWORD with err set; on
 * failure s holds no secret. */
enum accounts_result accounts_signer_open(struct accounts_signer *s, const char *dir,
                                          const char *name, char err[ACCOUNTS_ERR_MAX]);

/* Wipes the secret key (and the rest of s). */
void accounts_signer_wipe(struct accounts_signer *s);

#endif
