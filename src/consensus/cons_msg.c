/*
 * Consensus messages: wire codec, sign bytes and signature checks (docs/protocol/consensus.md).
 * Integers little-endian fixed width (base/codec.h); pol_round is an i32 in two's complement.
 */
#include <assert.h>
#include <string.h>

#include "consensus/cons_int.h"
#include "crypto/sig.h"

static const uint8_t zero_hash[BLOCK_HASH_LEN];

void cons_proposal_sign_bytes(uint8_t out[CONS_PROPOSAL_SIGN_BYTES_LEN], const uint8_t chain_id[32],
                              const struct cons_proposal *p)
{
	struct enc e;
	enc_init_fixed(&e, out, CONS_PROPOSAL_SIGN_BYTES_LEN);
	enc_raw(&e, CONS_PROPOSAL_TAG, sizeof(CONS_PROPOSAL_TAG) - 1);
	enc_raw(&e, chain_id, 32);
	enc_u64(&e, p->height);
	enc_u32(&e, p->round);
	enc_u32(&e, (uint32_t)p->pol_round);
	enc_raw(&e, p->block_hash, BLOCK_HASH_LEN);
	assert(enc_finish(&e) == CODEC_OK && e.len == CONS_PROPOSAL_SIGN_BYTES_LEN);
}

void cons_proposal_encode(struct enc *e, const struct cons_proposal *p)
{
	enc_u64(e, p->height);
	enc_u32(e, p->round);
	enc_u32(e, (uint32_t)p->pol_round);
	enc_raw(e, p->block_hash, BLOCK_HASH_LEN);
	enc_u16(e, p->proposer);
	enc_raw(e, p->sig, sizeof(p->sig));
}

enum codec_result cons_proposal_decode(struct cons_proposal *p, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	p->height = dec_u64(&d);
	p->round = dec_u32(&d);
	p->pol_round = (int32_t)dec_u32(&d);
	dec_raw(&d, p->block_hash, BLOCK_HASH_LEN);
	p->proposer = dec_u16(&d);
	dec_raw(&d, p->sig, sizeof(p->sig));
	bool pol_ok = p->pol_round >= CONS_ROUND_NONE && (int64_t)p->pol_round < (int64_t)p->round;
	if (!pol_ok || !memcmp(p->block_hash, zero_hash, BLOCK_HASH_LEN))
		dec_fail(&d, CODEC_NONCANONICAL); /* a proposal of nil proposes nothing */
	return dec_finish(&d);
}

void cons_vote_encode(struct enc *e, const struct cons_vote *v)
{
	enc_u8(e, v->type);
	enc_u64(e, v->height);
	enc_u32(e, v->round);
	enc_raw(e, v->block_hash, BLOCK_HASH_LEN);
	enc_u16(e, v->validator);
	enc_raw(e, v->sig, sizeof(v->sig));
}

static void vote_read(struct dec *d, struct cons_vote *v)
{
	v->type = dec_u8(d);
	v->height = dec_u64(d);
	v->round = dec_u32(d);
	dec_raw(d, v->block_hash, BLOCK_HASH_LEN);
	v->validator = dec_u16(d);
	dec_raw(d, v->sig, sizeof(v->sig));
	if (v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT)
		dec_fail(d, CODEC_NONCANONICAL);
}

enum codec_result cons_vote_decode(struct cons_vote *v, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	vote_read(&d, v);
	return dec_finish(&d);
}

void cons_evidence_encode(struct enc *e, const struct cons_evidence *ev)
{
	cons_vote_encode(e, &ev->a);
	cons_vote_encode(e, &ev->b);
}

/* One (validator, height, round, type), two block hashes in increasing order. */
static bool evidence_shape_ok(const struct cons_evidence *ev)
{
	const struct cons_vote *a = &ev->a, *b = &ev->b;
	return a->validator == b->validator && a->height == b->height && a->round == b->round &&
	       a->type == b->type && memcmp(a->block_hash, b->block_hash, BLOCK_HASH_LEN) < 0;
}

enum codec_result cons_evidence_decode(struct cons_evidence *ev, const uint8_t *b, size_t n)
{
	struct dec d;
	dec_init(&d, b, n);
	vote_read(&d, &ev->a);
	vote_read(&d, &ev->b);
	if (d.err == CODEC_OK && !evidence_shape_ok(ev))
		dec_fail(&d, CODEC_NONCANONICAL);
	return dec_finish(&d);
}

bool cons_proposal_verify(const struct valset *vs, const uint8_t chain_id[32],
                          const struct cons_proposal *p)
{
	if (p->proposer >= vs->n)
		return false;
	uint8_t msg[CONS_PROPOSAL_SIGN_BYTES_LEN];
	cons_proposal_sign_bytes(msg, chain_id, p);
	return sig_verify(p->sig, msg, sizeof(msg), vs->v[p->proposer].pub_key);
}

bool cons_vote_verify(const struct valset *vs, const uint8_t chain_id[32],
                      const struct cons_vote *v)
{
	if (v->validator >= vs->n || (v->type != VOTE_PREVOTE && v->type != VOTE_PRECOMMIT))
		return false;
	uint8_t msg[VOTE_SIGN_BYTES_LEN];
	vote_sign_bytes(msg, chain_id, v->type, v->height, v->round, v->block_hash);
	return sig_verify(v->sig, msg, sizeof(msg), vs->v[v->validator].pub_key);
}

bool cons_evidence_verify(const struct valset *vs, const uint8_t chain_id[32],
                          const struct cons_evidence *ev)
{
	return evidence_shape_ok(ev) && cons_vote_verify(vs, chain_id, &ev->a) &&
	       cons_vote_verify(vs, chain_id, &ev->b);
}

const char *cons_strerror(enum cons_result r)
{
	static const char *const msgs[] = {
	    [CONS_OK] = "ok",
	    [CONS_OLD] = "for a height or round already left",
	    [CONS_FUTURE] = "for a later height or a round too far ahead",
	    [CONS_DUPLICATE] = "duplicate message",
	    [CONS_EQUIVOCATION] = "conflicting vote from the same validator (equivocation)",
	    [CONS_NOT_PROPOSER] = "proposal not from the round's proposer",
	    [CONS_CONFLICTING_PROPOSAL] =
	        "a different proposal for this round was already received",
	    [CONS_BAD_INDEX] = "validator index outside the set",
	    [CONS_DECIDED] = "height already decided",
	};
	if ((unsigned)r < sizeof(msgs) / sizeof(msgs[0]) && msgs[r])
		return msgs[r];
	return "unknown consensus result";
}
