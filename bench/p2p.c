/*
 * Throughput of one p2p connection (src/net/p2p.h) on loopback, against the AEAD it is built on.
 * Two networks in this process, A dialling B; the bench thread sends from A to B through the
 * cross-thread path (p2p_send), keeping fewer messages in flight than A's per-peer queue holds,
 * so nothing is dropped (the bench fails if anything is). Two runs:
 *   bulk:  --big-count messages of --big bytes (default 256 x 1 MiB) -> MB/s
 *   small: --small-count messages of --small bytes (default 200000 x 100 B) -> messages/s
 * The limit, measured in the same run on one core: ChaCha20-Poly1305 (IETF) seal + open of
 * frames of the same size (what both ends do per frame); "seal only" is the bound when sender and
 * receiver loops run on separate cores.
 *
 *   bench/p2p [--big N] [--big-count N] [--small N] [--small-count N]
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "bench_util.h"
#include "net/p2p.h"

struct opts {
	size_t big, big_count, small, small_count;
};

struct sink {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t msgs, bytes;
	size_t peers;
};

static void on_msg(void *ctx, uint64_t peer, const uint8_t key[32], uint8_t ch, const uint8_t *m,
                   size_t len)
{
	(void)peer, (void)key, (void)ch, (void)m;
	struct sink *s = ctx;
	pthread_mutex_lock(&s->mu);
	s->msgs++;
	s->bytes += len;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void on_connect(void *ctx, const struct p2p_peer_info *pi, const uint8_t *app, size_t n)
{
	(void)pi, (void)app, (void)n;
	struct sink *s = ctx;
	pthread_mutex_lock(&s->mu);
	s->peers++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Waits until the sink has received at least n messages. */
static void wait_msgs(struct sink *s, uint64_t n)
{
	pthread_mutex_lock(&s->mu);
	while (s->msgs < n)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

static struct p2p *make_node(uint8_t seed_byte, struct sink *s, const char *peer, size_t msg_max)
{
	struct p2p_config c;
	p2p_config_default(&c);
	uint8_t seed[32], pk[32];
	memset(seed, seed_byte, sizeof(seed));
	sig_keypair_from_seed(pk, c.node_sk, seed);
	c.listen = "127.0.0.1:0";
	c.peers = &peer;
	c.n_peers = peer ? 1 : 0;
	c.msg_max = msg_max;
	c.queue_max_bytes = 4 * msg_max > c.queue_max_bytes ? 4 * msg_max : c.queue_max_bytes;
	c.cmd_max_bytes = c.queue_max_bytes;
	c.on_msg = on_msg;
	c.on_connect = on_connect;
	c.ctx = s;
	struct p2p *p;
	if (p2p_new(&c, &p) != P2P_OK || p2p_start(p) != P2P_OK) {
		fprintf(stderr, "p2p bench: cannot start a node\n");
		exit(1);
	}
	sodium_memzero(c.node_sk, sizeof(c.node_sk));
	return p;
}

/* Sends count messages of len bytes from a to its only peer, at most window in flight. Returns
 * the seconds until the last one arrived. */
static double run(struct p2p *a, struct sink *rx, size_t len, size_t count, size_t window)
{
	struct p2p_peer_info pi;
	if (p2p_peers(a, &pi, 1) != 1)
		exit(1);
	uint8_t *m = malloc(len ? len : 1);
	randombytes_buf(m, len);
	uint64_t base = rx->msgs;
	double t0 = bench_now();
	for (size_t i = 0; i < count; i++) {
		if (i >= window)
			wait_msgs(rx, base + i - window + 1);
		enum p2p_result r;
		while ((r = p2p_send(a, pi.id, 1, m, len)) == P2P_ERR_BUSY)
			;
		if (r != P2P_OK) {
			fprintf(stderr, "p2p bench: send: %s\n", p2p_strerror(r));
			exit(1);
		}
	}
	wait_msgs(rx, base + count);
	double secs = bench_now() - t0;
	free(m);
	struct p2p_stats st;
	p2p_stats(a, &st);
	if (st.dropped) {
		fprintf(stderr, "p2p bench: %llu dropped\n", (unsigned long long)st.dropped);
		exit(1);
	}
	return secs;
}

/* Frames of len plaintext bytes sealed (and opened, if open) per second on this thread. */
static double aead_rate(size_t len, bool open, double min_secs)
{
	uint8_t key[32], nonce[12] = {0}, ad[4] = {0};
	uint8_t *pt = malloc(len), *ct = malloc(len + 16);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, len);
	size_t n = 0;
	double t0 = bench_now(), secs;
	do {
		for (int k = 0; k < 64; k++, n++) {
			memcpy(nonce + 4, &n, sizeof(n));
			crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, len, ad, 4, NULL,
			                                          nonce, key);
			if (open && crypto_aead_chacha20poly1305_ietf_decrypt(
			                pt, NULL, NULL, ct, len + 16, ad, 4, nonce, key) != 0)
				abort();
		}
		secs = bench_now() - t0;
	} while (secs < min_secs);
	free(pt);
	free(ct);
	return (double)n / secs;
}

static size_t arg_size(int argc, char **argv, const char *name, size_t dflt)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return (size_t)strtoull(argv[i + 1], NULL, 10);
	return dflt;
}

static void print_run(const char *what, size_t len, size_t count, double secs, double cpu,
                      double frame_rate, double seal_rate, size_t frame_len)
{
	double mbs = (double)len * (double)count / secs / 1e6;
	double lim = frame_rate * (double)frame_len / 1e6,
	       lim1 = seal_rate * (double)frame_len / 1e6;
	printf("%-6s %zu x %zu B: %.2f s, %.0f msgs/s, %.1f MB/s, CPU %.2f s\n", what, count, len,
	       secs, (double)count / secs, mbs, cpu);
	printf("       limit (same run, 1 core): seal+open %.0f frames/s = %.1f MB/s -> ratio %.2f;"
	       " seal only %.1f MB/s -> ratio %.2f\n",
	       frame_rate, lim, mbs / lim, lim1, mbs / lim1);
}

int main(int argc, char **argv)
{
	struct opts o = {arg_size(argc, argv, "--big", (size_t)1 << 20),
	                 arg_size(argc, argv, "--big-count", 256),
	                 arg_size(argc, argv, "--small", 100),
	                 arg_size(argc, argv, "--small-count", 200000)};
	if (sodium_init() < 0 || o.big < 1 || o.small < 1 || o.big > ((size_t)64 << 20))
		return 1;
	log_set_level(LOG_WARN);
	struct sink sa = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct sink sb = sa;
	size_t msg_max = o.big > o.small ? o.big : o.small;
	struct p2p *b = make_node(0xb0, &sb, NULL, msg_max);
	char peer[64];
	snprintf(peer, sizeof(peer), "127.0.0.1:%u", p2p_listen_port(b));
	struct p2p *a = make_node(0xa0, &sa, peer, msg_max);
	pthread_mutex_lock(&sb.mu);
	while (sb.peers == 0)
		pthread_cond_wait(&sb.cv, &sb.mu);
	pthread_mutex_unlock(&sb.mu);
	while (p2p_peers(a, NULL, 0) == 0)
		;
	size_t big_frame = o.big + 2 < ((size_t)1 << 20) ? o.big + 2 : (size_t)1 << 20;
	size_t small_frame = o.small + 2;
	double big_rate = aead_rate(big_frame, true, 0.5),
	       big_seal = aead_rate(big_frame, false, 0.5);
	double small_rate = aead_rate(small_frame, true, 0.5);
	double small_seal = aead_rate(small_frame, false, 0.5);
	double c0 = bench_cpu();
	/* window: a quarter of the queue in bytes, and in messages, so nothing is dropped */
	double t = run(a, &sb, o.big, o.big_count, arg_size(argc, argv, "--big-window", 8));
	double c1 = bench_cpu();
	double ts =
	    run(a, &sb, o.small, o.small_count, arg_size(argc, argv, "--small-window", 2000));
	double c2 = bench_cpu();
	print_run("bulk", o.big, o.big_count, t, c1 - c0, big_rate, big_seal, big_frame);
	print_run("small", o.small, o.small_count, ts, c2 - c1, small_rate, small_seal,
	          small_frame);
	printf(
	    "       (each run: sender and receiver loops, and this sending thread, on %ld CPUs)\n",
	    sysconf(_SC_NPROCESSORS_ONLN));
	p2p_free(a);
	p2p_free(b);
	return 0;
}
