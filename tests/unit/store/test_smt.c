/*
 * State tree tests: known answers from an independent Python model (docs/protocol.md), a
 * differential test against a naive oracle that rebuilds the root from all leaves, history
 * independence, proofs (valid, absent, tampered, non-canonical), persistence, aborts, misuse
 * errors and pruning (live node count equals the oracle's node count of the set).
 */
#include "check.h"

#include <lmdb.h>
#include <stdbool.h>
#include <unistd.h>

#include "base/hex.h"
#include "crypto/hash.h"
#include "store/smt.h"
#include "store/smt_proof.h"

/* ---- the oracle: the logical binary tree, rebuilt from the sorted leaves -------------------- */

struct leaf {
	uint8_t kp[32];
	uint8_t vh[32];
};

static int leaf_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static int kp_bit(const uint8_t kp[32], unsigned i)
{
	return (kp[i / 8] >> (7 - i % 8)) & 1;
}

static void oracle_hash(const struct leaf *l, size_t n, unsigned bit, uint8_t out[32])
{
	uint8_t buf[65];
	if (n == 0) {
		memset(out, 0, 32);
		return;
	}
	if (n == 1) {
		buf[0] = 0;
		memcpy(buf + 1, l->kp, 32);
		memcpy(buf + 33, l->vh, 32);
		hash_plain(out, buf, sizeof(buf));
		return;
	}
	size_t m = 0;
	while (m < n && !kp_bit(l[m].kp, bit))
		m++;
	buf[0] = 1;
	oracle_hash(l, m, bit + 1, buf + 1);
	oracle_hash(l + m, n - m, bit + 1, buf + 33);
	hash_plain(out, buf, sizeof(buf));
}

/* Nodes a 16-ary tree of this set stores: a leaf, or an internal node and its children. */
static size_t oracle_nodes(const struct leaf *l, size_t n, unsigned nib)
{
	if (n <= 1)
		return n;
	size_t total = 1;
	for (size_t i = 0, j; i < n; i = j) {
		unsigned v = (l[i].kp[nib / 2] >> (nib % 2 ? 0 : 4)) & 0xf;
		for (j = i + 1; j < n && ((l[j].kp[nib / 2] >> (nib % 2 ? 0 : 4)) & 0xf) == v; j++)
			;
		total += oracle_nodes(l + i, j - i, nib + 1);
	}
	return total;
}

/* ---- the model: a universe of keys, each with a value or absent ----------------------------- */

#define VAL_MAX 64

struct kv {
	uint8_t key[48];
	size_t klen;
	uint8_t val[VAL_MAX];
	size_t vlen;
	bool present;
};

struct model {
	struct kv *kv;
	size_t n;
};

static void model_init(struct model *m, size_t n, const char *prefix)
{
	m->kv = calloc(n, sizeof(*m->kv));
	m->n = n;
	for (size_t i = 0; i < n; i++)
		m->kv[i].klen = (size_t)snprintf((char *)m->kv[i].key, 48, "%s%zu", prefix, i);
}

static void model_set(struct kv *kv, const uint8_t *v, size_t vlen)
{
	memcpy(kv->val, v, vlen);
	kv->vlen = vlen;
	kv->present = true;
}

static void random_value(struct kv *kv, uint64_t *rng)
{
	uint8_t v[VAL_MAX];
	size_t vlen = check_rand(rng) % VAL_MAX;
	for (size_t i = 0; i < vlen; i++)
		v[i] = (uint8_t)check_rand(rng);
	model_set(kv, v, vlen);
}

static void model_root(const struct model *m, uint8_t root[32], size_t *nodes)
{
	struct leaf *l = malloc((m->n + 1) * sizeof(*l));
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (!m->kv[i].present)
			continue;
		hash_tagged(l[n].kp, "tenebra/v1/smt-key", m->kv[i].key, m->kv[i].klen);
		hash_tagged(l[n].vh, "tenebra/v1/smt-value", m->kv[i].val, m->kv[i].vlen);
		n++;
	}
	qsort(l, n, sizeof(*l), leaf_cmp);
	oracle_hash(l, n, 0, root);
	if (nodes)
		*nodes = oracle_nodes(l, n, 0);
	free(l);
}

/*
 * Adds pairs of keys whose key paths share a long prefix (found by sorting many candidates), so
 * deep chains of one-child internal nodes and their collapse get exercised.
 */
static size_t add_deep_keys(struct model *m, size_t first, size_t pairs)
{
	enum { CAND = 1 << 17 };
	struct cand {
		uint8_t kp[32];
		uint32_t i;
	} *c = malloc(CAND * sizeof(*c));
	for (uint32_t i = 0; i < CAND; i++) {
		char k[32];
		int kl = snprintf(k, sizeof(k), "deep%u", i);
		hash_tagged(c[i].kp, "tenebra/v1/smt-key", k, (size_t)kl);
		c[i].i = i;
	}
	qsort(c, CAND, sizeof(*c), leaf_cmp);
	size_t added = 0;
	for (uint32_t i = 0; i + 1 < CAND && added + 2 <= pairs * 2; i++) {
		if (memcmp(c[i].kp, c[i + 1].kp, 4) != 0) /* >= 32 shared bits: >= 8 nibbles */
			continue;
		for (uint32_t j = 0; j < 2; j++, added++) {
			struct kv *kv = &m->kv[first + added];
			kv->klen = (size_t)snprintf((char *)kv->key, 48, "deep%u", c[i + j].i);
		}
		i++;
	}
	free(c);
	return added;
}

/* ---- an LMDB env in a temporary directory ---------------------------------------------------- */

struct db {
	char dir[64];
	MDB_env *env;
	struct smt *t;
	struct smt_config cfg;
};

static void db_open(struct db *d)
{
	CHECK(mdb_env_create(&d->env) == 0);
	CHECK(mdb_env_set_maxdbs(d->env, 8) == 0);
	CHECK(mdb_env_set_mapsize(d->env, (size_t)1 << 30) == 0);
	CHECK(mdb_env_open(d->env, d->dir, MDB_NOSYNC, 0600) == 0);
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d->env, NULL, 0, &txn) == 0);
	CHECK(smt_open(&d->t, txn, &d->cfg) == SMT_OK);
	CHECK(mdb_txn_commit(txn) == 0);
}

static void db_close(struct db *d)
{
	smt_free(d->t);
	d->t = NULL;
	mdb_env_close(d->env);
}

static void db_init(struct db *d, uint32_t keep)
{
	memset(d, 0, sizeof(*d));
	d->cfg.keep_versions = keep;
	strcpy(d->dir, "/tmp/tn_smt_XXXXXX");
	CHECK(mkdtemp(d->dir) != NULL);
	db_open(d);
}

static void db_destroy(struct db *d)
{
	db_close(d);
	char p[96];
	snprintf(p, sizeof(p), "%s/data.mdb", d->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", d->dir);
	unlink(p);
	rmdir(d->dir);
}

/* Applies a batch in its own committed transaction (aborted on error). */
static enum smt_result db_apply(struct db *d, uint64_t ver, const struct kv_write *w, size_t n,
                                uint8_t root[32])
{
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d->env, NULL, 0, &txn) == 0);
	enum smt_result r = smt_apply(d->t, txn, ver, w, n, root);
	if (r == SMT_OK)
		CHECK(mdb_txn_commit(txn) == 0);
	else
		mdb_txn_abort(txn);
	return r;
}

static void db_root(struct db *d, uint64_t *ver, uint8_t root[32])
{
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(smt_root(d->t, txn, ver, root) == SMT_OK);
	mdb_txn_abort(txn);
}

/* Writes every key of the model (present: its value; absent: a delete) as one batch. */
static enum smt_result db_apply_model(struct db *d, const struct model *m, uint64_t ver,
                                      uint8_t root[32])
{
	struct kv_write *w = malloc((m->n + 1) * sizeof(*w));
	for (size_t i = 0; i < m->n; i++) {
		const struct kv *kv = &m->kv[i];
		w[i] = (struct kv_write){kv->key, kv->klen, kv->present ? kv->val : NULL, kv->vlen};
	}
	enum smt_result r = db_apply(d, ver, w, m->n, root);
	free(w);
	return r;
}

/* Every key's proof verifies against root; returns how many terminals of each kind were seen. */
static void check_proofs(struct db *d, const struct model *m, const uint8_t root[32],
                         size_t kinds[3])
{
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn) == 0);
	for (size_t i = 0; i < m->n; i++) {
		const struct kv *kv = &m->kv[i];
		struct enc e;
		enc_init(&e, SMT_PROOF_MAX);
		CHECK(smt_prove(d->t, txn, kv->key, kv->klen, &e) == SMT_OK);
		const uint8_t *v = kv->present ? kv->val : NULL;
		enum smt_proof_result r =
		    smt_proof_verify(root, kv->key, kv->klen, v, kv->vlen, e.buf, e.len);
		CHECK(r == SMT_PROOF_OK);
		if (r != SMT_PROOF_OK)
			fprintf(stderr, "key %.*s: %s\n", (int)kv->klen, kv->key,
			        smt_proof_strerror(r));
		if (e.len > 0 && e.buf[0] < 3)
			kinds[e.buf[0]]++;
		MDB_val val;
		enum smt_result g = smt_get(d->t, txn, kv->key, kv->klen, &val);
		CHECK(g == (kv->present ? SMT_OK : SMT_NOT_FOUND));
		if (g == SMT_OK)
			CHECK(val.mv_size == kv->vlen &&
			      memcmp(val.mv_data, kv->val, kv->vlen) == 0);
		enc_release(&e);
	}
	mdb_txn_abort(txn);
}

static void prove_one(struct db *d, const void *key, size_t klen, struct enc *e)
{
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn) == 0);
	enc_init(e, SMT_PROOF_MAX);
	CHECK(smt_prove(d->t, txn, key, klen, e) == SMT_OK);
	mdb_txn_abort(txn);
}

/* ---- cases ----------------------------------------------------------------------------------- */

static void known_answers(void)
{
	static const struct {
		size_t n;
		const char *root;
	} kat[] = {
	    {0, "0000000000000000000000000000000000000000000000000000000000000000"},
	    {1, "d38f6063d52789ae1402a3cdc9df06fe4be681a261aba6a4828d295c51059757"},
	    {3, "074fac9f47ea7f07e0805746c0042225bc8e9a797c2c51ddb2f08bedbb8b3987"},
	};
	static const struct kv_write w[] = {
	    {(const uint8_t *)"alice", 5, (const uint8_t *)"100", 3},
	    {(const uint8_t *)"bob", 3, (const uint8_t *)"250", 3},
	    {(const uint8_t *)"carol", 5, (const uint8_t *)"", 0},
	};
	/* proofs in the three-key tree: alice (member), dave (absent, alice's leaf on its path) */
	static const struct {
		const char *key, *proof;
	} pkat[] = {
	    {"alice", "0101017121e6e8b35786251ad2042d277325a77a1c250db82546b96255734a8047b3e5"},
	    {"dave", "02648453cd04fac9f97cefcdffde4ce0cb6cba2a2e580091efc486a2b474c0fd50e1becf4f"
	             "9995652c00d834f66bcb7d6ab2b4c502dbd972413d1e49d196c7129501017121e6e8b357"
	             "86251ad2042d277325a77a1c250db82546b96255734a8047b3e5"},
	};
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		struct db d;
		db_init(&d, 0);
		uint8_t root[32], want[32];
		CHECK(db_apply(&d, 1, w, kat[i].n, root) == SMT_OK);
		CHECK(hex_decode_exact(want, sizeof(want), kat[i].root));
		CHECK_EQ_MEM(root, want, 32);
		for (size_t j = 0; kat[i].n == 3 && j < sizeof(pkat) / sizeof(pkat[0]); j++) {
			struct enc e;
			uint8_t pw[200];
			size_t plen = strlen(pkat[j].proof) / 2;
			CHECK(hex_decode_exact(pw, plen, pkat[j].proof));
			prove_one(&d, pkat[j].key, strlen(pkat[j].key), &e);
			CHECK(e.len == plen && memcmp(e.buf, pw, plen) == 0);
			enc_release(&e);
		}
		db_destroy(&d);
	}

	/* 100 keys "key-i" -> "value-i" */
	struct db d;
	db_init(&d, 0);
	struct model m;
	model_init(&m, 100, "key-");
	for (size_t i = 0; i < m.n; i++) {
		char v[16];
		int vl = snprintf(v, sizeof(v), "value-%zu", i);
		model_set(&m.kv[i], (const uint8_t *)v, (size_t)vl);
	}
	uint8_t root[32], want[32];
	CHECK(db_apply_model(&d, &m, 7, root) == SMT_OK);
	CHECK(hex_decode_exact(want, 32,
	                       "4b72f75f8468159397ab9706e301d2f62ae1404aac0943d8a5446bb13211473a"));
	CHECK_EQ_MEM(root, want, 32);
	free(m.kv);
	db_destroy(&d);
}

/* One random batch over the model: distinct keys, inserts, updates, same-value writes, deletes. */
static size_t random_batch(struct model *m, uint64_t *rng, struct kv_write *w, size_t max)
{
	size_t n = 1 + check_rand(rng) % max, count = 0;
	bool *used = calloc(m->n, 1);
	for (size_t t = 0; t < n; t++) {
		size_t i = check_rand(rng) % m->n;
		if (used[i])
			continue;
		used[i] = true;
		struct kv *kv = &m->kv[i];
		unsigned op = (unsigned)(check_rand(rng) % 8);
		if (kv->present && op < 3)
			kv->present = false;
		else if (!(kv->present && op == 3)) /* op 3 on a present key: same value again */
			random_value(kv, rng);
		w[count++] =
		    (struct kv_write){kv->key, kv->klen, kv->present ? kv->val : NULL, kv->vlen};
	}
	free(used);
	return count;
}

static void differential(void)
{
	uint64_t rng = check_seed();
	long batches = check_iters(400);
	struct model m;
	model_init(&m, 300 + 16, "k");
	add_deep_keys(&m, 300, 8);
	struct kv_write *w = malloc(m.n * sizeof(*w));
	struct db d;
	db_init(&d, 0);
	uint8_t root[32], want[32];
	int mismatches = 0;
	for (long b = 0; b < batches; b++) {
		size_t n;
		if (b % 97 == 96) { /* delete everything: back to the empty root */
			n = 0;
			for (size_t i = 0; i < m.n; i++)
				if (m.kv[i].present) {
					m.kv[i].present = false;
					w[n++] =
					    (struct kv_write){m.kv[i].key, m.kv[i].klen, NULL, 0};
				}
		} else {
			n = random_batch(&m, &rng, w, b % 3 ? 8 : 120);
		}
		CHECK(db_apply(&d, (uint64_t)b + 1, w, n, root) == SMT_OK);
		model_root(&m, want, NULL);
		if (memcmp(root, want, 32) != 0 && mismatches++ < 5)
			fprintf(stderr, "batch %ld: root differs from oracle\n", b);
		if (b % 97 == 96)
			CHECK_EQ_MEM(root, (uint8_t[32]){0}, 32);
		if (b % 50 == 0) {
			size_t kinds[3] = {0};
			check_proofs(&d, &m, root, kinds);
		}
	}
	CHECK(mismatches == 0);
	struct smt_stats st;
	smt_stats(d.t, &st);
	CHECK(st.nodes_stale > 0 && st.nodes_written > st.nodes_stale);
	db_destroy(&d);
	free(w);
	free(m.kv);
}

static void shuffle(struct kv_write *w, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = check_rand(rng) % i;
		struct kv_write t = w[i - 1];
		w[i - 1] = w[j];
		w[j] = t;
	}
}

static void history_independence(void)
{
	uint64_t rng = check_seed();
	struct model m;
	model_init(&m, 20000, "acct/");
	for (size_t i = 0; i < m.n; i++)
		random_value(&m.kv[i], &rng);
	uint8_t want[32], a[32], b[32], c[32];
	model_root(&m, want, NULL);

	struct db d;
	db_init(&d, 0); /* A: one batch */
	CHECK(db_apply_model(&d, &m, 1, a) == SMT_OK);
	CHECK_EQ_MEM(a, want, 32);
	db_destroy(&d);

	struct kv_write *w = malloc(m.n * sizeof(*w));
	for (size_t i = 0; i < m.n; i++)
		w[i] = (struct kv_write){m.kv[i].key, m.kv[i].klen, m.kv[i].val, m.kv[i].vlen};
	shuffle(w, m.n, &rng);
	db_init(&d, 0); /* B: shuffled, random batch sizes */
	uint64_t ver = 10;
	for (size_t i = 0, n; i < m.n; i += n) {
		n = 1 + check_rand(&rng) % 3000;
		n = n > m.n - i ? m.n - i : n;
		CHECK(db_apply(&d, ver++, w + i, n, b) == SMT_OK);
	}
	CHECK_EQ_MEM(b, want, 32);
	db_destroy(&d);

	/* C: wrong values and extra keys first, then corrected and deleted */
	struct model extra;
	model_init(&extra, 5000, "tmp/");
	for (size_t i = 0; i < extra.n; i++)
		random_value(&extra.kv[i], &rng);
	db_init(&d, 0);
	struct kv_write one = {(const uint8_t *)"x", 1, (const uint8_t *)"y", 1};
	CHECK(db_apply(&d, 1, &one, 1, c) == SMT_OK);
	CHECK(db_apply_model(&d, &extra, 2, c) == SMT_OK);
	for (size_t i = 0; i < m.n / 2; i++)
		w[i].vlen = 0;
	CHECK(db_apply(&d, 3, w, m.n / 2, c) == SMT_OK);
	for (size_t i = 0; i < extra.n; i++)
		extra.kv[i].present = false;
	CHECK(db_apply_model(&d, &extra, 4, c) == SMT_OK);
	one.value = NULL;
	CHECK(db_apply(&d, 5, &one, 1, c) == SMT_OK);
	CHECK(db_apply_model(&d, &m, 6, c) == SMT_OK);
	CHECK_EQ_MEM(c, want, 32);
	db_destroy(&d);
	free(w);
	free(m.kv);
	free(extra.kv);
}

static void proofs_valid(void)
{
	uint64_t rng = check_seed();
	struct model m;
	model_init(&m, 3000 + 16, "p");
	add_deep_keys(&m, 3000, 8);
	for (size_t i = 0; i < m.n; i++)
		if (check_rand(&rng) % 3)
			random_value(&m.kv[i], &rng);
	struct db d;
	db_init(&d, 0);
	uint8_t root[32], want[32];
	CHECK(db_apply_model(&d, &m, 1, root) == SMT_OK);
	model_root(&m, want, NULL);
	CHECK_EQ_MEM(root, want, 32);
	size_t kinds[3] = {0};
	check_proofs(&d, &m, root, kinds); /* present keys and absent ones of the universe */
	struct model absent;
	model_init(&absent, 3000, "never-written-");
	check_proofs(&d, &absent, root, kinds);
	CHECK(kinds[SMT_TERM_EMPTY] > 0 && kinds[SMT_TERM_OWN] > 0 && kinds[SMT_TERM_OTHER] > 0);

	/* wrong kind, wrong value, wrong root */
	struct kv *p = NULL, *a = NULL;
	for (size_t i = 0; i < m.n && (!p || !a); i++)
		*(m.kv[i].present ? &p : &a) = &m.kv[i];
	struct enc e;
	prove_one(&d, p->key, p->klen, &e);
	CHECK(smt_proof_verify(root, p->key, p->klen, NULL, 0, e.buf, e.len) ==
	      SMT_PROOF_WRONG_KIND);
	CHECK(smt_proof_verify(root, p->key, p->klen, (const uint8_t *)"zz", 2, e.buf, e.len) ==
	      SMT_PROOF_MISMATCH);
	CHECK(smt_proof_verify(root, a->key, a->klen, p->val, p->vlen, e.buf, e.len) ==
	      SMT_PROOF_MISMATCH);
	uint8_t bad_root[32];
	memcpy(bad_root, root, 32);
	bad_root[31] ^= 1;
	CHECK(smt_proof_verify(bad_root, p->key, p->klen, p->val, p->vlen, e.buf, e.len) ==
	      SMT_PROOF_MISMATCH);
	enc_release(&e);
	prove_one(&d, a->key, a->klen, &e);
	CHECK(smt_proof_verify(root, a->key, a->klen, (const uint8_t *)"", 0, e.buf, e.len) ==
	      SMT_PROOF_WRONG_KIND);
	enc_release(&e);
	db_destroy(&d);
	free(m.kv);
	free(absent.kv);
}

/* Trees of zero and one leaf: proofs of depth 0. */
static void proofs_tiny(void)
{
	struct db d;
	db_init(&d, 0);
	uint8_t zero[32] = {0}, root[32];
	struct enc e;
	prove_one(&d, "a", 1, &e);
	CHECK(e.len == 2 && e.buf[0] == SMT_TERM_EMPTY && e.buf[1] == 0);
	CHECK(smt_proof_verify(zero, (const uint8_t *)"a", 1, NULL, 0, e.buf, e.len) ==
	      SMT_PROOF_OK);
	enc_release(&e);
	struct kv_write w = {(const uint8_t *)"a", 1, (const uint8_t *)"1", 1};
	CHECK(db_apply(&d, 1, &w, 1, root) == SMT_OK);
	prove_one(&d, "a", 1, &e);
	CHECK(e.len == 2 && e.buf[0] == SMT_TERM_OWN);
	CHECK(smt_proof_verify(root, w.key, 1, w.value, 1, e.buf, e.len) == SMT_PROOF_OK);
	enc_release(&e);
	prove_one(&d, "b", 1, &e);
	CHECK(e.len == 66 && e.buf[0] == SMT_TERM_OTHER);
	CHECK(smt_proof_verify(root, (const uint8_t *)"b", 1, NULL, 0, e.buf, e.len) ==
	      SMT_PROOF_OK);
	/* the other leaf is the key itself: that is no proof of absence */
	CHECK(smt_proof_verify(root, (const uint8_t *)"a", 1, NULL, 0, e.buf, e.len) ==
	      SMT_PROOF_WRONG_KEY);
	enc_release(&e);
	db_destroy(&d);
}

/* Every single-bit flip, truncation or extension of valid proofs is rejected. */
static void proofs_tampered(void)
{
	uint64_t rng = check_seed();
	struct model m;
	model_init(&m, 500, "t");
	for (size_t i = 0; i < m.n; i += 2)
		random_value(&m.kv[i], &rng);
	struct db d;
	db_init(&d, 0);
	uint8_t root[32];
	CHECK(db_apply_model(&d, &m, 1, root) == SMT_OK);
	int accepted = 0;
	for (size_t k = 0; k < 40; k++) {
		const struct kv *kv = &m.kv[check_rand(&rng) % m.n];
		const uint8_t *v = kv->present ? kv->val : NULL;
		struct enc e;
		prove_one(&d, kv->key, kv->klen, &e);
		uint8_t buf[SMT_PROOF_MAX + 1];
		memcpy(buf, e.buf, e.len);
		for (size_t i = 0; i < e.len * 8; i++) {
			buf[i / 8] ^= (uint8_t)(1u << (i % 8));
			accepted += smt_proof_verify(root, kv->key, kv->klen, v, kv->vlen, buf,
			                             e.len) == SMT_PROOF_OK;
			buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		for (size_t len = 0; len < e.len; len++)
			accepted += smt_proof_verify(root, kv->key, kv->klen, v, kv->vlen, buf,
			                             len) == SMT_PROOF_OK;
		buf[e.len] = 0;
		CHECK(smt_proof_verify(root, kv->key, kv->klen, v, kv->vlen, buf, e.len + 1) ==
		      SMT_PROOF_MALFORMED);
		CHECK(smt_proof_verify(root, kv->key, kv->klen, v, kv->vlen, buf, e.len) ==
		      SMT_PROOF_OK);
		enc_release(&e);
	}
	CHECK(accepted == 0);
	db_destroy(&d);
	free(m.kv);
}

/* Hand-made non-canonical spellings of a valid proof are refused. */
/* Non-canonical spellings of e, a member's proof with depth < 8 and an absent sibling. */
static void respell_sparse(const uint8_t root[32], const struct kv *kv, const struct enc *e)
{
	unsigned depth = e->buf[1];
	uint8_t b[SMT_PROOF_MAX];

	/* padded: one more level with an empty sibling under the leaf */
	size_t n = 0;
	b[n++] = SMT_TERM_OWN;
	b[n++] = (uint8_t)(depth + 1);
	b[n++] = (uint8_t)(e->buf[2] << 1);
	memcpy(b + n, e->buf + 3, e->len - 3);
	n += e->len - 3;
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, n) ==
	      SMT_PROOF_NONCANONICAL);

	/* an all-zero sibling marked present instead of absent */
	uint8_t absent_bits = (uint8_t)(~e->buf[2] & ((1u << depth) - 1));
	unsigned j = (unsigned)__builtin_ctz(absent_bits);
	n = 0;
	b[n++] = SMT_TERM_OWN;
	b[n++] = (uint8_t)depth;
	b[n++] = (uint8_t)(e->buf[2] | 1u << j);
	for (unsigned s = 0, src = 3; s < depth; s++) {
		if (s == j) {
			memset(b + n, 0, 32);
			n += 32;
		} else if (e->buf[2] >> s & 1) {
			memcpy(b + n, e->buf + src, 32);
			n += 32;
			src += 32;
		}
	}
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, n) ==
	      SMT_PROOF_NONCANONICAL);

	/* a padding bit above depth in the bitmap */
	memcpy(b, e->buf, e->len);
	b[2] |= (uint8_t)(1u << depth);
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, e->len) ==
	      SMT_PROOF_NONCANONICAL);
}

/* Encoding errors around the valid proof e, and a leaf that is not on the key's path. */
static void respell_encoding(const uint8_t root[32], const struct kv *kv, const struct enc *e)
{
	unsigned depth = e->buf[1];
	uint8_t b[SMT_PROOF_MAX];
	/* depth as a two-byte LEB128, and a depth above 256, and an unknown terminal */
	size_t n = 0;
	b[n++] = SMT_TERM_OWN;
	b[n++] = (uint8_t)(depth | 0x80);
	b[n++] = 0;
	memcpy(b + n, e->buf + 2, e->len - 2);
	n += e->len - 2;
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, n) == SMT_PROOF_MALFORMED);
	static const uint8_t deep[] = {SMT_TERM_EMPTY, 0x81, 0x02}; /* D = 257 */
	CHECK(smt_proof_verify(root, kv->key, kv->klen, NULL, 0, deep, sizeof(deep)) ==
	      SMT_PROOF_MALFORMED);
	memcpy(b, e->buf, e->len);
	b[0] = 3;
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, e->len) ==
	      SMT_PROOF_MALFORMED);
	CHECK(smt_proof_verify(root, kv->key, kv->klen, kv->val, 1, b, 0) == SMT_PROOF_MALFORMED);

	/* another key's leaf that is not on this key's path */
	n = 0;
	b[n++] = SMT_TERM_OTHER;
	hash_tagged(b + n, "tenebra/v1/smt-key", "elsewhere", 9);
	uint8_t kp[32];
	hash_tagged(kp, "tenebra/v1/smt-key", kv->key, kv->klen);
	b[n] = (uint8_t)(kp[0] ^ 0x80); /* differs in bit 0 */
	memset(b + n + 32, 0x22, 32);   /* its value hash */

	n += 64;
	b[n++] = 1;
	b[n++] = 1;
	memset(b + n, 0x11, 32);
	n += 32;
	CHECK(smt_proof_verify(root, kv->key, kv->klen, NULL, 0, b, n) == SMT_PROOF_WRONG_KEY);
	CHECK(strcmp(smt_proof_strerror(SMT_PROOF_WRONG_KEY), "proof is about another key") == 0);
}

static void proofs_noncanonical(void)
{
	struct model m;
	model_init(&m, 64, "n");
	for (size_t i = 0; i < m.n; i++)
		model_set(&m.kv[i], (const uint8_t *)"v", 1);
	struct db d;
	db_init(&d, 0);
	uint8_t root[32];
	CHECK(db_apply_model(&d, &m, 1, root) == SMT_OK);
	/* a member whose proof has one bitmap byte (depth < 8) and an absent sibling */
	const struct kv *kv = NULL;
	struct enc e;
	for (size_t i = 0; i < m.n && !kv; i++) {
		prove_one(&d, m.kv[i].key, m.kv[i].klen, &e);
		CHECK(e.buf[0] == SMT_TERM_OWN && e.buf[1] > 0);
		if (e.buf[1] < 8 && (uint8_t)~e.buf[2] & ((1u << e.buf[1]) - 1))
			kv = &m.kv[i];
		else
			enc_release(&e);
	}
	CHECK(kv != NULL);
	if (kv) {
		respell_sparse(root, kv, &e);
		respell_encoding(root, kv, &e);
		enc_release(&e);
	}
	db_destroy(&d);
	free(m.kv);
}

static void persistence_and_abort(void)
{
	uint64_t rng = check_seed();
	struct model m;
	model_init(&m, 1000, "r");
	for (size_t i = 0; i < m.n; i++)
		random_value(&m.kv[i], &rng);
	struct db d;
	db_init(&d, 0);
	uint8_t root[32], got[32];
	uint64_t ver;
	CHECK(db_apply_model(&d, &m, 41, root) == SMT_OK);
	db_close(&d);
	db_open(&d);
	db_root(&d, &ver, got);
	CHECK(ver == 41);
	CHECK_EQ_MEM(got, root, 32);
	size_t kinds[3] = {0};
	check_proofs(&d, &m, root, kinds);

	/* an aborted block leaves root, version and values as they were */
	MDB_txn *txn;
	CHECK(mdb_txn_begin(d.env, NULL, 0, &txn) == 0);
	struct kv_write w = {m.kv[0].key, m.kv[0].klen, NULL, 0};
	uint8_t tmp[32];
	CHECK(smt_apply(d.t, txn, 42, &w, 1, tmp) == SMT_OK);
	CHECK(memcmp(tmp, root, 32) != 0);
	mdb_txn_abort(txn);
	db_root(&d, &ver, got);
	CHECK(ver == 41);
	CHECK_EQ_MEM(got, root, 32);
	check_proofs(&d, &m, root, kinds);

	/* and the tree carries on after both */
	m.kv[0].present = false;
	CHECK(db_apply(&d, 42, &w, 1, got) == SMT_OK);
	CHECK_EQ_MEM(got, tmp, 32);
	model_root(&m, root, NULL);
	CHECK_EQ_MEM(got, root, 32);
	db_destroy(&d);
	free(m.kv);
}

static void misuse_errors(void)
{
	struct db d;
	db_init(&d, 0);
	d.cfg.max_batch = 4;
	d.cfg.max_value = 8;
	db_close(&d);
	db_open(&d);
	uint8_t root[32], r2[32], big[300] = {0};
	uint64_t ver;
	struct kv_write ok = {(const uint8_t *)"a", 1, (const uint8_t *)"1", 1};
	CHECK(db_apply(&d, 0, &ok, 1, root) == SMT_OK); /* first version may be 0 */
	CHECK(db_apply(&d, 0, &ok, 1, r2) == SMT_BAD_VERSION);
	struct kv_write dup[2] = {ok, {(const uint8_t *)"a", 1, NULL, 0}};
	CHECK(db_apply(&d, 1, dup, 2, r2) == SMT_DUPLICATE_KEY);
	struct kv_write empty_key = {(const uint8_t *)"", 0, NULL, 0};
	CHECK(db_apply(&d, 1, &empty_key, 1, r2) == SMT_BAD_KEY);
	struct kv_write long_key = {big, SMT_KEY_MAX + 1, NULL, 0};
	CHECK(db_apply(&d, 1, &long_key, 1, r2) == SMT_BAD_KEY);
	struct kv_write long_val = {(const uint8_t *)"b", 1, big, 9};
	CHECK(db_apply(&d, 1, &long_val, 1, r2) == SMT_TOO_LARGE);
	struct kv_write five[5];
	for (int i = 0; i < 5; i++)
		five[i] = (struct kv_write){big + i, 1, NULL, 0};
	CHECK(db_apply(&d, 1, five, 5, r2) == SMT_TOO_LARGE);
	db_root(&d, &ver, r2);
	CHECK(ver == 0);
	CHECK_EQ_MEM(r2, root, 32);
	/* an empty batch and a delete of an absent key keep the root */
	CHECK(db_apply(&d, 5, NULL, 0, r2) == SMT_OK);
	CHECK_EQ_MEM(r2, root, 32);
	struct kv_write gone = {(const uint8_t *)"zz", 2, NULL, 0};
	CHECK(db_apply(&d, 6, &gone, 1, r2) == SMT_OK);
	CHECK_EQ_MEM(r2, root, 32);
	MDB_txn *txn;
	MDB_val v;
	CHECK(mdb_txn_begin(d.env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(smt_get(d.t, txn, (const uint8_t *)"", 0, &v) == SMT_BAD_KEY);
	CHECK(smt_get(d.t, txn, (const uint8_t *)"zz", 2, &v) == SMT_NOT_FOUND);
	struct enc e;
	enc_init(&e, 10); /* too small for a proof in this tree */
	CHECK(smt_prove(d.t, txn, (const uint8_t *)"q", 1, &e) == SMT_TOO_LARGE);
	enc_release(&e);
	mdb_txn_abort(txn);
	CHECK(strcmp(smt_strerror(SMT_DUPLICATE_KEY), "batch writes the same key twice") == 0);
	CHECK(strcmp(smt_strerror((enum smt_result)99), "unknown state tree error") == 0);
	db_destroy(&d);
}

static size_t node_count(struct db *d)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;
	CHECK(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "state.nodes", 0, &dbi) == 0);
	CHECK(mdb_stat(txn, dbi, &st) == 0);
	mdb_txn_abort(txn);
	return st.ms_entries;
}

static size_t db_prune(struct db *d, size_t max)
{
	MDB_txn *txn;
	size_t pruned = 0;
	CHECK(mdb_txn_begin(d->env, NULL, 0, &txn) == 0);
	CHECK(smt_prune(d->t, txn, max, &pruned) == SMT_OK);
	CHECK(mdb_txn_commit(txn) == 0);
	return pruned;
}

/* With keep_versions = 1 and full pruning, exactly the nodes of the latest tree remain. */
static void prune_exact(void)
{
	uint64_t rng = check_seed();
	struct model m;
	model_init(&m, 400 + 16, "q");
	add_deep_keys(&m, 400, 8);
	struct kv_write *w = malloc(m.n * sizeof(*w));
	struct db d;
	db_init(&d, 1);
	uint8_t root[32];
	size_t want_nodes;
	for (uint64_t b = 1; b <= 120; b++) {
		size_t n = random_batch(&m, &rng, w, 60);
		CHECK(db_apply(&d, b, w, n, root) == SMT_OK);
		if (b % 3)
			continue;
		while (db_prune(&d, 50) == 50)
			;
		model_root(&m, root, &want_nodes);
		CHECK(node_count(&d) == want_nodes);
	}
	size_t kinds[3] = {0};
	check_proofs(&d, &m, root, kinds);
	struct smt_stats st;
	smt_stats(d.t, &st);
	CHECK(st.nodes_written - st.nodes_pruned == node_count(&d));
	db_destroy(&d);

	/* keep_versions = 0 never prunes */
	db_init(&d, 0);
	size_t n = random_batch(&m, &rng, w, 60);
	CHECK(db_apply(&d, 1, w, n, root) == SMT_OK);
	n = random_batch(&m, &rng, w, 60);
	CHECK(db_apply(&d, 2, w, n, root) == SMT_OK);
	CHECK(db_prune(&d, 1000) == 0);
	db_destroy(&d);
	free(w);
	free(m.kv);
}

CHECK_MAIN(CASE(known_answers), CASE(differential), CASE(history_independence), CASE(proofs_valid),
           CASE(proofs_tiny), CASE(proofs_tampered), CASE(proofs_noncanonical),
           CASE(persistence_and_abort), CASE(misuse_errors), CASE(prune_exact))
