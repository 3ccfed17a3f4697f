/*
 * The p2p wire decoders on arbitrary bytes (src/net/p2p_wire.h, p2p_parse_peer):
 *   - the input as the peer's init message, then (if the handshake derives) as its AUTH frame
 *     plaintext and, sealed by the peer's side, as a frame that must open to the same bytes;
 *   - the input as a byte stream cut by the reader (chunk sizes taken from the input), each frame
 *     opened, and its bytes also parsed as a frame body and fed to message reassembly;
 *   - the input as a peer string.
 * Properties: nothing crashes or leaks; seal then open returns the plaintext; reassembled
 * messages never exceed the cap; a parsed body lies inside the plaintext.
 */
#include <stdlib.h>
#include <string.h>

#include "net/p2p.h"
#include "net/p2p_wire.h"

#define FUZZ_PT_MAX  512
#define FUZZ_MSG_MAX 2048

static const uint8_t chain[P2P_CHAIN_ID_LEN] = {7};

static void handshake(const uint8_t *data, size_t size)
{
	if (size < P2P_INIT_LEN)
		return;
	uint8_t sk[P2P_X25519_LEN], init[P2P_INIT_LEN];
	memset(sk, 0x42, sizeof(sk));
	struct p2p_handshake hs;
	struct p2p_cipher tx, rx;
	p2p_handshake_init_derand(&hs, chain, sk);
	memcpy(init, data, P2P_INIT_LEN);
	if (p2p_handshake_derive(&hs, init, &tx, &rx) == P2P_OK) {
		struct p2p_auth a;
		if (p2p_handshake_auth_decode(&hs, data + P2P_INIT_LEN, size - P2P_INIT_LEN, &a) ==
		        P2P_OK &&
		    (a.hello.listen_len > P2P_LISTEN_MAX || a.hello.app_len > P2P_APP_MAX))
			abort();
		size_t n = size - P2P_INIT_LEN;
		if (n >= 1 && n <= FUZZ_PT_MAX) {
			/* tx of this side is rx of the peer: open what it seals, with a copy of tx
			 */
			struct p2p_cipher peer_rx = tx;
			uint8_t f[FUZZ_PT_MAX + P2P_FRAME_OVERHEAD], *pt;
			size_t ptn;
			memcpy(f + P2P_LEN_LEN, data + P2P_INIT_LEN, n);
			if (p2p_frame_seal(&tx, f, n) != P2P_OK ||
			    p2p_frame_open(&peer_rx, f, n + P2P_FRAME_OVERHEAD, &pt, &ptn) !=
			        P2P_OK ||
			    ptn != n || memcmp(pt, data + P2P_INIT_LEN, n) != 0)
				abort();
			p2p_cipher_release(&peer_rx);
		}
	}
	p2p_handshake_release(&hs);
	p2p_cipher_release(&tx);
	p2p_cipher_release(&rx);
}

static void body(struct p2p_assembly *as, const uint8_t *pt, size_t n)
{
	struct p2p_body b;
	if (p2p_frame_parse(&b, pt, n) != P2P_OK)
		return;
	if (b.kind != P2P_KIND_MORE && b.kind != P2P_KIND_LAST)
		return;
	if (b.data < pt || b.data + b.len > pt + n)
		abort();
	const uint8_t *msg;
	size_t len;
	bool done;
	if (p2p_assembly_add(as, &b, &msg, &len, &done) != P2P_OK) {
		p2p_assembly_release(as);
		p2p_assembly_init(as, FUZZ_MSG_MAX);
	} else if (done && len > FUZZ_MSG_MAX) {
		abort();
	}
}

static void stream(const uint8_t *data, size_t size)
{
	struct p2p_reader r;
	struct p2p_assembly as;
	struct p2p_cipher c = {.ready = true};
	p2p_reader_init(&r, FUZZ_PT_MAX);
	p2p_assembly_init(&as, FUZZ_MSG_MAX);
	size_t off = 0, k = 0;
	enum p2p_result res = P2P_OK;
	while (off < size && res == P2P_OK) {
		size_t chunk = 1 + data[k++ % size] % 97;
		if (chunk > size - off)
			chunk = size - off;
		off += p2p_reader_push(&r, data + off, chunk, &res);
		if (res != P2P_OK || !r.ready)
			continue;
		if (r.in_frames) {
			body(&as, r.buf + P2P_LEN_LEN, r.len - P2P_LEN_LEN);
			uint8_t *pt;
			size_t ptn;
			if (p2p_frame_open(&c, r.buf, r.len, &pt, &ptn) == P2P_OK &&
			    ptn != r.len - P2P_FRAME_OVERHEAD)
				abort();
		}
		p2p_reader_next(&r);
	}
	p2p_reader_release(&r);
	p2p_assembly_release(&as);
}

static void peer_string(const uint8_t *data, size_t size)
{
	char s[300], host[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	uint8_t key[SIG_PK_LEN];
	bool has_key;
	uint16_t port;
	if (p2p_parse_peer(s, key, &has_key, host, sizeof(host), &port, true) == P2P_OK &&
	    strlen(host) >= sizeof(host))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	handshake(data, size);
	stream(data, size);
	peer_string(data, size);
	return 0;
}
