#include "crypto/kdf.h"

#include "base/codec.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

void kdf_hkdf_extract(uint8_t prk[KDF_KEY_LEN], const uint8_t *salt, size_t salt_len,
                      const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t zeros[KDF_KEY_LEN];
	assert((salt || !salt_len) && (ikm || !ikm_len));
	if (!salt_len) {
		salt = zeros;
		salt_len = sizeof(zeros);
	}
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, salt, salt_len);
	crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
	crypto_auth_hmacsha256_final(&st, prk);
	sodium_memzero(&st, sizeof(st));
}

void kdf_hkdf_expand(uint8_t *out, size_t len, const uint8_t prk[KDF_KEY_LEN], const uint8_t *info,
                     size_t info_len)
{
	assert(out && len <= KDF_OUT_MAX && (info || !info_len));
	uint8_t t[KDF_KEY_LEN];
	size_t t_len = 0;
	crypto_auth_hmacsha256_state st;
	for (size_t done = 0, block = 1; done < len; block++) {
		const uint8_t ctr = (uint8_t)block;
		crypto_auth_hmacsha256_init(&st, prk, KDF_KEY_LEN);
		crypto_auth_hmacsha256_update(&st, t, t_len); /* T(0) is empty */
		crypto_auth_hmacsha256_update(&st, info, info_len);
		crypto_auth_hmacsha256_update(&st, &ctr, 1);
		crypto_auth_hmacsha256_final(&st, t);
		t_len = KDF_KEY_LEN;
		size_t take = len - done < t_len ? len - done : t_len;
		memcpy(out + done, t, take);
		done += take;
	}
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(t, sizeof(t));
}

/* Worst-case info: two one- or two-byte LEB128 lengths, the label, the context, u16 length. */
#define INFO_MAX (2 + KDF_LABEL_MAX + 2 + KDF_CONTEXT_MAX + 2)

void kdf_derive(uint8_t *out, size_t len, const uint8_t key[KDF_KEY_LEN], const char *label,
                const uint8_t *ctx, size_t ctx_len)
{
	size_t label_len = strlen(label);
	assert(label_len >= 1 && label_len <= KDF_LABEL_MAX);
	assert(ctx_len <= KDF_CONTEXT_MAX && (ctx || !ctx_len));
	assert(len >= 1 && len <= KDF_OUT_MAX);
	/* The context can be secret (the key-share ephemeral binds a plaintext hash), so the info
	 * buffer lives on the stack and is wiped rather than built with a growable encoder. */
	uint8_t info[INFO_MAX], prk[KDF_KEY_LEN];
	struct enc e;
	enc_init_fixed(&e, info, sizeof(info));
	enc_bytes(&e, label, label_len);
	enc_bytes(&e, ctx, ctx_len);
	enc_u16(&e, (uint16_t)len);
	assert(enc_finish(&e) == CODEC_OK);
	kdf_hkdf_extract(prk, (const uint8_t *)KDF_SALT, sizeof(KDF_SALT) - 1, key, KDF_KEY_LEN);
	kdf_hkdf_expand(out, len, prk, info, e.len);
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(info, sizeof(info));
}

void kdf_cluster_key(uint8_t out[KDF_KEY_LEN], const uint8_t master[KDF_KEY_LEN],
                     uint32_t cluster_id)
{
	uint8_t id[4];
	struct enc e;
	enc_init_fixed(&e, id, sizeof(id));
	enc_u32(&e, cluster_id);
	assert(enc_finish(&e) == CODEC_OK);
	kdf_derive(out, KDF_KEY_LEN, master, KDF_LABEL_CLUSTER, id, sizeof(id));
}

void kdf_contract_key(uint8_t out[KDF_KEY_LEN], const uint8_t cluster[KDF_KEY_LEN],
                      const uint8_t contract_id[32])
{
	kdf_derive(out, KDF_KEY_LEN, cluster, KDF_LABEL_CONTRACT, contract_id, 32);
}

_Static_assert(HPKE_IKM_LEN == 32 && SIG_SEED_LEN == 32, "both key pairs grow from 32 bytes");

/* A key pair grown by from_seed out of the 32 bytes derived from key under label. */
static void keypair_under(uint8_t *pk, uint8_t *sk, const uint8_t key[KDF_KEY_LEN],
                          const char *label,
                          void (*from_seed)(uint8_t *pk, uint8_t *sk, const uint8_t *seed))
{
	uint8_t seed[32];
	kdf_derive(seed, sizeof(seed), key, label, NULL, 0);
	from_seed(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

void kdf_hpke_keypair(uint8_t pk[HPKE_PK_LEN], uint8_t sk[HPKE_SK_LEN],
                      const uint8_t key[KDF_KEY_LEN])
{
	keypair_under(pk, sk, key, KDF_LABEL_HPKE, hpke_keypair_from_seed);
}

void kdf_sign_keypair(uint8_t pk[SIG_PK_LEN], uint8_t sk[SIG_SK_LEN],
                      const uint8_t key[KDF_KEY_LEN])
{
	keypair_under(pk, sk, key, KDF_LABEL_SIGN, sig_keypair_from_seed);
}

void kdf_public_identity(struct kdf_identity *id, const uint8_t key[KDF_KEY_LEN])
{
	uint8_t hpke_sk[HPKE_SK_LEN], sign_sk[SIG_SK_LEN];
	kdf_hpke_keypair(id->hpke_pk, hpke_sk, key);
	kdf_sign_keypair(id->sign_pk, sign_sk, key);
	sodium_memzero(hpke_sk, sizeof(hpke_sk));
	sodium_memzero(sign_sk, sizeof(sign_sk));
}

void kdf_ratchet(uint8_t next[KDF_KEY_LEN], const uint8_t cur[KDF_KEY_LEN])
{
	kdf_derive(next, KDF_KEY_LEN, cur, KDF_LABEL_RATCHET, NULL, 0);
}
