/* Block feeds (src/node/node_feed.h) on a chain whose validator set changed three times: a light
 * client that starts from the genesis set follows every feed from height 1, chaining the sets
 * through next_validators_hash. The sets come from the block store's records, so feeds reach
 * back to genesis however many sets the state's bounded history has dropped. */
#include "check.h"
#include "dev_chain.h"

#include <stdlib.h>
#include <unistd.h>

#include "chain/feed.h"
#include "chain/genesis.h"
#include "chain/validators.h"
#include "crypto/devkeys.h"
#include "node/node_chain.h"
#include "node/node_feed.h"

#define BLOCKS 9

static char dir[] = "/tmp/tn-feed-XXXXXX";

struct chain {
	struct node_chain c;
	struct mempool *pool;
	struct valset genesis_set;
};

static void chain_open(struct chain *ch)
{
	dev_chain_open(&ch->c, &ch->pool, dir);
	ch->genesis_set = ch->c.head.next;
}

/* Queues validators.set_power(who, power) signed by alice (sudo) with `nonce`. */
static void set_power(struct chain *ch, uint64_t nonce, const char *who, uint64_t power)
{
	uint8_t apk[32], ask[64], pk[32], sk[64], payload[VALIDATORS_SET_POWER_PAYLOAD_LEN];
	uint8_t buf[512], id[32];
	CHECK(devkeys_keypair("alice", apk, ask) && devkeys_keypair(who, pk, sk));
	validators_set_power_payload(payload, pk, power);
	struct tx tx = {.version = TX_VERSION,
	                .nonce = nonce,
	                .valid_until = 1000,
	                .max_fee = (u128)1000000000000ULL,
	                .module = RUNTIME_MODULE_VALIDATORS,
	                .function = VALIDATORS_FN_SET_POWER,
	                .payload = payload,
	                .payload_len = sizeof(payload)};
	memcpy(tx.chain_id, ch->c.params.chain_id, 32);
	memcpy(tx.sender, apk, 32);
	CHECK(tx_sign(&tx, ask));
	struct enc e;
	enc_init_fixed(&e, buf, sizeof(buf));
	tx_encode(&e, &tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	struct tx dec;
	enum mempool_status where;
	CHECK(tx_decode(&dec, buf, e.len) == CODEC_OK);
	tx_id(id, buf, dec.body_len);
	CHECK(mempool_add(ch->pool, buf, e.len, &dec, id, nonce, 1000, &where) == MEMPOOL_OK);
}

/* Builds and commits the next block as alice, the commit signed by alice alone (she holds more
 * than 2/3 of every set here). */
static void step(struct chain *ch)
{
	uint8_t pk[32], sk[64];
	size_t idx;
	struct node_pending p = {0};
	struct commit c;
	CHECK(devkeys_keypair("alice", pk, sk));
	uint64_t t = ch->c.head.time_ms + 1000;
	CHECK(node_chain_build(&ch->c, pk, t, &p) == NODE_CHAIN_OK);
	CHECK(valset_find(&ch->c.head.next, pk, &idx));
	commit_init(&c, p.header.height, 0, p.hash, ch->c.head.next.n);
	commit_sign(&c, idx, ch->c.params.chain_id, sk);
	CHECK(node_chain_commit(&ch->c, &p, &c) == NODE_CHAIN_OK);
}

/* The light-client rule for one feed on top of `set` (the set that signs it); returns whether
 * the feed carried a new set (then in *set). */
static bool follow(struct chain *ch, const uint8_t *b, size_t n, uint64_t height,
                   struct valset *set)
{
	struct block_feed f;
	uint8_t hash[32], vh[32];
	CHECK(block_feed_decode(&f, b, n) == BLOCK_OK);
	header_hash(hash, &f.header);
	valset_hash(vh, set);
	CHECK(f.header.height == height);
	CHECK_EQ_MEM(vh, f.header.validators_hash, 32);
	CHECK(commit_verify(set, ch->c.params.chain_id, height, hash, &f.commit) == BLOCK_OK);
	bool changed = f.has_next_set;
	if (changed) {
		valset_hash(vh, &f.next_set);
		CHECK_EQ_MEM(vh, f.header.next_validators_hash, 32);
		*set = f.next_set;
	}
	block_feed_release(&f);
	return changed;
}

static void test_sync_from_genesis(void)
{
	struct chain ch;
	MDB_txn *txn;
	chain_open(&ch);
	static const struct {
		uint64_t block;
		const char *who;
		uint64_t power;
	} changes[] = {{2, "alice", 10}, {4, "bob", 1}, {6, "bob", 2}};
	for (uint64_t h = 1, k = 0; h <= BLOCKS; h++) {
		if (k < 3 && changes[k].block == h)
			set_power(&ch, k, changes[k].who, changes[k].power), k++;
		step(&ch);
	}
	CHECK(ch.c.head.height == BLOCKS && ch.c.head.next.n == 2);
	struct valset set = ch.genesis_set;
	size_t changed = 0;
	CHECK(bstore_begin(ch.c.store, false, &txn) == BSTORE_OK);
	for (uint64_t h = 1; h <= BLOCKS; h++) {
		struct enc e;
		enc_init(&e, FEED_MAX_BYTES);
		enum node_feed_result r = node_feed_build(ch.c.store, txn, h, &e);
		if (r != NODE_FEED_OK)
			fprintf(stderr, "feed of %llu: %d\n", (unsigned long long)h, (int)r);
		CHECK(r == NODE_FEED_OK);
		if (r == NODE_FEED_OK)
			changed += follow(&ch, e.buf, e.len, h, &set);
		enc_release(&e);
	}
	CHECK(changed == 3);
	uint8_t mine[32];
	valset_hash(mine, &set);
	CHECK_EQ_MEM(mine, ch.c.head.next_hash, 32); /* the client ends on the node's set */
	struct enc e;
	enc_init(&e, FEED_MAX_BYTES);
	CHECK(node_feed_build(ch.c.store, txn, BLOCKS + 1, &e) == NODE_FEED_NO_BLOCK);
	enc_release(&e);
	bstore_abort(txn);
	node_chain_close(&ch.c);
	mempool_free(ch.pool);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(test_sync_from_genesis), CASE(teardown))
