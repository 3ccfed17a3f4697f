/*
 * The session cache (scache.h): a fixed array of entries in guarded memory, a doubly linked
 * recency list through it (head: most recent), and a power-of-two bucket array chaining entries
 * by their tag. Slots fill in order; once full, the tail's slot is reused.
 */
#include "crypto/scache.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONE     UINT32_MAX
#define TAG_LEN  32
#define TAG_NAME "tenebra/v1/scache" /* BLAKE2b personalisation would cap at 16 bytes */

struct entry {
	uint8_t tag[TAG_LEN];
	uint8_t val[SCACHE_VALUE_LEN];
	uint32_t prev, next; /* recency list */
	uint32_t chain;      /* next entry in the same bucket */
};

/* Guarded: the tag key and every value. */
struct secrets {
	uint8_t tag_key[SCACHE_SECRET_LEN];
	struct entry e[];
};

struct scache {
	pthread_mutex_t mu;
	size_t cap, n;
	uint32_t mask; /* buckets - 1 */
	uint32_t *buckets;
	uint32_t head, tail;
	struct secrets *s;
	struct scache_stats st;
};

struct scache *scache_new(size_t cap, const uint8_t secret[SCACHE_SECRET_LEN])
{
	assert(cap >= 1 && cap <= SCACHE_CAP_MAX && secret);
	if (sodium_init() < 0)
		return NULL;
	struct scache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	size_t nb = 1;
	while (nb < cap)
		nb <<= 1;
	c->buckets = malloc(nb * sizeof(*c->buckets));
	c->s = sodium_malloc(sizeof(struct secrets) + cap * sizeof(struct entry));
	if (!c->buckets || !c->s || pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->buckets);
		if (c->s)
			sodium_free(c->s);
		free(c);
		return NULL;
	}
	memset(c->buckets, 0xff, nb * sizeof(*c->buckets));
	memcpy(c->s->tag_key, secret, SCACHE_SECRET_LEN);
	c->cap = cap;
	c->mask = (uint32_t)(nb - 1);
	c->head = c->tail = NONE;
	c->st.cap = cap;
	return c;
}

void scache_free(struct scache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	sodium_free(c->s); /* wipes */
	free(c->buckets);
	free(c);
}

/* The tag needs no lock: the tag key never changes after scache_new. */
static void tag_of(const struct scache *c, uint8_t tag[TAG_LEN], const uint8_t *key, size_t key_len)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, c->s->tag_key, SCACHE_SECRET_LEN, TAG_LEN);
	crypto_generichash_update(&h, (const uint8_t *)TAG_NAME, sizeof(TAG_NAME) - 1);
	crypto_generichash_update(&h, key, key_len);
	crypto_generichash_final(&h, tag, TAG_LEN);
	sodium_memzero(&h, sizeof(h));
}

static uint32_t *bucket_of(struct scache *c, const uint8_t tag[TAG_LEN])
{
	uint32_t b = (uint32_t)tag[0] | (uint32_t)tag[1] << 8 | (uint32_t)tag[2] << 16 |
	             (uint32_t)tag[3] << 24;
	return &c->buckets[b & c->mask];
}

static uint32_t find(struct scache *c, const uint8_t tag[TAG_LEN])
{
	for (uint32_t i = *bucket_of(c, tag); i != NONE; i = c->s->e[i].chain)
		if (memcmp(c->s->e[i].tag, tag, TAG_LEN) == 0) /* tags are not secret */
			return i;
	return NONE;
}

static void list_unlink(struct scache *c, uint32_t i)
{
	struct entry *x = &c->s->e[i];
	if (x->prev != NONE)
		c->s->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NONE)
		c->s->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
}

static void list_push_front(struct scache *c, uint32_t i)
{
	struct entry *x = &c->s->e[i];
	x->prev = NONE;
	x->next = c->head;
	if (c->head != NONE)
		c->s->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NONE)
		c->tail = i;
}

static void bucket_unlink(struct scache *c, uint32_t i)
{
	uint32_t *p = bucket_of(c, c->s->e[i].tag);
	while (*p != i) {
		assert(*p != NONE); /* every entry is in its bucket */
		p = &c->s->e[*p].chain;
	}
	*p = c->s->e[i].chain;
}

/* A free slot: the next unused one, or the least recently used entry's, wiped. */
static uint32_t take_slot(struct scache *c)
{
	if (c->n < c->cap)
		return (uint32_t)c->n++;
	uint32_t i = c->tail;
	list_unlink(c, i);
	bucket_unlink(c, i);
	sodium_memzero(&c->s->e[i], sizeof(c->s->e[i]));
	c->st.evictions++;
	return i;
}

bool scache_get(struct scache *c, const uint8_t *key, size_t key_len, uint8_t val[SCACHE_VALUE_LEN])
{
	assert(c && (key || !key_len) && val);
	uint8_t tag[TAG_LEN];
	tag_of(c, tag, key, key_len);
	pthread_mutex_lock(&c->mu);
	uint32_t i = find(c, tag);
	if (i != NONE) {
		memcpy(val, c->s->e[i].val, SCACHE_VALUE_LEN);
		list_unlink(c, i);
		list_push_front(c, i);
		c->st.hits++;
	} else {
		c->st.misses++;
	}
	pthread_mutex_unlock(&c->mu);
	return i != NONE;
}

void scache_put(struct scache *c, const uint8_t *key, size_t key_len,
                const uint8_t val[SCACHE_VALUE_LEN])
{
	assert(c && (key || !key_len) && val);
	uint8_t tag[TAG_LEN];
	tag_of(c, tag, key, key_len);
	pthread_mutex_lock(&c->mu);
	uint32_t i = find(c, tag);
	if (i != NONE) {
		list_unlink(c, i);
	} else {
		i = take_slot(c);
		memcpy(c->s->e[i].tag, tag, TAG_LEN);
		uint32_t *b = bucket_of(c, tag);
		c->s->e[i].chain = *b;
		*b = i;
		c->st.inserts++;
	}
	memcpy(c->s->e[i].val, val, SCACHE_VALUE_LEN);
	list_push_front(c, i);
	pthread_mutex_unlock(&c->mu);
}

void scache_stats(struct scache *c, struct scache_stats *out)
{
	assert(c && out);
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	out->entries = c->n;
	pthread_mutex_unlock(&c->mu);
}
