#include "store/blockstore.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

enum bstore_db { DB_BLOCKS, DB_COMMITS, DB_HASHES, DB_TXS, DB_RECEIPTS, DB_META, DB_COUNT };

static const char *const db_names[DB_COUNT] = {"blocks", "commits",  "hashes",
                                               "txs",    "receipts", "meta"};

struct bstore {
	int lock_fd; /* flock'ed DIR/tenebra.lock: one process per data directory */
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	char path[4096];
	atomic_bool failed;
};

const char *bstore_strerror(enum bstore_result r)
{
	switch (r) {
	case BSTORE_OK:
		return "ok";
	case BSTORE_NOT_FOUND:
		return "not found";
	case BSTORE_FULL:
		return "database map is full (increase the map size)";
	case BSTORE_CORRUPT:
		return "stored record is corrupt";
	case BSTORE_IO:
		return "database I/O error";
	case BSTORE_FAILED:
		return "store is unusable after an earlier write failure";
	case BSTORE_LOCKED:
		return "data directory is in use by another process";
	}
	return "unknown block store error";
}

void bstore_config_default(struct bstore_config *cfg)
{
	cfg->map_size = (size_t)64 << 30;
	cfg->max_readers = 126;
}

static enum bstore_result map_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return BSTORE_OK;
	case MDB_NOTFOUND:
		return BSTORE_NOT_FOUND;
	case MDB_MAP_FULL:
		return BSTORE_FULL;
	case MDB_CORRUPTED:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		return BSTORE_CORRUPT;
	default:
		return BSTORE_IO;
	}
}

static enum bstore_result open_dbs(struct bstore *b)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(b->env, NULL, 0, &txn);
	for (int i = 0; rc == MDB_SUCCESS && i < DB_COUNT; i++)
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &b->dbi[i]);
	if (rc == MDB_SUCCESS)
		return map_mdb(mdb_txn_commit(txn));
	mdb_txn_abort(txn);
	log_error("store", "cannot open databases in %s: %s", b->path, mdb_strerror(rc));
	return map_mdb(rc);
}

/* LMDB lets several processes share an environment; two nodes producing into one store would
 * each believe its own head, so the directory is locked for the process's lifetime. */
static enum bstore_result lock_dir(struct bstore *b, const char *dir)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/tenebra.lock", dir);
	b->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (b->lock_fd < 0) {
		log_error("store", "cannot open %s: %s", path, strerror(errno));
		return BSTORE_IO;
	}
	if (flock(b->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		log_error("store", "%s is in use by another tenebra process", dir);
		return errno == EWOULDBLOCK ? BSTORE_LOCKED : BSTORE_IO;
	}
	return BSTORE_OK;
}

enum bstore_result bstore_open(struct bstore **out, const char *dir,
                               const struct bstore_config *cfg)
{
	enum bstore_result ret = BSTORE_IO;
	struct bstore *b = calloc(1, sizeof(*b));
	int rc;
	*out = NULL;
	if (!b)
		return BSTORE_IO;
	b->lock_fd = -1;
	snprintf(b->path, sizeof(b->path), "%s", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("store", "cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	ret = lock_dir(b, dir);
	if (ret != BSTORE_OK)
		goto fail;
	rc = mdb_env_create(&b->env);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_maxdbs(b->env, 16);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_mapsize(b->env, cfg->map_size);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_set_maxreaders(b->env, cfg->max_readers);
	if (rc == MDB_SUCCESS)
		rc = mdb_env_open(b->env, dir, MDB_NOTLS, 0600);
	if (rc != MDB_SUCCESS) {
		log_error("store", "cannot open database in %s: %s", dir, mdb_strerror(rc));
		ret = map_mdb(rc);
		goto fail;
	}
	ret = open_dbs(b);
	if (ret != BSTORE_OK)
		goto fail;
	*out = b;
	return BSTORE_OK;
fail:
	bstore_free(b);
	return ret;
}

void bstore_free(struct bstore *b)
{
	if (!b)
		return;
	if (b->env)
		mdb_env_close(b->env);
	if (b->lock_fd >= 0)
		close(b->lock_fd); /* releases the flock */
	free(b);
}

MDB_env *bstore_env(struct bstore *b)
{
	return b->env;
}

enum bstore_result bstore_begin(struct bstore *b, bool write, MDB_txn **txn)
{
	if (write && atomic_load(&b->failed))
		return BSTORE_FAILED;
	return map_mdb(mdb_txn_begin(b->env, NULL, write ? 0 : MDB_RDONLY, txn));
}

enum bstore_result bstore_commit(struct bstore *b, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	if (rc != MDB_SUCCESS) {
		log_error("store", "commit failed: %s", mdb_strerror(rc));
		atomic_store(&b->failed, true);
	}
	return map_mdb(rc);
}

void bstore_abort(MDB_txn *txn)
{
	mdb_txn_abort(txn);
}

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static uint64_t rd_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void be32(uint8_t out[4], uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static int put(struct bstore *b, MDB_txn *txn, enum bstore_db db, const void *k, size_t kl,
               const void *v, size_t vl, unsigned flags)
{
	MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
	return mdb_put(txn, b->dbi[db], &key, &val, flags);
}

static int get(struct bstore *b, MDB_txn *txn, enum bstore_db db, const void *k, size_t kl,
               MDB_val *val)
{
	MDB_val key = {kl, (void *)k};
	return mdb_get(txn, b->dbi[db], &key, val);
}

static int put_tx_index(struct bstore *b, MDB_txn *txn, const struct bstore_block *blk)
{
	int rc = MDB_SUCCESS;
	for (size_t i = 0; rc == MDB_SUCCESS && i < blk->n_txs; i++) {
		uint8_t loc[12];
		be64(loc, blk->height);
		be32(loc + 8, (uint32_t)i);
		rc = put(b, txn, DB_TXS, blk->txids[i], 32, loc, sizeof(loc), 0);
		if (rc == MDB_SUCCESS)
			rc = put(b, txn, DB_RECEIPTS, loc, sizeof(loc), blk->receipts[i],
			         blk->receipt_lens[i], MDB_APPEND);
	}
	return rc;
}

enum bstore_result bstore_put_block(struct bstore *b, MDB_txn *txn, const struct bstore_block *blk)
{
	uint64_t head = 0;
	enum bstore_result r = bstore_head(b, txn, &head, NULL);
	if (r != BSTORE_OK)
		return r;
	assert(blk->height == head + 1);
	uint8_t hk[8];
	be64(hk, blk->height);
	int rc = put(b, txn, DB_BLOCKS, hk, 8, blk->block, blk->block_len, MDB_APPEND);
	if (rc == MDB_SUCCESS)
		rc = put(b, txn, DB_COMMITS, hk, 8, blk->commit, blk->commit_len, MDB_APPEND);
	if (rc == MDB_SUCCESS)
		rc = put(b, txn, DB_HASHES, blk->hash, 32, hk, 8, 0);
	if (rc == MDB_SUCCESS)
		rc = put_tx_index(b, txn, blk);
	if (rc == MDB_SUCCESS) {
		uint8_t headrec[40];
		memcpy(headrec, hk, 8);
		memcpy(headrec + 8, blk->hash, 32);
		rc = put(b, txn, DB_META, "head", 4, headrec, sizeof(headrec), 0);
	}
	return map_mdb(rc);
}

enum bstore_result bstore_head(struct bstore *b, MDB_txn *txn, uint64_t *height, uint8_t hash[32])
{
	MDB_val v;
	int rc = get(b, txn, DB_META, "head", 4, &v);
	if (rc == MDB_NOTFOUND) {
		*height = 0;
		if (hash)
			memset(hash, 0, 32);
		return BSTORE_OK;
	}
	if (rc != MDB_SUCCESS)
		return map_mdb(rc);
	if (v.mv_size != 40)
		return BSTORE_CORRUPT;
	*height = rd_be64(v.mv_data);
	if (hash)
		memcpy(hash, (uint8_t *)v.mv_data + 8, 32);
	return BSTORE_OK;
}

enum bstore_result bstore_get_block(struct bstore *b, MDB_txn *txn, uint64_t height, MDB_val *block,
                                    MDB_val *commit)
{
	uint8_t hk[8];
	be64(hk, height);
	int rc = get(b, txn, DB_BLOCKS, hk, 8, block);
	if (rc == MDB_SUCCESS && commit)
		rc = get(b, txn, DB_COMMITS, hk, 8, commit);
	return map_mdb(rc);
}

enum bstore_result bstore_height_of(struct bstore *b, MDB_txn *txn, const uint8_t hash[32],
                                    uint64_t *height)
{
	MDB_val v;
	int rc = get(b, txn, DB_HASHES, hash, 32, &v);
	if (rc != MDB_SUCCESS)
		return map_mdb(rc);
	if (v.mv_size != 8)
		return BSTORE_CORRUPT;
	*height = rd_be64(v.mv_data);
	return BSTORE_OK;
}

enum bstore_result bstore_tx_location(struct bstore *b, MDB_txn *txn, const uint8_t txid[32],
                                      uint64_t *height, uint32_t *index)
{
	MDB_val v;
	int rc = get(b, txn, DB_TXS, txid, 32, &v);
	if (rc != MDB_SUCCESS)
		return map_mdb(rc);
	if (v.mv_size != 12)
		return BSTORE_CORRUPT;
	const uint8_t *p = v.mv_data;
	*height = rd_be64(p);
	*index = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	return BSTORE_OK;
}

enum bstore_result bstore_get_receipt(struct bstore *b, MDB_txn *txn, uint64_t height,
                                      uint32_t index, MDB_val *receipt)
{
	uint8_t loc[12];
	be64(loc, height);
	be32(loc + 8, index);
	return map_mdb(get(b, txn, DB_RECEIPTS, loc, sizeof(loc), receipt));
}

enum bstore_result bstore_meta_put(struct bstore *b, MDB_txn *txn, const char *name,
                                   const void *val, size_t len)
{
	size_t n = strlen(name);
	assert(n > 0 && n <= 64);
	return map_mdb(put(b, txn, DB_META, name, n, val, len, 0));
}

enum bstore_result bstore_meta_get(struct bstore *b, MDB_txn *txn, const char *name, MDB_val *val)
{
	size_t n = strlen(name);
	assert(n > 0 && n <= 64);
	return map_mdb(get(b, txn, DB_META, name, n, val));
}

uint64_t bstore_disk_bytes(struct bstore *b)
{
	MDB_envinfo info;
	MDB_stat st;
	if (mdb_env_info(b->env, &info) != MDB_SUCCESS || mdb_env_stat(b->env, &st) != MDB_SUCCESS)
		return 0;
	return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}
