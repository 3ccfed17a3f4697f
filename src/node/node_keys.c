/* The node's keys: the validator key (consensus signatures, evidence reports) and the node key
 * (the p2p identity, separate so that two processes can share a validator key in tests). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/log.h"
#include "crypto/devkeys.h"
#include "crypto/keystore.h"
#include "node/node_int.h"

/* Reads the validator's seed from its keystore file. */
static enum node_result read_validator_seed(struct node *n, uint8_t seed[32], char *err,
                                            size_t errlen)
{
	char *doc = NULL;
	size_t len = 0;
	uint8_t pk[32];
	const char *pw = n->cfg.validator_password ? n->cfg.validator_password : "";
	enum keystore_result kr = keystore_read_file(n->cfg.validator_key, &doc, &len);
	if (kr == KEYSTORE_OK)
		kr = keystore_open(seed, pk, NULL, doc, len, pw, strlen(pw), NULL);
	free(doc);
	if (kr != KEYSTORE_OK)
		return node_fail(err, errlen, NODE_KEY, "cannot load validator key %s: %s",
		                 n->cfg.validator_key, keystore_strerror(kr));
	return NODE_OK;
}

static enum node_result load_validator_key(struct node *n, char *err, size_t errlen)
{
	uint8_t seed[32];
	enum node_result ret = NODE_OK;
	if (!n->cfg.dev && !n->cfg.validator_key)
		return NODE_OK; /* a full node */
	n->validator_sk = sodium_malloc(64);
	if (!n->validator_sk)
		return node_fail(err, errlen, NODE_NOMEM,
		                 "cannot allocate guarded memory for the key");
	if (n->cfg.dev)
		ret = devkeys_seed("alice", seed) ? NODE_OK : NODE_KEY;
	else
		ret = read_validator_seed(n, seed, err, errlen);
	if (ret == NODE_OK) {
		sig_keypair_from_seed(n->validator_pk, n->validator_sk, seed);
		sodium_mprotect_readonly(n->validator_sk);
		n->has_validator_key = true;
	}
	sodium_memzero(seed, sizeof(seed));
	return ret;
}

/* DATA/node.key: the hex seed of the p2p identity, mode 0600, made on first start. */
static bool node_seed(const char *path, uint8_t seed[32])
{
	char hex[65];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		randombytes_buf(seed, 32);
		sodium_bin2hex(hex, sizeof(hex), seed, 32);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		bool ok = fd >= 0 && write(fd, hex, 64) == 64 && fsync(fd) == 0;
		if (fd >= 0)
			close(fd);
		sodium_memzero(hex, sizeof(hex));
		return ok;
	}
	if (fd < 0)
		return false;
	ssize_t r = read(fd, hex, 64);
	close(fd);
	hex[r == 64 ? 64 : 0] = '\0';
	bool ok = r == 64 && hex_decode_exact(seed, 32, hex);
	sodium_memzero(hex, sizeof(hex));
	return ok;
}

static enum node_result load_node_key(struct node *n, char *err, size_t errlen)
{
	char path[4200];
	uint8_t seed[32];
	snprintf(path, sizeof(path), "%s/node.key", n->data_dir);
	n->node_sk = sodium_malloc(64);
	if (!n->node_sk)
		return node_fail(err, errlen, NODE_NOMEM,
		                 "cannot allocate guarded memory for the key");
	if (!node_seed(path, seed))
		return node_fail(err, errlen, NODE_KEY, "cannot read or create the node key %s",
		                 path);
	sig_keypair_from_seed(n->node_pk, n->node_sk, seed);
	sodium_mprotect_readonly(n->node_sk);
	sodium_memzero(seed, sizeof(seed));
	return NODE_OK;
}

enum node_result node_keys_load(struct node *n, char *err, size_t errlen)
{
	enum node_result r = load_validator_key(n, err, errlen);
	return r == NODE_OK ? load_node_key(n, err, errlen) : r;
}
