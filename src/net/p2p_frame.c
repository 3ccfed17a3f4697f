/*
 * Sealed frames, the stream reader and message reassembly (p2p_wire.h; layouts in
 * docs/protocol/p2p.md).
 */
#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "net/p2p_wire.h"

static const char *const p2p_messages[] = {
    [P2P_OK] = "ok",
    [P2P_ERR_MAGIC] = "not a tenebra p2p v1 peer",
    [P2P_ERR_CHAIN_ID] = "peer is on another chain",
    [P2P_ERR_WEAK_KEY] = "peer sent an X25519 key of small order",
    [P2P_ERR_DECRYPT] = "frame failed authentication",
    [P2P_ERR_MALFORMED] = "malformed frame or hello",
    [P2P_ERR_BAD_SIG] = "peer's handshake signature is invalid",
    [P2P_ERR_SELF] = "connected to ourselves",
    [P2P_ERR_WRONG_KEY] = "peer's node key is not the configured one",
    [P2P_ERR_VERSION] = "peer speaks another protocol version",
    [P2P_ERR_PROTOCOL] = "frame out of protocol order",
    [P2P_ERR_FRAME_TOO_LARGE] = "frame size out of bounds",
    [P2P_ERR_MSG_TOO_LARGE] = "message too large",
    [P2P_ERR_NONCE_EXHAUSTED] = "frame counter exhausted",
    [P2P_ERR_QUEUE_FULL] = "peer send queue full",
    [P2P_ERR_BUSY] = "command queue full",
    [P2P_ERR_NO_PEER] = "no such peer",
    [P2P_ERR_STOPPED] = "network not running",
    [P2P_ERR_ADDR] = "bad address",
    [P2P_ERR_IO] = "socket error",
    [P2P_ERR_CLOSED] = "connection closed by peer",
    [P2P_ERR_TIMEOUT] = "timed out",
    [P2P_ERR_DUPLICATE] = "duplicate connection to the same node",
    [P2P_ERR_TOO_MANY_PEERS] = "too many peers",
    [P2P_ERR_NOMEM] = "out of memory",
    [P2P_ERR_SHUTDOWN] = "shutting down",
    [P2P_ERR_KICKED] = "disconnected by the node",
};

const char *p2p_strerror(enum p2p_result r)
{
	if ((size_t)r < sizeof(p2p_messages) / sizeof(p2p_messages[0]) && p2p_messages[r])
		return p2p_messages[r];
	return "unknown p2p error";
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* nonce = 4 zero bytes ‖ counter (u64 LE). The last counter value is never used, so a session
 * ends before the counter could wrap. */
static enum p2p_result next_nonce(struct p2p_cipher *c, uint8_t nonce[P2P_NONCE_LEN])
{
	assert(c->ready);
	if (c->counter == UINT64_MAX)
		return P2P_ERR_NONCE_EXHAUSTED;
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(c->counter >> (8 * i));
	c->counter++;
	return P2P_OK;
}

enum p2p_result p2p_frame_seal(struct p2p_cipher *c, uint8_t *frame, size_t n)
{
	assert(n >= 1 && n <= P2P_FRAME_MAX_CAP);
	uint8_t nonce[P2P_NONCE_LEN];
	enum p2p_result r = next_nonce(c, nonce);
	if (r != P2P_OK)
		return r;
	put_u32(frame, (uint32_t)(n + P2P_TAG_LEN));
	crypto_aead_chacha20poly1305_ietf_encrypt(frame + P2P_LEN_LEN, NULL, frame + P2P_LEN_LEN, n,
	                                          frame, P2P_LEN_LEN, NULL, nonce, c->key);
	return P2P_OK;
}

enum p2p_result p2p_frame_open(struct p2p_cipher *c, uint8_t *frame, size_t n, uint8_t **pt,
                               size_t *pt_len)
{
	if (n < P2P_FRAME_OVERHEAD + 1 || get_u32(frame) != n - P2P_LEN_LEN)
		return P2P_ERR_FRAME_TOO_LARGE;
	uint8_t nonce[P2P_NONCE_LEN];
	enum p2p_result r = next_nonce(c, nonce);
	if (r != P2P_OK)
		return r;
	uint8_t *ct = frame + P2P_LEN_LEN;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(ct, NULL, NULL, ct, n - P2P_LEN_LEN, frame,
	                                              P2P_LEN_LEN, nonce, c->key) != 0)
		return P2P_ERR_DECRYPT;
	*pt = ct;
	*pt_len = n - P2P_FRAME_OVERHEAD;
	return P2P_OK;
}

size_t p2p_frame_control(uint8_t out[9], enum p2p_kind kind, uint64_t nonce)
{
	assert(kind == P2P_KIND_PING || kind == P2P_KIND_PONG);
	out[0] = (uint8_t)kind;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(nonce >> (8 * i));
	return 9;
}

enum p2p_result p2p_frame_parse(struct p2p_body *b, const uint8_t *pt, size_t n)
{
	if (n == 0)
		return P2P_ERR_MALFORMED;
	memset(b, 0, sizeof(*b));
	b->kind = (enum p2p_kind)pt[0];
	switch (pt[0]) {
	case P2P_KIND_AUTH:
		return P2P_ERR_PROTOCOL;
	case P2P_KIND_PING:
	case P2P_KIND_PONG:
		if (n != 9)
			return P2P_ERR_MALFORMED;
		b->nonce = get_u64(pt + 1);
		return P2P_OK;
	case P2P_KIND_MORE:
	case P2P_KIND_LAST:
		/* An empty MORE part would let a peer spin without progress. */
		if (n < 2 || (pt[0] == P2P_KIND_MORE && n == 2))
			return P2P_ERR_MALFORMED;
		b->channel = pt[1];
		b->data = pt + 2;
		b->len = n - 2;
		return P2P_OK;
	default:
		return P2P_ERR_MALFORMED;
	}
}

/* Buffers grown for one large frame or message are given back, so that idle peers hold little. */
#define P2P_KEEP_BUF ((size_t)256 << 10)

static void shrink(uint8_t **buf, size_t *cap)
{
	if (*cap > P2P_KEEP_BUF) {
		free(*buf);
		*buf = NULL;
		*cap = 0;
	}
}

/* --- Reader ------------------------------------------------------------------------------------
 */

void p2p_reader_init(struct p2p_reader *r, size_t pt_max)
{
	memset(r, 0, sizeof(*r));
	r->need = P2P_INIT_LEN;
	r->pt_max = pt_max;
}

void p2p_reader_set_cap(struct p2p_reader *r, size_t pt_max)
{
	r->pt_max = pt_max;
}

void p2p_reader_next(struct p2p_reader *r)
{
	assert(r->ready);
	r->ready = false;
	r->in_frames = true;
	r->len = 0;
	r->need = P2P_LEN_LEN;
	shrink(&r->buf, &r->cap);
}

void p2p_reader_release(struct p2p_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

bool p2p_grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	uint8_t *b = realloc(*buf, c);
	if (!b)
		return false;
	*buf = b;
	*cap = c;
	return true;
}

/* Called when the length prefix is complete: sets need to the whole frame. */
static enum p2p_result frame_length(struct p2p_reader *r)
{
	size_t ct = get_u32(r->buf);
	if (ct < P2P_TAG_LEN + 1 || ct > r->pt_max + P2P_TAG_LEN)
		return P2P_ERR_FRAME_TOO_LARGE;
	r->need = P2P_LEN_LEN + ct;
	return P2P_OK;
}

size_t p2p_reader_push(struct p2p_reader *r, const uint8_t *p, size_t n, enum p2p_result *res)
{
	assert(!r->ready);
	size_t used = 0;
	*res = P2P_OK;
	while (used < n && !r->ready) {
		if (!p2p_grow(&r->buf, &r->cap, r->need)) {
			*res = P2P_ERR_NOMEM;
			break;
		}
		size_t take = r->need - r->len;
		if (take > n - used)
			take = n - used;
		memcpy(r->buf + r->len, p + used, take);
		r->len += take;
		used += take;
		if (r->len < r->need)
			break;
		if (r->in_frames && r->need == P2P_LEN_LEN) {
			*res = frame_length(r);
			if (*res != P2P_OK)
				break;
			continue;
		}
		r->ready = true;
	}
	return used;
}

/* --- Reassembly --------------------------------------------------------------------------------
 */

void p2p_assembly_init(struct p2p_assembly *a, size_t max)
{
	memset(a, 0, sizeof(*a));
	a->max = max;
}

void p2p_assembly_release(struct p2p_assembly *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static enum p2p_result append(struct p2p_assembly *a, const uint8_t *p, size_t n)
{
	if (n > a->max - a->len)
		return P2P_ERR_MSG_TOO_LARGE;
	if (!p2p_grow(&a->buf, &a->cap, a->len + n))
		return P2P_ERR_NOMEM;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return P2P_OK;
}

enum p2p_result p2p_assembly_add(struct p2p_assembly *a, const struct p2p_body *b,
                                 const uint8_t **msg, size_t *len, bool *done)
{
	assert(b->kind == P2P_KIND_MORE || b->kind == P2P_KIND_LAST);
	*done = false;
	if (a->active && b->channel != a->channel)
		return P2P_ERR_PROTOCOL;
	if (!a->active && b->kind == P2P_KIND_LAST) {
		if (b->len > a->max)
			return P2P_ERR_MSG_TOO_LARGE;
		*msg = b->data;
		*len = b->len;
		*done = true;
		return P2P_OK;
	}
	if (!a->active) {
		a->len = 0;
		shrink(&a->buf, &a->cap);
	}
	enum p2p_result r = append(a, b->data, b->len);
	if (r != P2P_OK)
		return r;
	a->active = b->kind == P2P_KIND_MORE;
	a->channel = b->channel;
	if (!a->active) {
		*msg = a->buf;
		*len = a->len;
		*done = true;
	}
	return P2P_OK;
}
