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
 * Usage: transfers [--accounts N] [--txs-per-account K] [--block-time MS] [--batch B]
 *                  [--window W] [--clients C] [--ceiling-seconds S] [--path binary|json]
 */
#include <curl/curl.h>
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

struct opts {
	size_t accounts, per_account, batch, window;
	unsigned block_time, clients;
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

/* A genesis like the dev one, plus `accounts` accounts of 1000 PHA each. */
static bool write_genesis(const char *path, size_t accounts)
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
	    "\"0.000000001\"},\"treasury\":\"%s\",\"mining_reward_pool\":\"%s\",\"sudo\":\"%s\","
	    "\"validators\":[{\"name\":\"alice\",\"public_key\":\"%s\",\"power\":1}],"
	    "\"allocations\":[",
	    ta, pa, aa, aa);
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

static bool write_validator_key(const char *path)
{
	uint8_t seed[32];
	char *doc = NULL;
	/* Light Argon2 parameters: this key only ever signs a throw-away benchmark chain. */
	const struct keystore_params light = KEYSTORE_PARAMS_MIN;
	bool ok = devkeys_seed("alice", seed) &&
	          keystore_seal(&doc, "bench", seed, "bench", 5, &light) == KEYSTORE_OK &&
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
	if (!b->body || !b->len)
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
		}
		if (o->json)
			fputc(']', f);
		fclose(f);
	}
	return true;
}

struct client_shared {
	bool json;
	const struct batches *b;
	struct node *node;
	char url[64];
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

static void *client_thread(void *p)
{
	struct client_shared *c = p;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr =
	    curl_slist_append(NULL, c->json ? "Content-Type: application/json"
	                                    : "Content-Type: application/octet-stream");
	size_t errors = 0;
	curl_easy_setopt(h, CURLOPT_URL, c->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_errors);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &errors);
	for (size_t j; (j = atomic_fetch_add(&c->next, 1)) < c->b->n;) {
		pace(c);
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
	static const struct option lo[] = {{"accounts", 1, 0, 'a'},
	                                   {"txs-per-account", 1, 0, 'k'},
	                                   {"block-time", 1, 0, 't'},
	                                   {"batch", 1, 0, 'b'},
	                                   {"window", 1, 0, 'w'},
	                                   {"clients", 1, 0, 'c'},
	                                   {"ceiling-seconds", 1, 0, 's'},
	                                   {"path", 1, 0, 'p'},
	                                   {0, 0, 0, 0}};
	int c;
	*o = (struct opts){20000, 8, 500, 20000, 200, 8, 3.0, false};
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
	       o->clients <= 64 && o->ceiling_s >= 1 && o->block_time >= 10;
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

static struct node *start_node(const char *dir, const struct opts *o, uint8_t chain[32])
{
	char gpath[512], kpath[512], ddir[512], err[512];
	struct node_config cfg;
	struct node *n = NULL;
	snprintf(gpath, sizeof(gpath), "%s/genesis.json", dir);
	snprintf(kpath, sizeof(kpath), "%s/validator.json", dir);
	snprintf(ddir, sizeof(ddir), "%s/data", dir);
	if (!write_genesis(gpath, o->accounts) || !write_validator_key(kpath) ||
	    !chain_id_of(gpath, chain))
		return NULL;
	node_config_default(&cfg);
	cfg.data_dir = ddir;
	cfg.genesis_path = gpath;
	cfg.validator_key = kpath;
	cfg.validator_password = "bench";
	cfg.rpc_port = 0;
	cfg.block_time_ms = o->block_time;
	cfg.pool_ready_txs = (uint32_t)(o->window + o->window / 2); /* room above the window */
	if (node_start(&n, &cfg, err, sizeof(err)) != NODE_OK)
		fprintf(stderr, "transfers: node: %s\n", err);
	return n;
}

static double run_load(struct node *n, const struct batches *b, const struct opts *o,
                       size_t *errors)
{
	struct client_shared c = {.json = o->json, .b = b, .node = n, .window = o->window};
	pthread_t t[64];
	struct node_stats st;
	snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%u/%s", node_rpc_port(n),
	         o->json ? "" : "txs");
	double t0 = bench_now();
	for (unsigned i = 0; i < o->clients; i++)
		pthread_create(&t[i], NULL, client_thread, &c);
	for (unsigned i = 0; i < o->clients; i++)
		pthread_join(t[i], NULL);
	printf("all submitted after:  %.2f s\n", bench_now() - t0);
	do {
		usleep(1000);
		node_stats(n, &st);
	} while (st.txs_applied + st.txs_failed + st.txs_skipped < st.txs_accepted);
	*errors = atomic_load(&c.errors);
	return bench_now() - t0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct batches b = {0};
	struct node_stats st, st0;
	struct rusage ru;
	uint8_t chain[32];
	unsigned cpus;
	size_t errors = 0;
	char dir[] = "/tmp/tn-bench-XXXXXX";
	if (sodium_init() < 0 || !parse_opts(&o, argc, argv) || !mkdtemp(dir)) {
		fprintf(stderr, "usage: transfers [--accounts N] [--txs-per-account 1..16] [--path "
		                "binary|json] "
		                "[--block-time MS] [--batch 1..1000] [--window W] [--clients C]\n");
		return 2;
	}
	log_set_level(LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	double ceiling_before = measure_ceiling(o.ceiling_s, &cpus);
	struct node *n = start_node(dir, &o, chain);
	if (!n)
		return 1;
	node_stats(n, &st0);
	if (!presign(&b, chain, &o))
		return 1;
	double c0 = bench_cpu();
	double secs = run_load(n, &b, &o, &errors);
	double cpu = bench_cpu() - c0;
	printf("CPU during load:      %.2f s of %.2f s available (%u CPUs)\n", cpu, secs * cpus,
	       cpus);
	node_stats(n, &st);
	printf("producer busy:        %.2f s of %.2f s\n",
	       (double)(st.block_us_total - st0.block_us_total) / 1e6, secs);
	node_stats(n, &st);
	double tps = (double)(st.txs_applied + st.txs_failed) / secs;
	getrusage(RUSAGE_SELF, &ru);
	printf("transfers:            %zu submitted, %llu executed (%llu failed calls), %zu "
	       "rejected\n",
	       b.txs, (unsigned long long)(st.txs_applied + st.txs_failed),
	       (unsigned long long)st.txs_failed, (size_t)st.txs_rejected);
	printf("executed transfers/s: %.0f   (%.2f s, %llu blocks of %u ms)\n", tps, secs,
	       (unsigned long long)(st.blocks - st0.blocks), o.block_time);
	double ceiling_after = measure_ceiling(o.ceiling_s, &cpus);
	double ceiling = (ceiling_before + ceiling_after) / 2;
	printf("submission path:      %s\n", o.json ? "JSON-RPC tx_submit batches" : "POST /txs");
	printf("ed25519 ceiling:      %.0f verifies/s on %u CPUs (same run: %.0f before, %.0f "
	       "after)\n",
	       ceiling, cpus, ceiling_before, ceiling_after);
	printf("ratio:                %.3f   (goal >= 0.75)\n", tps / ceiling);
	printf("peak RSS:             %.1f MiB (node + load generator in one process)\n",
	       (double)ru.ru_maxrss / 1024.0);
	printf("state per account:    %.0f bytes on disk (genesis database / %zu accounts)\n",
	       (double)st0.db_bytes / (double)o.accounts, o.accounts);
	printf("database after run:   %.1f MiB\n", (double)st.db_bytes / (1 << 20));
	node_free(n);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "transfers: could not remove %s\n", dir);
	return errors ? 1 : 0;
}
