#include "chain/attest.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

static const char *const attest_messages[] = {
    [ATTEST_OK] = "ok",
    [ATTEST_BACKEND_NOT_ALLOWED] = "the attestation policy does not allow this backend",
    [ATTEST_MEASUREMENT_NOT_ALLOWED] = "the measurement is not allowed by the policy",
    [ATTEST_REPORT_DATA_MISMATCH] = "report data is not the hash of the registration info",
    [ATTEST_FROM_FUTURE] = "report is for a height above the current block",
    [ATTEST_STALE] = "report is older than the policy's max_report_age",
    [ATTEST_UNKNOWN_SIM_KEY] = "sim report signed by a key the policy does not list",
    [ATTEST_BAD_SIGNATURE] = "sim report signature does not verify",
    [ATTEST_BAD_QUOTE] = "not a well-formed SGX DCAP v3 quote",
    [ATTEST_QUOTE_MISMATCH] = "quote MRENCLAVE or REPORTDATA do not match the report",
    [ATTEST_DEBUG_ENCLAVE] = "quote is from a debug enclave",
    [ATTEST_LOW_CONFIDENCE] = "confidence level is weaker than the policy accepts",
};

const char *attest_strerror(enum attest_result r)
{
	if ((size_t)r < sizeof(attest_messages) / sizeof(attest_messages[0]))
		return attest_messages[r];
	return "unknown attestation result";
}

static const char *const backend_names[] = {
    [ATTEST_BACKEND_SIM] = "sim",
    [ATTEST_BACKEND_GRAMINE_SGX] = "gramine-sgx",
};

const char *attest_backend_name(uint8_t backend)
{
	return backend >= 1 && backend <= ATTEST_BACKEND_MAX ? backend_names[backend] : NULL;
}

uint8_t attest_backend_from_name(const char *s)
{
	for (uint8_t b = 1; b <= ATTEST_BACKEND_MAX; b++)
		if (strcmp(s, backend_names[b]) == 0)
			return b;
	return 0;
}

/* ---- reports ---- */

static void encode_head(struct enc *e, const struct attest_report *r)
{
	enc_u8(e, ATTEST_VERSION);
	enc_u8(e, r->backend);
	enc_raw(e, r->measurement, 32);
	enc_raw(e, r->report_data, 32);
	enc_u64(e, r->height);
}

void attest_report_encode(struct enc *e, const struct attest_report *r)
{
	encode_head(e, r);
	if (r->backend == ATTEST_BACKEND_SIM) {
		enc_raw(e, r->sim_signer, 32);
		enc_raw(e, r->sim_sig, 64);
	} else {
		enc_bytes(e, r->quote, r->quote_len);
	}
}

enum codec_result attest_report_decode(struct attest_report *r, const uint8_t *b, size_t n)
{
	struct dec d;
	memset(r, 0, sizeof(*r));
	dec_init(&d, b, n);
	if (dec_u8(&d) != ATTEST_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	r->backend = dec_u8(&d);
	dec_raw(&d, r->measurement, 32);
	dec_raw(&d, r->report_data, 32);
	r->height = dec_u64(&d);
	if (r->backend == ATTEST_BACKEND_SIM) {
		dec_raw(&d, r->sim_signer, 32);
		dec_raw(&d, r->sim_sig, 64);
	} else if (r->backend == ATTEST_BACKEND_GRAMINE_SGX) {
		r->quote = dec_bytes(&d, &r->quote_len, ATTEST_QUOTE_MAX);
		if (r->quote && r->quote_len == 0)
			dec_fail(&d, CODEC_NONCANONICAL);
	} else {
		dec_fail(&d, CODEC_NONCANONICAL);
	}
	return dec_finish(&d);
}

void attest_sim_message(uint8_t out[32], const struct attest_report *r)
{
	uint8_t buf[1 + 1 + 32 + 32 + 8];
	struct enc e;
	assert(r->backend == ATTEST_BACKEND_SIM);
	enc_init_fixed(&e, buf, sizeof(buf));
	encode_head(&e, r);
	assert(enc_finish(&e) == CODEC_OK && e.len == sizeof(buf));
	hash_tagged(out, ATTEST_SIM_TAG, buf, sizeof(buf));
}

void attest_sim_sign(struct attest_report *r, const uint8_t pk[32], const uint8_t sk[64])
{
	uint8_t m[32];
	attest_sim_message(m, r);
	memcpy(r->sim_signer, pk, 32);
	sig_sign(r->sim_sig, m, sizeof(m), sk);
}

void attest_dev_sim_keypair(uint8_t pk[32], uint8_t sk[64])
{
	uint8_t seed[32];
	hash_tagged(seed, ATTEST_DEV_SIM_KEY_TAG, "", 0);
	sig_keypair_from_seed(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

/* ---- SGX DCAP quotes ---- */

const uint8_t attest_intel_qe_vendor_id[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                               0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

/* Offsets in the report body (Intel SGX DCAP quote library, sgx_report_body_t). */
enum {
	BODY_ATTRIBUTES = 48,
	BODY_MRENCLAVE = 64,
	BODY_MRSIGNER = 128,
	BODY_ISV_PROD_ID = 256,
	BODY_ISV_SVN = 258,
	BODY_REPORT_DATA = 320,
};

bool attest_sgx_quote_parse(struct attest_sgx_quote *out, const uint8_t *q, size_t q_len)
{
	struct dec d;
	uint8_t vendor[16];
	memset(out, 0, sizeof(*out));
	dec_init(&d, q, q_len);
	bool ok = dec_u16(&d) == 3; /* version */
	ok &= dec_u16(&d) == 2;     /* attestation key type: ECDSA-256-with-P-256 */
	ok &= dec_u32(&d) == 0;     /* TEE type: SGX */
	(void)dec_u16(&d);          /* QE SVN */
	(void)dec_u16(&d);          /* PCE SVN */
	dec_raw(&d, vendor, 16);
	ok &= memcmp(vendor, attest_intel_qe_vendor_id, 16) == 0;
	(void)dec_view(&d, 20); /* user data */
	const uint8_t *body = dec_view(&d, ATTEST_SGX_BODY_LEN);
	uint32_t sig_len = dec_u32(&d);
	if (!ok || !body || d.err != CODEC_OK || sig_len < ATTEST_SGX_MIN_SIG_DATA ||
	    sig_len != dec_remaining(&d))
		return false;
	struct dec b;
	dec_init(&b, body + BODY_ATTRIBUTES, 8);
	out->attributes_flags = dec_u64(&b);
	memcpy(out->mrenclave, body + BODY_MRENCLAVE, 32);
	memcpy(out->mrsigner, body + BODY_MRSIGNER, 32);
	out->isv_prod_id = (uint16_t)(body[BODY_ISV_PROD_ID] | body[BODY_ISV_PROD_ID + 1] << 8);
	out->isv_svn = (uint16_t)(body[BODY_ISV_SVN] | body[BODY_ISV_SVN + 1] << 8);
	memcpy(out->report_data, body + BODY_REPORT_DATA, 64);
	return true;
}

void attest_sgx_expected_report_data(uint8_t out[64], const uint8_t report_data[32],
                                     uint64_t height)
{
	struct enc e;
	memset(out, 0, 64);
	enc_init_fixed(&e, out, 64);
	enc_raw(&e, report_data, 32);
	enc_u64(&e, height);
	assert(enc_finish(&e) == CODEC_OK);
}

/* ---- policy ---- */

#define BACKEND_BITS (((1u << (ATTEST_BACKEND_MAX + 1)) - 1) & ~1u)

void attest_policy_encode(struct enc *e, const struct attest_policy *p)
{
	enc_u8(e, ATTEST_POLICY_VERSION);
	enc_u8(e, p->backends);
	enc_bool(e, p->any_measurement);
	enc_uleb(e, p->n_measurements);
	enc_raw(e, p->measurements, (size_t)p->n_measurements * 32);
	enc_uleb(e, p->n_sim_keys);
	enc_raw(e, p->sim_keys, (size_t)p->n_sim_keys * 32);
	enc_u64(e, p->max_report_age);
	enc_u8(e, p->max_confidence_level);
}

enum codec_result attest_policy_decode(struct attest_policy *p, const uint8_t *b, size_t n)
{
	struct dec d;
	memset(p, 0, sizeof(*p));
	dec_init(&d, b, n);
	if (dec_u8(&d) != ATTEST_POLICY_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	p->backends = dec_u8(&d);
	if (p->backends & ~BACKEND_BITS)
		dec_fail(&d, CODEC_NONCANONICAL);
	p->any_measurement = dec_bool(&d);
	p->n_measurements = (uint8_t)dec_uleb(&d, ATTEST_MAX_MEASUREMENTS);
	dec_raw(&d, p->measurements, (size_t)p->n_measurements * 32);
	p->n_sim_keys = (uint8_t)dec_uleb(&d, ATTEST_MAX_SIM_KEYS);
	dec_raw(&d, p->sim_keys, (size_t)p->n_sim_keys * 32);
	p->max_report_age = dec_u64(&d);
	p->max_confidence_level = dec_u8(&d);
	enum codec_result r = dec_finish(&d);
	if (r != CODEC_OK)
		memset(p, 0, sizeof(*p));
	return r;
}

void attest_policy_closed(struct attest_policy *p)
{
	memset(p, 0, sizeof(*p));
}

static bool listed(const uint8_t (*list)[32], size_t n, const uint8_t v[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(list[i], v, 32) == 0)
			return true;
	return false;
}

static enum attest_result verify_sim(const struct attest_policy *p, const struct attest_report *r)
{
	uint8_t m[32];
	if (!listed(p->sim_keys, p->n_sim_keys, r->sim_signer))
		return ATTEST_UNKNOWN_SIM_KEY;
	attest_sim_message(m, r);
	return sig_verify(r->sim_sig, m, sizeof(m), r->sim_signer) ? ATTEST_OK
	                                                           : ATTEST_BAD_SIGNATURE;
}

static enum attest_result verify_sgx(const struct attest_report *r)
{
	struct attest_sgx_quote q;
	uint8_t want[64];
	if (!attest_sgx_quote_parse(&q, r->quote, r->quote_len))
		return ATTEST_BAD_QUOTE;
	attest_sgx_expected_report_data(want, r->report_data, r->height);
	if (memcmp(q.mrenclave, r->measurement, 32) != 0 || memcmp(q.report_data, want, 64) != 0)
		return ATTEST_QUOTE_MISMATCH;
	if (q.attributes_flags & ATTEST_SGX_DEBUG_FLAG)
		return ATTEST_DEBUG_ENCLAVE;
	return ATTEST_OK;
}

enum attest_result attest_verify(const struct attest_policy *p, const struct attest_report *r,
                                 const uint8_t expected_report_data[32], uint64_t height,
                                 uint8_t *level)
{
	*level = 0;
	if (r->backend < 1 || r->backend > ATTEST_BACKEND_MAX ||
	    !(p->backends & (1u << r->backend)))
		return ATTEST_BACKEND_NOT_ALLOWED;
	if (!p->any_measurement && !listed(p->measurements, p->n_measurements, r->measurement))
		return ATTEST_MEASUREMENT_NOT_ALLOWED;
	if (memcmp(r->report_data, expected_report_data, 32) != 0)
		return ATTEST_REPORT_DATA_MISMATCH;
	if (r->height > height)
		return ATTEST_FROM_FUTURE;
	if (height - r->height > p->max_report_age)
		return ATTEST_STALE;
	bool sim = r->backend == ATTEST_BACKEND_SIM;
	enum attest_result res = sim ? verify_sim(p, r) : verify_sgx(r);
	if (res != ATTEST_OK)
		return res;
	uint8_t l = sim ? ATTEST_LEVEL_SIM : ATTEST_LEVEL_SGX_UNVERIFIED;
	if (l > p->max_confidence_level)
		return ATTEST_LOW_CONFIDENCE;
	*level = l;
	return ATTEST_OK;
}
