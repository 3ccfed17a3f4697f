/* Shared building blocks of the built-in contracts: see kit.h. */
#include "contracts/kit/kit.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

/* Binary search over an array of records whose first 32 bytes are the key: the index of key, or
 * of where it would go (*found false). */
static size_t search(const void *base, size_t n, size_t size, const uint8_t key[32], bool *found)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp((const uint8_t *)base + mid * size, key, 32);
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

/* Makes room for one more element in *v (cap doubling, at most max). */
static bool grow(void **v, size_t *cap, size_t n, size_t max, size_t size)
{
	if (n < *cap)
		return true;
	if (n >= max)
		return false;
	size_t want = *cap ? *cap * 2 : 16;
	if (want > max)
		want = max;
	void *p = realloc(*v, want * size);
	if (!p)
		return false;
	*v = p;
	*cap = want;
	return true;
}

/* ---- books ---------------------------------------------------------------------------------- */

void kit_book_init(struct kit_book *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void kit_book_release(struct kit_book *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

u128 kit_book_get(const struct kit_book *b, const uint8_t key[32])
{
	bool found;
	size_t i = search(b->v, b->n, sizeof(*b->v), key, &found);
	return found ? b->v[i].amount : 0;
}

bool kit_book_room(struct kit_book *b, const uint8_t key[32])
{
	bool found;
	(void)search(b->v, b->n, sizeof(*b->v), key, &found);
	return found || grow((void **)&b->v, &b->cap, b->n, b->max, sizeof(*b->v));
}

void kit_book_set(struct kit_book *b, const uint8_t key[32], u128 amount)
{
	bool found;
	size_t i = search(b->v, b->n, sizeof(*b->v), key, &found);
	if (found && amount) {
		b->v[i].amount = amount;
	} else if (found) {
		memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(*b->v));
		b->n--;
	} else if (amount) {
		assert(b->n < b->cap); /* kit_book_room first */
		memmove(&b->v[i + 1], &b->v[i], (b->n - i) * sizeof(*b->v));
		memcpy(b->v[i].key, key, 32);
		b->v[i].amount = amount;
		b->n++;
	}
}

void kit_book_encode(const struct kit_book *b, struct enc *e)
{
	enc_uleb(e, b->n);
	for (size_t i = 0; i < b->n; i++) {
		enc_raw(e, b->v[i].key, 32);
		enc_u128(e, b->v[i].amount);
	}
}

void kit_book_decode(struct kit_book *b, struct dec *d)
{
	size_t n = (size_t)dec_uleb(d, b->max);
	for (size_t i = 0; i < n && d->err == CODEC_OK; i++) {
		struct kit_entry x;
		dec_raw(d, x.key, 32);
		x.amount = dec_u128(d);
		if (d->err != CODEC_OK)
			break;
		if (x.amount == 0 || (b->n && memcmp(b->v[b->n - 1].key, x.key, 32) >= 0))
			dec_fail(d, CODEC_NONCANONICAL);
		else if (!grow((void **)&b->v, &b->cap, b->n, b->max, sizeof(*b->v)))
			dec_fail(d, CODEC_NOMEM);
		else
			b->v[b->n++] = x;
	}
}

/* ---- histories ------------------------------------------------------------------------------ */

void kit_history_init(struct kit_history *h, size_t max_accounts, size_t per_account,
                      size_t entry_len)
{
	assert(per_account > 0 && per_account <= UINT32_MAX && entry_len > 0);
	memset(h, 0, sizeof(*h));
	h->max_accounts = max_accounts;
	h->per_account = per_account;
	h->entry_len = entry_len;
}

void kit_history_release(struct kit_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].entries);
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

static const struct kit_ring *ring_find(const struct kit_history *h, const uint8_t key[32])
{
	bool found;
	size_t i = search(h->v, h->n, sizeof(*h->v), key, &found);
	return found ? &h->v[i] : NULL;
}

/* A new empty ring for key at its sorted place; false at the cap or on allocation failure. */
static bool ring_insert(struct kit_history *h, const uint8_t key[32])
{
	bool found;
	size_t i = search(h->v, h->n, sizeof(*h->v), key, &found);
	assert(!found);
	if (!grow((void **)&h->v, &h->cap, h->n, h->max_accounts, sizeof(*h->v)))
		return false;
	uint8_t *entries = malloc(h->per_account * h->entry_len);
	if (!entries)
		return false;
	memmove(&h->v[i + 1], &h->v[i], (h->n - i) * sizeof(*h->v));
	memset(&h->v[i], 0, sizeof(h->v[i]));
	memcpy(h->v[i].key, key, 32);
	h->v[i].entries = entries;
	h->n++;
	return true;
}

bool kit_history_room(struct kit_history *h, const uint8_t key[32])
{
	return ring_find(h, key) || ring_insert(h, key);
}

void kit_history_add(struct kit_history *h, const uint8_t key[32], const uint8_t *entry)
{
	struct kit_ring *r = (struct kit_ring *)ring_find(h, key);
	assert(r); /* kit_history_room first */
	memcpy(r->entries + (size_t)r->next * h->entry_len, entry, h->entry_len);
	r->next = (uint32_t)((r->next + 1) % h->per_account);
	if (r->n < h->per_account)
		r->n++;
}

size_t kit_history_count(const struct kit_history *h, const uint8_t key[32])
{
	const struct kit_ring *r = ring_find(h, key);
	return r ? r->n : 0;
}

static const uint8_t *ring_at(const struct kit_history *h, const struct kit_ring *r, size_t i)
{
	size_t slot = (r->next + h->per_account - r->n + i) % h->per_account;
	return r->entries + slot * h->entry_len;
}

const uint8_t *kit_history_at(const struct kit_history *h, const uint8_t key[32], size_t i)
{
	const struct kit_ring *r = ring_find(h, key);
	assert(r && i < r->n);
	return ring_at(h, r, i);
}

/* Rings still empty (a kit_history_room whose add never came, because the handler refused after
 * it) are not written: kit_history_decode refuses empty rings, so writing one would make the
 * snapshot unrestorable. */
void kit_history_encode(const struct kit_history *h, struct enc *e)
{
	size_t rings = 0;
	for (size_t i = 0; i < h->n; i++)
		rings += h->v[i].n > 0;
	enc_uleb(e, rings);
	for (size_t i = 0; i < h->n; i++) {
		const struct kit_ring *r = &h->v[i];
		if (r->n == 0)
			continue;
		enc_raw(e, r->key, 32);
		enc_uleb(e, r->n);
		for (size_t j = 0; j < r->n; j++)
			enc_raw(e, ring_at(h, r, j), h->entry_len);
	}
}

void kit_history_decode(struct kit_history *h, struct dec *d)
{
	size_t n = (size_t)dec_uleb(d, h->max_accounts);
	for (size_t i = 0; i < n && d->err == CODEC_OK; i++) {
		uint8_t key[32];
		dec_raw(d, key, 32);
		size_t k = (size_t)dec_uleb(d, h->per_account);
		if (d->err != CODEC_OK)
			break;
		if (k == 0 || (h->n && memcmp(h->v[h->n - 1].key, key, 32) >= 0)) {
			dec_fail(d, CODEC_NONCANONICAL);
			break;
		}
		if (!ring_insert(h, key)) {
			dec_fail(d, CODEC_NOMEM);
			break;
		}
		for (size_t j = 0; j < k && d->err == CODEC_OK; j++) {
			const uint8_t *x = dec_view(d, h->entry_len);
			if (x)
				kit_history_add(h, key, x);
		}
	}
}

/* ---- queries -------------------------------------------------------------------------------- */

enum contract_result kit_query(const struct kit_query *t, size_t n, const void *state,
                               struct contract_env *env, const uint8_t asker[32],
                               const uint8_t *req, size_t len, struct enc *resp)
{
	for (size_t i = 0; i < n; i++) {
		if (len != t[i].len || req[0] != t[i].kind)
			continue;
		if (t[i].own && memcmp(req + 1, asker, 32) != 0)
			return CONTRACT_DENIED;
		enum contract_result r = t[i].fn(state, env, asker, req, resp);
		return r != CONTRACT_OK || enc_finish(resp) == CODEC_OK ? r : CONTRACT_TOO_LARGE;
	}
	return CONTRACT_BAD_REQUEST;
}

/* ---- commands and replies ------------------------------------------------------------------- */

u128 kit_get_u128(const uint8_t *p)
{
	struct dec d;
	dec_init(&d, p, 16);
	return dec_u128(&d);
}

uint64_t kit_get_u64(const uint8_t *p)
{
	struct dec d;
	dec_init(&d, p, 8);
	return dec_u64(&d);
}

uint32_t kit_get_u32(const uint8_t *p)
{
	struct dec d;
	dec_init(&d, p, 4);
	return dec_u32(&d);
}

void kit_put_u128(uint8_t *p, u128 v)
{
	struct enc e;
	enc_init_fixed(&e, p, 16);
	enc_u128(&e, v);
}

bool kit_fixed(const uint8_t *p, size_t n, size_t len, size_t used)
{
	assert(used <= len);
	if (n != len)
		return false;
	for (size_t i = used; i < len; i++)
		if (p[i])
			return false;
	return true;
}

char *kit_message_topic(char out[KIT_TOPIC_LEN + 1], const uint8_t id[CONTRACT_ID_LEN])
{
	char hex[2 * CONTRACT_ID_LEN + 1];
	snprintf(out, KIT_TOPIC_LEN + 1, "contract/%s/message", hex_encode(hex, id, 32));
	return out;
}

bool kit_zero_key(const uint8_t key[32])
{
	uint8_t acc = 0;
	for (size_t i = 0; i < 32; i++)
		acc |= key[i];
	return acc == 0;
}

enum contract_result kit_reply(struct contract_env *env, enum contract_result r, const char *fmt,
                               ...)
{
	char text[CONTRACT_REPLY_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len > CONTRACT_REPLY_MAX)
		len = CONTRACT_REPLY_MAX;
	(void)contract_reply(env, (const uint8_t *)text, (size_t)len); /* fits by construction */
	return r;
}

char *kit_short(char out[12], const uint8_t key[32])
{
	char hex[9];
	hex_encode(hex, key, 4);
	snprintf(out, 12, "%s...", hex);
	return out;
}
