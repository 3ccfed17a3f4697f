#include "check.h"

#include <pthread.h>
#include <sched.h>

#include "chain/mempool.h"
#include "chain/mempool_int.h"
#include "chain/tx.h"
#include "crypto/sig.h"

#define MAX_PAYLOAD 600

struct acct {
	uint8_t pk[SIG_PK_LEN];
	uint8_t sk[SIG_SK_LEN];
};

/* A signed, encoded tx and its decoded view (payload points into bytes). */
struct ttx {
	uint8_t bytes[TX_FIXED_BODY_LEN + 3 + MAX_PAYLOAD + TX_SIG_LEN];
	size_t len;
	struct tx tx;
	uint8_t id[TX_ID_LEN];
};

static void acct_make(struct acct *a, uint32_t n)
{
	uint8_t seed[SIG_SEED_LEN] = {0};
	memcpy(seed, &n, sizeof(n));
	seed[31] = 0x5a;
	sig_keypair_from_seed(a->pk, a->sk, seed);
}

/* A real signed tx; salt varies the payload so txs with the same nonce get distinct ids. */
static void ttx_make(struct ttx *t, const struct acct *a, uint64_t nonce, size_t payload_len,
                     uint32_t salt, uint64_t valid_until)
{
	uint8_t payload[MAX_PAYLOAD];
	for (size_t i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(salt + i * 7);
	if (payload_len >= 4)
		memcpy(payload, &salt, 4);
	struct tx tx = {.version = TX_VERSION,
	                .nonce = nonce,
	                .valid_until = valid_until,
	                .max_fee = 1000000,
	                .tip = salt,
	                .module = 1,
	                .function = 2,
	                .payload = payload,
	                .payload_len = payload_len};
	memset(tx.chain_id, 0xc1, sizeof(tx.chain_id));
	memcpy(tx.sender, a->pk, TX_ACCOUNT_LEN);
	CHECK(tx_sign(&tx, a->sk));
	struct enc e;
	enc_init_fixed(&e, t->bytes, sizeof(t->bytes));
	tx_encode(&e, &tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	t->len = e.len;
	CHECK(tx_decode(&t->tx, t->bytes, t->len) == CODEC_OK);
	CHECK(tx_verify_sig(&t->tx, t->bytes, t->len));
	tx_id(t->id, t->bytes, t->tx.body_len);
}

static struct mempool *pool_new(uint32_t ready, size_t ready_bytes, uint32_t future,
                                size_t future_bytes, uint32_t per_sender, uint32_t seen)
{
	struct mempool_config cfg = {ready,      ready_bytes, future, future_bytes,
	                             per_sender, seen,        10};
	struct mempool *mp = NULL;
	CHECK(mempool_new(&mp, &cfg) == MEMPOOL_OK);
	return mp;
}

static struct mempool *pool_default(void)
{
	struct mempool_config cfg;
	mempool_config_default(&cfg);
	struct mempool *mp = NULL;
	CHECK(mempool_new(&mp, &cfg) == MEMPOOL_OK);
	return mp;
}

/* Adds t with a fee of rate per byte. */
static enum mempool_result add_rate(struct mempool *mp, const struct ttx *t, uint64_t account_nonce,
                                    uint64_t rate, enum mempool_status *where)
{
	enum mempool_status w = 0;
	enum mempool_result r = mempool_add(mp, t->bytes, t->len, &t->tx, t->id, account_nonce,
	                                    (u128)rate * t->len, &w);
	if (where)
		*where = w;
	return r;
}

static enum mempool_status status_of(struct mempool *mp, const struct ttx *t)
{
	struct mempool_info info;
	if (!mempool_get(mp, t->id, &info, NULL, 0))
		return 0;
	return info.status;
}

static bool pending(struct mempool *mp, const struct ttx *t)
{
	return status_of(mp, t) != 0;
}

/* Nonce look-up over a small table of accounts, for mempool_update. */
struct chain_view {
	const struct acct *accts;
	const uint64_t *nonces;
	const bool *exists;
	size_t n;
	int rechecks;
	uint64_t drop_nonce; /* recheck drops the tx with this nonce (UINT64_MAX: none) */
};

static bool view_nonce(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce)
{
	const struct chain_view *v = ctx;
	for (size_t i = 0; i < v->n; i++) {
		if (memcmp(v->accts[i].pk, sender, TX_ACCOUNT_LEN) == 0) {
			*nonce = v->nonces[i];
			return v->exists ? v->exists[i] : true;
		}
	}
	*nonce = 0;
	return true;
}

static bool view_recheck(void *ctx, const uint8_t *bytes, size_t len, const struct tx *tx)
{
	struct chain_view *v = ctx;
	struct tx again;
	CHECK(tx_decode(&again, bytes, len) == CODEC_OK && again.nonce == tx->nonce);
	v->rechecks++;
	return tx->nonce != v->drop_nonce;
}

/* ---- cases -------------------------------------------------------------------------------- */

static void ready_future_promotion(void)
{
	struct mempool *mp = pool_default();
	struct acct a;
	acct_make(&a, 1);
	struct ttx t[4];
	for (int i = 0; i < 4; i++)
		ttx_make(&t[i], &a, 5 + i, 10, i, 100);
	enum mempool_status w;
	CHECK(add_rate(mp, &t[0], 5, 1, &w) == MEMPOOL_OK && w == MEMPOOL_READY);
	CHECK(add_rate(mp, &t[2], 5, 1, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(add_rate(mp, &t[3], 5, 1, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(mempool_sender_next_nonce(mp, a.pk, 5) == 6);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 1 && st.future_txs == 2 && st.senders == 1);
	CHECK(st.ready_bytes == t[0].len && st.future_bytes == t[2].len + t[3].len);
	CHECK(mempool_check_invariants(mp));
	CHECK(add_rate(mp, &t[1], 5, 1, &w) == MEMPOOL_OK && w == MEMPOOL_READY);
	for (int i = 0; i < 4; i++)
		CHECK(status_of(mp, &t[i]) == MEMPOOL_READY);
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 4 && st.future_txs == 0 && st.future_bytes == 0);
	CHECK(mempool_sender_next_nonce(mp, a.pk, 5) == 9);
	CHECK(mempool_sender_next_nonce(mp, a.pk, 7) == 9);
	CHECK(mempool_sender_next_nonce(mp, a.pk, 20) == 20);
	struct mempool_info info;
	uint8_t copy[sizeof(t[1].bytes)];
	CHECK(mempool_get(mp, t[1].id, &info, copy, sizeof(copy)));
	CHECK(info.nonce == 6 && info.len == t[1].len && info.priority_fee == t[1].len);
	CHECK_EQ_MEM(copy, t[1].bytes, t[1].len);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

/* Reaps everything and returns the count; ids go to out. */
static size_t reap_ids(struct mempool *mp, size_t max_bytes, size_t max_txs,
                       uint8_t out[][TX_ID_LEN])
{
	static uint8_t buf[1 << 16];
	struct mempool_item items[64];
	CHECK(max_txs <= 64 && max_bytes <= sizeof(buf));
	size_t n = mempool_reap(mp, buf, max_bytes, items, max_txs);
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(items[i].offset == off);
		off += items[i].len;
		struct tx tx;
		uint8_t id[TX_ID_LEN];
		CHECK(tx_decode(&tx, buf + items[i].offset, items[i].len) == CODEC_OK);
		tx_id(id, buf + items[i].offset, tx.body_len);
		CHECK_EQ_MEM(id, items[i].txid, TX_ID_LEN);
		memcpy(out[i], id, TX_ID_LEN);
	}
	CHECK(off <= max_bytes);
	return n;
}

static void reap_order(void)
{
	struct mempool *mp = pool_default();
	struct acct a, b, c;
	acct_make(&a, 1);
	acct_make(&b, 2);
	acct_make(&c, 3);
	struct ttx a0, a1, b0, b1, c0;
	ttx_make(&a0, &a, 0, 0, 1, 100);
	ttx_make(&a1, &a, 1, 0, 2, 100);
	ttx_make(&b0, &b, 0, 0, 3, 100);
	ttx_make(&b1, &b, 1, 0, 4, 100);
	ttx_make(&c0, &c, 0, 400, 5, 100);
	/* a: 1 then 9 per byte; b: 5 then 5 (b1 arrives after c0); c: 5 per byte but large. */
	CHECK(add_rate(mp, &a0, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &a1, 0, 9, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b0, 0, 5, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &c0, 0, 5, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b1, 0, 5, NULL) == MEMPOOL_OK);
	uint8_t ids[64][TX_ID_LEN];
	const struct ttx *want[] = {&b0, &c0, &b1, &a0, &a1};
	CHECK(reap_ids(mp, 1 << 16, 64, ids) == 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_MEM(ids[i], want[i]->id, TX_ID_LEN);
	/* Reaping does not remove, and max_txs cuts the list. */
	CHECK(reap_ids(mp, 1 << 16, 2, ids) == 2);
	CHECK_EQ_MEM(ids[0], b0.id, TX_ID_LEN);
	CHECK_EQ_MEM(ids[1], c0.id, TX_ID_LEN);
	/* c0 does not fit: others continue; a0 does not fit either, so a1 may not go. */
	size_t room = b0.len + b1.len + a0.len - 1;
	CHECK(reap_ids(mp, room, 64, ids) == 2);
	CHECK_EQ_MEM(ids[0], b0.id, TX_ID_LEN);
	CHECK_EQ_MEM(ids[1], b1.id, TX_ID_LEN);
	CHECK(reap_ids(mp, 0, 64, ids) == 0);
	mempool_free(mp);
}

static void reap_ties_by_arrival(void)
{
	struct mempool *mp = pool_default();
	enum { N = 12 };
	struct ttx t[N];
	for (uint32_t i = 0; i < N; i++) {
		struct acct a;
		acct_make(&a, 50 + (i * 7) % N); /* arrival order unrelated to key order */
		ttx_make(&t[i], &a, 0, 0, i, 100);
		CHECK(add_rate(mp, &t[i], 0, 3, NULL) == MEMPOOL_OK);
	}
	uint8_t ids[64][TX_ID_LEN];
	CHECK(reap_ids(mp, 1 << 16, 64, ids) == N);
	for (int i = 0; i < N; i++)
		CHECK_EQ_MEM(ids[i], t[i].id, TX_ID_LEN);
	mempool_free(mp);
}

static void future_not_reaped(void)
{
	struct mempool *mp = pool_default();
	struct acct a;
	acct_make(&a, 1);
	struct ttx t0, t2;
	ttx_make(&t0, &a, 0, 0, 0, 100);
	ttx_make(&t2, &a, 2, 0, 0, 100);
	CHECK(add_rate(mp, &t0, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t2, 0, 100, NULL) == MEMPOOL_OK);
	uint8_t ids[64][TX_ID_LEN];
	CHECK(reap_ids(mp, 1 << 16, 64, ids) == 1);
	CHECK_EQ_MEM(ids[0], t0.id, TX_ID_LEN);
	mempool_free(mp);
}

static void replacement(void)
{
	struct mempool *mp = pool_default();
	struct acct a;
	acct_make(&a, 1);
	struct ttx old, low, ok, fut, fut2;
	ttx_make(&old, &a, 0, 0, 1, 100);
	ttx_make(&low, &a, 0, 0, 2, 100);
	ttx_make(&ok, &a, 0, 0, 3, 100);
	ttx_make(&fut, &a, 3, 0, 4, 100);
	ttx_make(&fut2, &a, 3, 0, 5, 100);
	CHECK(old.len == low.len && low.len == ok.len);
	enum mempool_status w;
	CHECK(add_rate(mp, &old, 0, 100, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &old, 0, 200, NULL) == MEMPOOL_DUPLICATE);
	CHECK(add_rate(mp, &low, 0, 109, NULL) == MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(add_rate(mp, &low, 0, 100, NULL) == MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(add_rate(mp, &low, 0, 50, NULL) == MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(pending(mp, &old) && !pending(mp, &low));
	CHECK(add_rate(mp, &ok, 0, 110, &w) == MEMPOOL_OK && w == MEMPOOL_READY);
	CHECK(!pending(mp, &old) && status_of(mp, &ok) == MEMPOOL_READY);
	/* The replaced tx comes back with its old fee: the slot is taken at a higher one. */
	CHECK(add_rate(mp, &old, 0, 100, NULL) == MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(add_rate(mp, &fut, 0, 10, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(add_rate(mp, &fut2, 0, 11, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(!pending(mp, &fut) && status_of(mp, &fut2) == MEMPOOL_FUTURE);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 1 && st.future_txs == 1 && st.ready_bytes == ok.len);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);

	/* Zero fees: a replacement must pay strictly more, even though 0 >= 0 * 110%. */
	mp = pool_default();
	CHECK(add_rate(mp, &old, 0, 0, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &low, 0, 0, NULL) == MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(add_rate(mp, &low, 0, 1, NULL) == MEMPOOL_OK);
	mempool_free(mp);
}

static void nonce_window_and_sender_cap(void)
{
	struct mempool *mp = pool_new(64, 1 << 20, 64, 1 << 20, 4, 64);
	struct acct a;
	acct_make(&a, 1);
	struct ttx t[8];
	for (int i = 0; i < 8; i++)
		ttx_make(&t[i], &a, 10 + i, 0, i, 100);
	CHECK(add_rate(mp, &t[5], 10, 1, NULL) == MEMPOOL_NONCE_TOO_FAR); /* 15 > 10 + 4 */
	CHECK(add_rate(mp, &t[4], 10, 1, NULL) == MEMPOOL_OK);            /* 14 = 10 + 4 */
	for (int i = 0; i < 3; i++)
		CHECK(add_rate(mp, &t[i], 10, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[3], 10, 1, NULL) == MEMPOOL_SENDER_FULL);
	struct ttx stale;
	ttx_make(&stale, &a, 9, 0, 99, 100);
	CHECK(add_rate(mp, &stale, 10, 1, NULL) == MEMPOOL_STALE_NONCE);
	CHECK(mempool_check_invariants(mp));
	/* A newer account nonce given with an add drops the txs below it (marked seen). */
	CHECK(add_rate(mp, &t[3], 12, 1, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &t[0]) && !pending(mp, &t[1]));
	CHECK(status_of(mp, &t[2]) == MEMPOOL_READY && status_of(mp, &t[4]) == MEMPOOL_READY);
	CHECK(add_rate(mp, &t[0], 12, 1, NULL) == MEMPOOL_SEEN);
	/* An older view of the account nonce does not resurrect nonce 11. */
	struct ttx t1b;
	ttx_make(&t1b, &a, 11, 0, 77, 100);
	CHECK(add_rate(mp, &t1b, 10, 1, NULL) == MEMPOOL_STALE_NONCE);
	CHECK(mempool_sender_next_nonce(mp, a.pk, 0) == 15);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void count_cap_eviction(void)
{
	struct mempool *mp = pool_new(4, 1 << 20, 4, 1 << 20, 16, 64);
	struct acct ac[8];
	struct ttx t[8];
	for (uint32_t i = 0; i < 8; i++) {
		acct_make(&ac[i], i);
		ttx_make(&t[i], &ac[i], 0, 0, i, 100);
	}
	/* Rates 3, 2, 2, 5: t1 and t2 tie at the bottom, t1 older. */
	CHECK(add_rate(mp, &t[0], 0, 3, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[1], 0, 2, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[2], 0, 2, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[3], 0, 5, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[4], 0, 1, NULL) == MEMPOOL_FULL);
	CHECK(add_rate(mp, &t[4], 0, 2, NULL) == MEMPOOL_FULL); /* equal does not beat */
	CHECK(add_rate(mp, &t[4], 0, 4, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &t[1]) && pending(mp, &t[2]));
	CHECK(add_rate(mp, &t[5], 0, 4, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &t[2]) && pending(mp, &t[0]));
	CHECK(add_rate(mp, &t[6], 0, 3, NULL) == MEMPOOL_FULL);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 4);
	/* An evicted tx is not remembered as seen: it may come back at a better fee. */
	CHECK(add_rate(mp, &t[1], 0, 10, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &t[0]));
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void eviction_takes_dependents(void)
{
	struct mempool *mp = pool_new(3, 1 << 20, 4, 1 << 20, 16, 64);
	struct acct x, y, z, v;
	acct_make(&x, 1);
	acct_make(&y, 2);
	acct_make(&z, 3);
	acct_make(&v, 4);
	struct ttx x0, x1, x3, y0, z0, z1, z2, z3, v0;
	ttx_make(&x0, &x, 0, 0, 1, 100);
	ttx_make(&x1, &x, 1, 0, 2, 100);
	ttx_make(&x3, &x, 3, 0, 3, 100);
	ttx_make(&y0, &y, 0, 0, 4, 100);
	ttx_make(&z0, &z, 0, 0, 5, 100);
	ttx_make(&z1, &z, 1, 0, 6, 100);
	ttx_make(&z2, &z, 2, 0, 7, 100);
	ttx_make(&z3, &z, 3, 0, 8, 100);
	ttx_make(&v0, &v, 0, 0, 9, 100);
	CHECK(add_rate(mp, &x0, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &x1, 0, 50, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &x3, 0, 50, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &y0, 0, 20, NULL) == MEMPOOL_OK);
	/* Evicting x0 takes x1 (ready) and x3 (future) along, although they pay more. */
	CHECK(add_rate(mp, &z0, 0, 30, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &x0) && !pending(mp, &x1) && !pending(mp, &x3));
	CHECK(add_rate(mp, &z1, 0, 30, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &z2, 0, 100, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &y0));
	/* The sender's own earlier txs are never evicted for its later ones. */
	CHECK(add_rate(mp, &z3, 0, 1000, NULL) == MEMPOOL_FULL);
	CHECK(pending(mp, &z0) && pending(mp, &z1) && pending(mp, &z2));
	CHECK(add_rate(mp, &v0, 0, 31, NULL) == MEMPOOL_OK);
	CHECK(!pending(mp, &z0) && !pending(mp, &z1) && !pending(mp, &z2));
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 1 && st.future_txs == 0 && st.senders == 1);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void byte_cap_eviction_is_all_or_nothing(void)
{
	struct ttx probe;
	struct acct ac[5];
	for (uint32_t i = 0; i < 5; i++)
		acct_make(&ac[i], 10 + i);
	ttx_make(&probe, &ac[0], 0, 0, 0, 100);
	struct mempool *mp = pool_new(64, 3 * probe.len + 50, 8, 1 << 20, 16, 64);
	struct ttx t[3], big, huge;
	for (uint32_t i = 0; i < 3; i++)
		ttx_make(&t[i], &ac[i], 0, 0, i, 100);
	ttx_make(&big, &ac[3], 0, 300, 3, 100);
	ttx_make(&huge, &ac[4], 0, MAX_PAYLOAD, 4, 100);
	CHECK(add_rate(mp, &t[0], 0, 10, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[1], 0, 20, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &t[2], 0, 30, NULL) == MEMPOOL_OK);
	/* big needs all three gone; at 25 it beats two of them only: nothing may change. */
	CHECK(add_rate(mp, &big, 0, 25, NULL) == MEMPOOL_FULL);
	for (int i = 0; i < 3; i++)
		CHECK(status_of(mp, &t[i]) == MEMPOOL_READY);
	CHECK(mempool_check_invariants(mp));
	CHECK(add_rate(mp, &big, 0, 31, NULL) == MEMPOOL_OK);
	for (int i = 0; i < 3; i++)
		CHECK(!pending(mp, &t[i]));
	CHECK(add_rate(mp, &huge, 0, 1000, NULL) == MEMPOOL_FULL); /* larger than the cap */
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 1 && st.ready_bytes == big.len);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void future_cap(void)
{
	struct mempool *mp = pool_new(8, 1 << 20, 2, 1 << 20, 16, 64);
	struct acct a, b;
	acct_make(&a, 1);
	acct_make(&b, 2);
	struct ttx a1, a2, b1, b2;
	ttx_make(&a1, &a, 1, 0, 1, 100);
	ttx_make(&a2, &a, 2, 0, 2, 100);
	ttx_make(&b1, &b, 1, 0, 3, 100);
	ttx_make(&b2, &b, 2, 0, 4, 100);
	enum mempool_status w;
	CHECK(add_rate(mp, &a1, 0, 5, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(add_rate(mp, &a2, 0, 6, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(add_rate(mp, &b1, 0, 5, NULL) == MEMPOOL_FULL);
	CHECK(add_rate(mp, &b1, 0, 7, &w) == MEMPOOL_OK && w == MEMPOOL_FUTURE);
	CHECK(!pending(mp, &a1) && !pending(mp, &a2)); /* a2 goes with a1 */
	CHECK(add_rate(mp, &b2, 0, 1, NULL) == MEMPOOL_OK);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.future_txs == 2 && st.ready_txs == 0 && st.future_bytes == b1.len + b2.len);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void seen_cache(void)
{
	struct mempool *mp = pool_new(8, 1 << 20, 8, 1 << 20, 16, 4);
	struct acct a;
	acct_make(&a, 1);
	struct ttx t0;
	ttx_make(&t0, &a, 0, 0, 0, 100);
	mempool_mark_seen(mp, t0.id);
	mempool_mark_seen(mp, t0.id); /* no double entry */
	CHECK(add_rate(mp, &t0, 0, 1, NULL) == MEMPOOL_SEEN);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.seen == 1 && st.ready_txs == 0);
	for (uint8_t i = 0; i < 4; i++) {
		uint8_t id[TX_ID_LEN];
		memset(id, i + 1, sizeof(id));
		mempool_mark_seen(mp, id);
	}
	mempool_stats(mp, &st);
	CHECK(st.seen == 4);
	CHECK(mempool_check_invariants(mp));
	CHECK(add_rate(mp, &t0, 0, 1, NULL) == MEMPOOL_OK); /* forgotten: the oldest went first */
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void update_after_block(void)
{
	struct mempool *mp = pool_default();
	struct acct ac[2];
	acct_make(&ac[0], 1);
	acct_make(&ac[1], 2);
	struct ttx a[4], b[2];
	for (int i = 0; i < 4; i++)
		ttx_make(&a[i], &ac[0], i, 0, i, 100);
	for (int i = 0; i < 2; i++)
		ttx_make(&b[i], &ac[1], i, 0, 10 + i, 100);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			CHECK(add_rate(mp, &a[i], 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b[0], 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b[1], 0, 1, NULL) == MEMPOOL_OK);
	uint64_t nonces[2] = {2, 0};
	bool exists[2] = {true, true};
	struct chain_view v = {ac, nonces, exists, 2, 0, UINT64_MAX};
	mempool_update(mp, view_nonce, view_recheck, &v, 1);
	CHECK(!pending(mp, &a[0]) && !pending(mp, &a[1]));
	CHECK(status_of(mp, &a[3]) == MEMPOOL_FUTURE && status_of(mp, &b[1]) == MEMPOOL_READY);
	CHECK(v.rechecks == 1); /* only a's remaining tx: b's nonce did not move */
	CHECK(add_rate(mp, &a[0], 0, 1, NULL) == MEMPOOL_SEEN);
	CHECK(add_rate(mp, &a[1], 2, 1, NULL) == MEMPOOL_SEEN);
	CHECK(add_rate(mp, &a[2], 2, 1, NULL) == MEMPOOL_OK);
	CHECK(status_of(mp, &a[3]) == MEMPOOL_READY);
	CHECK(mempool_check_invariants(mp));
	/* b's nonce moves to 1 and the recheck rejects b1: it is dropped, not marked seen. */
	nonces[1] = 1;
	v.drop_nonce = 1;
	v.rechecks = 0;
	mempool_update(mp, view_nonce, view_recheck, &v, 1);
	CHECK(!pending(mp, &b[0]) && !pending(mp, &b[1]) && v.rechecks == 1);
	CHECK(add_rate(mp, &b[1], 1, 1, NULL) == MEMPOOL_OK);
	/* An account that no longer exists loses all its txs. */
	exists[0] = false;
	mempool_update(mp, view_nonce, NULL, &v, 1);
	CHECK(!pending(mp, &a[2]) && !pending(mp, &a[3]) && pending(mp, &b[1]));
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == 1 && st.senders == 1);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void expiry(void)
{
	struct mempool *mp = pool_default();
	struct acct ac[2];
	acct_make(&ac[0], 1);
	acct_make(&ac[1], 2);
	struct ttx a0, a1, a2, b0, a1x, a1y;
	ttx_make(&a0, &ac[0], 0, 0, 0, 100);
	ttx_make(&a1, &ac[0], 1, 0, 1, 5);
	ttx_make(&a2, &ac[0], 2, 0, 2, 100);
	ttx_make(&b0, &ac[1], 0, 0, 3, 5);
	ttx_make(&a1x, &ac[0], 1, 0, 4, 5);
	ttx_make(&a1y, &ac[0], 1, 0, 5, 6);
	CHECK(add_rate(mp, &a0, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &a1, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &a2, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b0, 0, 1, NULL) == MEMPOOL_OK);
	uint64_t nonces[2] = {0, 0};
	struct chain_view v = {ac, nonces, NULL, 2, 0, UINT64_MAX};
	mempool_update(mp, view_nonce, NULL, &v, 5); /* height 5 may still include them */
	CHECK(pending(mp, &a1) && pending(mp, &b0));
	mempool_update(mp, view_nonce, NULL, &v, 6);
	CHECK(pending(mp, &a0) && !pending(mp, &a1) && !pending(mp, &a2) && !pending(mp, &b0));
	CHECK(add_rate(mp, &a1, 0, 1, NULL) == MEMPOOL_SEEN);
	CHECK(add_rate(mp, &a2, 0, 1, NULL) == MEMPOOL_OK); /* not expired: it may come back */
	CHECK(add_rate(mp, &a1x, 0, 1, NULL) == MEMPOOL_EXPIRED);
	CHECK(add_rate(mp, &a1y, 0, 1, NULL) == MEMPOOL_OK);
	CHECK(status_of(mp, &a2) == MEMPOOL_READY);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void update_promotion_respects_caps(void)
{
	struct mempool *mp = pool_new(3, 1 << 20, 8, 1 << 20, 16, 64);
	struct acct ac[2];
	acct_make(&ac[0], 1);
	acct_make(&ac[1], 2);
	struct ttx a[5], b[2];
	for (int i = 0; i < 5; i++)
		ttx_make(&a[i], &ac[0], i, 0, i, 100);
	for (int i = 0; i < 2; i++)
		ttx_make(&b[i], &ac[1], i, 0, 10 + i, 100);
	CHECK(add_rate(mp, &a[0], 0, 1, NULL) == MEMPOOL_OK);
	for (int i = 2; i < 5; i++)
		CHECK(add_rate(mp, &a[i], 0, 10, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b[0], 0, 5, NULL) == MEMPOOL_OK);
	CHECK(add_rate(mp, &b[1], 0, 6, NULL) == MEMPOOL_OK);
	uint64_t nonces[2] = {2, 0}; /* a1 was included from elsewhere */
	struct chain_view v = {ac, nonces, NULL, 2, 0, UINT64_MAX};
	mempool_update(mp, view_nonce, NULL, &v, 1);
	for (int i = 2; i < 5; i++)
		CHECK(status_of(mp, &a[i]) == MEMPOOL_READY);
	CHECK(!pending(mp, &b[0]) && !pending(mp, &b[1]));
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

static void remove_cuts_later_nonces(void)
{
	struct mempool *mp = pool_default();
	struct acct ac;
	acct_make(&ac, 1);
	struct ttx a[3];
	for (int i = 0; i < 3; i++) {
		ttx_make(&a[i], &ac, i, 0, i, 100);
		CHECK(add_rate(mp, &a[i], 0, 1, NULL) == MEMPOOL_OK);
	}
	CHECK(mempool_remove(mp, a[1].id));
	CHECK(!mempool_remove(mp, a[1].id));
	CHECK(pending(mp, &a[0]) && !pending(mp, &a[1]) && !pending(mp, &a[2]));
	CHECK(add_rate(mp, &a[1], 0, 1, NULL) == MEMPOOL_OK); /* removal is not "seen" */
	CHECK(mempool_sender_next_nonce(mp, ac.pk, 0) == 2);
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

/* Fee x length products pass 128 bits: ordering and the bump rule must still be exact. */
static void huge_fees(void)
{
	const u128 max = ~(u128)0;
	struct mempool *mp = pool_default();
	struct acct a, b;
	acct_make(&a, 1);
	acct_make(&b, 2);
	struct ttx ta, tb, ta2, ta3;
	ttx_make(&ta, &a, 0, 1, 1, 100);
	ttx_make(&tb, &b, 0, 0, 2, 100);
	ttx_make(&ta2, &a, 0, 1, 3, 100);
	ttx_make(&ta3, &a, 0, 1, 4, 100);
	CHECK(ta.len == tb.len + 1);
	enum mempool_status w;
	/* Same huge fee: the shorter tx pays more per byte although it arrived later. */
	CHECK(mempool_add(mp, ta.bytes, ta.len, &ta.tx, ta.id, 0, max / 2, &w) == MEMPOOL_OK);
	CHECK(mempool_add(mp, tb.bytes, tb.len, &tb.tx, tb.id, 0, max / 2, &w) == MEMPOOL_OK);
	uint8_t ids[64][TX_ID_LEN];
	CHECK(reap_ids(mp, 1 << 16, 64, ids) == 2);
	CHECK_EQ_MEM(ids[0], tb.id, TX_ID_LEN);
	/* old * 110 overflows 128 bits; one unit below ceil(old * 1.1) is not enough. */
	u128 need = max / 2 + max / 20 + 1; /* ceil(1.1 * (max / 2)) since max / 2 is odd */
	CHECK(mempool_add(mp, ta2.bytes, ta2.len, &ta2.tx, ta2.id, 0, need - 1, &w) ==
	      MEMPOOL_FEE_BUMP_TOO_SMALL);
	CHECK(mempool_add(mp, ta3.bytes, ta3.len, &ta3.tx, ta3.id, 0, need, &w) == MEMPOOL_OK);
	CHECK(pending(mp, &ta3) && !pending(mp, &ta));
	mempool_free(mp);
}

static void strerror_messages(void)
{
	for (int r = MEMPOOL_OK; r <= MEMPOOL_NOMEM; r++) {
		const char *m = mempool_strerror((enum mempool_result)r);
		CHECK(m != NULL && strcmp(m, "unknown mempool error") != 0);
		for (int q = MEMPOOL_OK; q < r; q++)
			CHECK(strcmp(m, mempool_strerror((enum mempool_result)q)) != 0);
	}
	CHECK_STR(mempool_strerror((enum mempool_result)999), "unknown mempool error");
}

/* ---- randomized invariant test ------------------------------------------------------------ */

#define R_ACCTS  12
#define R_RECENT 64

struct rmodel {
	struct mempool *mp;
	uint64_t rng;
	struct acct accts[R_ACCTS];
	uint64_t chain_nonce[R_ACCTS];
	bool exists[R_ACCTS];
	uint64_t height;
	struct ttx recent[R_RECENT]; /* txs offered lately, for re-submission, remove, seen */
	uint32_t n_recent;
	uint32_t salt;
	uint64_t drop_nonce;
	long results[MEMPOOL_NOMEM + 1]; /* outcomes of r_add_new, to show the run reached them */
};

static uint64_t rnd(struct rmodel *m, uint64_t n)
{
	return check_rand(&m->rng) % n;
}

static bool r_recheck(void *ctx, const uint8_t *bytes, size_t len, const struct tx *tx)
{
	const struct rmodel *m = ctx;
	(void)bytes;
	(void)len;
	return tx->nonce != m->drop_nonce;
}

static bool r_nonce(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce)
{
	const struct rmodel *m = ctx;
	for (int i = 0; i < R_ACCTS; i++) {
		if (memcmp(m->accts[i].pk, sender, TX_ACCOUNT_LEN) == 0) {
			*nonce = m->chain_nonce[i];
			return m->exists[i];
		}
	}
	CHECK(!"unknown sender");
	return false;
}

static void r_add_new(struct rmodel *m)
{
	int i = rnd(m, 3) == 0 ? 0 : (int)rnd(m, R_ACCTS); /* a busy sender reaches its cap */
	uint64_t nonce = m->chain_nonce[i] + rnd(m, 7);
	if (nonce > 0 && rnd(m, 10) == 0)
		nonce--;
	struct ttx *t = &m->recent[m->n_recent++ % R_RECENT];
	ttx_make(t, &m->accts[i], nonce, rnd(m, 300), m->salt++, m->height + rnd(m, 20));
	uint64_t told = m->chain_nonce[i] - (m->chain_nonce[i] > 0 && rnd(m, 4) == 0);
	enum mempool_status w = 0;
	enum mempool_result r = add_rate(m->mp, t, told, 1 + rnd(m, 20), &w);
	m->exists[i] = true;
	m->results[r]++;
	CHECK(r != MEMPOOL_NOMEM && r != MEMPOOL_DUPLICATE && r != MEMPOOL_SEEN);
	CHECK(r != MEMPOOL_EXPIRED); /* valid_until >= height */
	CHECK(r != MEMPOOL_OK || status_of(m->mp, t) == w);
	CHECK(r == MEMPOOL_OK || !pending(m->mp, t));
	CHECK(nonce >= told || r == MEMPOOL_STALE_NONCE);
	/* The pool's account nonce lies in [told, chain nonce]. */
	CHECK(nonce <= m->chain_nonce[i] + 5 || r == MEMPOOL_NONCE_TOO_FAR);
}

static void r_resubmit(struct rmodel *m)
{
	if (m->n_recent == 0)
		return;
	struct ttx *t = &m->recent[rnd(m, m->n_recent < R_RECENT ? m->n_recent : R_RECENT)];
	bool was = pending(m->mp, t);
	enum mempool_result r = add_rate(m->mp, t, 0, 1 + rnd(m, 40), NULL);
	CHECK(!was || r == MEMPOOL_DUPLICATE);
	if (rnd(m, 2)) {
		CHECK(mempool_remove(m->mp, t->id) == (r == MEMPOOL_OK || was));
		CHECK(!pending(m->mp, t));
	} else {
		mempool_mark_seen(m->mp, t->id);
		r = add_rate(m->mp, t, 0, 1, NULL);
		CHECK(r == MEMPOOL_SEEN || r == MEMPOOL_DUPLICATE);
	}
}

static void r_update(struct rmodel *m)
{
	for (int i = 0; i < R_ACCTS; i++) {
		m->chain_nonce[i] += rnd(m, 4) == 0 ? rnd(m, 4) : 0;
		m->exists[i] = rnd(m, 30) != 0;
	}
	m->height += rnd(m, 3);
	m->drop_nonce = rnd(m, 3) == 0 ? rnd(m, 20) : UINT64_MAX;
	mempool_update(m->mp, r_nonce, r_recheck, m, m->height);
	for (uint32_t k = 0; k < R_RECENT && k < m->n_recent; k++) {
		struct mempool_info info;
		if (!mempool_get(m->mp, m->recent[k].id, &info, NULL, 0))
			continue;
		CHECK(m->recent[k].tx.valid_until >= m->height);
		for (int i = 0; i < R_ACCTS; i++)
			if (memcmp(m->accts[i].pk, m->recent[k].tx.sender, TX_ACCOUNT_LEN) == 0)
				CHECK(info.nonce >= m->chain_nonce[i] && m->exists[i]);
	}
}

/* Each sender's txs come out with consecutive nonces, within the limits. */
static void r_reap(struct rmodel *m)
{
	static uint8_t buf[1 << 16];
	struct mempool_item items[64];
	size_t max_bytes = rnd(m, sizeof(buf)), max_txs = rnd(m, 64);
	size_t n = mempool_reap(m->mp, buf, max_bytes, items, max_txs);
	CHECK(n <= max_txs);
	uint64_t last[R_ACCTS];
	bool seen_acct[R_ACCTS] = {false};
	size_t total = 0;
	for (size_t k = 0; k < n; k++) {
		struct tx tx;
		CHECK(tx_decode(&tx, buf + items[k].offset, items[k].len) == CODEC_OK);
		total += items[k].len;
		for (int i = 0; i < R_ACCTS; i++) {
			if (memcmp(m->accts[i].pk, tx.sender, TX_ACCOUNT_LEN) != 0)
				continue;
			CHECK(!seen_acct[i] || tx.nonce == last[i] + 1);
			seen_acct[i] = true;
			last[i] = tx.nonce;
		}
	}
	CHECK(total <= max_bytes);
}

static void randomized_invariants(void)
{
	struct rmodel *m = calloc(1, sizeof(*m));
	m->rng = check_seed();
	m->mp = pool_new(24, 24 * 300, 6, 6 * 300, 5, 32);
	for (int i = 0; i < R_ACCTS; i++) {
		acct_make(&m->accts[i], 100 + i);
		m->exists[i] = true;
	}
	long iters = check_iters(4000);
	int before = check_failures;
	for (long it = 0; it < iters && check_failures == before; it++) {
		uint64_t op = rnd(m, 100);
		if (op < 65)
			r_add_new(m);
		else if (op < 80)
			r_resubmit(m);
		else if (op < 90)
			r_update(m);
		else
			r_reap(m);
		CHECK(mempool_check_invariants(m->mp));
	}
	if (iters >= 1000) {
		static const enum mempool_result must[] = {MEMPOOL_OK,
		                                           MEMPOOL_STALE_NONCE,
		                                           MEMPOOL_NONCE_TOO_FAR,
		                                           MEMPOOL_FEE_BUMP_TOO_SMALL,
		                                           MEMPOOL_FULL,
		                                           MEMPOOL_SENDER_FULL};
		for (size_t k = 0; k < sizeof(must) / sizeof(must[0]); k++)
			CHECK(m->results[must[k]] > 0);
	}
	for (int r = 0; r <= MEMPOOL_NOMEM; r++)
		fprintf(stderr, "  %s: %ld\n", mempool_strerror((enum mempool_result)r),
		        m->results[r]);
	mempool_free(m->mp);
	free(m);
}

/* ---- threads ---------------------------------------------------------------------------- */

#define T_THREADS 4
#define T_SENDERS 64
#define T_NONCES  8

struct tworker {
	struct mempool *mp;
	struct ttx *txs; /* T_SENDERS * T_NONCES, shuffled */
	int failures;
	long *producer_rounds; /* adds start once the producer has run, so the two overlap */
};

static void *t_add(void *arg)
{
	struct tworker *w = arg;
	while (__atomic_load_n(w->producer_rounds, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (int i = 0; i < T_SENDERS * T_NONCES; i++) {
		const struct ttx *t = &w->txs[i];
		enum mempool_status st;
		if (mempool_add(w->mp, t->bytes, t->len, &t->tx, t->id, 0,
		                (u128)t->len * (1 + i % 7), &st) != MEMPOOL_OK)
			w->failures++;
	}
	return NULL;
}

static bool t_nonce_zero(void *ctx, const uint8_t sender[TX_ACCOUNT_LEN], uint64_t *nonce)
{
	(void)ctx;
	(void)sender;
	*nonce = 0;
	return true;
}

struct tproducer {
	struct mempool *mp;
	volatile int *stop;
	long rounds;
};

static void *t_produce(void *arg)
{
	struct tproducer *p = arg;
	static uint8_t buf[1 << 20];
	static struct mempool_item items[1024];
	while (!__atomic_load_n(p->stop, __ATOMIC_ACQUIRE)) {
		mempool_reap(p->mp, buf, sizeof(buf), items, 1024);
		mempool_update(p->mp, t_nonce_zero, NULL, NULL, 0);
		struct mempool_stats st;
		mempool_stats(p->mp, &st);
		__atomic_add_fetch(&p->rounds, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void threaded_adds(void)
{
	/* Shuffled nonces park up to 7 of each sender's 8 txs in future: room for all of them. */
	struct mempool *mp =
	    pool_new(8192, 20 << 20, T_THREADS * T_SENDERS * T_NONCES, 4 << 20, 16, 1024);
	uint64_t rng = check_seed();
	struct tworker w[T_THREADS];
	for (int k = 0; k < T_THREADS; k++) {
		w[k] =
		    (struct tworker){mp, calloc(T_SENDERS * T_NONCES, sizeof(struct ttx)), 0, NULL};
		for (int s = 0; s < T_SENDERS; s++) {
			struct acct a;
			acct_make(&a, 1000 + k * T_SENDERS + s);
			for (int n = 0; n < T_NONCES; n++)
				ttx_make(&w[k].txs[s * T_NONCES + n], &a, n, n * 3, k, 100);
		}
		for (int i = T_SENDERS * T_NONCES - 1; i > 0; i--) {
			int j = (int)(check_rand(&rng) % (uint64_t)(i + 1));
			struct ttx tmp = w[k].txs[i];
			w[k].txs[i] = w[k].txs[j];
			w[k].txs[j] = tmp;
			/* the copies moved: re-point payloads into their own bytes */
			CHECK(tx_decode(&w[k].txs[i].tx, w[k].txs[i].bytes, w[k].txs[i].len) == 0);
			CHECK(tx_decode(&w[k].txs[j].tx, w[k].txs[j].bytes, w[k].txs[j].len) == 0);
		}
	}
	volatile int stop = 0;
	struct tproducer p = {mp, &stop, 0};
	for (int k = 0; k < T_THREADS; k++)
		w[k].producer_rounds = &p.rounds;
	pthread_t th[T_THREADS], prod;
	CHECK(pthread_create(&prod, NULL, t_produce, &p) == 0);
	for (int k = 0; k < T_THREADS; k++)
		CHECK(pthread_create(&th[k], NULL, t_add, &w[k]) == 0);
	for (int k = 0; k < T_THREADS; k++)
		pthread_join(th[k], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(prod, NULL);
	struct mempool_stats st;
	mempool_stats(mp, &st);
	CHECK(st.ready_txs == T_THREADS * T_SENDERS * T_NONCES && st.future_txs == 0);
	CHECK(st.senders == T_THREADS * T_SENDERS && p.rounds > 0);
	for (int k = 0; k < T_THREADS; k++) {
		CHECK(w[k].failures == 0);
		free(w[k].txs);
	}
	CHECK(mempool_check_invariants(mp));
	mempool_free(mp);
}

CHECK_MAIN(CASE(ready_future_promotion), CASE(reap_order), CASE(reap_ties_by_arrival),
           CASE(future_not_reaped), CASE(replacement), CASE(nonce_window_and_sender_cap),
           CASE(count_cap_eviction), CASE(eviction_takes_dependents),
           CASE(byte_cap_eviction_is_all_or_nothing), CASE(future_cap), CASE(seen_cache),
           CASE(update_after_block), CASE(expiry), CASE(update_promotion_respects_caps),
           CASE(remove_cuts_later_nonces), CASE(huge_fees), CASE(strerror_messages),
           CASE(randomized_invariants), CASE(threaded_adds))
