#include "node/node_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "chain/genesis.h"

const char *node_strerror(enum node_result r)
{
	switch (r) {
	case NODE_OK:
		return "ok";
	case NODE_BAD_CONFIG:
		return "invalid configuration";
	case NODE_BAD_GENESIS:
		return "invalid genesis";
	case NODE_WRONG_CHAIN:
		return "data directory belongs to another chain";
	case NODE_STORE:
		return "database error";
	case NODE_KEY:
		return "validator key error";
	case NODE_RPC:
		return "RPC server error";
	case NODE_NOMEM:
		return "out of memory";
	}
	return "unknown node error";
}

void node_config_default(struct node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rpc_host = "127.0.0.1";
	cfg->rpc_port = 9944;
	cfg->max_block_txs = 20000;
	cfg->max_block_bytes = BLOCK_MAX_BYTES - 64 * 1024;
	cfg->map_size = (size_t)64 << 30;
	cfg->state_keep_versions = 64;
	cfg->prune_per_block = 65536;
	cfg->timeouts = (struct cons_timeouts){.propose_ms = 1000,
	                                       .propose_delta_ms = 500,
	                                       .prevote_ms = 500,
	                                       .prevote_delta_ms = 250,
	                                       .precommit_ms = 500,
	                                       .precommit_delta_ms = 250};
}

void node_head_get(struct node *n, struct node_head *out)
{
	pthread_mutex_lock(&n->head_lock);
	*out = n->head;
	pthread_mutex_unlock(&n->head_lock);
}

uint64_t node_height(struct node *n)
{
	struct node_head h;
	node_head_get(n, &h);
	return h.height;
}

void node_stats(struct node *n, struct node_stats *out)
{
	struct mempool_stats ms;
	mempool_stats(n->pool, &ms);
	out->height = node_height(n);
	out->blocks = atomic_load(&n->m.blocks);
	out->txs_applied = atomic_load(&n->m.txs_applied);
	out->txs_failed = atomic_load(&n->m.txs_failed);
	out->txs_skipped = atomic_load(&n->m.txs_skipped);
	out->txs_accepted = atomic_load(&n->m.txs_accepted);
	out->txs_rejected = atomic_load(&n->m.txs_rejected);
	out->last_block_us = atomic_load(&n->m.last_block_us);
	out->block_us_total = atomic_load(&n->m.block_us_total);
	out->last_block_txs = atomic_load(&n->m.last_block_txs);
	out->rounds_extra = atomic_load(&n->m.rounds_extra);
	out->pool_ready = ms.ready_txs;
	out->pool_future = ms.future_txs;
	out->pool_bytes = ms.ready_bytes + ms.future_bytes;
	out->db_bytes = bstore_disk_bytes(n->chain.store);
}

uint16_t node_rpc_port(const struct node *n)
{
	return rpc_server_port(n->rpc);
}

enum node_result node_fail(char *err, size_t errlen, enum node_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static char *read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (!f)
		return NULL;
	buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (buf && *len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

static enum node_result load_genesis(struct node *n, struct genesis *g, char *err, size_t errlen)
{
	char gerr[256] = "";
	size_t len = 0;
	char *json;
	if (n->cfg.dev) {
		/* One dev genesis for every block time, so every dev chain has the same id. */
		json = genesis_dev_json(1000);
		len = json ? strlen(json) : 0;
	} else {
		json = read_file(n->cfg.genesis_path, GENESIS_MAX_JSON, &len);
		if (!json)
			return node_fail(err, errlen, NODE_BAD_GENESIS,
			                 "cannot read genesis file %s: %s", n->cfg.genesis_path,
			                 strerror(errno));
	}
	if (!json)
		return node_fail(err, errlen, NODE_NOMEM, "out of memory building the dev genesis");
	enum genesis_result gr = genesis_parse(g, json, len, gerr, sizeof(gerr));
	free(json);
	if (gr != GENESIS_OK)
		return node_fail(err, errlen, NODE_BAD_GENESIS, "invalid genesis %s: %s",
		                 n->cfg.dev ? "(dev)" : n->cfg.genesis_path, gerr);
	return NODE_OK;
}

static void setup_identity(struct node *n, const struct genesis *g)
{
	snprintf(n->chain_name, sizeof(n->chain_name), "%s", g->chain_name);
	snprintf(n->token_symbol, sizeof(n->token_symbol), "%s", g->token_symbol);
	n->token_decimals = g->token_decimals;
	n->block_time_ms =
	    n->cfg.block_time_ms ? n->cfg.block_time_ms : n->chain.params.block_time_ms;
}

/* Publishes the chain's committed head to the RPC threads. */
void node_head_publish(struct node *n)
{
	pthread_mutex_lock(&n->head_lock);
	n->head.height = n->chain.head.height;
	n->head.time_ms = n->chain.head.time_ms;
	memcpy(n->head.hash, n->chain.head.hash, 32);
	memcpy(n->head.state_root, n->chain.head.state_root, 32);
	n->head_set = n->chain.head.next;
	pthread_mutex_unlock(&n->head_lock);
}

void node_head_set_get(struct node *n, struct valset *out)
{
	pthread_mutex_lock(&n->head_lock);
	*out = n->head_set;
	pthread_mutex_unlock(&n->head_lock);
}

static enum node_result open_all(struct node *n, char *err, size_t errlen)
{
	struct genesis g;
	struct node_chain_config cc = {
	    .dir = n->data_dir,
	    .map_size = n->cfg.map_size,
	    .keep_versions = n->cfg.state_keep_versions,
	    .prune_per_block = n->cfg.prune_per_block,
	    .max_block_txs = n->cfg.max_block_txs,
	    .max_block_bytes = n->cfg.max_block_bytes,
	};
	enum node_result ret = load_genesis(n, &g, err, errlen);
	if (ret != NODE_OK)
		return ret;
	ret = node_chain_open(&n->chain, &cc, &g, err, errlen);
	if (ret == NODE_OK) {
		setup_identity(n, &g);
		node_head_publish(n);
		ret = node_keys_load(n, err, errlen);
	}
	genesis_release(&g);
	return ret;
}

static size_t cpu_count(void)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (size_t)c : 1;
}

static enum node_result start_pool(struct node *n, char *err, size_t errlen)
{
	struct mempool_config mc;
	mempool_config_default(&mc);
	if (n->cfg.pool_ready_txs) {
		/* Keep the default bytes per slot (20 MiB / 8192 = 2.5 KiB) as the count grows. */
		mc.ready_max_bytes = mc.ready_max_bytes / mc.ready_max_txs * n->cfg.pool_ready_txs;
		mc.ready_max_txs = n->cfg.pool_ready_txs;
	}
	if (mempool_new(&n->pool, &mc) != MEMPOOL_OK)
		return node_fail(err, errlen, NODE_NOMEM, "cannot allocate the transaction pool");
	n->chain.pool = n->pool;
	node_pool_refresh(n, n->head.height + 1);
	return NODE_OK;
}

enum node_result node_start(struct node **out, const struct node_config *cfg, char *err,
                            size_t errlen)
{
	enum node_result ret;
	struct node *n = calloc(1, sizeof(*n));
	*out = NULL;
	if (sodium_init() < 0) {
		free(n);
		return node_fail(err, errlen, NODE_NOMEM, "cannot initialise libsodium");
	}
	if (!n)
		return node_fail(err, errlen, NODE_NOMEM, "out of memory");
	n->cfg = *cfg;
	n->stop_pipe[0] = n->stop_pipe[1] = -1;
	pthread_mutex_init(&n->head_lock, NULL);
	pthread_mutex_init(&n->status_lock, NULL);
	snprintf(n->data_dir, sizeof(n->data_dir), "%s", cfg->data_dir ? cfg->data_dir : "");
	if (!cfg->data_dir || !*cfg->data_dir || cfg->max_block_txs == 0 ||
	    cfg->state_keep_versions == 0 || cfg->max_block_bytes < 1024 ||
	    cfg->max_block_bytes > BLOCK_MAX_BYTES - 64 * 1024) {
		ret = node_fail(err, errlen, NODE_BAD_CONFIG,
		                "invalid node configuration (data dir, "
		                "block caps)");
		goto fail;
	}
	if (pipe2(n->stop_pipe, O_CLOEXEC) != 0) {
		ret = node_fail(err, errlen, NODE_NOMEM, "pipe: %s", strerror(errno));
		goto fail;
	}
	ret = open_all(n, err, errlen);
	if (ret == NODE_OK)
		ret = start_pool(n, err, errlen);
	/* Two pools: checking a proposal's signatures must never wait behind a bulk admission. */
	if (ret == NODE_OK && (!(n->par = node_par_new(cpu_count() - 1)) ||
	                       !(n->chain.par = node_par_new(cpu_count() - 1))))
		ret = node_fail(err, errlen, NODE_NOMEM, "cannot start the worker threads");
	if (ret == NODE_OK)
		ret = node_engine_open(n, err, errlen);
	if (ret == NODE_OK)
		ret = node_rpc_start(n, err, errlen);
	if (ret == NODE_OK)
		ret = node_net_start(n, err, errlen);
	if (ret == NODE_OK)
		ret = node_threads_start(n, err, errlen);
	if (ret != NODE_OK)
		goto fail;
	*out = n;
	return NODE_OK;
fail:
	node_free(n);
	return ret;
}

void node_request_stop(struct node *n)
{
	if (atomic_exchange(&n->stopping, true))
		return;
	ssize_t w = write(n->stop_pipe[1], "x", 1);
	(void)w;
}

bool node_failed(struct node *n)
{
	return atomic_load(&n->failed);
}

void node_wait(struct node *n)
{
	struct pollfd p = {n->stop_pipe[0], POLLIN, 0};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	/* Every thread first, then the memory: the engine publishes head events to the RPC
	 * server's SSE channel and broadcasts on p2p, RPC handlers admit txs into the gossip queue
	 * and run on node_par, and p2p callbacks push into the engine's inboxes. */
	node_request_stop(n);
	if (n->rpc)
		rpc_server_stop(n->rpc); /* no handler runs after this; publishing is a no-op */
	node_threads_stop(n);
	p2p_free(n->p2p); /* no callback runs after this */
	n->p2p = NULL;
	rpc_server_free(n->rpc);
	node_engine_close(n);
	node_par_free(n->par);
	node_par_free(n->chain.par);
	mempool_free(n->pool);
	node_chain_close(&n->chain);
	if (n->validator_sk)
		sodium_free(n->validator_sk); /* sodium_free wipes before unmapping */
	if (n->node_sk)
		sodium_free(n->node_sk);
	free(n->peer_buf);
	for (int i = 0; i < 2; i++)
		if (n->stop_pipe[i] >= 0)
			close(n->stop_pipe[i]);
	pthread_mutex_destroy(&n->head_lock);
	pthread_mutex_destroy(&n->status_lock);
	free(n);
}
