/*
 * bench/transfers: public transfers through the node's normal path, against the machine's
 * Ed25519 verification ceiling measured in the same run (DESIGN.md §14: goal ratio >= 0.75).
 *
 * 1. Ceiling: every CPU verifies signatures for a few seconds; the sum is verifies/s. It is
 *    measured before and after the load and averaged, because this class of machine (shared
 *    vCPUs) drifts by tens of percent over a minute.
 * 2. A real node (the same code as `tenebra node`) starts on a fresh data directory with a genesis
 *    of --accounts funded accounts, RPC on a loopback port.
 * 3. --accounts x --txs-per-account transfers are signed up front and packed into request
 *    bodies of --batch txs: POST /txs binary bodies (default) or JSON-RPC tx_submit batches
 *    (--path json). Client threads POST them over HTTP (admission: decode, signature, state
 *    checks, mempool), keeping at most --window txs admitted but not yet executed; the node's
 * producer executes and commits them block by block.
 * 4. Prints executed transfers/s (first submit -> last one committed), the ceiling, their ratio,
 *    peak RSS, and database bytes per account (state only, measured right after genesis).
 *
 * With --validators V > 1 the run is a network: V validators (the same code as `tenebra node`,
 * in this process, each with its own database, WAL, signer, RPC port and p2p port on loopback,
 * fully meshed) under Tendermint consensus. Clients submit to the nodes in turn; every node
 * admits every tx (its own submissions and its peers' gossip), so each tx costs V signature
 * verifications, and the printed ratio is tps * V / ceiling. It also prints finality latency:
 * for each request, from the moment it was sent to the commit (on node 0) of the block holding
 * its last tx; p50 and p99 over requests.
 *
 * Usage: transfers [--accounts N] [--txs-per-account K] [--block-time MS] [--batch B]
 *                  [--window W] [--clients C] [--ceiling-seconds S] [--path binary|json]
 *                  [--validators V]
 */
#include <curl/curl.h>
#include <jansson.h>
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "base/amount.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/ss58.h"
#include "chain/genesis.h"
#include "chain/runtime.h"
#include "chain/tx.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/keystore.h"
#include "crypto/sig.h"
#include "node/node.h"

#define BENCH_MAX_VALIDATORS 16

struct opts {
	size_t accounts, per_account, batch, window;
	unsigned block_time, clients, validators;
	double ceiling_s;
	bool json; /* submit JSON-RPC tx_submit batches instead of POST /txs */
};

/* ---- 1. Ceiling ------------------------------------------------------------------------ */

struct ceiling_arg {
	double seconds;
	uint64_t count;
};

static void *ceiling_thread(void *p)
{
	struct ceiling_arg *a = p;
	uint8_t pk[32], sk[64], seed[32] = {7}, msg[200], sig[64];
	memset(msg, 0x5a, sizeof(msg));
	sig_keypair_from_seed(pk, sk, seed);
	sig_sign(sig, msg, sizeof(msg), sk);
	double end = bench_now() + a->seconds;
	while (bench_now() < end) {
		for (int i = 0; i < 64; i++)
			if (!sig_verify(sig, msg, sizeof(msg), pk))
				abort();
		a->count += 64;
	}
	return NULL;
}

static double measure_ceiling(double seconds, unsigned *cpus)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	*cpus = n > 0 ? (unsigned)n : 1;
	pthread_t t[256];
	struct ceiling_arg a[256];
	uint64_t total = 0;
	for (unsigned i = 0; i < *cpus && i < 256; i++) {
		a[i] = (struct ceiling_arg){seconds, 0};
		pthread_create(&t[i], NULL, ceiling_thread, &a[i]);
	}
	for (unsigned i = 0; i < *cpus && i < 256; i++) {
		pthread_join(t[i], NULL);
		total += a[i].count;
	}
	return (double)total / seconds;
}

/* ---- 2. Genesis and node ----------------------------------------------------------------- */

static void account_seed(uint8_t seed[32], size_t i)
{
	hash_tagged(seed, "tenebra/bench/account", &i, sizeof(i));
}

static void append_alloc(FILE *f, const uint8_t pk[32], const char *amount, bool first)
{
	char a[SS58_ADDR_MAX + 1];
	ss58_encode(a, sizeof(a), SS58_PREFIX_PHALA, pk);
	fprintf(f, "%s{\"account\":\"%s\",\"amount\":\"%s\"}", first ? "" : ",", a, amount);
}

static void validator_seed(uint8_t seed[32], unsigned i)
{
	hash_tagged(seed, "tenebra/bench/validator", &i, sizeof(i));
}

/* The "validators" array of V keys of power 1. */
static void append_validators(FILE *f, unsigned v)
{
	uint8_t seed[32], pk[32], sk[64];
	char a[SS58_ADDR_MAX + 1];
	fprintf(f, "\"validators\":[");
	for (unsigned i = 0; i < v; i++) {
		validator_seed(seed, i);
		sig_keypair_from_seed(pk, sk, seed);
		ss58_encode(a, sizeof(a), SS58_PREFIX_PHALA, pk);
		fprintf(f, "%s{\"name\":\"v%u\",\"public_key\":\"%s\",\"power\":1}", i ? "," : "",
		        i, a);
	}
	sodium_memzero(sk, sizeof(sk));
	fprintf(f, "],");
}

/* A genesis like the dev one with V validators, plus `accounts` accounts of 1000 PHA each. */
static bool write_genesis(const char *path, size_t accounts, unsigned validators)
{
	uint8_t alice[32], sk[64], pool[32], treasury[32], seed[32], pk[32];
	char aa[SS58_ADDR_MAX + 1], pa[SS58_ADDR_MAX + 1], ta[SS58_ADDR_MAX + 1], rest[64];
	FILE *f = fopen(path, "w");
	if (!f || !devkeys_keypair("alice", alice, sk))
		return false;
	sodium_memzero(sk, sizeof(sk));
	runtime_module_account(pool, "mining-reward-pool");
	runtime_module_account(treasury, "treasury");
	ss58_encode(aa, sizeof(aa), SS58_PREFIX_PHALA, alice);
	ss58_encode(pa, sizeof(pa), SS58_PREFIX_PHALA, pool);
	ss58_encode(ta, sizeof(ta), SS58_PREFIX_PHALA, treasury);
	fprintf(
	    f,
	    "{\"chain_name\":\"tenebra-bench\",\"genesis_time_ms\":1767225600000,"
	    "\"block_time_ms\":1000,\"ss58_prefix\":30,\"token\":{\"symbol\":\"PHA\","
	    "\"decimals\":12},\"total_supply\":\"1000000000\",\"existential_deposit\":\"0.01\","
	    "\"fees\":{\"base\":\"0.0001\",\"per_byte\":\"0.000001\",\"per_weight\":"
	    "\"0.000000001\"},\"treasury\":\"%s\",\"mining_reward_pool\":\"%s\",\"sudo\":\"%s\",",
	    ta, pa, aa);
	append_validators(f, validators);
	fprintf(f, "\"allocations\":[");
	append_alloc(f, pool, "700000000", true);
	append_alloc(f, treasury, "1000", false);
	snprintf(rest, sizeof(rest), "%zu", (size_t)299999000 - accounts * 1000);
	append_alloc(f, alice, rest, false);
	for (size_t i = 0; i < accounts; i++) {
		account_seed(seed, i);
		sig_keypair_from_seed(pk, sk, seed);
		append_alloc(f, pk, "1000", false);
	}
	sodium_memzero(sk, sizeof(sk));
	fprintf(f, "]}\n");
	return fclose(f) == 0;
}

static bool write_validator_key(const char *path, unsigned i)
{
	uint8_t seed[32];
	char *doc = NULL;
	/* Light Argon2 parameters: this key only ever signs a throw-away benchmark chain. */
	const struct keystore_params light = KEYSTORE_PARAMS_MIN;
	validator_seed(seed, i);
	bool ok = keystore_seal(&doc, "bench", seed, "bench", 5, &light) == KEYSTORE_OK &&
	          keystore_write_file(path, doc) == KEYSTORE_OK;
	sodium_memzero(seed, sizeof(seed));
	free(doc);
	return ok;
}

/* ---- 3. Pre-signed batches and clients ---------------------------------------------------- */

struct batches {
	char **body; /* request bodies: JSON-RPC batches or POST /txs bodies */
	size_t *len;
	size_t n;
	size_t txs;
	uint8_t (*last_id)[32]; /* id of each request's last tx */
	double *sent_at;        /* when each request was sent (bench_now) */
};

/* Signs transfer number k of account i (to the next account, nonce k) into buf; returns its
 * length. */
static size_t sign_one(uint8_t buf[512], const uint8_t chain[32], size_t accounts, size_t i,
                       size_t k)
{
	uint8_t seed[32], pk[32], sk[64], dpk[32], payload[BALANCES_TRANSFER_PAYLOAD_LEN];
	struct tx tx;
	struct enc e;
	account_seed(seed, (i + 1) % accounts);
	sig_keypair_from_seed(dpk, sk, seed);
	account_seed(seed, i);
	sig_keypair_from_seed(pk, sk, seed);
	memset(&tx, 0, sizeof(tx));
	tx.version = TX_VERSION;
	memcpy(tx.chain_id, chain, 32);
	memcpy(tx.sender, pk, 32);
	tx.nonce = k;
	tx.valid_until = 4000;
	tx.max_fee = AMOUNT_ONE_PHA;
	tx.module = RUNTIME_MODULE_BALANCES;
	tx.function = BALANCES_FN_TRANSFER;
	balances_transfer_payload(payload, dpk, 1000000 + k);
	tx.payload = payload;
	tx.payload_len = sizeof(payload);
	tx_sign(&tx, sk);
	sodium_memzero(sk, sizeof(sk));
	enc_init_fixed(&e, buf, 512);
	tx_encode(&e, &tx);
	return e.len;
}

/* Appends one tx to a request body: a JSON-RPC tx_submit request, or uleb length ‖ bytes. */
static void append_tx(FILE *f, const uint8_t *tx, size_t len, size_t id, bool first, bool json)
{
	char hex[1025];
	if (json) {
		fprintf(f,
		        "%s{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tx_submit\",\"params\":"
		        "[\"%s\"]}",
		        first ? "" : ",", id, hex_encode(hex, tx, len));
		return;
	}
	uint8_t leb[10];
	struct enc e;
	enc_init_fixed(&e, leb, sizeof(leb));
	enc_uleb(&e, len);
	fwrite(leb, 1, e.len, f);
	fwrite(tx, 1, len, f);
}

/* Nonce-major order: each request holds many senders, so every tx is ready on arrival. */
static bool presign(struct batches *b, const uint8_t chain[32], const struct opts *o)
{
	uint8_t tx[512];
	b->txs = o->accounts * o->per_account;
	b->n = (b->txs + o->batch - 1) / o->batch;
	b->body = calloc(b->n, sizeof(*b->body));
	b->len = calloc(b->n, sizeof(*b->len));
	b->last_id = calloc(b->n, sizeof(*b->last_id));
	b->sent_at = calloc(b->n, sizeof(*b->sent_at));
	if (!b->body || !b->len || !b->last_id || !b->sent_at)
		return false;
	for (size_t j = 0; j < b->n; j++) {
		FILE *f = open_memstream(&b->body[j], &b->len[j]);
		if (!f)
			return false;
		if (o->json)
			fputc('[', f);
		for (size_t t = j * o->batch; t < b->txs && t < (j + 1) * o->batch; t++) {
			size_t len =
			    sign_one(tx, chain, o->accounts, t % o->accounts, t / o->accounts);
			append_tx(f, tx, len, t, t == j * o->batch, o->json);
			struct tx d;
			if (tx_decode(&d, tx, len) == CODEC_OK)
				tx_id(b->last_id[j], tx, d.body_len);
		}
		if (o->json)
			fputc(']', f);
		fclose(f);
	}
	return true;
}

struct client_shared {
	bool json;
	struct batches *b;
	struct node *node; /* paced on node 0 */
	unsigned n_urls;
	char url[BENCH_MAX_VALIDATORS][64]; /* see client_url */
	size_t accounts, batch;
	size_t window;
	atomic_size_t next;
	atomic_size_t errors;
	atomic_size_t sent;
};

static size_t count_errors(void *p, size_t sz, size_t nm, void *ctx)
{
	const char *s = p;
	size_t n = sz * nm, *errors = ctx;
	for (size_t i = 0; i + 7 < n; i++)
		if (memcmp(s + i, "\"error\"", 7) == 0)
			(*errors)++;
	return n;
}

/* Waits while more than `window` admitted txs are not yet executed. */
static void pace(struct client_shared *c)
{
	struct node_stats st;
	for (;;) {
		node_stats(c->node, &st);
		size_t done = st.txs_applied + st.txs_failed + st.txs_skipped;
		if (st.txs_accepted < done + c->window)
			return;
		usleep(500);
	}
}

/* Each sender's txs all go to one node (as a wallet talks to one node): a request holds one
 * nonce of a run of accounts, and the run picks the node. */
static const char *client_url(const struct client_shared *c, size_t j)
{
	size_t run = (j * c->batch) % c->accounts / c->batch;
	return c->url[run % c->n_urls];
}

static void *client_thread(void *p)
{
	struct client_shared *c = p;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr =
	    curl_slist_append(NULL, c->json ? "Content-Type: application/json"
	                                    : "Content-Type: application/octet-stream");
	size_t errors = 0;
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_errors);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &errors);
	for (size_t j; (j = atomic_fetch_add(&c->next, 1)) < c->b->n;) {
		pace(c);
		curl_easy_setopt(h, CURLOPT_URL, client_url(c, j));
		c->b->sent_at[j] = bench_now();
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->b->body[j]);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)c->b->len[j]);
		if (curl_easy_perform(h) != CURLE_OK)
			errors += c->b->len[j] ? 1 : 0;
		atomic_fetch_add(&c->sent, 1);
	}
	atomic_fetch_add(&c->errors, errors);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- 4. Run and report ------------------------------------------------------------------ */

static bool parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"accounts", 1, 0, 'a'},        {"txs-per-account", 1, 0, 'k'},
	    {"block-time", 1, 0, 't'},      {"batch", 1, 0, 'b'},
	    {"window", 1, 0, 'w'},          {"clients", 1, 0, 'c'},
	    {"ceiling-seconds", 1, 0, 's'}, {"path", 1, 0, 'p'},
	    {"validators", 1, 0, 'v'},      {0, 0, 0, 0}};
	int c;
	*o = (struct opts){.accounts = 20000,
	                   .per_account = 8,
	                   .batch = 500,
	                   .window = 20000,
	                   .block_time = 200,
	                   .clients = 8,
	                   .validators = 1,
	                   .ceiling_s = 3.0};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 10) : 0;
		switch (c) {
		case 'a':
			o->accounts = v;
			break;
		case 'k':
			o->per_account = v;
			break;
		case 't':
			o->block_time = (unsigned)v;
			break;
		case 'b':
			o->batch = v;
			break;
		case 'w':
			o->window = v;
			break;
		case 'c':
			o->clients = (unsigned)v;
			break;
		case 's':
			o->ceiling_s = (double)v;
			break;
		case 'v':
			o->validators = (unsigned)v;
			break;
		case 'p':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "binary") != 0)
				return false;
			o->json = strcmp(optarg, "json") == 0;
			break;
		default:
			return false;
		}
	}
	return o->accounts >= 2 && o->accounts <= 250000 && o->per_account >= 1 &&
	       o->per_account <= 16 && o->batch >= 1 && o->batch <= 1000 && o->clients >= 1 &&
	       o->clients <= 64 && o->ceiling_s >= 1 && o->block_time >= 10 && o->validators >= 1 &&
	       o->validators <= BENCH_MAX_VALIDATORS;
}

static bool chain_id_of(const char *path, uint8_t out[32])
{
	struct genesis g;
	char err[256];
	FILE *f = fopen(path, "rb");
	static char buf[64 << 20];
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (!n || genesis_parse(&g, buf, n, err, sizeof(err)) != GENESIS_OK) {
		fprintf(stderr, "transfers: bad genesis: %s\n", err);
		return false;
	}
	genesis_hash(out, &g);
	genesis_release(&g);
	return true;
}

/* Starts node i of the network in dir/i (listening on p2p_base + i, peering with the others). */
static struct node *start_node(const char *dir, const struct opts *o, unsigned i, unsigned p2p_base)
{
	char gpath[512], kpath[512], ddir[512], err[512], listen[32],
	    peers[BENCH_MAX_VALIDATORS * 24];
	struct node_config cfg;
	struct node *n = NULL;
	size_t at = 0;
	snprintf(gpath, sizeof(gpath), "%s/genesis.json", dir);
	snprintf(kpath, sizeof(kpath), "%s/validator%u.json", dir, i);
	snprintf(ddir, sizeof(ddir), "%s/data%u", dir, i);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", p2p_base + i);
	peers[0] = '\0';
	for (unsigned j = 0; j < o->validators; j++)
		if (j != i)
			at += (size_t)snprintf(peers + at, sizeof(peers) - at, "%s127.0.0.1:%u",
			                       at ? "," : "", p2p_base + j);
	if (!write_validator_key(kpath, i))
		return NULL;
	node_config_default(&cfg);
	cfg.data_dir = ddir;
	cfg.genesis_path = gpath;
	cfg.validator_key = kpath;
	cfg.validator_password = "bench";
	cfg.rpc_port = 0;
	cfg.block_time_ms = o->block_time;
	/* Room above the window: node 0 paces the clients; every node's pool also holds its peers'
	 * submissions, and a tx refused for a full pool would leave its sender's later nonces
	 * stuck in the future queue. */
	cfg.pool_ready_txs =
	    (uint32_t)(o->window * (o->validators > 1 ? 2 * o->validators : 1) + o->window / 2);
	if (o->validators > 1) {
		cfg.p2p_listen = listen;
		cfg.peers = peers;
	}
	if (node_start(&n, &cfg, err, sizeof(err)) != NODE_OK)
		fprintf(stderr, "transfers: node %u: %s\n", i, err);
	return n;
}

static bool start_nodes(const char *dir, const struct opts *o, uint8_t chain[32],
                        struct node **nodes)
{
	char gpath[512];
	unsigned p2p_base = 10000 + (unsigned)(getpid() % 20000); /* below the ephemeral ports */
	snprintf(gpath, sizeof(gpath), "%s/genesis.json", dir);
	if (!write_genesis(gpath, o->accounts, o->validators) || !chain_id_of(gpath, chain))
		return false;
	for (unsigned i = 0; i < o->validators; i++)
		if (!(nodes[i] = start_node(dir, o, i, p2p_base)))
			return false;
	return true;
}

/* Records when each height commits on node 0 (polled every 200 us). */
struct watcher {
	struct node *node;
	atomic_bool stop;
	double *commit_at; /* [height], 0 = not seen */
	size_t cap;
};

static void *watch_thread(void *p)
{
	struct watcher *w = p;
	uint64_t seen = node_height(w->node);
	while (!atomic_load(&w->stop)) {
		uint64_t h = node_height(w->node);
		double now = bench_now();
		for (; seen < h; seen++)
			if (seen + 1 < w->cap)
				w->commit_at[seen + 1] = now;
		usleep(200);
	}
	return NULL;
}

static double run_load(struct node **nodes, struct batches *b, const struct opts *o, size_t *errors)
{
	struct client_shared c = {.json = o->json, .b = b, .node = nodes[0], .window = o->window};
	pthread_t t[64];
	struct node_stats st;
	c.n_urls = o->validators;
	c.accounts = o->accounts;
	c.batch = o->batch;
	for (unsigned i = 0; i < o->validators; i++)
		snprintf(c.url[i], sizeof(c.url[i]), "http://127.0.0.1:%u/%s",
		         node_rpc_port(nodes[i]), o->json ? "" : "txs");
	double t0 = bench_now();
	for (unsigned i = 0; i < o->clients; i++)
		pthread_create(&t[i], NULL, client_thread, &c);
	for (unsigned i = 0; i < o->clients; i++)
		pthread_join(t[i], NULL);
	printf("all submitted after:  %.2f s\n", bench_now() - t0);
	*errors = atomic_load(&c.errors);
	double last = bench_now();
	uint64_t done = 0;
	for (;;) { /* until every submitted tx is executed, or nothing moves for 10 s */
		usleep(1000);
		node_stats(nodes[0], &st);
		uint64_t now_done = st.txs_applied + st.txs_failed + st.txs_skipped;
		if (now_done != done)
			last = bench_now();
		done = now_done;
		if ((done >= st.txs_accepted && done + *errors >= b->txs) ||
		    bench_now() - last > 10)
			break;
	}
	return bench_now() - t0;
}

/* The height holding a tx, from node 0's tx_status; 0 if unknown. */
static uint64_t included_height(CURL *h, const char *url, const uint8_t id[32])
{
	char hex[65], body[160];
	char *resp = NULL;
	size_t rlen = 0;
	FILE *f = open_memstream(&resp, &rlen);
	snprintf(body, sizeof(body),
	         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tx_status\",\"params\":[\"%s\"]}",
	         hex_encode(hex, id, 32));
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	bool ok = curl_easy_perform(h) == CURLE_OK;
	fclose(f);
	json_t *j = ok ? json_loads(resp, 0, NULL) : NULL;
	json_t *hj = json_object_get(json_object_get(j, "result"), "height");
	uint64_t height = json_is_integer(hj) ? (uint64_t)json_integer_value(hj) : 0;
	json_decref(j);
	free(resp);
	return height;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Finality latency per request: send -> commit (node 0) of the block with its last tx. */
static void report_latency(struct node *n0, const struct batches *b, const struct watcher *w)
{
	char url[64];
	double *lat = calloc(b->n ? b->n : 1, sizeof(*lat));
	size_t k = 0;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", node_rpc_port(n0));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	for (size_t j = 0; lat && j < b->n; j++) {
		uint64_t height = included_height(h, url, b->last_id[j]);
		if (height && height < w->cap && w->commit_at[height] > 0)
			lat[k++] = w->commit_at[height] - b->sent_at[j];
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (k) {
		qsort(lat, k, sizeof(*lat), cmp_double);
		printf("finality latency:     p50 %.0f ms, p99 %.0f ms, max %.0f ms (%zu requests, "
		       "send -> commit)\n",
		       lat[k / 2] * 1e3, lat[(k * 99) / 100] * 1e3, lat[k - 1] * 1e3, k);
	}
	free(lat);
}

static void report(struct node **nodes, const struct batches *b, const struct opts *o, double secs,
                   const struct node_stats *st0, double ceiling_before)
{
	struct node_stats st;
	struct rusage ru;
	unsigned cpus;
	node_stats(nodes[0], &st);
	printf("commit busy (node 0): %.2f s of %.2f s\n",
	       (double)(st.block_us_total - st0->block_us_total) / 1e6, secs);
	double tps = (double)(st.txs_applied + st.txs_failed) / secs;
	getrusage(RUSAGE_SELF, &ru);
	printf("validators:           %u%s\n", o->validators,
	       o->validators > 1 ? " (Tendermint over loopback p2p, one process)" : "");
	printf("transfers:            %zu submitted, %llu executed (%llu failed calls), %zu "
	       "rejected (node 0)\n",
	       b->txs, (unsigned long long)(st.txs_applied + st.txs_failed),
	       (unsigned long long)st.txs_failed, (size_t)st.txs_rejected);
	printf("committed transfers/s: %.0f   (%.2f s, %llu blocks, block time %u ms, %llu extra "
	       "rounds)\n",
	       tps, secs, (unsigned long long)(st.blocks - st0->blocks), o->block_time,
	       (unsigned long long)(st.rounds_extra - st0->rounds_extra));
	double ceiling_after = measure_ceiling(o->ceiling_s, &cpus);
	double ceiling = (ceiling_before + ceiling_after) / 2;
	printf("submission path:      %s\n", o->json ? "JSON-RPC tx_submit batches" : "POST /txs");
	printf("ed25519 ceiling:      %.0f verifies/s on %u CPUs (same run: %.0f before, %.0f "
	       "after)\n",
	       ceiling, cpus, ceiling_before, ceiling_after);
	printf("ratio:                %.3f   (tps x %u verifies per tx / ceiling; goal >= 0.75)\n",
	       tps * o->validators / ceiling, o->validators);
	printf("peak RSS:             %.1f MiB (nodes + load generator in one process)\n",
	       (double)ru.ru_maxrss / 1024.0);
	printf("state per account:    %.0f bytes on disk (genesis database / %zu accounts)\n",
	       (double)st0->db_bytes / (double)o->accounts, o->accounts);
	printf("database after run:   %.1f MiB (node 0)\n", (double)st.db_bytes / (1 << 20));
}

int main(int argc, char **argv)
{
	struct opts o;
	struct batches b = {0};
	struct node_stats st0;
	struct node *nodes[BENCH_MAX_VALIDATORS] = {0};
	uint8_t chain[32];
	unsigned cpus;
	size_t errors = 0;
	pthread_t wt;
	char dir[] = "/tmp/tn-bench-XXXXXX";
	if (sodium_init() < 0 || !parse_opts(&o, argc, argv) || !mkdtemp(dir)) {
		fprintf(stderr,
		        "usage: transfers [--accounts N] [--txs-per-account 1..16] [--path "
		        "binary|json] [--block-time MS] [--batch 1..1000] [--window W] "
		        "[--clients C] [--validators 1..%d]\n",
		        BENCH_MAX_VALIDATORS);
		return 2;
	}
	log_set_level(LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	double ceiling_before = measure_ceiling(o.ceiling_s, &cpus);
	if (!start_nodes(dir, &o, chain, nodes) || !presign(&b, chain, &o))
		return 1;
	struct watcher w = {.node = nodes[0], .cap = 1 << 20};
	w.commit_at = calloc(w.cap, sizeof(*w.commit_at));
	if (!w.commit_at || pthread_create(&wt, NULL, watch_thread, &w) != 0)
		return 1;
	node_stats(nodes[0], &st0);
	double c0 = bench_cpu();
	double secs = run_load(nodes, &b, &o, &errors);
	double cpu = bench_cpu() - c0;
	atomic_store(&w.stop, true);
	pthread_join(wt, NULL);
	printf("CPU during load:      %.2f s of %.2f s available (%u CPUs)\n", cpu, secs * cpus,
	       cpus);
	report(nodes, &b, &o, secs, &st0, ceiling_before);
	report_latency(nodes[0], &b, &w);
	for (unsigned i = 0; i < o.validators; i++)
		node_free(nodes[i]);
	free(w.commit_at);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "transfers: could not remove %s\n", dir);
	return errors ? 1 : 0;
}
