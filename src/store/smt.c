#include "store/smt.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "crypto/hash.h"
#include "store/smt_int.h"
#include "store/smt_proof.h"

#define DEFAULT_MAX_BATCH 1000000
#define DEFAULT_MAX_VALUE (1u << 20)
#define NAME_MAX_LEN      32

static const uint8_t meta_key[] = {'m'};

const char *smt_strerror(enum smt_result r)
{
	static const char *const msg[] = {
	    [SMT_OK] = "ok",
	    [SMT_NOT_FOUND] = "key not found",
	    [SMT_BAD_KEY] = "state key is empty or too long",
	    [SMT_TOO_LARGE] = "value, batch or proof above its limit",
	    [SMT_DUPLICATE_KEY] = "batch writes the same key twice",
	    [SMT_BAD_VERSION] = "state version does not increase",
	    [SMT_NOMEM] = "out of memory",
	    [SMT_MAP_FULL] = "LMDB map is full",
	    [SMT_TXN_FULL] = "LMDB transaction is full",
	    [SMT_CORRUPT] = "state tree is corrupt",
	    [SMT_DB] = "LMDB error",
	};
	if ((unsigned)r >= sizeof(msg) / sizeof(msg[0]))
		return "unknown state tree error";
	return msg[r];
}

/* Maps an LMDB error met while reading or writing tree data (MDB_NOTFOUND: a node is missing). */
static enum smt_result map_mdb(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return SMT_OK;
	case MDB_MAP_FULL:
		return SMT_MAP_FULL;
	case MDB_TXN_FULL:
		return SMT_TXN_FULL;
	case ENOMEM:
		return SMT_NOMEM;
	case MDB_NOTFOUND:
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		log_error("smt", "%s: %s", what, mdb_strerror(rc));
		return SMT_CORRUPT;
	default:
		log_error("smt", "%s: %s", what, mdb_strerror(rc));
		return SMT_DB;
	}
}

static bool key_ok(size_t klen)
{
	return klen >= 1 && klen <= SMT_KEY_MAX;
}

/* ---- keys and node encodings ---------------------------------------------------------------- */

static unsigned nibble(const uint8_t kp[32], unsigned i)
{
	return (kp[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* First depth nibbles of a and b equal? */
static bool prefix_eq(const uint8_t a[32], const uint8_t b[32], unsigned depth)
{
	return memcmp(a, b, depth / 2) == 0 &&
	       (depth % 2 == 0 || (a[depth / 2] ^ b[depth / 2]) < 0x10);
}

/* be64(ver) ‖ depth ‖ packed first depth nibbles of kp; returns the length. */
static size_t node_key(uint8_t *out, uint64_t ver, const uint8_t kp[32], unsigned depth)
{
	size_t nb = (depth + 1) / 2;
	put_be64(out, ver);
	out[8] = (uint8_t)depth;
	memcpy(out + 9, kp, nb);
	if (depth % 2)
		out[9 + nb - 1] &= 0xf0;
	return 9 + nb;
}

static void meta_encode(const struct meta *m, uint8_t out[50])
{
	struct enc e;
	enc_init_fixed(&e, out, 50);
	enc_u64(&e, m->version);
	enc_u8(&e, m->has_version);
	enc_u8(&e, m->root.kind);
	enc_u64(&e, m->root.ver);
	enc_raw(&e, m->root.hash, 32);
	assert(enc_finish(&e) == CODEC_OK && e.len == 50);
}

static enum smt_result meta_read(const struct smt *t, MDB_txn *txn, struct meta *m)
{
	memset(m, 0, sizeof(*m));
	MDB_val k = {sizeof(meta_key), (void *)meta_key}, v;
	int rc = mdb_get(txn, t->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return SMT_OK;
	if (rc != MDB_SUCCESS)
		return map_mdb(rc, "read meta");
	struct dec d;
	dec_init(&d, v.mv_data, v.mv_size);
	m->version = dec_u64(&d);
	m->has_version = dec_bool(&d);
	m->root.kind = dec_u8(&d);
	m->root.ver = dec_u64(&d);
	dec_raw(&d, m->root.hash, 32);
	if (dec_finish(&d) != CODEC_OK || m->root.kind > REF_INNER)
		return SMT_CORRUPT;
	m->root.depth = m->root.kind == REF_EMPTY ? NOT_STORED : 0;
	return SMT_OK;
}

static enum smt_result node_get(const struct smt *t, MDB_txn *txn, uint64_t ver,
                                const uint8_t kp[32], unsigned depth, MDB_val *v)
{
	uint8_t key[NODE_KEY_MAX];
	MDB_val k = {node_key(key, ver, kp, depth), key};
	return map_mdb(mdb_get(txn, t->nodes, &k, v), "read node");
}

static enum smt_result inner_decode(const MDB_val *v, struct inner *n)
{
	struct dec d;
	dec_init(&d, v->mv_data, v->mv_size);
	bool bad = dec_u8(&d) != REF_INNER;
	n->present = dec_u16(&d);
	n->leaves = dec_u16(&d);
	for (unsigned i = 0; i < 16; i++) {
		if (!(n->present >> i & 1))
			continue;
		n->ver[i] = dec_uleb(&d, UINT64_MAX);
		dec_raw(&d, n->hash[i], 32);
	}
	int count = __builtin_popcount(n->present);
	/* a node with one child that is a leaf, or none, would have been collapsed */
	bad |= (n->leaves & ~n->present) != 0 || count == 0 || (count == 1 && n->leaves);
	return bad || dec_finish(&d) != CODEC_OK ? SMT_CORRUPT : SMT_OK;
}

/* Fills the 16 child refs of a decoded node stored at nibble depth depth. */
static void inner_children(const struct inner *n, unsigned depth, struct ref ch[16])
{
	for (unsigned i = 0; i < 16; i++) {
		memset(&ch[i], 0, sizeof(ch[i]));
		ch[i].depth = NOT_STORED;
		if (!(n->present >> i & 1))
			continue;
		ch[i].kind = n->leaves >> i & 1 ? REF_LEAF : REF_INNER;
		ch[i].depth = (uint8_t)(depth + 1);
		ch[i].ver = n->ver[i];
		memcpy(ch[i].hash, n->hash[i], 32);
	}
}

static enum smt_result load_inner(const struct smt *t, MDB_txn *txn, const struct ref *r,
                                  const uint8_t kp[32], struct ref ch[16])
{
	MDB_val v;
	struct inner n;
	enum smt_result res = node_get(t, txn, r->ver, kp, r->depth, &v);
	if (res == SMT_OK)
		res = inner_decode(&v, &n);
	if (res == SMT_OK)
		inner_children(&n, r->depth, ch);
	return res;
}

/* Reads the contents of the leaf r, stored on the path of kp; checks that it belongs there. */
static enum smt_result load_leaf(const struct smt *t, MDB_txn *txn, struct ref *r,
                                 const uint8_t kp[32])
{
	MDB_val v;
	enum smt_result res = node_get(t, txn, r->ver, kp, r->depth, &v);
	if (res != SMT_OK)
		return res;
	const uint8_t *p = v.mv_data;
	if (v.mv_size != LEAF_VAL_LEN || p[0] != REF_LEAF)
		return SMT_CORRUPT;
	memcpy(r->kp, p + 1, 32);
	memcpy(r->vh, p + 33, 32);
	uint8_t h[32];
	smt_hash_leaf(h, r->kp, r->vh);
	if (memcmp(h, r->hash, 32) != 0 || !prefix_eq(kp, r->kp, r->depth))
		return SMT_CORRUPT;
	r->loaded = true;
	return SMT_OK;
}

/*
 * Hash of the binary subtree over children [lo, lo+size) of one node, with the tree's collapse
 * rules; returns its kind (a range whose only non-empty child is a leaf is that leaf).
 */
static enum ref_kind range_hash(const struct ref ch[16], unsigned lo, unsigned size,
                                uint8_t out[32], uint64_t *hashes)
{
	if (size == 1) {
		if (ch[lo].kind == REF_EMPTY)
			memset(out, 0, 32);
		else
			memcpy(out, ch[lo].hash, 32);
		return ch[lo].kind;
	}
	uint8_t l[32], r[32];
	enum ref_kind lk = range_hash(ch, lo, size / 2, l, hashes);
	enum ref_kind rk = range_hash(ch, lo + size / 2, size / 2, r, hashes);
	if (lk == REF_EMPTY && rk != REF_INNER) {
		memcpy(out, r, 32);
		return rk;
	}
	if (rk == REF_EMPTY && lk == REF_LEAF) {
		memcpy(out, l, 32);
		return lk;
	}
	smt_hash_inner(out, l, r);
	++*hashes;
	return REF_INNER;
}

static void ref_empty(struct ref *r)
{
	memset(r, 0, sizeof(*r));
	r->depth = NOT_STORED;
}

/* Same stored node (or both empty)? A pending leaf is never the same as a stored one. */
static bool ref_same(const struct ref *a, const struct ref *b)
{
	if (a->kind != b->kind)
		return false;
	return a->kind == REF_EMPTY ||
	       (a->depth == b->depth && a->ver == b->ver && memcmp(a->hash, b->hash, 32) == 0);
}

static void set_nibble(uint8_t kp[32], unsigned i, unsigned v)
{
	if (i % 2)
		kp[i / 2] = (uint8_t)((kp[i / 2] & 0xf0) | v);
	else
		kp[i / 2] = (uint8_t)((kp[i / 2] & 0x0f) | v << 4);
}

/* ---- smt_apply: one recursive pass over the batch sorted by key path ------------------------ */

struct ctx {
	struct smt *t;
	MDB_txn *txn;
	uint64_t ver;
	enum smt_result err; /* first error; later steps become no-ops */
};

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elem);
	if (!np)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

/* Queues key -> val[0..vlen) for db; the key is written by the caller into the returned put. */
static struct put *queue(struct ctx *c, enum put_db db, const void *val, size_t vlen)
{
	struct smt *t = c->t;
	if (c->err != SMT_OK)
		return NULL;
	if (!grow((void **)&t->puts, &t->puts_cap, t->nputs + 1, sizeof(*t->puts)) ||
	    !grow((void **)&t->arena, &t->acap, t->alen + vlen, 1)) {
		c->err = SMT_NOMEM;
		return NULL;
	}
	struct put *p = &t->puts[t->nputs++];
	p->db = db;
	p->vlen = (uint16_t)vlen;
	p->voff = (uint32_t)t->alen;
	if (vlen)
		memcpy(t->arena + t->alen, val, vlen);
	t->alen += vlen;
	return p;
}

static void queue_node(struct ctx *c, const uint8_t kp[32], unsigned depth, const void *val,
                       size_t vlen)
{
	struct put *p = queue(c, PUT_NODES, val, vlen);
	if (p) {
		p->klen = (uint8_t)node_key(p->key, c->ver, kp, depth);
		c->t->st.nodes_written++;
	}
}

/* Records that node (ver, path of kp at depth) is not part of version c->ver. */
static void queue_stale(struct ctx *c, uint64_t ver, const uint8_t kp[32], unsigned depth)
{
	struct put *p = queue(c, PUT_STALE, NULL, 0);
	if (p) {
		put_be64(p->key, c->ver);
		p->klen = (uint8_t)(8 + node_key(p->key + 8, ver, kp, depth));
		c->t->st.nodes_stale++;
	}
}

/* Writes leaf r at nibble depth depth of this version, retiring its previous copy if any. */
static void place_leaf(struct ctx *c, struct ref *r, unsigned depth)
{
	assert(r->kind == REF_LEAF && r->loaded);
	uint8_t val[LEAF_VAL_LEN];
	val[0] = REF_LEAF;
	memcpy(val + 1, r->kp, 32);
	memcpy(val + 33, r->vh, 32);
	queue_node(c, r->kp, depth, val, sizeof(val));
	if (r->depth != NOT_STORED)
		queue_stale(c, r->ver, r->kp, r->depth);
	r->depth = (uint8_t)depth;
	r->ver = c->ver;
}

static size_t inner_encode(const struct ref ch[16], uint8_t out[INNER_VAL_MAX])
{
	uint16_t present = 0, leaves = 0;
	for (unsigned i = 0; i < 16; i++) {
		present |= (uint16_t)((ch[i].kind != REF_EMPTY) << i);
		leaves |= (uint16_t)((ch[i].kind == REF_LEAF) << i);
	}
	struct enc e;
	enc_init_fixed(&e, out, INNER_VAL_MAX);
	enc_u8(&e, REF_INNER);
	enc_u16(&e, present);
	enc_u16(&e, leaves);
	for (unsigned i = 0; i < 16; i++) {
		if (ch[i].kind == REF_EMPTY)
			continue;
		enc_uleb(&e, ch[i].ver);
		enc_raw(&e, ch[i].hash, 32);
	}
	assert(enc_finish(&e) == CODEC_OK);
	return e.len;
}

/*
 * Turns the new children of the node at nibble depth d (on the path of kp) into that node:
 * nothing, a lone leaf handed up for the parent to place, or a new internal node.
 */
static void finish_inner(struct ctx *c, unsigned d, struct ref ch[16], const uint8_t kp[32],
                         struct ref *out)
{
	unsigned count = 0, only = 0;
	for (unsigned i = 0; i < 16; i++)
		if (ch[i].kind != REF_EMPTY)
			count++, only = i;
	if (count == 0 || c->err != SMT_OK) {
		ref_empty(out);
		return;
	}
	if (count == 1 && ch[only].kind == REF_LEAF) {
		*out = ch[only];
		if (!out->loaded) {
			uint8_t path[32];
			memcpy(path, kp, 32);
			set_nibble(path, d, only);
			c->err = load_leaf(c->t, c->txn, out, path);
			c->t->st.nodes_read++;
		}
		return;
	}
	for (unsigned i = 0; i < 16; i++)
		if (ch[i].kind == REF_LEAF && ch[i].depth != d + 1)
			place_leaf(c, &ch[i], d + 1);
	uint8_t val[INNER_VAL_MAX];
	size_t vlen = inner_encode(ch, val);
	queue_node(c, kp, d, val, vlen);
	ref_empty(out);
	out->kind = REF_INNER;
	out->depth = (uint8_t)d;
	out->ver = c->ver;
	range_hash(ch, 0, 16, out->hash, &c->t->st.hashes);
}

static void new_leaf(struct ctx *c, const struct item *it, struct ref *out)
{
	ref_empty(out);
	out->kind = REF_LEAF;
	out->loaded = true;
	memcpy(out->kp, it->kp, 32);
	memcpy(out->vh, it->vh, 32);
	smt_hash_leaf(out->hash, out->kp, out->vh);
	c->t->st.hashes++;
}

/* End of the run of items in [lo, hi) whose nibble d equals that of item lo. */
static size_t run_end(const struct item *it, unsigned d, size_t lo, size_t hi)
{
	unsigned nib = nibble(it[lo].kp, d);
	size_t j = lo + 1;
	while (j < hi && nibble(it[j].kp, d) == nib)
		j++;
	return j;
}

/* Builds the subtree at depth d from scratch: the live items of [lo, hi) plus leaf L if any. */
static void build(struct ctx *c, unsigned d, size_t lo, size_t hi, const struct ref *L,
                  struct ref *out)
{
	const struct item *it = c->t->items;
	size_t n = L->kind == REF_LEAF, last = lo;
	for (size_t i = lo; i < hi; i++)
		if (it[i].live)
			n++, last = i;
	if (n <= 1) {
		if (L->kind == REF_LEAF)
			*out = *L;
		else if (n == 1)
			new_leaf(c, &it[last], out);
		else
			ref_empty(out);
		return;
	}
	assert(d < SMT_NIBBLES);
	struct ref ch[16], none;
	ref_empty(&none);
	for (unsigned nib = 0; nib < 16; nib++) {
		size_t j = lo < hi && nibble(it[lo].kp, d) == nib ? run_end(it, d, lo, hi) : lo;
		bool has_l = L->kind == REF_LEAF && nibble(L->kp, d) == nib;
		build(c, d + 1, lo, j, has_l ? L : &none, &ch[nib]);
		lo = j;
	}
	finish_inner(c, d, ch, L->kind == REF_LEAF ? L->kp : it[last].kp, out);
}

/*
 * Resolves the existing leaf L at the top of a leaf-or-empty region against the batch: a write of
 * the same value makes that write a no-op; any other write or delete of its key retires L.
 */
static void absorb_leaf(struct ctx *c, struct ref *L, size_t lo, size_t hi)
{
	struct item *it = c->t->items;
	if (!L->loaded) {
		enum smt_result r = load_leaf(c->t, c->txn, L, it[lo].kp);
		c->t->st.nodes_read++;
		if (r != SMT_OK) {
			c->err = r;
			return;
		}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = memcmp(it[mid].kp, L->kp, 32);
		if (cmp == 0) {
			if (it[mid].live && memcmp(it[mid].vh, L->vh, 32) == 0) {
				it[mid].live = false;
			} else {
				queue_stale(c, L->ver, L->kp, L->depth);
				ref_empty(L);
			}
			return;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
}

static void update(struct ctx *c, unsigned d, const struct ref *cur, size_t lo, size_t hi,
                   struct ref *out);

static void update_inner(struct ctx *c, unsigned d, const struct ref *cur, size_t lo, size_t hi,
                         struct ref *out)
{
	const struct item *it = c->t->items;
	struct ref ch[16];
	c->err = load_inner(c->t, c->txn, cur, it[lo].kp, ch);
	c->t->st.nodes_read++;
	*out = *cur;
	if (c->err != SMT_OK)
		return;
	bool changed = false;
	for (size_t i = lo, j; i < hi; i = j) {
		j = run_end(it, d, i, hi);
		unsigned nib = nibble(it[i].kp, d);
		struct ref nr;
		update(c, d + 1, &ch[nib], i, j, &nr);
		changed |= !ref_same(&ch[nib], &nr);
		ch[nib] = nr;
	}
	if (!changed || c->err != SMT_OK)
		return;
	queue_stale(c, cur->ver, it[lo].kp, d);
	finish_inner(c, d, ch, it[lo].kp, out);
}

/* The new version of subtree cur (at nibble depth d) after the items [lo, hi), lo < hi. */
static void update(struct ctx *c, unsigned d, const struct ref *cur, size_t lo, size_t hi,
                   struct ref *out)
{
	if (c->err != SMT_OK) {
		*out = *cur;
		return;
	}
	if (cur->kind == REF_INNER) {
		update_inner(c, d, cur, lo, hi, out);
		return;
	}
	struct ref L = *cur;
	if (L.kind == REF_LEAF)
		absorb_leaf(c, &L, lo, hi);
	if (c->err != SMT_OK)
		*out = *cur;
	else
		build(c, d, lo, hi, &L, out);
}

static int item_cmp(const void *a, const void *b)
{
	return memcmp(((const struct item *)a)->kp, ((const struct item *)b)->kp, 32);
}

/* LMDB's default key order: bytes, then the shorter key first. */
static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);
	return r ? r : (alen > blen) - (alen < blen);
}

static int write_cmp(const void *a, const void *b)
{
	const struct kv_write *x = *(const struct kv_write *const *)a;
	const struct kv_write *y = *(const struct kv_write *const *)b;
	return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

static int put_cmp(const void *a, const void *b)
{
	const struct put *x = *(struct put *const *)a, *y = *(struct put *const *)b;
	if (x->db != y->db)
		return x->db - y->db;
	return bytes_cmp(x->key, x->klen, y->key, y->klen);
}

/* Validates and hashes the batch into t->items (sorted by key path) and t->order (by key). */
static enum smt_result prepare(struct smt *t, const struct kv_write *w, size_t n)
{
	if (n > t->cfg.max_batch)
		return SMT_TOO_LARGE;
	if (n == 0)
		return SMT_OK;

	if (!grow((void **)&t->items, &t->items_cap, n, sizeof(*t->items)) ||
	    !grow((void **)&t->order, &t->order_cap, n, sizeof(*t->order)))
		return SMT_NOMEM;
	for (size_t i = 0; i < n; i++) {
		assert(w[i].key || w[i].klen == 0);
		if (!key_ok(w[i].klen))

			return SMT_BAD_KEY;
		if (w[i].value && w[i].vlen > t->cfg.max_value)
			return SMT_TOO_LARGE;
		struct item *it = &t->items[i];
		it->w = &w[i];
		it->live = w[i].value != NULL;
		hash_tagged(it->kp, SMT_TAG_KEY, w[i].key, w[i].klen);
		if (it->live)
			hash_tagged(it->vh, SMT_TAG_VALUE, w[i].value, w[i].vlen);
		t->st.hashes += 1 + it->live;
		t->order[i] = &w[i];
	}
	qsort(t->items, n, sizeof(*t->items), item_cmp);
	for (size_t i = 1; i < n; i++)
		if (memcmp(t->items[i - 1].kp, t->items[i].kp, 32) == 0)
			return SMT_DUPLICATE_KEY;
	qsort(t->order, n, sizeof(*t->order), write_cmp);
	return SMT_OK;
}

/* The flat table, in key order so LMDB touches each page once. */
static enum smt_result write_flat(struct smt *t, MDB_txn *txn, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct kv_write *w = t->order[i];
		MDB_val k = {w->klen, (void *)w->key};
		int rc;
		if (w->value) {
			MDB_val v = {w->vlen, (void *)w->value};
			rc = mdb_put(txn, t->flat, &k, &v, 0);
		} else {
			rc = mdb_del(txn, t->flat, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = MDB_SUCCESS;
		}
		if (rc != MDB_SUCCESS)
			return map_mdb(rc, "write flat table");
	}
	return SMT_OK;
}

/* Appends the queued nodes and stale records: all keys start with the new version. */
static enum smt_result write_puts(struct smt *t, MDB_txn *txn)
{
	if (!grow((void **)&t->sorted, &t->sorted_cap, t->nputs, sizeof(*t->sorted)))
		return SMT_NOMEM;
	for (size_t i = 0; i < t->nputs; i++)
		t->sorted[i] = &t->puts[i];
	if (t->nputs > 0)
		qsort(t->sorted, t->nputs, sizeof(*t->sorted), put_cmp);
	MDB_cursor *cur[2] = {NULL, NULL};
	int rc = mdb_cursor_open(txn, t->nodes, &cur[PUT_NODES]);
	if (rc == MDB_SUCCESS)
		rc = mdb_cursor_open(txn, t->stale, &cur[PUT_STALE]);
	for (size_t i = 0; i < t->nputs && rc == MDB_SUCCESS; i++) {
		struct put *p = t->sorted[i];
		MDB_val k = {p->klen, p->key}, v = {p->vlen, t->arena + p->voff};
		rc = mdb_cursor_put(cur[p->db], &k, &v, MDB_APPEND);
	}
	for (int i = 0; i < 2; i++)
		if (cur[i])
			mdb_cursor_close(cur[i]);
	/* MDB_KEYEXIST from MDB_APPEND: a node of this version already exists */
	return rc == MDB_KEYEXIST ? SMT_CORRUPT : map_mdb(rc, "write tree nodes");
}

static enum smt_result meta_write(const struct smt *t, MDB_txn *txn, const struct meta *m)
{
	uint8_t buf[50];
	meta_encode(m, buf);
	MDB_val k = {sizeof(meta_key), (void *)meta_key}, v = {sizeof(buf), buf};
	return map_mdb(mdb_put(txn, t->meta, &k, &v, 0), "write meta");
}

enum smt_result smt_apply(struct smt *t, MDB_txn *wtxn, uint64_t new_version,
                          const struct kv_write *writes, size_t n, uint8_t root_out[SMT_HASH_LEN])
{
	assert(t && wtxn && (writes || n == 0) && root_out);
	struct meta m;
	enum smt_result r = meta_read(t, wtxn, &m);
	if (r == SMT_OK && m.has_version && new_version <= m.version)
		r = SMT_BAD_VERSION;
	if (r == SMT_OK)
		r = prepare(t, writes, n);
	if (r != SMT_OK)
		return r;
	struct ctx c = {t, wtxn, new_version, SMT_OK};
	t->nputs = 0;
	t->alen = 0;
	struct ref root = m.root;
	if (n > 0)
		update(&c, 0, &m.root, 0, n, &root);
	if (c.err == SMT_OK && root.kind == REF_LEAF && root.depth != 0)
		place_leaf(&c, &root, 0);
	if (c.err != SMT_OK)
		return c.err;
	r = write_flat(t, wtxn, n);
	if (r == SMT_OK)
		r = write_puts(t, wtxn);
	m.version = new_version;
	m.has_version = true;
	m.root = root;
	if (r == SMT_OK)
		r = meta_write(t, wtxn, &m);
	if (r == SMT_OK) {
		memcpy(root_out, root.hash, SMT_HASH_LEN);
		t->st.keys += n;
	}
	return r;
}

/* ---- proofs ---------------------------------------------------------------------------------- */

/* The key's path in the logical binary tree, siblings top-down. */
struct walk {
	uint8_t kp[32];
	unsigned depth;
	bool present[256];
	uint8_t sib[256][32];
	uint8_t term;
	uint8_t other[64]; /* kp ‖ vh of another key's leaf */
};

static enum smt_result walk_leaf(const struct smt *t, MDB_txn *txn, struct ref *leaf,
                                 const uint8_t path[32], struct walk *w)
{
	enum smt_result r = load_leaf(t, txn, leaf, path);
	if (r != SMT_OK)
		return r;
	w->term = memcmp(leaf->kp, w->kp, 32) == 0 ? SMT_TERM_OWN : SMT_TERM_OTHER;
	memcpy(w->other, leaf->kp, 32);
	memcpy(w->other + 32, leaf->vh, 32);
	return SMT_OK;
}

/*
 * Follows the key through the four binary levels of the node whose children are ch (at nibble
 * depth nd); sets *descend when the path continues into the internal child ch[nibble].
 */
static enum smt_result walk_node(const struct smt *t, MDB_txn *txn, unsigned nd, struct ref ch[16],
                                 struct walk *w, bool *descend)
{
	unsigned nib = nibble(w->kp, nd), lo = 0, size = 16;
	uint64_t hashes = 0;
	*descend = false;
	for (unsigned b = 0; b < 4; b++) {
		size /= 2;
		unsigned bit = nib >> (3 - b) & 1;
		enum ref_kind k =
		    range_hash(ch, bit ? lo : lo + size, size, w->sib[w->depth], &hashes);
		w->present[w->depth++] = k != REF_EMPTY;
		lo += bit * size;
		unsigned count = 0, last = lo;
		for (unsigned i = lo; i < lo + size; i++)
			if (ch[i].kind != REF_EMPTY)
				count++, last = i;
		if (count == 0) {
			w->term = SMT_TERM_EMPTY;
			return SMT_OK;
		}
		if (count == 1 && ch[last].kind == REF_LEAF) {
			uint8_t path[32];
			memcpy(path, w->kp, 32);
			set_nibble(path, nd, last);
			return walk_leaf(t, txn, &ch[last], path, w);
		}
	}
	*descend = true;
	return SMT_OK;
}

static enum smt_result walk(const struct smt *t, MDB_txn *txn, struct walk *w)
{
	struct meta m;
	enum smt_result r = meta_read(t, txn, &m);
	struct ref cur = m.root;
	w->depth = 0;
	w->term = SMT_TERM_EMPTY;
	if (r != SMT_OK || cur.kind == REF_EMPTY)
		return r;
	if (cur.kind == REF_LEAF)
		return walk_leaf(t, txn, &cur, w->kp, w);
	for (unsigned nd = 0; nd < SMT_NIBBLES; nd++) {
		struct ref ch[16];
		bool descend;
		r = load_inner(t, txn, &cur, w->kp, ch);
		if (r == SMT_OK)
			r = walk_node(t, txn, nd, ch, w, &descend);
		if (r != SMT_OK || !descend)
			return r;
		cur = ch[nibble(w->kp, nd)];
	}
	return SMT_CORRUPT; /* an internal node below the last nibble */
}

static void proof_encode(const struct walk *w, struct enc *e)
{
	uint8_t bitmap[32] = {0};
	for (unsigned j = 0; j < w->depth; j++)
		if (w->present[w->depth - 1 - j])
			bitmap[j / 8] |= (uint8_t)(1u << (j % 8));
	enc_u8(e, w->term);
	if (w->term == SMT_TERM_OTHER)
		enc_raw(e, w->other, 64);
	enc_uleb(e, w->depth);
	enc_raw(e, bitmap, (w->depth + 7) / 8);
	for (unsigned j = 0; j < w->depth; j++)
		if (w->present[w->depth - 1 - j])
			enc_raw(e, w->sib[w->depth - 1 - j], 32);
}

enum smt_result smt_prove(struct smt *t, MDB_txn *txn, const uint8_t *key, size_t klen,
                          struct enc *proof_out)
{
	assert(t && txn && (key || klen == 0) && proof_out);
	if (!key_ok(klen))
		return SMT_BAD_KEY;
	struct walk *w = malloc(sizeof(*w));
	if (!w)
		return SMT_NOMEM;
	hash_tagged(w->kp, SMT_TAG_KEY, key, klen);
	enum smt_result r = walk(t, txn, w);
	if (r == SMT_OK) {
		proof_encode(w, proof_out);
		if (enc_finish(proof_out) != CODEC_OK)
			r = SMT_TOO_LARGE;
	}
	free(w);
	return r;
}

/* ---- the rest of the API --------------------------------------------------------------------- */

enum smt_result smt_prune(struct smt *t, MDB_txn *wtxn, size_t max_nodes, size_t *pruned)
{
	assert(t && wtxn);
	size_t done = 0;
	struct meta m;
	enum smt_result r = meta_read(t, wtxn, &m);
	uint64_t keep = t->cfg.keep_versions;
	if (r != SMT_OK || keep == 0 || !m.has_version || m.version + 1 < keep)
		goto out;
	/* a node stale since s belongs to versions < s only */
	uint64_t limit = m.version + 1 - keep;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(wtxn, t->stale, &cur);
	MDB_val k, v;
	while (rc == MDB_SUCCESS && done < max_nodes &&
	       (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS) {
		if (k.mv_size < 8 + 9 || k.mv_size > STALE_KEY_MAX) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (get_be64(k.mv_data) > limit)
			break;
		MDB_val nk = {k.mv_size - 8, (uint8_t *)k.mv_data + 8};
		rc = mdb_del(wtxn, t->nodes, &nk, NULL);
		if (rc == MDB_SUCCESS)
			rc = mdb_cursor_del(cur, 0);
		done += rc == MDB_SUCCESS;
	}
	if (cur)
		mdb_cursor_close(cur);
	r = rc == MDB_NOTFOUND ? SMT_OK : map_mdb(rc, "prune");
	t->st.nodes_pruned += done;
out:
	if (pruned)
		*pruned = done;
	return r;
}

enum smt_result smt_open(struct smt **out, MDB_txn *txn, const struct smt_config *cfg)
{
	static const char *const suffix[] = {"nodes", "stale", "flat", "meta"};
	assert(out && txn);
	*out = NULL;
	struct smt *t = calloc(1, sizeof(*t));
	if (!t)
		return SMT_NOMEM;
	if (cfg)
		t->cfg = *cfg;
	const char *name = t->cfg.name ? t->cfg.name : "state";
	assert(strlen(name) <= NAME_MAX_LEN);
	t->cfg.name = NULL; /* the caller's string is not kept */
	if (!t->cfg.max_batch)
		t->cfg.max_batch = DEFAULT_MAX_BATCH;
	if (!t->cfg.max_value)
		t->cfg.max_value = DEFAULT_MAX_VALUE;
	MDB_dbi *dbi[] = {&t->nodes, &t->stale, &t->flat, &t->meta};
	enum smt_result r = SMT_OK;
	for (size_t i = 0; i < SMT_DBS && r == SMT_OK; i++) {
		char dbname[NAME_MAX_LEN + 8];
		snprintf(dbname, sizeof(dbname), "%s.%s", name, suffix[i]);
		r = map_mdb(mdb_dbi_open(txn, dbname, MDB_CREATE, dbi[i]), "open state tables");
	}
	struct meta m;
	if (r == SMT_OK)
		r = meta_read(t, txn, &m);
	if (r != SMT_OK) {
		free(t);
		return r;
	}
	*out = t;
	return SMT_OK;
}

void smt_free(struct smt *t)
{
	if (!t)
		return;
	free(t->items);
	free(t->order);
	free(t->puts);
	free(t->sorted);

	free(t->arena);
	free(t);
}

enum smt_result smt_get(struct smt *t, MDB_txn *txn, const uint8_t *key, size_t klen,
                        MDB_val *val_out)
{
	assert(t && txn && (key || klen == 0) && val_out);
	if (!key_ok(klen))
		return SMT_BAD_KEY;
	MDB_val k = {klen, (void *)key};
	int rc = mdb_get(txn, t->flat, &k, val_out);
	return rc == MDB_NOTFOUND ? SMT_NOT_FOUND : map_mdb(rc, "read flat table");
}

enum smt_result smt_root(struct smt *t, MDB_txn *txn, uint64_t *version, uint8_t root[SMT_HASH_LEN])
{
	assert(t && txn && version && root);
	struct meta m;
	enum smt_result r = meta_read(t, txn, &m);
	if (r == SMT_OK) {
		*version = m.version;
		memcpy(root, m.root.hash, SMT_HASH_LEN);
	}
	return r;
}

void smt_stats(const struct smt *t, struct smt_stats *out)
{
	assert(t && out);
	*out = t->st;
}
