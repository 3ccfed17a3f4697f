/* Block feeds, genesis, registry and contracts records for workers and the CLI (node_feed.h). */
#include "node/node_feed.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/amount.h"
#include "base/hex.h"
#include "chain/contracts.h"
#include "chain/feed.h"
#include "chain/mq.h"
#include "chain/registry.h"
#include "node/node_int.h"

#define FEED_KEY_LEN (5 + 16 + 1) /* "msgs/" or "vset/", 16 hex digits, NUL */

static void feed_key(char out[FEED_KEY_LEN], const char *kind, uint64_t height)
{
	snprintf(out, FEED_KEY_LEN, "%s/%016llx", kind, (unsigned long long)height);
}

static bool changes_set(const struct header *h)
{
	return memcmp(h->next_validators_hash, h->validators_hash, 32) != 0;
}

enum bstore_result node_feed_put(struct bstore *b, MDB_txn *txn, const struct header *h,
                                 const struct valset *next, const uint8_t *msgs, size_t len)
{
	char key[FEED_KEY_LEN];
	enum bstore_result r = BSTORE_OK;
	if (len > 1 || (len == 1 && msgs[0] != 0)) { /* else no messages: nothing stored */
		feed_key(key, "msgs", h->height);
		r = bstore_meta_put(b, txn, key, msgs, len);
	}
	if (r != BSTORE_OK || !changes_set(h))
		return r;
	uint8_t buf[VALSET_MAX_BYTES];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	valset_encode(&e, next);
	enum codec_result cr = enc_finish(&e);
	assert(cr == CODEC_OK); /* VALSET_MAX_BYTES holds any set */
	(void)cr;
	feed_key(key, "vset", h->height);
	return bstore_meta_put(b, txn, key, e.buf, e.len);
}

/* ---- shared helpers ---------------------------------------------------------------------- */

static int storage_error(struct rpc_error *err)
{
	return rpc_error_set(err, RPC_STORAGE, "database read failed");
}

static int done(json_t **result, json_t *j, struct rpc_error *err)
{
	if (!j)
		return rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
	*result = j;
	return 0;
}

/* A read transaction and a state reader over it. */
struct feed_read {
	struct node_reader_ctx rc;
	struct state_reader rd;
};

static int read_begin(struct node *n, struct feed_read *fr, struct rpc_error *err)
{
	fr->rc.smt = n->chain.smt;
	if (bstore_begin(n->chain.store, false, &fr->rc.txn) != BSTORE_OK)
		return storage_error(err);
	node_reader(&fr->rd, &fr->rc);
	return 0;
}

static int param_id(json_t *params, size_t i, const char *name, uint8_t out[32],
                    struct rpc_error *err)
{
	const char *s;
	if (rpc_param_string(params, i, name, &s, err))
		return -1;
	if (!hex_decode_exact(out, 32, s))
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "param \"%s\" must be 64 hex digits", name);
	return 0;
}

/* offset and limit of a list method; limit defaults to 100, at most NODE_FEED_LIST_MAX. */
static int param_page(json_t *params, uint64_t *offset, uint64_t *limit, struct rpc_error *err)
{
	static const char *const names[] = {"offset", "limit"};
	if (rpc_params_check(params, names, 2, err) ||
	    rpc_param_u64_opt(params, 0, "offset", 0, offset, err) ||
	    rpc_param_u64_opt(params, 1, "limit", 100, limit, err))
		return -1;
	if (*limit == 0 || *limit > NODE_FEED_LIST_MAX)
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "param \"limit\" must be 1..%d",
		                     NODE_FEED_LIST_MAX);
	return 0;
}

/* ---- chain_genesis ----------------------------------------------------------------------- */

static char *read_text(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (buf && *len > max) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* The genesis text this node started from: the dev document, or the file named at start (read
 * again, and served only if it still hashes to this chain's id). */
int node_m_chain_genesis(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	size_t len = 0;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	char *text = n->cfg.dev ? genesis_dev_json(1000)
	                        : read_text(n->cfg.genesis_path, GENESIS_MAX_JSON, &len);
	if (!text)
		return rpc_error_set(err, RPC_STORAGE, "cannot read the genesis document: %s",
		                     n->cfg.dev ? "out of memory" : strerror(errno));
	len = strlen(text);
	struct genesis g;
	uint8_t id[32];
	char gerr[160];
	bool same = genesis_parse(&g, text, len, gerr, sizeof(gerr)) == GENESIS_OK;
	if (same) {
		genesis_hash(id, &g);
		genesis_release(&g);
		same = memcmp(id, n->chain.params.chain_id, 32) == 0;
	}
	json_t *j = same ? json_pack("{s:o, s:s}", "chain_id",
	                             node_json_hex(n->chain.params.chain_id, 32), "json", text)
	                 : NULL;
	free(text);
	if (!same)
		return rpc_error_set(err, RPC_STORAGE,
		                     "the genesis file changed since the node started");
	return done(result, j, err);
}

/* ---- chain_feed -------------------------------------------------------------------------- */

/* The next set recorded for block `height`, appended as bytes(valset). */
static enum node_feed_result append_next_set(struct bstore *b, MDB_txn *txn, uint64_t height,
                                             struct enc *e)
{
	char key[FEED_KEY_LEN];
	MDB_val v;
	struct valset vs;
	feed_key(key, "vset", height);
	enum bstore_result br = bstore_meta_get(b, txn, key, &v);
	if (br == BSTORE_NOT_FOUND)
		return NODE_FEED_NO_SET;
	if (br != BSTORE_OK || valset_decode(&vs, v.mv_data, v.mv_size) != BLOCK_OK)
		return NODE_FEED_STORE;
	enc_bytes(e, v.mv_data, v.mv_size);
	return NODE_FEED_OK;
}

enum node_feed_result node_feed_build(struct bstore *b, MDB_txn *txn, uint64_t height,
                                      struct enc *e)
{
	MDB_val blk, com, msgs;
	char key[FEED_KEY_LEN];
	struct header h;
	enum bstore_result br = bstore_get_block(b, txn, height, &blk, &com);
	if (br == BSTORE_NOT_FOUND)
		return NODE_FEED_NO_BLOCK;
	if (br != BSTORE_OK || blk.mv_size < HEADER_LEN ||
	    header_decode(&h, blk.mv_data, HEADER_LEN) != BLOCK_OK)
		return NODE_FEED_STORE;
	enc_raw(e, blk.mv_data, HEADER_LEN);
	enc_bytes(e, com.mv_data, com.mv_size);
	enc_bool(e, changes_set(&h));
	enum node_feed_result r =
	    changes_set(&h) ? append_next_set(b, txn, height, e) : NODE_FEED_OK;
	if (r != NODE_FEED_OK)
		return r;
	feed_key(key, "msgs", height);
	br = bstore_meta_get(b, txn, key, &msgs);
	if (br == BSTORE_NOT_FOUND)
		enc_uleb(e, 0);
	else if (br == BSTORE_OK)
		enc_raw(e, msgs.mv_data, msgs.mv_size);
	else
		return NODE_FEED_STORE;
	return enc_finish(e) == CODEC_OK ? NODE_FEED_OK : NODE_FEED_TOO_LARGE;
}

/* Where the feeds of one answer go: JSON (hex strings in an array) or a binary batch. */
struct feed_sink {
	int (*take)(struct feed_sink *k, const uint8_t *feed, size_t len); /* 0, or -1: no memory */
	json_t *arr;
	struct enc *out;
	size_t n; /* feeds taken */
};

static int take_hex(struct feed_sink *k, const uint8_t *feed, size_t len)
{
	json_t *hexj = node_json_hex(feed, len);
	return hexj && json_array_append_new(k->arr, hexj) == 0 ? 0 : -1;
}

static int take_bytes(struct feed_sink *k, const uint8_t *feed, size_t len)
{
	enc_bytes(k->out, feed, len);
	return k->out->err == CODEC_OK ? 0 : -1;
}

/* Passes the feed of `height` to k; 1 done, 0 past the head, -1 error (err set). */
static int feed_one(struct node *n, MDB_txn *txn, uint64_t height, struct feed_sink *k,
                    size_t *total, struct rpc_error *err)
{
	struct enc e;
	enc_init(&e, FEED_MAX_BYTES);
	enum node_feed_result r = node_feed_build(n->chain.store, txn, height, &e);
	int taken = r == NODE_FEED_OK ? k->take(k, e.buf, e.len) : 0;
	*total += e.len;
	enc_release(&e);
	switch (r) {
	case NODE_FEED_OK:
		break;
	case NODE_FEED_NO_BLOCK:
		return 0;
	case NODE_FEED_NO_SET:
		return rpc_error_set(err, RPC_NOT_FOUND,
		                     "no record of the validator set block %llu names (a store "
		                     "written before sets were recorded)",
		                     (unsigned long long)height);
	case NODE_FEED_STORE:
		return storage_error(err);
	case NODE_FEED_TOO_LARGE:
		return rpc_error_set(err, RPC_STORAGE, "the feed of block %llu is too large",
		                     (unsigned long long)height);
	}
	if (taken != 0)
		return rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
	k->n++;
	return 1;
}

/* Passes the feeds of from .. from+count-1 to k, stopping at the head or once
 * NODE_FEED_MAX_BYTES are out; *head gets the head. 0, or -1 with err set. */
static int feeds_collect(struct node *n, uint64_t from, uint64_t count, struct feed_sink *k,
                         uint64_t *head, struct rpc_error *err)
{
	MDB_txn *txn;
	size_t total = 0;
	int r = 0;
	if (bstore_begin(n->chain.store, false, &txn) != BSTORE_OK)
		return storage_error(err);
	if (bstore_head(n->chain.store, txn, head, NULL) != BSTORE_OK)
		r = storage_error(err);
	for (uint64_t h = from; r == 0 && h < from + count && total < NODE_FEED_MAX_BYTES; h++) {
		int one = feed_one(n, txn, h, k, &total, err);
		if (one <= 0) {
			r = one; /* 0: past the head */
			break;
		}
	}
	bstore_abort(txn);
	return r;
}

int node_m_chain_feed(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"height", "count"};
	struct node *n = app;
	uint64_t height, count, head = 0;
	if (rpc_params_check(params, names, 2, err) ||
	    rpc_param_u64(params, 0, "height", &height, err) ||
	    rpc_param_u64_opt(params, 1, "count", 1, &count, err))
		return -1;
	if (height == 0 || count == 0 || count > FEED_BATCH_MAX)
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "height must be >= 1 and count 1..%d", FEED_BATCH_MAX);
	struct feed_sink k = {.take = take_hex, .arr = json_array()};
	if (!k.arr)
		return done(result, NULL, err);
	if (feeds_collect(n, height, count, &k, &head, err) != 0) {
		json_decref(k.arr);
		return -1;
	}
	return done(result, json_pack("{s:I, s:o}", "head", (json_int_t)head, "feeds", k.arr), err);
}

void node_post_feeds(void *app, const uint8_t *body, size_t len, struct rpc_get_reply *r)
{
	struct node *n = app;
	struct rpc_error err = {0};
	uint64_t from, head = 0;
	uint16_t count;
	struct enc out, top;
	if (!feed_request_decode(body, len, &from, &count)) {
		rpc_error_set(
		    &err, RPC_CODE_INVALID_PARAMS,
		    "the body must be from u64 (>= 1) and count u16 (1..%d), little-endian",
		    FEED_BATCH_MAX);
		return rpc_get_reply_error(r, 400, err.code, err.message);
	}
	enc_init(&out, NODE_FEED_MAX_BYTES + FEED_MAX_BYTES + 16 * FEED_BATCH_MAX);
	enc_u64(&out, 0); /* head and count, filled in below */
	enc_u16(&out, 0);
	struct feed_sink k = {.take = take_bytes, .out = &out};
	if (feeds_collect(n, from, count, &k, &head, &err) != 0) {
		enc_release(&out);
		return rpc_get_reply_error(r, err.code == RPC_NOT_FOUND ? 404 : 500, err.code,
		                           err.message);
	}
	enc_init_fixed(&top, out.buf, 8 + 2);
	enc_u64(&top, head);
	enc_u16(&top, (uint16_t)k.n);
	r->content_type = "application/octet-stream";
	r->body = (char *)out.buf; /* the server frees it */
	r->len = out.len;
}

/* ---- registry ---------------------------------------------------------------------------- */

static json_t *worker_json(struct node *n, const struct registry_worker *w)
{
	const char *backend = attest_backend_name(w->backend);
	return json_pack(
	    "{s:o, s:o, s:o, s:s, s:b, s:o, s:i, s:I, s:I, s:I, s:o, s:b}", "identity",
	    node_json_hex(w->identity, 32), "hpke_pk", node_json_hex(w->hpke_pk, 32), "operator",
	    node_json_account(n, w->operator_), "backend", backend ? backend : "unknown",
	    "hardware_protected", w->backend != ATTEST_BACKEND_SIM, "measurement",
	    node_json_hex(w->measurement, 32), "confidence_level", (int)w->confidence_level,
	    "registered_height", (json_int_t)w->registered_height, "report_height",
	    (json_int_t)w->report_height, "updated_height", (json_int_t)w->updated_height,
	    "cluster", w->has_cluster ? json_integer(w->cluster) : json_null(), "gatekeeper",
	    w->is_gatekeeper);
}

int node_m_worker_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"identity"};
	struct node *n = app;
	uint8_t id[32];
	struct feed_read fr;
	struct registry_worker w;
	if (rpc_params_check(params, names, 1, err) || param_id(params, 0, "identity", id, err) ||
	    read_begin(n, &fr, err))
		return -1;
	int r = registry_worker_get(&fr.rd, id, &w);
	bstore_abort(fr.rc.txn);
	if (r < 0)
		return storage_error(err);
	if (r == 0)
		return rpc_error_set(err, RPC_NOT_FOUND, "no worker registered with this identity");
	return done(result, worker_json(n, &w), err);
}

/* ---- contracts --------------------------------------------------------------------------- */

static json_t *keys_json(const struct registry_keys *k)
{
	return json_pack("{s:i, s:o, s:o, s:I}", "epoch", (int)k->epoch, "x25519",
	                 node_json_hex(k->x25519, 32), "ed25519", node_json_hex(k->ed25519, 32),
	                 "published_height", (json_int_t)k->height);
}

/* A contract's JSON with its custody account and balance read through rd into *out (NULL when
 * out of memory). Returns -1 when rd fails, else 0. */
static int contract_json(struct node *n, const struct state_reader *rd,
                         const struct contracts_info *c, json_t **out)
{
	uint8_t custody[32];
	struct account a;
	char pha[AMOUNT_STR_MAX];
	*out = NULL;
	contracts_custody_account(custody, c->id);
	if (runtime_account_get(rd, custody, &a) < 0)
		return -1;
	*out = json_pack("{s:o, s:s, s:I, s:o, s:I, s:o, s:{s:o, s:o, s:s, s:o}}", "id",
	                 node_json_hex(c->id, 32), "code", c->code, "cluster",
	                 (json_int_t)c->cluster, "deployer", node_json_account(n, c->deployer),
	                 "deployed_height", (json_int_t)c->deployed_height, "keys",
	                 c->has_keys ? keys_json(&c->keys) : json_null(), "custody", "account",
	                 node_json_hex(custody, 32), "address", node_json_account(n, custody),
	                 "balance", amount_format_pha(pha, a.free), "balance_units",
	                 node_json_u128(a.free));
	return 0;
}

/* Appends records [offset, offset + limit) of a list read with count/at/get to arr. */
static int page_json(struct node *n, struct feed_read *fr, uint64_t offset, uint64_t limit,
                     bool workers, json_t *arr, uint32_t *total)
{
	int r = workers ? registry_worker_count(&fr->rd, total) : contracts_count(&fr->rd, total);
	if (r < 0)
		return -1;
	if (r == 0)
		*total = 0;
	for (uint64_t i = offset; i < *total && i < offset + limit; i++) {
		uint8_t id[32];
		struct registry_worker w;
		struct contracts_info c;
		json_t *j = NULL;
		if (workers) {
			if (registry_worker_at(&fr->rd, (uint32_t)i, id) != 1 ||
			    registry_worker_get(&fr->rd, id, &w) != 1)
				return -1;
			j = worker_json(n, &w);
		} else {
			if (contracts_at(&fr->rd, (uint32_t)i, id) != 1 ||
			    contracts_get(&fr->rd, id, &c) != 1 ||
			    contract_json(n, &fr->rd, &c, &j) < 0)
				return -1;
		}
		if (json_array_append_new(arr, j) != 0)
			return -1;
	}
	return 0;
}

static int list_common(void *app, json_t *params, json_t **result, struct rpc_error *err,
                       bool workers)
{
	struct node *n = app;
	uint64_t offset, limit;
	uint32_t total = 0;
	struct feed_read fr;
	if (param_page(params, &offset, &limit, err))
		return -1;
	json_t *arr = json_array();
	if (!arr || read_begin(n, &fr, err)) {
		json_decref(arr);
		return arr ? -1 : done(result, NULL, err);
	}
	int r = page_json(n, &fr, offset, limit, workers, arr, &total);
	bstore_abort(fr.rc.txn);
	if (r != 0) {
		json_decref(arr);
		return storage_error(err);
	}
	return done(result,
	            json_pack("{s:I, s:o}", "total", (json_int_t)total,
	                      workers ? "workers" : "contracts", arr),
	            err);
}

int node_m_worker_list(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	return list_common(app, params, result, err, true);
}

/* ---- contracts --------------------------------------------------------------------------- */

int node_m_contract_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"id"};
	struct node *n = app;
	uint8_t id[32];
	struct feed_read fr;
	struct contracts_info c;
	if (rpc_params_check(params, names, 1, err) || param_id(params, 0, "id", id, err) ||
	    read_begin(n, &fr, err))
		return -1;
	json_t *j = NULL;
	int r = contracts_get(&fr.rd, id, &c);
	if (r == 1 && contract_json(n, &fr.rd, &c, &j) < 0)
		r = -1;
	bstore_abort(fr.rc.txn);
	if (r < 0)
		return storage_error(err);
	if (r == 0)
		return rpc_error_set(err, RPC_NOT_FOUND, "no contract with this id");
	return done(result, j, err);
}

int node_m_contract_list(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	return list_common(app, params, result, err, false);
}

/* ---- message queue ----------------------------------------------------------------------- */

/* "worker:<hex>", "contract:<hex>", "gatekeeper:<hex>", "cluster:<n>" or "module:<name>". */
static bool parse_origin(struct mq_origin *o, const char *s)
{
	static const struct {
		const char *prefix;
		uint8_t kind;
	} kinds[] = {{"worker:", MQ_ORIGIN_WORKER},
	             {"contract:", MQ_ORIGIN_CONTRACT},
	             {"gatekeeper:", MQ_ORIGIN_GATEKEEPER},
	             {"cluster:", MQ_ORIGIN_CLUSTER},
	             {"module:", MQ_ORIGIN_MODULE}};
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t k = strlen(kinds[i].prefix);
		if (strncmp(s, kinds[i].prefix, k) != 0)
			continue;
		const char *v = s + k;
		o->kind = kinds[i].kind;
		if (o->kind == MQ_ORIGIN_CLUSTER) {
			char *end;
			errno = 0;
			unsigned long c = strtoul(v, &end, 10);
			o->cluster = (uint32_t)c;
			return *v >= '0' && *v <= '9' && !*end && !errno && c <= UINT32_MAX;
		}
		if (o->kind == MQ_ORIGIN_MODULE) {
			size_t len = strlen(v);
			if (len == 0 || len > MQ_MODULE_NAME_MAX ||
			    strspn(v, "abcdefghijklmnopqrstuvwxyz") != len)
				return false;
			memcpy(o->module, v, len + 1);
			return true;
		}
		return hex_decode_exact(o->id, 32, v);
	}
	return false;
}

int node_m_mq_sequence(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"origin"};
	struct node *n = app;
	const char *s;
	struct mq_origin o;
	struct feed_read fr;
	uint64_t next = 0;
	if (rpc_params_check(params, names, 1, err) ||
	    rpc_param_string(params, 0, "origin", &s, err))
		return -1;
	if (!parse_origin(&o, s))
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "param \"origin\" must be worker:HEX, contract:HEX, "
		                     "gatekeeper:HEX, cluster:N or module:NAME");
	if (read_begin(n, &fr, err))
		return -1;
	int r = mq_next_sequence(&fr.rd, &o, &next);
	bstore_abort(fr.rc.txn);
	if (r < 0)
		return storage_error(err);
	return done(result, json_pack("{s:s, s:I}", "origin", s, "next", (json_int_t)next), err);
}

/* ---- registry policy and keys ------------------------------------------------------------ */

static json_t *hex_list(const uint8_t (*v)[32], size_t k)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < k; i++)
		if (json_array_append_new(a, node_json_hex(v[i], 32)) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *policy_json(const struct attest_policy *p)
{
	json_t *backends = json_array();
	for (uint8_t b = 1; backends && b <= ATTEST_BACKEND_MAX; b++)
		if (p->backends & (1u << b))
			json_array_append_new(backends, json_string(attest_backend_name(b)));
	return json_pack("{s:o, s:b, s:o, s:o, s:I, s:i}", "backends", backends, "any_measurement",
	                 p->any_measurement, "measurements",
	                 hex_list((const uint8_t(*)[32])p->measurements, p->n_measurements),
	                 "sim_attestation_keys",
	                 hex_list((const uint8_t(*)[32])p->sim_keys, p->n_sim_keys),
	                 "max_report_age", (json_int_t)p->max_report_age, "max_confidence_level",
	                 (int)p->max_confidence_level);
}

int node_m_registry_policy(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	struct feed_read fr;
	struct attest_policy p;
	if (rpc_params_check(params, NULL, 0, err) || read_begin(n, &fr, err))
		return -1;
	int r = registry_policy_get(&fr.rd, &p);
	bstore_abort(fr.rc.txn);
	if (r < 0)
		return storage_error(err);
	if (r == 0)
		attest_policy_closed(&p);
	return done(result, policy_json(&p), err);
}

/* The master key section: current epoch, published or not, and its public key if it is. */
static json_t *master_json(const struct state_reader *rd)
{
	struct registry_master m;
	uint8_t pk[32];
	uint64_t height = 0;
	if (registry_master_get(rd, &m) < 0)
		return NULL;
	int r = m.published ? registry_master_key_get(rd, m.epoch, pk, &height) : 0;
	if (r < 0)
		return NULL;
	return json_pack("{s:i, s:b, s:o, s:I}", "epoch", (int)m.epoch, "published", r == 1,
	                 "pubkey", r == 1 ? node_json_hex(pk, 32) : json_null(), "published_height",
	                 (json_int_t)height);
}

static json_t *cluster_json(const struct state_reader *rd, uint32_t cluster)
{
	uint64_t created = 0;
	bool has_keys = false;
	struct registry_keys k;
	int r = registry_cluster_get(rd, cluster, &created, &has_keys, &k);
	if (r < 0)
		return NULL;
	if (r == 0)
		return json_null();
	return json_pack("{s:I, s:I, s:o}", "id", (json_int_t)cluster, "created_height",
	                 (json_int_t)created, "keys", has_keys ? keys_json(&k) : json_null());
}

static json_t *info_json(const struct state_reader *rd, bool with_cluster, uint32_t cluster)
{
	uint8_t ids[REGISTRY_MAX_GATEKEEPERS][32];
	size_t k = 0;
	if (registry_gatekeepers_get(rd, ids, &k) < 0)
		return NULL;
	json_t *j = json_pack("{s:o, s:o}", "gatekeepers", hex_list((const uint8_t(*)[32])ids, k),
	                      "master_key", master_json(rd));
	if (j && with_cluster &&
	    json_object_set_new(j, "cluster", cluster_json(rd, cluster)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int node_m_registry_info(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"cluster"};
	struct node *n = app;
	struct feed_read fr;
	uint64_t cluster = UINT64_MAX;
	if (rpc_params_check(params, names, 1, err) ||
	    rpc_param_u64_opt(params, 0, "cluster", UINT64_MAX, &cluster, err))
		return -1;
	if (cluster != UINT64_MAX && cluster > UINT32_MAX)
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS,
		                     "param \"cluster\" must be a u32");
	if (read_begin(n, &fr, err))
		return -1;
	json_t *j = info_json(&fr.rd, cluster != UINT64_MAX, (uint32_t)cluster);
	bstore_abort(fr.rc.txn);
	if (!j)
		return storage_error(err);
	*result = j;
	return 0;
}
