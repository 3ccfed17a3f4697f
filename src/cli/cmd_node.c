#include "cli/cmd_node.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/ss58.h"
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"
#include "crypto/devkeys.h"
#include "node/node.h"

static struct node *running_node;

static void on_signal(int sig)
{
	(void)sig;
	if (running_node)
		node_request_stop(running_node);
}

/* "HOST:PORT" -> host (into buf) and port. */
static bool parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	if (!colon || colon == s || (size_t)(colon - s) >= cap)
		return false;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p > 65535)
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return true;
}

static bool parse_size(const char *s, size_t *out, size_t min, size_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v < min || v > max)
		return false;
	*out = (size_t)v;
	return true;
}

struct node_opts {
	struct node_config cfg;
	char host[256];
	char p2p_host[256];
	uint16_t p2p_port;
	bool reset;
	struct cmd_dev_worker_opts worker; /* dev: --worker HOST:PORT */
};

/* "PROPOSE,PREVOTE,PRECOMMIT" base timeouts in ms; each grows by half its base per round. */
static bool parse_timeouts(struct cons_timeouts *t, const char *arg)
{
	unsigned long v[3];
	char *end;
	const char *p = arg;
	for (int i = 0; i < 3; i++) {
		errno = 0;
		v[i] = strtoul(p, &end, 10);
		if (errno || end == p || v[i] < 10 || v[i] > 600000 || *end != (i < 2 ? ',' : '\0'))
			return cli_fail(
			           "--timeouts takes PROPOSE,PREVOTE,PRECOMMIT in ms (10..600000), "
			           "got '%s'",
			           arg),
			       false;
		p = end + 1;
	}
	*t = (struct cons_timeouts){(uint32_t)v[0],     (uint32_t)v[0] / 2, (uint32_t)v[1],
	                            (uint32_t)v[1] / 2, (uint32_t)v[2],     (uint32_t)v[2] / 2};
	return true;
}

enum {
	OPT_DEV = 1,
	OPT_DATA,
	OPT_RPC,
	OPT_BLOCK_TIME,
	OPT_GENESIS,
	OPT_KEY,
	OPT_THREADS,
	OPT_MAX_TXS,
	OPT_POOL,
	OPT_LOG,
	OPT_RESET,
	OPT_P2P,
	OPT_PEERS,
	OPT_TIMEOUTS,
	OPT_WORKER,
	OPT_HELP
};

static const struct option long_opts[] = {
    {"dev", no_argument, NULL, OPT_DEV},
    {"data", required_argument, NULL, OPT_DATA},
    {"rpc", required_argument, NULL, OPT_RPC},
    {"block-time", required_argument, NULL, OPT_BLOCK_TIME},
    {"genesis", required_argument, NULL, OPT_GENESIS},
    {"validator-key", required_argument, NULL, OPT_KEY},
    {"rpc-threads", required_argument, NULL, OPT_THREADS},
    {"max-block-txs", required_argument, NULL, OPT_MAX_TXS},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"reset", no_argument, NULL, OPT_RESET},
    {"p2p", required_argument, NULL, OPT_P2P},
    {"peers", required_argument, NULL, OPT_PEERS},
    {"timeouts", required_argument, NULL, OPT_TIMEOUTS},
    {"pool-size", required_argument, NULL, OPT_POOL},
    {"worker", required_argument, NULL, OPT_WORKER},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Applies one option; returns false with a message for a bad value. */
static bool apply_opt(struct node_opts *o, int c, const char *arg, bool dev_cmd)
{
	size_t v;
	enum log_level lvl;
	switch (c) {
	case OPT_DEV:
		o->cfg.dev = true;
		return true;
	case OPT_DATA:
		o->cfg.data_dir = arg;
		return true;
	case OPT_RPC:
		if (!parse_listen(arg, o->host, sizeof(o->host), &o->cfg.rpc_port))
			return cli_fail("--rpc takes HOST:PORT, got '%s'", arg), false;
		o->cfg.rpc_host = o->host;
		return true;
	case OPT_BLOCK_TIME:
		if (!parse_size(arg, &v, 10, 3600000))
			return cli_fail("--block-time takes milliseconds (10..3600000), got '%s'",
			                arg),
			       false;
		o->cfg.block_time_ms = v;
		return true;
	case OPT_GENESIS:
	case OPT_KEY:
		if (dev_cmd)
			break;
		*(c == OPT_GENESIS ? &o->cfg.genesis_path : &o->cfg.validator_key) = arg;
		return true;
	case OPT_THREADS:
		if (!parse_size(arg, &v, 1, 256))
			return cli_fail("--rpc-threads takes 1..256, got '%s'", arg), false;
		o->cfg.rpc_threads = (unsigned)v;
		return true;
	case OPT_MAX_TXS:
		if (!parse_size(arg, &o->cfg.max_block_txs, 1, 65536))
			return cli_fail("--max-block-txs takes 1..65536, got '%s'", arg), false;
		return true;
	case OPT_POOL:
		if (!parse_size(arg, &v, 64, 1000000))
			return cli_fail("--pool-size takes 64..1000000 ready txs, got '%s'", arg),
			       false;
		o->cfg.pool_ready_txs = (uint32_t)v;
		return true;
	case OPT_LOG:
		if (!log_parse_level(&lvl, arg))
			return cli_fail("--log-level takes debug|info|warn|error, got '%s'", arg),
			       false;
		log_set_level(lvl);
		return true;
	case OPT_RESET:
		if (!dev_cmd)
			break;
		o->reset = true;
		return true;
	case OPT_P2P:
		if (!parse_listen(arg, o->p2p_host, sizeof(o->p2p_host), &o->p2p_port))
			return cli_fail("--p2p takes HOST:PORT, got '%s'", arg), false;
		o->cfg.p2p_listen = arg;
		return true;
	case OPT_PEERS:
		o->cfg.peers = arg;
		return true;
	case OPT_TIMEOUTS:
		return parse_timeouts(&o->cfg.timeouts, arg);
	case OPT_WORKER:
		if (!dev_cmd)
			break;
		if (!parse_listen(arg, o->worker.host, sizeof(o->worker.host), &o->worker.port))
			return cli_fail("--worker takes HOST:PORT, got '%s'", arg), false;
		return true;
	}
	return cli_fail("unknown option for this command (see tenebra %s --help)",
	                dev_cmd ? "dev" : "node"),
	       false;
}

static void print_help(bool dev_cmd)
{
	if (dev_cmd)
		printf(
		    "usage: tenebra dev [--data DIR] [--rpc HOST:PORT] [--worker HOST:PORT] "
		    "[--block-time MS] [--reset]\n"
		    "Runs the local development chain (dev accounts funded, alice validates).\n");
	else
		printf(
		    "usage: tenebra node (--dev | --genesis FILE [--validator-key FILE]) --data "
		    "DIR\n"
		    "                    [--p2p HOST:PORT] [--peers KEY@HOST:PORT,HOST:PORT,...]\n"
		    "                    [--rpc HOST:PORT] [--block-time MS] [--rpc-threads N]\n"
		    "                    [--timeouts PROPOSE,PREVOTE,PRECOMMIT] [--max-block-txs "
		    "N]\n"
		    "                    [--pool-size N] [--log-level debug|info|warn|error]\n"
		    "Without --validator-key the node is a full node: it syncs and follows.\n"
		    "The validator key password is read from $TENEBRA_VALIDATOR_PASSWORD.\n");
}

/* Parses argv into o. Returns -1 to go on, else the exit status to return. */
static int parse_node_args(struct node_opts *o, int argc, char **argv, bool dev_cmd)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			print_help(dev_cmd);
			return CLI_EXIT_OK;
		}
		if (c == '?')
			return cli_fail(
			           "unknown option or missing value: '%s' (see tenebra %s --help)",
			           argv[optind - 1], dev_cmd ? "dev" : "node"),
			       CLI_EXIT_USAGE;
		if (!apply_opt(o, c, optarg, dev_cmd))
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_fail("unexpected argument '%s'", argv[optind]), CLI_EXIT_USAGE;
	return -1;
}

/* tenebra dev's worker (cli_devworker.c), started by dev_banner once the node runs. */
static struct cli_ctx *dev_ctx;
static const char *dev_data;
static const struct cmd_dev_worker_opts *dev_opts;
static struct dev_worker *dev_worker;

/* Starts the node, waits for a signal, stops it. */
static int run_node(const struct node_config *cfg, void (*banner)(struct node *))
{
	char err[512] = "";
	struct node *n;
	enum node_result r = node_start(&n, cfg, err, sizeof(err));
	if (r != NODE_OK)
		return cli_fail("%s", err[0] ? err : node_strerror(r));
	running_node = n;
	cli_on_stop_signals(on_signal);
	if (banner)
		banner(n);
	node_wait(n);
	cmd_dev_worker_stop(dev_worker); /* NULL unless dev started one */
	log_info("node", "stopping at height %llu", (unsigned long long)node_height(n));
	running_node = NULL;
	bool failed = node_failed(n);
	node_free(n);
	if (failed)
		return cli_fail(
		    "the node stopped: it could not commit a block (see the log above)");
	return CLI_EXIT_OK;
}

int cmd_node(struct cli_ctx *ctx, int argc, char **argv)
{
	struct node_opts o;
	(void)ctx;
	memset(&o, 0, sizeof(o));
	node_config_default(&o.cfg);
	int r = parse_node_args(&o, argc, argv, false);
	if (r >= 0)
		return r;
	if (!o.cfg.data_dir)
		return cli_fail("--data DIR is required"), CLI_EXIT_USAGE;
	if (!o.cfg.dev && !o.cfg.genesis_path)
		return cli_fail("--genesis FILE (or --dev) is required"), CLI_EXIT_USAGE;
	if (o.cfg.dev && (o.cfg.genesis_path || o.cfg.validator_key))
		return cli_fail("--dev uses the built-in genesis and key; drop --genesis and "
		                "--validator-key"),
		       CLI_EXIT_USAGE;
	o.cfg.validator_password = getenv("TENEBRA_VALIDATOR_PASSWORD");
	return run_node(&o.cfg, NULL);
}

static void dev_banner(struct node *n)
{
	static const char *const names[] = {"alice", "bob", "charlie", "dave", "eve", "ferdie"};
	uint8_t pk[32], sk[64];
	char addr[SS58_ADDR_MAX + 1];
	/* Started before the banner is printed, so the banner comes out whole. */
	dev_worker = cmd_dev_worker_start(dev_ctx, n, dev_data, dev_opts);
	printf("\n  Tenebra dev network is running\n\n");
	printf("  node RPC      http://127.0.0.1:%u/   (JSON-RPC 2.0; docs/rpc.md)\n",
	       node_rpc_port(n));
	printf("  metrics       http://127.0.0.1:%u/metrics\n", node_rpc_port(n));
	if (dev_worker)
		cmd_dev_worker_describe(dev_worker);
	printf("  new heads     http://127.0.0.1:%u/events/heads   (Server-Sent Events)\n",
	       node_rpc_port(n));
	printf("  validator     alice (the only validator; dev keys are public: never use them "
	       "for value)\n\n  dev accounts  (10,000,000 PHA each)\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!devkeys_keypair(names[i], pk, sk))
			continue;
		sodium_memzero(sk, sizeof(sk));
		ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, pk);
		printf("    %-8s %s\n", names[i], addr);
	}
	printf("\n  try           tenebra transfer --from alice --to bob 1.5\n"
	       "                tenebra balance bob\n"
	       "  stop          Ctrl-C (the chain resumes from its data directory next time)\n\n");
	fflush(stdout);
}

/* The dev data directory: $TENEBRA_HOME/dev, else ~/.tenebra/dev (its parent created). */
static const char *default_dev_dir(char *buf, size_t cap)
{
	char base[PATH_MAX];
	if (!cli_home_path(base, sizeof(base), "") || !cli_home_path(buf, cap, "dev"))
		return NULL;
	if (mkdir(base, 0700) != 0 && errno != EEXIST)
		return NULL;
	return buf;
}

/* Deletes the dev chain's database, holding the directory's lock (store/blockstore.h) so a
 * running node's data is never removed from under it. */
static int remove_dev_data(const char *dir)
{
	/* The chain, and the consensus WAL and signer state of the chain that is removed (a new
	 * chain starts at height 1 again, which the old signer state would refuse to sign). */
	static const char *const files[] = {"data.mdb", "lock.mdb", "consensus/cs.wal",
	                                    "consensus/signer.state", "worker/checkpoint.sealed"};
	char path[PATH_MAX + 16];
	int ret = CLI_EXIT_OK;
	snprintf(path, sizeof(path), "%s/tenebra.lock", dir);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? CLI_EXIT_OK
		                       : cli_fail("cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return cli_fail("cannot reset %s: a tenebra process is using it", dir);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && ret == CLI_EXIT_OK; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			ret = cli_fail("cannot remove %s: %s", path, strerror(errno));
	}
	close(fd);
	return ret;
}

int cmd_dev(struct cli_ctx *ctx, int argc, char **argv)
{
	struct node_opts o;
	char dir[PATH_MAX];
	memset(&o, 0, sizeof(o));
	node_config_default(&o.cfg);
	o.cfg.dev = true;
	int r = parse_node_args(&o, argc, argv, true);
	if (r >= 0)
		return r;
	if (!o.cfg.data_dir && !(o.cfg.data_dir = default_dev_dir(dir, sizeof(dir))))
		return cli_fail("cannot choose a data directory: set --data DIR or TENEBRA_HOME");
	if (o.reset && remove_dev_data(o.cfg.data_dir) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	log_info("dev", "data directory %s", o.cfg.data_dir);
	dev_ctx = ctx;
	dev_data = o.cfg.data_dir;
	dev_opts = &o.worker;
	return run_node(&o.cfg, dev_banner);
}
