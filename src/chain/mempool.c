/* Transaction pool: see mempool.h for the rules, mempool_int.h for the layout. */
#include "chain/mempool_int.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Freed tx copies are chained through their own first bytes and freed after the lock is
 * released, so critical sections never call free(). */
struct mempool_dead {
	struct mempool_dead *next;
};

static void dead_push(struct mempool_dead **list, uint8_t *bytes)
{
	struct mempool_dead *d = (struct mempool_dead *)(void *)bytes;
	d->next = *list;
	*list = d;
}

static void dead_free(struct mempool_dead *list)
{
	while (list) {
		struct mempool_dead *next = list->next;
		free(list);
		list = next;
	}
}

/* ---- priority arithmetic ---------------------------------------------------------------- */

/* Compares a * ma with b * mb exactly: the products can exceed 128 bits. */
static int wide_cmp(u128 a, uint64_t ma, u128 b, uint64_t mb)
{
	u128 alo = (u128)(uint64_t)a * ma, blo = (u128)(uint64_t)b * mb;
	u128 ahi = (u128)(uint64_t)(a >> 64) * ma + (alo >> 64);
	u128 bhi = (u128)(uint64_t)(b >> 64) * mb + (blo >> 64);
	if (ahi != bhi)
		return ahi < bhi ? -1 : 1;
	if ((uint64_t)alo != (uint64_t)blo)
		return (uint64_t)alo < (uint64_t)blo ? -1 : 1;
	return 0;
}

/* Fee per byte of entry a compared with fee / len, exactly. */
static int prio_cmp(const struct mempool_entry *a, u128 fee, uint32_t len)
{
	return wide_cmp(a->fee, len, fee, a->len);
}

/* Eviction order: lowest fee per byte first, then oldest. */
static bool evict_before(const struct mempool *mp, uint32_t a, uint32_t b)
{
	const struct mempool_entry *ea = &mp->entries[a], *eb = &mp->entries[b];
	int c = prio_cmp(ea, eb->fee, eb->len);
	return c < 0 || (c == 0 && ea->seq < eb->seq);
}

/* Reap order: highest fee per byte first, then earliest. */
static bool reap_before(const struct mempool *mp, uint32_t a, uint32_t b)
{
	const struct mempool_entry *ea = &mp->entries[a], *eb = &mp->entries[b];
	int c = prio_cmp(ea, eb->fee, eb->len);
	return c > 0 || (c == 0 && ea->seq < eb->seq);
}

/* ---- hash tables ------------------------------------------------------------------------- */

static uint32_t table_home(const struct mempool *mp, const struct mempool_table *t,
                           const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, 32, mp->hash_key);
	uint64_t v;
	memcpy(&v, h, sizeof(v));
	return (uint32_t)v & t->mask;
}

static const uint8_t *table_key(const struct mempool_table *t, uint32_t idx)
{
	return t->keys + (size_t)idx * t->stride;
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t table_probe(const struct mempool *mp, const struct mempool_table *t,
                            const uint8_t *key)
{
	uint32_t i = table_home(mp, t, key);
	while (t->slot[i] && memcmp(table_key(t, t->slot[i] - 1), key, 32) != 0)
		i = (i + 1) & t->mask;
	return i;
}

static uint32_t table_find(const struct mempool *mp, const struct mempool_table *t,
                           const uint8_t *key)
{
	return t->slot[table_probe(mp, t, key)] - 1; /* 0 - 1 wraps to MEMPOOL_NONE */
}

static void table_insert(const struct mempool *mp, struct mempool_table *t, uint32_t idx)
{
	uint32_t i = table_probe(mp, t, table_key(t, idx));
	assert(t->slot[i] == 0);
	t->slot[i] = idx + 1;
}

static void table_delete(const struct mempool *mp, struct mempool_table *t, uint32_t idx)
{
	uint32_t i = table_probe(mp, t, table_key(t, idx));
	assert(t->slot[i] == idx + 1);
	for (uint32_t j = (i + 1) & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
		uint32_t home = table_home(mp, t, table_key(t, t->slot[j] - 1));
		/* The entry at j may move back to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = 0;
}

static bool table_alloc(struct mempool_table *t, uint32_t n, const void *keys, size_t stride)
{
	uint32_t size = 16;
	while (size < 2 * (uint64_t)n)
		size *= 2;
	t->slot = calloc(size, sizeof(*t->slot));
	t->mask = size - 1;
	t->keys = keys;
	t->stride = stride;
	return t->slot != NULL;
}

/* ---- heaps ------------------------------------------------------------------------------- */

static void heap_set(struct mempool *mp, struct mempool_heap *h, uint32_t pos, uint32_t e)
{
	h->v[pos] = e;
	if (h->track)
		mp->entries[e].heap_pos = pos;
}

static void heap_sift(struct mempool *mp, struct mempool_heap *h, uint32_t pos)
{
	uint32_t e = h->v[pos];
	while (pos > 0 && h->before(mp, e, h->v[(pos - 1) / 2])) {
		heap_set(mp, h, pos, h->v[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	for (;;) {
		uint32_t c = 2 * pos + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->before(mp, h->v[c + 1], h->v[c]))
			c++;
		if (!h->before(mp, h->v[c], e))
			break;
		heap_set(mp, h, pos, h->v[c]);
		pos = c;
	}
	heap_set(mp, h, pos, e);
}

static void heap_push(struct mempool *mp, struct mempool_heap *h, uint32_t e)
{
	h->v[h->n++] = e;
	heap_sift(mp, h, h->n - 1);
}

static void heap_remove_at(struct mempool *mp, struct mempool_heap *h, uint32_t pos)
{
	assert(pos < h->n);
	uint32_t e = h->v[pos];
	uint32_t last = h->v[--h->n];
	if (pos < h->n) {
		h->v[pos] = last;
		heap_sift(mp, h, pos);
	}
	if (h->track)
		mp->entries[e].heap_pos = MEMPOOL_NONE;
}

static uint32_t heap_pop(struct mempool *mp, struct mempool_heap *h)
{
	if (h->n == 0)
		return MEMPOOL_NONE;
	uint32_t e = h->v[0];
	heap_remove_at(mp, h, 0);
	return e;
}

/* ---- seen cache -------------------------------------------------------------------------- */

static bool seen_has(const struct mempool *mp, const uint8_t txid[TX_ID_LEN])
{
	return table_find(mp, &mp->seen, txid) != MEMPOOL_NONE;
}

static void seen_add(struct mempool *mp, const uint8_t txid[TX_ID_LEN])
{
	if (seen_has(mp, txid))
		return;
	uint32_t i = mp->seen_head;
	if (mp->seen_n == mp->cfg.seen_cache)
		table_delete(mp, &mp->seen, i);
	else
		mp->seen_n++;
	memcpy(mp->seen_ring[i], txid, TX_ID_LEN);
	table_insert(mp, &mp->seen, i);
	mp->seen_head = (i + 1) % mp->cfg.seen_cache;
}

/* ---- entries and senders ----------------------------------------------------------------- */

static uint32_t *sender_slots(const struct mempool *mp, uint32_t s)
{
	return mp->slots + (size_t)s * mp->cfg.max_per_sender;
}

static struct mempool_entry *slot_entry(struct mempool *mp, uint32_t s, uint32_t i)
{
	return &mp->entries[sender_slots(mp, s)[i]];
}

static void entry_enqueue(struct mempool *mp, uint32_t e, uint8_t queue)
{
	struct mempool_entry *en = &mp->entries[e];
	en->queue = queue;
	mp->count[MEMPOOL_Q(queue)]++;
	mp->bytes[MEMPOOL_Q(queue)] += en->len;
	heap_push(mp, &mp->heap[MEMPOOL_Q(queue)], e);
}

static void entry_dequeue(struct mempool *mp, uint32_t e)
{
	struct mempool_entry *en = &mp->entries[e];
	int q = MEMPOOL_Q(en->queue);
	assert(en->queue == MEMPOOL_READY || en->queue == MEMPOOL_FUTURE);
	assert(mp->count[q] > 0 && mp->bytes[q] >= en->len);
	mp->count[q]--;
	mp->bytes[q] -= en->len;
	if (en->heap_pos != MEMPOOL_NONE)
		heap_remove_at(mp, &mp->heap[q], en->heap_pos);
	en->queue = 0;
}

/* Frees entry e (its bytes go on *dead); the caller fixes its sender's slots. */
static void entry_drop(struct mempool *mp, uint32_t e, bool seen, struct mempool_dead **dead)
{
	struct mempool_entry *en = &mp->entries[e];
	entry_dequeue(mp, e);
	table_delete(mp, &mp->by_id, e);
	if (seen)
		seen_add(mp, en->txid);
	dead_push(dead, en->bytes);
	en->bytes = NULL;
	en->doomed = false;
	mp->entry_free[mp->n_entry_free++] = e;
}

static uint32_t sender_create(struct mempool *mp, const uint8_t pk[TX_ACCOUNT_LEN], uint64_t nonce)
{
	assert(mp->n_sender_free > 0);
	uint32_t s = mp->sender_free[--mp->n_sender_free];
	struct mempool_sender *sd = &mp->senders[s];
	memset(sd, 0, sizeof(*sd));
	memcpy(sd->pk, pk, TX_ACCOUNT_LEN);
	sd->account_nonce = nonce;
	sd->used = true;
	table_insert(mp, &mp->by_sender, s);
	return s;
}

static void sender_release_if_empty(struct mempool *mp, uint32_t s)
{
	struct mempool_sender *sd = &mp->senders[s];
	if (sd->count > 0)
		return;
	table_delete(mp, &mp->by_sender, s);
	sd->used = false;
	mp->sender_free[mp->n_sender_free++] = s;
}

/* Drops the sender's entries from slot `from` on (a gap would strand the later ones), marking the
 * first one seen if asked; releases the sender if it is left empty. */
static void sender_cut(struct mempool *mp, uint32_t s, uint32_t from, bool seen_first,
                       struct mempool_dead **dead)
{
	struct mempool_sender *sd = &mp->senders[s];
	assert(from < sd->count);
	for (uint32_t i = from; i < sd->count; i++)
		entry_drop(mp, sender_slots(mp, s)[i], seen_first && i == from, dead);
	sd->count = from;
	if (sd->ready > from)
		sd->ready = from;
	sender_release_if_empty(mp, s);
}

/* Moves the future entries that now continue the ready prefix into the ready queue. */
static void sender_promote(struct mempool *mp, uint32_t s)
{
	struct mempool_sender *sd = &mp->senders[s];
	while (sd->ready < sd->count &&
	       slot_entry(mp, s, sd->ready)->tx.nonce == sd->account_nonce + sd->ready) {
		uint32_t e = sender_slots(mp, s)[sd->ready];
		entry_dequeue(mp, e);
		entry_enqueue(mp, e, MEMPOOL_READY);
		sd->ready++;
	}
}

/* Applies a new account nonce: entries below it were included or superseded (marked seen).
 * Returns whether the nonce advanced. The sender may be released. */
static bool sender_advance(struct mempool *mp, uint32_t s, uint64_t nonce,
                           struct mempool_dead **dead)
{
	struct mempool_sender *sd = &mp->senders[s];
	if (nonce <= sd->account_nonce)
		return false;
	uint32_t *sl = sender_slots(mp, s);
	uint32_t p = 0;
	while (p < sd->count && mp->entries[sl[p]].tx.nonce < nonce)
		entry_drop(mp, sl[p++], true, dead);
	memmove(sl, sl + p, (sd->count - p) * sizeof(*sl));
	sd->count -= p;
	sd->ready = p < sd->ready ? sd->ready - p : 0;
	sd->account_nonce = nonce;
	sender_promote(mp, s);
	sender_release_if_empty(mp, s);
	return true;
}

static uint32_t sender_index_of(struct mempool *mp, uint32_t s, uint32_t e)
{
	const uint32_t *sl = sender_slots(mp, s);
	for (uint32_t i = 0; i < mp->senders[s].count; i++)
		if (sl[i] == e)
			return i;
	assert(!"entry missing from its sender");
	return MEMPOOL_NONE;
}

/* Evicts the lowest-priority entries (with their senders' later nonces) until both queues are
 * within their caps; used after promotions, which no single add pays for. */
static void pool_enforce(struct mempool *mp, struct mempool_dead **dead)
{
	for (int q = 0; q < 2; q++) {
		while (mp->count[q] > mp->caps_count[q] || mp->bytes[q] > mp->caps_bytes[q]) {
			assert(mp->heap[q].n > 0);
			uint32_t e = mp->heap[q].v[0];
			uint32_t s = mp->entries[e].sender;
			sender_cut(mp, s, sender_index_of(mp, s, e), false, dead);
		}
	}
}

/* ---- making room for an add -------------------------------------------------------------- */

/* What an add needs from queue q: this many more txs and bytes (bytes may shrink). */
struct mempool_need {
	int q;
	int64_t count;
	int64_t bytes;
	u128 fee; /* the new tx's priority: victims must be strictly below fee / len */
	uint32_t len;
	uint32_t sender; /* never a victim: its entries are what the new tx builds on */
};

/* Dooms entry v and its sender's later entries; returns how much of queue q that frees. */
static void doom_run(struct mempool *mp, uint32_t v, struct mempool_need *need, uint32_t *nvict)
{
	uint32_t s = mp->entries[v].sender;
	mp->victims[(*nvict)++] = v;
	for (uint32_t i = sender_index_of(mp, s, v); i < mp->senders[s].count; i++) {
		struct mempool_entry *en = slot_entry(mp, s, i);
		if (en->doomed)
			continue;
		en->doomed = true;
		if (MEMPOOL_Q(en->queue) == need->q) {
			need->count--;
			need->bytes -= en->len;
		}
	}
}

static void undo_dooms(struct mempool *mp, uint32_t nvict)
{
	for (uint32_t k = 0; k < nvict; k++) {
		uint32_t s = mp->entries[mp->victims[k]].sender;
		for (uint32_t i = 0; i < mp->senders[s].count; i++)
			slot_entry(mp, s, i)->doomed = false;
	}
}

/* Picks victims off queue need->q's heap (a dry run: nothing is freed until enough room is
 * found, so a failed add leaves the pool as it was). On success evicts them. */
static bool make_room(struct mempool *mp, struct mempool_need *need, struct mempool_dead **dead)
{
	struct mempool_heap *h = &mp->heap[need->q];
	need->count -= (int64_t)mp->caps_count[need->q] - (int64_t)mp->count[need->q];
	need->bytes -= (int64_t)mp->caps_bytes[need->q] - (int64_t)mp->bytes[need->q];
	uint32_t npop = 0, nvict = 0;
	bool ok = true;
	while (need->count > 0 || need->bytes > 0) {
		uint32_t v = heap_pop(mp, h);
		if (v == MEMPOOL_NONE) {
			ok = false;
			break;
		}
		mp->popped[npop++] = v;
		const struct mempool_entry *en = &mp->entries[v];
		if (en->doomed || en->sender == need->sender)
			continue;
		if (prio_cmp(en, need->fee, need->len) >= 0) {
			ok = false;
			break;
		}
		doom_run(mp, v, need, &nvict);
	}
	for (uint32_t k = 0; k < npop; k++)
		if (!ok || !mp->entries[mp->popped[k]].doomed)
			heap_push(mp, h, mp->popped[k]);
	if (!ok) {
		undo_dooms(mp, nvict);
		return false;
	}
	for (uint32_t k = 0; k < nvict; k++) {
		uint32_t v = mp->victims[k];
		/* An earlier nonce of the same sender may have been cut already, taking v along. */
		if (mp->entries[v].queue != 0 && mp->entries[v].doomed) {
			uint32_t s = mp->entries[v].sender;
			sender_cut(mp, s, sender_index_of(mp, s, v), false, dead);
		}
	}
	return true;
}

/* ---- add --------------------------------------------------------------------------------- */

/* An add in progress: the caller's arguments plus the copy made before locking. */
struct mempool_add_args {
	const struct tx *tx;
	const uint8_t *txid;
	uint8_t *copy;
	uint32_t len;
	u128 fee;
	uint64_t account_nonce;
};

static void entry_fill(struct mempool *mp, uint32_t e, uint32_t s, const struct mempool_add_args *a,
                       const uint8_t *orig)
{
	struct mempool_entry *en = &mp->entries[e];
	en->tx = *a->tx;
	if (a->tx->payload_len > 0)
		en->tx.payload = a->copy + (a->tx->payload - orig);
	memcpy(en->txid, a->txid, TX_ID_LEN);
	en->bytes = a->copy;
	en->fee = a->fee;
	en->seq = mp->seq++;
	en->len = a->len;
	en->sender = s;
	en->heap_pos = MEMPOOL_NONE;
	en->doomed = false;
	table_insert(mp, &mp->by_id, e);
}

static enum mempool_result add_replace(struct mempool *mp, uint32_t s, uint32_t i,
                                       const struct mempool_add_args *a, const uint8_t *orig,
                                       struct mempool_dead **dead)
{
	uint32_t e = sender_slots(mp, s)[i];
	struct mempool_entry *old = &mp->entries[e];
	if (a->fee <= old->fee ||
	    wide_cmp(a->fee, 100, old->fee, 100 + (uint64_t)mp->cfg.min_fee_bump_percent) < 0)
		return MEMPOOL_FEE_BUMP_TOO_SMALL;
	uint8_t queue = old->queue;
	struct mempool_need need = {MEMPOOL_Q(queue), 0,      (int64_t)a->len - old->len,
	                            a->fee,           a->len, s};
	if (!make_room(mp, &need, dead))
		return MEMPOOL_FULL;
	entry_dequeue(mp, e);
	table_delete(mp, &mp->by_id, e);
	dead_push(dead, old->bytes);
	entry_fill(mp, e, s, a, orig);
	entry_enqueue(mp, e, queue);
	return MEMPOOL_OK;
}

static enum mempool_result add_new(struct mempool *mp, uint32_t s, uint32_t i,
                                   const struct mempool_add_args *a, const uint8_t *orig,
                                   struct mempool_dead **dead)
{
	struct mempool_sender *sd = &mp->senders[s];
	if (sd->count == mp->cfg.max_per_sender)
		return MEMPOOL_SENDER_FULL;
	bool ready = a->tx->nonce == sd->account_nonce + sd->ready;
	struct mempool_need need = {MEMPOOL_Q(MEMPOOL_FUTURE), 1, a->len, a->fee, a->len, s};
	if (ready) {
		/* Entries that the new tx joins to the ready prefix move from future to ready. */
		need.q = MEMPOOL_Q(MEMPOOL_READY);
		for (uint32_t k = i; k < sd->count; k++) {
			const struct mempool_entry *en = slot_entry(mp, s, k);
			if (en->tx.nonce != a->tx->nonce + 1 + (k - i))
				break;
			need.count++;
			need.bytes += en->len;
		}
	}
	if (!make_room(mp, &need, dead))
		return MEMPOOL_FULL;
	uint32_t e = mp->entry_free[--mp->n_entry_free];
	uint32_t *sl = sender_slots(mp, s);
	memmove(sl + i + 1, sl + i, (sd->count - i) * sizeof(*sl));
	sl[i] = e;
	sd->count++;
	entry_fill(mp, e, s, a, orig);
	entry_enqueue(mp, e, ready ? MEMPOOL_READY : MEMPOOL_FUTURE);
	if (ready) {
		sd->ready++;
		sender_promote(mp, s);
	}
	return MEMPOOL_OK;
}

/* Returns the sender's index after applying account_nonce, creating the sender if needed. */
static uint32_t add_sender(struct mempool *mp, const struct mempool_add_args *a,
                           struct mempool_dead **dead)
{
	uint32_t s = table_find(mp, &mp->by_sender, a->tx->sender);
	if (s != MEMPOOL_NONE && sender_advance(mp, s, a->account_nonce, dead)) {
		pool_enforce(mp, dead);
		s = table_find(mp, &mp->by_sender, a->tx->sender);
	}
	return s != MEMPOOL_NONE ? s : sender_create(mp, a->tx->sender, a->account_nonce);
}

static enum mempool_result add_locked(struct mempool *mp, const struct mempool_add_args *a,
                                      const uint8_t *orig, struct mempool_dead **dead,
                                      enum mempool_status *where)
{
	if (table_find(mp, &mp->by_id, a->txid) != MEMPOOL_NONE)
		return MEMPOOL_DUPLICATE;
	if (seen_has(mp, a->txid))
		return MEMPOOL_SEEN;
	if (a->tx->valid_until < mp->next_height)
		return MEMPOOL_EXPIRED;
	uint32_t s = add_sender(mp, a, dead);
	struct mempool_sender *sd = &mp->senders[s];
	uint64_t nonce = a->tx->nonce;
	enum mempool_result r;
	uint32_t i = 0;
	while (i < sd->count && slot_entry(mp, s, i)->tx.nonce < nonce)
		i++;
	if (nonce < sd->account_nonce)
		r = MEMPOOL_STALE_NONCE;
	else if (nonce - sd->account_nonce > mp->cfg.max_per_sender)
		r = MEMPOOL_NONCE_TOO_FAR;
	else if (i < sd->count && slot_entry(mp, s, i)->tx.nonce == nonce)
		r = add_replace(mp, s, i, a, orig, dead);
	else
		r = add_new(mp, s, i, a, orig, dead);
	if (r == MEMPOOL_OK)
		*where = slot_entry(mp, s, i)->queue;
	sender_release_if_empty(mp, s);
	return r;
}

enum mempool_result mempool_add(struct mempool *mp, const uint8_t *tx_bytes, size_t len,
                                const struct tx *decoded, const uint8_t txid[TX_ID_LEN],
                                uint64_t account_nonce, u128 priority_fee,
                                enum mempool_status *where)
{
	assert(mp && tx_bytes && decoded && txid && where);
	assert(len >= sizeof(struct mempool_dead) && len <= TX_MAX_BYTES);
	assert(decoded->payload_len == 0 ||
	       (decoded->payload >= tx_bytes && decoded->payload_len <= len &&
	        (size_t)(decoded->payload - tx_bytes) <= len - decoded->payload_len));
	struct mempool_add_args a = {decoded,       txid,         malloc(len),
	                             (uint32_t)len, priority_fee, account_nonce};
	if (!a.copy)
		return MEMPOOL_NOMEM;
	memcpy(a.copy, tx_bytes, len);
	struct mempool_dead *dead = NULL;
	pthread_mutex_lock(&mp->lock);
	enum mempool_result r = add_locked(mp, &a, tx_bytes, &dead, where);
	pthread_mutex_unlock(&mp->lock);
	if (r != MEMPOOL_OK)
		free(a.copy);
	dead_free(dead);
	return r;
}

/* ---- reap -------------------------------------------------------------------------------- */

size_t mempool_reap(struct mempool *mp, uint8_t *buf, size_t max_bytes, struct mempool_item *items,
                    size_t max_txs)
{
	assert(mp && (buf || max_bytes == 0) && (items || max_txs == 0));
	size_t n = 0, used = 0;
	pthread_mutex_lock(&mp->lock);
	struct mempool_heap *h = &mp->reap;
	h->n = 0;
	for (uint32_t s = 0; s < mp->cap; s++) {
		struct mempool_sender *sd = &mp->senders[s];
		if (sd->used && sd->ready > 0) {
			sd->reap_pos = 0;
			heap_push(mp, h, sender_slots(mp, s)[0]);
		}
	}
	while (n < max_txs && h->n > 0) {
		const struct mempool_entry *en = &mp->entries[heap_pop(mp, h)];
		if (en->len > max_bytes - used)
			continue; /* its later nonces cannot go without it */
		memcpy(buf + used, en->bytes, en->len);
		items[n].offset = used;
		items[n].len = en->len;
		memcpy(items[n].txid, en->txid, TX_ID_LEN);
		used += en->len;
		n++;
		struct mempool_sender *sd = &mp->senders[en->sender];
		if (++sd->reap_pos < sd->ready)
			heap_push(mp, h, sender_slots(mp, en->sender)[sd->reap_pos]);
	}
	pthread_mutex_unlock(&mp->lock);
	return n;
}

/* ---- update ------------------------------------------------------------------------------ */

static uint32_t update_snapshot(struct mempool *mp, uint64_t next_height)
{
	uint32_t n = 0;
	pthread_mutex_lock(&mp->lock);
	mp->next_height = next_height;
	for (uint32_t s = 0; s < mp->cap; s++)
		if (mp->senders[s].used)
			memcpy(mp->upd_pk[n++], mp->senders[s].pk, TX_ACCOUNT_LEN);
	pthread_mutex_unlock(&mp->lock);
	return n;
}

/* Drops each sender's first expired tx (marked seen) and everything after it. */
static void update_expire(struct mempool *mp, struct mempool_dead **dead)
{
	for (uint32_t s = 0; s < mp->cap; s++) {
		for (uint32_t i = 0; mp->senders[s].used && i < mp->senders[s].count; i++) {
			if (slot_entry(mp, s, i)->tx.valid_until < mp->next_height) {
				sender_cut(mp, s, i, true, dead);
				break;
			}
		}
	}
}

static void update_recheck(struct mempool *mp, mempool_recheck_fn recheck, void *ctx,
                           struct mempool_dead **dead)
{
	for (uint32_t s = 0; s < mp->cap; s++) {
		struct mempool_sender *sd = &mp->senders[s];
		if (!sd->used || !sd->touched)
			continue;
		sd->touched = false;
		for (uint32_t i = 0; recheck && i < sd->count; i++) {
			const struct mempool_entry *en = slot_entry(mp, s, i);
			if (!recheck(ctx, en->bytes, en->len, &en->tx)) {
				sender_cut(mp, s, i, false, dead);
				break;
			}
		}
	}
}

static void update_apply(struct mempool *mp, uint32_t n, mempool_recheck_fn recheck, void *ctx,
                         struct mempool_dead **dead)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t s = table_find(mp, &mp->by_sender, mp->upd_pk[k]);
		if (s == MEMPOOL_NONE)
			continue;
		if (!mp->upd_found[k])
			sender_cut(mp, s, 0, false, dead);
		else if (sender_advance(mp, s, mp->upd_nonce[k], dead) && mp->senders[s].used)
			mp->senders[s].touched = true;
	}
	update_expire(mp, dead);
	update_recheck(mp, recheck, ctx, dead);
	pool_enforce(mp, dead);
}

void mempool_update(struct mempool *mp, mempool_nonce_fn nonce, mempool_recheck_fn recheck,
                    void *ctx, uint64_t next_height)
{
	assert(mp && nonce);
	struct mempool_dead *dead = NULL;
	pthread_mutex_lock(&mp->update_lock);
	uint32_t n = update_snapshot(mp, next_height);
	/* State look-ups can be slow: adds proceed meanwhile; update_apply re-finds each sender. */
	for (uint32_t k = 0; k < n; k++)
		mp->upd_found[k] = nonce(ctx, mp->upd_pk[k], &mp->upd_nonce[k]);
	pthread_mutex_lock(&mp->lock);
	update_apply(mp, n, recheck, ctx, &dead);
	pthread_mutex_unlock(&mp->lock);
	pthread_mutex_unlock(&mp->update_lock);
	dead_free(dead);
}

/* ---- small queries ----------------------------------------------------------------------- */

void mempool_mark_seen(struct mempool *mp, const uint8_t txid[TX_ID_LEN])
{
	assert(mp && txid);
	pthread_mutex_lock(&mp->lock);
	seen_add(mp, txid);
	pthread_mutex_unlock(&mp->lock);
}

bool mempool_remove(struct mempool *mp, const uint8_t txid[TX_ID_LEN])
{
	assert(mp && txid);
	struct mempool_dead *dead = NULL;
	pthread_mutex_lock(&mp->lock);
	uint32_t e = table_find(mp, &mp->by_id, txid);
	if (e != MEMPOOL_NONE) {
		uint32_t s = mp->entries[e].sender;
		sender_cut(mp, s, sender_index_of(mp, s, e), false, &dead);
	}
	pthread_mutex_unlock(&mp->lock);
	dead_free(dead);
	return e != MEMPOOL_NONE;
}

bool mempool_get(struct mempool *mp, const uint8_t txid[TX_ID_LEN], struct mempool_info *info,
                 uint8_t *buf, size_t buf_cap)
{
	assert(mp && txid && info);
	pthread_mutex_lock(&mp->lock);
	uint32_t e = table_find(mp, &mp->by_id, txid);
	if (e != MEMPOOL_NONE) {
		const struct mempool_entry *en = &mp->entries[e];
		info->status = en->queue;
		info->nonce = en->tx.nonce;
		info->len = en->len;
		info->priority_fee = en->fee;
		if (buf && buf_cap >= en->len)
			memcpy(buf, en->bytes, en->len);
	}
	pthread_mutex_unlock(&mp->lock);
	return e != MEMPOOL_NONE;
}

void mempool_stats(struct mempool *mp, struct mempool_stats *out)
{
	assert(mp && out);
	pthread_mutex_lock(&mp->lock);
	out->ready_txs = mp->count[MEMPOOL_Q(MEMPOOL_READY)];
	out->ready_bytes = mp->bytes[MEMPOOL_Q(MEMPOOL_READY)];
	out->future_txs = mp->count[MEMPOOL_Q(MEMPOOL_FUTURE)];
	out->future_bytes = mp->bytes[MEMPOOL_Q(MEMPOOL_FUTURE)];
	out->senders = mp->cap - mp->n_sender_free;
	out->seen = mp->seen_n;
	pthread_mutex_unlock(&mp->lock);
}

uint64_t mempool_sender_next_nonce(struct mempool *mp, const uint8_t sender[TX_ACCOUNT_LEN],
                                   uint64_t account_nonce)
{
	assert(mp && sender);
	uint64_t next = account_nonce;
	pthread_mutex_lock(&mp->lock);
	uint32_t s = table_find(mp, &mp->by_sender, sender);
	if (s != MEMPOOL_NONE) {
		if (mp->senders[s].account_nonce > next)
			next = mp->senders[s].account_nonce;
		for (uint32_t i = 0; i < mp->senders[s].count; i++) {
			uint64_t n = slot_entry(mp, s, i)->tx.nonce;
			if (n > next)
				break;
			if (n == next)
				next++;
		}
	}
	pthread_mutex_unlock(&mp->lock);
	return next;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

void mempool_config_default(struct mempool_config *cfg)
{
	assert(cfg);
	*cfg = (struct mempool_config){
	    .ready_max_txs = 8192,
	    .ready_max_bytes = 20u << 20,
	    .future_max_txs = 512,
	    .future_max_bytes = 1u << 20,
	    .max_per_sender = 16,
	    .seen_cache = 65536,
	    .min_fee_bump_percent = 10,
	};
}

static const char *const mempool_messages[] = {
    [MEMPOOL_OK] = "ok",
    [MEMPOOL_DUPLICATE] = "transaction already pending",
    [MEMPOOL_SEEN] = "transaction already included or superseded",
    [MEMPOOL_STALE_NONCE] = "nonce below the account nonce (stale)",
    [MEMPOOL_NONCE_TOO_FAR] = "nonce too far ahead of the account nonce",
    [MEMPOOL_SENDER_FULL] = "too many pending transactions from this sender",
    [MEMPOOL_FEE_BUMP_TOO_SMALL] = "replacement fee bump too small",
    [MEMPOOL_FULL] = "transaction pool full and fee per byte too low to evict",
    [MEMPOOL_EXPIRED] = "transaction expired (valid_until below the next block height)",
    [MEMPOOL_NOMEM] = "out of memory",
};

const char *mempool_strerror(enum mempool_result r)
{
	if ((size_t)r < sizeof(mempool_messages) / sizeof(mempool_messages[0]) &&
	    mempool_messages[r])
		return mempool_messages[r];
	return "unknown mempool error";
}

static bool mempool_alloc(struct mempool *mp)
{
	uint32_t cap = mp->cap;
	mp->entries = calloc(cap, sizeof(*mp->entries));
	mp->entry_free = calloc(cap, sizeof(*mp->entry_free));
	mp->senders = calloc(cap, sizeof(*mp->senders));
	mp->slots = calloc((size_t)cap * mp->cfg.max_per_sender, sizeof(*mp->slots));
	mp->sender_free = calloc(cap, sizeof(*mp->sender_free));
	mp->seen_ring = calloc(mp->cfg.seen_cache, sizeof(*mp->seen_ring));
	mp->heap[0].v = calloc(cap, sizeof(uint32_t));
	mp->heap[1].v = calloc(cap, sizeof(uint32_t));
	mp->reap.v = calloc(cap, sizeof(uint32_t));
	mp->popped = calloc(cap, sizeof(*mp->popped));
	mp->victims = calloc(cap, sizeof(*mp->victims));
	mp->upd_pk = calloc(cap, sizeof(*mp->upd_pk));
	mp->upd_nonce = calloc(cap, sizeof(*mp->upd_nonce));
	mp->upd_found = calloc(cap, sizeof(*mp->upd_found));
	if (!(mp->entries && mp->entry_free && mp->senders && mp->slots && mp->sender_free &&
	      mp->seen_ring && mp->heap[0].v && mp->heap[1].v && mp->reap.v && mp->popped &&
	      mp->victims && mp->upd_pk && mp->upd_nonce && mp->upd_found))
		return false;
	return table_alloc(&mp->by_id, cap, mp->entries[0].txid, sizeof(*mp->entries)) &&
	       table_alloc(&mp->by_sender, cap, mp->senders[0].pk, sizeof(*mp->senders)) &&
	       table_alloc(&mp->seen, mp->cfg.seen_cache, mp->seen_ring[0], TX_ID_LEN);
}

enum mempool_result mempool_new(struct mempool **out, const struct mempool_config *cfg)
{
	assert(out && cfg);
	assert(cfg->ready_max_txs > 0 && cfg->future_max_txs > 0 && cfg->ready_max_bytes > 0 &&
	       cfg->future_max_bytes > 0 && cfg->max_per_sender > 0 && cfg->seen_cache > 0);
	assert((uint64_t)cfg->ready_max_txs + cfg->future_max_txs < (1u << 30));
	*out = NULL;
	if (sodium_init() < 0)
		return MEMPOOL_NOMEM;
	struct mempool *mp = calloc(1, sizeof(*mp));
	if (!mp)
		return MEMPOOL_NOMEM;
	mp->cfg = *cfg;
	mp->cap = cfg->ready_max_txs + cfg->future_max_txs + 1;
	pthread_mutex_init(&mp->lock, NULL);
	pthread_mutex_init(&mp->update_lock, NULL);
	if (!mempool_alloc(mp)) {
		mempool_free(mp);
		return MEMPOOL_NOMEM;
	}
	randombytes_buf(mp->hash_key, sizeof(mp->hash_key));
	for (uint32_t i = 0; i < mp->cap; i++) {
		mp->entry_free[i] = mp->cap - 1 - i;
		mp->sender_free[i] = mp->cap - 1 - i;
	}
	mp->n_entry_free = mp->n_sender_free = mp->cap;
	for (int q = 0; q < 2; q++) {
		mp->heap[q].track = true;
		mp->heap[q].before = evict_before;
	}
	mp->reap.before = reap_before;
	mp->caps_count[MEMPOOL_Q(MEMPOOL_READY)] = cfg->ready_max_txs;
	mp->caps_bytes[MEMPOOL_Q(MEMPOOL_READY)] = cfg->ready_max_bytes;
	mp->caps_count[MEMPOOL_Q(MEMPOOL_FUTURE)] = cfg->future_max_txs;
	mp->caps_bytes[MEMPOOL_Q(MEMPOOL_FUTURE)] = cfg->future_max_bytes;
	*out = mp;
	return MEMPOOL_OK;
}

void mempool_free(struct mempool *mp)
{
	if (!mp)
		return;
	for (uint32_t i = 0; mp->entries && i < mp->cap; i++)
		free(mp->entries[i].bytes);
	pthread_mutex_destroy(&mp->lock);
	pthread_mutex_destroy(&mp->update_lock);
	void *bufs[] = {mp->entries,     mp->entry_free, mp->senders,    mp->slots,
	                mp->sender_free, mp->seen_ring,  mp->heap[0].v,  mp->heap[1].v,
	                mp->reap.v,      mp->popped,     mp->victims,    mp->upd_pk,
	                mp->upd_nonce,   mp->upd_found,  mp->by_id.slot, mp->by_sender.slot,
	                mp->seen.slot};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		free(bufs[i]);
	free(mp);
}

/* ---- invariant checker (tests) ----------------------------------------------------------- */

#define INV(cond)                                                                                  \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			log_error("mempool", "invariant broken at line %d: %s", __LINE__, #cond);  \
			return false;                                                              \
		}                                                                                  \
	} while (0)

/* One sender: nonces strictly increasing from the account nonce, ready = the contiguous prefix.
 * Adds its entries to the per-queue tallies. */
static bool check_sender(struct mempool *mp, uint32_t s, size_t count[2], size_t bytes[2])
{
	const struct mempool_sender *sd = &mp->senders[s];
	INV(sd->count >= 1 && sd->count <= mp->cfg.max_per_sender && sd->ready <= sd->count);
	INV(table_find(mp, &mp->by_sender, sd->pk) == s && !sd->touched);
	for (uint32_t i = 0; i < sd->count; i++) {
		const struct mempool_entry *en = slot_entry(mp, s, i);
		uint64_t nonce = en->tx.nonce;
		INV(en->sender == s && memcmp(en->tx.sender, sd->pk, TX_ACCOUNT_LEN) == 0);
		INV(nonce >= sd->account_nonce &&
		    nonce - sd->account_nonce <= mp->cfg.max_per_sender);
		INV(i == 0 || nonce > slot_entry(mp, s, i - 1)->tx.nonce);
		INV(i < sd->ready ? nonce == sd->account_nonce + i : nonce > sd->account_nonce + i);
		INV(en->queue == (i < sd->ready ? MEMPOOL_READY : MEMPOOL_FUTURE));
		count[MEMPOOL_Q(en->queue)]++;
		bytes[MEMPOOL_Q(en->queue)] += en->len;
	}
	return true;
}

static bool check_entry(struct mempool *mp, uint32_t e)
{
	const struct mempool_entry *en = &mp->entries[e];
	if (en->queue == 0)
		return en->bytes == NULL && !en->doomed;
	const struct mempool_heap *h = &mp->heap[MEMPOOL_Q(en->queue)];
	INV(en->bytes != NULL && !en->doomed && mp->senders[en->sender].used);
	INV(table_find(mp, &mp->by_id, en->txid) == e);
	INV(en->heap_pos < h->n && h->v[en->heap_pos] == e);
	INV(en->tx.payload_len == 0 ||
	    (en->tx.payload >= en->bytes &&
	     en->tx.payload + en->tx.payload_len <= en->bytes + en->len));
	return true;
}

static bool check_tables(struct mempool *mp, size_t live, size_t senders)
{
	size_t n_id = 0, n_sender = 0, n_seen = 0;
	for (uint32_t i = 0; i <= mp->by_id.mask; i++)
		n_id += mp->by_id.slot[i] != 0;
	for (uint32_t i = 0; i <= mp->by_sender.mask; i++)
		n_sender += mp->by_sender.slot[i] != 0;
	for (uint32_t i = 0; i <= mp->seen.mask; i++)
		n_seen += mp->seen.slot[i] != 0;
	INV(n_id == live && n_sender == senders && n_seen == mp->seen_n);
	for (uint32_t i = 0; i < mp->seen_n; i++)
		INV(table_find(mp, &mp->seen, mp->seen_ring[i]) == i);
	return true;
}

static bool check_locked(struct mempool *mp)
{
	size_t count[2] = {0, 0}, bytes[2] = {0, 0}, senders = 0, live = 0;
	for (uint32_t s = 0; s < mp->cap; s++) {
		if (!mp->senders[s].used)
			continue;
		senders++;
		if (!check_sender(mp, s, count, bytes))
			return false;
	}
	for (uint32_t e = 0; e < mp->cap; e++) {
		live += mp->entries[e].queue != 0;
		if (!check_entry(mp, e))
			return false;
	}
	for (int q = 0; q < 2; q++) {
		const struct mempool_heap *h = &mp->heap[q];
		INV(count[q] == mp->count[q] && bytes[q] == mp->bytes[q] && h->n == count[q]);
		INV(count[q] <= mp->caps_count[q] && bytes[q] <= mp->caps_bytes[q]);
		for (uint32_t i = 1; i < h->n; i++)
			INV(!h->before(mp, h->v[i], h->v[(i - 1) / 2]));
	}
	INV(live == count[0] + count[1] && live + mp->n_entry_free == mp->cap);
	INV(senders + mp->n_sender_free == mp->cap);
	return check_tables(mp, live, senders);
}

bool mempool_check_invariants(struct mempool *mp)
{
	pthread_mutex_lock(&mp->lock);
	bool ok = check_locked(mp);
	pthread_mutex_unlock(&mp->lock);
	return ok;
}
