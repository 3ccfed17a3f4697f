/*
 * hpke_open_base on arbitrary envelopes to a fixed recipient key (DeriveKeyPair of 32 bytes 0x42,
 * info "tenebra/v1/fuzz"). Input: byte 0 selects the AEAD (bit 0: AES-256-GCM, else
 * ChaCha20-Poly1305), byte 1 is the AAD length (capped by what is left), then the AAD, then the
 * envelope enc ‖ ct. Garbage must be refused with an error and a zeroed plaintext; an envelope that
 * opens must have the right length, must not open again under the next sequence number of the kept
 * context, and must not open with any other AAD. Separately, the envelope bytes are sealed and
 * opened as a plaintext, which must round-trip.
 */
#include "crypto/hpke.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t info[] = "tenebra/v1/fuzz";

static void recipient(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN])
{
	uint8_t ikm[HPKE_IKM_LEN];
	memset(ikm, 0x42, sizeof(ikm));
	hpke_keypair_from_seed(pk, sk, ikm);
}

static void check_open(enum hpke_aead aead, const uint8_t pk[HPKE_PK_LEN],
                       const uint8_t sk[HPKE_SK_LEN], const uint8_t *aad, size_t aad_len,
                       const uint8_t *env, size_t env_len)
{
	uint8_t *pt = malloc(env_len + 1);
	if (!pt)
		return;
	size_t pt_len = 0;
	struct hpke_ctx ctx;
	enum hpke_result r = hpke_open_base(aead, sk, pk, info, sizeof(info) - 1, aad, aad_len, env,
	                                    env_len, pt, &pt_len, &ctx);
	if (r == HPKE_ERR_OPEN)
		for (size_t i = 0; i < env_len - HPKE_ENVELOPE_OVERHEAD; i++)
			if (pt[i] != 0)
				abort();
	if (r == HPKE_OK) {
		if (pt_len != env_len - HPKE_ENVELOPE_OVERHEAD || ctx.seq != 1)
			abort();
		if (hpke_open(&ctx, aad, aad_len, env + HPKE_ENC_LEN, env_len - HPKE_ENC_LEN, pt) !=
		    HPKE_ERR_OPEN)
			abort(); /* a replay under sequence number 1 */
		uint8_t other[256];
		memcpy(other, aad, aad_len);
		other[aad_len] = 0;
		if (hpke_open_base(aead, sk, pk, info, sizeof(info) - 1, other, aad_len + 1, env,
		                   env_len, pt, &pt_len, NULL) != HPKE_ERR_OPEN)
			abort();
		hpke_ctx_release(&ctx);
	}
	free(pt);
}

static void check_roundtrip(enum hpke_aead aead, const uint8_t pk[HPKE_PK_LEN],
                            const uint8_t sk[HPKE_SK_LEN], const uint8_t *msg, size_t n)
{
	uint8_t *env = malloc(n + HPKE_ENVELOPE_OVERHEAD), *back = malloc(n + 1);
	uint8_t ikmE[HPKE_IKM_LEN] = {0};
	memcpy(ikmE, msg, n < sizeof(ikmE) ? n : sizeof(ikmE));
	size_t back_len = 0;
	if (env && back &&
	    hpke_seal_base_derand(aead, pk, info, sizeof(info) - 1, NULL, 0, msg, n, ikmE, env,
	                          NULL) == HPKE_OK) {
		if (hpke_open_base(aead, sk, pk, info, sizeof(info) - 1, NULL, 0, env,
		                   n + HPKE_ENVELOPE_OVERHEAD, back, &back_len, NULL) != HPKE_OK ||
		    back_len != n || memcmp(back, msg, n) != 0)
			abort();
	}
	free(env);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[HPKE_PK_LEN], sk[HPKE_SK_LEN];
	static int ready;
	if (!ready) {
		recipient(pk, sk);
		ready = 1;
	}
	if (size < 2)
		return 0;
	enum hpke_aead aead = (data[0] & 1) ? HPKE_AEAD_AES256GCM : HPKE_AEAD_CHACHA20POLY1305;
	size_t aad_len = data[1] < size - 2 ? data[1] : size - 2;
	const uint8_t *aad = data + 2, *env = aad + aad_len;
	size_t env_len = size - 2 - aad_len;
	check_open(aead, pk, sk, aad, aad_len, env, env_len);
	check_roundtrip(aead, pk, sk, env, env_len);
	return 0;
}
