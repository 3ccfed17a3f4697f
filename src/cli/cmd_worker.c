/*
 * tenebra worker: runs the worker host (worker/worker.h) in the foreground, or, with a
 * subcommand, lists and inspects workers (list, show ID: from the chain; status: from a worker).
 * Also the dev worker that `tenebra dev` runs next to its node.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "base/log.h"
#include "chain/attest.h"
#include "chain/registry.h"
#include "chain/feed.h"
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"
#include "node/node.h"
#include "worker/worker.h"

#define WORKER_RPC_TIMEOUT_MS 30000L

/* ---- the node's JSON-RPC for the worker (worker.h struct worker_node) --------------------- */

static int node_call(void *ctx, const char *method, json_t *params, json_t **result, long *code,
                     char *err, size_t errlen)
{
	struct rpc_client *c = ctx;
	enum rpc_result r = rpc_call(c, method, params, result);
	*code = r == RPC_ERROR ? c->code : 0;
	if (r == RPC_OK)
		return 0;
	snprintf(err, errlen, "%s", rpc_client_error(c));
	return -1;
}

static int node_feeds(void *ctx, uint64_t from, uint16_t count, uint8_t **reply, size_t *len,
                      char *err, size_t errlen)
{
	struct rpc_client *c = ctx;
	uint8_t req[FEED_REQUEST_LEN];
	feed_request_encode(req, from, count);
	if (rpc_post_bytes(c, "/feeds", req, sizeof(req), reply, len) == RPC_OK)
		return 0;
	snprintf(err, errlen, "%s", rpc_client_error(c));
	return -1;
}

struct worker_node cli_worker_node(struct rpc_client *c)
{
	return (struct worker_node){c, node_call, node_feeds};
}

/* ---- options ------------------------------------------------------------------------------ */

struct run_opts {
	const char *node, *data, *listen, *backend, *operator_, *attest_key, *ckpt, *log_level;
};

static bool parse_u64(const char *s, uint64_t *out, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_listen(struct cli_ctx *ctx, const char *s, char *host, size_t cap, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	uint64_t p;
	if (!colon || colon == s || (size_t)(colon - s) >= cap || !parse_u64(colon + 1, &p, 65535))
		return cli_usage_fail(ctx, "--listen takes HOST:PORT, got '%s'", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)p;
	return CLI_EXIT_OK;
}

/* The sim attestation key: a file holding a 32-byte seed as 64 hex digits, or the dev key. */
static int load_attest_key(const char *path, uint8_t pk[32], uint8_t sk[64])
{
	char buf[160] = "";
	uint8_t seed[32];
	if (!path) {
		attest_dev_sim_keypair(pk, sk);
		return CLI_EXIT_OK;
	}
	FILE *f = fopen(path, "r");
	if (!f)
		return cli_fail("cannot read %s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	bool ok = hex_decode_exact(seed, 32, buf);
	sodium_memzero(buf, sizeof(buf));
	if (!ok)
		return cli_fail("%s: expected a 32-byte seed as 64 hex digits", path);
	sig_keypair_from_seed(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return CLI_EXIT_OK;
}

/* --operator NAME (a key or dev account) or a keystore file DIR/NAME.json. */
static int load_operator(struct cli_ctx *ctx, const char *arg, uint8_t sk[64])
{
	struct accounts_signer s;
	char err[ACCOUNTS_ERR_MAX], copy[PATH_MAX], copy2[PATH_MAX];
	const char *dir = NULL, *name = arg;
	size_t n = strlen(arg);
	if (strchr(arg, '/') && n > 5 && strcmp(arg + n - 5, ".json") == 0 && n < sizeof(copy)) {
		snprintf(copy, sizeof(copy), "%s", arg);
		snprintf(copy2, sizeof(copy2), "%s", arg);
		dir = dirname(copy);
		name = basename(copy2);
		copy2[strlen(copy2) - 5] = '\0';
	} else if (!(dir = cli_keystore_dir(ctx))) {
		return CLI_EXIT_FAIL;
	}
	if (accounts_signer_open(&s, dir, name, err) != ACCOUNTS_OK)
		return cli_fail("--operator: %s", err);
	memcpy(sk, s.sk, 64);
	accounts_signer_wipe(&s);
	return CLI_EXIT_OK;
}

static int run_config(struct cli_ctx *ctx, const struct run_opts *o, struct worker_config *cfg,
                      char host[256])
{
	enum log_level lvl;
	int r = CLI_EXIT_OK;
	worker_config_default(cfg);
	if (!o->data)
		return cli_usage_fail(ctx, "missing --data DIR");
	if (!o->operator_)
		return cli_usage_fail(ctx, "missing --operator NAME (the account that pays for the "
		                           "worker's transactions)");
	cfg->data_dir = o->data;
	if (o->listen && (r = parse_listen(ctx, o->listen, host, 256, &cfg->listen_port)))
		return r;
	if (o->listen)
		cfg->listen_host = host;
	if (o->backend && strcmp(o->backend, "sim") != 0) {
		if (strcmp(o->backend, "gramine-sgx") != 0)
			return cli_usage_fail(ctx, "--backend takes sim or gramine-sgx");
		cfg->backend = ENCLAVE_BACKEND_GRAMINE_SGX;
	}
	if (o->ckpt && !parse_u64(o->ckpt, &cfg->checkpoint_every, 100000000))
		return cli_usage_fail(ctx, "--checkpoint-every takes a block count");
	if (o->log_level && !log_parse_level(&lvl, o->log_level))
		return cli_usage_fail(ctx, "--log-level takes debug|info|warn|error");
	if (o->log_level)
		log_set_level(lvl);
	cfg->codes = ctx->codes;
	cfg->n_codes = ctx->n_codes;
	if ((r = load_attest_key(o->attest_key, cfg->attest_pk, cfg->attest_sk)) != CLI_EXIT_OK)
		return r;
	return load_operator(ctx, o->operator_, cfg->operator_sk);
}

static struct worker *running_worker;

static void on_signal(int sig)
{
	(void)sig;
	if (running_worker)
		worker_request_stop(running_worker);
}

/* Starts a worker with cfg, prints the banner, waits for SIGINT/SIGTERM, stops and frees it. */
static enum worker_result worker_run(const struct worker_config *cfg,
                                     void (*banner)(struct worker *), char *err, size_t errlen)
{
	struct worker *w;
	enum worker_result r = worker_start(&w, cfg, err, errlen);
	if (r != WORKER_OK)
		return r;
	running_worker = w;
	cli_on_stop_signals(on_signal);
	banner(w);
	worker_wait(w);
	log_info("worker", "stopping");
	running_worker = NULL;
	worker_free(w);
	return WORKER_OK;
}

static void run_banner(struct worker *w)
{
	struct worker_status st;
	char id[65];
	worker_status(w, &st);
	printf("\n  Tenebra worker is running\n\n"
	       "  identity      %s\n"
	       "  backend       %s\n"
	       "  queries       http://%s:%u/query   (POST, HPKE envelopes)\n"
	       "  status        http://%s:%u/status\n\n",
	       hex_encode(id, st.enclave.identity, 32),
	       st.enclave.backend == ENCLAVE_BACKEND_SIM
	           ? "sim (NOT hardware-protected: development and tests only)"
	           : "gramine-sgx",
	       WORKER_DEFAULT_HOST, worker_port(w), WORKER_DEFAULT_HOST, worker_port(w));
	fflush(stdout);
}

static int worker_run_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	struct run_opts o = {0};
	const struct cli_opt opts[] = {{"node", &o.node, NULL},
	                               {"data", &o.data, NULL},
	                               {"listen", &o.listen, NULL},
	                               {"backend", &o.backend, NULL},
	                               {"operator", &o.operator_, NULL},
	                               {"attestation-key", &o.attest_key, NULL},
	                               {"checkpoint-every", &o.ckpt, NULL},
	                               {"log-level", &o.log_level, NULL},
	                               {NULL, NULL, NULL}};
	struct worker_config cfg;
	struct rpc_client c;
	char host[256], err[512] = "";
	if (!cli_parse(ctx, opts, argc, argv, NULL, 0, 0))
		return CLI_EXIT_USAGE;
	int r = run_config(ctx, &o, &cfg, host);
	if (r == CLI_EXIT_OK && rpc_client_init(&c,
	                                        o.node         ? o.node
	                                        : ctx->rpc_url ? ctx->rpc_url
	                                                       : RPC_DEFAULT_URL,
	                                        WORKER_RPC_TIMEOUT_MS) != RPC_OK)
		r = cli_fail("%s", rpc_client_error(&c));
	if (r != CLI_EXIT_OK) {
		sodium_memzero(&cfg, sizeof(cfg));
		return r;
	}
	cfg.node = cli_worker_node(&c);
	enum worker_result wr = worker_run(&cfg, run_banner, err, sizeof(err));
	sodium_memzero(&cfg, sizeof(cfg));
	rpc_client_release(&c);
	if (wr != WORKER_OK)
		return cli_fail("%s", err[0] ? err : worker_strerror(wr));
	return CLI_EXIT_OK;
}

/* ---- list, show, status ------------------------------------------------------------------- */

/* "7", or "none" for a JSON null. */
static const char *cluster_str(char out[24], const json_t *cl)
{
	if (!json_is_integer(cl))
		return "none";
	snprintf(out, 24, "%lld", (long long)json_integer_value(cl));
	return out;
}

static void print_worker(const json_t *w)
{
	const json_t *cl = json_object_get(w, "cluster");
	cli_kv("identity", "%s", cli_json_str(w, "identity"));
	cli_kv("operator", "%s", cli_json_str(w, "operator"));
	cli_kv("backend", "%s%s", cli_json_str(w, "backend"),
	       json_is_true(json_object_get(w, "hardware_protected"))
	           ? ""
	           : " (NOT hardware-protected)");
	cli_kv("measurement", "%s", cli_json_str(w, "measurement"));
	cli_kv("confidence", "%lld",
	       (long long)json_integer_value(json_object_get(w, "confidence_level")));
	cli_kv("registered", "block %lld",
	       (long long)json_integer_value(json_object_get(w, "registered_height")));
	char cls[24];
	cli_kv("cluster", "%s", cluster_str(cls, cl));
	cli_kv("gatekeeper", "%s", json_is_true(json_object_get(w, "gatekeeper")) ? "yes" : "no");
}

static int worker_list(struct cli_ctx *ctx)
{
	json_t *res;
	int r = cli_call(ctx, "worker_list", json_pack("[i, i]", 0, 1000), &res);
	if (r != CLI_EXIT_OK || ctx->json)
		return r != CLI_EXIT_OK ? r : cli_emit_json(res);
	json_t *ws = json_object_get(res, "workers");
	printf("%lld worker(s)\n", (long long)json_integer_value(json_object_get(res, "total")));
	for (size_t i = 0; i < json_array_size(ws); i++) {
		const json_t *w = json_array_get(ws, i);
		char cls[24];
		printf("  %s  %-11s cluster %-5s%s\n", cli_json_str(w, "identity"),
		       cli_json_str(w, "backend"), cluster_str(cls, json_object_get(w, "cluster")),
		       json_is_true(json_object_get(w, "gatekeeper")) ? "  gatekeeper" : "");
	}
	json_decref(res);
	return CLI_EXIT_OK;
}

static int worker_show(struct cli_ctx *ctx, const char *id)
{
	json_t *res;
	int r = cli_call(ctx, "worker_get", json_pack("[s]", id), &res);
	if (r != CLI_EXIT_OK || ctx->json)
		return r != CLI_EXIT_OK ? r : cli_emit_json(res);
	print_worker(res);
	json_decref(res);
	return CLI_EXIT_OK;
}

static int worker_status_cmd(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *url = NULL;
	const struct cli_opt opts[] = {{"worker", &url, NULL}, {NULL, NULL, NULL}};
	struct cli_http_reply rep;
	char err[512];
	if (!cli_parse(ctx, opts, argc, argv, NULL, 0, 0))
		return CLI_EXIT_USAGE;
	url = url ? url : CLI_WORKER_URL;
	if (!cli_http(url, "/status", NULL, 0, &rep, err, sizeof(err)))
		return cli_fail("%s", err);
	json_t *st =
	    rep.status == 200 ? json_loadb((const char *)rep.body, rep.len, 0, NULL) : NULL;
	free(rep.body);
	if (!st)
		return cli_fail("worker at %s answered /status with HTTP %ld", url, rep.status);
	if (ctx->json)
		return cli_emit_json(st);
	char cls[24];
	cli_kv("identity", "%s", cli_json_str(st, "identity"));
	cli_kv("backend", "%s%s", cli_json_str(st, "backend"),
	       json_is_true(json_object_get(st, "hardware_protected"))
	           ? ""
	           : " (NOT hardware-protected)");
	cli_kv("synced", "%lld of %lld",
	       (long long)json_integer_value(json_object_get(st, "synced_height")),
	       (long long)json_integer_value(json_object_get(st, "node_height")));
	cli_kv("registration", "%s", cli_json_str(st, "registration"));
	cli_kv("gatekeeper", "%s", json_is_true(json_object_get(st, "gatekeeper")) ? "yes" : "no");
	cli_kv("cluster", "%s", cluster_str(cls, json_object_get(st, "cluster")));
	cli_kv("contracts", "%lld",
	       (long long)json_integer_value(json_object_get(st, "contracts")));
	cli_kv("checkpoint", "block %lld",
	       (long long)json_integer_value(json_object_get(st, "checkpoint_height")));
	if (*cli_json_str(st, "last_error") && strcmp(cli_json_str(st, "last_error"), "?"))
		cli_kv("last error", "%s", cli_json_str(st, "last_error"));
	json_decref(st);
	return CLI_EXIT_OK;
}

int cmd_worker(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_opt none[] = {{NULL, NULL, NULL}};
	const char *pos[1];
	if (argc < 2 || strncmp(argv[1], "--", 2) == 0)
		return worker_run_cmd(ctx, argc, argv);
	if (strcmp(argv[1], "status") == 0)
		return worker_status_cmd(ctx, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cli_parse(ctx, none, argc - 1, argv + 1, pos, 0, 0) ? worker_list(ctx)
		                                                           : CLI_EXIT_USAGE;
	if (strcmp(argv[1], "show") == 0)
		return cli_parse(ctx, none, argc - 1, argv + 1, pos, 1, 1)
		           ? worker_show(ctx, pos[0])
		           : CLI_EXIT_USAGE;
	return cli_usage_fail(ctx, "unknown subcommand '%s'", argv[1]);
}
