/* The enclave's block-feed entry point, as a lying host would drive it: any bytes are refused
 * with an error or accepted, never crash, and a refusal leaves the enclave's status unchanged.
 * Also: whatever block_feed_decode accepts re-encodes to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_util.h"
#include "chain/feed.h"
#include "chain/genesis.h"
#include "enclave/enclave.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_measurement(void *ctx, uint8_t out[32])
{
	(void)ctx;
	memset(out, 0x11, 32);
}

static int fz_seal_key(void *ctx, uint8_t out[32])
{
	(void)ctx;
	memset(out, 0x22, 32);
	return 0;
}

static int fz_attest(void *ctx, const uint8_t rd[32], uint64_t height, uint8_t *out, size_t cap,
                     size_t *len)
{
	(void)ctx;
	(void)height;
	if (cap < 32)
		return -1;
	memcpy(out, rd, 32);
	*len = 32;
	return 0;
}

static void fz_random(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0x33, n);
}

static void fz_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	(void)line;
}

static struct enclave *fz_enclave(void)
{
	static const struct enclave_platform plat = {
	    .backend = ENCLAVE_BACKEND_SIM, .measurement = fz_measurement, .seal_key = fz_seal_key,
	    .attest = fz_attest, .random = fz_random, .log = fz_log};
	static const struct enclave_config cfg = {.max_contracts = 4, .max_egress = 16};
	struct enclave *e = enclave_new(&plat, &cfg);
	char *g = genesis_dev_json(1000);
	if (!e || !g || enclave_start(e, (const uint8_t *)g, strlen(g), NULL, 0) != ENCLAVE_OK)
		abort();
	free(g);
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct enclave *e;
	if (!e)
		e = fz_enclave();
	struct block_feed f;
	if (block_feed_decode(&f, data, size) == BLOCK_OK) {
		struct enc out;
		enc_init(&out, FEED_MAX_BYTES);
		block_feed_encode(&out, &f);
		fuzz_same_or_abort(&out, data, size);
		block_feed_release(&f);
	}
	struct enclave_status before, after;
	enclave_status(e, &before);
	char err[256];
	if (enclave_feed_block(e, data, size, err, sizeof(err)) != ENCLAVE_OK) {
		enclave_status(e, &after);
		if (memcmp(&before, &after, sizeof(before)) != 0 || err[0] == '\0')
			abort();
	}
	return 0;
}
