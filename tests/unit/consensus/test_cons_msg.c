/* Consensus messages: byte-exact encodings and sign bytes (known answers computed independently
 * with Python struct + cryptography's Ed25519), round trips, every decoder rejection, and
 * signature verification accepting exactly the right messages. */
#include "check.h"

#include "base/hex.h"
#include "consensus/cons.h"
#include "crypto/sig.h"

/* Validator 0 has the key of seed 01 02 .. 20 (as in test_block.c). */
static const char kat_pk0[] = "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";
/* chain_id aa*32, height 9, round 3, pol_round -1, block bb*32 */
static const char kat_prop_sb1[] =
    "74656e656272612f76312f70726f706f73616caaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaa090000000000000003000000ffffffffbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bbbbbbbbbbbbbbbbbbbbbb";
static const char kat_prop_sig1[] =
    "5e22105f7d057e3bf05b0e126832973a4f7390883e60e19dfccc2c4abe2a8f24ece61e72028512cbe0c642b2d1"
    "b2e84f7833ae30dcbb3825d6c57f1c12ad7602";
/* chain_id aa*32, height 0x0102030405060708, round 7, pol_round 2, block cc*32 */
static const char kat_prop_sb2[] =
    "74656e656272612f76312f70726f706f73616caaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaa08070605040302010700000002000000cccccccccccccccccccccccccccccccccccccccccc"
    "cccccccccccccccccccccc";
static const char kat_prop_sig2[] =
    "113b6788168d38d5181536e5bac9baa9c0d6b19be64459fdf13dbf9f0ea95541180bd7ef55f05b6bdcc8aeca9a"
    "3b5477f20eb1e6adb7af83646c5ea7417b9701";
/* Wire: the sb1 proposal from validator 2 with sig 11*64; a precommit (type 2, height 9, round
 * 3, block bb*32) of validator 1 with sig 22*64. */
static const char kat_prop_wire[] =
    "090000000000000003000000ffffffffbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bbbbbbbb02001111111111111111111111111111111111111111111111111111111111111111111111111111"
    "1111111111111111111111111111111111111111111111111111";
static const char kat_vote_wire[] =
    "02090000000000000003000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bb01002222222222222222222222222222222222222222222222222222222222222222222222222222222222"
    "2222222222222222222222222222222222222222222222";
/* test_block.c's precommit KAT signed by validator 0 over vote_sign_bytes(aa*32, 2, 9, 3, bb*32).
 */
static const char kat_vote_sig[] =
    "0c0b5d21e9ae2a99e021898adaca82593d8b33120a9c90798a13f539ac12b421aacde010f97ab7045353c2cacb"
    "6cd8bb0caa3582b3842fbd6d24d19b9afcda03";

static uint8_t chain_id[32];
static uint8_t pk[4][32], sk[4][64];
static struct valset vs;

static void setup(void)
{
	memset(chain_id, 0xaa, sizeof(chain_id));
	memset(&vs, 0, sizeof(vs));
	vs.n = 4;
	for (size_t i = 0; i < 4; i++) {
		uint8_t seed[32];
		for (size_t j = 0; j < 32; j++)
			seed[j] = (uint8_t)(i + j + 1);
		sig_keypair_from_seed(pk[i], sk[i], seed);
		memcpy(vs.v[i].pub_key, pk[i], 32);
		vs.v[i].power = 1;
	}
}

static bool hex_is(const uint8_t *b, size_t n, const char *hex)
{
	uint8_t want[512];
	return strlen(hex) == 2 * n && hex_decode_exact(want, n, hex) && memcmp(b, want, n) == 0;
}

static struct cons_proposal kat_proposal(void)
{
	struct cons_proposal p = {.height = 9, .round = 3, .pol_round = CONS_ROUND_NONE};
	memset(p.block_hash, 0xbb, 32);
	return p;
}

static void sign_proposal(struct cons_proposal *p)
{
	uint8_t sb[CONS_PROPOSAL_SIGN_BYTES_LEN];
	cons_proposal_sign_bytes(sb, chain_id, p);
	sig_sign(p->sig, sb, sizeof(sb), sk[p->proposer]);
}

static void sign_vote(struct cons_vote *v)
{
	uint8_t sb[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(sb, chain_id, v->type, v->height, v->round, v->block_hash);
	sig_sign(v->sig, sb, sizeof(sb), sk[v->validator]);
}

static void proposal_sign_bytes_kat(void)
{
	setup();
	CHECK(CONS_PROPOSAL_SIGN_BYTES_LEN == 99);
	CHECK(hex_is(pk[0], 32, kat_pk0));
	struct cons_proposal p = kat_proposal();
	uint8_t sb[CONS_PROPOSAL_SIGN_BYTES_LEN];
	cons_proposal_sign_bytes(sb, chain_id, &p);
	CHECK(hex_is(sb, sizeof(sb), kat_prop_sb1));
	sign_proposal(&p);
	CHECK(hex_is(p.sig, 64, kat_prop_sig1));
	CHECK(cons_proposal_verify(&vs, chain_id, &p));

	p.height = 0x0102030405060708ULL, p.round = 7, p.pol_round = 2;
	memset(p.block_hash, 0xcc, 32);
	cons_proposal_sign_bytes(sb, chain_id, &p);
	CHECK(hex_is(sb, sizeof(sb), kat_prop_sb2));
	sign_proposal(&p);
	CHECK(hex_is(p.sig, 64, kat_prop_sig2));
}

static void wire_kats(void)
{
	struct cons_proposal p = kat_proposal();
	p.proposer = 2;
	memset(p.sig, 0x11, 64);
	struct enc e;
	enc_init(&e, 1024);
	cons_proposal_encode(&e, &p);
	CHECK(enc_finish(&e) == CODEC_OK && hex_is(e.buf, e.len, kat_prop_wire));
	enc_release(&e);

	struct cons_vote v = {.type = VOTE_PRECOMMIT, .height = 9, .round = 3, .validator = 1};
	memset(v.block_hash, 0xbb, 32);
	memset(v.sig, 0x22, 64);
	enc_init(&e, 1024);
	cons_vote_encode(&e, &v);
	CHECK(enc_finish(&e) == CODEC_OK && hex_is(e.buf, e.len, kat_vote_wire));
	struct cons_vote back;
	CHECK(cons_vote_decode(&back, e.buf, e.len) == CODEC_OK);
	CHECK(back.type == v.type && back.height == v.height && back.round == v.round);
	CHECK(back.validator == v.validator && !memcmp(back.block_hash, v.block_hash, 32));
	CHECK(!memcmp(back.sig, v.sig, 64));
	enc_release(&e);
}

static void random_vote(struct cons_vote *v, uint64_t *seed)
{
	memset(v, 0, sizeof(*v));
	v->type = check_rand(seed) & 1 ? VOTE_PREVOTE : VOTE_PRECOMMIT;
	v->height = check_rand(seed);
	v->round = (uint32_t)check_rand(seed);
	v->validator = (uint16_t)check_rand(seed);
	for (size_t i = 0; i < 32; i++)
		v->block_hash[i] = (uint8_t)check_rand(seed);
	if (check_rand(seed) % 4 == 0)
		memset(v->block_hash, 0, 32); /* nil */
	for (size_t i = 0; i < 64; i++)
		v->sig[i] = (uint8_t)check_rand(seed);
}

/* Encodes with f, decodes with g into a fresh value, re-encodes: all must agree. */
#define ROUND_TRIP(T, encode, decode, val)                                                         \
	do {                                                                                       \
		struct enc e1, e2;                                                                 \
		T back_;                                                                           \
		memset(&back_, 0x5a, sizeof(back_));                                               \
		enc_init(&e1, 1024);                                                               \
		encode(&e1, &(val));                                                               \
		CHECK(enc_finish(&e1) == CODEC_OK);                                                \
		CHECK(decode(&back_, e1.buf, e1.len) == CODEC_OK);                                 \
		enc_init(&e2, 1024);                                                               \
		encode(&e2, &back_);                                                               \
		CHECK(e1.len == e2.len && memcmp(e1.buf, e2.buf, e1.len) == 0);                    \
		enc_release(&e1);                                                                  \
		enc_release(&e2);                                                                  \
	} while (0)

static void round_trips(void)
{
	uint64_t seed = check_seed();
	long iters = check_iters(500);
	for (long i = 0; i < iters; i++) {
		struct cons_vote a, b;
		random_vote(&a, &seed);
		ROUND_TRIP(struct cons_vote, cons_vote_encode, cons_vote_decode, a);
		struct cons_proposal p;
		memset(&p, 0, sizeof(p));
		p.height = a.height;
		p.round = a.round | 1;
		p.pol_round = (int32_t)(check_rand(&seed) % 3 == 0
		                            ? CONS_ROUND_NONE
		                            : (int32_t)(a.round % p.round % INT32_MAX));
		memset(p.block_hash, 0x77, 32);
		p.block_hash[0] = (uint8_t)i;
		p.proposer = a.validator;
		memcpy(p.sig, a.sig, 64);
		ROUND_TRIP(struct cons_proposal, cons_proposal_encode, cons_proposal_decode, p);
		b = a;
		b.block_hash[31] ^= 1;
		struct cons_evidence ev = {.a = a, .b = b};
		if (memcmp(a.block_hash, b.block_hash, 32) > 0)
			ev.a = b, ev.b = a;
		ROUND_TRIP(struct cons_evidence, cons_evidence_encode, cons_evidence_decode, ev);
	}
}

static size_t encode_vote(uint8_t *buf, const struct cons_vote *v)
{
	struct enc e;
	enc_init_fixed(&e, buf, 256);
	cons_vote_encode(&e, v);
	return e.len;
}

static void vote_decoder_rejects(void)
{
	struct cons_vote v = {.type = VOTE_PREVOTE, .height = 5, .round = 1, .validator = 3};
	uint8_t buf[256];
	size_t n = encode_vote(buf, &v);
	struct cons_vote out;
	CHECK(n == 111 && cons_vote_decode(&out, buf, n) == CODEC_OK);
	for (size_t k = 0; k < n; k++)
		CHECK(cons_vote_decode(&out, buf, k) == CODEC_TRUNCATED);
	buf[n] = 0;
	CHECK(cons_vote_decode(&out, buf, n + 1) == CODEC_TRAILING);
	static const uint8_t bad_types[] = {0, 3, 0x81, 0xff};
	for (size_t i = 0; i < sizeof(bad_types); i++) {
		buf[0] = bad_types[i];
		CHECK(cons_vote_decode(&out, buf, n) == CODEC_NONCANONICAL);
	}
}

static void proposal_decoder_rejects(void)
{
	struct cons_proposal p = kat_proposal();
	uint8_t buf[256];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	cons_proposal_encode(&e, &p);
	size_t n = e.len;
	struct cons_proposal out;
	CHECK(n == 114 && cons_proposal_decode(&out, buf, n) == CODEC_OK);
	for (size_t k = 0; k < n; k++)
		CHECK(cons_proposal_decode(&out, buf, k) == CODEC_TRUNCATED);
	buf[n] = 0;
	CHECK(cons_proposal_decode(&out, buf, n + 1) == CODEC_TRAILING);
	/* pol_round must be in [-1, round): try -2, round (3), above, INT32_MIN. */
	static const int32_t bad_pol[] = {-2, 3, 4, INT32_MIN, INT32_MAX};
	for (size_t i = 0; i < sizeof(bad_pol) / sizeof(bad_pol[0]); i++) {
		uint8_t b2[256];
		memcpy(b2, buf, n);
		uint32_t u = (uint32_t)bad_pol[i];
		for (int k = 0; k < 4; k++)
			b2[12 + k] = (uint8_t)(u >> (8 * k));
		CHECK(cons_proposal_decode(&out, b2, n) == CODEC_NONCANONICAL);
	}
	p.round = 0, p.pol_round = 0; /* round 0 admits only -1 */
	enc_init_fixed(&e, buf, sizeof(buf));
	cons_proposal_encode(&e, &p);
	CHECK(cons_proposal_decode(&out, buf, e.len) == CODEC_NONCANONICAL);
	p = kat_proposal();
	memset(p.block_hash, 0, 32); /* a proposal of nil */
	enc_init_fixed(&e, buf, sizeof(buf));
	cons_proposal_encode(&e, &p);
	CHECK(cons_proposal_decode(&out, buf, e.len) == CODEC_NONCANONICAL);
}

static void evidence_decoder_rejects(void)
{
	struct cons_vote a = {.type = VOTE_PRECOMMIT, .height = 5, .round = 1, .validator = 3};
	memset(a.block_hash, 0x10, 32);
	struct cons_vote b = a;
	memset(b.block_hash, 0x20, 32);
	uint8_t buf[512];
	size_t n = encode_vote(buf, &a);
	n += encode_vote(buf + n, &b);
	struct cons_evidence ev;
	CHECK(n == 222 && cons_evidence_decode(&ev, buf, n) == CODEC_OK);
	CHECK(cons_evidence_decode(&ev, buf, n - 1) == CODEC_TRUNCATED);
	CHECK(cons_evidence_decode(&ev, buf, 111) == CODEC_TRUNCATED);
	buf[n] = 0;
	CHECK(cons_evidence_decode(&ev, buf, n + 1) == CODEC_TRAILING);
	/* Each mismatch, equal hashes, and the wrong order. */
	for (int k = 0; k < 6; k++) {
		struct cons_vote x = a, y = b;
		switch (k) {
		case 0:
			y.validator = 2;
			break;
		case 1:
			y.height = 6;
			break;
		case 2:
			y.round = 2;
			break;
		case 3:
			y.type = VOTE_PREVOTE;
			break;
		case 4:
			memcpy(y.block_hash, x.block_hash, 32);
			break;
		default:
			x = b, y = a;
			break;
		}
		size_t m = encode_vote(buf, &x);
		m += encode_vote(buf + m, &y);
		CHECK(cons_evidence_decode(&ev, buf, m) == CODEC_NONCANONICAL);
	}
	n = encode_vote(buf, &a);
	buf[0] = 7; /* bad type in the first vote */
	n += encode_vote(buf + n, &b);
	CHECK(cons_evidence_decode(&ev, buf, n) == CODEC_NONCANONICAL);
}

static void vote_verify(void)
{
	setup();
	struct cons_vote v = {.type = VOTE_PRECOMMIT, .height = 9, .round = 3, .validator = 0};
	memset(v.block_hash, 0xbb, 32);
	CHECK(hex_decode_exact(v.sig, 64, kat_vote_sig));
	CHECK(cons_vote_verify(&vs, chain_id, &v));
	struct cons_vote x = v;
	x.sig[5] ^= 1;
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	x = v, x.validator = 1; /* signed by 0, claimed by 1 */
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	x = v, x.validator = 4; /* outside the set */
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	x = v, x.round = 4;
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	x = v, x.type = VOTE_PREVOTE;
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	x = v, x.type = 9;
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	uint8_t other[32];
	memset(other, 0xab, 32);
	CHECK(!cons_vote_verify(&vs, other, &v));
	x = v, x.validator = 2;
	sign_vote(&x);
	CHECK(cons_vote_verify(&vs, chain_id, &x));
	memset(x.block_hash, 0, 32); /* a nil vote verifies under its own signature only */
	CHECK(!cons_vote_verify(&vs, chain_id, &x));
	sign_vote(&x);
	CHECK(cons_vote_verify(&vs, chain_id, &x));
}

static void proposal_verify(void)
{
	setup();
	struct cons_proposal p = kat_proposal();
	p.proposer = 3;
	sign_proposal(&p);
	CHECK(cons_proposal_verify(&vs, chain_id, &p));
	struct cons_proposal x = p;
	x.pol_round = 1; /* pol_round is signed */
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	x = p, x.block_hash[0] ^= 1;
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	x = p, x.proposer = 2;
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	x = p, x.proposer = 4;
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	x = p, x.height++;
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	x = p, x.sig[63] ^= 0x80;
	CHECK(!cons_proposal_verify(&vs, chain_id, &x));
	uint8_t other[32] = {0};
	CHECK(!cons_proposal_verify(&vs, other, &p));
}

static void evidence_verify(void)
{
	setup();
	struct cons_evidence ev;
	memset(&ev, 0, sizeof(ev));
	ev.a = (struct cons_vote){.type = VOTE_PREVOTE, .height = 4, .round = 2, .validator = 1};
	ev.b = ev.a;
	memset(ev.a.block_hash, 0x01, 32);
	memset(ev.b.block_hash, 0x02, 32);
	sign_vote(&ev.a);
	sign_vote(&ev.b);
	CHECK(cons_evidence_verify(&vs, chain_id, &ev));
	struct cons_evidence x = ev;
	x.b.sig[0] ^= 1;
	CHECK(!cons_evidence_verify(&vs, chain_id, &x));
	x = ev, x.a = ev.b, x.b = ev.a; /* unordered */
	CHECK(!cons_evidence_verify(&vs, chain_id, &x));
	x = ev, x.b = ev.a; /* the same vote twice is no equivocation */
	CHECK(!cons_evidence_verify(&vs, chain_id, &x));
	x = ev, x.b.validator = 2; /* two validators' votes */
	sign_vote(&x.b);
	CHECK(!cons_evidence_verify(&vs, chain_id, &x));
}

static void strerror_all(void)
{
	const char *seen[CONS_DECIDED + 1];
	for (int r = CONS_OK; r <= CONS_DECIDED; r++) {
		seen[r] = cons_strerror((enum cons_result)r);
		CHECK(seen[r] && strcmp(seen[r], "unknown consensus result") != 0);
		for (int q = 0; q < r; q++)
			CHECK(strcmp(seen[q], seen[r]) != 0);
	}
	CHECK_STR(cons_strerror((enum cons_result)(CONS_DECIDED + 1)), "unknown consensus result");
}

CHECK_MAIN(CASE(proposal_sign_bytes_kat), CASE(wire_kats), CASE(round_trips),
           CASE(vote_decoder_rejects), CASE(proposal_decoder_rejects),
           CASE(evidence_decoder_rejects), CASE(vote_verify), CASE(proposal_verify),
           CASE(evidence_verify), CASE(strerror_all))
