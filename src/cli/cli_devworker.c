/*
 * The worker `tenebra dev` runs next to its node (cmd_worker.h cmd_dev_worker_start): in this
 * process, data in DIR/worker, operator ferdie (so its transactions never race alice's), the dev
 * sim attestation key. A background thread then uses alice, the dev chain's sudo, to make it
 * the gatekeeper of cluster 0: add_gatekeeper, create_cluster 0, assign_worker; then alice
 * deploys the dark wallet's contracts in cluster 0 (Balances, then Assets with Balances' id and a
 * fee of 1 PHA as arguments). Each step only if the chain does not show it done already, so a
 * restarted dev network does nothing twice.
 */
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/hex.h"
#include "base/log.h"
#include "chain/attest.h"
#include "chain/contracts.h"
#include "chain/registry.h"
#include "cli/cli_int.h"
#include "cli/cmd_worker.h"
#include "contracts/assets/assets.h"
#include "contracts/balances/balances.h"
#include "crypto/devkeys.h"
#include "node/node.h"
#include "worker/worker.h"

#define DEV_OPERATOR      "ferdie"
#define DEV_SUDO          "alice"
#define DEV_CLUSTER       0
#define DEV_FEE           AMOUNT_ONE_PHA /* Assets' issuing fee */
#define DEV_RPC_NOT_FOUND (-32011)       /* the node's "not found" error (docs/rpc.md) */

struct dev_worker {
	struct worker *w;
	struct rpc_client rpc; /* the worker's (sync thread) */
	struct cli_ctx ctx;    /* for the governance thread's calls (its own clients) */
	char url[64];
	char data[PATH_MAX];
	pthread_t gov;
	bool gov_running;
	atomic_bool stop;
};

/* One call from alice, waited for; tried again (up to three times) if it is refused, as when a
 * user's transaction from alice took the same nonce at the same moment. */
static bool dev_alice(struct dev_worker *d, uint8_t module, uint8_t fn, const uint8_t *payload,
                      size_t len)
{
	const struct timespec pause = {1, 0};
	int r = CLI_EXIT_FAIL;
	for (int attempt = 0; attempt < 3 && r != CLI_EXIT_OK && !atomic_load(&d->stop);
	     attempt++) {
		struct cli_tx t;
		json_t *st = NULL;
		if (attempt)
			nanosleep(&pause, NULL);
		r = cli_tx_open(&d->ctx, &t, DEV_SUDO);
		if (r == CLI_EXIT_OK)
			r = cli_tx_send(&t, module, fn, payload, len, &st);
		cli_tx_close(&t);
		json_decref(st);
	}
	return r == CLI_EXIT_OK;
}

/* The chain's view of our worker: gatekeeper, cluster (-1 none), or false if unreadable. */
static bool dev_view(struct dev_worker *d, const char *id, bool *gk, long long *cluster,
                     bool *cluster0)
{
	json_t *w = NULL, *info = NULL;
	bool ok =
	    cli_call(&d->ctx, "worker_get", json_pack("[s]", id), &w) == CLI_EXIT_OK &&
	    cli_call(&d->ctx, "registry_info", json_pack("[i]", DEV_CLUSTER), &info) == CLI_EXIT_OK;
	if (ok) {
		json_t *cl = json_object_get(w, "cluster");
		*gk = json_is_true(json_object_get(w, "gatekeeper"));
		*cluster = json_is_integer(cl) ? (long long)json_integer_value(cl) : -1;
		*cluster0 = json_is_object(json_object_get(info, "cluster"));
	}
	json_decref(w);
	json_decref(info);
	return ok;
}

static bool dev_sudo(struct dev_worker *d, uint8_t fn, const uint8_t *payload, size_t len)
{
	return dev_alice(d, RUNTIME_MODULE_REGISTRY, fn, payload, len);
}

/* The id of alice's deployment of code in the dev cluster (salt ""). */
static void dev_contract_id(uint8_t id[32], const char *code)
{
	uint8_t pk[32], sk[64];
	bool ok = devkeys_keypair(DEV_SUDO, pk, sk);
	assert(ok); /* a built-in dev name */
	(void)ok;
	sodium_memzero(sk, sizeof(sk));
	contracts_id(id, pk, DEV_CLUSTER, code, NULL, 0);
}

/* 1 deployed, 0 not, -1 the node cannot tell. */
static int dev_deployed(struct dev_worker *d, const uint8_t id[32])
{
	struct rpc_client c;
	json_t *res = NULL;
	char hex[65];
	int out = -1;
	if (rpc_client_init(&c, d->url, RPC_DEFAULT_TIMEOUT_MS) == RPC_OK) {
		enum rpc_result r =
		    rpc_call(&c, "contract_get", json_pack("[s]", hex_encode(hex, id, 32)), &res);
		out = r == RPC_OK ? 1 : r == RPC_ERROR && c.code == DEV_RPC_NOT_FOUND ? 0 : -1;
	}
	json_decref(res);
	rpc_client_release(&c);
	return out;
}

/* alice deploys code (with args) in the dev cluster unless it is there already. */
static bool dev_deploy(struct dev_worker *d, const char *code, const uint8_t *args, size_t len)
{
	uint8_t id[32], buf[64 + CONTRACTS_CODE_MAX + ASSETS_ARGS_LEN];
	char hex[65];
	struct enc e;
	dev_contract_id(id, code);
	int have = dev_deployed(d, id);
	if (have < 0)
		return false;
	enc_init_fixed(&e, buf, sizeof(buf));
	contracts_deploy_payload(&e, DEV_CLUSTER, code, NULL, 0, args, len);
	if (!have && (enc_finish(&e) != CODEC_OK ||
	              !dev_alice(d, RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, e.buf, e.len)))
		return false;
	log_info("dev", "%s contract %s (cluster %d)%s", code, hex_encode(hex, id, 32), DEV_CLUSTER,
	         have ? "" : ": deployed by alice");
	return true;
}

/* The dark wallet: Balances, then Assets configured with Balances' id and the fee. */
static void dev_deploy_wallet(struct dev_worker *d)
{
	uint8_t args[ASSETS_ARGS_LEN], balances[32];
	struct enc e;
	dev_contract_id(balances, BALANCES_CODE_NAME);
	enc_init_fixed(&e, args, sizeof(args));
	enc_raw(&e, balances, 32);
	enc_u128(&e, DEV_FEE);
	if (dev_deploy(d, BALANCES_CODE_NAME, NULL, 0))
		dev_deploy(d, ASSETS_CODE_NAME, args, sizeof(args));
}

static void dev_govern(struct dev_worker *d, const uint8_t id[32])
{
	char hexid[65];
	bool gk, c0;
	long long cluster;
	uint8_t p[36];
	hex_encode(hexid, id, 32);
	if (!dev_view(d, hexid, &gk, &cluster, &c0))
		return;
	struct enc e;
	if (!gk && !dev_sudo(d, REGISTRY_FN_ADD_GATEKEEPER, id, 32))
		return;
	enc_init_fixed(&e, p, sizeof(p));
	enc_u32(&e, DEV_CLUSTER);
	if (!c0 && !dev_sudo(d, REGISTRY_FN_CREATE_CLUSTER, p, e.len))
		return;
	enc_init_fixed(&e, p, sizeof(p));
	enc_raw(&e, id, 32);
	enc_u32(&e, DEV_CLUSTER);
	if (cluster != DEV_CLUSTER && !dev_sudo(d, REGISTRY_FN_ASSIGN_WORKER, p, e.len))
		return;
	log_info("dev", "worker %.16s... is the gatekeeper of cluster %d", hexid, DEV_CLUSTER);
	dev_deploy_wallet(d);
}

static void *dev_gov_main(void *arg)
{
	struct dev_worker *d = arg;
	struct worker_status st;
	const struct timespec pause = {0, 200 * 1000000L};
	for (;;) { /* registration first: the registry refuses unregistered workers */
		if (atomic_load(&d->stop))
			return NULL;
		worker_status(d->w, &st);
		if (st.registered)
			break;
		nanosleep(&pause, NULL);
	}
	dev_govern(d, st.enclave.identity);
	return NULL;
}

static bool dev_config(struct dev_worker *d, struct cli_ctx *ctx,
                       const struct cmd_dev_worker_opts *opts, struct worker_config *cfg)
{
	uint8_t pk[32];
	worker_config_default(cfg);
	cfg->data_dir = d->data;
	cfg->codes = ctx->codes;
	cfg->n_codes = ctx->n_codes;
	cfg->node = cli_worker_node(&d->rpc);
	if (opts && opts->host[0]) {
		cfg->listen_host = opts->host;
		cfg->listen_port = opts->port;
	}
	if (opts && opts->poll_ms)
		cfg->poll_ms = opts->poll_ms;
	attest_dev_sim_keypair(cfg->attest_pk, cfg->attest_sk);
	return devkeys_keypair(DEV_OPERATOR, pk, cfg->operator_sk);
}

struct dev_worker *cmd_dev_worker_start(struct cli_ctx *ctx, struct node *n, const char *dir,
                                        const struct cmd_dev_worker_opts *opts)
{
	struct worker_config cfg;
	char err[512] = "";
	struct dev_worker *d = calloc(1, sizeof(*d));
	if (!d)
		return cli_fail("out of memory"), NULL;
	snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%u", node_rpc_port(n));
	snprintf(d->data, sizeof(d->data), "%s/worker", dir);
	d->ctx = *ctx;
	d->ctx.rpc_url = d->url;
	d->ctx.json = false;
	enum worker_result r = WORKER_NOMEM;
	if (rpc_client_init(&d->rpc, d->url, 30000) == RPC_OK && dev_config(d, ctx, opts, &cfg))
		r = worker_start(&d->w, &cfg, err, sizeof(err));
	sodium_memzero(&cfg, sizeof(cfg));
	if (r != WORKER_OK) {
		cli_fail("dev worker: %s", err[0] ? err : worker_strerror(r));
		cmd_dev_worker_stop(d);
		return NULL;
	}
	d->gov_running = pthread_create(&d->gov, NULL, dev_gov_main, d) == 0;
	return d;
}

struct worker *cmd_dev_worker_worker(const struct dev_worker *d)
{
	return d->w;
}

void cmd_dev_worker_describe(const struct dev_worker *d)
{
	uint8_t id[32];
	char hex[65];
	printf("  worker        http://127.0.0.1:%u/status   (sim backend: NOT hardware-protected; "
	       "gatekeeper of cluster %d)\n",
	       worker_port(d->w), DEV_CLUSTER);
	dev_contract_id(id, BALANCES_CODE_NAME);
	printf("  dark wallet   balances %s   (secret PHA)\n", hex_encode(hex, id, 32));
	dev_contract_id(id, ASSETS_CODE_NAME);
	printf("                assets   %s   (secret tokens, fee 1 PHA)\n",
	       hex_encode(hex, id, 32));
	printf("                deployed by alice in cluster %d; try: tenebra dark deposit --from "
	       "alice 10\n",
	       DEV_CLUSTER);
}

void cmd_dev_worker_stop(struct dev_worker *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	if (d->gov_running)
		pthread_join(d->gov, NULL);
	worker_free(d->w);
	rpc_client_release(&d->rpc);
	free(d);
}
