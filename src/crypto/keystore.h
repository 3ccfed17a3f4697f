/*
 * Password-protected key files: one Ed25519 seed sealed with XChaCha20-Poly1305 under a key that
 * Argon2id derives from a password. The file is a small JSON object whose every field is either
 * the ciphertext or is bound to it as associated data, so no field can be swapped or edited
 * without failing to open. Format, AAD layout and limits: docs/protocol/keystore.md.
 *
 * Secrets (seed, password, derived key) are never copied into heap memory this module does not
 * wipe; every stack copy is wiped with sodium_memzero on every path.
 */
#ifndef TN_CRYPTO_KEYSTORE_H
#define TN_CRYPTO_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/sig.h"

#define KEYSTORE_VERSION 1
/* A key name: 1..64 bytes of [A-Za-z0-9._-], not starting with '.' (it can name a file). */
#define KEYSTORE_NAME_MAX 64
/* Largest document keystore_open parses and keystore_read_file reads. */
#define KEYSTORE_DOC_MAX 4096

/* Argon2id cost. The values below are libsodium's crypto_pwhash constants. */
struct keystore_params {
	uint64_t opslimit; /* passes over memory */
	uint64_t memlimit; /* bytes */
};
/* Default for new files: crypto_pwhash_OPSLIMIT_MODERATE / MEMLIMIT_MODERATE (3, 256 MiB). */
#define KEYSTORE_PARAMS_DEFAULT ((struct keystore_params){3, 268435456})
/* The cheapest parameters accepted (libsodium's minimum): tests and fuzzing only. */
#define KEYSTORE_PARAMS_MIN ((struct keystore_params){1, 8192})
/* The most a file may ask for; a document above it is KEYSTORE_BAD_PARAMS without any hashing,
 * so a hostile file cannot make us allocate more than 1 GiB (= MEMLIMIT_SENSITIVE). */
#define KEYSTORE_PARAMS_MAX ((struct keystore_params){10, 1073741824})

enum keystore_result {
	KEYSTORE_OK = 0,
	KEYSTORE_BAD_FORMAT,  /* not the JSON object of the spec: syntax, fields, hex, lengths */
	KEYSTORE_UNSUPPORTED, /* a "version" other than KEYSTORE_VERSION */
	KEYSTORE_BAD_PARAMS,  /* Argon2 parameters outside [MIN, MAX] or above the caller's limit */
	KEYSTORE_AUTH_FAILED, /* wrong password, or any field altered: the two are not told apart */
	KEYSTORE_KEY_MISMATCH, /* authentic, but the sealed seed does not give the stored key */
	KEYSTORE_TOO_LARGE,    /* document longer than KEYSTORE_DOC_MAX */
	KEYSTORE_NOMEM,        /* allocation failed (including Argon2's memory) */
	KEYSTORE_EXISTS,       /* keystore_write_file: the file already exists; nothing written */
	KEYSTORE_PERMISSIONS,  /* keystore_read_file: file readable or writable by group/others */
	KEYSTORE_IO,           /* a file system call failed (errno is preserved) */
};

/* A static English message for r; never NULL. */
const char *keystore_strerror(enum keystore_result r);

/* True iff name is a valid key name (see KEYSTORE_NAME_MAX). */
bool keystore_name_valid(const char *name);

/* Seals seed under password[0..pwlen) with params (KEYSTORE_PARAMS_DEFAULT for real keys) and
 * returns the document in *doc: a NUL-terminated malloc'ed string the caller frees. Salt and
 * nonce are fresh random bytes, so two seals of the same seed differ. Returns KEYSTORE_OK or
 * KEYSTORE_NOMEM (*doc NULL). Caller misuse aborts: invalid name, params outside [MIN, MAX]. */
enum keystore_result keystore_seal(char **doc, const char *name, const uint8_t seed[SIG_SEED_LEN],
                                   const char *password, size_t pwlen,
                                   const struct keystore_params *params)
    __attribute__((warn_unused_result));

/* Opens doc[0..len) with password[0..pwlen). limit (NULL = KEYSTORE_PARAMS_MAX) caps the Argon2
 * parameters the document may request; it must not exceed KEYSTORE_PARAMS_MAX. On KEYSTORE_OK
 * writes the seed and its public key (and, if name is not NULL, the key name into
 * name[KEYSTORE_NAME_MAX + 1]). On error all outputs are zeroed and the result is one of
 * KEYSTORE_TOO_LARGE, BAD_FORMAT, UNSUPPORTED, BAD_PARAMS, AUTH_FAILED, KEY_MISMATCH, NOMEM. */
enum keystore_result keystore_open(uint8_t seed[SIG_SEED_LEN], uint8_t pk[SIG_PK_LEN], char *name,
                                   const char *doc, size_t len, const char *password, size_t pwlen,
                                   const struct keystore_params *limit)
    __attribute__((warn_unused_result));

/* The public fields of a document, without the password and without hashing: for listing keys.
 * Validates the format exactly as keystore_open does, but cannot detect tampering (only opening
 * can). Errors: KEYSTORE_TOO_LARGE, BAD_FORMAT, UNSUPPORTED, BAD_PARAMS, NOMEM. */
struct keystore_info {
	char name[KEYSTORE_NAME_MAX + 1];
	uint8_t pk[SIG_PK_LEN];
	struct keystore_params params;
};
enum keystore_result keystore_inspect(struct keystore_info *info, const char *doc, size_t len)
    __attribute__((warn_unused_result));

/* Writes doc to path with mode 0600, atomically and never over an existing file (KEYSTORE_EXISTS).
 * Creates the parent directory with mode 0700 if it is missing (its own parent must exist).
 * Errors: KEYSTORE_EXISTS, KEYSTORE_IO. */
enum keystore_result keystore_write_file(const char *path, const char *doc)
    __attribute__((warn_unused_result));

/* Reads the document at path into *doc (NUL-terminated, malloc'ed, caller frees) and its length
 * into *len. Refuses a file that group or others may read or write (KEYSTORE_PERMISSIONS), that is
 * not a regular file or is a symlink (KEYSTORE_IO), or that is longer than KEYSTORE_DOC_MAX
 * (KEYSTORE_TOO_LARGE). Other errors: KEYSTORE_IO, KEYSTORE_NOMEM. */
enum keystore_result keystore_read_file(const char *path, char **doc, size_t *len)
    __attribute__((warn_unused_result));

#endif
