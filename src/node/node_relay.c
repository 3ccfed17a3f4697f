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

static void ring_clear(struct node_ring *r)
{
	for (unsigned i = 0; i < r->cap; i++) {
		free(r->slot[i].msg);
		memset(&r->slot[i], 0, sizeof(r->slot[i]));
	}
	r->next = 0;
}

void node_ring_release(struct node_ring *r)
{
	ring_clear(r);
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

/* The kept message with this key, or NULL. */
static const struct node_kept_msg *ring_find(const struct node_ring *r,
                                             const struct node_kept_key *key)
{
	for (unsigned i = 0; i < r->cap; i++)
		if (r->slot[i].used && r->slot[i].key.round == key->round &&
		    r->slot[i].key.kind == key->kind && r->slot[i].key.signer == key->signer)
			return &r->slot[i];
	return NULL;
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
	ring_clear(&e->own);
	ring_clear(&e->relayed_proposals);
	ring_clear(&e->relayed_votes);
}

void node_kept_resend(struct node *n, uint32_t round)
{
	ring_resend(n, &n->eng->own, round);
	ring_resend(n, &n->eng->relayed_proposals, round);
	ring_resend(n, &n->eng->relayed_votes, round);
}

static struct node_ring *relay_ring(struct node_engine *e, uint8_t kind)
{
	return kind == NODE_KEPT_PROPOSAL ? &e->relayed_proposals : &e->relayed_votes;
}

/* One message is kept per key, so an equivocating validator cannot make honest nodes flood the
 * network with its conflicting messages (its second vote still reaches the machine, and the
 * evidence travels as a transaction). */
enum node_kept_seen node_kept_lookup(struct node_engine *e, const struct node_kept_key *key,
                                     const uint8_t *msg, size_t len)
{
	const struct node_kept_msg *k = ring_find(&e->own, key);
	if (!k)
		k = ring_find(relay_ring(e, key->kind), key);
	if (!k)
		return NODE_KEPT_NEW;
	return k->len == len && memcmp(k->msg, msg, len) == 0 ? NODE_KEPT_SAME : NODE_KEPT_OTHER;
}

void node_relay(struct node *n, uint64_t from_peer, const struct node_kept_key *key,
                const uint8_t *msg, size_t len)
{
	ring_keep(relay_ring(n->eng, key->kind), key, msg, len);
	if (n->p2p)
		p2p_broadcast(n->p2p, NODE_CH_CONS, msg, len, from_peer);
}
