/*
 * State tree benchmark: inserts --keys accounts (37-byte keys, 48-byte values) in blocks of
 * --batch writes, then rewrites --updates random existing keys in blocks of --update-batch, one
 * committed LMDB transaction per block (fsync unless --nosync), pruning old versions when --keep
 * is set. Prints keys/s, BLAKE2b calls per key, nodes per key, bytes on disk per key, proof and
 * verify rates, and peak RSS.
 *
 *   bench/smt [--keys N] [--batch N] [--updates N] [--update-batch N] [--keep N] [--nosync]
 *             [--dir PATH]
 */
#include <lmdb.h>
#include <sodium.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "store/smt.h"
#include "store/smt_proof.h"

#define KEY_LEN 37
#define VAL_LEN 48

struct opts {
	size_t keys, batch, updates, update_batch;
	uint32_t keep;
	bool nosync;
	const char *dir;
};

/* Key i: "acct/" and 32 bytes derived from i, like an account id. */
static void make_key(uint8_t k[KEY_LEN], size_t i)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ (i * 0xbf58476d1ce4e5b9ULL);
	memcpy(k, "acct/", 5);
	for (int j = 0; j < 4; j++) {
		uint64_t v = bench_rand(&s);
		memcpy(k + 5 + 8 * j, &v, 8);
	}
}

static void make_value(uint8_t v[VAL_LEN], uint64_t seed)
{
	for (int j = 0; j < VAL_LEN / 8; j++) {
		uint64_t x = bench_rand(&seed);
		memcpy(v + 8 * j, &x, 8);
	}
}

static int parse(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){1000000, 10000, 400000, 20000, 0, false, NULL};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--nosync")) {
			o->nosync = true;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--keys"))
			o->keys = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--batch"))
			o->batch = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--updates"))
			o->updates = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--update-batch"))
			o->update_batch = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--keep"))
			o->keep = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--dir"))
			o->dir = v;
		else
			return -1;
	}
	return o->keys && o->batch && o->update_batch ? 0 : -1;
}

struct bench {
	struct opts o;
	MDB_env *env;
	struct smt *t;
	uint64_t version;
	uint8_t *keys; /* o.keys * KEY_LEN */
	uint8_t *vals; /* one value buffer per write of the largest batch */
	struct kv_write *w;
	double apply_s, commit_s, prune_s;
	size_t pruned;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench/smt: %s: %s\n", what,
	        rc < 0 ? smt_strerror((enum smt_result) - rc) : mdb_strerror(rc));
	exit(1);
}

/* Applies b->w[0..n) as one block, pruning if configured. */
static void block(struct bench *b, size_t n)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(b->env, NULL, 0, &txn);
	if (rc)
		die("txn", rc);
	uint8_t root[32];
	double t0 = bench_now();
	enum smt_result r = smt_apply(b->t, txn, ++b->version, b->w, n, root);
	if (r != SMT_OK)
		die("apply", -(int)r);
	double t1 = bench_now();
	if (b->o.keep) {
		size_t p;
		if ((r = smt_prune(b->t, txn, 4 * n, &p)) != SMT_OK)
			die("prune", -(int)r);
		b->pruned += p;
	}
	double t2 = bench_now();
	if ((rc = mdb_txn_commit(txn)))
		die("commit", rc);
	b->apply_s += t1 - t0;
	b->prune_s += t2 - t1;
	b->commit_s += bench_now() - t2;
}

/* Wall-clock and CPU rates: on a shared machine the CPU rate is the steadier figure. */
static void phase_report(struct bench *b, const char *name, size_t keys, double secs, double cpu,
                         const struct smt_stats *s0)
{
	struct smt_stats s;
	smt_stats(b->t, &s);
	printf("%-7s %zu keys in %.2f s: %.0f keys/s wall, %.0f keys/s per CPU second\n"
	       "        apply %.2f s, prune %.2f s, commit %.2f s; %.1f hashes/key, "
	       "%.2f nodes written/key\n",
	       name, keys, secs, (double)keys / secs, (double)keys / cpu, b->apply_s, b->prune_s,
	       b->commit_s, (double)(s.hashes - s0->hashes) / (double)keys,
	       (double)(s.nodes_written - s0->nodes_written) / (double)keys);
	b->apply_s = b->prune_s = b->commit_s = 0;
}

static void insert_phase(struct bench *b)
{
	struct smt_stats s0;
	smt_stats(b->t, &s0);
	double t0 = bench_now(), c0 = bench_cpu();
	for (size_t i = 0; i < b->o.keys;) {
		size_t n = b->o.keys - i < b->o.batch ? b->o.keys - i : b->o.batch;
		for (size_t j = 0; j < n; j++) {
			make_value(b->vals + j * VAL_LEN, i + j + 1);
			b->w[j] = (struct kv_write){b->keys + (i + j) * KEY_LEN, KEY_LEN,
			                            b->vals + j * VAL_LEN, VAL_LEN};
		}
		block(b, n);
		i += n;
	}
	phase_report(b, "insert", b->o.keys, bench_now() - t0, bench_cpu() - c0, &s0);
}

static void update_phase(struct bench *b)
{
	struct smt_stats s0;
	smt_stats(b->t, &s0);
	uint32_t *seen = calloc(b->o.keys, sizeof(*seen)); /* block number that last chose key i */
	uint64_t rng = 0x1234567;
	double t0 = bench_now(), c0 = bench_cpu();
	size_t done = 0;
	for (uint32_t blk = 1; done < b->o.updates; blk++) {
		size_t n = b->o.updates - done < b->o.update_batch ? b->o.updates - done
		                                                   : b->o.update_batch;
		n = n > b->o.keys ? b->o.keys : n;
		for (size_t j = 0; j < n;) {
			size_t i = bench_rand(&rng) % b->o.keys;
			if (seen[i] == blk)
				continue;
			seen[i] = blk;
			make_value(b->vals + j * VAL_LEN, bench_rand(&rng));
			b->w[j] = (struct kv_write){b->keys + i * KEY_LEN, KEY_LEN,
			                            b->vals + j * VAL_LEN, VAL_LEN};
			j++;
		}
		block(b, n);
		done += n;
	}
	free(seen);
	if (done)
		phase_report(b, "update", done, bench_now() - t0, bench_cpu() - c0, &s0);
}

/* Proves and verifies a sample of keys, present and absent. */
static void proof_phase(struct bench *b)
{
	enum { N = 20000 };
	MDB_txn *txn;
	if (mdb_txn_begin(b->env, NULL, MDB_RDONLY, &txn))
		die("txn", 1);
	uint8_t root[32];
	uint64_t ver;
	smt_root(b->t, txn, &ver, root);
	struct enc e;
	enc_init(&e, SMT_PROOF_MAX);
	size_t bytes = 0, ok = 0;
	double prove_s = 0, verify_s = 0;
	for (size_t i = 0; i < N; i++) {
		uint8_t absent[KEY_LEN];
		const uint8_t *k = b->keys + (i * 7919 % b->o.keys) * KEY_LEN;
		if (i % 2) {
			make_key(absent, b->o.keys + i);
			k = absent;
		}
		MDB_val v = {0, NULL};
		bool present = smt_get(b->t, txn, k, KEY_LEN, &v) == SMT_OK;
		e.len = 0;
		double t0 = bench_now();
		if (smt_prove(b->t, txn, k, KEY_LEN, &e) != SMT_OK)
			die("prove", 1);
		double t1 = bench_now();
		ok += smt_proof_verify(root, k, KEY_LEN, present ? v.mv_data : NULL, v.mv_size,
		                       e.buf, e.len) == SMT_PROOF_OK;
		verify_s += bench_now() - t1;
		prove_s += t1 - t0;
		bytes += e.len;
	}
	enc_release(&e);
	mdb_txn_abort(txn);
	printf("proofs  %d: %.0f proofs/s, %.0f verifies/s, %.0f bytes average, %zu verified\n", N,
	       N / prove_s, N / verify_s, (double)bytes / N, ok);
	if (ok != N)
		die("proof verification failed", -(int)SMT_CORRUPT);
}

/* Pages in use by each of the tree's tables (the file keeps its high-water mark). */
static void disk_report(struct bench *b)
{
	static const char *const names[] = {"state.flat", "state.nodes", "state.stale"};
	MDB_txn *txn;
	if (mdb_txn_begin(b->env, NULL, MDB_RDONLY, &txn))
		die("txn", 1);
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(b->env, &info);
	mdb_env_stat(b->env, &st);
	double file = (double)(info.me_last_pgno + 1) * st.ms_psize, live = 0;
	char line[256];
	int len = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		MDB_dbi dbi;
		if (mdb_dbi_open(txn, names[i], 0, &dbi) || mdb_stat(txn, dbi, &st))
			die("stat", 1);
		double bytes =
		    (double)(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
		    st.ms_psize;
		live += bytes;
		len +=
		    snprintf(line + len, sizeof(line) - (size_t)len, "%s %.0f MB (%zu entries)%s",
		             names[i] + 6, bytes / 1e6, st.ms_entries, i < 2 ? ", " : "");
	}
	mdb_txn_abort(txn);
	printf("disk    %.0f bytes/key live (%s); file %.0f MB\n", live / (double)b->o.keys, line,
	       file / 1e6);
}

static void open_env(struct bench *b, char *dir)
{
	int rc = mdb_env_create(&b->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(b->env, 8);
	if (!rc)
		rc = mdb_env_set_mapsize(b->env, (size_t)64 << 30);
	if (!rc)
		rc = mdb_env_open(b->env, dir, b->o.nosync ? MDB_NOSYNC : 0, 0600);
	if (rc)
		die("open env", rc);
	MDB_txn *txn;
	if ((rc = mdb_txn_begin(b->env, NULL, 0, &txn)))
		die("txn", rc);
	struct smt_config cfg = {.keep_versions = b->o.keep};
	enum smt_result r = smt_open(&b->t, txn, &cfg);
	if (r != SMT_OK)
		die("smt_open", -(int)r);
	if ((rc = mdb_txn_commit(txn)))
		die("commit", rc);
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	if (sodium_init() < 0) /* selects the fastest BLAKE2b, as the node does at startup */
		die("sodium_init", -(int)SMT_NOMEM);
	if (parse(&b.o, argc, argv)) {
		fprintf(stderr,
		        "usage: %s [--keys N] [--batch N] [--updates N] [--update-batch N] "
		        "[--keep N] [--nosync] [--dir PATH]\n",
		        argv[0]);
		return 2;
	}
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", b.o.dir ? b.o.dir : "/tmp/tn_bench_smt_XXXXXX");
	if (!b.o.dir && !mkdtemp(dir))
		die("mkdtemp", -(int)SMT_DB);
	open_env(&b, dir);
	size_t maxb = b.o.batch > b.o.update_batch ? b.o.batch : b.o.update_batch;
	b.keys = malloc(b.o.keys * KEY_LEN);
	b.vals = malloc(maxb * VAL_LEN);
	b.w = malloc(maxb * sizeof(*b.w));
	for (size_t i = 0; i < b.o.keys; i++)
		make_key(b.keys + i * KEY_LEN, i);
	printf("state tree: %zu keys (%d-byte keys, %d-byte values), blocks of %zu / %zu, %s%s\n",
	       b.o.keys, KEY_LEN, VAL_LEN, b.o.batch, b.o.update_batch,
	       b.o.nosync ? "no fsync" : "fsync per block", b.o.keep ? ", pruning" : "");
	insert_phase(&b);
	update_phase(&b);
	proof_phase(&b);

	disk_report(&b);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct smt_stats s;
	smt_stats(b.t, &s);
	printf("nodes   %llu written, %llu recorded stale, %zu pruned\n",
	       (unsigned long long)s.nodes_written, (unsigned long long)s.nodes_stale, b.pruned);

	printf("memory  peak RSS %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
	smt_free(b.t);
	mdb_env_close(b.env);
	if (!b.o.dir) {
		char p[300];
		snprintf(p, sizeof(p), "%s/data.mdb", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/lock.mdb", dir);
		unlink(p);
		rmdir(dir);
	}
	free(b.keys);
	free(b.vals);
	free(b.w);
	return 0;
}
