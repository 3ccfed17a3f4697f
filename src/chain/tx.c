#include "chain/tx.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/sig.h"

#define TX_TAG_LEN (sizeof(TX_SIGNING_TAG) - 1)
/* Most txs (transfers, commands) are a few hundred bytes: their signing message is built on the
 * stack; only a larger one takes a heap buffer. */
#define TX_MSG_STACK 1024

/* The signing message "tenebra/v1/tx" ‖ body, in stack or heap memory. */
struct tx_msg {
	uint8_t stack[TX_MSG_STACK];
	uint8_t *p;
	size_t len;
};

/* Points m at room for the tag plus body_len bytes, tag already written. False on no memory. */
static bool tx_msg_init(struct tx_msg *m, size_t body_len)
{
	m->len = TX_TAG_LEN + body_len;
	m->p = m->len <= sizeof(m->stack) ? m->stack : malloc(m->len);
	if (!m->p)
		return false;
	memcpy(m->p, TX_SIGNING_TAG, TX_TAG_LEN);
	return true;
}

static void tx_msg_release(struct tx_msg *m)
{
	if (m->p != m->stack)
		free(m->p);
	m->p = NULL;
}

static size_t tx_body_len(const struct tx *tx)
{
	size_t leb = 1;
	for (size_t v = tx->payload_len; v >= 0x80; v >>= 7)
		leb++;
	return TX_FIXED_BODY_LEN + leb + tx->payload_len;
}

enum codec_result tx_decode(struct tx *tx, const uint8_t *b, size_t n)
{
	memset(tx, 0, sizeof(*tx));
	if (n > TX_MAX_BYTES)
		return CODEC_TOO_LARGE;
	struct dec d;
	dec_init(&d, b, n);
	tx->version = dec_u8(&d);
	if (d.err == CODEC_OK && tx->version != TX_VERSION)
		dec_fail(&d, CODEC_NONCANONICAL);
	dec_raw(&d, tx->chain_id, sizeof(tx->chain_id));
	dec_raw(&d, tx->sender, sizeof(tx->sender));
	tx->nonce = dec_u64(&d);
	tx->valid_until = dec_u64(&d);
	tx->max_fee = dec_u128(&d);
	tx->tip = dec_u128(&d);
	tx->module = dec_u8(&d);
	tx->function = dec_u8(&d);
	tx->payload = dec_bytes(&d, &tx->payload_len, TX_MAX_PAYLOAD);
	tx->body_len = d.pos;
	dec_raw(&d, tx->sig, sizeof(tx->sig));
	return dec_finish(&d);
}

void tx_encode_body(struct enc *e, const struct tx *tx)
{
	enc_u8(e, tx->version);
	enc_raw(e, tx->chain_id, sizeof(tx->chain_id));
	enc_raw(e, tx->sender, sizeof(tx->sender));
	enc_u64(e, tx->nonce);
	enc_u64(e, tx->valid_until);
	enc_u128(e, tx->max_fee);
	enc_u128(e, tx->tip);
	enc_u8(e, tx->module);
	enc_u8(e, tx->function);
	enc_bytes(e, tx->payload, tx->payload_len);
}

void tx_encode(struct enc *e, const struct tx *tx)
{
	tx_encode_body(e, tx);
	enc_raw(e, tx->sig, sizeof(tx->sig));
}

size_t tx_encoded_len(const struct tx *tx)
{
	struct enc e;
	enc_init(&e, TX_MAX_BYTES);
	tx_encode(&e, tx);
	size_t n = enc_finish(&e) == CODEC_OK ? e.len : 0;
	enc_release(&e);
	return n;
}

void tx_id(uint8_t out[TX_ID_LEN], const uint8_t *body, size_t body_len)
{
	hash_tagged(out, TX_ID_TAG, body, body_len);
}

bool tx_sign(struct tx *tx, const uint8_t sk[64])
{
	assert(tx->version == TX_VERSION);
	if (tx->payload_len > TX_MAX_PAYLOAD)
		return false;
	struct tx_msg m;
	if (!tx_msg_init(&m, tx_body_len(tx)))
		return false;
	struct enc e;
	enc_init_fixed(&e, m.p + TX_TAG_LEN, m.len - TX_TAG_LEN);
	tx_encode_body(&e, tx);
	bool ok = enc_finish(&e) == CODEC_OK;
	assert(!ok || e.len == m.len - TX_TAG_LEN);
	if (ok)
		sig_sign(tx->sig, m.p, m.len, sk);
	tx_msg_release(&m);
	return ok;
}

bool tx_verify_sig(const struct tx *tx, const uint8_t *b, size_t n)
{
	assert(tx->body_len + TX_SIG_LEN == n); /* b must be the bytes tx was decoded from */
	(void)n;
	struct tx_msg m;
	if (!tx_msg_init(&m, tx->body_len))
		return false;
	memcpy(m.p + TX_TAG_LEN, b, tx->body_len);
	bool ok = sig_verify(tx->sig, m.p, m.len, tx->sender);
	tx_msg_release(&m);
	return ok;
}
