/* Relaying and re-sending consensus messages (docs/protocol/node-p2p.md "Relaying"). A node
 * passes on, once, every proposal and vote of the height it decides whose signature verifies,
 * so validators reach each other through any connected graph of peers, not only a full mesh.
 * It keeps what it signed and what it passed on, and sends that again while the height is stuck:
 * the p2p layer loses queued messages when a link drops, and Algorithm 1 needs every message
 * between correct nodes to arrive eventually. */
#include <stdlib.h>
#include <string.h>

#include "node/node_int.h"

bool node_ring_init(struct node_ring *r, unsigned cap)
{
	r->slot = calloc(cap, sizeof(*r->slot));
	r->cap = r->slot ? cap : 0;
	r->next = 0;
	return r->slot != NULL;
}

void node_ring_clear(struct node_ring *r)
{
	for (unsigned i = 0; i < r->cap; i++) {
		free(r->slot[i].msg);
		memset(&r->slot[i], 0, sizeof(r->slot[i]));
	}
	r->next = 0;
}

void node_ring_release(struct node_ring *r)
{
	node_ring_clear(r);
	free(r->slot);
	r->slot = NULL;
	r->cap = 0;
}

/* Keeps a copy of msg, replacing the oldest entry when full; false when out of memory (the
 * message is then simply not kept: it was sent once already). */
static bool ring_keep(struct node_ring *r, const struct node_kept_key *key, const uint8_t *msg,
                      size_t len)
{
	struct node_kept_msg *k = &r->slot[r->next++ % r->cap];
	free(k->msg);
	k->msg = malloc(len);
	k->used = k->msg != NULL;
	if (!k->used)
		return false;
	memcpy(k->msg, msg, len);
	k->len = len;
	k->key = *key;
	return true;
}

static bool ring_has_key(const struct node_ring *r, const struct node_kept_key *key)
{
	for (unsigned i = 0; i < r->cap; i++)
		if (r->slot[i].used && r->slot[i].key.round == key->round &&
		    r->slot[i].key.kind == key->kind && r->slot[i].key.signer == key->signer)
			return true;
	return false;
}

static bool ring_has_bytes(const struct node_ring *r, const uint8_t *msg, size_t len)
{
	for (unsigned i = 0; i < r->cap; i++)
		if (r->slot[i].used && r->slot[i].len == len &&
		    memcmp(r->slot[i].msg, msg, len) == 0)
			return true;
	return false;
}

static void ring_resend(struct node *n, const struct node_ring *r, uint32_t round)
{
	for (unsigned i = 0; i < r->cap; i++)
		if (r->slot[i].used && r->slot[i].key.round + 1 >= round)
			node_broadcast(n, NODE_CH_CONS, r->slot[i].msg, r->slot[i].len);
}

void node_own_keep(struct node_engine *e, const struct node_kept_key *key, const uint8_t *msg,
                   size_t len)
{
	ring_keep(&e->own, key, msg, len);
}

void node_kept_clear(struct node_engine *e)
{
	node_ring_clear(&e->own);
	node_ring_clear(&e->relayed_proposals);
	node_ring_clear(&e->relayed_votes);
}

void node_kept_resend(struct node *n, uint32_t round)
{
	ring_resend(n, &n->eng->own, round);
	ring_resend(n, &n->eng->relayed_proposals, round);
	ring_resend(n, &n->eng->relayed_votes, round);
}

bool node_kept_echo(const struct node_engine *e, const uint8_t *msg, size_t len)
{
	return ring_has_bytes(&e->own, msg, len) || ring_has_bytes(&e->relayed_votes, msg, len) ||
	       ring_has_bytes(&e->relayed_proposals, msg, len);
}

/* Only the first message per (round, kind, signer) is passed on: an equivocating validator
 * cannot make honest nodes flood the network with its conflicting messages (its second vote
 * still reaches the machine here, and the evidence travels as a transaction). */
void node_relay(struct node *n, uint64_t from_peer, const struct node_kept_key *key,
                const uint8_t *msg, size_t len)
{
	struct node_engine *e = n->eng;
	struct node_ring *r =
	    key->kind == NODE_KEPT_PROPOSAL ? &e->relayed_proposals : &e->relayed_votes;
	if (ring_has_key(r, key))
		return;
	ring_keep(r, key, msg, len);
	if (n->p2p)
		p2p_broadcast(n->p2p, NODE_CH_CONS, msg, len, from_peer);
}
