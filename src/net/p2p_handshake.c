/*
 * The p2p handshake (p2p_wire.h; layouts in docs/protocol/p2p.md). Shaped like CometBFT's
 * SecretConnection: ephemeral X25519 in the clear, session keys from the DH output and a
 * transcript hash, then each side proves its Ed25519 node key by signing the transcript inside the
 * encrypted stream, so a man in the middle (who has different ephemerals with each side, hence a
 * different transcript) cannot relay the signatures.
 */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "base/codec.h"
#include "crypto/hash.h"
#include "crypto/kdf.h"
#include "net/p2p_wire.h"

static const uint8_t p2p_magic[P2P_MAGIC_LEN] = {'t', 'n', 'p', '1'};
static const char transcript_tag[] = "tenebra/v1/p2p-transcript";
static const char keys_info[] = "tenebra/v1/p2p-keys";
static const char auth_tag[] = "tenebra/v1/p2p-auth";

void p2p_cipher_release(struct p2p_cipher *c)
{
	sodium_memzero(c, sizeof(*c));
}

void p2p_handshake_init_derand(struct p2p_handshake *hs, const uint8_t chain_id[P2P_CHAIN_ID_LEN],
                               const uint8_t eph_sk[P2P_X25519_LEN])
{
	memset(hs, 0, sizeof(*hs));
	memcpy(hs->chain_id, chain_id, P2P_CHAIN_ID_LEN);
	memcpy(hs->eph_sk, eph_sk, P2P_X25519_LEN);
	crypto_scalarmult_base(hs->eph_pk, hs->eph_sk);
}

void p2p_handshake_init(struct p2p_handshake *hs, const uint8_t chain_id[P2P_CHAIN_ID_LEN])
{
	uint8_t sk[P2P_X25519_LEN];
	randombytes_buf(sk, sizeof(sk));
	p2p_handshake_init_derand(hs, chain_id, sk);
	sodium_memzero(sk, sizeof(sk));
}

void p2p_handshake_init_msg(const struct p2p_handshake *hs, uint8_t out[P2P_INIT_LEN])
{
	memcpy(out, p2p_magic, P2P_MAGIC_LEN);
	memcpy(out + P2P_MAGIC_LEN, hs->chain_id, P2P_CHAIN_ID_LEN);
	memcpy(out + P2P_MAGIC_LEN + P2P_CHAIN_ID_LEN, hs->eph_pk, P2P_X25519_LEN);
}

void p2p_handshake_release(struct p2p_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

/* transcript = H("tenebra/v1/p2p-transcript", magic ‖ chain id ‖ lower eph ‖ higher eph). */
static void transcript_hash(struct p2p_handshake *hs, const uint8_t *lo, const uint8_t *hi)
{
	struct hash_state h;
	hash_init_tagged(&h, transcript_tag);
	hash_update(&h, p2p_magic, P2P_MAGIC_LEN);
	hash_update(&h, hs->chain_id, P2P_CHAIN_ID_LEN);
	hash_update(&h, lo, P2P_X25519_LEN);
	hash_update(&h, hi, P2P_X25519_LEN);
	hash_final(&h, hs->transcript);
}

static enum p2p_result check_init(const struct p2p_handshake *hs, const uint8_t *peer_init)
{
	if (memcmp(peer_init, p2p_magic, P2P_MAGIC_LEN) != 0)
		return P2P_ERR_MAGIC;
	if (memcmp(peer_init + P2P_MAGIC_LEN, hs->chain_id, P2P_CHAIN_ID_LEN) != 0)
		return P2P_ERR_CHAIN_ID;
	/* Equal ephemerals: our own init reflected back (or a loop to ourselves). Not secret. */
	if (memcmp(peer_init + P2P_MAGIC_LEN + P2P_CHAIN_ID_LEN, hs->eph_pk, P2P_X25519_LEN) == 0)
		return P2P_ERR_SELF;
	return P2P_OK;
}

enum p2p_result p2p_handshake_derive(struct p2p_handshake *hs,
                                     const uint8_t peer_init[P2P_INIT_LEN], struct p2p_cipher *send,
                                     struct p2p_cipher *recv)
{
	assert(!hs->derived);
	uint8_t dh[crypto_scalarmult_BYTES], okm[2 * P2P_KEY_LEN];
	const uint8_t *peer_pk = peer_init + P2P_MAGIC_LEN + P2P_CHAIN_ID_LEN;
	enum p2p_result r = check_init(hs, peer_init);
	if (r != P2P_OK)
		goto out;
	/* crypto_scalarmult fails on an all-zero result, i.e. a peer key of small order. */
	if (crypto_scalarmult(dh, hs->eph_sk, peer_pk) != 0) {
		r = P2P_ERR_WEAK_KEY;
		goto out;
	}
	/* Both sides sort the ephemerals the same way; the lower one's frames use the first key. */
	bool we_are_lo = memcmp(hs->eph_pk, peer_pk, P2P_X25519_LEN) < 0;
	transcript_hash(hs, we_are_lo ? hs->eph_pk : peer_pk, we_are_lo ? peer_pk : hs->eph_pk);
	uint8_t prk[KDF_KEY_LEN];
	kdf_hkdf_extract(prk, hs->transcript, P2P_HASH_LEN, dh, sizeof(dh));
	kdf_hkdf_expand(okm, sizeof(okm), prk, (const uint8_t *)keys_info, sizeof(keys_info) - 1);
	sodium_memzero(prk, sizeof(prk));
	memset(send, 0, sizeof(*send));
	memset(recv, 0, sizeof(*recv));
	memcpy(send->key, okm + (we_are_lo ? 0 : P2P_KEY_LEN), P2P_KEY_LEN);
	memcpy(recv->key, okm + (we_are_lo ? P2P_KEY_LEN : 0), P2P_KEY_LEN);
	send->ready = recv->ready = true;
	hs->derived = true;
out:
	sodium_memzero(hs->eph_sk, sizeof(hs->eph_sk));
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(okm, sizeof(okm));
	return r;
}

/* The signed bytes: "tenebra/v1/p2p-auth" ‖ transcript (fixed layout, no length byte). */
static void auth_message(uint8_t out[sizeof(auth_tag) - 1 + P2P_HASH_LEN],
                         const struct p2p_handshake *hs)
{
	memcpy(out, auth_tag, sizeof(auth_tag) - 1);
	memcpy(out + sizeof(auth_tag) - 1, hs->transcript, P2P_HASH_LEN);
}

void p2p_handshake_auth_encode(const struct p2p_handshake *hs, uint8_t *out, size_t *len,
                               const uint8_t node_sk[SIG_SK_LEN], const struct p2p_hello *hello)
{
	assert(hs->derived);
	assert(hello->listen_len <= P2P_LISTEN_MAX && hello->app_len <= P2P_APP_MAX);
	uint8_t msg[sizeof(auth_tag) - 1 + P2P_HASH_LEN], sig[SIG_LEN];
	auth_message(msg, hs);
	sig_sign(sig, msg, sizeof(msg), node_sk);
	struct enc e;
	enc_init_fixed(&e, out, P2P_AUTH_PT_MAX);
	enc_u8(&e, P2P_KIND_AUTH);
	enc_raw(&e, node_sk + SIG_SEED_LEN, SIG_PK_LEN); /* libsodium sk = seed ‖ pk */
	enc_raw(&e, sig, SIG_LEN);
	enc_u32(&e, hello->version);
	enc_raw(&e, hello->chain_id, P2P_CHAIN_ID_LEN);
	enc_bytes(&e, hello->listen, hello->listen_len);
	enc_bytes(&e, hello->app, hello->app_len);
	assert(enc_finish(&e) == CODEC_OK);
	*len = e.len;
}

enum p2p_result p2p_handshake_auth_decode(const struct p2p_handshake *hs, const uint8_t *pt,
                                          size_t n, struct p2p_auth *out)
{
	assert(hs->derived);
	struct dec d;
	uint8_t sig[SIG_LEN];
	dec_init(&d, pt, n);
	if (dec_u8(&d) != P2P_KIND_AUTH)
		return n == 0 ? P2P_ERR_MALFORMED : P2P_ERR_PROTOCOL;
	dec_raw(&d, out->node_pk, SIG_PK_LEN);
	dec_raw(&d, sig, SIG_LEN);
	out->hello.version = dec_u32(&d);
	dec_raw(&d, out->hello.chain_id, P2P_CHAIN_ID_LEN);
	out->hello.listen = (const char *)dec_bytes(&d, &out->hello.listen_len, P2P_LISTEN_MAX);
	out->hello.app = dec_bytes(&d, &out->hello.app_len, P2P_APP_MAX);
	if (dec_finish(&d) != CODEC_OK)
		return P2P_ERR_MALFORMED;
	uint8_t msg[sizeof(auth_tag) - 1 + P2P_HASH_LEN];
	auth_message(msg, hs);
	if (!sig_verify(sig, msg, sizeof(msg), out->node_pk))
		return P2P_ERR_BAD_SIG;
	if (out->hello.version != P2P_VERSION)
		return P2P_ERR_VERSION;
	if (memcmp(out->hello.chain_id, hs->chain_id, P2P_CHAIN_ID_LEN) != 0)
		return P2P_ERR_CHAIN_ID;
	return P2P_OK;
}
