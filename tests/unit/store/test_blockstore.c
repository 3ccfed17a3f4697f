#include "check.h"

#include <stdlib.h>
#include <unistd.h>

#include "store/blockstore.h"

static char dir[] = "/tmp/tn-bstore-XXXXXX";

static struct bstore *open_store(void)
{
	struct bstore_config cfg;
	struct bstore *b = NULL;
	bstore_config_default(&cfg);
	cfg.map_size = 64 << 20;
	CHECK(bstore_open(&b, dir, &cfg) == BSTORE_OK);
	return b;
}

static void put_one(struct bstore *b, uint64_t height, bool commit)
{
	uint8_t hash[32], txid[32], block[16], rcpt[4] = {1, 2, 3, 4};
	memset(hash, (int)height, 32);
	memset(txid, (int)(0x80 + height), 32);
	memset(block, 0xb0, sizeof(block));
	const uint8_t *ids[1] = {txid};
	const uint8_t *rs[1] = {rcpt};
	size_t rl[1] = {sizeof(rcpt)};
	struct bstore_block blk = {height, hash, block, sizeof(block), (const uint8_t *)"c", 1, 1,
	                           ids,    rs,   rl};
	MDB_txn *txn;
	CHECK(bstore_begin(b, true, &txn) == BSTORE_OK);
	CHECK(bstore_put_block(b, txn, &blk) == BSTORE_OK);
	if (commit)
		CHECK(bstore_commit(b, txn) == BSTORE_OK);
	else
		bstore_abort(txn);
}

static void blocks_and_indexes(void)
{
	CHECK(mkdtemp(dir) != NULL);
	struct bstore *b = open_store();
	MDB_txn *txn;
	uint64_t h;
	uint8_t hash[32];
	CHECK(bstore_begin(b, false, &txn) == BSTORE_OK);
	CHECK(bstore_head(b, txn, &h, hash) == BSTORE_OK && h == 0);
	bstore_abort(txn);
	put_one(b, 1, true);
	put_one(b, 2, true);
	put_one(b, 3, false); /* aborted: must leave no trace */

	CHECK(bstore_begin(b, false, &txn) == BSTORE_OK);
	CHECK(bstore_head(b, txn, &h, hash) == BSTORE_OK && h == 2 && hash[0] == 2);
	MDB_val blk, com, rc;
	CHECK(bstore_get_block(b, txn, 1, &blk, &com) == BSTORE_OK);
	CHECK(blk.mv_size == 16 && com.mv_size == 1);
	CHECK(bstore_get_block(b, txn, 3, &blk, &com) == BSTORE_NOT_FOUND);
	memset(hash, 2, 32);
	CHECK(bstore_height_of(b, txn, hash, &h) == BSTORE_OK && h == 2);
	uint8_t txid[32];
	uint32_t idx = 99;
	memset(txid, 0x82, 32);
	CHECK(bstore_tx_location(b, txn, txid, &h, &idx) == BSTORE_OK && h == 2 && idx == 0);
	CHECK(bstore_get_receipt(b, txn, 2, 0, &rc) == BSTORE_OK && rc.mv_size == 4);
	memset(txid, 0x83, 32);
	CHECK(bstore_tx_location(b, txn, txid, &h, &idx) == BSTORE_NOT_FOUND);
	bstore_abort(txn);
	bstore_free(b);

	/* Reopen: everything committed is still there. While open, the directory is locked. */
	b = open_store();
	struct bstore *second = NULL;
	struct bstore_config cfg;
	bstore_config_default(&cfg);
	cfg.map_size = 64 << 20;
	CHECK(bstore_open(&second, dir, &cfg) == BSTORE_LOCKED && second == NULL);
	CHECK(bstore_begin(b, false, &txn) == BSTORE_OK);
	CHECK(bstore_head(b, txn, &h, NULL) == BSTORE_OK && h == 2);
	bstore_abort(txn);
	CHECK(bstore_disk_bytes(b) > 0);
	bstore_free(b);
}

static void meta_and_open_errors(void)
{
	struct bstore *b = open_store();
	MDB_txn *txn;
	MDB_val v;
	CHECK(bstore_begin(b, true, &txn) == BSTORE_OK);
	CHECK(bstore_meta_put(b, txn, "genesis", "abc", 3) == BSTORE_OK);
	CHECK(bstore_commit(b, txn) == BSTORE_OK);
	CHECK(bstore_begin(b, false, &txn) == BSTORE_OK);
	CHECK(bstore_meta_get(b, txn, "genesis", &v) == BSTORE_OK && v.mv_size == 3);
	CHECK(bstore_meta_get(b, txn, "nothing", &v) == BSTORE_NOT_FOUND);
	bstore_abort(txn);
	bstore_free(b);

	struct bstore_config cfg;
	bstore_config_default(&cfg);
	CHECK(bstore_open(&b, "/proc/definitely/not/here", &cfg) == BSTORE_IO && b == NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(blocks_and_indexes), CASE(meta_and_open_errors))
