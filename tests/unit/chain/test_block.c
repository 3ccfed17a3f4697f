#include "check.h"

#include "base/codec.h"
#include "base/hex.h"
#include "chain/block.h"
#include "chain/merkle.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

/* Known answers computed independently with Python (hashlib BLAKE2b, cryptography Ed25519). */
static const char kat_pk0_hex[] =
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664";
static const char kat_vote_hex[] =
    "74656e656272612f76312f766f7465aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaa02090000000000000003000000bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bbbb";
static const char kat_vote_sig_hex[] =
    "0c0b5d21e9ae2a99e021898adaca82593d8b33120a9c90798a13f539ac12b421aacde010f97ab7045353c2cacb"
    "6cd8bb0caa3582b3842fbd6d24d19b9afcda03";
static const char kat_header_hash_hex[] =
    "b1d1d7be81784389b39db6830f9503e4eeb56699d9beb6622dda3966700d6b67";
static const char kat_valset_hash_hex[] =
    "94d9b20ca28457e60e22c9600e7f66aaba4ac420a47e0987dbdae803e41e6ad2";
/* merkle roots of the leaves merkle_leaf({i}) for i < n */
static const struct {
	size_t n;
	const char *root;
} kat_merkle[] = {
    {0, "2d8cf844ed1e5609dd260bf01a737e66fd72052e766fa26788f7be12c172fc3b"},
    {1, "e8f308ca7a226841f8e0c5d535952101ad5df8407c55dd64678a2cb86a60c30f"},
    {3, "c71614176c0a548b07167683cb6be5464d809e63b5ab3ca290d7e63f6daac0d0"},
    {5, "c99baf09782ded7e47192a2ff0d1355c1ded852ebdc8f8ec11c3b65237f2ee43"},
};

static uint8_t chain_id[32];
static uint8_t val_pk[VALSET_MAX][32];
static uint8_t val_sk[VALSET_MAX][64];

/* Validator i has the key of seed (i+1, i+2, ..., i+32). */
static void keys(size_t n)
{
	memset(chain_id, 0xaa, sizeof(chain_id));
	for (size_t i = 0; i < n; i++) {
		uint8_t seed[32];
		for (size_t j = 0; j < 32; j++)
			seed[j] = (uint8_t)(i + j + 1);
		sig_keypair_from_seed(val_pk[i], val_sk[i], seed);
	}
}

static void make_valset(struct valset *vs, const uint64_t *powers, size_t n)
{
	keys(n);
	memset(vs, 0, sizeof(*vs));
	vs->n = n;
	for (size_t i = 0; i < n; i++) {
		memcpy(vs->v[i].pub_key, val_pk[i], 32);
		vs->v[i].power = powers[i];
	}
	CHECK(valset_check(vs) == BLOCK_OK);
}

static void hex32(uint8_t out[32], const char *s)
{
	CHECK(hex_decode_exact(out, 32, s));
}

/* ---- Merkle ------------------------------------------------------------------------------ */

/* The RFC 6962 definition, written as plainly as possible. */
static void ref_root(uint8_t out[32], const uint8_t (*h)[32], size_t n)
{
	if (n == 0) {
		hash_tagged(out, "tenebra/v1/merkle-empty", "", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, h[0], 32);
		return;
	}
	size_t k = 1;
	while (2 * k < n)
		k *= 2;
	uint8_t lr[64];
	ref_root(lr, h, k);
	ref_root(lr + 32, h + k, n - k);
	hash_tagged(out, "tenebra/v1/merkle-node", lr, 64);
}

static void leaves_of(uint8_t (*h)[32], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t item = (uint8_t)i;
		merkle_leaf(h[i], &item, 1);
	}
}

static void merkle_vectors(void)
{
	uint8_t h[5][32], got[32], want[32];
	for (size_t k = 0; k < sizeof(kat_merkle) / sizeof(kat_merkle[0]); k++) {
		leaves_of(h, kat_merkle[k].n);
		merkle_root(got, h, kat_merkle[k].n);
		hex32(want, kat_merkle[k].root);
		CHECK_EQ_MEM(got, want, 32);
	}
	uint8_t item = 7;
	merkle_leaf(got, &item, 1);
	hash_tagged(want, "tenebra/v1/merkle-leaf", &item, 1);
	CHECK_EQ_MEM(got, want, 32);
}

static void merkle_matches_reference(void)
{
	static uint8_t h[300][32];
	const size_t sizes[] = {0,  1,  2,  3,  4,  5,  6,   7,   8,  9,
	                        15, 16, 17, 31, 33, 64, 100, 255, 300};
	leaves_of(h, 300);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint8_t got[32], want[32];
		merkle_root(got, h, sizes[k]);
		ref_root(want, h, sizes[k]);
		CHECK_EQ_MEM(got, want, 32);
		struct merkle_builder b;
		merkle_builder_init(&b);
		for (size_t i = 0; i < sizes[k]; i++) {
			merkle_builder_push(&b, h[i]);
			merkle_builder_root(&b,
			                    got); /* a root mid-way does not disturb the builder */
			ref_root(want, h, i + 1);
			CHECK_EQ_MEM(got, want, 32);
		}
	}
}

/* Every way of lying with a valid proof fails. */
static void proof_tampering(struct merkle_proof *p, const uint8_t leaf[32], const uint8_t root[32])
{
	struct merkle_proof q = *p;
	for (size_t i = 0; i < q.len; i++) {
		q.path[i][i % 32] ^= 1;
		CHECK(!merkle_verify(&q, leaf, root));
		q.path[i][i % 32] ^= 1;
	}
	q.index = p->index ^ 1;
	CHECK(q.index >= q.n || !merkle_verify(&q, leaf, root));
	q.index = q.n;
	CHECK(!merkle_verify(&q, leaf, root));
	q.index = p->index;
	if (q.len > 0) {
		q.len--;
		CHECK(!merkle_verify(&q, leaf, root));
		q.len++;
	}
	q.len++; /* an extra sibling */
	CHECK(!merkle_verify(&q, leaf, root));
}

static void merkle_proofs(void)
{
	static uint8_t h[40][32];
	leaves_of(h, 40);
	for (size_t n = 1; n <= 40; n++) {
		uint8_t root[32];
		ref_root(root, h, n);
		for (size_t i = 0; i < n; i++) {
			struct merkle_proof p, back;
			merkle_prove(&p, h, n, i);
			CHECK(merkle_verify(&p, h[i], root));
			CHECK(!merkle_verify(&p, h[(i + 1) % 40], root));
			proof_tampering(&p, h[i], root);
			uint8_t buf[8 + 8 + 1 + MERKLE_MAX_DEPTH * 32];
			struct enc e;
			enc_init_fixed(&e, buf, sizeof(buf));
			merkle_proof_encode(&e, &p);
			CHECK(enc_finish(&e) == CODEC_OK && e.len == 17 + p.len * 32);
			CHECK(merkle_proof_decode(&back, buf, e.len) == CODEC_OK);
			CHECK(back.index == i && back.n == n && back.len == p.len);
			CHECK(memcmp(back.path, p.path, p.len * 32) == 0);
			CHECK(merkle_proof_decode(&back, buf, e.len - 1) == CODEC_TRUNCATED);
		}
	}
	uint8_t bad[17] = {0};
	bad[16] = MERKLE_MAX_DEPTH + 1;
	struct merkle_proof p;
	CHECK(merkle_proof_decode(&p, bad, sizeof(bad)) == CODEC_TOO_LARGE);
}

/* The tree size is not part of the root: a proof means "leaf at index i of a tree of n leaves"
 * only when n is known from elsewhere. Leaf 2 of a 3-leaf tree also proves as leaf 1 of 2. */
static void merkle_size_must_be_known(void)
{
	uint8_t h[3][32], root[32];
	leaves_of(h, 3);
	merkle_root(root, h, 3);
	struct merkle_proof p = {.index = 1, .n = 2, .len = 1};
	merkle_root(p.path[0], h, 2);
	CHECK(merkle_verify(&p, h[2], root));
	p.index = 0; /* but the side is bound: it cannot be the left leaf */
	CHECK(!merkle_verify(&p, h[2], root));
}

/* ---- Validator sets ---------------------------------------------------------------------- */

static enum block_result valset_reencode(const struct valset *vs)
{
	uint8_t buf[VALSET_MAX_BYTES + 64];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	valset_encode(&e, vs);
	CHECK(enc_finish(&e) == CODEC_OK);
	struct valset back;
	enum block_result r = valset_decode(&back, buf, e.len);
	if (r == BLOCK_OK) {
		CHECK(back.n == vs->n && memcmp(back.v, vs->v, vs->n * sizeof(vs->v[0])) == 0);
		buf[e.len] = 0;
		CHECK(valset_decode(&back, buf, e.len + 1) == BLOCK_TRAILING);
		for (size_t cut = 0; cut < e.len; cut++)
			CHECK(valset_decode(&back, buf, cut) == BLOCK_TRUNCATED);
	}
	return r;
}

static void valsets(void)
{
	const uint64_t powers[] = {10, 5};
	struct valset vs;
	make_valset(&vs, powers, 2);
	memset(vs.v[1].pub_key, 0x33, 32);
	uint8_t got[32], want[32], pk0[32];
	hex32(pk0, kat_pk0_hex);
	CHECK_EQ_MEM(vs.v[0].pub_key, pk0, 32);
	valset_hash(got, &vs);
	hex32(want, kat_valset_hash_hex);
	CHECK_EQ_MEM(got, want, 32);
	CHECK(valset_reencode(&vs) == BLOCK_OK);
	CHECK(valset_total_power(&vs) == 15);
	size_t idx = 9;
	CHECK(valset_find(&vs, pk0, &idx) && idx == 0);
	CHECK(!valset_find(&vs, chain_id, &idx));

	struct valset bad = vs;
	bad.v[1].power = 0;
	CHECK(valset_reencode(&bad) == BLOCK_VALSET_ZERO_POWER);
	bad = vs;
	memcpy(bad.v[1].pub_key, bad.v[0].pub_key, 32);
	CHECK(valset_reencode(&bad) == BLOCK_VALSET_DUPLICATE);
	bad = vs;
	bad.v[0].power = VALSET_MAX_TOTAL_POWER - 4;
	CHECK(valset_reencode(&bad) == BLOCK_VALSET_POWER_OVERFLOW);
	bad.v[0].power = VALSET_MAX_TOTAL_POWER - 5;
	CHECK(valset_reencode(&bad) == BLOCK_OK);
	bad.v[0].power = UINT64_MAX;
	CHECK(valset_reencode(&bad) == BLOCK_VALSET_POWER_OVERFLOW);
	bad.n = 0;
	CHECK(valset_reencode(&bad) == BLOCK_VALSET_EMPTY);
	uint8_t too_many[2] = {0x81, 0x01}; /* 129 validators */
	CHECK(valset_decode(&bad, too_many, 2) == BLOCK_TOO_LARGE);
}

/* ---- Headers and votes ------------------------------------------------------------------- */

static void pattern_header(struct header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = HEADER_VERSION;
	h->height = 9;
	h->time_ms = 1700000000000ULL;
	uint8_t *fields[] = {h->chain_id,
	                     h->prev_hash,
	                     h->txs_root,
	                     h->msgs_root,
	                     h->state_root,
	                     h->validators_hash,
	                     h->next_validators_hash,
	                     h->last_commit_hash,
	                     h->proposer};
	for (size_t i = 0; i < 9; i++)
		memset(fields[i], 0x10 + (int)i, 32);
}

static void headers(void)
{
	struct header h, back;
	pattern_header(&h);
	uint8_t buf[HEADER_LEN + 1], got[32], want[32];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	header_encode(&e, &h);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == HEADER_LEN);
	CHECK(buf[0] == 1 && buf[1] == 9 && buf[17] == 0x10 && buf[HEADER_LEN - 1] == 0x18);
	header_hash(got, &h);
	hex32(want, kat_header_hash_hex);
	CHECK_EQ_MEM(got, want, 32);
	CHECK(header_decode(&back, buf, HEADER_LEN) == BLOCK_OK);
	CHECK(memcmp(&back, &h, sizeof(h)) == 0);
	for (size_t cut = 0; cut < HEADER_LEN; cut++)
		CHECK(header_decode(&back, buf, cut) == BLOCK_TRUNCATED);
	buf[HEADER_LEN] = 0;
	CHECK(header_decode(&back, buf, HEADER_LEN + 1) == BLOCK_TRAILING);
	buf[0] = 2;
	CHECK(header_decode(&back, buf, HEADER_LEN) == BLOCK_NONCANONICAL);
	h.height++;
	header_hash(want, &h);
	CHECK(memcmp(got, want, 32) != 0);
}

static void votes(void)
{
	uint8_t want[VOTE_SIGN_BYTES_LEN], got[VOTE_SIGN_BYTES_LEN], bh[32], sig[64];
	keys(1);
	memset(bh, 0xbb, 32);
	CHECK(hex_decode_exact(want, sizeof(want), kat_vote_hex));
	vote_sign_bytes(got, chain_id, VOTE_PRECOMMIT, 9, 3, bh);
	CHECK_EQ_MEM(got, want, sizeof(want));
	CHECK(hex_decode_exact(sig, sizeof(sig), kat_vote_sig_hex));
	struct commit c;
	commit_init(&c, 9, 3, bh, 1);
	commit_sign(&c, 0, chain_id, val_sk[0]);
	CHECK(c.sigs[0].flag == COMMIT_SIGNED);
	CHECK_EQ_MEM(c.sigs[0].sig, sig, 64);
	vote_sign_bytes(got, chain_id, VOTE_PREVOTE, 9, 3, bh);
	CHECK(got[15 + 32] == VOTE_PREVOTE && memcmp(got, want, 15 + 32) == 0);
}

/* ---- Commits ----------------------------------------------------------------------------- */

static size_t commit_bytes(uint8_t *buf, size_t cap, const struct commit *c)
{
	struct enc e;
	enc_init_fixed(&e, buf, cap);
	commit_encode(&e, c);
	CHECK(enc_finish(&e) == CODEC_OK);
	return e.len;
}

static void commit_codec(void)
{
	const uint64_t powers[] = {1, 1, 1, 1};
	struct valset vs;
	make_valset(&vs, powers, 4);
	uint8_t bh[32], buf[COMMIT_MAX_BYTES + 1];
	memset(bh, 0xbb, 32);
	struct commit c, back;
	commit_init(&c, 5, 2, bh, 4);
	commit_sign(&c, 0, chain_id, val_sk[0]);
	commit_sign(&c, 2, chain_id, val_sk[2]);
	size_t n = commit_bytes(buf, sizeof(buf), &c);
	CHECK(n == 8 + 4 + 32 + 1 + 4 + 2 * 64);
	CHECK(buf[44] == 4 && buf[45] == 1 && buf[110] == 0 && buf[111] == 1 && buf[176] == 0);
	CHECK(commit_decode(&back, buf, n) == BLOCK_OK);
	CHECK(memcmp(&back, &c, sizeof(c)) == 0);
	uint8_t h1[32], h2[32];
	commit_hash(h1, &c);
	hash_tagged(h2, "tenebra/v1/commit", buf, n);
	CHECK_EQ_MEM(h1, h2, 32);
	CHECK(commit_verify(&vs, chain_id, 5, bh, &back) == BLOCK_COMMIT_NO_QUORUM);
	for (size_t cut = 0; cut < n; cut++)
		CHECK(commit_decode(&back, buf, cut) == BLOCK_TRUNCATED);
	buf[n] = 0;
	CHECK(commit_decode(&back, buf, n + 1) == BLOCK_TRAILING);
	buf[176] = 2;
	CHECK(commit_decode(&back, buf, n) == BLOCK_NONCANONICAL);
	uint8_t big[8 + 4 + 32 + 2] = {0};
	big[44] = 0x81; /* 129 entries */
	big[45] = 0x01;
	CHECK(commit_decode(&back, big, sizeof(big)) == BLOCK_TOO_LARGE);
}

/* Signs the slots whose bit is set in mask, verifies against vs. */
static enum block_result verify_mask(const struct valset *vs, unsigned mask)
{
	uint8_t bh[32];
	memset(bh, 0xcd, 32);
	struct commit c;
	commit_init(&c, 11, 0, bh, vs->n);
	for (size_t i = 0; i < vs->n; i++)
		if (mask & (1u << i))
			commit_sign(&c, i, chain_id, val_sk[i]);
	return commit_verify(vs, chain_id, 11, bh, &c);
}

static void commit_quorum(void)
{
	const uint64_t one[] = {7};
	struct valset vs;
	make_valset(&vs, one, 1);
	CHECK(verify_mask(&vs, 1) == BLOCK_OK);
	CHECK(verify_mask(&vs, 0) == BLOCK_COMMIT_NO_QUORUM);

	const uint64_t equal[] = {1, 1, 1, 1};
	make_valset(&vs, equal, 4);
	CHECK(verify_mask(&vs, 0xf) == BLOCK_OK);
	CHECK(verify_mask(&vs, 0x7) == BLOCK_OK);               /* 3/4, absent entry fine */
	CHECK(verify_mask(&vs, 0xd) == BLOCK_OK);               /* any three */
	CHECK(verify_mask(&vs, 0x3) == BLOCK_COMMIT_NO_QUORUM); /* 1/2 */

	const uint64_t three[] = {1, 1, 1};
	make_valset(&vs, three, 3);
	CHECK(verify_mask(&vs, 0x3) == BLOCK_COMMIT_NO_QUORUM); /* exactly 2/3 */
	CHECK(verify_mask(&vs, 0x7) == BLOCK_OK);

	const uint64_t weighted[] = {2, 2, 1, 1};
	make_valset(&vs, weighted, 4);
	CHECK(verify_mask(&vs, 0x3) == BLOCK_COMMIT_NO_QUORUM); /* 4 of 6: exactly 2/3 */
	CHECK(verify_mask(&vs, 0xc) == BLOCK_COMMIT_NO_QUORUM);
	CHECK(verify_mask(&vs, 0x7) == BLOCK_OK); /* 5 of 6 */

	const uint64_t heavy[] = {10, 1, 1, 1};
	make_valset(&vs, heavy, 4);
	CHECK(verify_mask(&vs, 0x1) == BLOCK_OK); /* 10 of 13 */
	CHECK(verify_mask(&vs, 0xe) == BLOCK_COMMIT_NO_QUORUM);

	const uint64_t huge[] = {VALSET_MAX_TOTAL_POWER / 3, VALSET_MAX_TOTAL_POWER / 3,
	                         VALSET_MAX_TOTAL_POWER / 3};
	make_valset(&vs, huge, 3);
	CHECK(verify_mask(&vs, 0x3) == BLOCK_COMMIT_NO_QUORUM);
	CHECK(verify_mask(&vs, 0x7) == BLOCK_OK);
}

static void commit_rejections(void)
{
	const uint64_t powers[] = {1, 1, 1, 1};
	struct valset vs;
	make_valset(&vs, powers, 4);
	uint8_t bh[32], other[32];
	memset(bh, 0xcd, 32);
	memset(other, 0xce, 32);
	struct commit c, t;
	commit_init(&c, 11, 1, bh, 4);
	for (size_t i = 0; i < 4; i++)
		commit_sign(&c, i, chain_id, val_sk[i]);
	CHECK(commit_verify(&vs, chain_id, 11, bh, &c) == BLOCK_OK);
	CHECK(commit_verify(&vs, chain_id, 12, bh, &c) == BLOCK_COMMIT_WRONG_HEIGHT);
	CHECK(commit_verify(&vs, chain_id, 11, other, &c) == BLOCK_COMMIT_WRONG_HASH);
	CHECK(commit_verify(&vs, other, 11, bh, &c) == BLOCK_COMMIT_BAD_SIG); /* wrong chain id */
	t = c;
	t.n = 3;
	CHECK(commit_verify(&vs, chain_id, 11, bh, &t) == BLOCK_COMMIT_WRONG_SIZE);
	t = c;
	t.round = 2; /* signatures cover the round */
	CHECK(commit_verify(&vs, chain_id, 11, bh, &t) == BLOCK_COMMIT_BAD_SIG);
	t = c;
	t.sigs[3].sig[5] ^= 1; /* one forged signature spoils a commit that has quorum without it */
	CHECK(commit_verify(&vs, chain_id, 11, bh, &t) == BLOCK_COMMIT_BAD_SIG);
	t = c;
	memcpy(t.sigs[3].sig, c.sigs[2].sig, 64); /* another validator's signature */
	CHECK(commit_verify(&vs, chain_id, 11, bh, &t) == BLOCK_COMMIT_BAD_SIG);
	t = c;
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, VOTE_PREVOTE, 11, 1, bh); /* a prevote is not a precommit */
	sig_sign(t.sigs[1].sig, msg, sizeof(msg), val_sk[1]);
	CHECK(commit_verify(&vs, chain_id, 11, bh, &t) == BLOCK_COMMIT_BAD_SIG);
	struct valset bad = vs;
	memcpy(bad.v[1].pub_key, bad.v[0].pub_key, 32);
	CHECK(commit_verify(&bad, chain_id, 11, bh, &c) == BLOCK_VALSET_DUPLICATE);
}

/* ---- Blocks ------------------------------------------------------------------------------ */

#define NTX 5
static uint8_t tx_store[NTX][512];
static const uint8_t *tx_ptrs[NTX];
static size_t tx_lens_arr[NTX];

/* A height-2 block with NTX signed txs and a last commit by a one-validator set. */
static void make_block(struct block *b, size_t ntx)
{
	const uint64_t one[] = {1};
	struct valset vs;
	make_valset(&vs, one, 1);
	for (size_t i = 0; i < ntx; i++) {
		struct tx tx = {.version = TX_VERSION, .nonce = i, .payload_len = i * 30};
		static const uint8_t zeros[256];
		tx.payload = zeros;
		memcpy(tx.chain_id, chain_id, 32);
		memcpy(tx.sender, val_pk[0], 32);
		CHECK(tx_sign(&tx, val_sk[0]));
		struct enc e;
		enc_init_fixed(&e, tx_store[i], sizeof(tx_store[i]));
		tx_encode(&e, &tx);
		CHECK(enc_finish(&e) == CODEC_OK);
		tx_ptrs[i] = tx_store[i];
		tx_lens_arr[i] = e.len;
	}
	block_init(b);
	pattern_header(&b->header);
	b->header.height = 2;
	b->n_txs = ntx;
	b->txs = tx_ptrs;
	b->tx_lens = tx_lens_arr;
	b->has_last_commit = true;
	commit_init(&b->last_commit, 1, 0, b->header.prev_hash, 1);
	commit_sign(&b->last_commit, 0, chain_id, val_sk[0]);
	block_txs_root(b->header.txs_root, b->txs, b->tx_lens, ntx);
	block_last_commit_hash(b->header.last_commit_hash, b);
	CHECK(block_check_roots(b) == BLOCK_OK);
}

static void block_encode_to(struct enc *e, const struct block *b)
{
	enc_init(e, BLOCK_MAX_BYTES);
	block_encode(e, b);
	CHECK(enc_finish(e) == CODEC_OK);
}

static void block_roundtrip(void)
{
	for (size_t ntx = 0; ntx <= NTX; ntx += NTX) {
		struct block b, d;
		make_block(&b, ntx);
		struct enc e, again;
		block_encode_to(&e, &b);
		CHECK(block_decode(&d, e.buf, e.len) == BLOCK_OK);
		CHECK(memcmp(&d.header, &b.header, sizeof(b.header)) == 0);
		CHECK(d.n_txs == ntx && d.has_last_commit);
		for (size_t i = 0; i < ntx; i++)
			CHECK(d.tx_lens[i] == tx_lens_arr[i] &&
			      memcmp(d.txs[i], tx_store[i], tx_lens_arr[i]) == 0);
		CHECK(memcmp(&d.last_commit, &b.last_commit, sizeof(b.last_commit)) == 0);
		CHECK(block_check_roots(&d) == BLOCK_OK);
		block_encode_to(&again, &d);
		CHECK(again.len == e.len && memcmp(again.buf, e.buf, e.len) == 0);
		enc_release(&again);
		block_release(&d);
		CHECK(d.txs == NULL && d.n_txs == 0);
		enc_release(&e);
	}
	uint8_t empty_root[32], want[32];
	block_txs_root(empty_root, NULL, NULL, 0);
	merkle_root(want, NULL, 0);
	CHECK_EQ_MEM(empty_root, want, 32);
}

static void block_bad_encodings(void)
{
	struct block b, d;
	make_block(&b, 3);
	struct enc e;
	block_encode_to(&e, &b);
	for (size_t cut = 0; cut < e.len; cut++)
		CHECK(block_decode(&d, e.buf, cut) == BLOCK_TRUNCATED);
	uint8_t *buf = malloc(e.len + 1);
	memcpy(buf, e.buf, e.len);
	buf[e.len] = 0;
	CHECK(block_decode(&d, buf, e.len + 1) == BLOCK_TRAILING);
	/* every tx is 128..16383 bytes: a two-byte length after the one-byte count */
	CHECK(tx_lens_arr[0] >= 128 && tx_lens_arr[0] < 256);
	buf[HEADER_LEN + 3] = 2; /* first tx's version byte */
	CHECK(block_decode(&d, buf, e.len) == BLOCK_NONCANONICAL);
	memcpy(buf, e.buf, e.len);
	buf[HEADER_LEN + 1] = (uint8_t)(0x80 | ((tx_lens_arr[0] - 1) & 0x7f)); /* one byte short */
	CHECK(block_decode(&d, buf, e.len) == BLOCK_TRUNCATED);
	memcpy(buf, e.buf, e.len);
	size_t flag_at = e.len - 1 - (8 + 4 + 32 + 1 + 1 + 64);
	CHECK(buf[flag_at] == 1);
	buf[flag_at] = 2;
	CHECK(block_decode(&d, buf, e.len) == BLOCK_NONCANONICAL);
	buf[flag_at] = 0; /* no commit, then the commit bytes trail */
	CHECK(block_decode(&d, buf, e.len) == BLOCK_TRAILING);
	CHECK(block_decode(&d, buf, flag_at + 1) == BLOCK_OK);
	CHECK(!d.has_last_commit && d.n_txs == 3);
	block_release(&d);
	free(buf);
	enc_release(&e);

	uint8_t many[HEADER_LEN + 4];
	struct enc h;
	enc_init_fixed(&h, many, sizeof(many));
	header_encode(&h, &b.header);
	enc_uleb(&h, BLOCK_MAX_TXS + 1);
	CHECK(block_decode(&d, many, h.len) == BLOCK_TOO_LARGE);
	enc_init_fixed(&h, many, sizeof(many));
	header_encode(&h, &b.header);
	enc_uleb(&h, 1000); /* more txs than bytes left */
	CHECK(block_decode(&d, many, h.len) == BLOCK_TRUNCATED && d.txs == NULL);
	/* the size cap is checked before any byte is read */
	CHECK(block_decode(&d, many, BLOCK_MAX_BYTES + 1) == BLOCK_TOO_LARGE);
}

static void block_roots(void)
{
	struct block b, t;
	make_block(&b, NTX);
	size_t lens[NTX];
	memcpy(lens, tx_lens_arr, sizeof(lens));
	lens[NTX - 1]--; /* one byte less of the last tx */
	t = b;
	t.tx_lens = lens;
	CHECK(block_check_roots(&t) == BLOCK_BAD_TXS_ROOT);
	t = b;
	t.n_txs = NTX - 1;
	CHECK(block_check_roots(&t) == BLOCK_BAD_TXS_ROOT);
	t = b;
	t.last_commit.sigs[0].sig[0] ^= 1;
	CHECK(block_check_roots(&t) == BLOCK_BAD_LAST_COMMIT_HASH);
	t = b;
	t.last_commit.height = 2;
	CHECK(block_check_roots(&t) == BLOCK_BAD_LAST_COMMIT);
	t = b;
	t.last_commit.block_hash[0] ^= 1;
	CHECK(block_check_roots(&t) == BLOCK_BAD_LAST_COMMIT);
	t = b;
	t.has_last_commit = false;
	CHECK(block_check_roots(&t) == BLOCK_BAD_LAST_COMMIT);
	t.header.height = 1;
	memset(t.header.last_commit_hash, 0, 32);
	CHECK(block_check_roots(&t) == BLOCK_OK);
	t.has_last_commit = true;
	CHECK(block_check_roots(&t) == BLOCK_BAD_LAST_COMMIT);
}

/* ---- Receipts and errors ----------------------------------------------------------------- */

static void receipts(void)
{
	struct receipt r = {.result = 3, .fee = ((u128)1 << 100) + 9, .tip = 77}, back;
	memset(r.txid, 0x42, 32);
	uint8_t buf[RECEIPT_LEN + 1];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	receipt_encode(&e, &r);
	CHECK(enc_finish(&e) == CODEC_OK && e.len == RECEIPT_LEN);
	CHECK(buf[31] == 0x42 && buf[32] == 3 && buf[33] == 9 && buf[33 + 12] == 0x10);
	CHECK(buf[49] == 77);
	CHECK(receipt_decode(&back, buf, RECEIPT_LEN) == BLOCK_OK);
	CHECK(memcmp(back.txid, r.txid, 32) == 0 && back.result == 3);
	CHECK(back.fee == r.fee && back.tip == r.tip);
	CHECK(receipt_decode(&back, buf, RECEIPT_LEN - 1) == BLOCK_TRUNCATED);
	CHECK(receipt_decode(&back, buf, RECEIPT_LEN + 1) == BLOCK_TRAILING);
}

static void strerrors(void)
{
	for (int r = BLOCK_OK; r <= BLOCK_COMMIT_NO_QUORUM; r++) {
		const char *s = block_strerror((enum block_result)r);
		CHECK(s != NULL && s[0] != 0);
		if (r <= BLOCK_NOMEM)
			CHECK_STR(s, codec_strerror((enum codec_result)r));
	}
	CHECK_STR(block_strerror(BLOCK_COMMIT_NO_QUORUM),
	          "commit has no more than 2/3 of the voting power");
	CHECK_STR(block_strerror((enum block_result)999), "unknown block error");
}

CHECK_MAIN(CASE(merkle_vectors), CASE(merkle_matches_reference), CASE(merkle_proofs),
           CASE(merkle_size_must_be_known), CASE(valsets), CASE(headers), CASE(votes),
           CASE(commit_codec), CASE(commit_quorum), CASE(commit_rejections), CASE(block_roundtrip),
           CASE(block_bad_encodings), CASE(block_roots), CASE(receipts), CASE(strerrors))
