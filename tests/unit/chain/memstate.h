/*
 * A small in-memory key-value map for runtime tests: a real map (sorted array, binary search)
 * behind a state_reader, with a switch that makes every read fail as storage would.
 */
#ifndef TN_TEST_MEMSTATE_H
#define TN_TEST_MEMSTATE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chain/state.h"

struct mem_entry {
	uint8_t key[STATE_KEY_MAX];
	size_t klen;
	uint8_t *val;
	size_t vlen;
};

struct memstate {
	struct mem_entry *e;
	size_t n, cap;
	bool fail; /* every get returns -1 */
};

static inline int mem_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : (alen > blen) - (alen < blen);
}

/* Index of key, or of where it would go (*found false). */
static inline size_t mem_find(const struct memstate *m, const uint8_t *key, size_t klen,
                              bool *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mem_cmp(m->e[mid].key, m->e[mid].klen, key, klen);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static inline int mem_get(void *ctx, const uint8_t *key, size_t klen, const uint8_t **val,
                          size_t *vlen)
{
	struct memstate *m = ctx;
	bool found;
	if (m->fail)
		return -1;
	size_t i = mem_find(m, key, klen, &found);
	if (!found)
		return 0;
	*val = m->e[i].val;
	*vlen = m->e[i].vlen;
	return 1;
}

/* val == NULL deletes. Aborts on allocation failure (tests only). */
static inline void mem_put(struct memstate *m, const uint8_t *key, size_t klen, const uint8_t *val,
                           size_t vlen)
{
	bool found;
	size_t i = mem_find(m, key, klen, &found);
	if (found) {
		free(m->e[i].val);
		if (!val) {
			memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
			m->n--;
			return;
		}
	} else {
		if (!val)
			return;
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 16;
			m->e = realloc(m->e, m->cap * sizeof(*m->e));
			if (!m->e)
				abort();
		}
		memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
		m->n++;
		memcpy(m->e[i].key, key, klen);
		m->e[i].klen = klen;
	}
	m->e[i].val = malloc(vlen ? vlen : 1);
	if (!m->e[i].val)
		abort();
	memcpy(m->e[i].val, val, vlen);
	m->e[i].vlen = vlen;
}

static inline void mem_release(struct memstate *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].val);
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static inline struct state_reader mem_reader(struct memstate *m)
{
	return (struct state_reader){m, mem_get};
}

/* Commits the overlay's export into m (what the node does with the state tree). */
static inline bool mem_commit(struct memstate *m, struct state_overlay *o)
{
	const struct kv_write *w;
	size_t n;
	if (state_overlay_export(o, &w, &n) != STATE_OK)
		return false;
	for (size_t i = 0; i < n; i++)
		mem_put(m, w[i].key, w[i].klen, w[i].value, w[i].vlen);
	return true;
}

#endif
