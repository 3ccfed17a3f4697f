/* The enclave's block-feed entry point, as a lying host would drive it: any bytes are refused
 * with an error or accepted, never crash, and a refusal leaves the enclave's status unchanged.
 * Also: whatever block_feed_decode accepts re-encodes to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/testplat.h"
#include "../fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct enclave *fz_enclave(void)
{
	static struct testplat plat = {.measurement = {0x11}, .seal_key = {0x22}, .quiet = 1};
	static const struct enclave_config cfg = {.max_contracts = 4, .max_egress = 16};
	return testplat_started(&plat, &cfg, NULL);
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
