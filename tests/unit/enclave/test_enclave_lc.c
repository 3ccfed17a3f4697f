/* The enclave's light client: it accepts exactly the next block of the chain it trusts and
 * refuses everything a lying host can make up, leaving its state unchanged. */
#include <stdlib.h>
#include <string.h>

#include "chain/genesis.h"
#include "check.h"
#include "crypto/devkeys.h"
#include "crypto/sig.h"
#include "enclave/enclave.h"
#include "enclave/enclave_int.h"

#define NV 4

static uint8_t chain_id[32];
static uint8_t sks[NV + 1][64]; /* NV validators, then an outsider */
static struct valset set4;

static void setup(void)
{
	memset(chain_id, 0x42, 32);
	set4.n = NV;
	for (size_t i = 0; i <= NV; i++) {
		uint8_t seed[32], pk[32];
		memset(seed, (int)(i + 1), 32);
		sig_keypair_from_seed(pk, sks[i], seed);
		if (i < NV) {
			memcpy(set4.v[i].pub_key, pk, 32);
			set4.v[i].power = 10;
		}
	}
}

/* A chain being built: the trusted tip and the set that signs the next block. */
struct chain {
	uint64_t height, time_ms;
	uint8_t hash[32];
	struct valset set;
};

static void chain_init(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	c->time_ms = 1000;
	c->set = set4;
}

/* The feed of the next block with msgs, signed by the validators in `signers` (bit i = slot i);
 * next (may be NULL) changes the set. Advances c. */
static void next_feed(struct chain *c, struct block_feed *f, unsigned signers,
                      const struct valset *next, const uint8_t *const *msgs, const size_t *lens,
                      size_t n_msgs)
{
	memset(f, 0, sizeof(*f));
	struct header *h = &f->header;
	h->version = HEADER_VERSION;
	h->height = c->height + 1;
	h->time_ms = c->time_ms + 1000;
	memcpy(h->chain_id, chain_id, 32);
	memcpy(h->prev_hash, c->hash, 32);
	valset_hash(h->validators_hash, &c->set);
	valset_hash(h->next_validators_hash, next ? next : &c->set);
	f->has_next_set = next != NULL;
	if (next)
		f->next_set = *next;
	f->msgs = (const uint8_t **)msgs;
	f->msg_lens = (size_t *)lens;
	f->n_msgs = n_msgs;
	block_msgs_root(h->msgs_root, msgs, lens, n_msgs);
	uint8_t hash[32];
	header_hash(hash, h);
	commit_init(&f->commit, h->height, 0, hash, c->set.n);
	for (size_t i = 0; i < c->set.n; i++) {
		if (!(signers & (1u << i)))
			continue;
		size_t k = 0;
		while (memcmp(set4.v[k].pub_key, c->set.v[i].pub_key, 32) != 0 && k < NV)
			k++;
		commit_sign(&f->commit, i, chain_id, sks[k]);
	}
	c->height = h->height;
	c->time_ms = h->time_ms;
	memcpy(c->hash, hash, 32);
	if (next)
		c->set = *next;
}

static enum enclave_result verify(struct enclave_lc *lc, const struct block_feed *f)
{
	struct enclave_lc next, before = *lc;
	char err[200];
	enum enclave_result r = enclave_lc_verify(lc, chain_id, f, &next, err, sizeof(err));
	CHECK(memcmp(&before, lc, sizeof(before)) == 0); /* never changes the trusted state */
	if (r == ENCLAVE_OK)
		*lc = next;
	else
		CHECK(strlen(err) > 0); /* every refusal says why */
	return r;
}

static void lc_start(struct enclave_lc *lc)
{
	enclave_lc_genesis(lc, &set4, 1000);
}

static void accepts_a_chain(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	const uint8_t *msgs[2] = {(const uint8_t *)"first", (const uint8_t *)"second"};
	size_t lens[2] = {5, 6};
	for (int i = 0; i < 20; i++) {
		struct block_feed f;
		/* 3 of 4 (30 of 40 power) is more than 2/3; rotate which one is missing. */
		next_feed(&c, &f, 0xFu & ~(1u << (i % 4)), NULL, msgs, lens, (size_t)(i % 3));
		CHECK(verify(&lc, &f) == ENCLAVE_OK);
	}
	CHECK(lc.height == 20);
	CHECK_EQ_MEM(lc.hash, c.hash, 32);
}

static void refuses_gap_replay_and_reorder(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	struct block_feed f1, f2, f3;
	next_feed(&c, &f1, 0xF, NULL, NULL, NULL, 0);
	next_feed(&c, &f2, 0xF, NULL, NULL, NULL, 0);
	next_feed(&c, &f3, 0xF, NULL, NULL, NULL, 0);
	CHECK(verify(&lc, &f2) == ENCLAVE_BLOCK_GAP);
	CHECK(verify(&lc, &f1) == ENCLAVE_OK);
	CHECK(verify(&lc, &f1) == ENCLAVE_BLOCK_REPLAY);
	CHECK(verify(&lc, &f3) == ENCLAVE_BLOCK_GAP);
	CHECK(verify(&lc, &f2) == ENCLAVE_OK);
	CHECK(verify(&lc, &f3) == ENCLAVE_OK);
}

static void refuses_forged_headers(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	struct block_feed f;
	next_feed(&c, &f, 0xF, NULL, NULL, NULL, 0);
	struct block_feed bad = f;
	bad.header.state_root[0] ^= 1; /* the commit signs another header hash */
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_COMMIT);
	bad = f;
	bad.header.chain_id[0] ^= 1;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_CHAIN);
	bad = f;
	bad.header.prev_hash[3] ^= 1;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_CHAIN);
	bad = f;
	bad.header.time_ms = 999; /* before genesis */
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_CHAIN);
	bad = f;
	bad.header.validators_hash[0] ^= 1;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_VALSET);
	CHECK(verify(&lc, &f) == ENCLAVE_OK);

	/* Time must increase. */
	struct chain c2 = c;
	struct block_feed g;
	c2.time_ms -= 1000; /* next_feed adds 1000: same time as the tip */
	next_feed(&c2, &g, 0xF, NULL, NULL, NULL, 0);
	CHECK(verify(&lc, &g) == ENCLAVE_BLOCK_BAD_CHAIN);
}

static void refuses_bad_commits(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	struct chain saved = c;
	struct block_feed f;
	next_feed(&c, &f, 0x3, NULL, NULL, NULL, 0); /* 2 of 4: 20 of 40 is not > 2/3 */
	CHECK(verify(&lc, &f) == ENCLAVE_BLOCK_BAD_COMMIT);
	c = saved;
	next_feed(&c, &f, 0xF, NULL, NULL, NULL, 0);
	struct block_feed bad = f;
	bad.commit.sigs[2].sig[10] ^= 1;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_COMMIT);
	/* An outsider's signature in a validator's slot. */
	bad = f;
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, VOTE_PRECOMMIT, 1, 0, f.commit.block_hash);
	sig_sign(bad.commit.sigs[1].sig, msg, sizeof(msg), sks[NV]);
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_COMMIT);
	/* A commit for another height. */
	bad = f;
	bad.commit.height = 2;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_COMMIT);
	CHECK(verify(&lc, &f) == ENCLAVE_OK);
}

static void refuses_tampered_messages(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	const uint8_t *msgs[3] = {(const uint8_t *)"a", (const uint8_t *)"b", (const uint8_t *)"c"};
	size_t lens[3] = {1, 1, 1};
	struct block_feed f;
	next_feed(&c, &f, 0xF, NULL, msgs, lens, 3);
	struct block_feed bad = f;
	const uint8_t *swapped[3] = {msgs[1], msgs[0], msgs[2]};
	bad.msgs = swapped;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_MSGS); /* reordered */
	bad.msgs = (const uint8_t **)msgs;
	bad.n_msgs = 2;
	CHECK(verify(&lc, &bad) == ENCLAVE_BLOCK_BAD_MSGS); /* one withheld */
	CHECK(verify(&lc, &f) == ENCLAVE_OK);
}

static void follows_validator_set_changes(void)
{
	struct enclave_lc lc;
	lc_start(&lc);
	struct chain c;
	chain_init(&c);
	/* Block 1 announces a set without validator 0; block 2 is signed by it. */
	struct valset next = {.n = 3};
	for (size_t i = 0; i < 3; i++)
		next.v[i] = set4.v[i + 1];
	struct block_feed f1, f2;
	next_feed(&c, &f1, 0xF, &next, NULL, NULL, 0);
	struct block_feed lying = f1;
	lying.next_set = set4; /* the host swaps in another set */
	CHECK(verify(&lc, &lying) == ENCLAVE_BLOCK_BAD_VALSET);
	CHECK(verify(&lc, &f1) == ENCLAVE_OK);
	next_feed(&c, &f2, 0x7, NULL, NULL, NULL, 0); /* all three of the new set */
	CHECK(verify(&lc, &f2) == ENCLAVE_OK);
	CHECK(lc.next_set.n == 3);

	/* The removed validator plus one remaining cannot sign block 3. */
	struct chain c3 = c;
	struct block_feed f3;
	c3.set = set4;
	next_feed(&c3, &f3, 0x3, NULL, NULL, NULL, 0);
	CHECK(verify(&lc, &f3) != ENCLAVE_OK);
}

static void feed_round_trip(void)
{
	struct chain c;
	chain_init(&c);
	struct valset next = set4;
	next.v[0].power = 99;
	const uint8_t *msgs[2] = {(const uint8_t *)"hello", (const uint8_t *)""};
	size_t lens[2] = {5, 0};
	struct block_feed f, g;
	next_feed(&c, &f, 0xF, &next, msgs, lens, 2);
	struct enc e;
	enc_init(&e, FEED_MAX_BYTES);
	block_feed_encode(&e, &f);
	CHECK(enc_finish(&e) == CODEC_OK);
	CHECK(block_feed_decode(&g, e.buf, e.len) == BLOCK_OK);
	CHECK(g.n_msgs == 2 && g.msg_lens[0] == 5 && memcmp(g.msgs[0], "hello", 5) == 0);
	CHECK(g.has_next_set && g.next_set.v[0].power == 99);
	struct enc e2;
	enc_init(&e2, FEED_MAX_BYTES);
	block_feed_encode(&e2, &g);
	CHECK(e2.len == e.len && memcmp(e2.buf, e.buf, e.len) == 0);
	/* Every truncation and a trailing byte are refused. */
	for (size_t n = 0; n < e.len; n++) {
		struct block_feed t;
		CHECK(block_feed_decode(&t, e.buf, n) != BLOCK_OK);
	}
	uint8_t *longer = malloc(e.len + 1);
	memcpy(longer, e.buf, e.len);
	longer[e.len] = 0;
	struct block_feed t;
	CHECK(block_feed_decode(&t, longer, e.len + 1) == BLOCK_TRAILING);
	free(longer);
	block_feed_release(&g);
	enc_release(&e);
	enc_release(&e2);
}

CHECK_MAIN(CASE(setup), CASE(accepts_a_chain), CASE(refuses_gap_replay_and_reorder),
           CASE(refuses_forged_headers), CASE(refuses_bad_commits), CASE(refuses_tampered_messages),
           CASE(follows_validator_set_changes), CASE(feed_round_trip))
