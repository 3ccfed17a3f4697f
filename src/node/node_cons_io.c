/* The engine's messages: own proposals and votes (signer guard, then WAL, then the network, then
 * the machine), peers' proposals and votes (authenticate, judge the block, WAL, machine), and
 * the replay of the WAL after a restart. Wire and WAL layouts: docs/protocol/node-p2p.md. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "node/node_int.h"

/* ---- WAL records -------------------------------------------------------------------------- */

static bool wal_put(struct node *n, uint8_t type, const uint8_t *p, size_t len, bool sync)
{
	if (n->eng->replaying)
		return true; /* the record is being read back */
	return wal_append(n->eng->wal, type, p, len, sync) == WAL_OK;
}

bool node_wal_value(struct node *n, uint32_t round, const uint8_t *block, size_t len)
{
	uint8_t *buf = malloc(4 + len);
	if (!buf)
		return false;
	struct enc e;
	enc_init_fixed(&e, buf, 4 + len);
	enc_u32(&e, round);
	enc_raw(&e, block, len);
	bool ok = enc_finish(&e) == CODEC_OK && wal_put(n, NODE_WAL_VALUE, buf, e.len, false);
	free(buf);
	return ok;
}

bool node_wal_timeout(struct node *n, uint8_t kind, uint64_t height, uint32_t round)
{
	uint8_t buf[13];
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	enc_u8(&e, kind);
	enc_u64(&e, height);
	enc_u32(&e, round);
	return enc_finish(&e) == CODEC_OK && wal_put(n, NODE_WAL_TIMEOUT, buf, e.len, false);
}

/* ---- wire messages ------------------------------------------------------------------------ */

/* valid u8 ‖ the wire proposal (NODE_MSG_PROPOSAL ‖ uleb plen ‖ proposal ‖ block): the WAL
 * record is the whole buffer, the network gets it from byte 1. NULL when out of memory. */
static uint8_t *proposal_msg(const struct cons_proposal *p, const uint8_t *block, size_t blen,
                             bool valid, size_t *len)
{
	struct node_msg m = {.channel = NODE_CH_CONS, .type = NODE_MSG_PROPOSAL, .proposal = *p};
	struct enc e;
	m.block = block;
	m.block_len = blen;
	enc_init(&e, 512 + blen);
	enc_u8(&e, valid);
	node_msg_encode(&e, &m);
	if (enc_finish(&e) != CODEC_OK) {
		enc_release(&e);
		return NULL;
	}
	*len = e.len;
	return e.buf;
}

/* The height a consensus message is for. */
static uint64_t msg_height(const struct node_msg *m)
{
	return m->type == NODE_MSG_PROPOSAL ? m->proposal.height : m->vote.height;
}

/* ---- own messages ------------------------------------------------------------------------- */

static bool sign(struct node *n, enum signer_step step, uint64_t height, uint32_t round,
                 const uint8_t *msg, size_t len, uint8_t sig[64])
{
	enum signer_result r = signer_sign(n->eng->signer, step, height, round, msg, len, sig);
	if (r == SIGNER_OK)
		return true;
	if (r == SIGNER_REGRESSION || r == SIGNER_DOUBLE_SIGN) {
		if (!n->eng->replaying) /* in a replay: signed and recorded before the crash */
			log_warn("consensus", "signer refused step %d of %llu/%u: %s", (int)step,
			         (unsigned long long)height, round, signer_strerror(r));
		return false;
	}
	node_engine_fail(n, signer_strerror(r));
	return false;
}

static uint8_t vote_kind(uint8_t vote_type)
{
	return vote_type == VOTE_PREVOTE ? NODE_KEPT_PREVOTE : NODE_KEPT_PRECOMMIT;
}

void node_send_proposal(struct node *n, const struct cons_proposal *tmpl)
{
	struct node_engine *e = n->eng;
	struct cons_proposal p = *tmpl;
	struct cons_outputs out = {0};
	uint8_t sb[CONS_PROPOSAL_SIGN_BYTES_LEN];
	size_t len;
	struct node_block_entry *b = node_block_find(e, p.block_hash);
	if (!b) {
		log_error("consensus", "no block for our proposal of %llu/%u",
		          (unsigned long long)p.height, p.round);
		return;
	}
	cons_proposal_sign_bytes(sb, n->chain.params.chain_id, &p);
	if (!sign(n, SIGNER_PROPOSAL, p.height, p.round, sb, sizeof(sb), p.sig))
		return;
	uint8_t *buf = proposal_msg(&p, b->bytes, b->len, true, &len);
	if (!buf || !wal_put(n, NODE_WAL_PROPOSAL, buf, len, true)) {
		free(buf);
		return node_engine_fail(n, "cannot record our proposal");
	}
	node_own_keep(e, &(struct node_kept_key){p.round, NODE_KEPT_PROPOSAL, p.proposer}, buf + 1,
	              len - 1);
	node_broadcast(n, NODE_CH_CONS, buf + 1, len - 1);
	free(buf);
	cons_on_proposal(e->cons, &p, true, &out);
	node_act(n, &out);
}

void node_send_vote(struct node *n, const struct cons_vote *tmpl)
{
	struct node_engine *e = n->eng;
	struct cons_vote v = *tmpl;
	struct cons_outputs out = {0};
	uint8_t sb[VOTE_SIGN_BYTES_LEN], buf[256];
	struct enc enc;
	vote_sign_bytes(sb, n->chain.params.chain_id, v.type, v.height, v.round, v.block_hash);
	enum signer_step step = v.type == VOTE_PREVOTE ? SIGNER_PREVOTE : SIGNER_PRECOMMIT;
	if (!sign(n, step, v.height, v.round, sb, sizeof(sb), v.sig))
		return;
	enc_init_fixed(&enc, buf, sizeof(buf));
	node_msg_encode(
	    &enc, &(struct node_msg){.channel = NODE_CH_CONS, .type = NODE_MSG_VOTE, .vote = v});
	if (enc_finish(&enc) != CODEC_OK || !wal_put(n, NODE_WAL_VOTE, buf, enc.len, true))
		return node_engine_fail(n, "cannot record our vote");
	node_own_keep(e, &(struct node_kept_key){v.round, vote_kind(v.type), v.validator}, buf,
	              enc.len);
	node_broadcast(n, NODE_CH_CONS, buf, enc.len);
	cons_on_vote(e->cons, &v, &out);
	node_act(n, &out);
}

/* ---- peers' messages ---------------------------------------------------------------------- */

/* valid(v): the cached verdict, or execute the block (it becomes the pending one). -1: fatal. */
static int judge(struct node *n, const struct cons_proposal *p, const uint8_t *block, size_t blen)
{
	struct node_engine *e = n->eng;
	struct node_block_entry *b = node_block_find(e, p->block_hash);
	if (b)
		return b->valid;
	node_chain_discard(&e->pending);
	struct node_chain_expect exp = {NULL, node_now_ms()};
	if (p->pol_round == CONS_ROUND_NONE) /* a fresh block is the round proposer's own */
		exp.proposer = n->chain.head.next.v[p->proposer].pub_key;
	enum node_chain_result r = node_chain_execute(&n->chain, block, blen, &exp, &e->pending);
	if (r == NODE_CHAIN_STORE || r == NODE_CHAIN_NOMEM) {
		node_engine_fail(n, node_chain_strerror(r));
		return -1;
	}
	if (r != NODE_CHAIN_OK)
		log_warn("consensus", "proposal %llu/%u is invalid: %s",
		         (unsigned long long)p->height, p->round, node_chain_strerror(r));
	if (!node_block_keep(e, p->block_hash, block, blen, r == NODE_CHAIN_OK)) {
		node_engine_fail(n, "out of memory");
		return -1;
	}
	return r == NODE_CHAIN_OK;
}

/* The relaying key of m, a proposal or vote of the current height. */
static struct node_kept_key msg_key(const struct node_msg *m)
{
	if (m->type == NODE_MSG_PROPOSAL)
		return (struct node_kept_key){m->proposal.round, NODE_KEPT_PROPOSAL,
		                              m->proposal.proposer};
	return (struct node_kept_key){m->vote.round, vote_kind(m->vote.type), m->vote.validator};
}

/* relay: the message's key when it is NEW to the kept rings, to be passed on once
 * authenticated; NULL otherwise. */
static void peer_proposal(struct node *n, const struct node_event *ev, const struct node_msg *m,
                          const struct node_kept_key *relay)
{
	const struct cons_proposal *p = &m->proposal;
	struct header h;
	uint8_t hash[32];
	size_t rlen;
	struct cons_outputs out = {0};
	if (!cons_proposal_verify(&n->chain.head.next, n->chain.params.chain_id, p) ||
	    header_decode(&h, m->block, HEADER_LEN) != BLOCK_OK)
		return;
	header_hash(hash, &h);
	if (memcmp(hash, p->block_hash, 32) != 0)
		return;
	if (relay)
		node_relay(n, ev->peer, relay, ev->data, ev->len);
	int valid = judge(n, p, m->block, m->block_len);
	if (valid < 0)
		return;
	uint8_t *rec = proposal_msg(p, m->block, m->block_len, valid, &rlen);
	if (!rec || !wal_put(n, NODE_WAL_PROPOSAL, rec, rlen, false)) {
		free(rec);
		return node_engine_fail(n, "cannot write the WAL");
	}
	free(rec);
	cons_on_proposal(n->eng->cons, p, valid, &out);
	node_act(n, &out);
}

static void peer_vote(struct node *n, const struct node_event *ev, const struct node_msg *m,
                      const struct node_kept_key *relay)
{
	const struct cons_vote *v = &m->vote;
	struct cons_outputs out = {0};
	if (!cons_vote_verify(&n->chain.head.next, n->chain.params.chain_id, v))
		return;
	if (relay)
		node_relay(n, ev->peer, relay, ev->data, ev->len);
	if (!wal_put(n, NODE_WAL_VOTE, ev->data, ev->len, false))
		return node_engine_fail(n, "cannot write the WAL");
	cons_on_vote(n->eng->cons, &m->vote, &out);
	node_act(n, &out);
}

bool node_on_cons_msg(struct node *n, struct node_event *ev)
{
	struct node_engine *e = n->eng;
	struct node_msg m;
	if (!node_msg_decode(&m, NODE_CH_CONS, ev->data, ev->len))
		return false;
	uint64_t h = msg_height(&m), next = n->chain.head.height + 1;
	if (e->height_started && h == e->height) {
		struct node_kept_key key = msg_key(&m);
		enum node_kept_seen seen = node_kept_lookup(e, &key, ev->data, ev->len);
		if (seen == NODE_KEPT_SAME)
			return false;
		const struct node_kept_key *relay = seen == NODE_KEPT_NEW ? &key : NULL;
		if (m.type == NODE_MSG_PROPOSAL)
			peer_proposal(n, ev, &m, relay);
		else
			peer_vote(n, ev, &m, relay);
		return false;
	}
	bool early = (!e->height_started && h == next) || (e->height_started && h == next + 1);
	if (!early || e->n_future == NODE_FUTURE_MSGS)
		return false;
	e->future[e->n_future++] = ev;
	return true;
}

/* ---- replay ------------------------------------------------------------------------------- */

/* valid u8 ‖ the wire proposal. */
static void replay_proposal(struct node *n, const uint8_t *r, size_t len)
{
	struct node_msg m;
	struct cons_outputs out = {0};
	if (len < 2 || !node_msg_decode(&m, NODE_CH_CONS, r + 1, len - 1) ||
	    m.type != NODE_MSG_PROPOSAL)
		return;
	if (!node_block_keep(n->eng, m.proposal.block_hash, m.block, m.block_len, r[0] != 0))
		return node_engine_fail(n, "out of memory");
	cons_on_proposal(n->eng->cons, &m.proposal, r[0] != 0, &out);
	node_act(n, &out);
}

static void replay_value(struct node *n, const uint8_t *r, size_t len)
{
	struct node_engine *e = n->eng;
	struct dec d;
	struct header h;
	uint8_t hash[32];
	struct cons_outputs out = {0};
	dec_init(&d, r, len);
	uint32_t round = dec_u32(&d);
	if (d.err || len - 4 < HEADER_LEN || header_decode(&h, r + 4, HEADER_LEN) != BLOCK_OK)
		return;
	header_hash(hash, &h);
	if (!node_block_keep(e, hash, r + 4, len - 4, true))
		return node_engine_fail(n, "out of memory");
	e->value_wanted = false;
	cons_on_value(e->cons, e->height, round, hash, &out);
	node_act(n, &out);
}

static void replay_record(struct node *n, const struct wal_record *rec)
{
	struct cons_outputs out = {0};
	struct node_msg m;
	struct dec d;
	switch (rec->type) {
	case NODE_WAL_PROPOSAL:
		return replay_proposal(n, rec->data, rec->len);
	case NODE_WAL_VALUE:
		return replay_value(n, rec->data, rec->len);
	case NODE_WAL_VOTE:
		if (node_msg_decode(&m, NODE_CH_CONS, rec->data, rec->len) &&
		    m.type == NODE_MSG_VOTE) {
			cons_on_vote(n->eng->cons, &m.vote, &out);
			node_act(n, &out);
		}
		return;
	case NODE_WAL_TIMEOUT:
		dec_init(&d, rec->data, rec->len);
		uint8_t kind = dec_u8(&d);
		uint64_t h = dec_u64(&d);
		uint32_t round = dec_u32(&d);
		if (dec_finish(&d) == CODEC_OK && kind <= CONS_TIMEOUT_PRECOMMIT) {
			cons_on_timeout(n->eng->cons, (enum cons_timeout)kind, h, round, &out);
			node_act(n, &out);
		}
		return;
	}
}

/* Resumes the height after the head: replays its WAL records if the log holds them (a restart
 * mid-height), else starts it afresh. */
void node_resume(struct node *n)
{
	struct node_engine *e = n->eng;
	struct wal_iter it;
	struct wal_record rec;
	uint64_t h = n->chain.head.height + 1;
	size_t count = 0;
	if (wal_iter_init(&it, e->wal, h) != WAL_OK) {
		if (wal_start_height(e->wal, h) != WAL_OK)
			return node_engine_fail(n, "cannot start the height in the WAL");
		return node_start_height(n);
	}
	e->replaying = true;
	node_start_height(n);
	while (!atomic_load(&n->failed) && wal_iter_next(&it, &rec) == WAL_OK) {
		replay_record(n, &rec);
		count++;
	}
	e->replaying = false;
	log_info("consensus", "replayed %zu WAL records of height %llu", count,
	         (unsigned long long)h);
	if (e->decide_deferred) {
		e->decide_deferred = false;
		node_decide(n, e->decide_round, e->decide_hash);
	} else if (e->value_wanted) {
		e->value_wanted = false;
		node_get_value(n, e->height, e->value_round);
	}
}
