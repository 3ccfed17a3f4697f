#include "chain/block.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chain/block_int.h"
#include "chain/merkle.h"
#include "crypto/hash.h"
#include "crypto/sig.h"

_Static_assert(HEADER_LEN == 305, "header layout");
_Static_assert(VOTE_SIGN_BYTES_LEN == 92, "vote layout");
_Static_assert(RECEIPT_LEN == 65, "receipt layout");
_Static_assert(VALSET_MAX < 16384 && BLOCK_MAX_TXS < (1 << 21), "uleb widths in the max sizes");

static const char *const block_errors[] = {
    [BLOCK_OK] = "ok",
    [BLOCK_TRUNCATED] = "input is truncated",
    [BLOCK_NONCANONICAL] = "encoding is not canonical",
    [BLOCK_TOO_LARGE] = "value exceeds its size limit",
    [BLOCK_TRAILING] = "trailing bytes after the last value",
    [BLOCK_NOMEM] = "out of memory",
    [BLOCK_VALSET_EMPTY] = "validator set is empty",
    [BLOCK_VALSET_ZERO_POWER] = "validator has zero power",
    [BLOCK_VALSET_DUPLICATE] = "validator key appears twice",
    [BLOCK_VALSET_POWER_OVERFLOW] = "total voting power too large",
    [BLOCK_BAD_TXS_ROOT] = "txs root does not match the transactions",
    [BLOCK_BAD_LAST_COMMIT_HASH] = "last commit hash does not match the last commit",
    [BLOCK_BAD_LAST_COMMIT] = "last commit missing, unexpected or for another block",
    [BLOCK_COMMIT_WRONG_SIZE] = "commit size differs from the validator set",
    [BLOCK_COMMIT_WRONG_HEIGHT] = "commit is for another height",
    [BLOCK_COMMIT_WRONG_HASH] = "commit is for another block",
    [BLOCK_COMMIT_BAD_SIG] = "commit carries an invalid signature",
    [BLOCK_COMMIT_NO_QUORUM] = "commit has no more than 2/3 of the voting power",
};

const char *block_strerror(enum block_result r)
{
	size_t i = (size_t)r;
	if (i < sizeof(block_errors) / sizeof(block_errors[0]) && block_errors[i])
		return block_errors[i];
	return "unknown block error";
}

/* ---- Validator sets ---------------------------------------------------------------------- */

enum block_result valset_check(const struct valset *vs)
{
	if (vs->n == 0)
		return BLOCK_VALSET_EMPTY;
	if (vs->n > VALSET_MAX)
		return BLOCK_TOO_LARGE;
	uint64_t total = 0;
	for (size_t i = 0; i < vs->n; i++) {
		uint64_t p = vs->v[i].power;
		if (p == 0)
			return BLOCK_VALSET_ZERO_POWER;
		if (p > VALSET_MAX_TOTAL_POWER - total)
			return BLOCK_VALSET_POWER_OVERFLOW;
		total += p;
		for (size_t j = 0; j < i; j++)
			if (memcmp(vs->v[i].pub_key, vs->v[j].pub_key, 32) == 0)
				return BLOCK_VALSET_DUPLICATE;
	}
	return BLOCK_OK;
}

uint64_t valset_total_power(const struct valset *vs)
{
	assert(vs->n <= VALSET_MAX);
	uint64_t total = 0;
	for (size_t i = 0; i < vs->n; i++)
		total += vs->v[i].power;
	assert(total <= VALSET_MAX_TOTAL_POWER);
	return total;
}

bool valset_find(const struct valset *vs, const uint8_t pub_key[32], size_t *index)
{
	assert(vs->n <= VALSET_MAX);
	for (size_t i = 0; i < vs->n; i++) {
		if (memcmp(vs->v[i].pub_key, pub_key, 32) == 0) {
			*index = i;
			return true;
		}
	}
	return false;
}

void valset_encode(struct enc *e, const struct valset *vs)
{
	assert(vs->n <= VALSET_MAX);
	enc_uleb(e, vs->n);
	for (size_t i = 0; i < vs->n; i++) {
		enc_raw(e, vs->v[i].pub_key, 32);
		enc_u64(e, vs->v[i].power);
	}
}

enum block_result valset_decode(struct valset *vs, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	memset(vs, 0, sizeof(*vs));
	vs->n = (size_t)dec_uleb(&d, VALSET_MAX);
	for (size_t i = 0; i < vs->n && d.err == CODEC_OK; i++) {
		dec_raw(&d, vs->v[i].pub_key, 32);
		vs->v[i].power = dec_u64(&d);
	}
	enum codec_result r = dec_finish(&d);
	if (r != CODEC_OK)
		return (enum block_result)r;
	return valset_check(vs);
}

void valset_hash(uint8_t out[BLOCK_HASH_LEN], const struct valset *vs)
{
	uint8_t buf[VALSET_MAX_BYTES];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	valset_encode(&e, vs);
	assert(enc_finish(&e) == CODEC_OK);
	hash_tagged(out, VALSET_TAG, buf, e.len);
}

/* ---- Headers ----------------------------------------------------------------------------- */

void header_encode(struct enc *e, const struct header *h)
{
	enc_u8(e, h->version);
	enc_u64(e, h->height);
	enc_u64(e, h->time_ms);
	enc_raw(e, h->chain_id, 32);
	enc_raw(e, h->prev_hash, 32);
	enc_raw(e, h->txs_root, 32);
	enc_raw(e, h->msgs_root, 32);
	enc_raw(e, h->state_root, 32);
	enc_raw(e, h->validators_hash, 32);
	enc_raw(e, h->next_validators_hash, 32);
	enc_raw(e, h->last_commit_hash, 32);
	enc_raw(e, h->proposer, 32);
}

static void header_dec(struct dec *d, struct header *h)
{
	h->version = dec_u8(d);
	if (d->err == CODEC_OK && h->version != HEADER_VERSION)
		dec_fail(d, CODEC_NONCANONICAL);
	h->height = dec_u64(d);
	h->time_ms = dec_u64(d);
	dec_raw(d, h->chain_id, 32);
	dec_raw(d, h->prev_hash, 32);
	dec_raw(d, h->txs_root, 32);
	dec_raw(d, h->msgs_root, 32);
	dec_raw(d, h->state_root, 32);
	dec_raw(d, h->validators_hash, 32);
	dec_raw(d, h->next_validators_hash, 32);
	dec_raw(d, h->last_commit_hash, 32);
	dec_raw(d, h->proposer, 32);
}

enum block_result header_decode(struct header *h, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	header_dec(&d, h);
	return (enum block_result)dec_finish(&d);
}

void header_hash(uint8_t out[BLOCK_HASH_LEN], const struct header *h)
{
	uint8_t buf[HEADER_LEN];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	header_encode(&e, h);
	assert(enc_finish(&e) == CODEC_OK && e.len == HEADER_LEN);
	hash_tagged(out, HEADER_TAG, buf, e.len);
}

/* ---- Votes ------------------------------------------------------------------------------- */

void vote_sign_bytes(uint8_t out[VOTE_SIGN_BYTES_LEN], const uint8_t chain_id[32], uint8_t type,
                     uint64_t height, uint32_t round, const uint8_t block_hash[BLOCK_HASH_LEN])
{
	assert(type == VOTE_PREVOTE || type == VOTE_PRECOMMIT);
	struct enc e;
	enc_init_fixed(&e, out, VOTE_SIGN_BYTES_LEN);
	enc_raw(&e, VOTE_TAG, sizeof(VOTE_TAG) - 1);
	enc_raw(&e, chain_id, 32);
	enc_u8(&e, type);
	enc_u64(&e, height);
	enc_u32(&e, round);
	enc_raw(&e, block_hash, BLOCK_HASH_LEN);
	assert(enc_finish(&e) == CODEC_OK && e.len == VOTE_SIGN_BYTES_LEN);
}

/* ---- Commits ----------------------------------------------------------------------------- */

void commit_init(struct commit *c, uint64_t height, uint32_t round,
                 const uint8_t block_hash[BLOCK_HASH_LEN], size_t n)
{
	assert(n <= VALSET_MAX);
	memset(c, 0, sizeof(*c));
	c->height = height;
	c->round = round;
	memcpy(c->block_hash, block_hash, BLOCK_HASH_LEN);
	c->n = n;
}

void commit_sign(struct commit *c, size_t index, const uint8_t chain_id[32], const uint8_t sk[64])
{
	assert(index < c->n);
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, VOTE_PRECOMMIT, c->height, c->round, c->block_hash);
	c->sigs[index].flag = COMMIT_SIGNED;
	sig_sign(c->sigs[index].sig, msg, sizeof(msg), sk);
}

void commit_encode(struct enc *e, const struct commit *c)
{
	assert(c->n <= VALSET_MAX);
	enc_u64(e, c->height);
	enc_u32(e, c->round);
	enc_raw(e, c->block_hash, BLOCK_HASH_LEN);
	enc_uleb(e, c->n);
	for (size_t i = 0; i < c->n; i++) {
		assert(c->sigs[i].flag == COMMIT_ABSENT || c->sigs[i].flag == COMMIT_SIGNED);
		enc_u8(e, c->sigs[i].flag);
		if (c->sigs[i].flag == COMMIT_SIGNED)
			enc_raw(e, c->sigs[i].sig, 64);
	}
}

static void commit_dec(struct dec *d, struct commit *c)
{
	memset(c, 0, sizeof(*c));
	c->height = dec_u64(d);
	c->round = dec_u32(d);
	dec_raw(d, c->block_hash, BLOCK_HASH_LEN);
	c->n = (size_t)dec_uleb(d, VALSET_MAX);
	for (size_t i = 0; i < c->n && d->err == CODEC_OK; i++) {
		c->sigs[i].flag = dec_u8(d);
		if (c->sigs[i].flag == COMMIT_SIGNED)
			dec_raw(d, c->sigs[i].sig, 64);
		else if (c->sigs[i].flag != COMMIT_ABSENT)
			dec_fail(d, CODEC_NONCANONICAL);
	}
}

enum block_result commit_decode(struct commit *c, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	commit_dec(&d, c);
	return (enum block_result)dec_finish(&d);
}

void commit_hash(uint8_t out[BLOCK_HASH_LEN], const struct commit *c)
{
	uint8_t buf[COMMIT_MAX_BYTES];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	commit_encode(&e, c);
	assert(enc_finish(&e) == CODEC_OK);
	hash_tagged(out, COMMIT_TAG, buf, e.len);
}

enum block_result commit_verify(const struct valset *vs, const uint8_t chain_id[32],
                                uint64_t height, const uint8_t block_hash[BLOCK_HASH_LEN],
                                const struct commit *c)
{
	enum block_result r = valset_check(vs);
	if (r != BLOCK_OK)
		return r;
	if (c->n != vs->n)
		return BLOCK_COMMIT_WRONG_SIZE;
	if (c->height != height)
		return BLOCK_COMMIT_WRONG_HEIGHT;
	if (memcmp(c->block_hash, block_hash, BLOCK_HASH_LEN) != 0)
		return BLOCK_COMMIT_WRONG_HASH;
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, VOTE_PRECOMMIT, height, c->round, block_hash);
	uint64_t signed_power = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (c->sigs[i].flag != COMMIT_SIGNED)
			continue;
		if (!sig_verify(c->sigs[i].sig, msg, sizeof(msg), vs->v[i].pub_key))
			return BLOCK_COMMIT_BAD_SIG;
		signed_power += vs->v[i].power;
	}
	/* Both sides stay below 2^64: total <= VALSET_MAX_TOTAL_POWER < 2^62. */
	if (3 * signed_power <= 2 * valset_total_power(vs))
		return BLOCK_COMMIT_NO_QUORUM;
	return BLOCK_OK;
}

/* ---- Blocks ------------------------------------------------------------------------------ */

void block_init(struct block *b)
{
	memset(b, 0, sizeof(*b));
}

void block_release(struct block *b)
{
	free(b->txs);
	free(b->tx_lens);
	block_init(b);
}

void block_encode(struct enc *e, const struct block *b)
{
	header_encode(e, &b->header);
	enc_uleb(e, b->n_txs);
	for (size_t i = 0; i < b->n_txs; i++)
		enc_bytes(e, b->txs[i], b->tx_lens[i]);
	enc_bool(e, b->has_last_commit);
	if (b->has_last_commit)
		commit_encode(e, &b->last_commit);
}

void block_dec_list(struct dec *d, uint64_t max_count, size_t max_len,
                    enum codec_result (*check)(const uint8_t *item, size_t len),
                    const uint8_t ***items, size_t **lens, size_t *n)
{
	*items = NULL;
	*lens = NULL;
	*n = 0;
	/* Each entry takes at least its length byte, so a count above the bytes left is refused
	 * before anything is allocated. */
	uint64_t count = dec_uleb(d, max_count);
	if (count > dec_remaining(d))
		dec_fail(d, CODEC_TRUNCATED);
	if (d->err != CODEC_OK || count == 0)
		return;
	*items = malloc(count * sizeof(**items));
	*lens = malloc(count * sizeof(**lens));
	if (!*items || !*lens) {
		dec_fail(d, CODEC_NOMEM);
		return;
	}
	*n = (size_t)count;
	for (size_t i = 0; i < *n && d->err == CODEC_OK; i++) {
		(*items)[i] = dec_bytes(d, &(*lens)[i], max_len);
		if ((*items)[i] && check)
			dec_fail(d, check((*items)[i], (*lens)[i]));
	}
}

static enum codec_result block_check_tx(const uint8_t *b, size_t n)
{
	struct tx tx;
	return tx_decode(&tx, b, n);
}

static void block_dec_txs(struct dec *d, struct block *b)
{
	block_dec_list(d, BLOCK_MAX_TXS, TX_MAX_BYTES, block_check_tx, &b->txs, &b->tx_lens,
	               &b->n_txs);
}

enum block_result block_decode(struct block *blk, const uint8_t *b, size_t n)
{
	block_init(blk);
	if (n > BLOCK_MAX_BYTES)
		return BLOCK_TOO_LARGE;
	struct dec d;
	dec_init(&d, b, n);
	header_dec(&d, &blk->header);
	block_dec_txs(&d, blk);
	blk->has_last_commit = dec_bool(&d);
	if (blk->has_last_commit)
		commit_dec(&d, &blk->last_commit);
	enum codec_result r = dec_finish(&d);
	if (r != CODEC_OK)
		block_release(blk);
	return (enum block_result)r;
}

void block_txs_root(uint8_t out[BLOCK_HASH_LEN], const uint8_t *const *txs, const size_t *tx_lens,
                    size_t n)
{
	struct merkle_builder mb;
	merkle_builder_init(&mb);
	for (size_t i = 0; i < n; i++) {
		uint8_t leaf[MERKLE_HASH_LEN];
		merkle_leaf(leaf, txs[i], tx_lens[i]);
		merkle_builder_push(&mb, leaf);
	}
	merkle_builder_root(&mb, out);
}

void block_last_commit_hash(uint8_t out[BLOCK_HASH_LEN], const struct block *b)
{
	if (b->has_last_commit)
		commit_hash(out, &b->last_commit);
	else
		memset(out, 0, BLOCK_HASH_LEN);
}

enum block_result block_check_roots(const struct block *b)
{
	const struct header *h = &b->header;
	if (b->has_last_commit != (h->height > 1))
		return BLOCK_BAD_LAST_COMMIT;
	if (b->has_last_commit &&
	    (b->last_commit.height != h->height - 1 ||
	     memcmp(b->last_commit.block_hash, h->prev_hash, BLOCK_HASH_LEN) != 0))
		return BLOCK_BAD_LAST_COMMIT;
	uint8_t root[BLOCK_HASH_LEN];
	block_txs_root(root, b->txs, b->tx_lens, b->n_txs);
	if (memcmp(root, h->txs_root, BLOCK_HASH_LEN) != 0)
		return BLOCK_BAD_TXS_ROOT;
	block_last_commit_hash(root, b);
	if (memcmp(root, h->last_commit_hash, BLOCK_HASH_LEN) != 0)
		return BLOCK_BAD_LAST_COMMIT_HASH;
	return BLOCK_OK;
}

/* ---- Receipts ---------------------------------------------------------------------------- */

void receipt_encode(struct enc *e, const struct receipt *r)
{
	enc_raw(e, r->txid, TX_ID_LEN);
	enc_u8(e, r->result);
	enc_u128(e, r->fee);
	enc_u128(e, r->tip);
}

enum block_result receipt_decode(struct receipt *r, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	dec_raw(&d, r->txid, TX_ID_LEN);
	r->result = dec_u8(&d);
	r->fee = dec_u128(&d);
	r->tip = dec_u128(&d);
	return (enum block_result)dec_finish(&d);
}
