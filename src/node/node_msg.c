/* The node's peer messages (node_msg.h). */
#include "node/node_msg.h"

#include <assert.h>
#include <string.h>

#include "chain/tx.h"

#define PROPOSAL_MAX_BYTES 256

/* PROPOSAL: uleb plen ‖ proposal [plen] ‖ block (the rest). */
static bool proposal_decode(struct node_msg *out, struct dec *d, const uint8_t *m, size_t len)
{
	size_t plen;
	const uint8_t *pb = dec_bytes(d, &plen, PROPOSAL_MAX_BYTES);
	if (!pb || cons_proposal_decode(&out->proposal, pb, plen) != CODEC_OK)
		return false;
	out->block = m + d->pos;
	out->block_len = len - d->pos;
	return out->block_len >= HEADER_LEN;
}

/* BLOCK: height u64 ‖ uleb len ‖ block [len] ‖ commit (the rest). */
static bool block_decode_msg(struct node_msg *out, struct dec *d, const uint8_t *m, size_t len)
{
	out->height = dec_u64(d);
	out->block = dec_bytes(d, &out->block_len, BLOCK_MAX_BYTES);
	if (!out->block || out->height == 0)
		return false;
	out->commit_bytes = m + d->pos;
	out->commit_len = len - d->pos;
	return commit_decode(&out->commit, out->commit_bytes, out->commit_len) == BLOCK_OK;
}

/* The fixed-size bodies: read, then no byte may be left. */
static bool fixed_decode(struct node_msg *out, struct dec *d)
{
	switch (out->type) {
	case NODE_MSG_STATUS:
		out->height = dec_u64(d);
		return dec_finish(d) == CODEC_OK;
	case NODE_MSG_GET_BLOCKS:
		out->height = dec_u64(d);
		out->count = dec_u16(d);
		return dec_finish(d) == CODEC_OK && out->height != 0 && out->count >= 1 &&
		       out->count <= NODE_SYNC_BATCH;
	}
	return false;
}

bool node_msg_decode(struct node_msg *out, uint8_t channel, const uint8_t *m, size_t len)
{
	struct dec d;
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return false;
	out->channel = channel;
	out->type = m[0];
	dec_init(&d, m + 1, len - 1);
	if (channel == NODE_CH_CONS && out->type == NODE_MSG_PROPOSAL)
		return proposal_decode(out, &d, m + 1, len - 1);
	if (channel == NODE_CH_CONS && out->type == NODE_MSG_VOTE)
		return cons_vote_decode(&out->vote, m + 1, len - 1) == CODEC_OK;
	if (channel == NODE_CH_SYNC && out->type == NODE_MSG_BLOCK)
		return block_decode_msg(out, &d, m + 1, len - 1);
	return channel == NODE_CH_SYNC && fixed_decode(out, &d);
}

void node_msg_encode(struct enc *e, const struct node_msg *m)
{
	uint8_t pb[PROPOSAL_MAX_BYTES];
	struct enc pe;
	enc_u8(e, m->type);
	if (m->channel == NODE_CH_CONS && m->type == NODE_MSG_PROPOSAL) {
		enc_init_fixed(&pe, pb, sizeof(pb));
		cons_proposal_encode(&pe, &m->proposal);
		enum codec_result r = enc_finish(&pe);
		assert(r == CODEC_OK); /* a proposal is far shorter than PROPOSAL_MAX_BYTES */
		(void)r;
		enc_bytes(e, pb, pe.len);
		enc_raw(e, m->block, m->block_len);
	} else if (m->channel == NODE_CH_CONS) {
		cons_vote_encode(e, &m->vote);
	} else if (m->type == NODE_MSG_BLOCK) {
		enc_u64(e, m->height);
		enc_bytes(e, m->block, m->block_len);
		enc_raw(e, m->commit_bytes, m->commit_len);
	} else {
		enc_u64(e, m->height);
		if (m->type == NODE_MSG_GET_BLOCKS)
			enc_u16(e, m->count);
	}
}

bool node_msg_hello_decode(const uint8_t *b, size_t len, uint64_t *height)
{
	struct dec d;
	dec_init(&d, b, len);
	*height = dec_u64(&d);
	return dec_finish(&d) == CODEC_OK;
}

size_t node_msg_tx_batch(struct dec *d, const uint8_t **txs, size_t *lens, size_t max)
{
	size_t n = 0;
	while (n < max && dec_remaining(d) > 0 && !d->err) {
		txs[n] = dec_bytes(d, &lens[n], TX_MAX_BYTES);
		if (!txs[n])
			break;
		n++;
	}
	return n;
}
