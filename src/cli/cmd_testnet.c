/*
 * `tenebra testnet --validators N --dir DIR`: writes a local multi-validator network (genesis,
 * and per node a validator keystore, a node key and its command line) and runs it until
 * Ctrl-C (docs/operator.md "A local testnet").
 *
 * Layout: DIR/genesis.json; DIR/nodeI/validator.json (keystore, empty password, light Argon2:
 * these keys are for local testing only); DIR/nodeI/data/node.key; DIR/nodeI/args (the node's
 * arguments, one per line); DIR/nodeI/node.log while it runs. The genesis is the dev genesis
 * (alice is sudo, dev accounts funded) with the N validators of power 1, each funded with
 * NODE_FUNDS PHA from the treasury so it can pay for evidence reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/amount.h"
#include "base/ss58.h"
#include "chain/genesis.h"
#include "cli/cli_int.h"
#include "cli/cmd_node.h"
#include "crypto/keystore.h"
#include "crypto/sig.h"

#define TESTNET_MAX        32
#define TESTNET_NODE_FUNDS "1000" /* PHA per validator account */
#define TESTNET_PATH_MAX   4096

struct testnet {
	const char *dir;
	unsigned n;
	unsigned p2p_port, rpc_port;
	unsigned block_time_ms;
	bool start;
	uint8_t val_pk[TESTNET_MAX][32];
	uint8_t node_pk[TESTNET_MAX][32];
};

static int mkdir_p(const char *path)
{
	return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Writes DIR/nodeI/validator.json and DIR/nodeI/data/node.key; fills the public keys. */
static int write_keys(struct testnet *t, unsigned i)
{
	char path[TESTNET_PATH_MAX], name[32], hex[65];
	uint8_t seed[32], sk[64];
	char *doc = NULL;
	snprintf(path, sizeof(path), "%s/node%u/data", t->dir, i);
	snprintf(name, sizeof(name), "validator%u", i);
	randombytes_buf(seed, sizeof(seed));
	sig_keypair_from_seed(t->val_pk[i], sk, seed);
	enum keystore_result kr = keystore_seal(&doc, name, seed, "", 0, &KEYSTORE_PARAMS_MIN);
	snprintf(path, sizeof(path), "%s/node%u/validator.json", t->dir, i);
	if (kr == KEYSTORE_OK)
		kr = keystore_write_file(path, doc);
	free(doc);
	randombytes_buf(seed, sizeof(seed));
	sig_keypair_from_seed(t->node_pk[i], sk, seed);
	sodium_bin2hex(hex, sizeof(hex), seed, 32);
	snprintf(path, sizeof(path), "%s/node%u/data/node.key", t->dir, i);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = kr == KEYSTORE_OK && fd >= 0 && write(fd, hex, 64) == 64;
	if (fd >= 0)
		close(fd);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(hex, sizeof(hex));
	return ok ? 0 : cli_fail("cannot write the keys of node %u in %s", i, t->dir);
}

static json_t *address(const uint8_t pk[32])
{
	char addr[SS58_ADDR_MAX + 1];
	ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, pk);
	return json_string(addr);
}

/* Takes the validators' funds out of the treasury allocation (the total stays the same). */
static bool fund_validators(const struct testnet *t, json_t *g)
{
	json_t *allocs = json_object_get(g, "allocations");
	const char *treasury = json_string_value(json_object_get(g, "treasury"));
	u128 each, total, left;
	char buf[AMOUNT_STR_MAX];
	if (!amount_parse_pha(&each, TESTNET_NODE_FUNDS) || !amount_mul(&total, each, t->n))
		return false;
	for (size_t i = 0; i < json_array_size(allocs); i++) {
		json_t *a = json_array_get(allocs, i);
		const char *acct = json_string_value(json_object_get(a, "account"));
		if (!acct || !treasury || strcmp(acct, treasury) != 0)
			continue;
		if (!amount_parse_pha(&left, json_string_value(json_object_get(a, "amount"))) ||
		    left < total)
			return false;
		json_object_set_new(a, "amount", json_string(amount_format_pha(buf, left - total)));
		for (unsigned v = 0; v < t->n; v++)
			json_array_append_new(allocs, json_pack("{s:o, s:s, s:s}", "account",
			                                        address(t->val_pk[v]), "amount",
			                                        TESTNET_NODE_FUNDS, "label",
			                                        "testnet validator"));
		return true;
	}
	return false;
}

static int write_genesis(const struct testnet *t)
{
	char path[TESTNET_PATH_MAX];
	char *dev = genesis_dev_json(t->block_time_ms);
	json_t *g = dev ? json_loads(dev, 0, NULL) : NULL;
	json_t *vals = json_array();
	free(dev);
	for (unsigned i = 0; vals && i < t->n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "validator%u", i);
		json_array_append_new(vals, json_pack("{s:s, s:o, s:i}", "name", name, "public_key",
		                                      address(t->val_pk[i]), "power", 1));
	}
	bool ok = g && vals && fund_validators(t, g);
	if (ok) {
		json_object_set_new(g, "chain_name", json_string("tenebra-testnet"));
		json_object_set_new(g, "genesis_time_ms",
		                    json_integer((json_int_t)time(NULL) * 1000));
		json_object_set(g, "validators", vals);
		snprintf(path, sizeof(path), "%s/genesis.json", t->dir);
		ok = json_dump_file(g, path, JSON_INDENT(2)) == 0;
	}
	json_decref(vals);
	json_decref(g);
	return ok ? 0 : cli_fail("cannot write %s/genesis.json", t->dir);
}

/* DIR/nodeI/args: the arguments of `tenebra` for node i, one per line. */
static int write_args(const struct testnet *t, unsigned i)
{
	char path[TESTNET_PATH_MAX], hex[65];
	snprintf(path, sizeof(path), "%s/node%u/args", t->dir, i);
	FILE *f = fopen(path, "w");
	if (!f)
		return cli_fail("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "node\n--genesis\n%s/genesis.json\n--validator-key\n%s/node%u/validator.json\n",
	        t->dir, t->dir, i);
	fprintf(f, "--data\n%s/node%u/data\n--p2p\n127.0.0.1:%u\n--rpc\n127.0.0.1:%u\n", t->dir, i,
	        t->p2p_port + i, t->rpc_port + i);
	fprintf(f, "--block-time\n%u\n--peers\n", t->block_time_ms);
	for (unsigned j = 0, k = 0; j < t->n; j++) {
		if (j == i)
			continue;
		sodium_bin2hex(hex, sizeof(hex), t->node_pk[j], 32);
		fprintf(f, "%s%s@127.0.0.1:%u", k++ ? "," : "", hex, t->p2p_port + j);
	}
	fprintf(f, "\n");
	return fclose(f) == 0 ? 0 : cli_fail("cannot write %s", path);
}

static int write_testnet(struct testnet *t)
{
	char path[TESTNET_PATH_MAX];
	snprintf(path, sizeof(path), "%s/genesis.json", t->dir);
	if (access(path, F_OK) == 0)
		return cli_fail("%s already holds a testnet; run it with --start-only", t->dir);
	if (mkdir_p(t->dir) != 0)
		return cli_fail("cannot create %s: %s", t->dir, strerror(errno));
	for (unsigned i = 0; i < t->n; i++) {
		snprintf(path, sizeof(path), "%s/node%u", t->dir, i);
		if (mkdir_p(path) != 0)
			return cli_fail("cannot create %s: %s", path, strerror(errno));
		snprintf(path, sizeof(path), "%s/node%u/data", t->dir, i);
		if (mkdir_p(path) != 0 || write_keys(t, i) != 0)
			return cli_fail("cannot create the keys in %s", path);
	}
	int r = write_genesis(t);
	for (unsigned i = 0; r == 0 && i < t->n; i++)
		r = write_args(t, i);
	return r;
}

/* ---- running it -------------------------------------------------------------------------- */

/* Reads DIR/nodeI/args into argv (argv[0] = the tenebra binary). */
static bool read_args(const struct testnet *t, unsigned i, char *buf, size_t cap, char **argv,
                      size_t max)
{
	char path[TESTNET_PATH_MAX];
	snprintf(path, sizeof(path), "%s/node%u/args", t->dir, i);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t len = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[len] = '\0';
	size_t k = 1;
	for (char *line = strtok(buf, "\n"); line && k + 1 < max; line = strtok(NULL, "\n"))
		argv[k++] = line;
	argv[k] = NULL;
	return k > 1;
}

static pid_t spawn(const struct testnet *t, unsigned i)
{
	char buf[8192], path[TESTNET_PATH_MAX], self[TESTNET_PATH_MAX];
	char *argv[64];
	ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0 || !read_args(t, i, buf, sizeof(buf), argv, 64))
		return -1;
	self[sl] = '\0';
	argv[0] = self;
	snprintf(path, sizeof(path), "%s/node%u/node.log", t->dir, i);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL); /* the parent blocks the signals it waits for */
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	setenv("TENEBRA_VALIDATOR_PASSWORD", "", 1);
	execv(self, argv);
	_exit(127);
}

static int run_testnet(const struct testnet *t)
{
	pid_t pids[TESTNET_MAX];
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (unsigned i = 0; i < t->n; i++)
		pids[i] = spawn(t, i);
	printf("\n  Tenebra testnet: %u validators in %s\n\n", t->n, t->dir);
	for (unsigned i = 0; i < t->n; i++)
		printf("  node%u  RPC http://127.0.0.1:%u/  p2p 127.0.0.1:%u  log "
		       "%s/node%u/node.log\n",
		       i, t->rpc_port + i, t->p2p_port + i, t->dir, i);
	printf("\n  stop   Ctrl-C (stops every node; run again with --start-only)\n\n");
	fflush(stdout);
	sigwait(&set, &sig); /* Ctrl-C, or a node exited (SIGCHLD) */
	for (unsigned i = 0; i < t->n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (unsigned i = 0; i < t->n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
	return sig == SIGCHLD ? cli_fail("a node exited; see its node.log") : CLI_EXIT_OK;
}

static const struct option testnet_opts[] = {
    {"validators", required_argument, NULL, 'v'},
    {"dir", required_argument, NULL, 'd'},
    {"p2p-port", required_argument, NULL, 'p'},
    {"rpc-port", required_argument, NULL, 'r'},
    {"block-time", required_argument, NULL, 'b'},
    {"no-start", no_argument, NULL, 'n'},
    {"start-only", no_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool parse_uint(const char *s, unsigned *out, unsigned min, unsigned max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static void testnet_help(void)
{
	printf("usage: tenebra testnet --validators N --dir DIR [--p2p-port P] [--rpc-port R]\n"
	       "                       [--block-time MS] [--no-start | --start-only]\n"
	       "Writes a local network of N validators (genesis, keys, per-node arguments) into\n"
	       "DIR and runs it until Ctrl-C. Node i listens on P+i (p2p) and R+i (RPC).\n"
	       "Local testing only: the keys have no password.\n");
}

/* Applies one option; -1 to go on, else an exit status. */
static int testnet_opt(struct testnet *t, int c, bool *write)
{
	switch (c) {
	case 'v':
		return parse_uint(optarg, &t->n, 1, TESTNET_MAX)
		           ? -1
		           : cli_fail("--validators takes 1..%d", TESTNET_MAX);
	case 'd':
		t->dir = optarg;
		return -1;
	case 'p':
		return parse_uint(optarg, &t->p2p_port, 1, 65000) ? -1 : cli_fail("bad --p2p-port");
	case 'r':
		return parse_uint(optarg, &t->rpc_port, 1, 65000) ? -1 : cli_fail("bad --rpc-port");
	case 'b':
		return parse_uint(optarg, &t->block_time_ms, 10, 3600000)
		           ? -1
		           : cli_fail("--block-time takes 10..3600000 ms");
	case 'n':
		t->start = false;
		return -1;
	case 's':
		*write = false;
		return -1;
	case 'h':
		testnet_help();
		return CLI_EXIT_OK;
	}
	return cli_fail("unknown option or missing value (see tenebra testnet --help)"),
	       CLI_EXIT_USAGE;
}

int cmd_testnet(struct cli_ctx *ctx, int argc, char **argv)
{
	struct testnet t = {
	    .n = 4, .p2p_port = 26656, .rpc_port = 9944, .block_time_ms = 1000, .start = true};
	bool write = true;
	int c;
	(void)ctx;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", testnet_opts, NULL)) != -1) {
		int r = testnet_opt(&t, c, &write);
		if (r >= 0)
			return r;
	}
	if (!t.dir || optind < argc)
		return cli_fail("--dir DIR is required (see tenebra testnet --help)"),
		       CLI_EXIT_USAGE;
	if (sodium_init() < 0)
		return cli_fail("cannot initialise libsodium");
	if (write) {
		int r = write_testnet(&t);
		if (r != 0)
			return r;
		printf("wrote a %u-validator testnet to %s\n", t.n, t.dir);
	} else {
		char path[TESTNET_PATH_MAX];
		for (t.n = 0; t.n < TESTNET_MAX; t.n++) {
			snprintf(path, sizeof(path), "%s/node%u/args", t.dir, t.n);
			if (access(path, R_OK) != 0)
				break;
		}
		if (!t.n)
			return cli_fail("%s holds no testnet", t.dir);
	}
	return t.start ? run_testnet(&t) : CLI_EXIT_OK;
}
