/* A node's start and stop (src/node/node.h): a dev node committing a block every millisecond is
 * stopped while it commits, many times over the same data directory. Under the sanitizers this
 * catches a thread that outlives what it touches (the engine publishing head events into a freed
 * RPC server was one); in every build it checks that each restart resumes the stored chain. */
#include "check.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "node/node.h"

static char dir[] = "/tmp/tn-life-XXXXXX";

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static struct node *start(void)
{
	struct node_config cfg;
	struct node *n = NULL;
	char err[256] = "";
	node_config_default(&cfg);
	cfg.data_dir = dir;
	cfg.dev = true;
	cfg.rpc_port = 0;
	cfg.rpc_threads = 2;
	cfg.block_time_ms = 1;
	cfg.map_size = (size_t)1 << 30;
	enum node_result r = node_start(&n, &cfg, err, sizeof(err));
	if (r != NODE_OK)
		fprintf(stderr, "node_start: %s: %s\n", node_strerror(r), err);
	CHECK(r == NODE_OK && n != NULL);
	return n;
}

/* Waits (at most 10 s) until n is past height h. */
static uint64_t wait_past(struct node *n, uint64_t h)
{
	for (int i = 0; i < 10000 && node_height(n) <= h; i++)
		sleep_ms(1);
	return node_height(n);
}

static void test_stop_while_committing(void)
{
	uint64_t last = 0;
	CHECK(mkdtemp(dir) != NULL);
	for (int round = 0; round < 12; round++) {
		struct node *n = start();
		CHECK(node_height(n) >= last); /* the stored chain is resumed, not restarted */
		last = wait_past(n, node_height(n) + 2);
		CHECK(!node_failed(n));
		sleep_ms((unsigned)round % 4); /* stop at varying points of a block */
		node_free(n);
	}
	CHECK(last >= 12 * 3);
	node_free(NULL);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

CHECK_MAIN(CASE(test_stop_while_committing), CASE(teardown))
