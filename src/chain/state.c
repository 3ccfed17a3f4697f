/*
 * The overlay is an insertion-ordered array of entries plus an open-addressing index (linear
 * probing, load <= 1/2, SipHash with a per-overlay random key). Savepoints keep an undo log: the
 * first write to an entry inside a savepoint moves the entry's previous value into an undo record;
 * entries created inside a savepoint need no record, because they are exactly the entries appended
 * after it began, and rollback drops them (backward-shift deletion keeps probing correct).
 */
#include "chain/state.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_ENTRIES ((size_t)1000000)
#define DEFAULT_MAX_BYTES   ((size_t)256 << 20)

struct state_entry {
	uint8_t *key;
	uint8_t *val; /* NULL: a deletion */
	uint32_t klen;
	uint32_t vlen;
	uint32_t sp_id; /* savepoint that already holds this entry's undo record */
	uint64_t hash;
};

struct state_undo {
	uint8_t *val; /* the entry's previous value (NULL: it was a deletion) */
	uint32_t vlen;
	uint32_t sp_id;
	uint32_t entry;
};

static const char *const state_messages[] = {
    [STATE_OK] = "ok",
    [STATE_FULL] = "state write set is full (entry or byte cap reached)",
    [STATE_NOMEM] = "out of memory",
    [STATE_STORAGE] = "storage error while reading state",
};

const char *state_strerror(enum state_result r)
{
	if ((size_t)r < sizeof(state_messages) / sizeof(state_messages[0]))
		return state_messages[r];
	return "unknown state error";
}

void state_overlay_init(struct state_overlay *o, const struct state_reader *base,
                        const struct state_limits *lim)
{
	if (sodium_init() < 0)
		abort();
	memset(o, 0, sizeof(*o));
	if (base)
		o->base = *base;
	o->lim.max_entries = lim && lim->max_entries ? lim->max_entries : DEFAULT_MAX_ENTRIES;
	o->lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : DEFAULT_MAX_BYTES;
	assert(o->lim.max_entries < UINT32_MAX / 4);
	o->sp_next_id = 1; /* 0 means "no savepoint" in entries */
	randombytes_buf(o->hash_key, sizeof(o->hash_key));
}

void state_overlay_release(struct state_overlay *o)
{
	for (size_t i = 0; i < o->n_entries; i++) {
		free(o->entries[i].key);
		free(o->entries[i].val);
	}
	for (size_t i = 0; i < o->n_undo; i++)
		free(o->undo[i].val);
	free(o->entries);
	free(o->index);
	free(o->undo);
	free(o->sorted);
	memset(o, 0, sizeof(*o));
}

static uint64_t key_hash(const struct state_overlay *o, const uint8_t *key, size_t klen)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(out, key, klen, o->hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* Slot holding key, or the empty slot where it would go. index must exist. */
static size_t find_slot(const struct state_overlay *o, const uint8_t *key, size_t klen, uint64_t h)
{
	size_t mask = o->index_cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t v = o->index[i];
		if (v == 0)
			return i;
		const struct state_entry *e = &o->entries[v - 1];
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return i;
	}
}

static struct state_entry *lookup(const struct state_overlay *o, const uint8_t *key, size_t klen,
                                  uint64_t h)
{
	if (!o->index)
		return NULL;
	uint32_t v = o->index[find_slot(o, key, klen, h)];
	return v ? &o->entries[v - 1] : NULL;
}

static bool grow_index(struct state_overlay *o, size_t want_entries)
{
	if (want_entries * 2 <= o->index_cap)
		return true;
	size_t cap = o->index_cap ? o->index_cap * 2 : 64;
	while (want_entries * 2 > cap)
		cap *= 2;
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return false;
	free(o->index);
	o->index = idx;
	o->index_cap = cap;
	for (size_t i = 0; i < o->n_entries; i++) {
		size_t slot =
		    find_slot(o, o->entries[i].key, o->entries[i].klen, o->entries[i].hash);
		o->index[slot] = (uint32_t)(i + 1);
	}
	return true;
}

/* Grows *arr (of elem-size items, *cap of them) to hold at least want. */
static bool reserve(void **arr, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < want)
		n *= 2;
	void *p = realloc(*arr, n * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

static uint32_t top_sp(const struct state_overlay *o)
{
	return o->sp_depth ? o->sp_id[o->sp_depth - 1] : 0;
}

static bool within(size_t bytes, size_t add, size_t max)
{
	return add <= max && bytes <= max - add;
}

static enum state_result write_new(struct state_overlay *o, const uint8_t *key, size_t klen,
                                   uint64_t h, uint8_t *val, size_t vlen)
{
	if (o->n_entries + 1 > o->lim.max_entries ||
	    !within(o->bytes, klen + vlen, o->lim.max_bytes))
		return STATE_FULL;
	uint8_t *k = malloc(klen);
	if (!k || !grow_index(o, o->n_entries + 1) ||
	    !reserve((void **)&o->entries, &o->cap_entries, o->n_entries + 1,
	             sizeof(*o->entries))) {
		free(k);
		return STATE_NOMEM;
	}
	memcpy(k, key, klen);
	struct state_entry *e = &o->entries[o->n_entries];
	*e = (struct state_entry){.key = k,
	                          .val = val,
	                          .klen = (uint32_t)klen,
	                          .vlen = (uint32_t)vlen,
	                          .sp_id = top_sp(o),
	                          .hash = h};
	o->index[find_slot(o, key, klen, h)] = (uint32_t)(o->n_entries + 1);
	o->n_entries++;
	o->bytes += klen + vlen;
	return STATE_OK;
}

static enum state_result write_existing(struct state_overlay *o, struct state_entry *e,
                                        uint8_t *val, size_t vlen)
{
	bool keep_old = o->sp_depth > 0 && e->sp_id != top_sp(o);
	if (keep_old) {
		if (!within(o->bytes, vlen, o->lim.max_bytes))
			return STATE_FULL;
		if (!reserve((void **)&o->undo, &o->cap_undo, o->n_undo + 1, sizeof(*o->undo)))
			return STATE_NOMEM;
		o->undo[o->n_undo++] = (struct state_undo){.val = e->val,
		                                           .vlen = e->vlen,
		                                           .sp_id = e->sp_id,
		                                           .entry = (uint32_t)(e - o->entries)};
		e->sp_id = top_sp(o);
		o->bytes += vlen;
	} else {
		if (vlen > e->vlen && !within(o->bytes, vlen - e->vlen, o->lim.max_bytes))
			return STATE_FULL;
		o->bytes = o->bytes - e->vlen + vlen;
		free(e->val);
	}
	e->val = val;
	e->vlen = (uint32_t)vlen;
	return STATE_OK;
}

/* val == NULL writes a deletion. */
static enum state_result write_key(struct state_overlay *o, const uint8_t *key, size_t klen,
                                   const uint8_t *val, size_t vlen)
{
	assert(klen >= 1 && klen <= STATE_KEY_MAX && vlen <= STATE_VALUE_MAX);
	uint8_t *copy = NULL;
	if (val) {
		copy =
		    malloc(vlen ? vlen : 1); /* an empty value is still a value, not a deletion */
		if (!copy)
			return STATE_NOMEM;
		memcpy(copy, val, vlen);
	}
	uint64_t h = key_hash(o, key, klen);
	struct state_entry *e = lookup(o, key, klen, h);
	enum state_result r =
	    e ? write_existing(o, e, copy, vlen) : write_new(o, key, klen, h, copy, vlen);
	if (r != STATE_OK)
		free(copy);
	return r;
}

enum state_result state_overlay_put(struct state_overlay *o, const uint8_t *key, size_t klen,
                                    const uint8_t *val, size_t vlen)
{
	assert(val != NULL || vlen == 0);
	static const uint8_t empty;
	return write_key(o, key, klen, val ? val : &empty, vlen);
}

enum state_result state_overlay_delete(struct state_overlay *o, const uint8_t *key, size_t klen)
{
	return write_key(o, key, klen, NULL, 0);
}

int state_overlay_get(struct state_overlay *o, const uint8_t *key, size_t klen, const uint8_t **val,
                      size_t *vlen)
{
	assert(klen >= 1 && klen <= STATE_KEY_MAX);
	const struct state_entry *e = lookup(o, key, klen, key_hash(o, key, klen));
	if (e) {
		if (!e->val)
			return 0;
		*val = e->val;
		*vlen = e->vlen;
		return 1;
	}
	if (!o->base.get)
		return 0;
	return o->base.get(o->base.ctx, key, klen, val, vlen);
}

static int overlay_reader_get(void *ctx, const uint8_t *key, size_t klen, const uint8_t **val,
                              size_t *vlen)
{
	return state_overlay_get(ctx, key, klen, val, vlen);
}

void state_overlay_reader(struct state_overlay *o, struct state_reader *out)
{
	out->ctx = o;
	out->get = overlay_reader_get;
}

void state_overlay_savepoint(struct state_overlay *o)
{
	assert(o->sp_depth < STATE_SP_MAX);
	assert(o->sp_next_id < UINT32_MAX);
	o->sp_entries[o->sp_depth] = o->n_entries;
	o->sp_undo[o->sp_depth] = o->n_undo;
	o->sp_id[o->sp_depth] = o->sp_next_id++;
	o->sp_depth++;
}

/* Removes the index slot of entry i (the last entry) with backward-shift deletion. */
static void unindex_last(struct state_overlay *o)
{
	const struct state_entry *gone = &o->entries[o->n_entries - 1];
	size_t mask = o->index_cap - 1;
	size_t i = find_slot(o, gone->key, gone->klen, gone->hash);
	assert(o->index[i] == o->n_entries);
	o->index[i] = 0;
	for (size_t j = (i + 1) & mask; o->index[j] != 0; j = (j + 1) & mask) {
		size_t home = (size_t)o->entries[o->index[j] - 1].hash & mask;
		/* The entry at j may move to the hole at i unless its home lies in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			o->index[i] = o->index[j];
			o->index[j] = 0;
			i = j;
		}
	}
}

void state_overlay_rollback(struct state_overlay *o)
{
	assert(o->sp_depth > 0);
	o->sp_depth--;
	size_t undo_mark = o->sp_undo[o->sp_depth];
	size_t entry_mark = o->sp_entries[o->sp_depth];
	while (o->n_undo > undo_mark) {
		struct state_undo *u = &o->undo[--o->n_undo];
		struct state_entry *e = &o->entries[u->entry];
		o->bytes -= e->vlen;
		free(e->val);
		e->val = u->val;
		e->vlen = u->vlen;
		e->sp_id = u->sp_id;
	}
	while (o->n_entries > entry_mark) {
		struct state_entry *e = &o->entries[o->n_entries - 1];
		unindex_last(o);
		o->bytes -= e->klen + e->vlen;
		free(e->key);
		free(e->val);
		o->n_entries--;
	}
}

void state_overlay_release_savepoint(struct state_overlay *o)
{
	assert(o->sp_depth > 0);
	o->sp_depth--;
	if (o->sp_depth > 0)
		return; /* the records now belong to the enclosing savepoint */
	for (size_t i = 0; i < o->n_undo; i++) {
		o->bytes -= o->undo[i].vlen;
		free(o->undo[i].val);
	}
	/* Entries keep stale sp_ids: ids are never reused, so no later savepoint matches them. */
	o->n_undo = 0;
}

size_t state_overlay_count(const struct state_overlay *o)
{
	return o->n_entries;
}

static int cmp_write(const void *a, const void *b)
{
	const struct kv_write *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return (x->klen > y->klen) - (x->klen < y->klen);
}

enum state_result state_overlay_export(struct state_overlay *o, const struct kv_write **out,
                                       size_t *n)
{
	assert(o->sp_depth == 0);
	free(o->sorted);
	o->sorted = NULL;
	o->n_sorted = 0;
	if (o->n_entries) {
		o->sorted = malloc(o->n_entries * sizeof(*o->sorted));
		if (!o->sorted)
			return STATE_NOMEM;
	}
	for (size_t i = 0; i < o->n_entries; i++) {
		const struct state_entry *e = &o->entries[i];
		o->sorted[i] = (struct kv_write){e->key, e->klen, e->val, e->val ? e->vlen : 0};
	}
	o->n_sorted = o->n_entries;
	if (o->n_sorted > 1)
		qsort(o->sorted, o->n_sorted, sizeof(*o->sorted), cmp_write);
	*out = o->sorted;
	*n = o->n_sorted;
	return STATE_OK;
}
