/*
 * Sealing (src/crypto/seal.h): the sim key against an independent computation, the blob layout
 * opened directly with libsodium, round trips, and every refusal with its own error: another
 * chain, measurement, purpose, key; truncation at every length; a flipped bit at every position.
 */
#include "check.h"

#include "base/hex.h"
#include "crypto/seal.h"

#include <sodium.h>

/* Deterministic generator for tests: a counter, so every blob is reproducible. */
struct counter_rng {
	uint8_t next;
	size_t calls, bytes;
};

static void counter_fill(void *ctx, uint8_t *buf, size_t n)
{
	struct counter_rng *r = ctx;
	for (size_t i = 0; i < n; i++)
		buf[i] = r->next++;
	r->calls++;
	r->bytes += n;
}

struct fixture {
	uint8_t key[SEAL_KEY_LEN], genesis[32], measurement[32];
};

static void fixture_init(struct fixture *f)
{
	uint8_t machine[32];
	memset(machine, 0x5a, sizeof(machine));
	memset(f->genesis, 0x11, sizeof(f->genesis));
	memset(f->measurement, 0x3e, sizeof(f->measurement));
	seal_sim_key(f->key, machine, f->measurement);
}

static const uint8_t msg[] = "the master key history";
#define MSG_LEN (sizeof(msg) - 1)

static size_t seal_msg(const struct fixture *f, const char *purpose, uint8_t *blob)
{
	struct counter_rng rng = {0};
	size_t n = 0;
	CHECK(seal_wrap(f->key, f->genesis, f->measurement, purpose, msg, MSG_LEN, counter_fill,
	                &rng, blob, &n) == SEAL_OK);
	CHECK(n == seal_blob_len(MSG_LEN, strlen(purpose)));
	CHECK(rng.calls == 1 && rng.bytes == SEAL_NONCE_LEN);
	return n;
}

/* Computed by the independent Python reference (docs/protocol/keys.md). */
static void test_sim_key(void)
{
	struct fixture f;
	fixture_init(&f);
	char hex[65];
	CHECK_STR(hex_encode(hex, f.key, 32),
	          "e8e70b70f2b2da33b6f756c98936b0be1e1ab496a5861f3a4b8450bb86bcb589");
	uint8_t machine[32], other[32], k2[32];
	memset(machine, 0x5a, sizeof(machine));
	memcpy(other, f.measurement, 32);
	other[0] ^= 1;
	seal_sim_key(k2, machine, other);
	CHECK(memcmp(k2, f.key, 32) != 0); /* another binary, another key */
}

/* The blob is exactly the documented bytes: decrypt it with libsodium and a hand-built AAD. */
static void test_layout(void)
{
	struct fixture f;
	fixture_init(&f);
	uint8_t blob[256];
	size_t n = seal_msg(&f, "checkpoint", blob);
	CHECK(n == 1 + 32 + 32 + 1 + 10 + 24 + MSG_LEN + 16);
	CHECK(blob[0] == 1);
	CHECK_EQ_MEM(blob + 1, f.genesis, 32);
	CHECK_EQ_MEM(blob + 33, f.measurement, 32);
	CHECK(blob[65] == 10);
	CHECK_EQ_MEM(blob + 66, "checkpoint", 10);
	for (size_t i = 0; i < 24; i++)
		CHECK(blob[76 + i] == i); /* the nonce is the generator's bytes */
	uint8_t aad[15 + 32 + 32 + 10];
	memcpy(aad, "tenebra/v1/seal", 15);
	memcpy(aad + 15, f.genesis, 32);
	memcpy(aad + 47, f.measurement, 32);
	memcpy(aad + 79, "checkpoint", 10);
	uint8_t pt[64];
	unsigned long long pt_len = 0;
	CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &pt_len, NULL, blob + 100, n - 100,
	                                                 aad, sizeof(aad), blob + 76, f.key) == 0);
	CHECK(pt_len == MSG_LEN && memcmp(pt, msg, MSG_LEN) == 0);
}

static void test_roundtrip(void)
{
	struct fixture f;
	fixture_init(&f);
	uint8_t blob[256], pt[256];
	size_t n = seal_msg(&f, "master-key", blob), pt_len = 99;
	CHECK(seal_unwrap(f.key, f.genesis, f.measurement, "master-key", blob, n, pt, &pt_len) ==
	      SEAL_OK);
	CHECK(pt_len == MSG_LEN && memcmp(pt, msg, MSG_LEN) == 0);

	/* Empty plaintext, longest purpose, and a large plaintext. */
	char purpose[SEAL_PURPOSE_MAX + 1];
	memset(purpose, 'p', SEAL_PURPOSE_MAX);
	purpose[SEAL_PURPOSE_MAX] = 0;
	struct counter_rng rng = {0};
	CHECK(seal_wrap(f.key, f.genesis, f.measurement, purpose, NULL, 0, counter_fill, &rng, blob,
	                &n) == SEAL_OK);
	CHECK(n == seal_blob_len(0, SEAL_PURPOSE_MAX));
	CHECK(seal_unwrap(f.key, f.genesis, f.measurement, purpose, blob, n, pt, &pt_len) ==
	      SEAL_OK);
	CHECK(pt_len == 0);

	size_t big_len = 1 << 20;
	uint8_t *big = malloc(big_len), *big_blob = malloc(seal_blob_len(big_len, 1)),
	        *back = malloc(seal_blob_len(big_len, 1));
	CHECK(big && big_blob && back);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7);
	CHECK(seal_wrap(f.key, f.genesis, f.measurement, "x", big, big_len, counter_fill, &rng,
	                big_blob, &n) == SEAL_OK);
	CHECK(seal_unwrap(f.key, f.genesis, f.measurement, "x", big_blob, n, back, &pt_len) ==
	      SEAL_OK);
	CHECK(pt_len == big_len && memcmp(back, big, big_len) == 0);
	free(big);
	free(big_blob);
	free(back);

	/* Over the cap: refused before the plaintext is read. */
	CHECK(seal_wrap(f.key, f.genesis, f.measurement, "x", msg, SEAL_PT_MAX + 1, counter_fill,
	                &rng, blob, &n) == SEAL_ERR_TOO_LONG);

	/* A fresh nonce per seal: the same plaintext never gives the same blob. */
	uint8_t b1[256], b2[256];
	struct counter_rng r1 = {0}, r2 = {.next = 100};
	size_t n1 = 0, n2 = 0;
	CHECK(seal_wrap(f.key, f.genesis, f.measurement, "k", msg, MSG_LEN, counter_fill, &r1, b1,
	                &n1) == SEAL_OK);
	CHECK(seal_wrap(f.key, f.genesis, f.measurement, "k", msg, MSG_LEN, counter_fill, &r2, b2,
	                &n2) == SEAL_OK);
	CHECK(n1 == n2 && memcmp(b1, b2, n1) != 0);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static enum seal_result unwrap_as(const struct fixture *f, const char *purpose, const uint8_t *blob,
                                  size_t n)
{
	uint8_t pt[256];
	size_t pt_len = 1234;
	memset(pt, 0xee, sizeof(pt));
	enum seal_result r =
	    seal_unwrap(f->key, f->genesis, f->measurement, purpose, blob, n, pt, &pt_len);
	/* A refused blob leaves no plaintext behind: what the AEAD wrote is zeroed again. */
	size_t base = seal_blob_len(0, strlen(purpose));
	size_t written = n > base ? n - base : 0;
	if (r != SEAL_OK)
		CHECK(pt_len == 0 && (r != SEAL_ERR_TAMPERED || all_zero(pt, written)));
	return r;
}

static void test_refusals(void)
{
	struct fixture f, g;
	fixture_init(&f);
	uint8_t blob[256];
	size_t n = seal_msg(&f, "checkpoint", blob);

	g = f;
	g.genesis[5] ^= 1;
	CHECK(unwrap_as(&g, "checkpoint", blob, n) == SEAL_ERR_OTHER_CHAIN);
	g = f;
	g.measurement[31] ^= 0x80;
	CHECK(unwrap_as(&g, "checkpoint", blob, n) == SEAL_ERR_OTHER_MEASUREMENT);
	CHECK(unwrap_as(&f, "checkpoinT", blob, n) == SEAL_ERR_OTHER_PURPOSE);
	CHECK(unwrap_as(&f, "checkpoint2", blob, n) == SEAL_ERR_OTHER_PURPOSE);
	CHECK(unwrap_as(&f, "check", blob, n) == SEAL_ERR_OTHER_PURPOSE);
	g = f;
	g.key[0] ^= 1;
	CHECK(unwrap_as(&g, "checkpoint", blob, n) == SEAL_ERR_TAMPERED);

	/* A blob of another chain with its clear header rewritten to ours: the AAD catches it. */
	uint8_t forged[256];
	memcpy(forged, blob, n);
	memset(forged + 1, 0x22, 32);
	g = f;
	memset(g.genesis, 0x22, 32);
	CHECK(unwrap_as(&g, "checkpoint", forged, n) == SEAL_ERR_TAMPERED);

	CHECK(unwrap_as(&f, "checkpoint", blob, 0) == SEAL_ERR_TRUNCATED);
	for (size_t len = 1; len < n; len++) {
		enum seal_result r = unwrap_as(&f, "checkpoint", blob, len);
		/* Up to nonce + tag the blob is visibly short; past that the tag is gone. */
		CHECK(len < 1 + 32 + 32 + 1 + 10 + 24 + 16 ? r == SEAL_ERR_TRUNCATED
		                                           : r == SEAL_ERR_TAMPERED);
	}
	blob[0] = 2;
	CHECK(unwrap_as(&f, "checkpoint", blob, n) == SEAL_ERR_VERSION);
	blob[0] = 1;
	CHECK(unwrap_as(&f, "checkpoint", blob, n) == SEAL_OK);
}

/* Every single-bit flip is refused, with the error naming the field it hit. */
static void test_every_bit(void)
{
	struct fixture f;
	fixture_init(&f);
	uint8_t blob[256];
	size_t n = seal_msg(&f, "checkpoint", blob);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			blob[i] ^= (uint8_t)(1 << bit);
			enum seal_result r = unwrap_as(&f, "checkpoint", blob, n), want;
			if (i == 0)
				want = SEAL_ERR_VERSION;
			else if (i < 33)
				want = SEAL_ERR_OTHER_CHAIN;
			else if (i < 65)
				want = SEAL_ERR_OTHER_MEASUREMENT;
			else if (i < 76)
				want = r == SEAL_ERR_TRUNCATED ? r : SEAL_ERR_OTHER_PURPOSE;
			else
				want = SEAL_ERR_TAMPERED;
			CHECK(r == want);
			blob[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK(unwrap_as(&f, "checkpoint", blob, n) == SEAL_OK);
}

static void test_strerror(void)
{
	for (int r = SEAL_OK; r <= SEAL_ERR_TOO_LONG; r++)
		CHECK(strlen(seal_strerror((enum seal_result)r)) > 0);
	CHECK(strcmp(seal_strerror(SEAL_ERR_OTHER_CHAIN), seal_strerror(SEAL_ERR_TAMPERED)) != 0);
	CHECK(strlen(seal_strerror((enum seal_result)99)) > 0);
}

CHECK_MAIN(CASE(test_sim_key), CASE(test_layout), CASE(test_roundtrip), CASE(test_refusals),
           CASE(test_every_bit), CASE(test_strerror))
