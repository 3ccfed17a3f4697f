/* RPC of the consensus side: the validator set, the machine's position, peers (net_info) and
 * reported equivocations (docs/rpc.md). */
#include <string.h>

#include "base/hex.h"
#include "chain/validators.h"
#include "node/node_int.h"

static const char *const step_names[] = {"propose", "prevote", "precommit", "decided"};

json_t *node_json_validators(struct node *n)
{
	struct valset vs;
	node_head_set_get(n, &vs);
	json_t *vals = json_array();
	for (size_t i = 0; vals && i < vs.n; i++)
		json_array_append_new(vals,
		                      json_pack("{s:o, s:o, s:I}", "address",
		                                node_json_account(n, vs.v[i].pub_key), "public_key",
		                                node_json_hex(vs.v[i].pub_key, 32), "power",
		                                (json_int_t)vs.v[i].power));
	return vals;
}

json_t *node_json_consensus(struct node *n)
{
	struct node_cs_status cs;
	pthread_mutex_lock(&n->status_lock);
	cs = n->cs;
	pthread_mutex_unlock(&n->status_lock);
	struct valset vs;
	size_t idx;
	node_head_set_get(n, &vs);
	bool validator = n->has_validator_key && valset_find(&vs, n->validator_pk, &idx);
	return json_pack("{s:I, s:i, s:s, s:b, s:o*}", "height", (json_int_t)cs.height, "round",
	                 (int)cs.round, "step", step_names[cs.step % 4], "validator", validator,
	                 "validator_key",
	                 n->has_validator_key ? node_json_hex(n->validator_pk, 32) : NULL);
}

/* The peers' committed heights, by connection id, as the engine last heard them. */
static uint64_t peer_height(struct node *n, uint64_t id, bool *known)
{
	uint64_t h = 0;
	*known = false;
	pthread_mutex_lock(&n->status_lock);
	for (size_t i = 0; i < NODE_PEERS_MAX; i++)
		if (n->peer_heights[i].peer == id) {
			h = n->peer_heights[i].height;
			*known = true;
		}
	pthread_mutex_unlock(&n->status_lock);
	return h;
}

static json_t *peer_json(struct node *n, const struct p2p_peer_info *p)
{
	bool known;
	uint64_t h = peer_height(n, p->id, &known);
	return json_pack("{s:I, s:o, s:s, s:s, s:b, s:b, s:o*, s:I, s:I, s:I}", "id",
	                 (json_int_t)p->id, "node_key", node_json_hex(p->key, 32), "address",
	                 p->addr, "listen", p->listen, "outbound", p->outbound, "persistent",
	                 p->persistent, "height", known ? json_integer((json_int_t)h) : NULL,
	                 "bytes_in", (json_int_t)p->bytes_in, "bytes_out", (json_int_t)p->bytes_out,
	                 "dropped", (json_int_t)p->dropped);
}

uint32_t node_cs_round(struct node *n)
{
	pthread_mutex_lock(&n->status_lock);
	uint32_t r = n->cs.round;
	pthread_mutex_unlock(&n->status_lock);
	return r;
}

size_t node_peer_count(struct node *n)
{
	return n->p2p ? p2p_peers(n->p2p, NULL, 0) : 0;
}

int node_m_net_info(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	struct p2p_peer_info peers[NODE_PEERS_MAX];
	size_t count = 0;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	if (n->p2p)
		count = p2p_peers(n->p2p, peers, NODE_PEERS_MAX);
	json_t *list = json_array();
	for (size_t i = 0; list && i < count && i < NODE_PEERS_MAX; i++)
		json_array_append_new(list, peer_json(n, &peers[i]));
	*result = json_pack("{s:b, s:i, s:o, s:I, s:o, s:o}", "listening", n->p2p != NULL,
	                    "listen_port", n->p2p ? (int)p2p_listen_port(n->p2p) : 0, "node_key",
	                    node_json_hex(n->node_pk, 32), "n_peers", (json_int_t)count, "peers",
	                    list, "consensus", node_json_consensus(n));
	return *result ? 0 : rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
}

static json_t *note_json(struct node *n, const struct node_evidence_note *e)
{
	static const uint8_t zero[32];
	return json_pack("{s:o, s:o*, s:o, s:s, s:I, s:i}", "id", node_json_hex(e->id, 32), "txid",
	                 memcmp(e->txid, zero, 32) ? node_json_hex(e->txid, 32) : NULL, "validator",
	                 node_json_account(n, e->pub_key), "type",
	                 e->type == VOTE_PREVOTE ? "prevote" : "precommit", "height",
	                 (json_int_t)e->height, "round", (int)e->round);
}

/* evidence_reported: the equivocations this node saw and reported since it started. */
int node_m_evidence_reported(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	struct node *n = app;
	if (rpc_params_check(params, NULL, 0, err))
		return -1;
	json_t *list = json_array();
	pthread_mutex_lock(&n->status_lock);
	size_t k = n->n_evidence < NODE_EVIDENCE_MEMORY ? n->n_evidence : NODE_EVIDENCE_MEMORY;
	for (size_t i = 0; list && i < k; i++)
		json_array_append_new(list, note_json(n, &n->evidence[i]));
	pthread_mutex_unlock(&n->status_lock);
	*result = list;
	return list ? 0 : rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
}

/* evidence_get [id]: the evidence committed on chain under that offence id. */
int node_m_evidence_get(void *app, json_t *params, json_t **result, struct rpc_error *err)
{
	static const char *const names[] = {"id"};
	struct node *n = app;
	const char *s;
	uint8_t id[32];
	struct validators_evidence_record rec;
	struct node_reader_ctx rc = {n->chain.smt, NULL};
	struct state_reader rd;
	if (rpc_params_check(params, names, 1, err) || rpc_param_string(params, 0, "id", &s, err))
		return -1;
	if (!hex_decode_exact(id, 32, s))
		return rpc_error_set(err, RPC_CODE_INVALID_PARAMS, "id must be 64 hex digits");
	if (bstore_begin(n->chain.store, false, &rc.txn) != BSTORE_OK)
		return rpc_error_set(err, RPC_STORAGE, "database read failed");
	node_reader(&rd, &rc);
	int r = validators_evidence_get(&rd, id, &rec);
	bstore_abort(rc.txn);
	if (r < 0)
		return rpc_error_set(err, RPC_STORAGE, "database read failed");
	if (r == 0)
		return rpc_error_set(err, RPC_NOT_FOUND, "no evidence with this id on chain");
	*result = json_pack("{s:I, s:o, s:o, s:s, s:I, s:i}", "committed_at",
	                    (json_int_t)rec.height, "reporter", node_json_account(n, rec.reporter),
	                    "validator", node_json_account(n, rec.ev.pub_key), "type",
	                    rec.ev.type == VOTE_PREVOTE ? "prevote" : "precommit", "height",
	                    (json_int_t)rec.ev.height, "round", (int)rec.ev.round);
	return *result ? 0 : rpc_error_set(err, RPC_CODE_INTERNAL_ERROR, "out of memory");
}
