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
#include "crypto/devkeys.h"
#include "crypto/keystore.h"
#include "crypto/sig.h"

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
}

static enum node_result fail(char *err, size_t errlen, enum node_result r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum node_result fail(char *err, size_t errlen, enum node_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static int reader_get(void *ctx, const uint8_t *key, size_t klen, const uint8_t **val, size_t *vlen)
{
	struct node_reader_ctx *c = ctx;
	MDB_val v;
	enum smt_result r = smt_get(c->smt, c->txn, key, klen, &v);
	if (r == SMT_NOT_FOUND)
		return 0;
	if (r != SMT_OK)
		return -1;
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 1;
}

void node_reader(struct state_reader *out, struct node_reader_ctx *ctx)
{
	out->ctx = ctx;
	out->get = reader_get;
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
	out->pool_ready = ms.ready_txs;
	out->pool_future = ms.future_txs;
	out->pool_bytes = ms.ready_bytes + ms.future_bytes;
	out->db_bytes = bstore_disk_bytes(n->store);
}

uint16_t node_rpc_port(const struct node *n)
{
	return rpc_server_port(n->rpc);
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
			return fail(err, errlen, NODE_BAD_GENESIS,
			            "cannot read genesis file %s: %s", n->cfg.genesis_path,
			            strerror(errno));
	}
	if (!json)
		return fail(err, errlen, NODE_NOMEM, "out of memory building the dev genesis");
	enum genesis_result gr = genesis_parse(g, json, len, gerr, sizeof(gerr));
	free(json);
	if (gr != GENESIS_OK)
		return fail(err, errlen, NODE_BAD_GENESIS, "invalid genesis %s: %s",
		            n->cfg.dev ? "(dev)" : n->cfg.genesis_path, gerr);
	return NODE_OK;
}

/* Writes the genesis state as version 0 of the tree and records the chain's identity. */
static enum node_result init_chain(struct node *n, const struct genesis *g, MDB_txn *txn, char *err,
                                   size_t errlen)
{
	struct node_reader_ctx rc = {n->smt, txn};
	struct state_reader rd;
	struct state_overlay ov;
	const struct kv_write *w;
	size_t nw = 0;
	uint8_t root[32];
	enum node_result ret = NODE_STORE;
	node_reader(&rd, &rc);
	state_overlay_init(&ov, &rd, NULL);
	if (genesis_build_state(g, &ov) != STATE_OK ||
	    state_overlay_export(&ov, &w, &nw) != STATE_OK) {
		ret = fail(err, errlen, NODE_NOMEM, "cannot build the genesis state");
		goto out;
	}
	enum smt_result sr = smt_apply(n->smt, txn, 0, w, nw, root);
	if (sr != SMT_OK) {
		ret = fail(err, errlen, NODE_STORE, "cannot write the genesis state: %s",
		           smt_strerror(sr));
		goto out;
	}
	struct enc e;
	enc_init(&e, VALSET_MAX_BYTES);
	valset_encode(&e, &n->valset);
	bool ok =
	    enc_finish(&e) == CODEC_OK &&
	    bstore_meta_put(n->store, txn, "genesis_hash", n->params.chain_id, 32) == BSTORE_OK &&
	    bstore_meta_put(n->store, txn, "valset", e.buf, e.len) == BSTORE_OK;
	enc_release(&e);
	ret = ok ? NODE_OK : fail(err, errlen, NODE_STORE, "cannot record the chain identity");
	log_info("node", "initialised chain %s: %zu genesis state entries", n->chain_name, nw);
out:
	state_overlay_release(&ov);
	return ret;
}

/* Checks that the stored chain is this genesis's, or initialises it on first start. */
static enum node_result open_chain(struct node *n, const struct genesis *g, char *err,
                                   size_t errlen)
{
	MDB_txn *txn;
	MDB_val v;
	enum node_result ret = NODE_STORE;
	if (bstore_begin(n->store, true, &txn) != BSTORE_OK)
		return fail(err, errlen, NODE_STORE, "cannot begin a database transaction");
	struct smt_config sc = {.keep_versions = n->cfg.state_keep_versions};
	enum smt_result sr = smt_open(&n->smt, txn, &sc);
	if (sr != SMT_OK) {
		ret = fail(err, errlen, NODE_STORE, "cannot open the state tree: %s",
		           smt_strerror(sr));
		goto abort;
	}
	enum bstore_result br = bstore_meta_get(n->store, txn, "genesis_hash", &v);
	if (br == BSTORE_NOT_FOUND) {
		ret = init_chain(n, g, txn, err, errlen);
	} else if (br == BSTORE_OK && v.mv_size == 32 &&
	           memcmp(v.mv_data, n->params.chain_id, 32) == 0) {
		ret = NODE_OK;
	} else {
		char have[65] = "?";
		if (br == BSTORE_OK && v.mv_size == 32)
			sodium_bin2hex(have, sizeof(have), v.mv_data, 32);
		ret = fail(err, errlen, NODE_WRONG_CHAIN,
		           "data directory %s holds chain %s, not this genesis; use another --data",
		           n->data_dir, have);
	}
	if (ret != NODE_OK)
		goto abort;
	if (bstore_commit(n->store, txn) != BSTORE_OK)
		return fail(err, errlen, NODE_STORE, "cannot commit the chain identity");
	return NODE_OK;
abort:
	bstore_abort(txn);
	return ret;
}

/* Reads the head, its state root and the last commit (for the next block's last_commit). */
static enum node_result load_head(struct node *n, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_val blk, com;
	uint64_t version;
	enum node_result ret = NODE_STORE;
	if (bstore_begin(n->store, false, &txn) != BSTORE_OK)
		return fail(err, errlen, NODE_STORE, "cannot begin a read transaction");
	if (bstore_head(n->store, txn, &n->head.height, n->head.hash) != BSTORE_OK ||
	    smt_root(n->smt, txn, &version, n->head.state_root) != SMT_OK) {
		ret = fail(err, errlen, NODE_STORE, "cannot read the chain head");
		goto out;
	}
	if (version != n->head.height) {
		ret = fail(err, errlen, NODE_STORE, "state version %llu does not match head %llu",
		           (unsigned long long)version, (unsigned long long)n->head.height);
		goto out;
	}
	if (n->head.height > 0) {
		struct header h;
		if (bstore_get_block(n->store, txn, n->head.height, &blk, &com) != BSTORE_OK ||
		    blk.mv_size < HEADER_LEN ||
		    header_decode(&h, blk.mv_data, HEADER_LEN) != BLOCK_OK ||
		    commit_decode(&n->last_commit, com.mv_data, com.mv_size) != BLOCK_OK) {
			ret = fail(err, errlen, NODE_STORE, "stored head block is unreadable");
			goto out;
		}
		n->head.time_ms = h.time_ms;
		n->has_last_commit = true;
	}
	ret = NODE_OK;
out:
	bstore_abort(txn);
	return ret;
}

/* Reads the validator's seed from its keystore file (non-dev chains). */
static enum node_result read_validator_seed(struct node *n, uint8_t seed[32], char *err,
                                            size_t errlen)
{
	char *doc = NULL;
	size_t len = 0;
	uint8_t pk[32];
	const char *pw = n->cfg.validator_password ? n->cfg.validator_password : "";
	if (!n->cfg.validator_key)
		return fail(err, errlen, NODE_BAD_CONFIG,
		            "--validator-key FILE is required without "
		            "--dev");
	enum keystore_result kr = keystore_read_file(n->cfg.validator_key, &doc, &len);
	if (kr == KEYSTORE_OK)
		kr = keystore_open(seed, pk, NULL, doc, len, pw, strlen(pw), NULL);
	free(doc);
	if (kr != KEYSTORE_OK)
		return fail(err, errlen, NODE_KEY, "cannot load validator key %s: %s",
		            n->cfg.validator_key, keystore_strerror(kr));
	return NODE_OK;
}

static enum node_result load_validator_key(struct node *n, char *err, size_t errlen)
{
	uint8_t seed[32];
	enum node_result ret = NODE_KEY;
	n->validator_sk = sodium_malloc(64);
	if (!n->validator_sk)
		return fail(err, errlen, NODE_NOMEM, "cannot allocate guarded memory for the key");
	if (n->cfg.dev)
		ret = devkeys_seed("alice", seed) ? NODE_OK : NODE_KEY;
	else
		ret = read_validator_seed(n, seed, err, errlen);
	if (ret != NODE_OK)
		goto out;
	sig_keypair_from_seed(n->validator_pk, n->validator_sk, seed);
	sodium_mprotect_readonly(n->validator_sk);
	if (!valset_find(&n->valset, n->validator_pk, &n->validator_index))
		ret = fail(err, errlen, NODE_KEY,
		           "the validator key is not in the genesis validator "
		           "set");
out:
	sodium_memzero(seed, sizeof(seed));
	return ret;
}

static enum node_result setup_identity(struct node *n, const struct genesis *g, char *err,
                                       size_t errlen)
{
	genesis_params(&n->params, g);
	if (g->n_validators > VALSET_MAX)
		return fail(err, errlen, NODE_BAD_GENESIS, "more than %d validators", VALSET_MAX);
	n->valset.n = g->n_validators;
	for (size_t i = 0; i < g->n_validators; i++) {
		memcpy(n->valset.v[i].pub_key, g->validators[i].public_key, 32);
		n->valset.v[i].power = g->validators[i].power;
	}
	if (valset_check(&n->valset) != BLOCK_OK)
		return fail(err, errlen, NODE_BAD_GENESIS, "invalid genesis validator set");
	valset_hash(n->valset_hash, &n->valset);
	snprintf(n->chain_name, sizeof(n->chain_name), "%s", g->chain_name);
	snprintf(n->token_symbol, sizeof(n->token_symbol), "%s", g->token_symbol);
	n->token_decimals = g->token_decimals;
	n->block_time_ms = n->cfg.block_time_ms ? n->cfg.block_time_ms : n->params.block_time_ms;
	return NODE_OK;
}

static enum node_result open_all(struct node *n, char *err, size_t errlen)
{
	struct genesis g;
	struct bstore_config bc;
	enum node_result ret = load_genesis(n, &g, err, errlen);
	if (ret != NODE_OK)
		return ret;
	ret = setup_identity(n, &g, err, errlen);
	if (ret == NODE_OK)
		ret = load_validator_key(n, err, errlen);
	if (ret != NODE_OK)
		goto out;
	bstore_config_default(&bc);
	bc.map_size = n->cfg.map_size;
	enum bstore_result br = bstore_open(&n->store, n->data_dir, &bc);
	if (br != BSTORE_OK) {
		ret = fail(err, errlen, NODE_STORE, "cannot open the database in %s: %s",
		           n->data_dir, bstore_strerror(br));
		goto out;
	}
	ret = open_chain(n, &g, err, errlen);
	if (ret == NODE_OK)
		ret = load_head(n, err, errlen);
out:
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
	n->reap_buf = malloc(n->cfg.max_block_bytes);
	n->reap_items = calloc(n->cfg.max_block_txs, sizeof(*n->reap_items));
	if (!n->reap_buf || !n->reap_items || mempool_new(&n->pool, &mc) != MEMPOOL_OK)
		return fail(err, errlen, NODE_NOMEM, "cannot allocate the transaction pool");
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
		return fail(err, errlen, NODE_NOMEM, "cannot initialise libsodium");
	}
	if (!n)
		return fail(err, errlen, NODE_NOMEM, "out of memory");
	n->cfg = *cfg;
	n->stop_pipe[0] = n->stop_pipe[1] = -1;
	pthread_mutex_init(&n->head_lock, NULL);
	snprintf(n->data_dir, sizeof(n->data_dir), "%s", cfg->data_dir ? cfg->data_dir : "");
	if (!cfg->data_dir || !*cfg->data_dir || cfg->max_block_txs == 0 ||
	    cfg->state_keep_versions == 0 || cfg->max_block_bytes < 1024 ||
	    cfg->max_block_bytes > BLOCK_MAX_BYTES - 64 * 1024) {
		ret = fail(err, errlen, NODE_BAD_CONFIG,
		           "invalid node configuration (data dir, "
		           "block caps)");
		goto fail;
	}
	if (pipe2(n->stop_pipe, O_CLOEXEC) != 0) {
		ret = fail(err, errlen, NODE_NOMEM, "pipe: %s", strerror(errno));
		goto fail;
	}
	ret = open_all(n, err, errlen);
	if (ret == NODE_OK)
		ret = start_pool(n, err, errlen);
	if (ret == NODE_OK && !(n->par = node_par_new(cpu_count() - 1)))
		ret = fail(err, errlen, NODE_NOMEM, "cannot start the admission workers");
	if (ret == NODE_OK)
		ret = node_rpc_start(n, err, errlen);
	if (ret != NODE_OK)
		goto fail;
	if (pthread_create(&n->producer, NULL, node_producer_main, n) != 0) {
		ret = fail(err, errlen, NODE_NOMEM, "cannot start the block producer");
		goto fail;
	}
	n->producer_running = true;
	pthread_setname_np(n->producer, "tn-producer");
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
	if (n->producer_running) {
		node_request_stop(n);
		pthread_join(n->producer, NULL);
	}
	rpc_server_free(n->rpc);
	node_par_free(n->par);
	mempool_free(n->pool);
	smt_free(n->smt);
	bstore_free(n->store);
	if (n->validator_sk)
		sodium_free(n->validator_sk); /* sodium_free wipes before unmapping */
	free(n->reap_buf);
	free(n->reap_items);
	for (int i = 0; i < 2; i++)
		if (n->stop_pipe[i] >= 0)
			close(n->stop_pipe[i]);
	pthread_mutex_destroy(&n->head_lock);
	free(n);
}
