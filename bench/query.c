/*
 * Query benchmark: one enclave hosting the counter test contract (tests/contracts/counter.h)
 * answers --queries pre-sealed "get mine" queries on one thread (the client's sealing is not
 * timed). Prints queries per CPU second (and per wall second), latency percentiles, and in the same
 * run the ceiling the issue sets: one X25519 scalar multiplication plus one AEAD open of the
 * request's size, per query; and for reference the ceiling with the Ed25519 signature check every
 * query also needs.
 *
 *   bench/query [--queries N] [--rounds N] [--response-cap BYTES]
 */
#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/contracts/counter.c"
#include "../tests/contracts/harness.h"
#include "bench_util.h"

#define QUERY_MAX 512

struct sealed {
	uint8_t q[QUERY_MAX];
	size_t n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Per CPU second (the machine may be shared; this process is one thread) of: X25519 +
 * ChaCha20-Poly1305 open of len bytes (+ Ed25519 verify if sig). */
static double ceiling(size_t len, bool sig, double secs)
{
	uint8_t sk[32], pk[32], shared[32], key[32], nonce[12] = {0};
	uint8_t msg[QUERY_MAX + 16], pt[QUERY_MAX], spk[32], ssk[64], sm[64];
	randombytes_buf(sk, sizeof(sk));
	randombytes_buf(key, sizeof(key));
	randombytes_buf(pt, sizeof(pt));
	crypto_scalarmult_base(pk, sk);
	crypto_sign_keypair(spk, ssk);
	unsigned long long clen;
	crypto_aead_chacha20poly1305_ietf_encrypt(msg, &clen, pt, len, NULL, 0, NULL, nonce, key);
	crypto_sign_detached(sm, NULL, msg, clen, ssk);
	size_t n = 0;
	double t0 = bench_cpu(), t;
	do {
		for (int i = 0; i < 64; i++, n++)
			if (crypto_scalarmult(shared, sk, pk) != 0 ||
			    crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, msg, clen,
			                                              NULL, 0, nonce, key) != 0 ||
			    (sig && crypto_sign_verify_detached(sm, msg, clen, spk) != 0))
				abort();
	} while ((t = bench_cpu() - t0) < secs);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	size_t queries = 20000, rounds = 3, response_cap = 1 << 20;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--queries"))
			queries = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--response-cap"))
			response_cap = strtoul(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr,
			        "usage: query [--queries N] [--rounds N] [--response-cap BYTES]\n");
			return 2;
		}
	}
	if (sodium_init() < 0 || queries == 0 || rounds == 0)
		return 1;
	struct enclave_config cfg = harness_config(1 << 20);
	cfg.max_query_ahead = 1000;
	cfg.max_response_bytes = response_cap; /* the worker's default: 1 MiB */
	struct harness_world w;
	w.plat.quiet = 1;
	harness_world_init(&w, &cfg);
	w.plat.quiet = 1;
	uint8_t id[32], pk[32], spk[32];
	harness_deploy_counter(&w, 0, 1, id, pk, spk);
	harness_command(&w.chain, &w.plat, pk, id, "alice", 1, "add 5");
	harness_world_block(&w);

	struct sealed *qs = malloc(queries * sizeof(*qs));
	double *lat = malloc(queries * sizeof(*lat));
	struct env_query_client k;
	if (!qs || !lat)
		return 1;
	for (size_t i = 0; i < queries; i++) {
		qs[i].n = harness_seal_query(&w.plat, &w.chain, pk, id, "alice",
		                             w.chain.height + 500, "get mine", qs[i].q, &k);
		env_query_client_release(&k);
	}
	struct enc out;
	enc_init(&out, 1 << 16);
	double best = 0, best_wall = 0, c1 = 0, c2 = 0;
	for (size_t r = 0; r < rounds; r++) {
		double t0 = bench_now(), cpu0 = bench_cpu();
		for (size_t i = 0; i < queries; i++) {
			double s = bench_now();
			out.len = 0;
			if (enclave_query(w.e, qs[i].q, qs[i].n, &out) != ENCLAVE_OK)
				return 1;
			lat[i] = bench_now() - s;
		}
		double qps = (double)queries / (bench_cpu() - cpu0);
		double wall = (double)queries / (bench_now() - t0);
		best = qps > best ? qps : best;
		best_wall = wall > best_wall ? wall : best_wall;
		double x = ceiling(qs[0].n, false, 0.5), y = ceiling(qs[0].n, true, 0.5);
		c1 = x > c1 ? x : c1;
		c2 = y > c2 ? y : c2;
	}
	qsort(lat, queries, sizeof(*lat), cmp_double);
	printf("queries:              %zu x %zu rounds, %zu-byte envelopes, one thread\n", queries,
	       rounds, qs[0].n);
	printf("queries/s:            %.0f per CPU second, %.0f wall (best round)\n", best,
	       best_wall);
	printf("latency (last round): p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       lat[queries / 2] * 1e6, lat[queries * 99 / 100] * 1e6, lat[queries - 1] * 1e6);
	printf("ceiling X25519+AEAD:  %.0f per CPU second (same run)\n", c1);
	printf("ratio:                %.3f   (goal >= 0.6)\n", best / c1);
	printf("ceiling +Ed25519:     %.0f /s (X25519 + AEAD + signature check)\n", c2);
	printf("ratio to it:          %.3f\n", best / c2);
	enc_release(&out);
	free(qs);
	free(lat);
	harness_world_release(&w);
	return 0;
}
