/* The sim backend: its measurement is the binary's hash, its sealing key follows the machine
 * secret and the measurement, and its reports pass the chain's policy check only when the
 * policy lists its attestation key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/attest.h"
#include "check.h"
#include "worker/platform.h"

static char dir_a[64], dir_b[64];

static void make_dirs(void)
{
	snprintf(dir_a, sizeof(dir_a), "/tmp/tn-platform-a-XXXXXX");
	snprintf(dir_b, sizeof(dir_b), "/tmp/tn-platform-b-XXXXXX");
	CHECK(mkdtemp(dir_a) != NULL && mkdtemp(dir_b) != NULL);
}

static void open_sim(struct platform **pl, struct enclave_platform *p, const char *dir)
{
	uint8_t pk[32], sk[64];
	attest_dev_sim_keypair(pk, sk);
	char err[256] = "";
	CHECK(platform_sim_open(pl, p, dir, pk, sk, err, sizeof(err)) == PLATFORM_OK);
}

static void measurement_is_the_binary_hash(void)
{
	struct platform *pl;
	struct enclave_platform p;
	open_sim(&pl, &p, dir_a);
	uint8_t m[32], want[32];
	p.measurement(p.ctx, m);
	CHECK(platform_sim_measure_file(want, "/proc/self/exe") == PLATFORM_OK);
	CHECK_EQ_MEM(m, want, 32);
	/* Another file, another measurement. */
	CHECK(platform_sim_measure_file(want, "/bin/sh") == PLATFORM_OK);
	CHECK(memcmp(m, want, 32) != 0);
	CHECK(platform_sim_measure_file(want, "/nonexistent") == PLATFORM_IO);
	platform_free(pl);
}

static void sealing_key_follows_the_machine_secret(void)
{
	struct platform *a1, *a2, *b;
	struct enclave_platform pa1, pa2, pb;
	open_sim(&a1, &pa1, dir_a);
	open_sim(&a2, &pa2, dir_a); /* reopened: the same secret file */
	open_sim(&b, &pb, dir_b);
	uint8_t k1[32], k2[32], k3[32];
	CHECK(pa1.seal_key(pa1.ctx, k1) == 0 && pa2.seal_key(pa2.ctx, k2) == 0 &&
	      pb.seal_key(pb.ctx, k3) == 0);
	CHECK_EQ_MEM(k1, k2, 32);
	CHECK(memcmp(k1, k3, 32) != 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir_a, PLATFORM_MACHINE_SECRET_FILE);
	CHECK(access(path, R_OK) == 0);
	/* A damaged secret file is refused, not replaced. */
	FILE *f = fopen(path, "w");
	fputs("short", f);
	fclose(f);
	struct platform *bad;
	struct enclave_platform pbad;
	uint8_t pk[32], sk[64];
	attest_dev_sim_keypair(pk, sk);
	char err[256] = "";
	CHECK(platform_sim_open(&bad, &pbad, dir_a, pk, sk, err, sizeof(err)) == PLATFORM_IO);
	CHECK(strstr(err, "machine secret") != NULL);
	platform_free(a1);
	platform_free(a2);
	platform_free(b);
}

static void reports_pass_only_a_policy_that_lists_the_key(void)
{
	struct platform *pl;
	struct enclave_platform p;
	open_sim(&pl, &p, dir_b);
	uint8_t rd[32], buf[ATTEST_REPORT_MAX];
	memset(rd, 7, 32);
	size_t len;
	CHECK(p.attest(p.ctx, rd, 10, buf, sizeof(buf), &len) == 0);
	struct attest_report r;
	CHECK(attest_report_decode(&r, buf, len) == CODEC_OK);
	CHECK(r.backend == ATTEST_BACKEND_SIM && r.height == 10);
	struct attest_policy pol;
	attest_policy_closed(&pol);
	pol.backends = 1u << ATTEST_BACKEND_SIM;
	pol.any_measurement = true;
	pol.max_report_age = 100;
	pol.max_confidence_level = ATTEST_LEVEL_SIM;
	uint8_t level;
	CHECK(attest_verify(&pol, &r, rd, 20, &level) == ATTEST_UNKNOWN_SIM_KEY);
	uint8_t pk[32], sk[64];
	attest_dev_sim_keypair(pk, sk);
	pol.n_sim_keys = 1;
	memcpy(pol.sim_keys[0], pk, 32);
	CHECK(attest_verify(&pol, &r, rd, 20, &level) == ATTEST_OK && level == ATTEST_LEVEL_SIM);
	rd[0] ^= 1;
	CHECK(attest_verify(&pol, &r, rd, 20, &level) == ATTEST_REPORT_DATA_MISMATCH);
	CHECK(p.attest(p.ctx, rd, 10, buf, 8, &len) != 0); /* no room */
	platform_free(pl);
}

static void gramine_is_unavailable_here(void)
{
	struct platform *pl;
	struct enclave_platform p;
	char err[256] = "";
	CHECK(platform_gramine_open(&pl, &p, err, sizeof(err)) == PLATFORM_UNAVAILABLE);
	CHECK(pl == NULL && strstr(err, "/dev/attestation") != NULL);
}

static void cleanup(void)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir_a, dir_b);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(make_dirs), CASE(measurement_is_the_binary_hash),
           CASE(sealing_key_follows_the_machine_secret),
           CASE(reports_pass_only_a_policy_that_lists_the_key), CASE(gramine_is_unavailable_here),
           CASE(cleanup))
