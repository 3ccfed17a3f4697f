/*
 * Transaction pool benchmark. Builds --txs encoded txs (~200 B) from --senders senders (nonces
 * 0..txs/senders-1, fee per byte random), then:
 *   1. adds them all to a pool sized to hold them (nonce-major order: every add is ready),
 *      then produces blocks of --block txs: reap, "execute" (account nonces advance), update;
 *   2. adds them to a pool with the default caps (8192 ready), where most adds evict or fail.
 * Prints adds/s for both and the reap and update time per block. The pool does not check
 * signatures, so the txs carry none (the sender keys are fake).
 *
 *   bench/mempool [--txs N] [--senders N] [--block N] [--seed N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "chain/mempool.h"
#include "chain/tx.h"

#define PAYLOAD_LEN 20
#define TX_LEN      (TX_FIXED_BODY_LEN + 1 + PAYLOAD_LEN + TX_SIG_LEN)

struct opts {
	size_t txs, senders, block;
	uint64_t seed;
};

struct btx {
	uint8_t bytes[TX_LEN];
	struct tx tx;
	uint8_t id[TX_ID_LEN];
	u128 fee;
};

struct bench {
	struct opts o;
	struct btx *txs;
	uint64_t *chain_nonce; /* per sender: the nonce after the txs executed so far */
};

/* The fake key of sender i carries i in its first four bytes. */
static uint32_t sender_index(const uint8_t pk[TX_ACCOUNT_LEN])
{
	uint32_t i;
	memcpy(&i, pk, sizeof(i));
	return i;
}

/* Tx k is sender k % senders' nonce k / senders: in order of k every add extends a ready run. */
static void build_txs(struct bench *b)
{
	uint64_t rng = b->o.seed | 1;
	uint8_t payload[PAYLOAD_LEN] = {0};
	for (size_t k = 0; k < b->o.txs; k++) {
		struct btx *t = &b->txs[k];
		uint32_t s = (uint32_t)(k % b->o.senders);
		struct tx tx = {.version = TX_VERSION,
		                .nonce = k / b->o.senders,
		                .valid_until = UINT64_MAX,
		                .max_fee = 1000000,
		                .module = 1,
		                .function = 1,
		                .payload = payload,
		                .payload_len = PAYLOAD_LEN};
		memcpy(tx.sender, &s, sizeof(s));
		memcpy(payload, &k, sizeof(k));
		struct enc e;
		enc_init_fixed(&e, t->bytes, sizeof(t->bytes));
		tx_encode(&e, &tx);
		if (enc_finish(&e) != CODEC_OK || e.len != TX_LEN ||
		    tx_decode(&t->tx, t->bytes, e.len) != CODEC_OK) {
			fprintf(stderr, "bench: cannot encode tx %zu\n", k);
			exit(1);
		}
		tx_id(t->id, t->bytes, t->tx.body_len);
		t->fee = (u128)TX_LEN * (1 + bench_rand(&rng) % 1000);
	}
}

static size_t add_all(struct bench *b, struct mempool *mp, double *secs)
{
	size_t ok = 0;
	double t0 = bench_now();
	for (size_t k = 0; k < b->o.txs; k++) {
		const struct btx *t = &b->txs[k];
		enum mempool_status where;
		ok += mempool_add(mp, t->bytes, TX_LEN, &t->tx, t->id,
		                  b->chain_nonce[sender_index(t->tx.sender)], t->fee,
		                  &where) == MEMPOOL_OK;
	}
	*secs = bench_now() - t0;
	return ok;
}

static bool bench_nonce(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce)
{
	const struct bench *b = ctx;
	*nonce = b->chain_nonce[sender_index(sender)];
	return true;
}

/* Reap + execute + update until the pool is empty; prints per-block times. */
static int produce_blocks(struct bench *b, struct mempool *mp)
{
	size_t max_bytes = b->o.block * TX_LEN;
	uint8_t *buf = malloc(max_bytes);
	struct mempool_item *items = calloc(b->o.block, sizeof(*items));
	if (!buf || !items) {
		free(buf);
		free(items);
		return 1;
	}
	double reap_s = 0, update_s = 0;
	size_t blocks = 0, total = 0;
	for (uint64_t height = 1;; height++) {
		double t0 = bench_now();
		size_t n = mempool_reap(mp, buf, max_bytes, items, b->o.block);
		double t1 = bench_now();
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			struct tx tx;
			if (tx_decode(&tx, buf + items[i].offset, items[i].len) != CODEC_OK ||
			    tx.nonce != b->chain_nonce[sender_index(tx.sender)]) {
				fprintf(stderr, "bench: reaped tx out of nonce order\n");
				return 1;
			}
			b->chain_nonce[sender_index(tx.sender)]++;
		}
		double t2 = bench_now();
		mempool_update(mp, bench_nonce, NULL, b, height + 1);
		update_s += bench_now() - t2;
		reap_s += t1 - t0;
		blocks++;
		total += n;
	}
	printf("blocks: %zu of up to %zu txs (%zu txs): reap %.2f ms/block, update %.2f ms/block\n",
	       blocks, b->o.block, total, blocks ? reap_s * 1e3 / (double)blocks : 0.0,
	       blocks ? update_s * 1e3 / (double)blocks : 0.0);
	free(buf);
	free(items);
	return total == b->o.txs ? 0 : 1;
}

static int run(struct bench *b)
{
	struct mempool_config big;
	mempool_config_default(&big);
	big.ready_max_txs = (uint32_t)b->o.txs;
	big.ready_max_bytes = b->o.txs * TX_LEN;
	big.seen_cache = (uint32_t)b->o.txs;
	struct mempool *mp = NULL;
	if (mempool_new(&mp, &big) != MEMPOOL_OK)
		return 1;
	double secs;
	size_t ok = add_all(b, mp, &secs);
	printf("add (pool holds all): %zu/%zu txs from %zu senders in %.3f s = %.0f adds/s\n", ok,
	       b->o.txs, b->o.senders, secs, (double)b->o.txs / secs);
	int rc = ok == b->o.txs ? produce_blocks(b, mp) : 1;
	mempool_free(mp);

	struct mempool_config dflt;
	mempool_config_default(&dflt);
	if (rc != 0 || mempool_new(&mp, &dflt) != MEMPOOL_OK)
		return 1;
	memset(b->chain_nonce, 0, b->o.senders * sizeof(*b->chain_nonce));
	ok = add_all(b, mp, &secs);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	printf("add (default caps, evicting): %zu/%zu accepted in %.3f s = %.0f adds/s; "
	       "left ready %zu, future %zu\n",
	       ok, b->o.txs, secs, (double)b->o.txs / secs, st.ready_txs, st.future_txs);
	mempool_free(mp);
	return 0;
}

static int parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){100000, 10000, 10000, 1};
	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long long v = strtoull(argv[i + 1], NULL, 10);
		if (strcmp(argv[i], "--txs") == 0)
			o->txs = v;
		else if (strcmp(argv[i], "--senders") == 0)
			o->senders = v;
		else if (strcmp(argv[i], "--block") == 0)
			o->block = v;
		else if (strcmp(argv[i], "--seed") == 0)
			o->seed = v;
		else
			return 1;
	}
	if (argc % 2 == 0 || o->senders == 0 || o->block == 0 || o->txs == 0 ||
	    o->txs / o->senders > 16 || o->txs > (1u << 24)) {
		fprintf(stderr, "usage: mempool [--txs N] [--senders N (>= txs/16)] [--block N] "
		                "[--seed N]\n");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	if (parse(&b.o, argc, argv) != 0)
		return 2;
	b.txs = calloc(b.o.txs, sizeof(*b.txs));
	b.chain_nonce = calloc(b.o.senders, sizeof(*b.chain_nonce));
	int rc = b.txs && b.chain_nonce ? (build_txs(&b), run(&b)) : 1;
	free(b.txs);
	free(b.chain_nonce);
	return rc;
}
