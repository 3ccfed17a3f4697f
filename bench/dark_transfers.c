/*
 * bench/dark_transfers: confidential transfers of the Balances contract end to end (submitted
 * to the node -> applied by the contract in the worker's enclave), against the ceiling of one
 * Ed25519 verification + one X25519 + one ChaCha20-Poly1305 open of a sealed command, per
 * transfer, on ONE core, measured in the same run (before and after the load; the mean).
 *
 * One core because the enclave applies commands serially: one sync thread fetches and feeds
 * block after block, and each command costs the enclave an HPKE open (X25519 + key schedule +
 * AEAD) and the contract's work. The Ed25519 check of each push_command tx is the node's
 * admission, which runs on the other cores at the same time, so on a machine with more than one
 * core the ratio can approach (in principle pass) 1; the goal is >= 0.5.
 *
 * 1. A real node (the same code as `tenebra node`) on the dev genesis plus --accounts funded
 *    accounts, RPC on a loopback port; `tenebra dev`'s worker in this process
 *    (cmd_dev_worker_start: sim backend, operator ferdie, the built-in contract codes, on a free
 *    port), which alice (sudo) makes the gatekeeper of cluster 0 and where she deploys the dark
 *    wallet; the bench waits for Balances' published key.
 * 2. Every account deposits 100 PHA (contracts.deposit), waited for with the ISSUANCE query.
 * 3. --txs-per-account TRANSFER commands per account to random other accounts are sealed to the
 *    contract key (AAD: chain, contract, sender, tx nonce) and their push_command txs signed up
 *    front (not timed), then POSTed to /txs in nonce-major bodies of --batch txs by --clients
 *    threads, keeping at most --window transfers submitted but not applied (0: no limit).
 * 4. A watcher polls the node's head and the enclave's verified height every 0.5 ms. Afterwards
 *    tx_status gives each tx's block: its latency is submit -> the first poll that showed the
 *    enclave past that block; transfers/s = transfers / (first submit -> last block applied).
 * 5. Every account's dark balance is queried (signed BALANCE queries through the worker's POST
 *    /query) and compared with the expected one, so a refused or lost transfer fails the run.
 *
 * Usage: dark_transfers [--accounts N] [--txs-per-account K] [--batch B] [--clients C]
 *                       [--window W] [--block-time MS] [--worker-poll-ms MS]
 *                       [--ceiling-seconds S]
 */
#include <curl/curl.h>
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_util.h"
#include "base/amount.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/ss58.h"
#include "chain/attest.h"
#include "chain/contracts.h"
#include "chain/genesis.h"
#include "chain/registry.h"
#include "cli/cli_contract.h"
#include "contracts/balances/balances.h"
#include "contracts/builtin.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/keystore.h"
#include "crypto/sig.h"
#include "node/node.h"
#include "worker/worker.h"
#include "worker/worker_tx.h"

#define FUND_PHA      1000 /* public PHA per account in the genesis */
#define FUND_PHA_STR  "1000"
#define CMD_CT_LEN    (BALANCES_COMMAND_LEN + HPKE_ENVELOPE_OVERHEAD)
#define TX_BUF        512
#define HEIGHTS_CAP   (1u << 20)
#define STATUS_BATCH  200 /* tx_status calls per JSON-RPC batch */
#define STALL_SECONDS 30

struct opts {
	size_t accounts, per_account, batch, window;
	unsigned clients, block_time, poll_ms;
	double ceiling_s;
	u128 deposit; /* units */
};

struct bench_acct {
	uint8_t pk[32], sk[64];
	u128 expected; /* dark balance after every transfer */
};

/* What the run sets up and measures. */
struct bench {
	struct opts o;
	char dir[64], node_url[64], worker_url[64];
	char gpath[128], kpath[128], ndir[128]; /* the node keeps pointers */
	struct node *node;
	struct dev_worker *dev;
	struct worker *worker; /* dev's */
	struct cli_ctx ctx;
	struct worker_tx_chain ch;
	struct bench_acct *acc;
	struct cli_contract contract;
	/* the load */
	char **body;
	size_t *len, n_batches, txs;
	uint8_t (*txid)[32];
	size_t *dest; /* per transfer: the receiving account */
	u128 *amount; /* per transfer */
	atomic_size_t next_batch;
	atomic_bool presign_failed;
	double *sent_at;                /* per batch */
	double *commit_at, *applied_at; /* [height]: first poll that showed it (0: not seen) */
	atomic_uint_fast64_t applied_msgs, applied_height; /* the enclave's, from the watcher */
	atomic_bool stop;
};

/* ---- 1. The ceiling: Ed25519 verify + X25519 + AEAD open, one thread --------------------- */

/* The ceiling's rate per wall second and per CPU second of its thread (the second is what a
 * shared machine does not move). */
struct ceiling {
	double wall, cpu;
};

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct ceiling measure_ceiling(double seconds)
{
	uint8_t spk[32], ssk[64], sig[64], xsk[32], xpk[32], shared[32], key[32], nonce[12] = {0};
	uint8_t tx[TX_BUF], pt[BALANCES_COMMAND_LEN], ct[CMD_CT_LEN];
	randombytes_buf(tx, sizeof(tx));
	randombytes_buf(pt, sizeof(pt));
	randombytes_buf(key, sizeof(key));
	randombytes_buf(xsk, sizeof(xsk));
	crypto_scalarmult_base(xpk, xsk);
	crypto_sign_keypair(spk, ssk);
	crypto_sign_detached(sig, NULL, tx, 256, ssk); /* about a push_command tx's body */
	/* the AEAD part of a sealed command: its plaintext and tag */
	crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, sizeof(pt), NULL, 0, NULL, nonce,
	                                          key);
	uint64_t n = 0;
	double t0 = bench_now(), c0 = thread_cpu(), t;
	do {
		for (int i = 0; i < 32; i++, n++)
			if (crypto_sign_verify_detached(sig, tx, 256, spk) != 0 ||
			    crypto_scalarmult(shared, xsk, xpk) != 0 ||
			    crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct,
			                                              BALANCES_COMMAND_LEN + 16,
			                                              NULL, 0, nonce, key) != 0)
				abort();
	} while ((t = bench_now() - t0) < seconds);
	sodium_memzero(ssk, sizeof(ssk));
	return (struct ceiling){(double)n / t, (double)n / (thread_cpu() - c0)};
}

/* ---- 2. Genesis, node, worker ------------------------------------------------------------ */

static void account_seed(uint8_t seed[32], size_t i)
{
	hash_tagged(seed, "tenebra/bench/dark-account", &i, sizeof(i));
}

/* The dev genesis (alice validates and is sudo, sim workers accepted) plus `accounts` accounts of
 * FUND_PHA each, taken from the treasury's allocation; *params gets its runtime parameters. */
static bool write_genesis(const char *path, const struct bench *b, struct runtime_params *params)
{
	char *dev = genesis_dev_json(b->o.block_time);
	json_t *g = dev ? json_loads(dev, 0, NULL) : NULL;
	json_t *allocs = json_object_get(g, "allocations");
	bool ok = json_is_array(allocs);
	free(dev);
	for (size_t i = 0; ok && i < json_array_size(allocs); i++) {
		json_t *a = json_array_get(allocs, i);
		if (strcmp(cli_json_str(a, "label"), "treasury") == 0) {
			char amt[32];
			u128 t = 0;
			ok =
			    amount_parse_units(&t, json_string_value(json_object_get(a, "amount")));
			snprintf(amt, sizeof(amt), "%llu",
			         (unsigned long long)(t - (u128)b->o.accounts * FUND_PHA));
			json_object_set_new(a, "amount", json_string(amt));
		}
	}
	for (size_t i = 0; ok && i < b->o.accounts; i++) {
		char addr[SS58_ADDR_MAX + 1];
		ss58_encode(addr, sizeof(addr), SS58_PREFIX_PHALA, b->acc[i].pk);
		ok = json_array_append_new(allocs, json_pack("{s:s, s:s}", "account", addr,
		                                             "amount", FUND_PHA_STR)) == 0;
	}
	char *doc = ok ? json_dumps(g, 0) : NULL, err[256] = "";
	FILE *f = doc ? fopen(path, "w") : NULL;
	ok = f && fputs(doc, f) >= 0;
	ok = f && fclose(f) == 0 && ok;
	struct genesis parsed;
	if (ok && genesis_parse(&parsed, doc, strlen(doc), err, sizeof(err)) == GENESIS_OK) {
		genesis_params(params,
		               &parsed); /* what every pre-signed tx needs: chain id, fees */
		genesis_release(&parsed);
	} else {
		fprintf(stderr, "dark_transfers: genesis: %s\n", err[0] ? err : "cannot write it");
		ok = false;
	}
	free(doc);
	json_decref(g);
	return ok;
}

/* alice's validator key file (light Argon2: a throw-away chain). */
static bool write_alice_key(const char *path)
{
	uint8_t seed[32];
	char *doc = NULL;
	const struct keystore_params light = KEYSTORE_PARAMS_MIN;
	bool ok = devkeys_seed("alice", seed) &&
	          keystore_seal(&doc, "alice", seed, "bench", 5, &light) == KEYSTORE_OK &&
	          keystore_write_file(path, doc) == KEYSTORE_OK;
	sodium_memzero(seed, sizeof(seed));
	free(doc);
	return ok;
}

static bool start_node(struct bench *b)
{
	char err[512];
	struct node_config cfg;
	snprintf(b->gpath, sizeof(b->gpath), "%s/genesis.json", b->dir);
	snprintf(b->kpath, sizeof(b->kpath), "%s/alice.json", b->dir);
	snprintf(b->ndir, sizeof(b->ndir), "%s/node", b->dir);
	if (!write_genesis(b->gpath, b, &b->ch.params) || !write_alice_key(b->kpath))
		return false;
	node_config_default(&cfg);
	cfg.data_dir = b->ndir;
	cfg.genesis_path = b->gpath;
	cfg.validator_key = b->kpath;
	cfg.validator_password = "bench";
	cfg.rpc_port = 0;
	cfg.block_time_ms = b->o.block_time;
	cfg.pool_ready_txs = (uint32_t)(b->o.accounts * (b->o.per_account + 1) + 1024);
	if (node_start(&b->node, &cfg, err, sizeof(err)) != NODE_OK) {
		fprintf(stderr, "dark_transfers: node: %s\n", err);
		return false;
	}
	snprintf(b->node_url, sizeof(b->node_url), "http://127.0.0.1:%u", node_rpc_port(b->node));
	return true;
}

/* The worker `tenebra dev` runs (cli_devworker.c) on a free port: it registers, alice makes it the
 * gatekeeper of cluster 0 and deploys the dark wallet, whose Balances is the contract under load.
 */
static bool start_worker(struct bench *b)
{
	struct cmd_dev_worker_opts o = {.host = "127.0.0.1", .port = 0, .poll_ms = b->o.poll_ms};
	uint8_t alice[32], sk[64];
	b->ctx.codes = contracts_builtin;
	b->ctx.n_codes = CONTRACTS_BUILTIN_N;
	if (!(b->dev = cmd_dev_worker_start(&b->ctx, b->node, b->dir, &o)))
		return false;
	b->worker = cmd_dev_worker_worker(b->dev);
	snprintf(b->worker_url, sizeof(b->worker_url), "http://127.0.0.1:%u",
	         worker_port(b->worker));
	if (!devkeys_keypair("alice", alice, sk))
		return false;
	sodium_memzero(sk, sizeof(sk));
	contracts_id(b->contract.id, alice, 0, BALANCES_CODE_NAME, NULL, 0);
	hex_encode(b->contract.hex, b->contract.id, 32);
	return true;
}

/* Polls contract_get until the gatekeeper has published the contract's key. */
static bool wait_key(struct bench *b)
{
	struct rpc_client c;
	double end = bench_now() + 60;
	bool ok = false;
	if (rpc_client_init(&c, b->node_url, 10000) != RPC_OK)
		return false;
	while (!ok && bench_now() < end) {
		json_t *res = NULL;
		const char *x = NULL;
		if (rpc_call(&c, "contract_get", json_pack("[s]", b->contract.hex), &res) == RPC_OK)
			x = json_string_value(
			    json_object_get(json_object_get(res, "keys"), "x25519"));
		ok = x && hex_decode_exact(b->contract.pk, 32, x);
		json_decref(res);
		if (!ok)
			usleep(50000);
	}
	rpc_client_release(&c);
	if (!ok)
		fprintf(stderr,
		        "dark_transfers: the contract's key was not published within 60 s\n");
	return ok;
}

/* ---- 3. Transactions --------------------------------------------------------------------- */

static void rand_fill(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

/* Signs acc's call with the given nonce into buf; returns its length (0 on failure) and its
 * id. valid_until is near the chain's limit: the load may run for minutes. */
static size_t sign_call(struct bench *b, const struct bench_acct *a, uint64_t nonce, uint8_t fn,
                        const uint8_t *payload, size_t len, uint8_t buf[TX_BUF], uint8_t id[32])
{
	struct worker_tx_chain ch = b->ch;
	struct tx tx;
	struct enc e;
	ch.nonce = nonce;
	uint64_t until = node_height(b->node) + TX_MAX_MORTALITY - 64;
	if (!worker_tx_fill(&tx, &ch, a->sk, until, RUNTIME_MODULE_CONTRACTS, fn, payload, len, 0))
		return 0;
	enc_init_fixed(&e, buf, TX_BUF);
	tx_encode(&e, &tx);
	if (enc_finish(&e) != CODEC_OK)
		return 0;
	tx_id(id, buf, e.len - TX_SIG_LEN);
	return e.len;
}

/* The push_command tx of a TRANSFER of `amount` from account i to `dest`, nonce `nonce`. */
static size_t sign_transfer(struct bench *b, size_t i, const uint8_t dest[32], u128 amount,
                            uint64_t nonce, uint8_t buf[TX_BUF], uint8_t id[32])
{
	uint8_t pt[BALANCES_COMMAND_LEN], ct[CMD_CT_LEN], payload[32 + 8 + CMD_CT_LEN];
	struct env_command_ctx cc;
	struct enc e;
	enc_init_fixed(&e, pt, sizeof(pt));
	enc_u8(&e, BALANCES_CMD_TRANSFER);
	enc_raw(&e, dest, 32);
	enc_u128(&e, amount);
	memcpy(cc.chain_id, b->ch.params.chain_id, 32);
	memcpy(cc.contract_id, b->contract.id, 32);
	memcpy(cc.sender, b->acc[i].pk, 32);
	cc.nonce = nonce;
	if (env_command_seal(CLI_CONTRACT_AEAD, b->contract.pk, &cc, pt, sizeof(pt), rand_fill,
	                     NULL, ct) != ENV_OK)
		return 0;
	enc_init_fixed(&e, payload, sizeof(payload));
	contracts_push_payload(&e, b->contract.id, ct, sizeof(ct));
	if (enc_finish(&e) != CODEC_OK)
		return 0;
	return sign_call(b, &b->acc[i], nonce, CONTRACTS_FN_PUSH_COMMAND, payload, e.len, buf, id);
}

static void append_tx(FILE *f, const uint8_t *tx, size_t len)
{
	uint8_t leb[10];
	struct enc e;
	enc_init_fixed(&e, leb, sizeof(leb));
	enc_uleb(&e, len);
	fwrite(leb, 1, e.len, f);
	fwrite(tx, 1, len, f);
}

/* Counts "error" members in a POST /txs answer (a refused tx). */
static size_t count_errors(void *p, size_t sz, size_t nm, void *ctx)
{
	const char *s = p;
	size_t n = sz * nm, *errors = ctx;
	for (size_t i = 0; i + 7 < n; i++)
		if (memcmp(s + i, "\"error\"", 7) == 0)
			(*errors)++;
	return n;
}

/* POSTs one /txs body; returns the txs refused (the whole body when the request failed). */
static size_t post_txs(CURL *h, const char *url, const char *body, size_t len, size_t txs)
{
	size_t errors = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_errors);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &errors);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	return curl_easy_perform(h) == CURLE_OK ? errors : txs;
}

static CURL *binary_client(struct curl_slist **hdr)
{
	CURL *h = curl_easy_init();
	*hdr = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdr);
	return h;
}

/* ---- 4. Deposits ------------------------------------------------------------------------- */

static enum cli_poll issuance_reached(void *arg, const struct cli_answer *a)
{
	const u128 *want = arg;
	struct dec d;
	if (a->result != CONTRACT_OK || a->len != 16 + 16 + 8)
		return fprintf(stderr, "dark_transfers: ISSUANCE answered %u\n", a->result),
		       CLI_POLL_FAIL;
	dec_init(&d, a->body, a->len);
	return dec_u128(&d) >= *want ? CLI_POLL_DONE : CLI_POLL_WAIT;
}

/* Every account deposits o.deposit (nonce 0); waits until the contract's issuance shows all. */
static bool deposit_all(struct bench *b)
{
	uint8_t payload[CONTRACTS_DEPOSIT_PAYLOAD_LEN], tx[TX_BUF], id[32];
	char url[96], *body = NULL;
	size_t len = 0, errors = 0;
	struct curl_slist *hdr;
	CURL *h = binary_client(&hdr);
	contracts_deposit_payload(payload, b->contract.id, b->o.deposit);
	snprintf(url, sizeof(url), "%s/txs", b->node_url);
	for (size_t i = 0; i < b->o.accounts; i += 1000) {
		size_t n = b->o.accounts - i < 1000 ? b->o.accounts - i : 1000, bad = 0;
		FILE *f = open_memstream(&body, &len);
		for (size_t j = i; f && j < i + n; j++) {
			size_t tl = sign_call(b, &b->acc[j], 0, CONTRACTS_FN_DEPOSIT, payload,
			                      sizeof(payload), tx, id);
			bad += tl == 0;
			append_tx(f, tx, tl);
		}
		if (f && fclose(f) == 0 && !bad)
			errors += post_txs(h, url, body, len, n);
		else
			errors += n;
		free(body);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (errors)
		return fprintf(stderr, "dark_transfers: %zu deposits refused\n", errors), false;
	struct cli_query q;
	u128 want = (u128)b->o.accounts * b->o.deposit;
	uint8_t req = BALANCES_Q_ISSUANCE;
	int r = cli_query_open(&q, &b->ctx, &b->contract, b->worker_url, NULL, 120);
	if (r == CLI_EXIT_OK)
		r = cli_query_poll(&q, &req, 1, "the deposits", issuance_reached, &want);
	cli_query_close(&q);
	for (size_t i = 0; i < b->o.accounts; i++)
		b->acc[i].expected = b->o.deposit;
	return r == CLI_EXIT_OK;
}

/* ---- 5. Pre-signed transfers ------------------------------------------------------------- */

/* Signs body j: nonce-major (each body holds many senders, so every tx is ready on arrival). */
static bool sign_batch(struct bench *b, size_t j)
{
	uint8_t tx[TX_BUF];
	size_t n_acc = b->o.accounts;
	FILE *f = open_memstream(&b->body[j], &b->len[j]);
	bool ok = f != NULL;
	for (size_t t = j * b->o.batch; ok && t < b->txs && t < (j + 1) * b->o.batch; t++) {
		size_t len = sign_transfer(b, t % n_acc, b->acc[b->dest[t]].pk, b->amount[t],
		                           1 + t / n_acc, tx, b->txid[t]);
		ok = len != 0;
		append_tx(f, tx, len);
	}
	if (f)
		fclose(f);
	return ok;
}

static void *presign_thread(void *p)
{
	struct bench *b = p;
	for (size_t j; (j = atomic_fetch_add(&b->next_batch, 1)) < b->n_batches;)
		if (!sign_batch(b, j))
			atomic_store(&b->presign_failed, true);
	return NULL;
}

/* Plans the transfers (random other accounts receive random amounts small enough that no
 * transfer can be refused in any order), then seals and signs them on every CPU. */
static bool presign(struct bench *b)
{
	uint64_t rng = 0x5eed;
	size_t n_acc = b->o.accounts;
	pthread_t t[16];
	unsigned n_threads = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	n_threads = n_threads < 1 ? 1 : n_threads > 16 ? 16 : n_threads;
	b->txs = n_acc * b->o.per_account;
	b->n_batches = (b->txs + b->o.batch - 1) / b->o.batch;
	b->body = calloc(b->n_batches, sizeof(*b->body));
	b->len = calloc(b->n_batches, sizeof(*b->len));
	b->sent_at = calloc(b->n_batches, sizeof(*b->sent_at));
	b->txid = calloc(b->txs, sizeof(*b->txid));
	b->dest = calloc(b->txs, sizeof(*b->dest));
	b->amount = calloc(b->txs, sizeof(*b->amount));
	if (!b->body || !b->len || !b->sent_at || !b->txid || !b->dest || !b->amount)
		return false;
	u128 step = b->o.deposit / (2 * b->o.per_account);
	for (size_t i, k = 0; k < b->txs; k++) {
		i = k % n_acc;
		b->dest[k] = (i + 1 + bench_rand(&rng) % (n_acc - 1)) % n_acc;
		b->amount[k] = step / 2 + bench_rand(&rng) % (uint64_t)(step / 2);
		b->acc[i].expected -= b->amount[k];
		b->acc[b->dest[k]].expected += b->amount[k];
	}
	for (unsigned i = 0; i < n_threads; i++)
		if (pthread_create(&t[i], NULL, presign_thread, b) != 0)
			presign_thread(b), n_threads = i;
	for (unsigned i = 0; i < n_threads; i++)
		pthread_join(t[i], NULL);
	return !atomic_load(&b->presign_failed);
}

/* ---- 6. The load ------------------------------------------------------------------------- */

/* Records when the node commits and the enclave applies each height (first poll showing it),
 * and publishes the enclave's dispatched message count for the clients' window. */
static void *watch_thread(void *p)
{
	struct bench *b = p;
	struct worker_status st;
	uint64_t committed = node_height(b->node), applied;
	worker_status(b->worker, &st);
	applied = st.enclave.height;
	while (!atomic_load(&b->stop)) {
		uint64_t h = node_height(b->node);
		worker_status(b->worker, &st);
		double now = bench_now();
		for (; committed < h && committed + 1 < HEIGHTS_CAP; committed++)
			b->commit_at[committed + 1] = now;
		for (; applied < st.enclave.height && applied + 1 < HEIGHTS_CAP; applied++)
			b->applied_at[applied + 1] = now;
		atomic_store(&b->applied_msgs, st.enclave.messages_dispatched);
		atomic_store(&b->applied_height, st.enclave.height);
		usleep(500);
	}
	return NULL;
}

struct clients {
	struct bench *b;
	char url[96];
	uint64_t msgs0; /* messages dispatched before the load */
	atomic_size_t next, errors;
};

static void *client_thread(void *p)
{
	struct clients *c = p;
	struct bench *b = c->b;
	struct curl_slist *hdr;
	CURL *h = binary_client(&hdr);
	for (size_t j; (j = atomic_fetch_add(&c->next, 1)) < b->n_batches;) {
		size_t txs = j + 1 < b->n_batches ? b->o.batch : b->txs - j * b->o.batch;
		/* refused txs never reach the enclave: count them as done for the window */
		while (b->o.window && j * b->o.batch > atomic_load(&b->applied_msgs) - c->msgs0 +
		                                           atomic_load(&c->errors) + b->o.window)
			usleep(200);
		b->sent_at[j] = bench_now();
		atomic_fetch_add(&c->errors, post_txs(h, c->url, b->body[j], b->len[j], txs));
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return NULL;
}

/* Submits everything, then waits until the node has included every admitted tx and the enclave
 * has applied the head at that moment (or nothing moves for STALL_SECONDS). */
static bool run_load(struct bench *b, size_t *errors)
{
	struct clients c = {.b = b, .msgs0 = atomic_load(&b->applied_msgs)};
	struct node_stats st0, st;
	pthread_t t[64];
	snprintf(c.url, sizeof(c.url), "%s/txs", b->node_url);
	node_stats(b->node, &st0);
	unsigned n = 0;
	while (n < b->o.clients && pthread_create(&t[n], NULL, client_thread, &c) == 0)
		n++;
	if (n == 0)
		client_thread(&c);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	*errors = atomic_load(&c.errors);
	uint64_t target = 0, last_h = 0, last_done = 0;
	double last = bench_now();
	for (;;) {
		usleep(1000);
		node_stats(b->node, &st);
		uint64_t done = st.txs_applied + st.txs_failed + st.txs_skipped -
		                (st0.txs_applied + st0.txs_failed + st0.txs_skipped);
		uint64_t h = atomic_load(&b->applied_height);
		if (!target && done + *errors >= b->txs && st.pool_ready + st.pool_future == 0)
			target = node_height(b->node);
		if (target && h >= target)
			return true;
		if (h != last_h || done != last_done)
			last = bench_now();
		last_h = h;
		last_done = done;
		if (bench_now() - last > STALL_SECONDS)
			return fprintf(stderr,
			               "dark_transfers: no progress for %d s (%llu of %zu "
			               "included, enclave at %llu)\n",
			               STALL_SECONDS, (unsigned long long)done, b->txs,
			               (unsigned long long)h),
			       false;
	}
}

/* ---- 7. Where each tx landed ------------------------------------------------------------- */

/* tx_status of txs [from, from + n) in one JSON-RPC batch: heights[] (0 unknown), failed calls
 * counted in *failed. */
static bool status_batch(CURL *h, const struct bench *b, size_t from, size_t n, uint64_t *heights,
                         size_t *failed)
{
	char *req = NULL, *resp = NULL, hex[65];
	size_t rlen = 0, qlen = 0;
	FILE *q = open_memstream(&req, &qlen), *f = open_memstream(&resp, &rlen);
	for (size_t i = 0; i < n; i++)
		fprintf(q,
		        "%s{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":\"tx_status\",\"params\":"
		        "[\"%s\"]}",
		        i ? "," : "[", from + i, hex_encode(hex, b->txid[from + i], 32));
	fputc(']', q);
	fclose(q);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)qlen);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	bool ok = curl_easy_perform(h) == CURLE_OK;
	fclose(f);
	json_t *arr = ok ? json_loads(resp, 0, NULL) : NULL;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		json_t *a = json_array_get(arr, i), *res = json_object_get(a, "result");
		json_int_t id = json_integer_value(json_object_get(a, "id"));
		json_t *hj = json_object_get(res, "height");
		if (id < (json_int_t)from || id >= (json_int_t)(from + n) || !json_is_integer(hj))
			continue;
		heights[id] = (uint64_t)json_integer_value(hj);
		*failed += json_is_false(json_object_get(res, "success"));
	}
	ok = ok && json_array_size(arr) == n;
	json_decref(arr);
	free(req);
	free(resp);
	return ok;
}

static uint64_t *inclusion_heights(const struct bench *b, size_t *failed)
{
	uint64_t *heights = calloc(b->txs, sizeof(*heights));
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *h = curl_easy_init();
	char url[96];
	bool ok = heights != NULL;
	snprintf(url, sizeof(url), "%s/", b->node_url);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	for (size_t i = 0; ok && i < b->txs; i += STATUS_BATCH)
		ok = status_batch(h, b, i, b->txs - i < STATUS_BATCH ? b->txs - i : STATUS_BATCH,
		                  heights, failed);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (!ok) {
		fprintf(stderr, "dark_transfers: tx_status failed\n");
		free(heights);
		return NULL;
	}
	return heights;
}

/* ---- 8. Every account's dark balance, as the contract reports it ------------------------- */

/* Returns the accounts whose BALANCE answer differs from the expected balance (or fails). */
static size_t check_balances(struct bench *b)
{
	struct cli_query q;
	size_t bad = 0;
	if (cli_query_open(&q, &b->ctx, &b->contract, b->worker_url, b->acc[0].sk, 60) !=
	    CLI_EXIT_OK) {
		cli_query_close(&q);
		return b->o.accounts;
	}
	for (size_t i = 0; i < b->o.accounts; i++) {
		uint8_t req[33] = {BALANCES_Q_BALANCE};
		struct cli_answer a;
		memcpy(req + 1, b->acc[i].pk, 32);
		q.sk = b->acc[i].sk; /* each account may only ask for its own balance */
		struct dec d;
		bool ok = cli_query_run(&q, req, sizeof(req), &a) == CLI_EXIT_OK &&
		          a.result == CONTRACT_OK && a.len == 16 + 8;
		if (ok) {
			dec_init(&d, a.body, a.len);
			ok = dec_u128(&d) == b->acc[i].expected;
		}
		cli_answer_free(&a);
		if (!ok && bad++ < 3)
			fprintf(stderr, "dark_transfers: account %zu: wrong dark balance\n", i);
	}
	cli_query_close(&q);
	return bad;
}

/* ---- 9. The busiest thread (Linux /proc): is the run bound by one serial thread? --------- */

#define THREADS_MAX 512

struct thread_cpu {
	int tid;
	double cpu; /* seconds of user + system time */
};

static size_t threads_snapshot(struct thread_cpu *t)
{
	size_t n = 0;
	double tick = (double)sysconf(_SC_CLK_TCK);
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *de; d && n < THREADS_MAX && (de = readdir(d));) {
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		FILE *f = de->d_name[0] != '.' ? fopen(path, "r") : NULL;
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		const char *p = strrchr(buf, ')');
		unsigned long long ut = 0, st = 0;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		                &st) == 2)
			t[n++] = (struct thread_cpu){atoi(de->d_name), (double)(ut + st) / tick};
	}
	if (d)
		closedir(d);
	return n;
}

/* The CPU seconds the busiest thread used between two snapshots. */
static double busiest_thread(const struct thread_cpu *a, size_t na, const struct thread_cpu *b,
                             size_t nb)
{
	double best = 0;
	for (size_t i = 0; i < nb; i++) {
		double before = 0;
		for (size_t j = 0; j < na; j++)
			if (a[j].tid == b[i].tid)
				before = a[j].cpu;
		best = b[i].cpu - before > best ? b[i].cpu - before : best;
	}
	return best;
}

/* ---- 10. Report -------------------------------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;
	return (a > c) - (a < c);
}

struct result {
	double t0, t_end, secs, p50, p99, max, inc_p50, inc_p99;
	uint64_t first_h, last_h;
	size_t measured;
};

/* Throughput and latency (submit -> the first poll showing the enclave past the tx's block). */
static bool compute(const struct bench *b, const uint64_t *heights, struct result *r)
{
	double *lat = calloc(b->txs, sizeof(*lat)), *inc = calloc(b->txs, sizeof(*inc));
	*r = (struct result){.t0 = 1e300, .first_h = UINT64_MAX};
	for (size_t j = 0; j < b->n_batches; j++)
		r->t0 = b->sent_at[j] < r->t0 ? b->sent_at[j] : r->t0;
	for (size_t t = 0; lat && inc && t < b->txs; t++) {
		uint64_t h = heights[t];
		if (h == 0 || h >= HEIGHTS_CAP || b->applied_at[h] == 0)
			continue;
		double sent = b->sent_at[t / b->o.batch];
		lat[r->measured] = b->applied_at[h] - sent;
		inc[r->measured++] = b->commit_at[h] - sent;
		r->last_h = h > r->last_h ? h : r->last_h;
		r->first_h = h < r->first_h ? h : r->first_h;
	}
	bool ok = r->measured > 0;
	if (ok) {
		qsort(lat, r->measured, sizeof(*lat), cmp_double);
		qsort(inc, r->measured, sizeof(*inc), cmp_double);
		r->p50 = lat[r->measured / 2];
		r->p99 = lat[r->measured * 99 / 100];
		r->max = lat[r->measured - 1];
		r->inc_p50 = inc[r->measured / 2];
		r->inc_p99 = inc[r->measured * 99 / 100];
		r->t_end = b->applied_at[r->last_h];
		r->secs = r->t_end - r->t0;
	}
	free(lat);
	free(inc);
	return ok;
}

/* CPU seconds used while the load ran (wall seconds), in all and by the busiest thread. */
struct load_cpu {
	double all, busiest, wall;
};

static void report(const struct bench *b, const struct result *r, const struct load_cpu *lc,
                   size_t failed, struct ceiling c_before, struct ceiling c_after)
{
	struct rusage ru;
	char dep[AMOUNT_STR_MAX];
	getrusage(RUSAGE_SELF, &ru);
	double tps = (double)r->measured / r->secs, ceiling = (c_before.wall + c_after.wall) / 2;
	double ceiling_cpu = (c_before.cpu + c_after.cpu) / 2;
	printf("accounts:              %zu, each deposited %s PHA, then sent %zu dark transfers\n",
	       b->o.accounts, amount_format_pha(dep, b->o.deposit), b->o.per_account);
	printf("dark transfers:        %zu submitted, %zu applied in the contract (%zu failed "
	       "calls on chain)\n",
	       b->txs, r->measured, failed);
	printf("applied transfers/s:   %.0f   (%.2f s from the first submit to the last block "
	       "applied; blocks %llu..%llu, block time %u ms)\n",
	       tps, r->secs, (unsigned long long)r->first_h, (unsigned long long)r->last_h,
	       b->o.block_time);
	printf("latency:               p50 %.0f ms, p99 %.0f ms, max %.0f ms (submit -> applied "
	       "by the enclave; window %zu%s)\n",
	       r->p50 * 1e3, r->p99 * 1e3, r->max * 1e3, b->o.window,
	       b->o.window ? "" : " = everything at once");
	printf("  of which in a block: p50 %.0f ms, p99 %.0f ms (submit -> committed)\n",
	       r->inc_p50 * 1e3, r->inc_p99 * 1e3);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf(
	    "CPU during load:       %.2f s of %.2f s available (%ld CPUs); busiest thread %.2f s "
	    "(%.0f%% of the wall time; near 100%% a serial thread bounds the run)\n",
	    lc->all, lc->wall * (double)cpus, cpus, lc->busiest, 100 * lc->busiest / lc->wall);
	printf("ceiling (ONE core):    %.0f transfers/s = 1 / (Ed25519 verify + X25519 + AEAD open "
	       "of a %d-byte command) on one core, as the enclave applies commands serially (same "
	       "run: %.0f before, %.0f after)\n",
	       ceiling, BALANCES_COMMAND_LEN, c_before.wall, c_after.wall);
	printf("ratio:                 %.3f   (applied transfers/s / ceiling; goal >= 0.5)\n",
	       tps / ceiling);
	printf("per CPU second:        busiest thread %.1f us per transfer, all threads %.1f us; "
	       "the ceiling's crypto %.1f us (CPU time: less moved by other processes than wall "
	       "time)\n",
	       1e6 * lc->busiest / (double)r->measured, 1e6 * lc->all / (double)r->measured,
	       1e6 / ceiling_cpu);
	printf("peak RSS:              %.1f MiB (node, worker and load generator in one process)\n",
	       (double)ru.ru_maxrss / 1024.0);
}

/* ---- main -------------------------------------------------------------------------------- */

static bool parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"accounts", 1, 0, 'a'},
	                                   {"txs-per-account", 1, 0, 'k'},
	                                   {"batch", 1, 0, 'b'},
	                                   {"clients", 1, 0, 'c'},
	                                   {"window", 1, 0, 'w'},
	                                   {"block-time", 1, 0, 't'},
	                                   {"worker-poll-ms", 1, 0, 'p'},
	                                   {"ceiling-seconds", 1, 0, 's'},
	                                   {0, 0, 0, 0}};
	int c;
	*o = (struct opts){.accounts = 4000,
	                   .per_account = 15,
	                   .batch = 500,
	                   .clients = 2,
	                   .window = 10000,
	                   .block_time = 200,
	                   .poll_ms = 200,
	                   .ceiling_s = 2.0,
	                   .deposit = 100 * AMOUNT_ONE_PHA};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 10) : 0;
		switch (c) {
		case 'a':
			o->accounts = v;
			break;
		case 'k':
			o->per_account = v;
			break;
		case 'b':
			o->batch = v;
			break;
		case 'c':
			o->clients = (unsigned)v;
			break;
		case 'w':
			o->window = v;
			break;
		case 't':
			o->block_time = (unsigned)v;
			break;
		case 'p':
			o->poll_ms = (unsigned)v;
			break;
		case 's':
			o->ceiling_s = (double)v;
			break;
		default:
			return false;
		}
	}
	/* per_account: the pool holds at most 16 pending txs per sender (mempool.h) */
	return o->accounts >= 2 && o->accounts <= BALANCES_ACCOUNTS_MAX - 1 &&
	       o->per_account >= 1 && o->per_account <= 15 && o->batch >= 1 && o->batch <= 1000 &&
	       o->clients >= 1 && o->clients <= 64 && o->block_time >= 10 && o->poll_ms >= 1 &&
	       o->ceiling_s >= 1;
}

/* Accounts, node, worker, governance, the contract, deposits. */
static bool setup(struct bench *b)
{
	b->acc = sodium_malloc(b->o.accounts * sizeof(*b->acc));
	b->commit_at = calloc(HEIGHTS_CAP, sizeof(double));
	b->applied_at = calloc(HEIGHTS_CAP, sizeof(double));
	if (!b->acc || !b->commit_at || !b->applied_at)
		return false;
	for (size_t i = 0; i < b->o.accounts; i++) {
		uint8_t seed[32];
		account_seed(seed, i);
		sig_keypair_from_seed(b->acc[i].pk, b->acc[i].sk, seed);
	}
	cli_ctx_init(&b->ctx);
	b->ctx.keystore = b->dir; /* only dev names are used */
	double t = bench_now();
	if (!start_node(b) || !start_worker(b))
		return false;
	b->ctx.rpc_url = b->node_url;
	if (!wait_key(b))
		return false;
	printf("setup:                 node, worker, gatekeeper, balances %.16s... deployed and "
	       "keyed in %.1f s\n",
	       b->contract.hex, bench_now() - t);
	t = bench_now();
	if (!deposit_all(b))
		return false;
	printf("deposits:              %zu applied in %.1f s\n", b->o.accounts, bench_now() - t);
	return true;
}

/* Load, measurement, verification, report. Returns the exit status. */
static int measure(struct bench *b, struct ceiling c_before)
{
	pthread_t wt;
	size_t errors = 0, failed = 0;
	struct result r;
	double t = bench_now();
	if (!presign(b))
		return 1;
	printf("pre-signed:            %zu push_command txs in %.1f s (not timed)\n", b->txs,
	       bench_now() - t);
	struct worker_status ws;
	worker_status(b->worker, &ws); /* the window counts from here */
	atomic_store(&b->applied_msgs, ws.enclave.messages_dispatched);
	atomic_store(&b->applied_height, ws.enclave.height);
	if (pthread_create(&wt, NULL, watch_thread, b) != 0)
		return 1;
	static struct thread_cpu th0[THREADS_MAX], th1[THREADS_MAX];
	size_t n0 = threads_snapshot(th0);
	double cpu0 = bench_cpu(), w0 = bench_now();
	bool ok = run_load(b, &errors);
	struct load_cpu lc = {bench_cpu() - cpu0, 0, bench_now() - w0};
	lc.busiest = busiest_thread(th0, n0, th1, threads_snapshot(th1));
	atomic_store(&b->stop, true);
	pthread_join(wt, NULL);
	uint64_t *heights = ok ? inclusion_heights(b, &failed) : NULL;
	if (!heights || !compute(b, heights, &r)) {
		free(heights);
		return 1;
	}
	free(heights);
	size_t bad = check_balances(b);
	report(b, &r, &lc, failed, c_before, measure_ceiling(b->o.ceiling_s));
	printf("verified:              %zu of %zu dark balances as expected (BALANCE queries)\n",
	       b->o.accounts - bad, b->o.accounts);
	return errors || failed || bad || r.measured != b->txs ? 1 : 0;
}

static void teardown(struct bench *b)
{
	cmd_dev_worker_stop(b->dev);
	node_free(b->node);
	for (size_t j = 0; b->body && j < b->n_batches; j++)
		free(b->body[j]);
	free(b->body);
	free(b->len);
	free(b->sent_at);
	free(b->txid);
	free(b->dest);
	free(b->amount);
	free(b->commit_at);
	free(b->applied_at);
	sodium_free(b->acc);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", b->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "dark_transfers: could not remove %s\n", b->dir);
}

int main(int argc, char **argv)
{
	static struct bench b;
	snprintf(b.dir, sizeof(b.dir), "/tmp/tn-dark-XXXXXX");
	if (sodium_init() < 0 || !parse_opts(&b.o, argc, argv) || !mkdtemp(b.dir)) {
		fprintf(stderr,
		        "usage: dark_transfers [--accounts 2..%d] [--txs-per-account 1..15] "
		        "[--batch 1..1000] [--clients C] [--window W] [--block-time MS] "
		        "[--worker-poll-ms MS] [--ceiling-seconds S]\n",
		        BALANCES_ACCOUNTS_MAX - 1);
		return 2;
	}
	log_set_level(LOG_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	struct ceiling c_before = measure_ceiling(b.o.ceiling_s);
	int rc = setup(&b) ? measure(&b, c_before) : 1;
	teardown(&b);
	curl_global_cleanup();
	return rc;
}
