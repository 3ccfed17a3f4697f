/*
 * The session cache (src/crypto/scache.h): lookups and replacement, least-recently-used eviction
 * against a reference model under random operations, the counters, and concurrent use from
 * several threads (run under TSan/ASan builds to catch races).
 */
#include "check.h"

#include "crypto/scache.h"

#include <pthread.h>
#include <sodium.h>

static struct scache *make(size_t cap)
{
	uint8_t secret[SCACHE_SECRET_LEN];
	randombytes_buf(secret, sizeof(secret));
	struct scache *c = scache_new(cap, secret);
	CHECK(c != NULL);
	return c;
}

static void value_of(uint8_t v[SCACHE_VALUE_LEN], uint32_t k, uint32_t gen)
{
	memset(v, 0, SCACHE_VALUE_LEN);
	memcpy(v, &k, 4);
	memcpy(v + 4, &gen, 4);
}

static void test_get_put(void)
{
	struct scache *c = make(4);
	uint8_t v[32], got[32];
	memset(got, 0x77, sizeof(got));
	CHECK(!scache_get(c, (const uint8_t *)"a", 1, got));
	CHECK(got[0] == 0x77); /* untouched on a miss */
	value_of(v, 1, 0);
	scache_put(c, (const uint8_t *)"a", 1, v);
	CHECK(scache_get(c, (const uint8_t *)"a", 1, got) && memcmp(got, v, 32) == 0);
	/* keys are byte strings: a prefix or an extension is another key, so is the empty one */
	CHECK(!scache_get(c, (const uint8_t *)"ab", 2, got));
	CHECK(!scache_get(c, NULL, 0, got));
	value_of(v, 2, 0);
	scache_put(c, NULL, 0, v);
	CHECK(scache_get(c, NULL, 0, got) && memcmp(got, v, 32) == 0);
	/* replacing a value keeps one entry */
	value_of(v, 1, 9);
	scache_put(c, (const uint8_t *)"a", 1, v);
	CHECK(scache_get(c, (const uint8_t *)"a", 1, got) && memcmp(got, v, 32) == 0);
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.entries == 2 && st.cap == 4 && st.inserts == 2 && st.evictions == 0);
	CHECK(st.hits == 3 && st.misses == 3);
	scache_free(c);
	scache_free(NULL);
}

static void test_lru_order(void)
{
	struct scache *c = make(3);
	uint8_t v[32], got[32];
	for (uint32_t k = 0; k < 3; k++) {
		value_of(v, k, 0);
		scache_put(c, (const uint8_t *)&k, 4, v);
	}
	uint32_t k0 = 0, k3 = 3, k1 = 1, k2 = 2;
	CHECK(scache_get(c, (const uint8_t *)&k0, 4, got)); /* 0 is now the most recent */
	value_of(v, 3, 0);
	scache_put(c, (const uint8_t *)&k3, 4, v); /* evicts 1, the least recent */
	CHECK(!scache_get(c, (const uint8_t *)&k1, 4, got));
	CHECK(scache_get(c, (const uint8_t *)&k0, 4, got));
	CHECK(scache_get(c, (const uint8_t *)&k2, 4, got));
	CHECK(scache_get(c, (const uint8_t *)&k3, 4, got));
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.entries == 3 && st.evictions == 1);
	scache_free(c);
	/* a cache of one entry */
	c = make(1);
	value_of(v, 5, 0);
	scache_put(c, (const uint8_t *)"x", 1, v);
	scache_put(c, (const uint8_t *)"y", 1, v);
	CHECK(!scache_get(c, (const uint8_t *)"x", 1, got));
	CHECK(scache_get(c, (const uint8_t *)"y", 1, got));
	scache_free(c);
}

/* Random gets and puts against a reference model of the recency order. */
static void test_model(void)
{
	uint64_t rng = check_seed();
	long iters = check_iters(20000);
	enum { CAP = 16, KEYS = 40 };
	struct scache *c = make(CAP);
	uint32_t order[CAP], gen[KEYS] = {0}; /* order[0]: most recent */
	size_t n = 0;
	for (long it = 0; it < iters; it++) {
		uint32_t k = (uint32_t)(check_rand(&rng) % KEYS);
		size_t pos = n;
		for (size_t i = 0; i < n; i++)
			if (order[i] == k)
				pos = i;
		uint8_t v[32], got[32];
		if (check_rand(&rng) % 2) {
			gen[k]++;
			value_of(v, k, gen[k]);
			scache_put(c, (const uint8_t *)&k, 4, v);
			if (pos == n && n == CAP)
				pos = --n; /* the model evicts its least recent too */
		} else {
			bool hit = scache_get(c, (const uint8_t *)&k, 4, got);
			CHECK(hit == (pos < n));
			if (!hit)
				continue;
			value_of(v, k, gen[k]);
			CHECK(memcmp(got, v, 32) == 0);
		}
		if (pos == n)
			n++;
		memmove(order + 1, order, pos * sizeof(order[0]));
		order[0] = k;
	}
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.entries == n);
	scache_free(c);
}

struct worker_arg {
	struct scache *c;
	uint32_t id;
	int bad;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	uint8_t v[32], got[32];
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t k = (i * 7 + a->id) % 64;
		value_of(v, k, 1);
		if (scache_get(a->c, (const uint8_t *)&k, 4, got)) {
			if (memcmp(got, v, 32) != 0) /* a torn or foreign value */
				a->bad++;
		} else {
			scache_put(a->c, (const uint8_t *)&k, 4, v);
		}
	}
	return NULL;
}

static void test_threads(void)
{
	struct scache *c = make(32);
	pthread_t t[4];
	struct worker_arg args[4];
	for (uint32_t i = 0; i < 4; i++) {
		args[i] = (struct worker_arg){c, i, 0};
		CHECK(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		CHECK(args[i].bad == 0);
	}
	struct scache_stats st;
	scache_stats(c, &st);
	CHECK(st.entries == 32 && st.hits + st.misses == 80000);
	CHECK(st.inserts - st.evictions == 32);
	scache_free(c);
}

CHECK_MAIN(CASE(test_get_put), CASE(test_lru_order), CASE(test_model), CASE(test_threads))
