#include "check.h"

#include "base/codec.h"
#include "base/hex.h"
#include "chain/tx.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

/* Known-answer vector computed independently with Python (cryptography's Ed25519, hashlib's
 * BLAKE2b): seed 01..20, chain id aa*32, nonce 7, valid_until 1000, max_fee 3 PHA, tip 5, module
 * 2, function 1, payload "hello tenebra". */
static const char kat_tx_hex[] =
    "01aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* version, chain_id */
    "79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664"   /* sender */
    "0700000000000000e803000000000000"                                   /* nonce, valid_until */
    "0030ef7dba020000000000000000000005000000000000000000000000000000"   /* max_fee, tip */
    "02010d68656c6c6f2074656e65627261" /* module, function, payload */
    "d7984401c3e651ecd7b3aa0217d82b6e7307bb37243f465924b388c03ab556aa32e634a449ac1165c3d74692"
    "bf24d99e871e9c94b922fd50f15033c74ec9c109"; /* signature */
static const char kat_txid_hex[] =
    "eb319acf29533763884373c98cf81017d3780a4e4c067fb2b0f16a060f47ed43";

static uint8_t kat_sk[SIG_SK_LEN];
static uint8_t payload_buf[TX_MAX_PAYLOAD + 1];

static void kat_key(uint8_t pk[SIG_PK_LEN])
{
	uint8_t seed[SIG_SEED_LEN];
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i + 1);
	sig_keypair_from_seed(pk, kat_sk, seed);
}

/* The KAT's fields, signed with our code. */
static void kat_fill(struct tx *tx)
{
	memset(tx, 0, sizeof(*tx));
	tx->version = TX_VERSION;
	memset(tx->chain_id, 0xaa, sizeof(tx->chain_id));
	kat_key(tx->sender);
	tx->nonce = 7;
	tx->valid_until = 1000;
	tx->max_fee = (u128)3000000000000ULL;
	tx->tip = 5;
	tx->module = 2;
	tx->function = 1;
	tx->payload = (const uint8_t *)"hello tenebra";
	tx->payload_len = 13;
}

/* Encodes tx into a growable encoder the caller releases. */
static void encode(struct enc *e, const struct tx *tx)
{
	enc_init(e, TX_MAX_BYTES);
	tx_encode(e, tx);
	CHECK(enc_finish(e) == CODEC_OK);
}

static void random_tx(struct tx *tx, uint64_t *rng, size_t payload_len)
{
	kat_fill(tx);
	for (size_t i = 0; i < sizeof(tx->chain_id); i++)
		tx->chain_id[i] = (uint8_t)check_rand(rng);
	tx->nonce = check_rand(rng);
	tx->valid_until = check_rand(rng);
	tx->max_fee = ((u128)check_rand(rng) << 64) | check_rand(rng);
	tx->tip = check_rand(rng);
	tx->module = (uint8_t)check_rand(rng);
	tx->function = (uint8_t)check_rand(rng);
	for (size_t i = 0; i < payload_len; i++)
		payload_buf[i] = (uint8_t)check_rand(rng);
	tx->payload = payload_buf;
	tx->payload_len = payload_len;
}

static void known_answer(void)
{
	uint8_t want[256], want_id[TX_ID_LEN], id[TX_ID_LEN];
	size_t n = (sizeof(kat_tx_hex) - 1) / 2;
	CHECK(n == TX_FIXED_BODY_LEN + 1 + 13 + TX_SIG_LEN);
	CHECK(hex_decode_exact(want, n, kat_tx_hex));
	CHECK(hex_decode_exact(want_id, sizeof(want_id), kat_txid_hex));

	struct tx tx;
	kat_fill(&tx);
	CHECK(tx_sign(&tx, kat_sk));
	struct enc e;
	encode(&e, &tx);
	CHECK(e.len == n);
	CHECK_EQ_MEM(e.buf, want, n);
	enc_release(&e);

	struct tx d;
	CHECK(tx_decode(&d, want, n) == CODEC_OK);
	CHECK(d.body_len == n - TX_SIG_LEN);
	CHECK(d.payload == want + TX_FIXED_BODY_LEN + 1 && d.payload_len == 13);
	CHECK(d.nonce == 7 && d.valid_until == 1000 && d.max_fee == tx.max_fee && d.tip == 5);
	CHECK(d.module == 2 && d.function == 1);
	CHECK(tx_verify_sig(&d, want, n));
	tx_id(id, want, d.body_len);
	CHECK_EQ_MEM(id, want_id, TX_ID_LEN);
}

static void roundtrip_random(void)
{
	uint64_t rng = check_seed();
	const size_t lens[] = {0, 1, 127, 128, 1000, 16383, 16384, TX_MAX_PAYLOAD};
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct tx tx, d;
		random_tx(&tx, &rng, lens[k]);
		CHECK(tx_sign(&tx, kat_sk));
		struct enc e;
		encode(&e, &tx);
		CHECK(tx_decode(&d, e.buf, e.len) == CODEC_OK);
		CHECK(memcmp(d.chain_id, tx.chain_id, 32) == 0 && d.nonce == tx.nonce);
		CHECK(d.valid_until == tx.valid_until && d.max_fee == tx.max_fee &&
		      d.tip == tx.tip);
		CHECK(d.module == tx.module && d.function == tx.function);
		CHECK(d.payload_len == lens[k] && memcmp(d.payload, payload_buf, lens[k]) == 0);
		CHECK_EQ_MEM(d.sig, tx.sig, TX_SIG_LEN);
		CHECK(tx_verify_sig(&d, e.buf, e.len));
		struct enc again;
		encode(&again, &d);
		CHECK(again.len == e.len && memcmp(again.buf, e.buf, e.len) == 0);
		enc_release(&again);
		enc_release(&e);
	}
}

static void largest_tx_is_exactly_the_cap(void)
{
	uint64_t rng = 1;
	struct tx tx, d;
	random_tx(&tx, &rng, TX_MAX_PAYLOAD);
	CHECK(tx_sign(&tx, kat_sk));
	struct enc e;
	encode(&e, &tx);
	CHECK(e.len == TX_MAX_BYTES);
	CHECK(tx_decode(&d, e.buf, e.len) == CODEC_OK);
	enc_release(&e);
	random_tx(&tx, &rng, TX_MAX_PAYLOAD + 1);
	CHECK(!tx_sign(&tx, kat_sk));
}

static void truncated_at_every_byte(void)
{
	uint64_t rng = 2;
	struct tx tx, d;
	random_tx(&tx, &rng, 200); /* two-byte payload length */
	CHECK(tx_sign(&tx, kat_sk));
	struct enc e;
	encode(&e, &tx);
	for (size_t cut = 0; cut < e.len; cut++)
		CHECK(tx_decode(&d, e.buf, cut) == CODEC_TRUNCATED);
	enc_release(&e);
}

static void trailing_version_and_oversize(void)
{
	struct tx tx, d;
	kat_fill(&tx);
	CHECK(tx_sign(&tx, kat_sk));
	uint8_t b[512];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	tx_encode(&e, &tx);
	size_t n = e.len;
	b[n] = 0;
	CHECK(tx_decode(&d, b, n + 1) == CODEC_TRAILING);
	b[0] = 2;
	CHECK(tx_decode(&d, b, n) == CODEC_NONCANONICAL);
	b[0] = 0;
	CHECK(tx_decode(&d, b, n) == CODEC_NONCANONICAL);
	b[0] = 1;
	CHECK(tx_decode(&d, b, n) == CODEC_OK);

	/* payload length TX_MAX_PAYLOAD + 1 as three LEB128 bytes at offset TX_FIXED_BODY_LEN */
	uint32_t big = TX_MAX_PAYLOAD + 1;
	b[TX_FIXED_BODY_LEN] = (uint8_t)(0x80 | (big & 0x7f));
	b[TX_FIXED_BODY_LEN + 1] = (uint8_t)(0x80 | ((big >> 7) & 0x7f));
	b[TX_FIXED_BODY_LEN + 2] = (uint8_t)(big >> 14);
	CHECK(tx_decode(&d, b, TX_FIXED_BODY_LEN + 3) == CODEC_TOO_LARGE);

	static uint8_t huge[TX_MAX_BYTES + 1];
	memcpy(huge, b, n);
	CHECK(tx_decode(&d, huge, sizeof(huge)) == CODEC_TOO_LARGE);
}

static void noncanonical_payload_length(void)
{
	struct tx tx, d;
	kat_fill(&tx);
	CHECK(tx_sign(&tx, kat_sk));
	uint8_t b[512], bad[512];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	tx_encode(&e, &tx);
	/* 13 spelled 0x8d 0x00: same value, one redundant byte */
	memcpy(bad, b, TX_FIXED_BODY_LEN);
	bad[TX_FIXED_BODY_LEN] = 0x8d;
	bad[TX_FIXED_BODY_LEN + 1] = 0x00;
	memcpy(bad + TX_FIXED_BODY_LEN + 2, b + TX_FIXED_BODY_LEN + 1,
	       e.len - TX_FIXED_BODY_LEN - 1);
	CHECK(tx_decode(&d, bad, e.len + 1) == CODEC_NONCANONICAL);
}

/* Every single-byte change either breaks decoding or breaks the signature. */
static void tamper_every_byte(void)
{
	uint64_t rng = 3;
	struct tx tx, d;
	random_tx(&tx, &rng, 40);
	CHECK(tx_sign(&tx, kat_sk));
	uint8_t b[512];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	tx_encode(&e, &tx);
	size_t verified = 0;
	for (size_t i = 0; i < e.len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			b[i] ^= (uint8_t)(1u << bit);
			if (tx_decode(&d, b, e.len) == CODEC_OK) {
				CHECK(!tx_verify_sig(&d, b, e.len));
				verified++;
			}
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* only the version and payload-length bytes change the structure */
	CHECK(verified >= 2 * (e.len - 2));
	CHECK(tx_decode(&d, b, e.len) == CODEC_OK && tx_verify_sig(&d, b, e.len));
}

static void txid_ignores_signature(void)
{
	struct tx tx, d;
	kat_fill(&tx);
	CHECK(tx_sign(&tx, kat_sk));
	uint8_t b[512], id1[TX_ID_LEN], id2[TX_ID_LEN], id3[TX_ID_LEN];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	tx_encode(&e, &tx);
	CHECK(tx_decode(&d, b, e.len) == CODEC_OK);
	tx_id(id1, b, d.body_len);
	memset(b + d.body_len, 0x5a, TX_SIG_LEN);
	CHECK(tx_decode(&d, b, e.len) == CODEC_OK && !tx_verify_sig(&d, b, e.len));
	tx_id(id2, b, d.body_len);
	CHECK_EQ_MEM(id1, id2, TX_ID_LEN);
	b[1 + 32 + 32] ^= 1; /* nonce */
	tx_id(id3, b, d.body_len);
	CHECK(memcmp(id1, id3, TX_ID_LEN) != 0);
	/* the id is the tagged hash of exactly the body */
	b[1 + 32 + 32] ^= 1;
	hash_tagged(id3, "tenebra/v1/txid", b, e.len - TX_SIG_LEN);
	CHECK_EQ_MEM(id1, id3, TX_ID_LEN);
}

static void wrong_key_fails(void)
{
	struct tx tx, d;
	kat_fill(&tx);
	uint8_t pk[SIG_PK_LEN], sk[SIG_SK_LEN], seed[SIG_SEED_LEN] = {9};
	sig_keypair_from_seed(pk, sk, seed);
	CHECK(tx_sign(&tx, sk)); /* sender is the KAT key, signer is another */
	uint8_t b[512];
	struct enc e;
	enc_init_fixed(&e, b, sizeof(b));
	tx_encode(&e, &tx);
	CHECK(tx_decode(&d, b, e.len) == CODEC_OK);
	CHECK(!tx_verify_sig(&d, b, e.len));
}

CHECK_MAIN(CASE(known_answer), CASE(roundtrip_random), CASE(largest_tx_is_exactly_the_cap),
           CASE(truncated_at_every_byte), CASE(trailing_version_and_oversize),
           CASE(noncanonical_payload_length), CASE(tamper_every_byte), CASE(txid_ignores_signature),
           CASE(wrong_key_fails))
