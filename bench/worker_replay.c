/*
 * Worker replay (docs/performance.md "Worker replay"): blocks/s and messages/s that the enclave
 * verifies and dispatches from pre-built feeds (the light client: commit_verify of one Ed25519
 * precommit, msgs_root, then dispatch by topic), against the Ed25519-verify ceiling measured in
 * the same run; then the restart from a sealed checkpoint (enclave_new + enclave_start).
 *
 *   bench/worker_replay [--blocks N] [--msgs M]
 *
 * The chain is the dev genesis (alice validates), built here without a node: headers chained by
 * hash, commits signed by alice, M outbound messages per block on a topic no part of the enclave
 * consumes (so the figure is verification plus routing, not a contract's work).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "chain/attest.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/mq.h"
#include "crypto/devkeys.h"
#include "crypto/hash.h"
#include "crypto/sig.h"
#include "enclave/enclave.h"
#include "worker/platform.h"

struct chain {
	uint8_t id[32], hash[32], sk[64];
	uint64_t height, time_ms;
	struct valset set;
};

static void chain_init(struct chain *c, const char *genesis)
{
	struct genesis g;
	char err[200];
	uint8_t pk[32];
	memset(c, 0, sizeof(*c));
	if (genesis_parse(&g, genesis, strlen(genesis), err, sizeof(err)) != GENESIS_OK) {
		fprintf(stderr, "dev genesis: %s\n", err);
		exit(1);
	}
	genesis_hash(c->id, &g);
	c->time_ms = g.genesis_time_ms;
	genesis_release(&g);
	if (!devkeys_keypair("alice", pk, c->sk))
		exit(1);
	c->set.n = 1;
	memcpy(c->set.v[0].pub_key, pk, 32);
	c->set.v[0].power = 1;
}

/* The encoded feed of the next block carrying n_msgs messages; advances c. */
static void next_feed(struct chain *c, struct enc *out, size_t n_msgs, uint64_t *seq)
{
	struct block_feed f;
	uint8_t payload[64], bufs[64][160];
	const uint8_t *msgs[64];
	size_t lens[64];
	memset(&f, 0, sizeof(f));
	memset(payload, 0xab, sizeof(payload));
	for (size_t i = 0; i < n_msgs; i++) {
		struct mq_message m = {.origin = {.kind = MQ_ORIGIN_MODULE, .module = "bench"},
		                       .topic = (const uint8_t *)"bench/noop",
		                       .topic_len = 10,
		                       .payload = payload,
		                       .payload_len = sizeof(payload),
		                       .sequence = (*seq)++};
		struct enc e;
		enc_init_fixed(&e, bufs[i], sizeof(bufs[i]));
		mq_message_encode(&e, &m);
		msgs[i] = bufs[i];
		lens[i] = e.len;
	}
	struct header *h = &f.header;
	h->version = HEADER_VERSION;
	h->height = ++c->height;
	h->time_ms = (c->time_ms += 1000);
	memcpy(h->chain_id, c->id, 32);
	memcpy(h->prev_hash, c->hash, 32);
	valset_hash(h->validators_hash, &c->set);
	memcpy(h->next_validators_hash, h->validators_hash, 32);
	memcpy(h->proposer, c->set.v[0].pub_key, 32);
	block_msgs_root(h->msgs_root, msgs, lens, n_msgs);
	header_hash(c->hash, h);
	commit_init(&f.commit, h->height, 0, c->hash, 1);
	commit_sign(&f.commit, 0, c->id, c->sk);
	f.msgs = msgs;
	f.msg_lens = lens;
	f.n_msgs = n_msgs;
	block_feed_encode(out, &f);
}

/* Ed25519 verifies per second on one core (the replay runs on one thread). */
static double verify_ceiling(void)
{
	uint8_t pk[32], sk[64], sig[64], msg[VOTE_SIGN_BYTES_LEN] = {1};
	if (!devkeys_keypair("bob", pk, sk))
		return 0;
	sig_sign(sig, msg, sizeof(msg), sk);
	int n = 20000, ok = 0;
	double t0 = bench_now();
	for (int i = 0; i < n; i++)
		ok += sig_verify(sig, msg, sizeof(msg), pk);
	double dt = bench_now() - t0;
	return ok == n ? n / dt : 0;
}

static struct enclave *enclave_open(struct platform **pl, const char *dir)
{
	struct enclave_platform p;
	struct enclave_config cfg = {.max_contracts = 16,
	                             .max_egress = 64,
	                             .max_query_bytes = 1 << 16,
	                             .max_response_bytes = 1 << 16,
	                             .max_query_ahead = 1000,
	                             .max_state_bytes = 1 << 26};
	uint8_t apk[32], ask[64];
	char err[200];
	attest_dev_sim_keypair(apk, ask);
	if (platform_sim_open(pl, &p, dir, apk, ask, err, sizeof(err)) != PLATFORM_OK) {
		fprintf(stderr, "sim platform: %s\n", err);
		exit(1);
	}
	sodium_memzero(ask, sizeof(ask));
	return enclave_new(&p, &cfg);
}

static int parse_args(int argc, char **argv, unsigned long *blocks, unsigned long *msgs)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--blocks") == 0)
			*blocks = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--msgs") == 0)
			*msgs = strtoul(argv[i + 1], NULL, 10);
		else
			return -1;
	}
	return *blocks > 0 && *msgs <= 64 && argc % 2 == 1 ? 0 : -1;
}

/* Builds the feeds: offsets into one buffer. */
static struct enc build_feeds(struct chain *c, unsigned long blocks, unsigned long msgs,
                              size_t *off)
{
	struct enc all;
	uint64_t seq = 0;
	enc_init(&all, (size_t)1 << 34);
	for (unsigned long i = 0; i < blocks; i++) {
		off[i] = all.len;
		next_feed(c, &all, msgs, &seq);
	}
	off[blocks] = all.len;
	return all;
}

static double replay(struct enclave *e, const struct enc *all, const size_t *off,
                     unsigned long blocks)
{
	char err[256];
	double t0 = bench_now();
	for (unsigned long i = 0; i < blocks; i++) {
		enum enclave_result r =
		    enclave_feed_block(e, all->buf + off[i], off[i + 1] - off[i], err, sizeof(err));
		if (r != ENCLAVE_OK) {
			fprintf(stderr, "block %lu refused: %s: %s\n", i + 1, enclave_strerror(r),
			        err);
			exit(1);
		}
	}
	return bench_now() - t0;
}

/* Seals a checkpoint, then times a new enclave starting from it. */
static void restart(struct enclave *e, const char *dir, const char *genesis)
{
	struct enc ck;
	struct platform *pl;
	enc_init(&ck, (size_t)1 << 30);
	double t0 = bench_now();
	if (enclave_checkpoint(e, &ck) != ENCLAVE_OK)
		exit(1);
	double t_seal = bench_now() - t0;
	t0 = bench_now();
	struct enclave *e2 = enclave_open(&pl, dir);
	enum enclave_result r =
	    enclave_start(e2, (const uint8_t *)genesis, strlen(genesis), ck.buf, ck.len);
	double t_start = bench_now() - t0;
	printf(
	    "checkpoint: %zu bytes sealed in %.2f ms; restart from it (platform + enclave_start) "
	    "%.2f ms: %s\n",
	    ck.len, t_seal * 1e3, t_start * 1e3, enclave_strerror(r));
	enclave_free(e2);
	platform_free(pl);
	enc_release(&ck);
}

int main(int argc, char **argv)
{
	unsigned long blocks = 10000, msgs = 0;
	char dir[] = "/tmp/tn-bench-replay-XXXXXX";
	struct platform *pl;
	struct chain c;
	if (sodium_init() < 0 || parse_args(argc, argv, &blocks, &msgs) != 0 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: worker_replay [--blocks N] [--msgs M (0..64)]\n");
		return 2;
	}
	char *genesis = genesis_dev_json(1000);
	size_t *off = malloc((blocks + 1) * sizeof(*off));
	chain_init(&c, genesis);
	struct enc all = build_feeds(&c, blocks, msgs, off);
	double ceiling = verify_ceiling();
	struct enclave *e = enclave_open(&pl, dir);
	if (enclave_start(e, (const uint8_t *)genesis, strlen(genesis), NULL, 0) != ENCLAVE_OK)
		return 1;
	double dt = replay(e, &all, off, blocks);
	double bps = blocks / dt;
	printf("replay: %lu blocks with %lu messages each (%zu bytes of feeds) in %.3f s\n", blocks,
	       msgs, all.len, dt);
	printf("blocks/s %.0f (goal 5000: %.2fx), messages/s %.0f; Ed25519 verifies/s on one core "
	       "%.0f (ratio blocks/verifies %.3f)\n",
	       bps, bps / 5000, bps * (double)msgs, ceiling, bps / ceiling);
	restart(e, dir, genesis);
	enclave_free(e);
	platform_free(pl);
	enc_release(&all);
	free(off);
	free(genesis);
	char path[64];
	snprintf(path, sizeof(path), "%s/%s", dir, PLATFORM_MACHINE_SECRET_FILE);
	unlink(path);
	rmdir(dir);
	return 0;
}
