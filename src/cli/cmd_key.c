/* tenebra key new|list|show: password-protected key files in the keystore directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hex.h"
#include "cli/accounts.h"
#include "cli/cli_int.h"
#include "cli/password.h"
#include "crypto/keystore.h"

#define KEY_LIST_MAX 10000 /* keys listed from one directory */

/* Creates dir and its missing parents with mode 0700 (keys live below it). */
static bool key_mkdirs(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(p))
		return false;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return false;
		*s = '/';
	}
	return mkdir(p, 0700) == 0 || errno == EEXIST;
}

static int key_print(struct cli_ctx *ctx, const char *name, const struct accounts_ref *ref,
                     const char *file)
{
	char hx[2 * SIG_PK_LEN + 1];
	const char *kind = ref->kind == ACCOUNTS_DEV ? "dev" : "key";
	hex_encode(hx, ref->pk, sizeof(ref->pk));
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "kind", kind, "address",
		                      ref->address, "public_key", hx);
		if (o != NULL && file != NULL)
			json_object_set_new(o, "file", json_string(file));
		return cli_emit_json(o);
	}
	cli_kv("name", "%s", name);
	cli_kv("kind", "%s", kind);
	cli_kv("address", "%s", ref->address);
	cli_kv("public_key", "%s", hx);
	if (file != NULL)
		cli_kv("file", "%s", file);
	return CLI_EXIT_OK;
}

/* Seals a fresh random seed under a password read twice; *doc and pk get the results. The seed and
 * password are wiped before returning. */
static int key_seal(const char *name, char **doc, struct accounts_ref *ref)
{
	uint8_t seed[SIG_SEED_LEN], sk[SIG_SK_LEN];
	char pw[PASSWORD_MAX + 1], prompt[KEYSTORE_NAME_MAX + 40];
	int ret = CLI_EXIT_OK;
	snprintf(prompt, sizeof(prompt), "Password for new key '%s': ", name);
	enum password_result pr = password_read(pw, prompt, true);
	if (pr != PASSWORD_OK)
		return cli_fail("key '%s': %s", name, password_strerror(pr));
	randombytes_buf(seed, sizeof(seed));
	sig_keypair_from_seed(ref->pk, sk, seed);
	ref->kind = ACCOUNTS_KEY;
	ss58_encode(ref->address, sizeof(ref->address), ACCOUNTS_PREFIX, ref->pk);
	if (keystore_seal(doc, name, seed, pw, strlen(pw), &KEYSTORE_PARAMS_DEFAULT) != KEYSTORE_OK)
		ret = cli_fail("out of memory sealing key '%s'", name);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(pw, sizeof(pw));
	return ret;
}

static int key_new(struct cli_ctx *ctx, const char *dir, const char *name)
{
	char err[ACCOUNTS_ERR_MAX], path[PATH_MAX];
	struct accounts_ref ref;
	char *doc = NULL;
	int n = snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if (accounts_check_new_name(dir, name, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cli_fail("keystore path is too long");
	if (!key_mkdirs(dir))
		return cli_fail("cannot create keystore directory %s: %s", dir, strerror(errno));
	int ret = key_seal(name, &doc, &ref);
	if (ret == CLI_EXIT_OK) {
		enum keystore_result r = keystore_write_file(path, doc);
		if (r == KEYSTORE_EXISTS)
			ret = cli_fail("a key named '%s' exists already in %s", name, dir);
		else if (r != KEYSTORE_OK)
			ret = cli_fail("cannot write %s: %s", path, strerror(errno));
	}
	free(doc);
	return ret == CLI_EXIT_OK ? key_print(ctx, name, &ref, path) : ret;
}

static int key_show(struct cli_ctx *ctx, const char *dir, const char *name)
{
	char err[ACCOUNTS_ERR_MAX], path[PATH_MAX];
	struct accounts_ref ref;
	if (accounts_resolve(&ref, dir, name, err) != ACCOUNTS_OK)
		return cli_fail("%s", err);
	if (ref.kind != ACCOUNTS_KEY && ref.kind != ACCOUNTS_DEV)
		return cli_fail("'%s' is an address, not a key name or dev account", name);
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	return key_print(ctx, name, &ref, ref.kind == ACCOUNTS_KEY ? path : NULL);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The key names in dir (files NAME.json with a valid NAME), sorted; *names is malloc'ed with
 * malloc'ed strings. A missing directory has no keys. */
static int key_names(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	*names = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT
		           ? CLI_EXIT_OK
		           : cli_fail("cannot read keystore %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL && *n < KEY_LIST_MAX) {
		size_t len = strlen(e->d_name);
		char **grown;
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		char *name = strndup(e->d_name, len - 5);
		if (name == NULL || !keystore_name_valid(name) ||
		    (grown = realloc(*names, (*n + 1) * sizeof(char *))) == NULL) {
			free(name);
			continue;
		}
		*names = grown;
		(*names)[(*n)++] = name;
	}
	closedir(d);
	qsort(*names, *n, sizeof(char *), key_cmp);
	return CLI_EXIT_OK;
}

/* One row of `key list`: the address, or the reason the file cannot be used. */
static void key_list_row(struct cli_ctx *ctx, json_t *arr, const char *dir, const char *name)
{
	char err[ACCOUNTS_ERR_MAX], hx[2 * SIG_PK_LEN + 1];
	struct accounts_ref ref;
	bool ok = accounts_resolve(&ref, dir, name, err) == ACCOUNTS_OK && ref.kind == ACCOUNTS_KEY;
	if (!ok && err[0] == '\0')
		snprintf(err, sizeof(err), "not a key");
	if (ctx->json)
		json_array_append_new(
		    arr, ok ? json_pack("{s:s, s:s, s:s}", "name", name, "address", ref.address,
		                        "public_key", hex_encode(hx, ref.pk, sizeof(ref.pk)))
		            : json_pack("{s:s, s:s}", "name", name, "error", err));
	else
		printf("%-20s %s\n", name, ok ? ref.address : err);
}

static int key_list(struct cli_ctx *ctx, const char *dir)
{
	char **names;
	size_t n;
	json_t *arr = ctx->json ? json_array() : NULL;
	int ret = key_names(dir, &names, &n);
	for (size_t i = 0; i < n; i++) {
		if (ret == CLI_EXIT_OK)
			key_list_row(ctx, arr, dir, names[i]);
		free(names[i]);
	}
	free(names);
	if (ret == CLI_EXIT_OK && ctx->json)
		return cli_emit_json(arr);
	json_decref(arr);
	return ret;
}

static int key_list_cmd(struct cli_ctx *ctx, const char *dir, const char *unused)
{
	(void)unused;
	return key_list(ctx, dir);
}

static const struct {
	const char *name;
	int (*run)(struct cli_ctx *ctx, const char *dir, const char *name);
	bool takes_name;
} key_cmds[] = {
    {"new", key_new, true},
    {"list", key_list_cmd, false},
    {"show", key_show, true},
};

int cmd_key(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *pos[2];
	size_t i = 0;
	if (!cli_parse(ctx, NULL, argc, argv, pos, 1, 2))
		return CLI_EXIT_USAGE;
	while (i < sizeof(key_cmds) / sizeof(key_cmds[0]) && strcmp(key_cmds[i].name, pos[0]) != 0)
		i++;
	if (i == sizeof(key_cmds) / sizeof(key_cmds[0]))
		return cli_usage_fail(ctx, "unknown key command '%s'", pos[0]);
	if (key_cmds[i].takes_name && pos[1] == NULL)
		return cli_usage_fail(ctx, "missing NAME");
	if (!key_cmds[i].takes_name && pos[1] != NULL)
		return cli_usage_fail(ctx, "unexpected argument '%s'", pos[1]);
	const char *dir = cli_keystore_dir(ctx);
	return dir == NULL ? CLI_EXIT_FAIL : key_cmds[i].run(ctx, dir, pos[1]);
}
