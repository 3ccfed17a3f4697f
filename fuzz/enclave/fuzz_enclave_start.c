/* enclave_start, as a lying host drives it: any genesis document, any "sealed checkpoint", and
 * (mode 2) correctly sealed but arbitrary checkpoint plaintext, so the checkpoint decoder itself
 * is exercised behind the seal. Never crashes or leaks; a refused start leaves the enclave not
 * started; a checkpoint that restores re-checkpoints and restores to the same status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/contracts/testplat.h"
#include "chain/genesis.h"
#include "crypto/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct testplat plat = {.measurement = {0x11}, .seal_key = {0x22}, .quiet = 1};
static const struct enclave_config cfg = {
    .max_contracts = 4, .max_egress = 16, .max_state_bytes = 1 << 20};

static void dev_chain_id(uint8_t out[32])
{
	char *g = genesis_dev_json(1000), err[128];
	struct genesis gen;
	if (!g || genesis_parse(&gen, g, strlen(g), err, sizeof(err)) != GENESIS_OK)
		abort();
	genesis_hash(out, &gen);
	genesis_release(&gen);
	free(g);
}

static void fz_rand(void *ctx, uint8_t *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0x5a, n);
}

/* Starts a fresh enclave from sealed[0..len) on the dev chain; checks the outcome. */
static void start_from(const uint8_t *sealed, size_t len)
{
	struct enclave *e = testplat_enclave(&plat, &cfg);
	struct enclave_status st;
	enum enclave_result r = testplat_start(e, sealed, len);
	enclave_status(e, &st);
	if (st.started != (r == ENCLAVE_OK))
		abort();
	if (r == ENCLAVE_OK) { /* what restored must checkpoint and restore to the same place */
		struct enc ck;
		enc_init(&ck, 2 << 20);
		if (enclave_checkpoint(e, &ck) != ENCLAVE_OK)
			abort();
		struct enclave *again = testplat_enclave(&plat, &cfg);
		struct enclave_status st2;
		if (testplat_start(again, ck.buf, ck.len) != ENCLAVE_OK)
			abort();
		enclave_status(again, &st2);
		if (st2.height != st.height || memcmp(st2.identity, st.identity, 32) != 0)
			abort();
		enclave_free(again);
		enc_release(&ck);
	}
	enclave_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t mode = data[0] % 3;
	data++;
	size--;
	if (mode == 0) { /* any genesis document */
		struct enclave *e = testplat_enclave(&plat, &cfg);
		struct enclave_status st;
		enum enclave_result r = enclave_start(e, data, size, NULL, 0);
		enclave_status(e, &st);
		if (st.started != (r == ENCLAVE_OK))
			abort();
		enclave_free(e);
	} else if (mode == 1) { /* any sealed blob */
		start_from(data, size);
	} else { /* a genuine seal around arbitrary plaintext */
		static uint8_t chain_id[32];
		static int have_id;
		if (!have_id) {
			dev_chain_id(chain_id);
			have_id = 1;
		}
		size_t blob_len = seal_blob_len(size, strlen("checkpoint"));
		uint8_t *blob = malloc(blob_len);
		if (!blob || seal_wrap(plat.seal_key, chain_id, plat.measurement, "checkpoint",
		                       data, size, fz_rand, NULL, blob, &blob_len) != SEAL_OK)
			abort();
		start_from(blob, blob_len);
		free(blob);
	}
	return 0;
}
