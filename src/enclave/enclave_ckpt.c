/* Checkpoints: the whole enclave state, sealed (crypto/seal.h) under the platform's key and bound
 * to the chain and the measurement (docs/protocol/worker.md "Checkpoint"). The plaintext holds
 * the keys, so it is built in guarded memory and wiped on every path. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/seal.h"
#include "crypto/sig.h"
#include "enclave/enclave_int.h"

#define CKPT_VERSION   3
#define CKPT_PURPOSE   "checkpoint"
#define CKPT_FIRST_CAP (64u << 10) /* first guess at the plaintext size; doubles as needed */

static void ckpt_rand(void *ctx, uint8_t *buf, size_t n)
{
	struct enclave *e = ctx;
	e->plat.random(e->plat.ctx, buf, n);
}

static enum enclave_result ckpt_encode(struct enc *p, const struct enclave *e)
{
	enc_u8(p, CKPT_VERSION);
	enc_raw(p, e->sec->identity_sk, 32); /* the seed half; the public half is re-derived */
	enc_raw(p, e->sec->hpke_sk, 32);
	enc_u64(p, e->lc.height);
	enc_raw(p, e->lc.hash, 32);
	enc_u64(p, e->lc.time_ms);
	uint8_t vs[VALSET_MAX_BYTES];
	struct enc v;
	enc_init_fixed(&v, vs, sizeof(vs));
	valset_encode(&v, &e->lc.next_set);
	enc_bytes(p, v.buf, v.len);
	enc_u64(p, e->msgs_dispatched);
	enclave_sys_encode(e, p);
	enclave_backlog_encode(e, p);
	return enclave_contracts_encode(e, p);
}

/* Encodes the plaintext into guarded memory sized to the state: it starts small and doubles up to
 * config.max_state_bytes, because allocating and wiping the whole cap for a small state is what a
 * checkpoint would otherwise cost (ckpt_encode has no side effects, so a retry is safe). On
 * ENCLAVE_OK *pt (sodium_malloc'ed, the caller sodium_frees it) holds *len bytes. */
static enum enclave_result ckpt_plaintext(const struct enclave *e, uint8_t **pt, size_t *len)
{
	size_t max = e->cfg.max_state_bytes;
	for (size_t cap = max < CKPT_FIRST_CAP ? max : CKPT_FIRST_CAP;;
	     cap = cap > max / 2 ? max : 2 * cap) {
		*pt = sodium_malloc(cap);
		if (!*pt)
			return ENCLAVE_NOMEM;
		struct enc p;
		enc_init_fixed(&p, *pt, cap);
		enum enclave_result r = ckpt_encode(&p, e);
		if (r == ENCLAVE_OK && enc_finish(&p) == CODEC_OK) {
			*len = p.len;
			return ENCLAVE_OK;
		}
		sodium_free(*pt); /* wipes */
		*pt = NULL;
		if ((r != ENCLAVE_OK && r != ENCLAVE_TOO_LARGE) || cap == max)
			return r != ENCLAVE_OK ? r : ENCLAVE_TOO_LARGE;
	}
}

enum enclave_result enclave_checkpoint(struct enclave *e, struct enc *out)
{
	if (!e->started)
		return ENCLAVE_NOT_STARTED;
	if (e->failed)
		return ENCLAVE_FAILED;
	uint8_t *pt = NULL, *blob = NULL, key[SEAL_KEY_LEN];
	size_t pt_len;
	enum enclave_result r = ckpt_plaintext(e, &pt, &pt_len);
	if (r != ENCLAVE_OK)
		goto out;
	r = ENCLAVE_PLATFORM;
	if (e->plat.seal_key(e->plat.ctx, key) != 0)
		goto out;
	size_t blob_len = seal_blob_len(pt_len, strlen(CKPT_PURPOSE));
	blob = malloc(blob_len); /* ciphertext: no secret */
	r = ENCLAVE_NOMEM;
	if (!blob)
		goto out;
	r = ENCLAVE_TOO_LARGE;
	if (seal_wrap(key, e->chain_id, e->measurement, CKPT_PURPOSE, pt, pt_len, ckpt_rand, e,
	              blob, &blob_len) != SEAL_OK)
		goto out;
	enc_raw(out, blob, blob_len);
	if (enc_finish(out) == CODEC_OK)
		r = ENCLAVE_OK;
out:
	free(blob);
	sodium_memzero(key, sizeof(key));
	sodium_free(pt); /* wipes; NULL is a no-op */
	return r;
}

/* Decodes a checkpoint's plaintext into e (not started yet); false if it does not decode. */
static bool ckpt_decode(struct enclave *e, const uint8_t *pt, size_t n)
{
	struct dec d;
	dec_init(&d, pt, n);
	if (dec_u8(&d) != CKPT_VERSION)
		return false;
	uint8_t seed[32];
	dec_raw(&d, seed, 32);
	sig_keypair_from_seed(e->identity, e->sec->identity_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	dec_raw(&d, e->sec->hpke_sk, 32);
	e->lc.height = dec_u64(&d);
	dec_raw(&d, e->lc.hash, 32);
	e->lc.time_ms = dec_u64(&d);
	size_t vlen;
	const uint8_t *vs = dec_bytes(&d, &vlen, VALSET_MAX_BYTES);
	if (vs && valset_decode(&e->lc.next_set, vs, vlen) != BLOCK_OK)
		dec_fail(&d, CODEC_NONCANONICAL);
	valset_hash(e->lc.next_set_hash, &e->lc.next_set);
	e->msgs_dispatched = dec_u64(&d);
	enclave_sys_decode(e, &d);
	enclave_backlog_decode(e, &d);
	enclave_contracts_decode(e, &d);
	return dec_finish(&d) == CODEC_OK &&
	       crypto_scalarmult_base(e->hpke_pk, e->sec->hpke_sk) == 0;
}

enum enclave_result enclave_restore(struct enclave *e, const uint8_t *sealed, size_t len)
{
	uint8_t key[SEAL_KEY_LEN];
	if (e->plat.seal_key(e->plat.ctx, key) != 0)
		return ENCLAVE_PLATFORM;
	enum enclave_result r = ENCLAVE_NOMEM;
	uint8_t *pt = sodium_malloc(len ? len : 1);
	if (!pt)
		goto out;
	size_t pt_len;
	enum seal_result sr =
	    seal_unwrap(key, e->chain_id, e->measurement, CKPT_PURPOSE, sealed, len, pt, &pt_len);
	r = ENCLAVE_UNSEAL;
	if (sr != SEAL_OK) {
		enclave_log(e, LOG_ERROR, "checkpoint refused: %s", seal_strerror(sr));
		goto out;
	}
	if (!ckpt_decode(e, pt, pt_len)) {
		enclave_log(e, LOG_ERROR, "checkpoint refused: its contents do not decode");
		goto out;
	}
	r = ENCLAVE_OK;
out:
	sodium_memzero(key, sizeof(key));
	sodium_free(pt);
	return r;
}
