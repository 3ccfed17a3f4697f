/*
 * The envelope openers and decoders (src/crypto/envelope.h) and seal_unwrap (seal.h) on arbitrary
 * input, against fixed keys (fuzz_keys). Byte 0 selects the target, the rest is its input:
 *
 *   0  env_query_decode (decode -> encode must round-trip) then env_query_open at height 100,
 *      without and with a session cache shared by all inputs, which must decide the same; a
 *      query that opens must also answer: response seal -> open round trip
 *   1  env_cert_decode (round trip) as both kinds; env_cert_verify accepts only the two signed
 *      certificates, each for its own kind
 *   2  env_command_open (ChaCha20-Poly1305)     3  env_keyshare_open
 *   4  env_response_open under a fixed key      5  seal_unwrap
 *   6  the rest is a request: a valid query is sealed (byte 1 % 3: by the account, an Ed25519
 *      session key, or an X25519 session key in HPKE auth mode), must open to the same request
 *      (through the cache too), and must be refused with byte (byte 1) flipped
 *
 * Every refusal must leave the output buffer free of plaintext; nothing may crash or leak.
 */
#include "crypto/envelope.h"
#include "crypto/kdf.h"
#include "crypto/seal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEIGHT 100

struct fuzz_keys {
	uint8_t chain[32], contract[32], pk[32], sk[32];
	uint8_t account_pk[32], account_sk[64], session_pk[32], session_sk[64];
	uint8_t xsession_pk[32], xsession_sk[32];
	uint8_t response_key[32], seal_key[32], measurement[32];
	struct env_cert cert, xcert;
	struct env_command_ctx cmd;
	struct env_keyshare_ctx ks;
};

static const struct fuzz_keys *keys(void)
{
	static struct fuzz_keys k;
	static int ready;
	if (ready)
		return &k;
	uint8_t seed[32];
	memset(k.chain, 0xc1, 32);
	memset(k.contract, 0xc7, 32);
	memset(seed, 0x42, 32);
	kdf_hpke_keypair(k.pk, k.sk, seed);
	memset(seed, 0xa1, 32);
	sig_keypair_from_seed(k.account_pk, k.account_sk, seed);
	memset(seed, 0x5e, 32);
	sig_keypair_from_seed(k.session_pk, k.session_sk, seed);
	env_cert_sign(&k.cert, ENV_CERT_ED25519, k.chain, k.account_sk, k.session_pk, 1000);
	memset(seed, 0x65, 32);
	hpke_keypair_from_seed(k.xsession_pk, k.xsession_sk, seed);
	env_cert_sign(&k.xcert, ENV_CERT_X25519, k.chain, k.account_sk, k.xsession_pk, 1000);
	memset(k.response_key, 0x72, 32);
	memset(k.measurement, 0x3e, 32);
	memset(seed, 0x5a, 32);
	seal_sim_key(k.seal_key, seed, k.measurement);
	memcpy(k.cmd.chain_id, k.chain, 32);
	memcpy(k.cmd.contract_id, k.contract, 32);
	memcpy(k.cmd.sender, k.account_pk, 32);
	k.cmd.nonce = 7;
	memcpy(k.ks.chain_id, k.chain, 32);
	memset(k.ks.sender, 0x01, 32);
	memset(k.ks.recipient, 0x02, 32);
	k.ks.seq = 3;
	k.ks.purpose = "cluster";
	ready = 1;
	return &k;
}

/* A refused open must not leave decrypted bytes behind: the buffer was filled with 0xa5 and each
 * byte is either that or wiped to 0. */
static void check_clean(const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != 0 && buf[i] != 0xa5)
			abort();
}

static void fixed_fill(void *ctx, uint8_t *out, size_t n)
{
	uint8_t *next = ctx;
	for (size_t i = 0; i < n; i++)
		out[i] = (*next)++;
}

static void answer(const struct env_query *q)
{
	static const uint8_t resp[] = "fuzz answer";
	uint8_t ct[sizeof(resp) + ENV_RESPONSE_OVERHEAD], back[sizeof(resp)], counter = 0;
	size_t n = 0;
	if (env_response_seal(q->aead, q->response_key, q->request_id, resp, sizeof(resp),
	                      fixed_fill, &counter, ct) != ENV_OK ||
	    env_response_open(q->aead, q->response_key, q->request_id, ct, sizeof(ct), back, &n) !=
	        ENV_OK ||
	    n != sizeof(resp) || memcmp(back, resp, n) != 0)
		abort();
}

/* The session cache every input shares: what one input put there must not change how a later
 * one is decided. */
static struct scache *sessions(void)
{
	static struct scache *c;
	if (!c) {
		uint8_t secret[32];
		memset(secret, 0x5c, sizeof(secret));
		if (!(c = scache_new(64, secret)))
			abort();
	}
	return c;
}

static enum env_result open_q(const uint8_t *in, size_t n, uint8_t *buf, struct env_query *q,
                              struct scache *c)
{
	const struct fuzz_keys *k = keys();
	return env_query_open(k->sk, k->pk, k->chain, k->contract, HEIGHT, in, n, buf, q, c);
}

static void fuzz_query(const uint8_t *in, size_t n, uint8_t *buf)
{
	struct env_query_msg m;
	if (env_query_decode(&m, in, n) == ENV_OK) {
		struct enc e;
		enc_init(&e, n + 1);
		env_query_encode(&e, &m);
		if (enc_finish(&e) != CODEC_OK || e.len != n || memcmp(e.buf, in, n) != 0)
			abort();
		enc_release(&e);
	}
	struct env_query q;
	enum env_result r = open_q(in, n, buf, &q, NULL);
	if (r == ENV_OK)
		env_query_release(&q);
	else
		check_clean(buf, n);
	if (open_q(in, n, buf, &q, sessions()) != r)
		abort(); /* the cache changed a decision */
	if (r == ENV_OK) {
		if (q.request_len > n || q.expiry < HEIGHT)
			abort();
		answer(&q);
	} else {
		check_clean(buf, n);
	}
	env_query_release(&q);
}

static void fuzz_cert(const uint8_t *in, size_t n)
{
	for (int kind = ENV_CERT_ED25519; kind <= ENV_CERT_X25519; kind++) {
		struct dec d;
		struct env_cert c;
		dec_init(&d, in, n);
		env_cert_decode(&d, &c, (enum env_cert_kind)kind);
		if (dec_finish(&d) != CODEC_OK)
			return;
		uint8_t out[ENV_CERT_LEN];
		struct enc e;
		enc_init_fixed(&e, out, sizeof(out));
		env_cert_encode(&e, &c);
		if (enc_finish(&e) != CODEC_OK || e.len != n || memcmp(out, in, n) != 0)
			abort();
		/* Unforgeability: only the certificates the account signed verify, each only as
		 * its own kind. */
		const struct env_cert *signed_one =
		    kind == ENV_CERT_X25519 ? &keys()->xcert : &keys()->cert;
		uint8_t want[ENV_CERT_LEN];
		enc_init_fixed(&e, want, sizeof(want));
		env_cert_encode(&e, signed_one); /* bytes, not the struct: it has padding */
		int same = memcmp(out, want, sizeof(want)) == 0;
		if ((env_cert_verify(&c, keys()->chain, HEIGHT) == ENV_OK) != same)
			abort();
	}
}

static void fuzz_opens(uint8_t mode, const uint8_t *in, size_t n, uint8_t *buf)
{
	const struct fuzz_keys *k = keys();
	size_t pt_len = 0;
	int ok = 0;
	if (mode == 2)
		ok = env_command_open(HPKE_AEAD_CHACHA20POLY1305, k->sk, k->pk, &k->cmd, in, n, buf,
		                      &pt_len) == ENV_OK;
	else if (mode == 3)
		ok = env_keyshare_open(k->sk, k->pk, &k->ks, in, n, buf, &pt_len) == ENV_OK;
	else if (mode == 4)
		ok = env_response_open(HPKE_AEAD_CHACHA20POLY1305, k->response_key, k->chain, in, n,
		                       buf, &pt_len) == ENV_OK;
	else
		ok = seal_unwrap(k->seal_key, k->chain, k->measurement, "checkpoint", in, n, buf,
		                 &pt_len) == SEAL_OK;
	if (!ok)
		check_clean(buf, n);
	else if (pt_len >= n)
		abort();
}

static void fuzz_valid_query(uint8_t flags, const uint8_t *req, size_t n, uint8_t *msg,
                             uint8_t *buf)
{
	const struct fuzz_keys *k = keys();
	struct env_signer s = {k->account_sk, NULL};
	if (flags % 3 == 1) {
		s.sk = k->session_sk;
		s.cert = &k->cert;
	} else if (flags % 3 == 2) {
		s.sk = k->xsession_sk;
		s.cert = &k->xcert;
	}
	uint8_t counter = flags;
	size_t len = 0;
	struct env_query_client keep;
	if (env_query_seal(HPKE_AEAD_CHACHA20POLY1305, k->pk, k->chain, k->contract, 1000, &s, req,
	                   n, fixed_fill, &counter, msg, &len, &keep) != ENV_OK)
		abort();
	struct env_query q;
	for (int cached = 0; cached < 2; cached++) {
		if (open_q(msg, len, buf, &q, cached ? sessions() : NULL) != ENV_OK ||
		    q.request_len != n || memcmp(q.request, req, n) != 0 ||
		    memcmp(q.response_key, keep.response_key, 32) != 0 ||
		    memcmp(q.account, k->account_pk, 32) != 0)
			abort();
		env_query_release(&q);
	}
	msg[flags % len] ^= 0x01;
	if (open_q(msg, len, buf, &q, NULL) == ENV_OK ||
	    open_q(msg, len, buf, &q, sessions()) == ENV_OK)
		abort();
	env_query_client_release(&keep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	uint8_t mode = data[0] % 7;
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	/* Mode 6 opens a message longer than the input: size everything for that. */
	size_t cap = env_query_len(n, ENV_AUTH_SESSION_SIG);
	uint8_t *buf = malloc(cap), *msg = malloc(cap);
	if (!buf || !msg)
		abort();
	memset(buf, 0xa5, cap);
	if (mode == 0)
		fuzz_query(in, n, buf);
	else if (mode == 1)
		fuzz_cert(in, n);
	else if (mode < 6)
		fuzz_opens(mode, in, n, buf);
	else if (n >= 1)
		fuzz_valid_query(in[0], in + 1, n - 1, msg, buf);
	free(buf);
	free(msg);
	return 0;
}
