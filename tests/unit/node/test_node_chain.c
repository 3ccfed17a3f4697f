/* Blocks on top of the head (src/node/node_chain.h): a block built by one node executes on
 * another to the same state; every rule of node_chain_execute refuses a block that breaks it, and
 * a refused block leaves the chain as it was. */
#include "check.h"

#include <stdlib.h>
#include <unistd.h>

#include "chain/genesis.h"
#include "crypto/devkeys.h"
#include "node/node_chain.h"

#define GENESIS_TIME GENESIS_DEV_TIME_MS

static char root_dir[] = "/tmp/tn-chain-XXXXXX";
static int dir_seq;

struct peer {
	char dir[256];
	struct node_chain c;
	struct mempool *pool;
};

static struct genesis dev_genesis(void)
{
	struct genesis g;
	char err[200];
	char *json = genesis_dev_json(1000);
	CHECK(json != NULL);
	CHECK(genesis_parse(&g, json, strlen(json), err, sizeof(err)) == GENESIS_OK);
	free(json);
	return g;
}

static void peer_open(struct peer *p)
{
	struct genesis g = dev_genesis();
	struct node_chain_config cc = {.map_size = (size_t)1 << 30,
	                               .keep_versions = 8,
	                               .prune_per_block = 1000,
	                               .max_block_txs = 100,
	                               .max_block_bytes = 1 << 20};
	struct mempool_config mc;
	char err[256] = "";
	if (dir_seq == 0)
		CHECK(mkdtemp(root_dir) != NULL);
	snprintf(p->dir, sizeof(p->dir), "%s/%d", root_dir, dir_seq++);
	cc.dir = p->dir;
	enum node_result r = node_chain_open(&p->c, &cc, &g, err, sizeof(err));
	if (r != NODE_OK)
		fprintf(stderr, "open: %s\n", err);
	CHECK(r == NODE_OK);
	mempool_config_default(&mc);
	CHECK(mempool_new(&p->pool, &mc) == MEMPOOL_OK);
	p->c.pool = p->pool;
	genesis_release(&g);
}

static void peer_close(struct peer *p)
{
	node_chain_close(&p->c);
	mempool_free(p->pool);
}

/* A transfer of `amount` from dev account `from` to bob, nonce `nonce`, signed. */
static size_t make_transfer(uint8_t *out, size_t cap, const struct node_chain *c, const char *from,
                            uint64_t nonce, u128 amount)
{
	uint8_t pk[32], sk[64], bob[32], bsk[64], payload[BALANCES_TRANSFER_PAYLOAD_LEN];
	CHECK(devkeys_keypair(from, pk, sk));
	CHECK(devkeys_keypair("bob", bob, bsk));
	balances_transfer_payload(payload, bob, amount);
	struct tx tx = {.version = TX_VERSION,
	                .nonce = nonce,
	                .valid_until = 1000,
	                .max_fee = (u128)1000000000000ULL,
	                .module = RUNTIME_MODULE_BALANCES,
	                .function = BALANCES_FN_TRANSFER,
	                .payload = payload,
	                .payload_len = sizeof(payload)};
	memcpy(tx.chain_id, c->params.chain_id, 32);
	memcpy(tx.sender, pk, 32);
	CHECK(tx_sign(&tx, sk));
	struct enc e;
	enc_init_fixed(&e, out, cap);
	tx_encode(&e, &tx);
	CHECK(enc_finish(&e) == CODEC_OK);
	return e.len;
}

/* Puts a tx straight into p's pool (admission is the RPC layer's job, not under test here). */
static void pool_add(struct peer *p, const uint8_t *b, size_t len, uint64_t account_nonce)
{
	struct tx tx;
	uint8_t id[32];
	enum mempool_status where;
	CHECK(tx_decode(&tx, b, len) == CODEC_OK);
	tx_id(id, b, tx.body_len);
	CHECK(mempool_add(p->pool, b, len, &tx, id, account_nonce, 1000, &where) == MEMPOOL_OK);
}

static void alice(uint8_t pk[32], uint8_t sk[64])
{
	CHECK(devkeys_keypair("alice", pk, sk));
}

static void sign_commit(const struct node_chain *c, const struct node_pending *p, const char *who,
                        struct commit *out)
{
	uint8_t pk[32], sk[64];
	CHECK(devkeys_keypair(who, pk, sk));
	commit_init(out, p->header.height, 0, p->hash, c->head.next.n);
	commit_sign(out, 0, c->params.chain_id, sk);
}

/* Builds a block on a (with its pool's txs), executes it on b, commits both; checks agreement. */
static void step(struct peer *a, struct peer *b)
{
	uint8_t pk[32], sk[64];
	struct node_pending pa = {0}, pb = {0};
	struct commit c;
	struct node_chain_expect exp = {.proposer = NULL, .now_ms = 0};
	alice(pk, sk);
	uint64_t t = a->c.head.time_ms ? a->c.head.time_ms + 1000 : GENESIS_TIME;
	CHECK(node_chain_build(&a->c, pk, t, &pa) == NODE_CHAIN_OK);
	exp.proposer = pk;
	exp.now_ms = pa.header.time_ms;
	CHECK(node_chain_execute(&b->c, pa.bytes, pa.len, &exp, &pb) == NODE_CHAIN_OK);
	CHECK_EQ_MEM(pa.hash, pb.hash, 32);
	CHECK(pa.n_txs == pb.n_txs);
	sign_commit(&a->c, &pa, "alice", &c);
	CHECK(node_chain_commit(&a->c, &pa, &c) == NODE_CHAIN_OK);
	CHECK(node_chain_commit(&b->c, &pb, &c) == NODE_CHAIN_OK);
	CHECK(a->c.head.height == b->c.head.height);
	CHECK_EQ_MEM(a->c.head.hash, b->c.head.hash, 32);
	CHECK_EQ_MEM(a->c.head.state_root, b->c.head.state_root, 32);
}

static void test_agree(void)
{
	struct peer a, b;
	uint8_t tx[512];
	peer_open(&a);
	peer_open(&b);
	step(&a, &b); /* empty block 1: no last commit */
	for (uint64_t k = 0; k < 3; k++)
		pool_add(&a, tx, make_transfer(tx, sizeof(tx), &a.c, "charlie", k, 5000 + k), 0);
	pool_add(&a, tx, make_transfer(tx, sizeof(tx), &a.c, "dave", 0, 7000), 0);
	uint8_t before[32];
	memcpy(before, a.c.head.state_root, 32);
	step(&a, &b); /* block 2: four transfers, and block 1's commit */
	CHECK(b.c.head.height == 2);
	CHECK(memcmp(before, b.c.head.state_root, 32) != 0);
	peer_close(&b);
	peer_close(&a);
}

/* Decodes bytes, lets mutate() change the block, re-derives the roots the block alone fixes
 * (unless keep_roots), and re-encodes into out. */
static size_t reencode(const uint8_t *bytes, size_t len, uint8_t *out, size_t cap,
                       void (*mutate)(struct block *, uint8_t *copy), bool keep_roots)
{
	uint8_t *copy = malloc(len);
	struct block blk;
	struct enc e;
	memcpy(copy, bytes, len);
	CHECK(block_decode(&blk, copy, len) == BLOCK_OK);
	mutate(&blk, copy);
	if (!keep_roots) {
		block_txs_root(blk.header.txs_root, blk.txs, blk.tx_lens, blk.n_txs);
		block_last_commit_hash(blk.header.last_commit_hash, &blk);
	}
	enc_init_fixed(&e, out, cap);
	block_encode(&e, &blk);
	CHECK(enc_finish(&e) == CODEC_OK);
	block_release(&blk);
	free(copy);
	return e.len;
}

static uint8_t bob_pk[32];

static void m_height(struct block *b, uint8_t *c)
{
	(void)c, b->header.height++;
}
static void m_prev(struct block *b, uint8_t *c)
{
	(void)c, b->header.prev_hash[0] ^= 1;
}
static void m_chain(struct block *b, uint8_t *c)
{
	(void)c, b->header.chain_id[0] ^= 1;
}
static void m_time_old(struct block *b, uint8_t *c)
{
	(void)c, b->header.time_ms = 5;
}
static void m_time_future(struct block *b, uint8_t *c)
{
	(void)c, b->header.time_ms += 60000;
}
static void m_valset(struct block *b, uint8_t *c)
{
	(void)c, b->header.validators_hash[3] ^= 1;
}
static void m_next(struct block *b, uint8_t *c)
{
	(void)c, b->header.next_validators_hash[0]++;
}
static void m_state(struct block *b, uint8_t *c)
{
	(void)c, b->header.state_root[31] ^= 0x80;
}
static void m_msgs(struct block *b, uint8_t *c)
{
	(void)c, b->header.msgs_root[0] ^= 1;
}
static void m_proposer(struct block *b, uint8_t *c)
{
	(void)c, memcpy(b->header.proposer, bob_pk, 32);
}
static void m_txs_root(struct block *b, uint8_t *c)
{
	(void)c, b->header.txs_root[0] ^= 1;
}
static void m_commit_sig(struct block *b, uint8_t *c)
{
	(void)c, b->last_commit.sigs[0].sig[5] ^= 1;
}
static void m_commit_absent(struct block *b, uint8_t *c)
{
	(void)c;
	b->last_commit.sigs[0].flag = COMMIT_ABSENT;
	memset(b->last_commit.sigs[0].sig, 0, 64);
}

/* Flips a bit of the first tx's signature (its last byte, in the decoded buffer). */
static void m_tx_sig(struct block *b, uint8_t *c)
{
	(void)c;
	((uint8_t *)b->txs[0])[b->tx_lens[0] - 1] ^= 1;
}

/* Drops the first tx: the second (same sender, next nonce) is then not includable. */
static void m_drop_first(struct block *b, uint8_t *c)
{
	(void)c;
	b->n_txs--;
	memmove(b->txs, b->txs + 1, b->n_txs * sizeof(*b->txs));
	memmove(b->tx_lens, b->tx_lens + 1, b->n_txs * sizeof(*b->tx_lens));
}

static void test_refusals(void)
{
	struct peer a, b;
	uint8_t tx[512], pk[32], sk[64], bsk[64];
	uint8_t *bad = malloc(1 << 20);
	struct node_pending pa = {0}, pb = {0};
	alice(pk, sk);
	CHECK(devkeys_keypair("bob", bob_pk, bsk));
	peer_open(&a);
	peer_open(&b);
	step(&a, &b);
	for (uint64_t k = 0; k < 2; k++)
		pool_add(&a, tx, make_transfer(tx, sizeof(tx), &a.c, "eve", k, 9000), 0);
	CHECK(node_chain_build(&a.c, pk, a.c.head.time_ms + 1000, &pa) == NODE_CHAIN_OK);
	CHECK(pa.n_txs == 2);
	struct node_chain_expect exp = {.proposer = pk, .now_ms = pa.header.time_ms};
	static const struct {
		void (*mutate)(struct block *, uint8_t *);
		bool keep_roots;
		enum node_chain_result want;
	} cases[] = {
	    {m_height, false,
	     NODE_CHAIN_MALFORMED}, /* the last commit is then for the wrong height */
	    {m_prev, false, NODE_CHAIN_MALFORMED}, /* ... or for the wrong block */
	    {m_chain, false, NODE_CHAIN_WRONG_CHAIN},
	    {m_time_old, false, NODE_CHAIN_TIME_NOT_AFTER},
	    {m_time_future, false, NODE_CHAIN_TIME_FUTURE},
	    {m_valset, false, NODE_CHAIN_WRONG_VALSET},
	    {m_proposer, false, NODE_CHAIN_WRONG_PROPOSER},
	    {m_txs_root, true, NODE_CHAIN_MALFORMED},
	    {m_commit_sig, false, NODE_CHAIN_BAD_LAST_COMMIT},
	    {m_commit_absent, false, NODE_CHAIN_BAD_LAST_COMMIT},
	    {m_tx_sig, false, NODE_CHAIN_BAD_TX_SIG},
	    {m_drop_first, false, NODE_CHAIN_BAD_TX},
	    {m_state, false, NODE_CHAIN_WRONG_STATE_ROOT},
	    {m_next, false, NODE_CHAIN_WRONG_NEXT_VALSET},
	    {m_msgs, false, NODE_CHAIN_WRONG_MSGS_ROOT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n =
		    reencode(pa.bytes, pa.len, bad, 1 << 20, cases[i].mutate, cases[i].keep_roots);
		enum node_chain_result r = node_chain_execute(&b.c, bad, n, &exp, &pb);
		if (r != cases[i].want)
			fprintf(stderr, "case %zu: got %s, want %s\n", i, node_chain_strerror(r),
			        node_chain_strerror(cases[i].want));
		CHECK(r == cases[i].want);
		CHECK(pb.txn == NULL && pb.bytes == NULL);
	}
	/* Any member may propose when the caller does not name the round's proposer; bob is not. */
	struct node_chain_expect any = {.proposer = NULL, .now_ms = 0};
	size_t n = reencode(pa.bytes, pa.len, bad, 1 << 20, m_proposer, false);
	CHECK(node_chain_execute(&b.c, bad, n, &any, &pb) == NODE_CHAIN_WRONG_PROPOSER);
	CHECK(node_chain_execute(&b.c, pa.bytes, 10, &exp, &pb) == NODE_CHAIN_MALFORMED);
	/* b is unchanged by all that: the real block still executes and commits. */
	CHECK(b.c.head.height == 1);
	CHECK(node_chain_execute(&b.c, pa.bytes, pa.len, &exp, &pb) == NODE_CHAIN_OK);
	struct commit c, forged;
	sign_commit(&a.c, &pa, "alice", &c);
	sign_commit(&a.c, &pa, "bob", &forged); /* bob is not the validator */
	CHECK(node_chain_commit(&b.c, &pb, &forged) == NODE_CHAIN_BAD_COMMIT);
	CHECK(pb.txn != NULL); /* still pending after a refused commit */
	CHECK(node_chain_commit(&b.c, &pb, &c) == NODE_CHAIN_OK);
	CHECK(node_chain_commit(&a.c, &pa, &c) == NODE_CHAIN_OK);
	CHECK_EQ_MEM(a.c.head.state_root, b.c.head.state_root, 32);
	/* A discarded build leaves nothing behind either: the next build is at the same height. */
	CHECK(node_chain_build(&a.c, pk, a.c.head.time_ms + 1000, &pa) == NODE_CHAIN_OK);
	CHECK(pa.header.height == 3);
	node_chain_discard(&pa);
	CHECK(node_chain_build(&a.c, pk, a.c.head.time_ms + 1000, &pa) == NODE_CHAIN_OK);
	CHECK(pa.header.height == 3);
	node_chain_discard(&pa);
	free(bad);
	peer_close(&a);
	peer_close(&b);
}

/* The head, its commit and the validator sets survive a reopen. */
static void test_reopen(void)
{
	struct peer a, b;
	peer_open(&a);
	peer_open(&b);
	for (int i = 0; i < 3; i++)
		step(&a, &b);
	struct node_chain_head before = b.c.head;
	node_chain_close(&b.c);
	struct genesis g = dev_genesis();
	struct node_chain_config cc = b.c.cfg;
	char err[200];
	CHECK(node_chain_open(&b.c, &cc, &g, err, sizeof(err)) == NODE_OK);
	genesis_release(&g);
	b.c.pool = b.pool;
	CHECK(b.c.head.height == 3 && before.height == 3);
	CHECK_EQ_MEM(b.c.head.hash, before.hash, 32);
	CHECK_EQ_MEM(b.c.head.state_root, before.state_root, 32);
	CHECK_EQ_MEM(b.c.head.next_hash, before.next_hash, 32);
	CHECK(b.c.head.time_ms == before.time_ms);
	CHECK(b.c.head.commit.height == 3 && b.c.head.commit.n == 1);
	step(&a, &b);
	peer_close(&a);
	peer_close(&b);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root_dir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(test_agree), CASE(test_refusals), CASE(test_reopen), CASE(teardown))
