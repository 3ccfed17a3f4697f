#include "crypto/seal.h"

#include "base/codec.h"
#include "crypto/kdf.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#define AAD_TAG_LEN (sizeof(SEAL_AAD_TAG) - 1)
#define AAD_MAX     (AAD_TAG_LEN + 2 * SEAL_HASH_LEN + SEAL_PURPOSE_MAX)
/* version, genesis, measurement, one-byte LEB128 length (purposes are shorter than 128 bytes) */
#define HEADER_FIXED (1 + 2 * SEAL_HASH_LEN + 1)

static const char *const messages[] = {
    [SEAL_OK] = "ok",
    [SEAL_ERR_TRUNCATED] = "sealed blob is truncated or malformed",
    [SEAL_ERR_VERSION] = "sealed blob has an unknown version",
    [SEAL_ERR_OTHER_CHAIN] = "sealed blob belongs to another chain (genesis hash)",
    [SEAL_ERR_OTHER_MEASUREMENT] = "sealed blob was sealed by another enclave build (measurement)",
    [SEAL_ERR_OTHER_PURPOSE] = "sealed blob was sealed for another purpose",
    [SEAL_ERR_TAMPERED] = "sealed blob fails authentication (modified, or another sealing key)",
    [SEAL_ERR_TOO_LONG] = "plaintext too long to seal",
};

const char *seal_strerror(enum seal_result r)
{
	if ((size_t)r < sizeof(messages) / sizeof(messages[0]) && messages[r])
		return messages[r];
	return "unknown seal error";
}

_Static_assert(SEAL_PURPOSE_MAX < 128, "purpose length must fit one LEB128 byte");

size_t seal_blob_len(size_t pt_len, size_t purpose_len)
{
	return HEADER_FIXED + purpose_len + SEAL_NONCE_LEN + pt_len + SEAL_TAG_LEN;
}

void seal_sim_key(uint8_t key[SEAL_KEY_LEN], const uint8_t machine_secret[32],
                  const uint8_t measurement[SEAL_HASH_LEN])
{
	kdf_derive(key, SEAL_KEY_LEN, machine_secret, SEAL_SIM_LABEL, measurement, SEAL_HASH_LEN);
}

static size_t purpose_len_checked(const char *purpose)
{
	size_t n = strlen(purpose);
	assert(n >= 1 && n <= SEAL_PURPOSE_MAX);
	return n;
}

/* "tenebra/v1/seal" ‖ genesis ‖ measurement ‖ purpose into aad[AAD_MAX]; returns its length. */
static size_t build_aad(uint8_t aad[AAD_MAX], const uint8_t genesis[SEAL_HASH_LEN],
                        const uint8_t measurement[SEAL_HASH_LEN], const uint8_t *purpose,
                        size_t purpose_len)
{
	struct enc e;
	enc_init_fixed(&e, aad, AAD_MAX);
	enc_raw(&e, SEAL_AAD_TAG, AAD_TAG_LEN);
	enc_raw(&e, genesis, SEAL_HASH_LEN);
	enc_raw(&e, measurement, SEAL_HASH_LEN);
	enc_raw(&e, purpose, purpose_len);
	assert(enc_finish(&e) == CODEC_OK);
	return e.len;
}

enum seal_result seal_wrap(const uint8_t key[SEAL_KEY_LEN], const uint8_t genesis[SEAL_HASH_LEN],
                           const uint8_t measurement[SEAL_HASH_LEN], const char *purpose,
                           const uint8_t *pt, size_t pt_len, seal_rand_fn rng, void *rng_ctx,
                           uint8_t *out, size_t *out_len)
{
	assert(key && genesis && measurement && (pt || !pt_len) && rng && out && out_len);
	size_t plen = purpose_len_checked(purpose);
	if (pt_len > SEAL_PT_MAX)
		return SEAL_ERR_TOO_LONG;
	size_t total = seal_blob_len(pt_len, plen);
	struct enc e;
	enc_init_fixed(&e, out, total);
	enc_u8(&e, SEAL_VERSION);
	enc_raw(&e, genesis, SEAL_HASH_LEN);
	enc_raw(&e, measurement, SEAL_HASH_LEN);
	enc_bytes(&e, purpose, plen);
	assert(enc_finish(&e) == CODEC_OK);
	uint8_t *nonce = out + e.len, *ct = nonce + SEAL_NONCE_LEN;
	rng(rng_ctx, nonce, SEAL_NONCE_LEN);
	uint8_t aad[AAD_MAX];
	size_t aad_len = build_aad(aad, genesis, measurement, (const uint8_t *)purpose, plen);
	unsigned long long ct_len = 0;
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, pt, pt_len, aad, aad_len, NULL,
	                                           nonce, key);
	assert(ct_len == pt_len + SEAL_TAG_LEN);
	*out_len = total;
	return SEAL_OK;
}

struct header {
	uint8_t version;
	const uint8_t *genesis, *measurement, *purpose, *nonce, *ct;
	size_t purpose_len, ct_len;
};

static enum seal_result parse(struct header *h, const uint8_t *blob, size_t blob_len)
{
	struct dec d;
	dec_init(&d, blob, blob_len);
	h->version = dec_u8(&d);
	if (d.err)
		return SEAL_ERR_TRUNCATED;
	if (h->version != SEAL_VERSION)
		return SEAL_ERR_VERSION;
	h->genesis = dec_view(&d, SEAL_HASH_LEN);
	h->measurement = dec_view(&d, SEAL_HASH_LEN);
	h->purpose = dec_bytes(&d, &h->purpose_len, SEAL_PURPOSE_MAX);
	h->nonce = dec_view(&d, SEAL_NONCE_LEN);
	if (d.err || dec_remaining(&d) < SEAL_TAG_LEN)
		return SEAL_ERR_TRUNCATED;
	h->ct_len = dec_remaining(&d);
	h->ct = dec_view(&d, h->ct_len);
	return SEAL_OK;
}

static enum seal_result check_binding(const struct header *h, const uint8_t *genesis,
                                      const uint8_t *measurement, const char *purpose)
{
	size_t plen = purpose_len_checked(purpose);
	/* All three are public values: a plain comparison leaks nothing. */
	if (memcmp(h->genesis, genesis, SEAL_HASH_LEN) != 0)
		return SEAL_ERR_OTHER_CHAIN;
	if (memcmp(h->measurement, measurement, SEAL_HASH_LEN) != 0)
		return SEAL_ERR_OTHER_MEASUREMENT;
	if (h->purpose_len != plen || memcmp(h->purpose, purpose, plen) != 0)
		return SEAL_ERR_OTHER_PURPOSE;
	return SEAL_OK;
}

enum seal_result seal_unwrap(const uint8_t key[SEAL_KEY_LEN], const uint8_t genesis[SEAL_HASH_LEN],
                             const uint8_t measurement[SEAL_HASH_LEN], const char *purpose,
                             const uint8_t *blob, size_t blob_len, uint8_t *pt, size_t *pt_len)
{
	assert(key && genesis && measurement && (blob || !blob_len) && pt && pt_len);
	*pt_len = 0;
	struct header h;
	enum seal_result r = parse(&h, blob, blob_len);
	if (r == SEAL_OK)
		r = check_binding(&h, genesis, measurement, purpose);
	if (r != SEAL_OK)
		return r;
	uint8_t aad[AAD_MAX];
	size_t aad_len = build_aad(aad, genesis, measurement, h.purpose, h.purpose_len);
	unsigned long long n = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &n, NULL, h.ct, h.ct_len, aad, aad_len,
	                                               h.nonce, key) != 0) {
		sodium_memzero(pt, h.ct_len - SEAL_TAG_LEN);
		return SEAL_ERR_TAMPERED;
	}
	*pt_len = (size_t)n;
	return SEAL_OK;
}
