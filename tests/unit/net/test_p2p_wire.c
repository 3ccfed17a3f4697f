/*
 * The p2p wire layer without sockets (src/net/p2p_wire.h) and the gossip seen-set
 * (src/net/p2p_seen.h): known answers for HKDF (RFC 5869) and for the whole handshake and first
 * frames with fixed keys (computed independently with Python's hashlib/hmac and the
 * `cryptography` package: X25519, Ed25519, ChaCha20-Poly1305), every rejection path, frame
 * tampering, replay and nonce exhaustion, the stream reader and message reassembly.
 */
#include "check.h"

#include <sodium.h>

#include "base/hex.h"
#include "net/p2p_seen.h"
#include "net/p2p_wire.h"

static void unhex(uint8_t *out, size_t n, const char *s)
{
	if (!hex_decode_exact(out, n, s))
		abort();
}

/* Fixed inputs of the known-answer test. */
struct kat {
	uint8_t chain[P2P_CHAIN_ID_LEN];
	struct p2p_handshake a, b;
	struct p2p_cipher a_tx, a_rx, b_tx, b_rx;
	uint8_t a_init[P2P_INIT_LEN], b_init[P2P_INIT_LEN];
	uint8_t a_pk[SIG_PK_LEN], a_sk[SIG_SK_LEN];
};

static void kat_setup(struct kat *k)
{
	uint8_t ska[32], skb[32], seed[32];
	for (int i = 0; i < 32; i++) {
		k->chain[i] = (uint8_t)(0x20 + i);
		ska[i] = (uint8_t)(1 + i);
		skb[i] = (uint8_t)(33 + i);
	}
	memset(seed, 0xa1, sizeof(seed));
	sig_keypair_from_seed(k->a_pk, k->a_sk, seed);
	p2p_handshake_init_derand(&k->a, k->chain, ska);
	p2p_handshake_init_derand(&k->b, k->chain, skb);
	p2p_handshake_init_msg(&k->a, k->a_init);
	p2p_handshake_init_msg(&k->b, k->b_init);
}

static void kat_derive(struct kat *k)
{
	CHECK(p2p_handshake_derive(&k->a, k->b_init, &k->a_tx, &k->a_rx) == P2P_OK);
	CHECK(p2p_handshake_derive(&k->b, k->a_init, &k->b_tx, &k->b_rx) == P2P_OK);
}

static void kat_release(struct kat *k)
{
	p2p_handshake_release(&k->a);
	p2p_handshake_release(&k->b);
	p2p_cipher_release(&k->a_tx);
	p2p_cipher_release(&k->a_rx);
	p2p_cipher_release(&k->b_tx);
	p2p_cipher_release(&k->b_rx);
}

#define KAT_LISTEN "127.0.0.1:26656"

/* A's AUTH frame, sealed. Returns its length. */
static size_t kat_auth(struct kat *k, uint8_t *frame, uint32_t version, const uint8_t *chain)
{
	struct p2p_hello h = {.version = version,
	                      .listen = KAT_LISTEN,
	                      .listen_len = strlen(KAT_LISTEN),
	                      .app = (const uint8_t *)"h=7",
	                      .app_len = 3};
	memcpy(h.chain_id, chain, P2P_CHAIN_ID_LEN);
	size_t n;
	p2p_handshake_auth_encode(&k->a, frame + P2P_LEN_LEN, &n, k->a_sk, &h);
	CHECK(p2p_frame_seal(&k->a_tx, frame, n) == P2P_OK);
	return n + P2P_FRAME_OVERHEAD;
}

static void handshake_kat(void)
{
	struct kat k;
	kat_setup(&k);
	uint8_t want[256];
	unhex(want, 32, "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
	CHECK_EQ_MEM(k.a.eph_pk, want, 32);
	CHECK(memcmp(k.a_init, "tnp1", 4) == 0 && memcmp(k.a_init + 4, k.chain, 32) == 0);
	CHECK_EQ_MEM(k.a_init + 36, want, 32);
	unhex(want, 32, "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
	CHECK_EQ_MEM(k.b.eph_pk, want, 32);
	kat_derive(&k);
	unhex(want, 32, "89f998b4824b99020654a1a9cde35b171929fe6d52e65f463a5d380fcf31f660");
	CHECK_EQ_MEM(k.a.transcript, want, 32);
	CHECK_EQ_MEM(k.b.transcript, want, 32);
	/* A's ephemeral is the lower one: A sends under the first key. */
	unhex(want, 32, "e9d5f027fa482b9826fd6aec95bafb52b5558b4e7ec3a2e00f90ba2e914207a5");
	CHECK_EQ_MEM(k.a_tx.key, want, 32);
	CHECK_EQ_MEM(k.b_rx.key, want, 32);
	unhex(want, 32, "fca11a615c3ed10dea75987c61abe5cc5a5df38ec814d7b13d61f8ac077da651");
	CHECK_EQ_MEM(k.b_tx.key, want, 32);
	CHECK_EQ_MEM(k.a_rx.key, want, 32);
	uint8_t frame[P2P_AUTH_PT_MAX + P2P_FRAME_OVERHEAD];
	size_t n = kat_auth(&k, frame, P2P_VERSION, k.chain);
	CHECK(n == 173);
	unhex(
	    want, 173,
	    "a9000000950cce95b08b9cdf2c1f874b652349a86248fc687de0da932ee1652f041abf8833f0ab0f3998f7"
	    "6a1504017dc69c252a6d76f65100765f213e84644b514e51edf0a54de90cff0ff5a161ba3e95542d146211"
	    "f13c28b89b0ed3a041da5f23188ae5072f91c2f04b84405d458bf2b87c6376b67952032bd9b629f9ba95ae"
	    "b6153198fe7e151364016e2f3cdb59fa314812aed2edd36112b586e7adebd16bd6193e742a0dc26536eca6"
	    "9e");
	CHECK_EQ_MEM(frame, want, 173);
	uint8_t *pt;
	size_t ptn;
	struct p2p_auth au;
	CHECK(p2p_frame_open(&k.b_rx, frame, n, &pt, &ptn) == P2P_OK);
	CHECK(p2p_handshake_auth_decode(&k.b, pt, ptn, &au) == P2P_OK);
	CHECK_EQ_MEM(au.node_pk, k.a_pk, SIG_PK_LEN);
	CHECK(au.hello.listen_len == strlen(KAT_LISTEN) &&
	      memcmp(au.hello.listen, KAT_LISTEN, au.hello.listen_len) == 0);
	CHECK(au.hello.app_len == 3 && memcmp(au.hello.app, "h=7", 3) == 0);
	/* The first message frame (counter 1): "hello" as the only part on channel 3. */
	uint8_t msg[32] = {0, 0, 0, 0, P2P_KIND_LAST, 3, 'h', 'e', 'l', 'l', 'o'};
	CHECK(p2p_frame_seal(&k.a_tx, msg, 7) == P2P_OK);
	unhex(want, 27, "17000000efceb11f27a3d497b82ccad2a170bd8299436f0d446bce");
	CHECK_EQ_MEM(msg, want, 27);
	kat_release(&k);
}

static void handshake_rejects_init(void)
{
	struct kat k;
	uint8_t bad[P2P_INIT_LEN];
	struct p2p_cipher tx, rx;
	kat_setup(&k);
	memcpy(bad, k.b_init, sizeof(bad));
	bad[3] = '2';
	CHECK(p2p_handshake_derive(&k.a, bad, &tx, &rx) == P2P_ERR_MAGIC);
	CHECK(sodium_is_zero(k.a.eph_sk, 32)); /* wiped on failure too */
	kat_setup(&k);
	memcpy(bad, k.b_init, sizeof(bad));
	bad[4] ^= 1;
	CHECK(p2p_handshake_derive(&k.a, bad, &tx, &rx) == P2P_ERR_CHAIN_ID);
	kat_setup(&k);
	CHECK(p2p_handshake_derive(&k.a, k.a_init, &tx, &rx) == P2P_ERR_SELF);
	/* Small-order points: 0, 1 and a point of order 8 give an all-zero shared secret. */
	static const char *const weak[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		kat_setup(&k);
		memcpy(bad, k.b_init, sizeof(bad));
		unhex(bad + 36, 32, weak[i]);
		CHECK(p2p_handshake_derive(&k.a, bad, &tx, &rx) == P2P_ERR_WEAK_KEY);
		CHECK(!k.a.derived);
	}
	kat_release(&k);
}

/* Decodes A's AUTH frame at B after tampering with its plaintext through edit. */
static enum p2p_result auth_with(void (*edit)(struct kat *, uint8_t *, size_t *))
{
	struct kat k;
	kat_setup(&k);
	kat_derive(&k);
	uint8_t frame[P2P_AUTH_PT_MAX + 64];
	size_t n;
	struct p2p_hello h = {.version = P2P_VERSION, .listen = "x:1", .listen_len = 3};
	memcpy(h.chain_id, k.chain, 32);
	p2p_handshake_auth_encode(&k.a, frame + P2P_LEN_LEN, &n, k.a_sk, &h);
	edit(&k, frame + P2P_LEN_LEN, &n);
	CHECK(p2p_frame_seal(&k.a_tx, frame, n) == P2P_OK);
	uint8_t *pt;
	size_t ptn;
	struct p2p_auth au;
	enum p2p_result r = p2p_frame_open(&k.b_rx, frame, n + P2P_FRAME_OVERHEAD, &pt, &ptn);
	if (r == P2P_OK)
		r = p2p_handshake_auth_decode(&k.b, pt, ptn, &au);
	kat_release(&k);
	return r;
}

static void edit_none(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)pt, (void)n;
}
static void edit_sig(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[1 + 32 + 5] ^= 0x40;
}
static void edit_key(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[1] ^= 1;
}
static void edit_version(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[1 + 32 + 64] = 2;
}
static void edit_chain(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[1 + 32 + 64 + 4] ^= 1;
}
static void edit_kind(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[0] = P2P_KIND_LAST;
}
static void edit_trailing(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k;
	pt[(*n)++] = 0;
}
static void edit_truncate(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)pt;
	(*n)--;
}
static void edit_listen_len(struct kat *k, uint8_t *pt, size_t *n)
{
	(void)k, (void)n;
	pt[1 + 32 + 64 + 4 + 32] = 0x80; /* non-canonical / overlong LEB128 */
}
/* A signature that is valid, but for another session's transcript. */
static void edit_other_session(struct kat *k, uint8_t *pt, size_t *n)
{
	uint8_t msg[19 + 32], sig[SIG_LEN];
	(void)n;
	memcpy(msg, "tenebra/v1/p2p-auth", 19);
	memset(msg + 19, 0x55, 32);
	sig_sign(sig, msg, sizeof(msg), k->a_sk);
	memcpy(pt + 1 + 32, sig, SIG_LEN);
}

static void handshake_rejects_auth(void)
{
	CHECK(auth_with(edit_none) == P2P_OK);
	CHECK(auth_with(edit_sig) == P2P_ERR_BAD_SIG);
	CHECK(auth_with(edit_key) == P2P_ERR_BAD_SIG);
	CHECK(auth_with(edit_other_session) == P2P_ERR_BAD_SIG);
	CHECK(auth_with(edit_version) == P2P_ERR_VERSION);
	CHECK(auth_with(edit_chain) == P2P_ERR_CHAIN_ID);
	CHECK(auth_with(edit_kind) == P2P_ERR_PROTOCOL);
	CHECK(auth_with(edit_trailing) == P2P_ERR_MALFORMED);
	CHECK(auth_with(edit_truncate) == P2P_ERR_MALFORMED);
	CHECK(auth_with(edit_listen_len) == P2P_ERR_MALFORMED);
}

static void frame_roundtrip_and_tamper(void)
{
	struct kat k;
	kat_setup(&k);
	kat_derive(&k);
	uint64_t rng = check_seed();
	uint8_t frame[600], copy[600];
	for (long it = 0; it < check_iters(200); it++) {
		size_t n = 1 + check_rand(&rng) % 500;
		for (size_t i = 0; i < n; i++)
			frame[P2P_LEN_LEN + i] = (uint8_t)check_rand(&rng);
		uint8_t pt_copy[600];
		memcpy(pt_copy, frame + P2P_LEN_LEN, n);
		CHECK(p2p_frame_seal(&k.a_tx, frame, n) == P2P_OK);
		size_t fl = n + P2P_FRAME_OVERHEAD;
		/* One flipped bit anywhere: refused, and B's counter does not move. */
		memcpy(copy, frame, fl);
		size_t pos = check_rand(&rng) % fl;
		copy[pos] ^= (uint8_t)(1u << (check_rand(&rng) % 8));
		uint8_t *pt;
		size_t ptn;
		uint64_t before = k.b_rx.counter;
		enum p2p_result r = p2p_frame_open(&k.b_rx, copy, fl, &pt, &ptn);
		CHECK(r == (pos < P2P_LEN_LEN ? P2P_ERR_FRAME_TOO_LARGE : P2P_ERR_DECRYPT));
		k.b_rx.counter = before; /* a real connection closes here; the test goes on */
		memcpy(copy, frame, fl);
		CHECK(p2p_frame_open(&k.b_rx, frame, fl, &pt, &ptn) == P2P_OK);
		CHECK(ptn == n && memcmp(pt, pt_copy, n) == 0);
		/* Replaying the same frame fails: the nonce moved on. */
		CHECK(p2p_frame_open(&k.b_rx, copy, fl, &pt, &ptn) == P2P_ERR_DECRYPT);
		k.b_rx.counter--;
	}
	/* The counter never wraps: the last value is refused on both sides. */
	k.a_tx.counter = k.b_rx.counter = UINT64_MAX - 1;
	frame[P2P_LEN_LEN] = P2P_KIND_PING;
	CHECK(p2p_frame_seal(&k.a_tx, frame, 1) == P2P_OK);
	CHECK(p2p_frame_seal(&k.a_tx, copy, 1) == P2P_ERR_NONCE_EXHAUSTED);
	uint8_t *pt;
	size_t ptn;
	CHECK(p2p_frame_open(&k.b_rx, frame, 1 + P2P_FRAME_OVERHEAD, &pt, &ptn) == P2P_OK);
	CHECK(p2p_frame_open(&k.b_rx, frame, 1 + P2P_FRAME_OVERHEAD, &pt, &ptn) ==
	      P2P_ERR_NONCE_EXHAUSTED);
	/* A frame too short to hold a kind byte and a tag. */
	uint8_t tiny[P2P_FRAME_OVERHEAD] = {P2P_TAG_LEN};
	CHECK(p2p_frame_open(&k.b_rx, tiny, sizeof(tiny), &pt, &ptn) == P2P_ERR_FRAME_TOO_LARGE);
	kat_release(&k);
}

static void frame_parse(void)
{
	struct p2p_body b;
	uint8_t ping[9];
	CHECK(p2p_frame_control(ping, P2P_KIND_PING, 0x0102030405060708ull) == 9);
	CHECK(p2p_frame_parse(&b, ping, 9) == P2P_OK && b.kind == P2P_KIND_PING &&
	      b.nonce == 0x0102030405060708ull);
	CHECK(p2p_frame_parse(&b, ping, 8) == P2P_ERR_MALFORMED);
	ping[0] = P2P_KIND_PONG;
	CHECK(p2p_frame_parse(&b, ping, 9) == P2P_OK && b.kind == P2P_KIND_PONG);
	const uint8_t last[] = {P2P_KIND_LAST, 7, 'x'}, empty_last[] = {P2P_KIND_LAST, 7};
	const uint8_t empty_more[] = {P2P_KIND_MORE, 7}, auth[] = {P2P_KIND_AUTH, 0};
	const uint8_t unknown[] = {9, 0}, zero[] = {0};
	CHECK(p2p_frame_parse(&b, last, 3) == P2P_OK && b.channel == 7 && b.len == 1 &&
	      b.data[0] == 'x');
	CHECK(p2p_frame_parse(&b, empty_last, 2) == P2P_OK && b.len == 0);
	CHECK(p2p_frame_parse(&b, empty_more, 2) == P2P_ERR_MALFORMED);
	CHECK(p2p_frame_parse(&b, last, 1) == P2P_ERR_MALFORMED);
	CHECK(p2p_frame_parse(&b, auth, 2) == P2P_ERR_PROTOCOL);
	CHECK(p2p_frame_parse(&b, unknown, 2) == P2P_ERR_MALFORMED);
	CHECK(p2p_frame_parse(&b, zero, 1) == P2P_ERR_MALFORMED);
	CHECK(p2p_frame_parse(&b, zero, 0) == P2P_ERR_MALFORMED);
}

/* Feeds the stream s[0..n) in random chunks; returns the number of units cut, checking each
 * against the lengths in want. */
static size_t read_stream(const uint8_t *s, size_t n, size_t pt_max, const size_t *want,
                          uint64_t *rng, enum p2p_result *err)
{
	struct p2p_reader r;
	p2p_reader_init(&r, pt_max);
	size_t units = 0, off = 0;
	*err = P2P_OK;
	while (off < n && *err == P2P_OK) {
		size_t chunk = 1 + check_rand(rng) % 40;
		if (chunk > n - off)
			chunk = n - off;
		size_t used = p2p_reader_push(&r, s + off, chunk, err);
		CHECK(used <= chunk);
		off += used;
		if (*err == P2P_OK && r.ready) {
			CHECK(r.len == want[units]);
			units++;
			p2p_reader_next(&r);
		}
	}
	p2p_reader_release(&r);
	return units;
}

static void reader_cuts(void)
{
	uint64_t rng = check_seed();
	uint8_t s[2000];
	size_t want[8], n = 0, units = 0;
	memset(s, 0xee, P2P_INIT_LEN);
	want[units++] = P2P_INIT_LEN;
	n += P2P_INIT_LEN;
	const size_t cts[] = {17, 100, 1024 + 16, 17};
	for (size_t i = 0; i < 4; i++) {
		s[n] = (uint8_t)cts[i];
		s[n + 1] = (uint8_t)(cts[i] >> 8);
		s[n + 2] = s[n + 3] = 0;
		n += P2P_LEN_LEN + cts[i];
		want[units++] = P2P_LEN_LEN + cts[i];
	}
	enum p2p_result err;
	for (int it = 0; it < 50; it++) {
		CHECK(read_stream(s, n, 1024, want, &rng, &err) == units);
		CHECK(err == P2P_OK);
	}
	/* With a cap one byte lower, the 1024-byte frame is refused at its length prefix. */
	CHECK(read_stream(s, n, 1023, want, &rng, &err) == 3 && err == P2P_ERR_FRAME_TOO_LARGE);
	/* A length that cannot hold a kind byte and a tag. */
	s[P2P_INIT_LEN] = 16;
	CHECK(read_stream(s, n, 1024, want, &rng, &err) == 1 && err == P2P_ERR_FRAME_TOO_LARGE);
	/* A huge length is refused before anything is allocated for it. */
	memset(s + P2P_INIT_LEN, 0xff, 4);
	CHECK(read_stream(s, n, 1024, want, &rng, &err) == 1 && err == P2P_ERR_FRAME_TOO_LARGE);
}

static void assembly_joins(void)
{
	struct p2p_assembly a;
	p2p_assembly_init(&a, 10);
	const uint8_t *msg;
	size_t len;
	bool done;
	struct p2p_body more = {
	    .kind = P2P_KIND_MORE, .channel = 4, .data = (const uint8_t *)"abcd", .len = 4};
	struct p2p_body last = {
	    .kind = P2P_KIND_LAST, .channel = 4, .data = (const uint8_t *)"ef", .len = 2};
	CHECK(p2p_assembly_add(&a, &more, &msg, &len, &done) == P2P_OK && !done);
	CHECK(p2p_assembly_add(&a, &more, &msg, &len, &done) == P2P_OK && !done);
	CHECK(p2p_assembly_add(&a, &last, &msg, &len, &done) == P2P_OK && done);
	CHECK(len == 10 && memcmp(msg, "abcdabcdef", 10) == 0);
	/* A single LAST is delivered in place. */
	CHECK(p2p_assembly_add(&a, &last, &msg, &len, &done) == P2P_OK && done);
	CHECK(msg == last.data && len == 2);
	/* Over the cap by one byte. */
	CHECK(p2p_assembly_add(&a, &more, &msg, &len, &done) == P2P_OK);
	CHECK(p2p_assembly_add(&a, &more, &msg, &len, &done) == P2P_OK);
	last.len = 3;
	last.data = (const uint8_t *)"efg";
	CHECK(p2p_assembly_add(&a, &last, &msg, &len, &done) == P2P_ERR_MSG_TOO_LARGE);
	p2p_assembly_release(&a);
	/* A single LAST over the cap; a channel switch in the middle of a message. */
	p2p_assembly_init(&a, 2);
	CHECK(p2p_assembly_add(&a, &last, &msg, &len, &done) == P2P_ERR_MSG_TOO_LARGE);
	p2p_assembly_release(&a);
	p2p_assembly_init(&a, 100);
	CHECK(p2p_assembly_add(&a, &more, &msg, &len, &done) == P2P_OK);
	last.channel = 5;
	CHECK(p2p_assembly_add(&a, &last, &msg, &len, &done) == P2P_ERR_PROTOCOL);
	p2p_assembly_release(&a);
}

static void seen_set(void)
{
	struct p2p_seen s;
	CHECK(p2p_seen_init(&s, 100));
	uint8_t h[32];
	for (uint32_t i = 0; i < 1000; i++) {
		memset(h, 0, sizeof(h));
		memcpy(h, &i, sizeof(i));
		CHECK(p2p_seen_add(&s, h));
		CHECK(!p2p_seen_add(&s, h));
		CHECK(p2p_seen_has(&s, h));
		/* the 100 most recent are always remembered */
		uint32_t back = i >= 99 ? i - 99 : 0;
		memcpy(h, &back, sizeof(back));
		CHECK(p2p_seen_has(&s, h));
	}
	/* the oldest were forgotten: at most 2 * cap are kept */
	uint32_t old = 0;
	memset(h, 0, sizeof(h));
	memcpy(h, &old, sizeof(old));
	CHECK(!p2p_seen_has(&s, h));
	size_t kept = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		memcpy(h, &i, sizeof(i));
		kept += p2p_seen_has(&s, h);
	}
	CHECK(kept >= 100 && kept <= 200);
	p2p_seen_release(&s);
}

CHECK_MAIN(CASE(handshake_kat), CASE(handshake_rejects_init), CASE(handshake_rejects_auth),
           CASE(frame_roundtrip_and_tamper), CASE(frame_parse), CASE(reader_cuts),
           CASE(assembly_joins), CASE(seen_set))
