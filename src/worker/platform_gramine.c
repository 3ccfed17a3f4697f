/* The gramine-sgx backend (worker/platform.h): Gramine's /dev/attestation pseudo-files
 * (gramine.readthedocs.io "Attestation and secret provisioning"). Inside the enclave these are
 * served by Gramine's trusted runtime, not by the host, so the measurement, keys and quotes
 * cannot be faked by the host OS. Not exercised on this machine (no SGX); see docs/operator.md. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "chain/attest.h"
#include "crypto/kdf.h"
#include "worker/platform_int.h"

#define GRAMINE_DIR         "/dev/attestation"
#define GRAMINE_REPORT_DATA GRAMINE_DIR "/user_report_data"
#define GRAMINE_QUOTE       GRAMINE_DIR "/quote"
#define GRAMINE_SEAL_KEY    GRAMINE_DIR "/keys/_sgx_mrenclave" /* 16 bytes, bound to MRENCLAVE */
#define GRAMINE_SEAL_LABEL  "tenebra/v1/gramine-seal"

static int write_all(const char *path, const uint8_t *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

static long read_all(const char *path, uint8_t *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	ssize_t r;
	while (got < cap && (r = read(fd, buf + got, cap - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	return (long)got;
}

/* A DCAP quote over 64 bytes of report data; its length, or -1. */
static long gramine_quote(const uint8_t rd[64], uint8_t *quote, size_t cap)
{
	if (write_all(GRAMINE_REPORT_DATA, rd, 64) != 0)
		return -1;
	return read_all(GRAMINE_QUOTE, quote, cap);
}

static void gramine_measurement(void *ctx, uint8_t out[32])
{
	struct platform *pl = ctx;
	memcpy(out, pl->measurement, 32);
}

static int gramine_seal_key(void *ctx, uint8_t out[32])
{
	(void)ctx;
	uint8_t k[KDF_KEY_LEN] = {0}; /* the 16-byte SGX key, zero-padded as HKDF input */
	if (platform_read_exact(GRAMINE_SEAL_KEY, k, 16) != PLATFORM_OK)
		return -1;
	kdf_derive(out, 32, k, GRAMINE_SEAL_LABEL, NULL, 0);
	sodium_memzero(k, sizeof(k));
	return 0;
}

static int gramine_attest(void *ctx, const uint8_t report_data[32], uint64_t height, uint8_t *out,
                          size_t cap, size_t *len)
{
	struct platform *pl = ctx;
	uint8_t rd[64], quote[ATTEST_QUOTE_MAX];
	attest_sgx_expected_report_data(rd, report_data, height);
	long qlen = gramine_quote(rd, quote, sizeof(quote));
	if (qlen <= 0)
		return -1;
	struct attest_report r = {.quote = quote, .quote_len = (size_t)qlen};
	platform_report_init(&r, pl, ATTEST_BACKEND_GRAMINE_SGX, report_data, height);
	return platform_report_encode(&r, out, cap, len);
}

static void gramine_random(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	randombytes_buf(buf, n); /* getrandom(): served by RDRAND inside Gramine */
}

static void gramine_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	log_msg((enum log_level)level, "enclave[gramine-sgx]", "%s", line);
}

enum platform_result platform_gramine_open(struct platform **out_pl, struct enclave_platform *out,
                                           char *err, size_t errlen)
{
	*out_pl = NULL;
	if (access(GRAMINE_QUOTE, R_OK) != 0) {
		snprintf(err, errlen, "%s not found: not running under Gramine with SGX",
		         GRAMINE_QUOTE);
		return PLATFORM_UNAVAILABLE;
	}
	struct platform *pl = platform_alloc();
	if (!pl)
		return PLATFORM_NOMEM;
	/* Our own MRENCLAVE, read from a quote over zero report data. */
	uint8_t rd[64] = {0}, quote[ATTEST_QUOTE_MAX];
	long qlen = gramine_quote(rd, quote, sizeof(quote));
	struct attest_sgx_quote q;
	if (qlen <= 0 || !attest_sgx_quote_parse(&q, quote, (size_t)qlen)) {
		snprintf(err, errlen, "cannot read a well-formed quote from %s", GRAMINE_QUOTE);
		platform_free(pl);
		return PLATFORM_UNAVAILABLE;
	}
	memcpy(pl->measurement, q.mrenclave, 32);
	*out = (struct enclave_platform){.ctx = pl,
	                                 .backend = ENCLAVE_BACKEND_GRAMINE_SGX,
	                                 .measurement = gramine_measurement,
	                                 .seal_key = gramine_seal_key,
	                                 .attest = gramine_attest,
	                                 .random = gramine_random,
	                                 .log = gramine_log};
	*out_pl = pl;
	return PLATFORM_OK;
}
