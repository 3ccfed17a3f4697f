/*
 * Query benchmark: one enclave hosting the counter test contract (tests/contracts/counter.h)
 * answers --queries pre-sealed "get mine" queries on one thread (the client's sealing is not
 * timed), of two kinds (docs/protocol/envelopes.md):
 *
 *   signed    one-off queries: HPKE base mode, Ed25519-signed by the account (auth 0)
 *   session   session queries: HPKE auth mode from one X25519 session key the account
 *             certified (auth 2); the enclave verifies the certificate once and caches it with
 *             the static DH, so each query costs one X25519, hashing and the AEADs
 *
 * For each kind it prints queries per CPU second (and per wall second), latency percentiles of
 * the last round, and, measured in the same run between the rounds, the ceiling the issue sets:
 * one X25519 scalar multiplication plus one AEAD open of the query's size, per query; the ratio to
 * it (goal >= 0.6, p99 < 5 ms); and for the signed kind the ceiling with the Ed25519 check too.
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

/* One kind of query and what was measured for it. */
struct kind {
	const char *name;
	struct sealed *qs;
	double qps, wall, ceiling, ceiling_sig, p50, p99, max;
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

static double max_of(double a, double b)
{
	return a > b ? a : b;
}

/* One round of k's queries; keeps the best rate and the round's latencies in lat. */
static void run_round(struct harness_world *w, struct kind *k, size_t queries, double *lat,
                      struct enc *out)
{
	double t0 = bench_now(), cpu0 = bench_cpu();
	for (size_t i = 0; i < queries; i++) {
		double s = bench_now();
		out->len = 0;
		if (enclave_query(w->e, k->qs[i].q, k->qs[i].n, out) != ENCLAVE_OK) {
			fprintf(stderr, "%s query %zu refused\n", k->name, i);
			exit(1);
		}
		lat[i] = bench_now() - s;
	}
	k->qps = max_of(k->qps, (double)queries / (bench_cpu() - cpu0));
	k->wall = max_of(k->wall, (double)queries / (bench_now() - t0));
	qsort(lat, queries, sizeof(*lat), cmp_double);
	k->p50 = lat[queries / 2] * 1e6;
	k->p99 = lat[queries * 99 / 100] * 1e6;
	k->max = lat[queries - 1] * 1e6;
	k->ceiling = max_of(k->ceiling, ceiling(k->qs[0].n, false, 0.5));
	k->ceiling_sig = max_of(k->ceiling_sig, ceiling(k->qs[0].n, true, 0.5));
}

static void report(const struct kind *k, size_t queries, size_t rounds)
{
	printf("%s queries: %zu x %zu rounds, %zu-byte messages, one thread\n", k->name, queries,
	       rounds, k->qs[0].n);
	printf("  queries/s:             %.0f per CPU second, %.0f wall (best round)\n", k->qps,
	       k->wall);
	printf(
	    "  latency (last round):  p50 %.1f us, p99 %.1f us, max %.1f us   (goal p99 < 5 ms)\n",
	    k->p50, k->p99, k->max);
	printf("  ceiling X25519+AEAD:   %.0f per CPU second (same run)\n", k->ceiling);
	printf("  ratio:                 %.3f   (goal >= 0.6)\n", k->qps / k->ceiling);
	printf("  ceiling +Ed25519:      %.0f /s, ratio to it %.3f\n", k->ceiling_sig,
	       k->qps / k->ceiling_sig);
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
	uint8_t id[32], pk[32], spk[32], seed[32], xpk[32], xsk[32];
	harness_deploy_counter(&w, 0, 1, id, pk, spk);
	harness_command(&w.chain, &w.plat, pk, id, "alice", 1, "add 5");
	harness_world_block(&w);
	memset(seed, 0x51, sizeof(seed));
	hpke_keypair_from_seed(xpk, xsk, seed);

	struct kind kinds[2] = {{.name = "signed"}, {.name = "session"}};
	double *lat = malloc(queries * sizeof(*lat));
	for (size_t j = 0; j < 2; j++)
		if (!(kinds[j].qs = malloc(queries * sizeof(struct sealed))))
			return 1;
	if (!lat)
		return 1;
	uint64_t exp = w.chain.height + 500;
	struct env_query_client k;
	for (size_t i = 0; i < queries; i++) {
		kinds[0].qs[i].n = harness_seal_query(&w.plat, &w.chain, pk, id, "alice", exp,
		                                      "get mine", kinds[0].qs[i].q, &k);
		env_query_client_release(&k);
		kinds[1].qs[i].n =
		    harness_seal_session_query(&w.plat, &w.chain, pk, id, "alice", xpk, xsk, exp,
		                               exp, "get mine", kinds[1].qs[i].q, &k);
		env_query_client_release(&k);
	}
	struct enc out;
	enc_init(&out, 1 << 16);
	for (size_t r = 0; r < rounds; r++)
		for (size_t j = 0; j < 2; j++)
			run_round(&w, &kinds[j], queries, lat, &out);
	for (size_t j = 0; j < 2; j++)
		report(&kinds[j], queries, rounds);
	enc_release(&out);
	for (size_t j = 0; j < 2; j++)
		free(kinds[j].qs);
	free(lat);
	harness_world_release(&w);
	return 0;
}
