/* Registry decoders: the worker record (round trip) and every registry call's payload check.
 * The first byte picks: 0 the record, 1..7 call function (byte - 1). */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/registry.h"
#include "fuzz_call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t sel = data[0] % 8;
	if (sel) {
		(void)fuzz_check_call(RUNTIME_MODULE_REGISTRY, (uint8_t)(sel - 1), data + 1,
		                      size - 1);
		return 0;
	}
	struct registry_worker w;
	struct enc e;
	if (registry_worker_decode(&w, data + 1, size - 1) != CODEC_OK)
		return 0;
	enc_init(&e, REGISTRY_WORKER_LEN);
	registry_worker_encode(&e, &w);
	fuzz_same_or_abort(&e, data + 1, size - 1);
	return 0;
}
