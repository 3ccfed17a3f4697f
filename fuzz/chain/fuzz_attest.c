/* Attestation reports, policies and SGX quotes: never crash; accepted reports and policies
 * re-encode to the same bytes; verifying any decoded report against a policy is safe. The first
 * byte picks the decoder. */
#include <stdint.h>

#include "../fuzz_util.h"
#include "chain/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void report(const uint8_t *b, size_t n)
{
	struct attest_report r;
	struct attest_policy p;
	struct enc e;
	uint8_t level, expected[32];
	if (attest_report_decode(&r, b, n) != CODEC_OK)
		return;
	enc_init(&e, ATTEST_REPORT_MAX);
	attest_report_encode(&e, &r);
	fuzz_same_or_abort(&e, b, n);
	memset(&p, 0, sizeof(p));
	p.backends = 6;
	p.any_measurement = true;
	p.n_sim_keys = 1;
	memcpy(p.sim_keys[0], r.sim_signer, 32);
	p.max_report_age = 100;
	p.max_confidence_level = 255;
	memcpy(expected, r.report_data, 32);
	enum attest_result res = attest_verify(&p, &r, expected, r.height, &level);
	if (res == ATTEST_OK && level != ATTEST_LEVEL_SIM && level != ATTEST_LEVEL_SGX_UNVERIFIED)
		abort();
}

static void policy(const uint8_t *b, size_t n)
{
	struct attest_policy p;
	struct enc e;
	if (attest_policy_decode(&p, b, n) != CODEC_OK)
		return;
	enc_init(&e, ATTEST_POLICY_MAX);
	attest_policy_encode(&e, &p);
	fuzz_same_or_abort(&e, b, n);
}

static void quote(const uint8_t *b, size_t n)
{
	struct attest_sgx_quote q;
	if (attest_sgx_quote_parse(&q, b, n) &&
	    n < ATTEST_SGX_HEADER_LEN + ATTEST_SGX_BODY_LEN + 4 + ATTEST_SGX_MIN_SIG_DATA)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const targets[])(const uint8_t *, size_t) = {report, policy, quote};
	if (size == 0)
		return 0;
	targets[data[0] % 3](data + 1, size - 1);
	return 0;
}
