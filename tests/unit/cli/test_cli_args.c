/* The CLI's pure parts: option parsing, amount and argument errors (one line, right exit status),
 * account resolution against a temporary keystore, signer unlocking, password input, key files
 * written by `key new`, and the error for an unreachable node. No node is needed. */
#include "check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pty.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "cli/accounts.h"
#include "cli/cli.h"
#include "cli/cli_int.h"
#include "cli/password.h"
#include "crypto/devkeys.h"
#include "crypto/keystore.h"

static char tmpdir[] = "/tmp/tenebra-cli-test-XXXXXX";

/* ---- running cli_main_codes with captured stdout and stderr ---- */

static char out_buf[8192], err_buf[8192];

static void slurp(int fd, char *buf, size_t cap)
{
	ssize_t n = pread(fd, buf, cap - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

/* Runs `tenebra ARGS...` (NULL-terminated) in-process; returns the exit status. */
static int run(const char *first, ...)
{
	char *argv[32] = {"tenebra"};
	int argc = 1;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	fflush(stdout);
	fflush(stderr);
	int save_out = dup(1), save_err = dup(2);
	FILE *fo = tmpfile(), *fe = tmpfile();
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	int rc = cli_main_codes(argc, argv, NULL, 0);
	fflush(stdout);
	fflush(stderr);
	dup2(save_out, 1);
	dup2(save_err, 2);
	close(save_out);
	close(save_err);
	slurp(fileno(fo), out_buf, sizeof(out_buf));
	slurp(fileno(fe), err_buf, sizeof(err_buf));
	fclose(fo);
	fclose(fe);
	return rc;
}

/* stderr is exactly one line starting "tenebra: " and containing want. */
static bool one_line_error(const char *want)
{
	size_t n = strlen(err_buf);
	bool ok = strncmp(err_buf, "tenebra: ", 9) == 0 && n > 0 && err_buf[n - 1] == '\n' &&
	          strchr(err_buf, '\n') == err_buf + n - 1 && strstr(err_buf, want) != NULL;
	if (!ok)
		fprintf(stderr, "  stderr was: %s  wanted: %s\n", err_buf, want);
	return ok;
}

/* ---- option parser ---- */

static const struct cli_cmd test_cmd = {"test", NULL, 0, "[--from NAME] [--quiet] ARG...", "t"};

static void parse_accepts_options_anywhere(void)
{
	struct cli_ctx ctx;
	const char *from = NULL, *pos[3];
	bool quiet = false;
	const struct cli_opt opts[] = {{"from", &from, NULL}, {"quiet", NULL, &quiet}, {0}};
	char *argv[] = {"test",       "a",  "--json",  "--from",
	                "alice",      "-1", "--quiet", "--rpc=http://h:1",
	                "--keystore", "/k", "--",      "--quiet"};
	cli_ctx_init(&ctx);
	ctx.cmd = &test_cmd;
	CHECK(cli_parse(&ctx, opts, 12, argv, pos, 1, 3));
	CHECK(ctx.json && quiet);
	CHECK(from && strcmp(from, "alice") == 0);
	CHECK(ctx.rpc_url && strcmp(ctx.rpc_url, "http://h:1") == 0);
	CHECK(ctx.keystore && strcmp(ctx.keystore, "/k") == 0);
	CHECK(pos[0] && strcmp(pos[0], "a") == 0);
	CHECK(pos[1] && strcmp(pos[1], "-1") == 0);      /* a negative number is a word */
	CHECK(pos[2] && strcmp(pos[2], "--quiet") == 0); /* after "--" */

	char *argv2[] = {"test", "--from=bob", "x"};
	from = NULL;
	CHECK(cli_parse(&ctx, opts, 3, argv2, pos, 1, 3));
	CHECK(from && strcmp(from, "bob") == 0 && pos[1] == NULL && pos[2] == NULL);
}

/* Each bad command line fails with a one-line message naming the problem. */
static void parse_rejects_bad_lines(void)
{
	static struct {
		int argc;
		char *argv[6];
		const char *msg;
	} bad[] = {
	    {2, {"test", "--nope"}, "unknown option '--nope'"},
	    {3, {"test", "-x", "a"}, "unknown option '-x'"},
	    {2, {"test", "--from"}, "option --from needs a value"},
	    {4, {"test", "--from", "--quiet", "a"}, "option --from needs a value"},
	    {6, {"test", "--from", "a", "--from", "b", "c"}, "option --from given twice"},
	    {3, {"test", "--quiet=1", "a"}, "option --quiet takes no value"},
	    {1, {"test"}, "missing argument"},
	    {4, {"test", "a", "b", "c"}, "unexpected argument 'c'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cli_ctx ctx;
		const char *from = NULL, *pos[2];
		bool quiet = false;
		const struct cli_opt opts[] = {{"from", &from, NULL}, {"quiet", NULL, &quiet}, {0}};
		cli_ctx_init(&ctx);
		ctx.cmd = &test_cmd;
		fflush(stderr);
		int save = dup(2);
		FILE *fe = tmpfile();
		dup2(fileno(fe), 2);
		bool ok = cli_parse(&ctx, opts, bad[i].argc, bad[i].argv, pos, 1, 2);
		fflush(stderr);
		dup2(save, 2);
		close(save);
		slurp(fileno(fe), err_buf, sizeof(err_buf));
		fclose(fe);
		CHECK(!ok);
		CHECK(one_line_error(bad[i].msg));
		CHECK(strstr(err_buf, "(usage: tenebra test ") != NULL);
	}
}

/* ---- whole command lines (no node needed: they fail before any request) ---- */

static void transfer_rejects_bad_amounts(void)
{
	static const char *amounts[] = {"-1",
	                                "1e3",
	                                "0.0000000000001",
	                                "0",
	                                "",
	                                "1.",
	                                ".5",
	                                "1,5",
	                                "0x10",
	                                "1 ",
	                                "340282366920938463463374607431768211456"};
	for (size_t i = 0; i < sizeof(amounts) / sizeof(amounts[0]); i++) {
		char want[96];
		snprintf(want, sizeof(want), "invalid amount '%s'", amounts[i]);
		CHECK(run("transfer", "--from", "alice", "--to", "bob", amounts[i], NULL) ==
		      CLI_EXIT_USAGE);
		CHECK(one_line_error(want));
		CHECK(out_buf[0] == '\0');
	}
	CHECK(run("transfer", "--from", "alice", "--to", "bob", "1", "--tip", "-0.1", NULL) ==
	      CLI_EXIT_USAGE);
	CHECK(one_line_error("invalid tip '-0.1'"));
	CHECK(run("transfer", "--from", "alice", "--to", "bob", "1", "--timeout", "0", NULL) ==
	      CLI_EXIT_USAGE);
	CHECK(one_line_error("invalid timeout '0'"));
	CHECK(run("transfer", "--to", "bob", "1", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("missing --from NAME"));
	CHECK(run("transfer", "--from", "alice", "--to", "alice", "1", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("cannot transfer from 'alice' to itself"));
}

#define ZERO_ID "0000000000000000000000000000000000000000000000000000000000000000"

/* The dark and token commands check their whole command line before any request (an unknown
 * account, a bad symbol, a bad amount or timeout), so none of these needs a node. */
static void wallet_commands_reject_bad_lines(void)
{
	static const struct {
		int rc;
		const char *argv[12];
		const char *msg;
	} bad[] = {
	    {CLI_EXIT_USAGE, {"dark"}, "dark: unknown or missing subcommand ''"},
	    {CLI_EXIT_USAGE, {"dark", "mint", "1"}, "unknown or missing subcommand 'mint'"},
	    {CLI_EXIT_USAGE, {"dark", "deposit", "1"}, "missing --from NAME"},
	    {CLI_EXIT_USAGE, {"dark", "deposit", "--from", "alice", "0"}, "invalid amount '0'"},
	    {CLI_EXIT_USAGE, {"dark", "deposit", "--from", "alice", "-1"}, "invalid amount '-1'"},
	    {CLI_EXIT_USAGE,
	     {"dark", "transfer", "--from", "alice", "--to", "bob", "0.0000000000001"},
	     "invalid amount '0.0000000000001'"},
	    {CLI_EXIT_USAGE,
	     {"dark", "withdraw", "--from", "alice", "340282366920938463463374607431768211456"},
	     "invalid amount '340282366920938463463374607431768211456'"},
	    {CLI_EXIT_USAGE, {"dark", "transfer", "--from", "alice", "1"}, "missing --to ACCOUNT"},
	    {CLI_EXIT_FAIL,
	     {"dark", "transfer", "--from", "alice", "--to", "zed", "1"},
	     "unknown account 'zed'"},
	    {CLI_EXIT_FAIL,
	     {"dark", "withdraw", "--from", "alice", "--to", "5FakeAddress", "1"},
	     "5FakeAddress"},
	    {CLI_EXIT_USAGE,
	     {"dark", "deposit", "--from", "alice", "1", "--timeout", "0"},
	     "invalid timeout '0'"},
	    {CLI_EXIT_USAGE, {"dark", "pay", "--to-contract", ZERO_ID, "1"}, "missing --from NAME"},
	    {CLI_EXIT_USAGE,
	     {"dark", "pay", "--from", "alice", "1"},
	     "dark pay: missing --to-contract ID (usage: tenebra dark pay --from NAME "
	     "--to-contract ID AMOUNT [--contract ID]"},
	    {CLI_EXIT_USAGE,
	     {"dark", "pay", "--from", "alice", "--to-contract", ZERO_ID, "1.0000000000001"},
	     "invalid amount '1.0000000000001': expected PHA above 0 with at most 12 decimals"},
	    {CLI_EXIT_USAGE,
	     {"dark", "pay", "--from", "alice", "--to-contract", ZERO_ID, "0"},
	     "invalid amount '0'"},
	    {CLI_EXIT_USAGE,
	     {"dark", "pay", "--from", "alice", "--to-contract", "abc", "1"},
	     "dark pay: the contract id must be 64 hex digits, got 'abc'"},
	    {CLI_EXIT_USAGE,
	     {"dark", "pay", "--from", "alice", "--to", "bob", "1"},
	     "unknown option '--to'"},
	    {CLI_EXIT_USAGE, {"dark", "balance"}, "dark balance: missing argument"},
	    {CLI_EXIT_USAGE,
	     {"dark", "balance", "alice", "--from", "bob"},
	     "unknown option '--from'"},
	    {CLI_EXIT_USAGE, {"dark", "info", "extra"}, "unexpected argument 'extra'"},
	    {CLI_EXIT_USAGE,
	     {"dark", "info", "--contract", "xyz"},
	     "the contract id must be 64 hex digits, got 'xyz'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "gold", "--supply", "1"},
	     "invalid symbol 'gold'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "ABCDEFGHIJKLM", "--supply", "1"},
	     "invalid symbol 'ABCDEFGHIJKLM'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "GOLD", "--supply", "1.5"},
	     "invalid supply '1.5'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "GOLD", "--supply", "0",
	      "--decimals", "2"},
	     "invalid supply '0'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "GOLD", "--supply", "1",
	      "--decimals", "19"},
	     "invalid --decimals '19'"},
	    {CLI_EXIT_USAGE,
	     {"token", "issue", "--from", "alice", "--symbol", "GOLD"},
	     "missing --supply N"},
	    {CLI_EXIT_USAGE,
	     {"token", "transfer", "--from", "alice", "--symbol", "GOLD", "1"},
	     "missing --to ACCOUNT"},
	    {CLI_EXIT_USAGE, {"token", "burn", "--from", "alice", "1"}, "missing --symbol SYM"},
	    {CLI_EXIT_USAGE, {"token", "destroy", "--symbol", "GOLD"}, "missing --from NAME"},
	    {CLI_EXIT_USAGE, {"token", "list", "x"}, "unexpected argument 'x'"},
	    {CLI_EXIT_USAGE, {"token", "credit"}, "token credit: missing argument"},
	    {CLI_EXIT_USAGE, {"token", "credit", "alice", "bob"}, "unexpected argument 'bob'"},
	    {CLI_EXIT_USAGE,
	     {"token", "credit", "alice", "--contract", "xyz"},
	     "the contract id must be 64 hex digits, got 'xyz'"},
	    {CLI_EXIT_USAGE,
	     {"token", "credit", "alice", "--from", "bob"},
	     "unknown option '--from'"},
	    {CLI_EXIT_USAGE,
	     {"contract", "deploy", "assets", "--cluster", "0", "--from", "alice", "--args", "zz"},
	     "--args must be hex"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *const *a = bad[i].argv;
		CHECK(run("--keystore", tmpdir, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
		          a[8], a[9], a[10], a[11]) == bad[i].rc);
		CHECK(one_line_error(bad[i].msg));
		CHECK(out_buf[0] == '\0');
	}
	/* Past the command line, the first request names the unreachable node. */
	CHECK(run("dark", "deposit", "--from", "alice", "1", "--rpc", "http://127.0.0.1:1", NULL) ==
	      CLI_EXIT_FAIL);
	CHECK(one_line_error("cannot reach node at http://127.0.0.1:1"));
	CHECK(run("token", "burn", "--from", "alice", "--symbol", "GOLD", NULL) == CLI_EXIT_USAGE);
	CHECK(
	    one_line_error("token burn: missing argument (usage: tenebra token burn --from NAME "
	                   "--symbol SYM AMOUNT [--contract ID] [--worker URL] [--timeout SECS])"));
	CHECK(run("contract", "deploy", "assets", "--cluster", "0", "--salt", "s", "--args", "00",
	          "--from", "alice", "--rpc", "http://127.0.0.1:1", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error("cannot reach node at http://127.0.0.1:1")); /* --salt once is fine */
	CHECK(run("help", "dark", NULL) == CLI_EXIT_OK);
	CHECK(strstr(out_buf, "usage: tenebra dark deposit --from NAME AMOUNT") != NULL);
	CHECK(strstr(out_buf, "| pay --from NAME --to-contract ID AMOUNT |") != NULL);
	CHECK(run("token", "--help", NULL) == CLI_EXIT_OK);
	CHECK(strstr(out_buf, "issue --from NAME --symbol SYM --supply N") != NULL);
	CHECK(strstr(out_buf, "| credit NAME;") != NULL);
}

static void commands_reject_bad_arguments(void)
{
	CHECK(run("frobnicate", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("unknown command 'frobnicate'"));
	CHECK(run("--rpc", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("tenebra: option --rpc needs a value (see tenebra --help)"));
	CHECK(run("--bogus", "info", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("unknown option '--bogus'"));
	CHECK(run("block", "12x", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("invalid block '12x'"));
	CHECK(run("tx", "abcd", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("invalid txid 'abcd'"));
	CHECK(run("balance", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("balance: missing argument"));
	CHECK(run("balance", "--keystore", tmpdir, "zed", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error("unknown account 'zed': not a key name, dev account or SS58 address"));
	CHECK(run("key", "rename", "x", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("unknown key command 'rename'"));
	CHECK(run("key", "list", "x", NULL) == CLI_EXIT_USAGE);
	CHECK(run("key", "new", NULL) == CLI_EXIT_USAGE);
	CHECK(one_line_error("missing NAME"));
	CHECK(run("--rpc", "ftp://x", "info", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error("unsupported RPC URL 'ftp://x'"));
}

static void help_and_version(void)
{
	CHECK(run("--help", NULL) == CLI_EXIT_OK);
	CHECK(strstr(out_buf, "transfer") && strstr(out_buf, "--keystore DIR"));
	CHECK(run("help", NULL) == CLI_EXIT_OK && strstr(out_buf, "balance"));
	CHECK(run("transfer", "--help", NULL) == CLI_EXIT_OK);
	CHECK(strncmp(out_buf, "usage: tenebra transfer --from NAME", 35) == 0);
	CHECK(run("help", "block", NULL) == CLI_EXIT_OK && strstr(out_buf, "usage: tenebra block"));
	CHECK(run("--version", NULL) == CLI_EXIT_OK &&
	      strcmp(out_buf, "tenebra " CLI_VERSION "\n") == 0);
	CHECK(run("info", "--json", "--version", NULL) == CLI_EXIT_OK);
	CHECK(strstr(out_buf, "\"version\": \"" CLI_VERSION "\"") != NULL);
	CHECK(run(NULL) == CLI_EXIT_USAGE && out_buf[0] == '\0' && strstr(err_buf, "usage:"));
}

/* A port nothing listens on: bound and closed again. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	close(s);
	return ntohs(a.sin_port);
}

static void unreachable_node_is_one_line(void)
{
	char url[64], want[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
	snprintf(want, sizeof(want), "cannot reach node at %s: Connection refused", url);
	CHECK(run("--rpc", url, "info", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error(want));
	CHECK(run("balance", "bob", "--json", "--rpc", url, NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error(want) && out_buf[0] == '\0');
	CHECK(run("transfer", "--rpc", url, "--from", "alice", "--to", "bob", "1.5", NULL) ==
	      CLI_EXIT_FAIL);
	CHECK(one_line_error(want));
	/* "host:port" means http://host:port, as the node's own --rpc option is written. */
	CHECK(run("--rpc", url + 7, "block", "latest", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error(want));
}

/* ---- accounts ---- */

static void write_key(const char *file, const char *name, const uint8_t seed[32], const char *pw,
                      mode_t mode)
{
	char path[512], *doc = NULL;
	snprintf(path, sizeof(path), "%s/%s.json", tmpdir, file);
	CHECK(keystore_seal(&doc, name, seed, pw, strlen(pw), &KEYSTORE_PARAMS_MIN) == KEYSTORE_OK);
	CHECK(keystore_write_file(path, doc) == KEYSTORE_OK);
	CHECK(chmod(path, mode) == 0);
	free(doc);
}

static void resolves_dev_hex_and_ss58(void)
{
	struct accounts_ref r;
	uint8_t pk[32], sk[64];
	char err[ACCOUNTS_ERR_MAX], hx[67] = "0x", addr[SS58_ADDR_MAX];
	CHECK(devkeys_keypair("ferdie", pk, sk));
	CHECK(accounts_resolve(&r, tmpdir, "ferdie", err) == ACCOUNTS_OK);
	CHECK(r.kind == ACCOUNTS_DEV && memcmp(r.pk, pk, 32) == 0);
	ss58_encode(addr, sizeof(addr), 30, pk);
	CHECK_STR(r.address, addr);
	CHECK(accounts_resolve(&r, tmpdir, addr, err) == ACCOUNTS_OK);
	CHECK(r.kind == ACCOUNTS_SS58 && memcmp(r.pk, pk, 32) == 0);
	hex_encode(hx + 2, pk, 32);
	CHECK(accounts_resolve(&r, NULL, hx, err) == ACCOUNTS_OK);
	CHECK(r.kind == ACCOUNTS_HEX && memcmp(r.pk, pk, 32) == 0 && strcmp(r.address, addr) == 0);
	CHECK(accounts_resolve(&r, NULL, hx + 2, err) == ACCOUNTS_OK && r.kind == ACCOUNTS_HEX);
	CHECK(accounts_resolve(&r, NULL, "Alice", err) == ACCOUNTS_UNKNOWN); /* case matters */
	sodium_memzero(sk, sizeof(sk));
}

static void rejects_bad_addresses(void)
{
	struct accounts_ref r;
	uint8_t pk[32] = {7};
	char err[ACCOUNTS_ERR_MAX], addr[SS58_ADDR_MAX];
	ss58_encode(addr, sizeof(addr), 0, pk); /* Polkadot's network id, not ours */
	CHECK(accounts_resolve(&r, tmpdir, addr, err) == ACCOUNTS_BAD_ADDRESS);
	CHECK(strstr(err, "invalid address") != NULL);
	ss58_encode(addr, sizeof(addr), 30, pk);
	size_t n = strlen(addr);
	addr[n - 1] = addr[n - 1] == 'a' ? 'b' : 'a'; /* breaks the checksum */
	CHECK(accounts_resolve(&r, tmpdir, addr, err) == ACCOUNTS_BAD_ADDRESS);
	CHECK(accounts_resolve(&r, tmpdir, "zed", err) == ACCOUNTS_UNKNOWN);
	CHECK_STR(err, "unknown account 'zed': not a key name, dev account or SS58 address");
	CHECK(accounts_resolve(&r, tmpdir, "", err) == ACCOUNTS_UNKNOWN);
	CHECK(accounts_resolve(&r, tmpdir, "../etc/passwd", err) == ACCOUNTS_UNKNOWN);
	/* 63 hex digits: neither a key nor an address */
	CHECK(accounts_resolve(&r, tmpdir,
	                       "000000000000000000000000000000000000000000000000000000000000000",
	                       err) == ACCOUNTS_UNKNOWN);
}

static void resolves_keystore_keys(void)
{
	uint8_t seed[32], pk[32], sk[64];
	struct accounts_ref r;
	char err[ACCOUNTS_ERR_MAX];
	randombytes_buf(seed, sizeof(seed));
	sig_keypair_from_seed(pk, sk, seed);
	write_key("carol", "carol", seed, "pw-carol", 0600);
	CHECK(accounts_resolve(&r, tmpdir, "carol", err) == ACCOUNTS_OK);
	CHECK(r.kind == ACCOUNTS_KEY && memcmp(r.pk, pk, 32) == 0);
	CHECK(accounts_check_new_name(tmpdir, "carol", err) == ACCOUNTS_EXISTS);
	CHECK(accounts_check_new_name(tmpdir, "alice", err) == ACCOUNTS_BAD_NAME);
	CHECK(strstr(err, "dev account") != NULL);
	CHECK(accounts_check_new_name(tmpdir, "a/b", err) == ACCOUNTS_BAD_NAME);
	CHECK(accounts_check_new_name(tmpdir, ".hidden", err) == ACCOUNTS_BAD_NAME);
	CHECK(accounts_check_new_name(tmpdir, "dave2", err) == ACCOUNTS_OK);
	/* A file whose sealed name is not its file name, and a world-readable file, are refused. */
	write_key("mallory", "trent", seed, "pw", 0600);
	CHECK(accounts_resolve(&r, tmpdir, "mallory", err) == ACCOUNTS_KEYSTORE);
	CHECK(strstr(err, "holds key 'trent'") != NULL);
	write_key("open", "open", seed, "pw", 0644);
	CHECK(accounts_resolve(&r, tmpdir, "open", err) == ACCOUNTS_KEYSTORE);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
}

static bool sk_is_zero(const struct accounts_signer *s)
{
	return sodium_is_zero(s->sk, sizeof(s->sk));
}

static void opens_signers(void)
{
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX];
	uint8_t sig[64], pk[32], sk[64];
	static const uint8_t msg[] = "tenebra";
	CHECK(setenv(PASSWORD_ENV, "pw-carol", 1) == 0);
	CHECK(accounts_signer_open(&s, tmpdir, "carol", err) == ACCOUNTS_OK);
	CHECK(s.ref.kind == ACCOUNTS_KEY);
	sig_sign(sig, msg, sizeof(msg), s.sk);
	CHECK(sig_verify(sig, msg, sizeof(msg), s.ref.pk));
	accounts_signer_wipe(&s);
	CHECK(sk_is_zero(&s));

	CHECK(setenv(PASSWORD_ENV, "wrong", 1) == 0);
	CHECK(accounts_signer_open(&s, tmpdir, "carol", err) == ACCOUNTS_PASSWORD);
	CHECK(strstr(err, "wrong password for key 'carol'") != NULL && sk_is_zero(&s));
	CHECK(setenv(PASSWORD_ENV, "", 1) == 0);
	CHECK(accounts_signer_open(&s, tmpdir, "carol", err) == ACCOUNTS_PASSWORD);
	CHECK(strstr(err, "empty password") != NULL);
	CHECK(unsetenv(PASSWORD_ENV) == 0);

	CHECK(accounts_signer_open(&s, tmpdir, "bob", err) == ACCOUNTS_OK); /* no password */
	CHECK(devkeys_keypair("bob", pk, sk));
	CHECK(s.ref.kind == ACCOUNTS_DEV && memcmp(s.sk, sk, 64) == 0);
	accounts_signer_wipe(&s);
	char addr[SS58_ADDR_MAX];
	ss58_encode(addr, sizeof(addr), 30, pk);
	CHECK(accounts_signer_open(&s, tmpdir, addr, err) == ACCOUNTS_NOT_SIGNER);
	CHECK(strstr(err, "cannot sign") != NULL && sk_is_zero(&s));
	CHECK(accounts_signer_open(&s, tmpdir, "zed", err) == ACCOUNTS_UNKNOWN);
	sodium_memzero(sk, sizeof(sk));
}

/* ---- password input from a pipe on stdin ---- */

static enum password_result read_piped(const char *input, char out[PASSWORD_MAX + 1])
{
	int p[2];
	CHECK(pipe(p) == 0);
	int save = dup(0);
	CHECK(write(p[1], input, strlen(input)) == (ssize_t)strlen(input));
	close(p[1]);
	dup2(p[0], 0);
	close(p[0]);
	enum password_result r = password_read(out, "unused: ", true);
	dup2(save, 0);
	close(save);
	return r;
}

static void reads_passwords(void)
{
	char pw[PASSWORD_MAX + 1];
	static char big[PASSWORD_MAX + 3];
	CHECK(unsetenv(PASSWORD_ENV) == 0);
	CHECK(read_piped("secret\nignored\n", pw) == PASSWORD_OK && strcmp(pw, "secret") == 0);
	CHECK(read_piped("crlf\r\n", pw) == PASSWORD_OK && strcmp(pw, "crlf") == 0);
	CHECK(read_piped("no newline", pw) == PASSWORD_OK && strcmp(pw, "no newline") == 0);
	CHECK(read_piped("\n", pw) == PASSWORD_EMPTY && pw[0] == '\0');
	CHECK(read_piped("", pw) == PASSWORD_NO_INPUT);
	memset(big, 'x', PASSWORD_MAX + 1);
	big[PASSWORD_MAX + 1] = '\n';
	CHECK(read_piped(big, pw) == PASSWORD_TOO_LONG &&
	      sodium_is_zero((uint8_t *)pw, sizeof(pw)));
	big[PASSWORD_MAX] = '\n';
	CHECK(read_piped(big, pw) == PASSWORD_OK && strlen(pw) == PASSWORD_MAX);
	CHECK(setenv(PASSWORD_ENV, "from-env", 1) == 0);
	CHECK(read_piped("from-stdin\n", pw) == PASSWORD_OK && strcmp(pw, "from-env") == 0);
	CHECK(unsetenv(PASSWORD_ENV) == 0);
	sodium_memzero(pw, sizeof(pw));
}

struct typist {
	int fd;
	const char *text;
};

/* Types each line into the terminal after a pause: the reader turns echo off with TCSAFLUSH,
 * which discards what was typed ahead, as a real password prompt should. */
static void *typist_run(void *arg)
{
	const struct typist *t = arg;
	for (const char *p = t->text; *p;) {
		size_t n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
		usleep(150 * 1000);
		if (write(t->fd, p, n) != (ssize_t)n)
			break;
		p += n;
	}
	return NULL;
}

/* A terminal on stdin: no echo, asked twice, both entries compared. */
static enum password_result read_tty(const char *input, bool confirm, char out[PASSWORD_MAX + 1],
                                     bool *echoed)
{
	int master, slave;
	char back[256];
	pthread_t th;
	CHECK(openpty(&master, &slave, NULL, NULL, NULL) == 0);
	struct typist t = {master, input};
	int save = dup(0);
	dup2(slave, 0);
	fflush(stderr);
	int save_err = dup(2), null = open("/dev/null", O_WRONLY); /* the prompts */
	dup2(null, 2);
	CHECK(pthread_create(&th, NULL, typist_run, &t) == 0);
	enum password_result r = password_read(out, "Password: ", confirm);
	pthread_join(th, NULL);
	dup2(save_err, 2);
	dup2(save, 0);
	close(save);
	close(save_err);
	close(null);
	close(slave);
	fcntl(master, F_SETFL, O_NONBLOCK);
	ssize_t n = read(master, back, sizeof(back) - 1);
	back[n > 0 ? n : 0] = '\0';
	*echoed = strstr(back, "tty-secret") != NULL;
	close(master);
	return r;
}

static void reads_passwords_from_a_tty(void)
{
	char pw[PASSWORD_MAX + 1];
	bool echoed = true;
	CHECK(unsetenv(PASSWORD_ENV) == 0);
	CHECK(read_tty("tty-secret\ntty-secret\n", true, pw, &echoed) == PASSWORD_OK);
	CHECK(strcmp(pw, "tty-secret") == 0 && !echoed);
	CHECK(read_tty("tty-secret\n", false, pw, &echoed) == PASSWORD_OK && !echoed);
	CHECK(read_tty("tty-secret\ntty-secreT\n", true, pw, &echoed) == PASSWORD_MISMATCH);
	CHECK(sodium_is_zero((uint8_t *)pw, sizeof(pw)));
	CHECK(read_tty("\n", false, pw, &echoed) == PASSWORD_EMPTY);
	sodium_memzero(pw, sizeof(pw));
}

/* ---- key new / show / list through the command line ---- */

static void key_commands(void)
{
	char path[640], sub[512];
	struct stat st;
	snprintf(sub, sizeof(sub), "%s/nested/keys", tmpdir); /* created on demand */
	CHECK(setenv(PASSWORD_ENV, "hunter2-but-longer", 1) == 0);
	CHECK(run("key", "new", "erin", "--keystore", sub, "--json", NULL) == CLI_EXIT_OK);
	json_t *o = json_loads(out_buf, 0, NULL);
	CHECK(o != NULL && strcmp(cli_json_str(o, "name"), "erin") == 0);
	snprintf(path, sizeof(path), "%s/erin.json", sub);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(run("--keystore", sub, "key", "new", "erin", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error("a key named 'erin' exists already"));
	CHECK(run("--keystore", sub, "key", "new", "eve", NULL) == CLI_EXIT_FAIL);
	CHECK(one_line_error("'eve' is a dev account name"));
	CHECK(run("--keystore", sub, "key", "show", "erin", NULL) == CLI_EXIT_OK);
	CHECK(strstr(out_buf, cli_json_str(o, "address")) != NULL);
	CHECK(strstr(out_buf, cli_json_str(o, "public_key")) != NULL);
	CHECK(run("--keystore", sub, "key", "list", NULL) == CLI_EXIT_OK);
	CHECK(strncmp(out_buf, "erin ", 5) == 0 && strstr(out_buf, cli_json_str(o, "address")));
	/* The password really seals it. */
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX];
	CHECK(accounts_signer_open(&s, sub, "erin", err) == ACCOUNTS_OK);
	char hx[65];
	CHECK_STR(hex_encode(hx, s.ref.pk, 32), cli_json_str(o, "public_key"));
	accounts_signer_wipe(&s);
	CHECK(unsetenv(PASSWORD_ENV) == 0);
	json_decref(o);
	CHECK(run("--keystore", tmpdir, "key", "list", "--json", NULL) == CLI_EXIT_OK);
	o = json_loads(out_buf, 0, NULL);
	CHECK(json_is_array(o) &&
	      json_array_size(o) == 3); /* carol, mallory (error), open (error) */
	CHECK(strcmp(cli_json_str(json_array_get(o, 0), "name"), "carol") == 0);
	CHECK(json_object_get(json_array_get(o, 1), "error") != NULL);
	json_decref(o);
	CHECK(run("--keystore", "/nonexistent/dir", "key", "list", "--json", NULL) == CLI_EXIT_OK);
	CHECK(strcmp(out_buf, "[]\n") == 0);
}

static void setup(void)
{
	CHECK(sodium_init() >= 0);
	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK(unsetenv(PASSWORD_ENV) == 0);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(setup), CASE(parse_accepts_options_anywhere), CASE(parse_rejects_bad_lines),
           CASE(transfer_rejects_bad_amounts), CASE(wallet_commands_reject_bad_lines),
           CASE(commands_reject_bad_arguments), CASE(help_and_version),
           CASE(unreachable_node_is_one_line), CASE(resolves_dev_hex_and_ss58),
           CASE(rejects_bad_addresses), CASE(resolves_keystore_keys), CASE(opens_signers),
           CASE(reads_passwords), CASE(reads_passwords_from_a_tty), CASE(key_commands),
           CASE(teardown))
