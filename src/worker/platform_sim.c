/* The sim backend (worker/platform.h). */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "chain/attest.h"
#include "crypto/hash.h"
#include "crypto/seal.h"
#include "worker/platform_int.h"

#define SIM_MEASUREMENT_TAG "tenebra/v1/sim-measurement"

static void sim_measurement(void *ctx, uint8_t out[32])
{
	struct platform *pl = ctx;
	memcpy(out, pl->measurement, 32);
}

static int sim_seal_key(void *ctx, uint8_t out[32])
{
	struct platform *pl = ctx;
	seal_sim_key(out, pl->sec->machine_secret, pl->measurement);
	return 0;
}

static int sim_attest(void *ctx, const uint8_t report_data[32], uint64_t height, uint8_t *out,
                      size_t cap, size_t *len)
{
	struct platform *pl = ctx;
	struct attest_report r = {0};
	platform_report_init(&r, pl, ATTEST_BACKEND_SIM, report_data, height);
	attest_sim_sign(&r, pl->attest_pk, pl->sec->attest_sk);
	return platform_report_encode(&r, out, cap, len);
}

static void sim_random(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n);
}

static void sim_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	log_msg((enum log_level)level, "enclave[sim, not hardware-protected]", "%s", line);
}

enum platform_result platform_sim_measure_file(uint8_t out[32], const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return PLATFORM_IO;
	struct hash_state h;
	hash_init_tagged(&h, SIM_MEASUREMENT_TAG);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return PLATFORM_IO;
		}
		hash_update(&h, buf, (size_t)n);
	}
	close(fd);
	hash_final(&h, out);
	return PLATFORM_OK;
}

enum platform_result platform_sim_open(struct platform **out_pl, struct enclave_platform *out,
                                       const char *dir, const uint8_t attest_pk[32],
                                       const uint8_t attest_sk[64], char *err, size_t errlen)
{
	*out_pl = NULL;
	struct platform *pl = platform_alloc();
	if (!pl)
		return PLATFORM_NOMEM;
	enum platform_result r = platform_sim_measure_file(pl->measurement, "/proc/self/exe");
	if (r != PLATFORM_OK) {
		snprintf(err, errlen, "cannot hash the running binary: %s", strerror(errno));
		goto fail;
	}
	r = platform_machine_secret(pl, dir, err, errlen);
	if (r != PLATFORM_OK)
		goto fail;
	memcpy(pl->attest_pk, attest_pk, 32);
	memcpy(pl->sec->attest_sk, attest_sk, 64);
	*out = (struct enclave_platform){.ctx = pl,
	                                 .backend = ENCLAVE_BACKEND_SIM,
	                                 .measurement = sim_measurement,
	                                 .seal_key = sim_seal_key,
	                                 .attest = sim_attest,
	                                 .random = sim_random,
	                                 .log = sim_log};
	*out_pl = pl;
	return PLATFORM_OK;
fail:
	platform_free(pl);
	return r;
}
