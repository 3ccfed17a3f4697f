/* A node chain on the dev genesis (alice validates) in a fresh temporary directory, with a
 * mempool attached: what the node's unit tests build blocks on. */
#ifndef TN_TESTS_UNIT_NODE_DEV_CHAIN_H
#define TN_TESTS_UNIT_NODE_DEV_CHAIN_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "chain/genesis.h"
#include "node/node_chain.h"

/* Opens c in dir (a mkdtemp template, filled in here) and gives it a new mempool (*pool). */
static inline void dev_chain_open(struct node_chain *c, struct mempool **pool, char *dir)
{
	struct genesis g;
	char err[256] = "";
	char *json = genesis_dev_json(1000);
	CHECK(json && genesis_parse(&g, json, strlen(json), err, sizeof(err)) == GENESIS_OK);
	free(json);
	struct node_chain_config cc = {.dir = dir,
	                               .map_size = (size_t)1 << 30,
	                               .keep_versions = 4,
	                               .prune_per_block = 1000,
	                               .max_block_txs = 100,
	                               .max_block_bytes = 1 << 20};
	CHECK(mkdtemp(dir) != NULL);
	CHECK(node_chain_open(c, &cc, &g, err, sizeof(err)) == NODE_OK);
	genesis_release(&g);
	struct mempool_config mc;
	mempool_config_default(&mc);
	CHECK(mempool_new(pool, &mc) == MEMPOOL_OK);
	c->pool = *pool;
}

#endif
