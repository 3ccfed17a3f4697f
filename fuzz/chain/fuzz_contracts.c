/* Contracts call payloads: deploy (first byte even) and push_command (odd) through the calls'
 * payload checks; an accepted deploy re-encodes to the same bytes. */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/contracts.h"
#include "fuzz_call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void deploy(const uint8_t *b, size_t n)
{
	if (fuzz_check_call(RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_DEPLOY, b, n) == TX_BAD_PAYLOAD)
		return;
	struct dec d;
	struct enc e;
	size_t code_len, salt_len;
	char code[CONTRACTS_CODE_MAX + 1] = {0};
	dec_init(&d, b, n);
	uint32_t cluster = dec_u32(&d);
	const uint8_t *c = dec_bytes(&d, &code_len, CONTRACTS_CODE_MAX);
	const uint8_t *salt = dec_bytes(&d, &salt_len, CONTRACTS_SALT_MAX);
	if (!c || !salt || dec_finish(&d) != CODEC_OK)
		abort(); /* the payload check accepted it */
	memcpy(code, c, code_len);
	enc_init(&e, n);
	contracts_deploy_payload(&e, cluster, code, salt, salt_len);
	fuzz_same_or_abort(&e, b, n);
	static const uint8_t deployer[32] = {1};
	uint8_t id[32];
	contracts_id(id, deployer, cluster, code, salt, salt_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		(void)fuzz_check_call(RUNTIME_MODULE_CONTRACTS, CONTRACTS_FN_PUSH_COMMAND, data + 1,
		                      size - 1);
	else
		deploy(data + 1, size - 1);
	return 0;
}
